"""What engines return: plain, frozen data. Reports render it; nobody re-derives it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any


BULK_EXTRAS = ("states", "slots", "graph")


class Verdict(str, Enum):
    SAFE = "safe"
    VIOLATED = "violated"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TraceStep:
    """One step of a trace: who acted, which kernel function, and the state after it."""

    index: int  # 1-based
    actor: str  # "writer0", "cpu1", "cpu1.reaper", "cpu2.ipi"
    column: str  # the lane: "writer0" or "cpu1"
    step: str  # the spec's step name, or "ipi_handler"
    function: str  # kernel function (v4.11/v4.12)
    text: str  # what it does, in kernel terms
    skipped: bool = False
    note: str = ""  # why a writer step was skipped, or what the violating step does wrong
    ipis_sent: int = 0
    ipi_targets: tuple[str, ...] = ()
    violating: bool = False  # the step that commits the violation
    state: dict[str, str] = field(default_factory=dict)  # readable state after the step


@dataclass(frozen=True)
class Trace:
    """A counterexample (for `always`) or a witness (for `sometimes`)."""

    property: str
    kind: str  # "counterexample" | "witness"
    steps: tuple[TraceStep, ...]
    initial: dict[str, str]
    conclusion: str  # one sentence: what the last state shows
    # a lasso (liveness under fairness): steps[loop_start:] repeat forever, returning to the state before
    # steps[loop_start] (an empty cycle: the last state repeats); None: not a lasso
    loop_start: int | None = None

    @property
    def length(self) -> int:
        return sum(1 for s in self.steps if not s.violating)


@dataclass(frozen=True)
class PropertyResult:
    name: str
    kind: str  # "always" | "sometimes"
    doc: str
    holds: bool | None  # always: no violation found; sometimes: witnessed. None: not decided
    trace: Trace | None = None


@dataclass(frozen=True)
class OpIpis:
    writer: int
    op: str  # "tune child"
    ipis: int | None  # None: the kick step was never reached


@dataclass(frozen=True)
class EngineResult:
    engine: str
    spec: str  # path of the spec file
    cpus: int
    verdict: Verdict
    reason: str = ""  # for UNKNOWN: which limit; otherwise empty
    complete: bool = True
    properties: tuple[PropertyResult, ...] = ()
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    step_counts: dict[str, int] = field(default_factory=dict)
    never_fired: tuple[str, ...] = ()
    ipis_per_op: tuple[OpIpis, ...] = ()
    ipis_total: int = 0
    symmetry: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def violated(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties if p.kind == "always" and p.holds is False)

    @property
    def witnessed(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties if p.kind == "sometimes" and p.holds)

    def prop(self, name: str) -> PropertyResult:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        # bulk data passed between engines (reachable states, the state graph) stays out of reports
        d = asdict(replace(self, extra={k: v for k, v in self.extra.items() if k not in BULK_EXTRAS}))
        d["verdict"] = self.verdict.value
        d["violated"] = list(self.violated)
        d["witnessed"] = list(self.witnessed)
        return d


@dataclass(frozen=True)
class SpecOutcome:
    """One spec, every engine run on it, and how that compares with the expectation."""

    spec: str
    name: str
    cpus: int
    expected: str
    expected_violates: tuple[str, ...] | None
    results: tuple[EngineResult, ...]
    matches: bool
    mismatch: str = ""  # why not, in one line
    disagreement: str = ""  # engines that disagree, in one line

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "name": self.name,
            "cpus": self.cpus,
            "expected": {"verdict": self.expected,
                         "violates": list(self.expected_violates) if self.expected_violates is not None else None},
            "matches": self.matches,
            "mismatch": self.mismatch,
            "disagreement": self.disagreement,
            "engines": [r.to_json() for r in self.results],
        }


@dataclass(frozen=True)
class ProofOutcome:
    """One spec through ``slabproof prove``: the widest proof found, or why there is none.

    `status` is PROVED (every safety property follows from an inductive
    invariant Z3 checked; `scope` says for how many CPUs), FAILED (a
    counterexample shows a safety property violated) or UNKNOWN (neither).
    """

    spec: str
    name: str
    cpus: int
    expected: str  # the spec's expectation for its safety properties: "safe" or "violated"
    status: str  # "PROVED" | "FAILED" | "UNKNOWN"
    scope: str  # "any number of CPUs", "3 CPUs", or "" when nothing is proved
    why: str  # one line
    results: tuple[EngineResult, ...]
    witnesses: dict[str, Trace | None] = field(default_factory=dict)  # reachable witnesses of the "sat" lemmas
    matches: bool = True
    disagreement: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "name": self.name,
            "cpus": self.cpus,
            "expected": self.expected,
            "status": self.status,
            "scope": self.scope,
            "why": self.why,
            "matches": self.matches,
            "disagreement": self.disagreement,
            "witnesses": {k: (asdict(v) if v is not None else None) for k, v in self.witnesses.items()},
            "engines": [r.to_json() for r in self.results],
        }
