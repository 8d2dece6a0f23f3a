"""The typed contract between the runner and the engines: what an engine is, and what one engine may hand another.

An engine is a callable ``(system, options, handoff) -> EngineResult`` (`Engine`); the runner registers
them by name (`runner.register`). Within one run of a spec the engines share one `Handoff`: the results
the runner keeps so that a later engine can use an earlier one's work. The only thing passed on is
`Reachable`, a frozen view of an explicit exploration: its reachable states (which filter the proof
engines' candidate clauses), the depth of a complete search (the bound that makes a clean BMC run a
proof) and the properties it showed violated. No engine ever changes another engine's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Sequence, TypedDict

from slabproof.results import EngineResult

if TYPE_CHECKING:
    from slabproof.model import System
    from slabproof.run.runner import RunOptions


@dataclass(frozen=True)
class Reachable:
    """What the explicit engine hands the Z3 engines, read from an exploration run with ``keep_states``."""

    states: Sequence[tuple[int, ...]]  # every reachable state (canonical under CPU symmetry), as tuples
    slots: Sequence[tuple[str, int | None]]  # for each tuple position: (family, index)
    depth: int  # breadth-first depth reached
    complete: bool  # every reachable state visited
    violated: tuple[str, ...]  # the properties the exploration showed violated

    @property
    def bound(self) -> int | None:
        """A depth that covers every reachable state (a complete search's), else None."""
        return self.depth if self.complete else None

    @classmethod
    def of(cls, r: EngineResult) -> "Reachable":
        return cls(r.extra["states"], r.extra["slots"], r.depth, r.complete, tuple(r.violated))


@dataclass
class Handoff:
    """The results one run of one system keeps for its later engines (a new one for each system:
    `runner.run_spec`, `runner.prove_spec`, each of `explain`'s configurations): the explicit engine's
    own result, a quiet exploration made for the Z3 engines when the explicit engine did not run, and the
    larger exploration the any-N engine's candidates are filtered by."""

    explicit: EngineResult | None = None
    reachable: EngineResult | None = None
    param_data: EngineResult | None = None
    bmc: EngineResult | None = None


class Z3Budget(TypedDict, total=False):
    """What a Z3 engine may spend: wall-clock seconds (--timeout) or Z3 resource units (the default)."""

    timeout: float
    rlimit: int


class Engine(Protocol):
    """An engine: decides the properties of `system` as far as it can, returns a frozen result, prints nothing."""

    def __call__(self, system: System, opts: RunOptions, shared: Handoff, /) -> EngineResult: ...
