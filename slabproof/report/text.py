"""Reports: results rendered as text tables, counterexamples and JSON.

Everything here takes `results` data and renders it; nothing re-runs or
re-derives a result. Only the CLI prints what these functions return.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from slabproof.results import (
    Decision,
    EngineResult,
    Evidence,
    Method,
    ProofOutcome,
    SpecOutcome,
    Status,
    Trace,
    Verdict,
)

JSON_SCHEMA_VERSION = 1

_STYLE = {Verdict.SAFE: "green", Verdict.VIOLATED: "red", Verdict.UNKNOWN: "yellow"}


def verdict_text(r: EngineResult) -> Text:
    """One engine's own verdict: what it found violated, why it is unknown, which properties it leaves open
    although it says safe (a liveness property the Z3 engines do not decide: "safe; writer_terminates n/a")."""
    s = r.verdict.value
    if r.verdict == Verdict.VIOLATED and r.violated:
        s += " (" + ", ".join(r.violated) + ")"
    if r.verdict == Verdict.UNKNOWN and r.reason:
        s += f" ({r.reason})"
    if r.verdict == Verdict.SAFE:
        na = r.extra.get("not_applicable", {})
        open_ = [p.name for p in r.properties if p.kind == "always" and p.holds is None]
        if open_:
            s += "; " + ", ".join(f"{n} {'n/a' if n in na else 'not decided'}" for n in open_)
    return Text(s, style=_STYLE[r.verdict])


def status_text(o: SpecOutcome) -> Text:
    """The spec's status as `runner.decide` set it: DISAGREE, MISMATCH, UNKNOWN (undecided), or "ok" only when
    the spec matches and no engine is undecided; a match beside an undecided engine names that engine (its
    cell says why)."""
    if o.status == Status.DISAGREE:
        return Text("DISAGREE", style="bold red")
    if o.status == Status.MISMATCH:
        return Text("MISMATCH", style="bold red")
    if o.status == Status.UNDECIDED:
        return Text("UNKNOWN" + (" (interrupted)" if o.interrupted else ""), style="bold yellow")
    if o.undecided_engines:
        return Text("match; undecided: " + ", ".join(n.engine for n in o.undecided_engines), style="yellow")
    return Text("ok", style="green")


def summary_table(outcomes: Sequence[SpecOutcome]) -> Table:
    """The per-engine table (``check --verbose``): one row per spec, each engine's own verdict in its own
    column, expected, states, time, IPIs, status."""
    engines: list[str] = []
    for o in outcomes:
        for r in o.results:
            if r.engine not in engines:
                engines.append(r.engine)
    t = Table(title="slabproof check (per engine)", title_justify="left")
    t.add_column("spec", no_wrap=True)
    t.add_column("CPUs", justify="right")
    for e in engines:
        t.add_column(e if len(engines) > 1 else "verdict")
    t.add_column("expected")
    t.add_column("states", justify="right")
    t.add_column("time", justify="right")
    t.add_column("IPIs", justify="right")
    t.add_column("status", no_wrap=True)
    for o in outcomes:
        by = {r.engine: r for r in o.results}
        cells: list[Any] = [o.name, str(o.cpus)]
        for e in engines:
            cells.append(verdict_text(by[e]) if e in by else Text("-", style="dim"))
        cells.append(expected_text(o))
        ex = by.get("explicit")
        cells.append(f"{ex.states:,}" if ex else "-")
        cells.append(f"{sum(r.seconds for r in o.results):.2f}s")
        cells.append(str(ex.ipis_total) if ex else "-")
        cells.append(status_text(o))
        t.add_row(*cells)
    return t


def _scope(e: Evidence, cpus: int) -> str:
    """How an engine decided, in a few words, for the one-line verdict ("" for an exhaustive search and for
    an invariant for the spec's own number of CPUs)."""
    if e.method == Method.INVARIANT:
        return "any N" if e.scope == "any number of CPUs" else "" if e.scope == f"{cpus} CPUs" else e.scope
    if e.method == Method.BOUNDED:
        return f"to depth {e.depth}"
    if e.method == Method.REPORTED:
        return "reported"
    return ""


def combined_text(o: SpecOutcome) -> Text:
    """The combined verdict in one line, from `SpecOutcome.combined`: the verdict, the engines that decided
    it and how ("safe: explicit, induction, param (any N)"; "violated: explicit, bmc" -- the
    engines with a counterexample), then the engines whose own verdict is UNKNOWN ("; undecided: bmc"; their
    reasons are in `reasons_text`). Nothing is re-derived: it reads the evidence the runner recorded."""
    v = o.combined
    if v is None:  # an outcome made by hand, without a combined verdict
        return Text(o.status.value, style="yellow")
    always = [p for p in v.properties if p.kind == "always"]
    safe = v.verdict == Verdict.SAFE  # SAFE: the engines that showed properties hold; else: those with a violation
    deciders: dict[str, str] = {}
    for p in always:
        for e in p.by:
            if e.holds is safe:
                deciders[e.engine] = deciders.get(e.engine) or (_scope(e, o.cpus) if safe else "")
    if safe:  # an engine that found a violation is no decider of "safe" (a CONFLICT anyway)
        bad = {e.engine for p in always for e in p.by if e.holds is False}
        deciders = {k: h for k, h in deciders.items() if k not in bad}
    head = v.verdict.value + (" (interrupted)" if v.interrupted else "")
    if v.status == Status.DISAGREE:
        head += " (engines disagree)"
    t = Text(head, style=_STYLE[v.verdict])
    if deciders and v.verdict != Verdict.UNKNOWN:
        t.append(": " + ", ".join(f"{k} ({h})" if h else k for k, h in deciders.items()))
    if v.undecided_engines:
        t.append("; undecided: " + ", ".join(n.engine for n in v.undecided_engines), style="yellow")
    return t


def short_status(o: SpecOutcome) -> Text:
    """`status_text` in at most 8 characters (the verdict cell names the undecided engines): "ok" (a match,
    no engine undecided), "match" (a match beside an undecided engine), "MISMATCH", "DISAGREE", "UNKNOWN"."""
    t = status_text(o)
    if t.plain.startswith("match; undecided"):
        return Text("match", style="yellow")
    if t.plain.startswith("UNKNOWN"):
        return Text("UNKNOWN", style="bold yellow")
    return t


CHECK_TITLE = "slabproof check"
_STATUS_W = len("MISMATCH")
_VERDICT_W = len("safe: explicit, induction, param (any N); undecided: bmc")  # the width the verdict asks for


@dataclass(frozen=True)
class CheckTable:
    """The default `check` table, laid out before any spec runs so that each row can be printed when its
    spec finishes: columns of fixed widths (spec, CPUs, verdict, expected, states, time, status) that fit
    `width`. The verdict is `combined_text`; "expected" is the expectation's verdict (the properties found
    violated and the expectation's `violates` list: `--verbose`, a named file's tables, `--json`). A cell
    too narrow for its text wraps onto a further line of the same row (a long spec name at its hyphens);
    nothing is cut."""

    width: int
    name_w: int
    verdict_w: int
    expected_w: int
    states_w: int = 9
    time_w: int = 7
    status_w: int = _STATUS_W

    @classmethod
    def fit(cls, names: Sequence[str], width: int, engines: Sequence[str] = ()) -> "CheckTable":
        """Widths for these spec names at `width` columns; `engines` (the selected ones) say how wide the
        verdict may get (one engine: "violated: explicit"), so that the names get the rest."""
        status_w = _STATUS_W
        states_w, time_w = (9, 7) if width >= 100 else (7, 6)
        fixed = 4 + states_w + time_w + status_w + 6  # CPUs, states, time, status and the six gaps
        natural = max([len(n) for n in names] + [4])
        room = width - fixed - 8  # "expected": safe or violated
        want = _VERDICT_W if not engines else min(_VERDICT_W, len("violated: ") + sum(len(e) + 2 for e in engines)
                                                   + (len("; undecided: ") + 8 if len(engines) > 1 else 0))
        name_w = min(natural, max(22, room - want))  # the shipped names but the longest what-ifs stay whole
        verdict_w = max(8, min(room - name_w, 80))
        expected_w = 8
        return cls(width, name_w, verdict_w, expected_w, states_w, time_w, status_w)

    def _table(self, header: bool) -> Table:
        t = Table(box=None, show_header=header, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold",
                  show_edge=False, expand=False)
        t.add_column("spec", width=self.name_w, overflow="fold")
        t.add_column("CPUs", width=4, justify="right")
        t.add_column("verdict", width=self.verdict_w, overflow="fold")
        t.add_column("expected", width=self.expected_w, overflow="fold")
        t.add_column("states", width=self.states_w, justify="right", overflow="fold")
        t.add_column("time", width=self.time_w, justify="right", overflow="fold")
        t.add_column("status", width=self.status_w, overflow="fold")
        return t

    def header(self) -> Group:
        """The title line (not padded) and the column headings."""
        return Group(Text(CHECK_TITLE, style="bold"), self._table(True))

    def row(self, o: SpecOutcome) -> Table:
        """One spec's row, in the header's columns."""
        t = self._table(False)
        ex = next((r for r in o.results if r.engine == "explicit"), None)
        t.add_row(_wrap_name(o.name, self.name_w), str(o.cpus), combined_text(o), o.expected,
                  f"{ex.states:,}" if ex else "-", f"{sum(r.seconds for r in o.results):.2f}s", short_status(o))
        return t


def _wrap_name(name: str, width: int) -> str:
    """`name` on lines of at most `width` characters, broken after hyphens where it can be."""
    if len(name) <= width:
        return name
    lines, cur = [], ""
    for part in re.split(r"(?<=-)", name):
        if cur and len(cur) + len(part) > width:
            lines.append(cur)
            cur = ""
        cur += part
    lines.append(cur)
    return "\n".join(lines)


def check_table(outcomes: Sequence[SpecOutcome], width: int) -> Group:
    """The whole default table at once (what the streaming CLI prints row by row)."""
    engines = list(dict.fromkeys(r.engine for o in outcomes for r in o.results))
    layout = CheckTable.fit([o.name for o in outcomes], width, engines)
    return Group(layout.header(), *(layout.row(o) for o in outcomes))


def reasons_text(outcomes: Sequence[SpecOutcome]) -> Text | None:
    """Below the table: each undecided engine's reason, one paragraph per spec (None when there is none)."""
    t = Text()
    for o in outcomes:
        for n in o.undecided_engines:
            t.append(f"{o.name}: {n.engine}: unknown ({n.reason})\n", style="yellow")
    if not t.plain:
        return None
    t.rstrip()
    return Text("undecided engines, why:\n", style="bold") + t


def expected_text(o: SpecOutcome) -> str:
    """The expectation; its `violates` in the order the combined verdict lists the properties (the engines'
    order), so that found and expected sets read alike."""
    if not o.expected_violates:
        return o.expected
    order = [p.name for p in o.combined.properties] if o.combined is not None else []
    names = sorted(o.expected_violates, key=lambda n: (order.index(n) if n in order else len(order), n))
    return o.expected + f" ({', '.join(names)})"


def footer(outcomes: Sequence[SpecOutcome], strict: bool = False, reasons_shown: bool = True) -> Text:
    """One line per spec that does not match (and, with `strict`, per spec with an undecided engine), then
    the summary line, last: how many specs match. Without `reasons_shown` (a whole-directory run, where
    `reasons_text` is not printed) a line says how many matches stand beside an undecided engine."""
    n = len(outcomes)
    ok = sum(o.status == Status.MATCH for o in outcomes)
    t = Text()
    for o in outcomes:
        if o.status != Status.MATCH:
            t.append(f"  {o.name}: {o.mismatch}\n", style="red" if o.status != Status.UNDECIDED else "yellow")
        elif strict and o.undecided_engines:
            t.append(f"  {o.name}: --strict: undecided: " + "; ".join(
                f"{n.engine} ({n.reason})" for n in o.undecided_engines) + "\n", style="yellow")
    beside = sum(o.status == Status.MATCH and bool(o.undecided_engines) for o in outcomes)
    if beside and not reasons_shown and not strict:
        t.append(f"{beside} of the matches have an undecided engine beside them (status \"match\"); "
                 "why: --verbose, or name the spec file\n", style="yellow")
    t.append(f"{ok} of {n} specs match their expectation")
    return t


_DECISION_STYLE = {Decision.HOLDS: "green", Decision.WITNESSED: "green", Decision.VIOLATED: "bold red",
                   Decision.NO_WITNESS: "yellow", Decision.UNDECIDED: "yellow", Decision.CONFLICT: "bold red"}


def verdict_table(o: SpecOutcome) -> Table:
    """The combined verdict, property by property: what was decided, by which engine and how, and which
    engines did not decide it and why. Rendered from `SpecOutcome.combined`; nothing is re-derived."""
    v = o.combined
    title = f"Combined verdict ({o.name}): "
    t = Table(title=title + (v.verdict.value + f", {o.status.value}" if v is not None else "none"),
              title_justify="left")
    t.add_column("property")
    t.add_column("expected")
    t.add_column("decided")
    t.add_column("by")
    t.add_column("undecided")
    if v is None:
        return t
    for p in v.properties:
        t.add_row(p.name, p.expected.value if p.expected is not None else "-",
                  Text(p.decision.value, style=_DECISION_STYLE[p.decision]),
                  "\n".join(e.text for e in p.by) or "-",
                  Text("\n".join(f"{g.engine}: {g.why}" for g in p.undecided) or "-", style="dim"))
    return t


def properties_table(r: EngineResult) -> Table:
    t = Table(title=f"Properties ({r.engine})", title_justify="left")
    t.add_column("property")
    t.add_column("kind")
    t.add_column("result")
    t.add_column("trace")
    for p in r.properties:
        if p.holds is None:
            res = Text("not decided", style="yellow")
        elif p.kind == "always":
            res = Text("holds", style="green") if p.holds else Text("VIOLATED", style="bold red")
        else:
            res = Text("witnessed", style="green") if p.holds else Text("no witness", style="yellow")
        tr = f"{p.trace.length} steps" if p.trace else "-"
        t.add_row(p.name, p.kind, res, tr)
    return t


def stats_text(r: EngineResult) -> Text:
    t = Text()
    sym = " (CPU symmetry reduced)" if r.symmetry else ""
    t.append(f"{r.engine}: {r.states:,} states{sym}, {r.transitions:,} transitions, depth {r.depth}, "
             f"{r.seconds:.2f}s\n")
    if r.ipis_per_op:
        t.append("IPIs sent per operation: " + "; ".join(
            f"writer{o.writer} {o.op}: {o.ipis if o.ipis is not None else 'not reached'}" for o in r.ipis_per_op))
        t.append(f"; total {r.ipis_total}\n")
    fair = r.extra.get("fairness")
    if fair:
        t.append(f"liveness assumes: {fair['assumption']}\n")
        if "without_fairness" in fair:
            t.append(f"without fairness: {fair['without_fairness']}\n", style="dim")
        if "undecided" in fair:
            t.append(f"writer_waits_end_under_fairness undecided: {fair['undecided']}\n", style="yellow")
    if r.never_fired and r.complete:  # after a partial search the list would mean nothing
        t.append("steps that never fired: " + ", ".join(r.never_fired) + "\n", style="yellow")
    return t


def to_json(outcomes: Sequence[SpecOutcome], exit_status: int, extra: dict[str, Any] | None = None) -> str:
    """The documented JSON document (docs/json-schema.md); `extra` adds top-level keys
    (``interrupted``, ``kill_matrix``, ``strict``)."""
    doc = {
        "schema": JSON_SCHEMA_VERSION,
        "exit_status": exit_status,
        "specs": [o.to_json() for o in outcomes],
    }
    doc.update(extra or {})
    return json.dumps(doc, indent=2, sort_keys=False)


def trace_table(trace: Trace, lanes: Sequence[str], found_by: str = "") -> Table:
    """A counterexample or witness: numbered steps, one column per actor lane; `found_by` names the engine
    that found it when that is not the explorer."""
    title = ("Counterexample" if trace.kind == "counterexample" else "Witness") + f" for {trace.property}"
    if found_by:
        title += f" (found by {found_by})"
    t = Table(title=title, title_justify="left", show_lines=False)
    t.add_column("#", justify="right")
    for lane in lanes:
        t.add_column(lane)
    for st in trace.steps:
        label = st.step
        if st.step not in ("ipi_handler",) and st.actor.endswith(".reaper"):
            label = "reaper: " + label
        cell = Text(label, style="bold red" if st.violating else ("dim" if st.skipped else ""))
        detail = st.text
        if st.skipped:
            detail = f"skipped: {st.note}"
        elif st.violating:
            detail = f"{st.text} -- {st.note}"
        elif st.ipis_sent:
            detail = f"{st.text} -> {', '.join(st.ipi_targets)}"
        cell.append("\n" + detail, style="red" if st.violating else "dim")
        cyc = trace.loop_start is not None and st.index > trace.loop_start
        row: list[Any] = [f"\u21bb{st.index}" if cyc else str(st.index)] + [""] * len(lanes)
        row[1 + list(lanes).index(st.column)] = cell
        t.add_row(*row)
    t.caption = trace.conclusion
    if trace.loop_start is not None:
        n = len(trace.steps)
        t.caption += (" [lasso: the last state repeats forever]" if trace.loop_start >= n else
                      f" [lasso: steps marked \u21bb ({trace.loop_start + 1}-{n}) repeat forever]")
    t.caption_justify = "left"
    return t


def lanes_for(result: EngineResult, writers: int) -> list[str]:
    return [f"writer{w}" for w in range(writers)] + [f"cpu{c}" for c in range(result.cpus)]


# ---------------------------------------------------------------------------
# slabproof prove

_PROOF_STYLE = {"PROVED": "bold green", "FAILED": "bold red", "UNKNOWN": "bold yellow"}


def proof_text(o: ProofOutcome, invariant: bool = True) -> Text:
    """One spec's proof: status, what each engine said (the quantified re-check among them), the
    patch's lemmas with their witness searches, and the invariant."""
    t = Text()
    t.append(f"{o.name}", style="bold")
    t.append(f" ({o.spec}): ")
    t.append(o.status, style=_PROOF_STYLE.get(o.status, ""))
    if o.scope:
        t.append(f" for {o.scope}")
    t.append(f" -- {o.why}\n")
    if o.disagreement:
        t.append(f"  ENGINES DISAGREE: {o.disagreement}\n", style="bold red")
    elif not o.matches:
        t.append(f"  expected: safety properties {o.expected}\n", style="red")
    by = {r.engine: r for r in o.results}
    for name in ("param", "recheck", "induction", "bmc", "explicit"):
        r = by.get(name)
        if r is None:
            continue
        scope = r.extra.get("scope", f"{r.cpus} CPUs")
        line = f"  {name:9s} ({scope}): {r.verdict.value}"
        if r.verdict == Verdict.VIOLATED and r.violated:
            line += f" ({', '.join(r.violated)})"
        if r.reason:
            line += f" -- {r.reason}"
        if "candidates" in r.extra:
            line += (f"; {r.extra['candidates']} candidates, {r.extra['inductive']} inductive, "
                     f"{r.extra['invariant_clauses']} kept")
        if name == "recheck":
            qs = r.extra.get("queries", [])
            line += (f"; {r.extra.get('clauses', 0)} clauses, {len(qs)} queries "
                     f"({sum(q['answer'] == 'unsat' for q in qs)} unsat)")
        t.append(line + f"; {r.seconds:.2f}s\n", style=_STYLE[r.verdict])
        for prop, why in r.extra.get("not_applicable", {}).items():
            if name == "param":
                t.append(f"    {prop}: not applicable -- {why}\n", style="dim")
    par, rc, ind = by.get("param"), by.get("recheck"), by.get("induction")
    par_safe = par is not None and par.verdict == Verdict.SAFE
    confirmed = par_safe and rc is not None and rc.verdict == Verdict.SAFE
    if par_safe and rc is None:
        t.append("  recheck   : not run -- param's invariant is not confirmed for any number of CPUs\n",
                 style="yellow")
    # the invariant (and the lemmas) shown: param's when re-checked, else induction's when it proved,
    # else param's (marked as not re-checked), else whatever param found
    if confirmed:
        best, label = par, str(par.extra.get("scope", "")) if par is not None else ""
    elif ind is not None and ind.verdict == Verdict.SAFE:
        best, label = ind, ind.extra.get("scope", "")
    elif par_safe:
        best, label = par, "NOT re-checked for any number of CPUs"
    else:  # no proof: the lemmas are answered under the inductive clauses param kept (an invariant, no proof)
        best, label = None, (f"{par.extra.get('scope', '')}, not re-checked with quantifiers" if par is not None else "")
    src = best if best is not None else par
    search = by.get("witness")
    if src is not None and src.extra.get("lemmas"):
        t.append(f"  the patch's lemmas (Z3, under the {src.engine} invariant, {label}):\n")
        for lem in src.extra["lemmas"]:
            ok = lem["holds"]
            t.append(f"    {lem['name']}: {lem['answer']}", style="green" if ok else ("yellow" if ok is None else "red"))
            t.append(f" -- {lem.get('reason') or lem['doc']}\n")
            if lem["expected"] != "sat":
                continue
            w = o.witnesses.get(lem["name"])
            found = None
            if search is not None:
                try:
                    found = search.prop(lem["name"])
                except KeyError:
                    found = None
            if w is not None:
                t.append(f"      reachable witness (BMC, {w.length} steps): "
                         + " ; ".join(f"{s.actor} {s.step}" for s in w.steps) + "\n", style="dim")
            elif found is not None and found.holds is False:
                t.append(f"      no reachable witness: none within {search.depth} steps, the depth of the "  # type: ignore[union-attr]
                         "explicit engine's complete search\n", style="yellow")
            elif search is not None:
                t.append(f"      witness: unknown ({search.reason or 'not searched'})\n", style="yellow")
    if invariant and best is not None and best.verdict == Verdict.SAFE and best.extra.get("invariant"):
        lines = best.extra["invariant"]
        t.append(f"  inductive invariant ({best.engine}, {label}: "
                 f"{best.extra['invariant_clauses']} clauses, {len(lines)} lines):\n")
        why = best.extra.get("explanations") or []
        for i, ln in enumerate(lines):
            t.append(f"    {ln}\n")
            if i < len(why):
                t.append(f"        {why[i]}\n", style="dim")
    if invariant and best is not None and best.extra.get("fallback"):
        t.append(f"  ({best.engine}: {best.extra['fallback']})\n", style="yellow")
    return t


def proofs_json(outcomes: Sequence[ProofOutcome], exit_status: int) -> str:
    doc = {"schema": JSON_SCHEMA_VERSION, "exit_status": exit_status, "proofs": [o.to_json() for o in outcomes]}
    return json.dumps(doc, indent=2, sort_keys=False)
