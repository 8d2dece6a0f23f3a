"""Reports: results rendered as text tables, counterexamples and JSON.

Everything here takes `results` data and renders it; nothing re-runs or
re-derives a result. Only the CLI prints what these functions return.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from rich.table import Table
from rich.text import Text

from slabproof.results import Decision, EngineResult, ProofOutcome, SpecOutcome, Status, Trace, Verdict

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
    """One row per spec: spec, CPUs, each engine's verdict, expected, states, time, IPIs, status."""
    engines: list[str] = []
    for o in outcomes:
        for r in o.results:
            if r.engine not in engines:
                engines.append(r.engine)
    t = Table(title="slabproof check", title_justify="left")
    t.add_column("spec", no_wrap=True)
    t.add_column("CPUs", justify="right")
    for e in engines:
        t.add_column(e if len(engines) > 1 else "verdict")
    t.add_column("expected")
    t.add_column("states", justify="right")
    t.add_column("time", justify="right")
    t.add_column("IPIs", justify="right")
    t.add_column("", no_wrap=True)
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


def expected_text(o: SpecOutcome) -> str:
    return o.expected + (f" ({', '.join(o.expected_violates)})" if o.expected_violates else "")


def footer(outcomes: Sequence[SpecOutcome], strict: bool = False) -> Text:
    """How many specs match, then one line per spec that does not (and, with `strict`, per spec with an
    undecided engine)."""
    n = len(outcomes)
    ok = sum(o.status == Status.MATCH for o in outcomes)
    t = Text(f"{ok} of {n} specs match their expectation")
    for o in outcomes:
        if o.status != Status.MATCH:
            t.append(f"\n  {o.name}: {o.mismatch}", style="red" if o.status != Status.UNDECIDED else "yellow")
        elif strict and o.undecided_engines:
            t.append(f"\n  {o.name}: --strict: undecided: " + "; ".join(
                f"{n.engine} ({n.reason})" for n in o.undecided_engines), style="yellow")
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


def trace_table(trace: Trace, lanes: Sequence[str]) -> Table:
    """A counterexample or witness: numbered steps, one column per actor lane."""
    title = ("Counterexample" if trace.kind == "counterexample" else "Witness") + f" for {trace.property}"
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
