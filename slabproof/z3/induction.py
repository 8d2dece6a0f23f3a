"""An inductive invariant for the spec's number of CPUs, found by Houdini and checked by Z3.

The candidates (`houdini.generate`) are clauses over the model's state
variables, already filtered against the states the explicit engine reached
(handed to this engine as data by the runner). With the CPUs unrolled
(`symbolic.FixedEncoding`, on Z3's incremental SAT back end) the engine
(`houdini.prove`):

1. drops the candidates the initial condition does not imply (a solver
   query, without the transition relation);
2. runs Houdini: while some state satisfying every remaining candidate has a
   successor violating one, drops what that successor violates. What
   remains, Inv, is inductive: ``init => Inv`` and ``Inv and T => Inv'``;
3. asks, for each `always` property P, whether ``Inv and not P`` is
   unsatisfiable -- on a solver without the transition relation, so that
   deadlocked states count; a proved property comes with an unsat core, the
   clauses it needs;
4. minimizes (when asked): from the cores, while the kept clauses have a
   counterexample to induction, adds the core of the preservation of a
   clause it breaks. The result is inductive on its own and implies every
   proved property; it is what `prove` prints.

Verdict: SAFE when every `always` property is proved; otherwise UNKNOWN
("no invariant in the candidate language implies it") -- failing to find an
invariant is not a counterexample, and this engine never reports VIOLATED. A
solver `unknown` or the time limit is UNKNOWN, never SAFE.
`writer_terminates` (liveness) is not applicable.
"""

from __future__ import annotations

import time
from typing import Sequence

from slabproof.model import System
from slabproof.results import EngineResult
from slabproof.z3 import houdini
from slabproof.z3.symbolic import FixedEncoding

NOT_APPLICABLE = {houdini.LIVENESS: "a liveness property: an inductive invariant proves safety only "
                                    "(the explicit engine decides it)",
                  houdini.FAIRNESS: "a liveness property under fairness: an inductive invariant proves safety only"}


def prove(system: System, states: Sequence[tuple[int, ...]], slots: Sequence[tuple[str, int | None]], *,
          timeout: float | None = None, rlimit: int | None = None, minimize: bool = True,
          violated: Sequence[str] = ()) -> houdini.Proof:
    """The proof for `system.ncpus` CPUs (see the module docstring)."""
    return houdini.prove(FixedEncoding(system), states, slots, timeout=timeout, rlimit=rlimit,
                         minimize=minimize, violated=violated)


def run(system: System, states: Sequence[tuple[int, ...]], slots: Sequence[tuple[str, int | None]], *,
        timeout: float | None = None, rlimit: int | None = None, minimize: bool = True,
        violated: Sequence[str] = ()) -> EngineResult:
    """Find and check an inductive invariant for `system.ncpus` CPUs."""
    t0 = time.monotonic()
    pf = prove(system, states, slots, timeout=timeout, rlimit=rlimit, minimize=minimize, violated=violated)
    return houdini.to_result(system, pf, time.monotonic() - t0, "induction", f"{system.ncpus} CPUs",
                             NOT_APPLICABLE)
