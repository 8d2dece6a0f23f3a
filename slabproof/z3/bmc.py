"""Bounded model checking with Z3: is a property violated within k steps?

The system is unrolled for the spec's number of CPUs (`symbolic.FixedEncoding`):
states s0, s1, ... with ``init(s0)`` and ``T(s_i, s_i+1)``, one step at a
time on one incremental solver. At depth i the engine asks, under a
push/pop, whether some not-yet-violated `always` property is false in s_i;
the first depth at which it is satisfiable is the length of a shortest
counterexample (the same length breadth-first search finds). `sometimes`
properties get a shortest witness the same way. Once a depth is shown free
of violations, that fact is added to the solver as a lemma for the deeper
queries.

Each step is encoded with *selectors* (`FixedEncoding.selector_step`): one
Boolean per action instance, exactly one true, whose guard must hold, and
for every state variable one if-then-else over the instances that write it
(the frame is the final else). A model's selectors name the steps of the
trace directly. Everything is Booleans and bit-vectors, so the solver is
Z3's incremental SAT back end (``QF_FD``), far faster here than the SMT core.

After the first violation the search goes `extra_depth` steps further (other
properties are often violated a step later) and then stops: the verdict is
VIOLATED; properties not violated by then are left undecided.

When is "no violation within k steps" a proof? When k is at least the
depth of the reachable state graph, since then every reachable state is
reachable within k steps. This engine cannot compute that depth; the runner
may pass it as data (`complete_depth`, the explicit engine's BFS depth of a
complete search), and then a clean run to that depth yields SAFE, with that
provenance in the result. Without it the verdict is VIOLATED or UNKNOWN,
never SAFE. A solver `unknown`, the time limit or the resource budget
(`symbolic.Budget`) gives UNKNOWN, with the depth reached.

The `writer_terminates` liveness property is not a bounded question: this
engine reports it as not applicable.

Traces are `results.Trace` values built like the explicit engine's (the
same actors, lanes, kernel functions and readable states), ending, for an
`always` property, with the step that commits the violation.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import z3

from slabproof.model import FAIRNESS, PROPERTY_DOCS, Property, System
from slabproof.results import EngineResult, PropertyResult, Trace, Verdict
from slabproof.z3 import symbolic
from slabproof.z3.symbolic import FixedEncoding, SolverGaveUp

DEFAULT_MAX_DEPTH = 64
LIVENESS = "writer_terminates"
NOT_APPLICABLE = {LIVENESS: "a liveness property: bounded model checking does not decide it "
                            "(the explicit engine does)",
                  FAIRNESS: "a liveness property under fairness (lassos): bounded model checking does not decide it "
                            "(the explicit engine does)"}


class _Unroller:
    """init(s0), T(s0, s1), ..., T(s_k-1, s_k) on one solver, extended a step at a time."""

    def __init__(self, enc: FixedEncoding, solver: z3.Solver) -> None:
        self.enc = enc
        self.solver = solver
        self.states = [enc.state("s0")]
        self.selectors: list[list[z3.ExprRef]] = []
        solver.add(enc.init(self.states[0]))
        # which instances write which variable, computed once on a symbolic state

    def extend(self) -> None:
        i = len(self.states)
        t = self.enc.state(f"s{i}")
        parts, sel = self.enc.selector_step(self.states[-1], t, f"step{i}")
        self.solver.add(*parts)
        self.states.append(t)
        self.selectors.append(sel)

    def path(self, m: z3.ModelRef, depth: int) -> tuple[list[tuple[int, ...]], list[int]]:
        states = [self.enc.values(m, self.states[j]) for j in range(depth + 1)]
        steps = [next(k for k, b in enumerate(self.selectors[j]) if z3.is_true(m.eval(b, model_completion=True)))
                 for j in range(depth)]
        return states, steps


def _trace(enc: FixedEncoding, prop: Property, states: list[tuple[int, ...]], steps: list[int], kind: str) -> Trace:
    """A trace in the explicit engine's form; each step is checked against the model's own successors."""
    out = []
    for j, iid in enumerate(steps):
        succ = dict(enc.successors(states[j]))
        if succ.get(iid) != states[j + 1]:  # pragma: no cover - would mean the encoding is wrong
            raise RuntimeError(f"BMC step {j + 1} is not a step of the model")
        out.append(enc.trace_step(j + 1, enc.instances[iid], states[j + 1]))
    final = states[-1]
    if kind == "counterexample":
        c = enc.culprit(prop, final)
        if c is not None:
            inst, nxt, note = c
            out.append(enc.trace_step(len(out) + 1, inst, nxt, violating=True, note=note))
            conclusion = f"{inst.actor} {note}: {prop.name} is violated"
        else:
            conclusion = f"the last state violates {prop.name}: {prop.doc}"
    else:
        conclusion = f"the last state shows {prop.name}: {prop.doc}"
    return Trace(property=prop.name, kind=kind, steps=tuple(out), initial=enc.readable(enc.init_values()),
                 conclusion=conclusion)


def run(system: System, *, max_depth: int | None = None, complete_depth: int | None = None,
        timeout: float | None = None, rlimit: int | None = None, values: str = "bv",
        extra_depth: int = 2) -> EngineResult:
    """Bounded model checking of `system` up to `max_depth` steps (default: `complete_depth`, else 64).

    `complete_depth`: a depth within which every reachable state is known to
    be reachable (passed by the runner from a complete explicit search);
    reaching it without a violation gives SAFE.
    """
    t0 = time.monotonic()
    budget = symbolic.Budget(timeout, rlimit)
    k_max = max_depth if max_depth is not None else (complete_depth if complete_depth is not None
                                                     else DEFAULT_MAX_DEPTH)
    enc = FixedEncoding(system, values)
    # bit-vectors and Booleans only: Z3's incremental SAT back end (QF_FD) is far faster here than the SMT core
    solver = z3.SolverFor("QF_LIA") if values == "int" else z3.SolverFor("QF_FD")
    un = _Unroller(enc, solver)
    always = [p for p in system.properties if p.kind == "always"]
    sometimes = [p for p in system.properties if p.kind == "sometimes"]
    found: dict[str, Trace] = {}
    depth_done = -1
    first_violation: int | None = None
    reason = ""
    queries = 0

    def solve(goal: z3.ExprRef) -> z3.ModelRef | None:
        nonlocal queries
        queries += 1
        solver.push()
        solver.add(goal)
        try:
            return solver.model() if symbolic.check(solver, budget=budget) else None
        finally:
            solver.pop()

    try:
        for i in range(k_max + 1):
            if i > 0:
                un.extend()
            s = un.states[i]
            open_always = [p for p in always if p.name not in found]
            if open_always:
                bad = {p.name: z3.Not(enc.pred(p.expr, s)) for p in open_always}
                m = solve(z3.Or(*bad.values()))
                if m is not None:
                    for p in open_always:
                        mp = m if z3.is_true(m.eval(bad[p.name], model_completion=True)) else solve(bad[p.name])
                        if mp is not None:
                            states, steps = un.path(mp, i)
                            found[p.name] = _trace(enc, p, states, steps, "counterexample")
                still = [bad[p.name] for p in open_always if p.name not in found]
                if still:  # proved free of these violations at depth i: a lemma for deeper queries
                    solver.add(z3.Not(z3.Or(*still)))
            for p in sometimes:
                if p.name in found:
                    continue
                m = solve(enc.pred(p.expr, s))
                if m is not None:
                    states, steps = un.path(m, i)
                    found[p.name] = _trace(enc, p, states, steps, "witness")
            depth_done = i
            if all(p.name in found for p in always) and all(p.name in found for p in sometimes):
                break
            if first_violation is None and any(p.name in found for p in always):
                first_violation = i
            if first_violation is not None and i >= first_violation + extra_depth \
                    and all(p.name in found for p in sometimes):
                break
    except SolverGaveUp as e:
        reason = f"no violation within {depth_done} of the {k_max} steps: {e.reason}" if depth_done >= 0 \
            else f"solver gave up: {e.reason}"
    except KeyboardInterrupt:
        reason = "interrupted"

    complete = complete_depth is not None and depth_done >= complete_depth and not reason
    props: list[PropertyResult] = []
    for p in system.properties:
        if p.name in found:
            props.append(PropertyResult(p.name, p.kind, p.doc, p.kind == "sometimes", found[p.name]))
        elif complete:
            props.append(PropertyResult(p.name, p.kind, p.doc, p.kind == "always"))
        else:
            props.append(PropertyResult(p.name, p.kind, p.doc, None))
    props.insert(min(4, len(props)), PropertyResult(LIVENESS, "always", PROPERTY_DOCS[LIVENESS], None))
    props.insert(min(5, len(props)), PropertyResult(FAIRNESS, "always", PROPERTY_DOCS[FAIRNESS], None))
    violated = any(p.kind == "always" and p.holds is False for p in props)
    if violated and reason != "interrupted":  # (an interrupted run keeps its traces but decides nothing)
        verdict = Verdict.VIOLATED
    elif complete:
        verdict = Verdict.SAFE
    else:
        verdict = Verdict.UNKNOWN
        if not reason:
            reason = (f"no violation within {depth_done} steps; no bound known to cover every reachable state"
                      if complete_depth is None else
                      f"no violation within {depth_done} of the {complete_depth} steps needed")
    extra: dict[str, Any] = {
        "not_applicable": dict(NOT_APPLICABLE),
        "bound": depth_done,
        "queries": queries,
        "complete_depth": complete_depth,
    }
    if complete:
        extra["completeness"] = (f"every reachable state is within {complete_depth} steps "
                                 "(depth of the explicit engine's complete search)")
    return EngineResult(
        engine="bmc",
        spec=system.spec.path,
        cpus=system.ncpus,
        verdict=verdict,
        reason=reason if verdict == Verdict.UNKNOWN else "",
        complete=complete or violated,
        properties=tuple(props),
        depth=max(depth_done, 0),
        seconds=time.monotonic() - t0,
        extra=extra,
    )


WITNESS_ENGINE = "witness"  # the engine name of a witness search's result


def witness(system: System, targets: Sequence[Property], *, max_depth: int = DEFAULT_MAX_DEPTH,
            complete: bool = False, timeout: float | None = None, rlimit: int | None = None) -> EngineResult:
    """A shortest trace to a state satisfying each target, as an `EngineResult` named "witness".

    Each target is a `sometimes` property of the result: ``holds`` True with the trace; False when
    no state within `max_depth` steps satisfies it and `complete` says every reachable state is within
    `max_depth` (the explicit engine's complete depth, passed as data): none is reachable; None
    otherwise -- not searched to the end (the budget, a solver ``unknown``: the result's `reason`), or
    searched to a depth not known to cover every reachable state. A solver giving up is never "no
    witness"."""
    t0 = time.monotonic()
    budget = symbolic.Budget(timeout, rlimit)
    enc = FixedEncoding(system)
    solver = z3.SolverFor("QF_FD")
    un = _Unroller(enc, solver)
    found: dict[str, Trace] = {}
    depth_done = -1
    reason = ""
    try:
        for i in range(max_depth + 1):
            if i > 0:
                un.extend()
            for t in targets:
                if t.name in found:
                    continue
                solver.push()
                solver.add(enc.pred(t.expr, un.states[i]))
                try:
                    if symbolic.check(solver, budget=budget):
                        states, steps = un.path(solver.model(), i)
                        found[t.name] = _trace(enc, t, states, steps, "witness")
                finally:
                    solver.pop()
            depth_done = i
            if all(t.name in found for t in targets):
                break
    except SolverGaveUp as e:
        reason = f"witness search unknown after {max(depth_done, 0)} of {max_depth} steps: {e.reason}"
    except KeyboardInterrupt:
        reason = "interrupted"
    searched = not reason and depth_done >= max_depth
    if not reason and not all(t.name in found for t in targets) and not (searched and complete):
        reason = (f"no witness within {depth_done} steps; no bound known to cover every reachable state"
                  if searched else f"searched {depth_done} of {max_depth} steps")
    props = tuple(PropertyResult(t.name, "sometimes", t.doc,
                                 True if t.name in found else (False if searched and complete else None),
                                 found.get(t.name)) for t in targets)
    undecided = any(p.holds is None for p in props)
    return EngineResult(
        engine=WITNESS_ENGINE,
        spec=system.spec.path,
        cpus=system.ncpus,
        verdict=Verdict.UNKNOWN if undecided else Verdict.SAFE,
        reason=reason if undecided else "",
        complete=not undecided,
        properties=props,
        depth=max(depth_done, 0),
        seconds=time.monotonic() - t0,
        extra={"max_depth": max_depth, "bound_covers_reachable": complete},
    )
