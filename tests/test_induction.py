"""The inductive invariant for a fixed number of CPUs: found by Houdini, re-checked independently.

(That the proof engines prove exactly the safe specs, on every shipped spec,
is in test_symbolic_agreement.py.)"""

from __future__ import annotations

from functools import lru_cache

import pytest
import z3

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.lang.expr import Layout, compile_guard
from slabproof.results import Verdict
from slabproof.z3 import houdini, induction
from slabproof.z3.symbolic import FixedEncoding

from .conftest import SPECS

SAFETY = ("no_use_after_free", "no_access_after_drain", "no_null_cpu_cache", "fresh_unreachable")


@lru_cache(maxsize=None)
def reachable(name: str) -> tuple[model.System, object]:
    system = model.build(spec.load(SPECS / f"{name}.toml"))
    return system, checker.explore(system, keep_states=True)


def _reachable(name: str):
    return reachable(name)[1]


@lru_cache(maxsize=None)
def _proof(name: str, minimize: bool) -> houdini.Proof:
    system, r = reachable(name)
    return induction.prove(system, r.extra["states"], r.extra["slots"], minimize=minimize)


def _prove(system: model.System, name: str, minimize: bool) -> houdini.Proof:
    return _proof(name, minimize)


def holds_everywhere(system: model.System, clauses, states) -> bool:
    """The conjunction of `clauses`, compiled once, is true in every one of `states`."""
    layout = Layout(system.families.values(), system.ncpus)
    src = compile_guard(houdini.And(*[houdini.clause_expr(system, c) for c in clauses]), layout, None,
                        system.writer_cpus)
    fn = eval(f"lambda s: {src}", {"__builtins__": {"int": int}})  # noqa: S307 - generated from the model
    return all(fn(s) for s in states)


def check_inductive(system: model.System, clauses) -> dict[str, bool]:
    """An independent check with the disjunctive transition relation (`FixedEncoding.trans`, not the
    selector form the engine uses): init => Inv, Inv and T => Inv', and which properties Inv implies."""
    enc = FixedEncoding(system)
    s, t = enc.state("s"), enc.state("t")
    inv = [enc.pred(houdini.clause_expr(system, c), s) for c in clauses]
    inv_t = [enc.pred(houdini.clause_expr(system, c), t) for c in clauses]
    init = z3.Solver()
    init.add(enc.init(s), z3.Not(z3.And(*inv)))
    assert init.check() == z3.unsat, "the invariant does not hold initially"
    step = z3.SolverFor("QF_FD")
    step.add(enc.domain(s), *inv, enc.trans(s, t), z3.Not(z3.And(*inv_t)))
    assert step.check() == z3.unsat, "the invariant is not preserved by some step"
    out = {}
    for p in system.properties:
        if p.kind == "always":
            sol = z3.SolverFor("QF_FD")
            sol.add(enc.domain(s), *inv, z3.Not(enc.pred(p.expr, s)))
            out[p.name] = sol.check() == z3.unsat
    return out


@pytest.mark.parametrize("name", ["memcg-if-prev-3cpu", "two-writers-mutex-3cpu"])
def test_minimized_invariant_is_inductive_implies_safety_and_holds_on_reachable_states(name):
    system, r = reachable(name)
    pf = _prove(system, name, True)
    assert pf.minimized and 0 < len(pf.invariant) < len(pf.inductive) + 1
    assert holds_everywhere(system, pf.invariant, _reachable(name).extra["states"])
    implied = check_inductive(system, pf.invariant)
    assert all(implied[p] for p in SAFETY), implied
    # each property's own clauses are named, and readable in kernel terms
    for p in SAFETY:
        assert pf.proved[p]
        for line in houdini.show_invariant(system, pf.proved[p]):
            assert "writer0" in line or "[" in line


def test_without_the_skipped_ipi_the_invariant_cannot_be_found():
    for name in ("memcg-never-3cpu", "memcg-if-no-prev-3cpu", "cache-never-2cpu"):
        system, r = reachable(name)
        res = induction.run(system, _reachable(name).extra["states"], _reachable(name).extra["slots"])
        assert res.verdict == Verdict.UNKNOWN  # not a proof, and not a counterexample either
        assert "no_use_after_free" in res.reason
        assert res.prop("fresh_unreachable").holds is True  # the lemma behind the patch still holds


def test_a_time_limit_gives_unknown_never_safe():
    system, r = reachable("memcg-if-prev-3cpu")
    res = induction.run(system, _reachable("memcg-if-prev-3cpu").extra["states"],
                        _reachable("memcg-if-prev-3cpu").extra["slots"], timeout=0.001)
    assert res.verdict == Verdict.UNKNOWN and res.reason


def test_liveness_is_reported_not_applicable():
    system, r = reachable("whatif-reader-takes-mutex-irqs-off")
    res = induction.run(system, _reachable("whatif-reader-takes-mutex-irqs-off").extra["states"],
                        _reachable("whatif-reader-takes-mutex-irqs-off").extra["slots"])
    assert res.verdict == Verdict.SAFE  # every safety property; the deadlock is the explicit engine's to find
    assert res.prop("writer_terminates").holds is None
    assert "writer_terminates" in res.extra["not_applicable"]
