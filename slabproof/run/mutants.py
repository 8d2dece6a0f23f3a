"""The kill matrix: which engine catches which mutant.

A *mutant* is a spec (in ``specs/mutants/``) that breaks one rule of the
protocol -- a step dropped, two steps swapped, the IPIs sent to the wrong
CPUs, a writer that runs while its own CPU is inside a reader section -- or
changes one in a way that should not matter. Its ``[expect]`` table says which:

* **killable** (``verdict = "violated"``): every engine that supports the spec
  must report VIOLATED. An engine that reports SAFE lets it *survive*.
* **equivalent** (``verdict = "safe"``): the change is harmless; it stays in
  the zoo as a proof. At least one engine must prove it SAFE and none may
  find it VIOLATED (then it was not equivalent after all).

This module is a report over the runner's outcomes: `classify` turns them
into a `KillMatrix` (plain data), `table` and `summary` render it. It runs
nothing and prints nothing.

Each cell is the engine's own result: an engine is credited only with the
kills it made itself (its own counterexample). An engine *does not support*
a spec when it answers UNKNOWN with a reason that says so ("not supported"
or "unsupported" in `EngineResult.reason`), when every property the mutant
is expected to break is one it lists as not applicable (bounded model
checking and `writer_terminates`, a liveness property), or when it gives a
verdict without deciding any of them: that cell is "n/a" and does not count
against the mutant. A proof engine (one that proves but never shows a
violation: `runner.finds_traces`) that finds no invariant for a killable
mutant is "not proved": the expected answer from it, but no kill. Any other
UNKNOWN (a limit, a bound, a solver's unknown) leaves the cell undecided.

A row is good only when the spec's own status (`SpecOutcome.status`, the
runner's one policy) is a match too: a mutant whose expected properties no
engine decided is undecided, whatever its cells say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rich.table import Table
from rich.text import Text

from slabproof.lang.spec import Spec
from slabproof.results import EngineResult, SpecOutcome, Status, Verdict
from slabproof.run.runner import EXIT_DISAGREE, EXIT_MISMATCH, EXIT_OK, EXIT_UNKNOWN, finds_traces

DEFAULT_MUTANT_DIR = "specs/mutants"

# cell statuses
KILLED, SURVIVED, PROVED_SAFE, REFUTED, NOT_SUPPORTED, UNDECIDED, NOT_PROVED = (
    "killed", "SURVIVED", "proved safe", "REFUTED", "n/a", "unknown", "not proved")
# row statuses
CAUGHT, EQUIVALENT, ROW_SURVIVED, NOT_EQUIVALENT, ROW_UNDECIDED, DISAGREE, WRONG_PROPERTY = (
    "caught", "equivalent", "SURVIVED", "NOT EQUIVALENT", "undecided", "DISAGREE", "WRONG PROPERTY")
GOOD_ROWS = (CAUGHT, EQUIVALENT)


@dataclass(frozen=True)
class Cell:
    engine: str
    status: str  # one of the cell statuses above
    detail: str = ""  # the violated properties, or why undecided


@dataclass(frozen=True)
class Row:
    name: str
    spec: str  # path
    kind: str  # "killable" | "equivalent"
    description: str
    cells: tuple[Cell, ...]
    status: str  # one of the row statuses above
    note: str = ""  # why the row is not good, in one line


@dataclass(frozen=True)
class KillMatrix:
    engines: tuple[str, ...]
    rows: tuple[Row, ...]

    @property
    def exit_status(self) -> int:
        """0 all caught or equivalent; 3 engines disagree; 1 a survivor or a wrong kill; 4 undecided
        (`exit_status` below adds --strict)."""
        statuses = {r.status for r in self.rows}
        if DISAGREE in statuses:
            return EXIT_DISAGREE
        if statuses & {ROW_SURVIVED, NOT_EQUIVALENT, WRONG_PROPERTY}:
            return EXIT_MISMATCH
        if ROW_UNDECIDED in statuses:
            return EXIT_UNKNOWN
        return EXIT_OK

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)


def exit_status(m: KillMatrix, strict: bool = False) -> int:
    """`m.exit_status`; with `strict`, 4 instead of 0 when some cell is undecided or not proved."""
    st = m.exit_status
    if strict and st == EXIT_OK and any(c.status in (UNDECIDED, NOT_PROVED) for r in m.rows for c in r.cells):
        return EXIT_UNKNOWN
    return st


def _supported(r: EngineResult) -> bool:
    why = r.reason.lower()
    return not (r.verdict == Verdict.UNKNOWN and ("not supported" in why or "unsupported" in why))


def _cell(r: EngineResult, killable: bool, expected: tuple[str, ...] | None) -> Cell:
    if not _supported(r):
        return Cell(r.engine, NOT_SUPPORTED, r.reason)
    if killable and expected and r.verdict != Verdict.VIOLATED:
        na = r.extra.get("not_applicable", {})
        if all(e in na for e in expected):
            return Cell(r.engine, NOT_SUPPORTED, "does not decide " + ", ".join(expected))
        decided = {p.name for p in r.properties if p.holds is not None}
        if r.verdict == Verdict.SAFE and not decided & set(expected):
            return Cell(r.engine, NOT_SUPPORTED, "does not decide " + ", ".join(expected))
    if r.verdict == Verdict.VIOLATED:
        return Cell(r.engine, KILLED if killable else REFUTED, ", ".join(r.violated))
    if r.verdict == Verdict.SAFE:
        return Cell(r.engine, SURVIVED if killable else PROVED_SAFE)
    if killable and not finds_traces(r.engine):
        return Cell(r.engine, NOT_PROVED, r.reason)
    cover = f"{r.states:,} states, depth {r.depth}" if r.states else f"depth {r.depth}"
    return Cell(r.engine, UNDECIDED, f"{r.reason}; {cover}" if r.reason else cover)


def _row(s: Spec, o: SpecOutcome) -> Row:
    killable = s.expect.verdict == "violated"
    cells = tuple(_cell(r, killable, s.expect.violates) for r in o.results)
    st = {c.status for c in cells}
    note = ""
    if killable:
        if KILLED in st and SURVIVED in st:
            status, note = DISAGREE, "killed by " + ", ".join(c.engine for c in cells if c.status == KILLED) \
                + "; survives " + ", ".join(c.engine for c in cells if c.status == SURVIVED)
        elif SURVIVED in st:
            status, note = ROW_SURVIVED, "no engine finds a violation"
        elif UNDECIDED in st or KILLED not in st:
            status, note = ROW_UNDECIDED, "; ".join(f"{c.engine}: {c.detail}" for c in cells if c.status == UNDECIDED) \
                or "no engine supports this spec"
        else:
            status = CAUGHT
            exp = s.expect.violates
            for r in o.results:  # the explicit engine decides every property: hold it to the expected set
                if r.engine == "explicit" and exp is not None and set(r.violated) != set(exp):
                    status = WRONG_PROPERTY
                    note = f"violates {', '.join(r.violated)}; expected {', '.join(exp)}"
    else:
        if REFUTED in st and PROVED_SAFE in st:
            status, note = DISAGREE, "proved safe by " + ", ".join(c.engine for c in cells if c.status == PROVED_SAFE) \
                + "; violated for " + ", ".join(c.engine for c in cells if c.status == REFUTED)
        elif REFUTED in st:
            status, note = NOT_EQUIVALENT, "an engine finds a violation: " + "; ".join(
                f"{c.engine}: {c.detail}" for c in cells if c.status == REFUTED)
        elif PROVED_SAFE in st:
            status = EQUIVALENT
        else:
            status, note = ROW_UNDECIDED, "no engine proves it safe"
    if status in GOOD_ROWS and o.combined is not None and o.status != Status.MATCH:
        # the cells look good, but the spec's own status (the one policy) does not: it wins
        status = {Status.DISAGREE: DISAGREE, Status.UNDECIDED: ROW_UNDECIDED}.get(
            o.status, WRONG_PROPERTY if killable else NOT_EQUIVALENT)
        note = o.mismatch
    return Row(o.name, o.spec, "killable" if killable else "equivalent", s.description, cells, status, note)


def classify(specs: Sequence[Spec], outcomes: Sequence[SpecOutcome]) -> KillMatrix:
    """The kill matrix of mutant specs and their outcomes (same order)."""
    engines: list[str] = []
    for o in outcomes:
        for r in o.results:
            if r.engine not in engines:
                engines.append(r.engine)
    by_path = {s.path: s for s in specs}
    return KillMatrix(tuple(engines), tuple(_row(by_path[o.spec], o) for o in outcomes))


_CELL_STYLE = {KILLED: "green", PROVED_SAFE: "green", SURVIVED: "bold red", REFUTED: "bold red",
               NOT_SUPPORTED: "dim", UNDECIDED: "yellow", NOT_PROVED: "dim"}
_ROW_STYLE = {CAUGHT: "green", EQUIVALENT: "green", ROW_SURVIVED: "bold red", NOT_EQUIVALENT: "bold red",
              DISAGREE: "bold red", WRONG_PROPERTY: "bold red", ROW_UNDECIDED: "yellow"}


def table(m: KillMatrix) -> Table:
    """One row per mutant, one column per engine, then the mutant's status."""
    t = Table(title="slabproof kill matrix (mutant x engine)", title_justify="left")
    t.add_column("mutant", no_wrap=True)
    t.add_column("kind")
    for e in m.engines:
        t.add_column(e)
    t.add_column("", no_wrap=True)
    for r in m.rows:
        by = {c.engine: c for c in r.cells}
        cells: list[str | Text] = [r.name, r.kind]
        for e in m.engines:
            c = by.get(e)
            if c is None:
                cells.append(Text("-", style="dim"))
                continue
            txt = c.status + (f" ({c.detail})" if c.detail and c.status in (KILLED, REFUTED, UNDECIDED) else "")
            cells.append(Text(txt, style=_CELL_STYLE[c.status]))
        cells.append(Text(r.status, style=_ROW_STYLE[r.status]))
        t.add_row(*cells)
    return t


def summary(m: KillMatrix) -> Text:
    killable = sum(1 for r in m.rows if r.kind == "killable")
    t = Text(f"{m.count(CAUGHT)} of {killable} killable mutants caught by every engine that supports them; "
             f"{m.count(EQUIVALENT)} of {len(m.rows) - killable} equivalent mutants proved safe")
    proofs = sorted({c.engine for r in m.rows for c in r.cells if c.status == NOT_PROVED})
    if proofs:
        t.append(f"\n  {', '.join(proofs)} only prove: \"not proved\" on a killable mutant is no kill (the reason "
                 "is in the JSON)", style="dim")
    for r in m.rows:
        if r.status not in GOOD_ROWS:
            t.append(f"\n  {r.name}: {r.status}: {r.note}", style=_ROW_STYLE[r.status])
    return t
