"""What engines return: plain, frozen data. Reports render it; nobody re-derives it."""

from __future__ import annotations

import builtins
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any

BULK_EXTRAS = ("states", "slots", "graph")
INTERRUPTED = "interrupted"  # the `reason` of an engine result cut short by Ctrl-C (or a signal)
# `explain`: the verdicts of a claim that reports single out (run/explain.py defines the others)
CONFIRMED, REFUTED, DISAGREE = "confirmed", "refuted", "disagree"
# `ipis`: what the commit message reports (IPIs counted on CPU 0 in /proc/interrupts, 10,000 memcgs)
COMMIT_MEMCGS = 10_000
COMMIT_FIGURES = {"always": 47_741, "if-prev": 101}


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

    @builtins.property  # `property` is a field of this class
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


# ---------------------------------------------------------------------------
# the combined spec verdict: what the selected engines decided together, property by property.
# Built by the runner (`runner.decide`) from the engines' own results, which it never changes.


class Decision(str, Enum):
    """What is known of one property after every selected engine ran."""

    HOLDS = "holds"  # an `always` property: no reachable state breaks it
    VIOLATED = "violated"  # an `always` property: a counterexample
    WITNESSED = "witnessed"  # a `sometimes` property: a reachable state shows it
    NO_WITNESS = "no witness"  # a `sometimes` property: no reachable state shows it
    UNDECIDED = "undecided"  # no selected engine decided it
    CONFLICT = "conflict"  # one engine decided one way, another the other way


class Method(str, Enum):
    """How an engine decided a property."""

    TRACE = "trace found"  # a counterexample or a witness, step by step
    EXHAUSTIVE = "exhaustive search"  # every reachable state visited
    INVARIANT = "invariant"  # an inductive invariant, checked by Z3, implies it
    BOUNDED = "bounded search"  # no counterexample within a depth known to cover every reachable state
    REPORTED = "reported"  # an engine the runner knows nothing more about


class Status(str, Enum):
    """A spec against its expectation (see `runner.decide`; the exit status follows from these)."""

    MATCH = "match"  # every property the expectation mentions decided as expected, no engine contradicts another
    MISMATCH = "mismatch"  # a decided property contradicts the expectation
    UNDECIDED = "undecided"  # some property the expectation mentions is undecided, or an engine was interrupted
    DISAGREE = "disagree"  # two engines decided one property differently


@dataclass(frozen=True)
class Evidence:
    """One engine's decision on one property, and how it reached it."""

    engine: str
    method: Method
    holds: bool  # as in `PropertyResult.holds`
    scope: str = ""  # INVARIANT: for how many CPUs ("any number of CPUs", "3 CPUs")
    depth: int = 0  # BOUNDED: the depth searched; TRACE: the trace's length in steps
    replayed: bool = False  # TRACE, a counterexample: the runner replayed it in the explicit model

    @property
    def text(self) -> str:
        """In words: "trace found by bmc", "invariant by param (any number of CPUs)", ..."""
        if self.method == Method.TRACE:
            return f"trace found by {self.engine} ({self.depth} steps" + (", replayed)" if self.replayed else ")")
        if self.method == Method.EXHAUSTIVE:
            return f"exhaustive search by {self.engine}"
        if self.method == Method.INVARIANT:
            return f"invariant by {self.engine}" + (f" ({self.scope})" if self.scope else "")
        if self.method == Method.BOUNDED:
            return f"no counterexample up to depth {self.depth} by {self.engine} (every reachable state is " \
                   f"within it)"
        return f"reported by {self.engine}"


@dataclass(frozen=True)
class Gap:
    """A selected engine that did not decide a property, and why."""

    engine: str
    why: str  # "not applicable: ...", "unknown: <the engine's reason>", "not decided", "not checked"


@dataclass(frozen=True)
class PropertyVerdict:
    """One property: the decided value, every engine that decided it (and how), every engine that did not."""

    name: str
    kind: str  # "always" | "sometimes"
    decision: Decision
    by: tuple[Evidence, ...] = ()
    undecided: tuple[Gap, ...] = ()
    expected: Decision | None = None  # what the spec's expectation says of it; None: it does not mention it

    @property
    def how(self) -> str:
        """Who decided it, in words ("" when nobody did)."""
        return "; ".join(e.text for e in self.by)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "decision": self.decision.value,
                "expected": self.expected.value if self.expected is not None else None,
                "by": [{"engine": e.engine, "method": e.method.value, "holds": e.holds, "scope": e.scope,
                        "depth": e.depth, "text": e.text} for e in self.by],
                "undecided": [{"engine": g.engine, "why": g.why} for g in self.undecided]}


@dataclass(frozen=True)
class EngineNote:
    """A selected engine whose own verdict is UNKNOWN (shown in every report, and fatal under --strict)."""

    engine: str
    reason: str


@dataclass(frozen=True)
class SpecVerdict:
    """The combined verdict of one spec: separate from, and never written into, the engines' results.

    `verdict` is VIOLATED when some `always` property was decided violated,
    SAFE when every one was decided to hold, UNKNOWN otherwise (and when an
    engine was interrupted or engines contradict each other).
    """

    verdict: Verdict
    status: Status
    why: str  # one line: why the status is not MATCH ("" when it is)
    properties: tuple[PropertyVerdict, ...]
    undecided_engines: tuple[EngineNote, ...] = ()
    interrupted: bool = False

    def prop(self, name: str) -> PropertyVerdict:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "status": self.status.value, "why": self.why,
                "interrupted": self.interrupted,
                "undecided_engines": [{"engine": n.engine, "reason": n.reason} for n in self.undecided_engines],
                "properties": [p.to_json() for p in self.properties]}


@dataclass(frozen=True)
class SpecOutcome:
    """One spec, every engine run on it, and how that compares with the expectation.

    `combined` is the runner's combined verdict; `status`, `matches`,
    `mismatch` and `disagreement` are read from it. An outcome made by hand
    without one (tests) gets its status from `matches` and `disagreement`.
    """

    spec: str
    name: str
    cpus: int
    expected: str
    expected_violates: tuple[str, ...] | None
    results: tuple[EngineResult, ...]
    matches: bool
    mismatch: str = ""  # why not, in one line
    disagreement: str = ""  # engines that disagree, in one line
    combined: SpecVerdict | None = None
    expected_witnesses: tuple[str, ...] = ()
    status: Status = None  # type: ignore[assignment]  # filled in from `combined` (or `matches`)

    def __post_init__(self) -> None:
        if self.status is None:
            st = (self.combined.status if self.combined is not None else
                  Status.DISAGREE if self.disagreement else Status.MATCH if self.matches else Status.MISMATCH)
            object.__setattr__(self, "status", st)

    @property
    def undecided_engines(self) -> tuple[EngineNote, ...]:
        if self.combined is not None:
            return self.combined.undecided_engines
        return tuple(EngineNote(r.engine, r.reason) for r in self.results if r.verdict == Verdict.UNKNOWN)

    @property
    def interrupted(self) -> bool:
        if self.combined is not None:
            return self.combined.interrupted
        return any(r.reason == INTERRUPTED for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "name": self.name,
            "cpus": self.cpus,
            "expected": {"verdict": self.expected,
                         "violates": list(self.expected_violates) if self.expected_violates is not None else None,
                         "witnesses": list(self.expected_witnesses)},
            "status": self.status.value,
            "matches": self.matches,
            "mismatch": self.mismatch,
            "disagreement": self.disagreement,
            "verdict": self.combined.to_json() if self.combined is not None else None,
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
