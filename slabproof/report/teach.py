"""Reports for the teaching commands: `explain` claims and the `ipis` experiment.

Each function takes the data that `explain` or `ipis` returned and renders
it -- rich renderables, JSON, a PNG plot. Nothing here runs the model or an
engine, and nothing prints; the CLI prints what these return.
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import TYPE_CHECKING, Sequence

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from slabproof.report import text as report
from slabproof.results import COMMIT_FIGURES, COMMIT_MEMCGS, CONFIRMED, DISAGREE, REFUTED

if TYPE_CHECKING:  # the data only: a report imports nothing that runs an engine
    from slabproof.run.explain import Check, Claim, Explanation
    from slabproof.run.ipis import Experiment, IpiRun

_VERDICT_STYLE = {CONFIRMED: "bold green", REFUTED: "bold red", DISAGREE: "bold red"}
_STATUS_STYLE = {"as predicted": "green", "contradicted": "bold red", "engines disagree": "bold red",
                 "undecided": "yellow"}
FORMULA_WIDTH = 240


def _short(text: str, width: int) -> str:
    """`text`, or its first words up to `width` characters and an ellipsis (never a word cut in two)."""
    if len(text) <= width:
        return text
    head = text[: width - 1]
    return (head.rsplit(" ", 1)[0] if " " in head else head) + " …"


def explain_header(x: Explanation, registered: Sequence[str]) -> Text:
    t = Text()
    t.append("slabproof explain", style="bold")
    t.append(' -- the argument of "slab: avoid IPIs when creating kmem caches" (2017), each claim checked now, '
             f"on the model at {x.cpus} CPUs\n")
    t.append(f"engines: {', '.join(x.engines)}")
    missing = [e for e in registered if e not in x.engines]
    if missing:
        t.append(f" (also registered, not asked for: {', '.join(missing)})")
    if registered == ("explicit",) or list(registered) == ["explicit"]:
        t.append("; no Z3 engine is registered, so every verdict holds for this number of CPUs only", style="yellow")
    t.append(f"\nkernel functions as of {x.kernel_version}")
    return t


def configs_table(x: Explanation) -> Table:
    """The configurations, one row each; every engine's result on its own line of the last column, so the
    table fits a narrow terminal without cutting a word (a column per engine did not fit 80 or 100 columns)."""
    t = Table(title="Configurations (one scenario, built in memory; see --json for each one's spec)",
              title_justify="left")
    t.add_column("configuration,\nIPI condition")
    t.add_column("what it is")
    t.add_column("engines found")
    for c in x.configs:
        by = {r["engine"]: r for r in c.results}
        found = Text()
        for k, e in enumerate(x.engines):
            found.append(("\n" if k else "") + f"{e}: ")
            r = by.get(e)
            if r is None:
                found.append("failed", style="yellow")
                continue
            v = r["verdict"] + (f" ({', '.join(r['violated'])})" if r["violated"] else "")
            size = f", {r['states']:,} states" if e == "explicit" else ""
            found.append(f"{v}{size}, {r['seconds']:.2f}s")
        t.add_row(f"{c.key}\n{c.ipi}", c.title, found)
    return t


def claim_renderable(x: Explanation, n: int, traces: str, lanes: Sequence[str]) -> RenderableType:
    """One claim: verdict, statement, reason, kernel functions, its checks, and the traces asked for."""
    c = x.claims[n]
    head = Text()
    head.append(f"Claim {c.number}  ", style="bold")
    head.append(c.verdict.upper(), style=_VERDICT_STYLE.get(c.verdict, "bold yellow"))
    head.append(f"  {c.title}", style="bold")
    why = Text(c.because, style="dim")
    fns = Text("kernel: " + ", ".join(c.functions))
    parts: list[RenderableType] = [head, why, fns]
    for ch in c.checks:  # a block per check, a line per engine: fits a narrow terminal, no word cut
        label = Text(ch.title)
        if ch.role != "claim":
            label.append(f" [{ch.role}]", style="dim")
        label.append(f" -- on {ch.config}, predicted {ch.expect}: ")
        label.append(ch.status, style=_STATUS_STYLE.get(ch.status, ""))
        if ch.formula:
            label.append("\n  " + _short(ch.formula, FORMULA_WIDTH), style="dim")
        by = {f.engine: f for f in ch.findings}
        g = Table.grid(padding=(0, 1))
        g.add_column(no_wrap=True)
        g.add_column()
        for e in x.engines:
            f = by.get(e)
            g.add_row(f"{e} found", Text(f"{f.outcome}: {f.detail}") if f else Text("-", style="dim"))
        parts += [Text(), label, Padding(g, (0, 0, 0, 4))]
    for ch in c.checks:
        tr = ch.trace
        if tr is None or traces == "none" or (traces == "auto" and not ch.show_trace):
            continue
        parts.append(Text(f"{ch.title} ({ch.config}):", style="bold"))
        parts.append(report.trace_table(tr, lanes))
    return Group(*parts)


def explain_footer(x: Explanation) -> Text:
    n = len(x.claims)
    ok = sum(c.verdict == CONFIRMED for c in x.claims)
    t = Text(f"{ok} of {n} claims confirmed at {x.cpus} CPUs by {', '.join(x.engines)}",
             style="green" if ok == n else "red")
    for c in x.claims:
        if c.verdict != CONFIRMED:
            t.append(f"\n  claim {c.number} is {c.verdict}: {c.title}", style="red")
    for e in x.engine_errors:
        t.append(f"\n  engine error: {e}", style="yellow")
    return t


def explain_json(x: Explanation, exit_status: int) -> str:
    d = x.to_json()
    d["exit_status"] = exit_status
    return json.dumps(d, indent=2)


# ---------------------------------------------------------------------------
# ipis


def ipis_table(e: Experiment) -> Table:
    """The commit's shape: before / after, IPIs counted at CPU 0, with the model's and the commit's figures."""
    t = Table(title=f"IPIs for {e.memcgs:,} memcgs, each lazily creating {e.caches} child cache"
                    f"{'s' if e.caches != 1 else ''}, on {e.cpus} CPUs (the creating worker on CPU {e.writer_cpu})",
              title_justify="left")
    t.add_column("kernel")
    t.add_column("condition")
    t.add_column("creates", justify="right")
    t.add_column("kicks", justify="right")
    t.add_column("IPIs sent\n(model)", justify="right")
    t.add_column("IPIs received\nby CPU 0 (model)", justify="right")
    t.add_column(f"CPU 0, commit message\n({COMMIT_MEMCGS:,} memcgs)", justify="right")
    names = {"always": "before the patch", "if-prev": "patched"}
    for r in e.table:
        fig = COMMIT_FIGURES.get(r.condition)
        t.add_row(names.get(r.condition, r.condition), r.condition, f"{r.creates:,}", f"{r.kicks:,}",
                  f"{r.sent:,}", f"+{r.received_cpu0:,}", f"+{fig:,}" if fig is not None else "-")
    return t


def ipis_notes(e: Experiment) -> Text:
    t = Text()
    before = next((r for r in e.table if r.condition == "always"), None)
    t.append("Model figures: counted along one deterministic run of the model's own actions per memcg (writer "
             "steps of __do_tune_cpucache(), IPI handler steps of idle CPUs); nothing explored, nothing multiplied.\n")
    t.append(f"Commit figures: from the commit message only (+{COMMIT_FIGURES['always']:,} before, "
             f"+{COMMIT_FIGURES['if-prev']:,} after, {COMMIT_MEMCGS:,} memcgs, CPU 0's line of /proc/interrupts).\n")
    t.append("The commit's workload implies no tunes: a memcg child's creation runs __do_tune_cpucache() once, "
             "on the child, with prev == NULL; do_tune_cpucache() re-tunes children only when given a root cache.\n")
    t.append("The patched kernel's +101 are IPIs the model does not have (other senders of function-call "
             "interrupts during the test); the model's patched figure counts only kick_all_cpus_sync().\n")
    if before is not None and e.memcgs:
        per = COMMIT_FIGURES["always"] / COMMIT_MEMCGS
        t.append(f"The commit's {COMMIT_FIGURES['always']:,} at CPU 0 is {per:.1f} per memcg: consistent with about "
                 f"{round(per)} child caches per memcg created on a CPU other than 0 (an inference, not in the "
                 f"commit message{'; try --caches ' + str(round(per)) if e.caches != round(per) else ''}). "
                 f"Here the model sends CPU 0 {before.received_cpu0 / e.memcgs:.1f} per memcg.")
    return t


PLOT_MISSING = "matplotlib is not installed: pip install 'slabproof[plot]'"


def plot_unavailable() -> str | None:
    """None if `plot_png` can draw (matplotlib imports), else the one line that says how to install it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return PLOT_MISSING
    return None


def plot_png(e: Experiment, path: str) -> None:
    """Write the plot: IPIs against CPUs (at the table's memcgs) and against memcgs (at the table's CPUs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"always": ("tab:red", "before the patch (always)"), "if-prev": ("tab:blue", "patched (if prev)")}

    def series(runs: Sequence[IpiRun], cond: str, key: str) -> tuple[list[int], list[int], list[int]]:
        rs = [r for r in runs if r.condition == cond]
        xs = [getattr(r, key) for r in rs]
        return xs, [r.sent for r in rs], [r.received_cpu0 for r in rs]

    for cond, (col, label) in styles.items():
        xs, sent, cpu0 = series(e.by_cpus, cond, "cpus")
        if xs:
            a1.plot(xs, sent, "o-", color=col, label=f"{label}: sent")
            a1.plot(xs, cpu0, "s--", color=col, alpha=0.6, label=f"{label}: received by CPU 0")
        xs, sent, cpu0 = series(e.by_memcgs, cond, "memcgs")
        if xs:
            a2.plot(xs, sent, "o-", color=col, label=f"{label}: sent")
            a2.plot(xs, cpu0, "s--", color=col, alpha=0.6, label=f"{label}: received by CPU 0")
    memcgs = e.by_cpus[0].memcgs if e.by_cpus else e.memcgs
    a1.set_title(f"IPIs against CPUs ({memcgs:,} memcgs x {e.caches} cache{'s' if e.caches != 1 else ''})")
    a1.set_xlabel("CPUs")
    a1.set_ylabel("IPIs (model)")
    a2.set_title(f"IPIs against memcgs ({e.cpus} CPUs)")
    a2.set_xlabel("memcgs")
    a2.set_xscale("log")
    a2.set_yscale("symlog", linthresh=1)
    fig_commit = COMMIT_FIGURES["always"]
    a2.scatter([COMMIT_MEMCGS, COMMIT_MEMCGS], [fig_commit, COMMIT_FIGURES["if-prev"]], marker="*", s=140,
               color="black", zorder=5, label="commit message (CPU 0)")
    for ax in (a1, a2):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("slabproof ipis: kick_all_cpus_sync() on lazy memcg cache creation (counts from the model; "
                 "stars: the commit)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------
# explain, the argument first (the default): prose, one verdict line per claim, the evidence in words

PROSE_WIDTH = 100
# a finding's outcomes, as run.explain names them (the values only: a report imports no engine layer)
HOLDS, VIOLATED, UNDECIDED, CRASHED = "holds", "violated", "undecided", "engine error"
SAME, DIFFERENT = "same verdicts", "different verdicts"
_ROLE = {"claim": "checked", "non-vacuity": "witness", "contrast": "contrast"}
_PROVERS = ("induction", "param")  # engines that prove or say undecided: they never refute


def _wrap(text: str, indent: str, width: int = PROSE_WIDTH, first: str | None = None) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent if first is None else first, subsequent_indent=indent,
                         break_on_hyphens=False) or [indent]


def prose_header(cpus: int, engines: Sequence[str], registered: Sequence[str]) -> Text:
    """The opening lines of `explain`: what is checked, on what, by which engines."""
    others = [e for e in registered if e not in engines]
    how = ", ".join(engines)
    lines = ['slabproof explain: the argument of "slab: avoid IPIs when creating kmem caches" (2017),',
             f"each claim checked now on the model at {cpus} CPUs by {how}"
             + (" (every reachable state)" if list(engines) == ["explicit"] else "") + "."]
    tail = "--evidence: the per-engine tables"
    if others:
        tail += f"; --engine all: also {', '.join(others)}"
    lines.append(tail + "; --glossary: the terms.")
    return Text("\n".join(lines))


def history_text(e: Experiment) -> Text:
    """Why the patch was written, with the commit's figures and the model's replay (`e`, computed by the caller)."""
    before = next(r for r in e.table if r.condition == "always")
    after = next(r for r in e.table if r.condition == "if-prev")
    t = Text()
    t.append("Why the patch\n", style="bold")
    body = ("With memcg kmem accounting every memory cgroup gets its own child copy of each kmem_cache, created "
            "lazily on the memcg's first allocation from it (memcg_create_kmem_cache()). Each creation ran "
            "__do_tune_cpucache(), whose kick_all_cpus_sync() interrupted every other CPU and waited for them "
            "all, although a new cache has no previous array cache (prev is NULL) that anyone could hold.")
    t.append("\n".join(_wrap(body, "  ")) + "\n")
    t.append(f"  the commit's figures ({COMMIT_MEMCGS:,} memcgs, CPU 0 in /proc/interrupts): "
             f"+{COMMIT_FIGURES['always']:,} IPIs before, +{COMMIT_FIGURES['if-prev']:,} after\n")
    t.append(f"  the model's replay now (slabproof ipis, {e.cpus} CPUs, {e.memcgs:,} memcgs): "
             f"+{before.received_cpu0:,} at CPU 0 before, +{after.received_cpu0:,} after")
    return t


def _states(detail: str) -> str:
    m = re.search(r"([\d,]+) reachable states", detail)
    return m.group(1) if m else ""


def _evidence(ch: Check, engines: Sequence[str]) -> str:
    """One check's finding in a few words: what decided it, by which engine (when several ran), and why the
    others did not decide it."""
    decided = [f for f in ch.findings if f.outcome not in (UNDECIDED, CRASHED)]
    silent = [f for f in ch.findings if f.outcome in (UNDECIDED, CRASHED)]
    by = len(engines) > 1
    parts: list[str] = []
    for f in decided:
        n = _states(f.detail)
        if f.trace is not None:
            what = (f"violated ({f.trace.length}-step counterexample)" if f.outcome == VIOLATED
                    else f"{f.trace.length}-step witness")
        elif f.outcome in (SAME, DIFFERENT):
            m = re.search(r"IPIs sent per operation \(([^)]*)\): (.*)$", f.detail)
            what = f"{f.outcome}; IPIs ({m.group(1)}): {m.group(2)}" if m else f.outcome
        elif n:
            what = f"{f.outcome} ({n} states)"
        elif f.engine in _PROVERS and f.outcome == HOLDS:
            what = "proved"
        else:
            what = f"{f.outcome} ({f.detail})"
        parts.append(what + (f" by {f.engine}" if by else ""))
    text = "; ".join(dict.fromkeys(parts))
    if silent and decided:
        names = ", ".join(f.engine for f in silent)
        why = ("they prove, never refute" if all(f.engine in _PROVERS for f in silent) and
               any(f.outcome == VIOLATED for f in decided) else "not decided by them")
        text += f"; {names}: undecided ({why})"
    elif silent:
        text = "undecided: " + "; ".join(f"{f.engine}: {f.detail}" for f in silent)
    return text


def claim_prose(c: Claim, engines: Sequence[str]) -> Text:
    """One claim: its verdict line, why it should hold in kernel terms, and each check with its evidence."""
    t = Text()
    t.append(f"{c.number}. ", style="bold")
    t.append(c.verdict.upper(), style=_VERDICT_STYLE.get(c.verdict, "bold yellow"))
    t.append(f"  {c.title}\n", style="bold")
    t.append("\n".join(_wrap(c.because, "   ")) + "\n", style="dim")
    for k, ch in enumerate(c.checks):
        mark = "+" if ch.status == "as predicted" else "!"
        role = "" if ch.role == "claim" else f"{ch.role}: "
        where = "" if ch.config == "patched" else f" [{ch.config}]"
        line = "\n".join(_wrap(f"   {mark} {role}{ch.title}{where}: {_evidence(ch, engines)}", "       ", first=""))
        t.append(line + ("\n" if k < len(c.checks) - 1 else ""),
                 style="" if ch.status == "as predicted" else "bold red")
    return t


def prose_footer(x: Explanation) -> Text:
    """The closing line: how many claims the engines confirmed; the others named, with any engine errors."""
    t = explain_footer(x)
    return t
