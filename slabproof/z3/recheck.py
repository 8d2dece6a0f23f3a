"""An independent re-check of an any-N invariant, with real quantifiers over an uninterpreted CPU sort.

Not a search: the runner hands this module an invariant -- closed state
predicates of the model's expression language, as data (the `param` engine's
clauses, `houdini.clause_expr`) -- and it asks Z3 whether that invariant is a
proof for every number of CPUs, in the quantified encoding
(`symbolic.ParamEncoding`: CPUs an uninterpreted sort ``Cpu``, per-CPU state
arrays over it, `Forall` / `Exists` real Z3 quantifiers, a write at one CPU a
`Store`, `AssignAll` a `Lambda`). No query is instantiated over finitely many
CPU terms, so the cutoff argument the `param` engine rests on (docs/proofs.md,
section 1) is not used here; nor is anything of that engine but its clauses.

The queries (each must be ``unsat``):

* **init** -- ``Init(s) and not Inv(s)``;
* **step** *a*, one per action -- ``Dom(s) and Inv(s) and guard_a(s) and not
  (Inv(post_a(s)) and Dom(post_a(s)))``: every step preserves the invariant
  and keeps every variable within its family's values;
* **property** *P*, one per `always` property -- ``Dom(s) and Inv(s) and not
  P(s)``, with no transition relation (a deadlocked state counts).

Dom is the family domains, and the writers run on pairwise distinct CPUs in
all of them. Verdict: SAFE when every query is ``unsat``; a ``sat`` answer
(the invariant is not a proof), a solver ``unknown`` (quantifiers are beyond
Z3's decision procedures in general) or the budget gives UNKNOWN with the
query named -- never SAFE.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import z3

from slabproof.lang.expr import Expr
from slabproof.model import FAIRNESS, PROPERTY_DOCS, System
from slabproof.results import EngineResult, PropertyResult, Verdict
from slabproof.z3 import symbolic
from slabproof.z3.symbolic import NotSupported, ParamEncoding, SolverGaveUp

SCOPE = "any number of CPUs, quantified"
LIVENESS = "writer_terminates"
NOT_APPLICABLE = {LIVENESS: "a liveness property: an inductive invariant proves safety only",
                  FAIRNESS: "a liveness property under fairness: an inductive invariant proves safety only"}


def run(system: System, invariant: Sequence[Expr], *, timeout: float | None = None,
        rlimit: int | None = None) -> EngineResult:
    """Re-check that `invariant` (closed state predicates) proves every `always` property of `system`
    for any number of CPUs (see the module docstring)."""
    t0 = time.monotonic()
    budget = symbolic.Budget(timeout, rlimit)
    always = [p for p in system.properties if p.kind == "always"]
    queries: list[dict[str, Any]] = []
    proved: set[str] = set()
    reason = ""
    try:
        enc = ParamEncoding(system)
        s = enc.state("s")
        me = enc.fresh_cpu("self")
        inv_s = [enc.pred(e, s) for e in invariant]
        base = [enc.axioms(), enc.domain(s)]

        def ask(name: str, *parts: z3.ExprRef) -> bool:
            """True when the conjunction of `parts` is unsat; records the answer."""
            q0 = time.monotonic()
            sol = z3.Solver()
            sol.add(*parts)
            try:
                sat = symbolic.check(sol, budget=budget)
            except SolverGaveUp as e:
                queries.append({"query": name, "answer": "unknown", "reason": e.reason,
                                "seconds": round(time.monotonic() - q0, 3)})
                raise
            queries.append({"query": name, "answer": "sat" if sat else "unsat",
                            "seconds": round(time.monotonic() - q0, 3)})
            return not sat

        failed: list[str] = []
        if not ask("init", enc.axioms(), enc.init(s), z3.Not(z3.And(*inv_s))):
            failed.append("init")
        for i, act in enumerate(system.actions):
            who = me if act.actor != "writer" else None
            post = enc.post(act, s, who)
            keep = z3.And(*[enc.pred(e, post) for e in invariant], enc.domain(post))
            name = f"step {i} {act.actor}{act.writer if act.writer is not None else ''} {act.step}"
            if not ask(name, *base, *inv_s, enc.guard(act, s, who), z3.Not(keep)):
                failed.append(name)
        for p in always:
            if ask(f"property {p.name}", *base, *inv_s, z3.Not(enc.pred(p.expr, s))):
                proved.add(p.name)
            else:
                failed.append(f"property {p.name}")
        if failed:
            reason = "the invariant is not a proof for any number of CPUs: sat for " + ", ".join(failed)
            if "init" in failed or any(f.startswith("step") for f in failed):
                proved = set()  # not an invariant: it implies nothing about the reachable states
    except SolverGaveUp as e:
        reason = f"re-check unknown ({e.reason}) at {queries[-1]['query'] if queries else 'the start'}"
        proved = set()
    except NotSupported as e:
        reason = f"not supported: {e}"
        proved = set()
    except KeyboardInterrupt:
        reason = "interrupted"
        proved = set()
    props: list[PropertyResult] = []
    for p in system.properties:
        props.append(PropertyResult(p.name, p.kind, p.doc, True if p.name in proved else None))
    props.insert(min(4, len(props)), PropertyResult(LIVENESS, "always", PROPERTY_DOCS[LIVENESS], None))
    props.insert(min(5, len(props)), PropertyResult(FAIRNESS, "always", PROPERTY_DOCS[FAIRNESS], None))
    ok = not reason and all(p.name in proved for p in always)
    return EngineResult(
        engine="recheck",
        spec=system.spec.path,
        cpus=system.ncpus,
        verdict=Verdict.SAFE if ok else Verdict.UNKNOWN,
        reason="" if ok else reason,
        complete=ok,
        properties=tuple(props),
        seconds=time.monotonic() - t0,
        extra={"scope": SCOPE, "not_applicable": dict(NOT_APPLICABLE), "clauses": len(invariant),
               "queries": queries, "units": budget.used()},
    )
