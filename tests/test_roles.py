"""The role language (z3/roles.py): a small any-N invariant a person can check, re-checked with quantifiers."""

from __future__ import annotations

from functools import lru_cache

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.lang.expr import Layout, compile_guard
from slabproof.results import Verdict
from slabproof.z3 import houdini, param, recheck

from .conftest import SPECS

NAME = "memcg-if-prev-3cpu"
MAX_CLAUSES = 26  # the honest size reached (the target is 20); a regression above it fails


@lru_cache(maxsize=None)
def explored(cpus: int):
    system = model.build(spec.load(SPECS / f"{NAME}.toml").with_cpus(cpus))
    return system, checker.explore(system, symmetry=True, keep_states=True)


@lru_cache(maxsize=None)
def role_proof():
    s = spec.load(SPECS / f"{NAME}.toml")
    system = model.build(s)
    _, r = explored(3)
    return system, param.prove(system, r.extra["states"], r.extra["slots"], minimize=True)


def test_the_role_invariant_proves_every_safety_property_in_at_most_the_pinned_size():
    system, pf = role_proof()
    assert pf.level == houdini.ROLES and not pf.unproved and not pf.reason and not pf.fallback
    assert 0 < len(pf.invariant) <= MAX_CLAUSES
    always = {p.name for p in system.properties if p.kind == "always"}
    assert set(pf.proved) == always
    lines = houdini.show_invariant(system, pf.invariant)
    assert len(lines) == len(pf.invariant) and all("\n" not in ln for ln in lines)
    # no concrete array cache is named: the clauses speak of roles
    assert not any(a.label in ln for ln in lines for a in system.acs)
    for c in pf.invariant:
        assert c.explain().split()[0] in ("Whenever", "Always,", "Never")


def test_every_role_clause_holds_on_every_explored_state_for_2_to_4_cpus():
    _, pf = role_proof()
    for n in (2, 3, 4):
        system, r = explored(n)
        layout = Layout(system.families.values(), n)
        for c in pf.invariant:
            src = compile_guard(c.expr, layout, None, system.writer_cpus)
            fn = eval(f"lambda s: {src}", {"__builtins__": {"int": int}})  # noqa: S307 - generated from the model
            bad = [st for st in r.extra["states"] if not fn(st)]
            assert not bad, (n, c.show())


def test_the_quantified_recheck_confirms_the_role_invariant():
    system, pf = role_proof()
    rc = recheck.run(system, [houdini.clause_expr(system, c) for c in pf.invariant])
    assert rc.verdict == Verdict.SAFE, rc.reason


def test_planted_dropping_the_ipi_clause_makes_the_recheck_fail():
    system, pf = role_proof()
    ipi = [c for c in pf.invariant if any(t.key.startswith("ipi") for t, _ in c.premises)
           or (c.conclusion is not None and c.conclusion[0].key.startswith("ipi"))]
    assert ipi, "the invariant must say that a CPU holding prev during the wait has an IPI pending"
    rest = [houdini.clause_expr(system, c) for c in pf.invariant if c is not ipi[0]]
    rc = recheck.run(system, rest)
    assert rc.verdict == Verdict.UNKNOWN and "sat for" in rc.reason


def test_without_the_role_language_the_state_variable_levels_still_prove():
    system, _ = role_proof()
    _, r = explored(3)
    pf = houdini.prove(houdini.symbolic.GroundEncoding(system), r.extra["states"], r.extra["slots"],
                       minimize=True, roles=False)
    assert pf.level >= 0 and not pf.unproved
