"""A universally quantified inductive invariant: safety for every number of CPUs.

CPUs are an uninterpreted sort; per-CPU state is a function over it; each
candidate clause (`houdini.generate`) is read for *every* CPU that runs no
writer (``forall x``), for each writer's CPU, and for every two distinct
CPUs. The candidates are those true in the states the explicit engine reached
(data from the runner, which explores the spec with at least two CPUs that run
no writer, so that clauses about two such CPUs can be observed) -- a cheap
filter; what makes the result hold for every number is the check that follows.

The queries (``Init and not c``, ``Inv and T and not c'``, ``Inv and not
P`` and the lemmas, the last two without T) are instantiated over finitely
many CPU terms (`symbolic.GroundEncoding`: the writers' CPUs, the acting CPU,
and fresh witnesses), which is exact for exists-forall queries in the cutoff
fragment (docs/proofs.md, section 1: the lemma and its side conditions, which
the code checks -- a step or property outside it is refused, "not supported:
outside the cutoff fragment"). Z3 answers them without quantifier reasoning,
on its SAT back end. An unsat answer is a proof for every number of CPUs (at
least one per writer); a sat answer is a counterexample to induction for as
many CPUs as its model has distinct ones. `slabproof prove` re-checks the
invariant with real quantifiers (`recheck.py`) before calling it a proof for
any number.

Verdict: SAFE when every `always` property follows from the invariant;
otherwise UNKNOWN ("no invariant in the candidate language", or the reason
it was refused) -- never VIOLATED: only a trace (the explicit engine's, BMC's)
shows a violation. `writer_terminates` is not applicable.
"""

from __future__ import annotations

import time
from typing import Sequence

from slabproof.model import System
from slabproof.results import EngineResult
from slabproof.z3 import houdini
from slabproof.z3.symbolic import GroundEncoding, NotSupported

NOT_APPLICABLE = {houdini.LIVENESS: "a liveness property: an inductive invariant proves safety only "
                                    "(the explicit engine decides it, for its number of CPUs)",
                  houdini.FAIRNESS: "a liveness property under fairness: an inductive invariant proves safety only"}
SCOPE = "any number of CPUs"


def prove(system: System, states: Sequence[tuple[int, ...]], slots: Sequence[tuple[str, int | None]], *,
          timeout: float | None = None, rlimit: int | None = None, minimize: bool = True,
          violated: Sequence[str] = (), roles: bool = True) -> houdini.Proof:
    """The proof for any number of CPUs (see the module docstring)."""
    try:
        enc = GroundEncoding(system)
    except NotSupported as e:
        return houdini.Proof(reason=f"not supported: {e}")
    return houdini.prove(enc, states, slots, timeout=timeout, rlimit=rlimit, minimize=minimize,
                         violated=violated, roles=roles)


def run(system: System, states: Sequence[tuple[int, ...]], slots: Sequence[tuple[str, int | None]], *,
        timeout: float | None = None, rlimit: int | None = None, minimize: bool = True,
        violated: Sequence[str] = (), roles: bool = False) -> EngineResult:
    """Find and check a universally quantified inductive invariant (`roles`: try the role language first,
    for a small invariant a person can read; slower)."""
    t0 = time.monotonic()
    pf = prove(system, states, slots, timeout=timeout, rlimit=rlimit, minimize=minimize, violated=violated,
               roles=roles)
    return houdini.to_result(system, pf, time.monotonic() - t0, "param", SCOPE, NOT_APPLICABLE)
