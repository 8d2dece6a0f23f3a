"""Soundness of the Z3 proof engines: queries without the transition relation, initiation for any
number of CPUs, the cutoff fragment, the quantified re-check, honest witness searches, and `prove`
reporting each engine's own result.

Each `check_*` function is one regression check (it raises AssertionError when the defect is
present); the tests here run them on today's code, and tests/test_planted_z3.py plants each defect
back in and shows the check catches it.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import pytest

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.lang.expr import And, Bound, Exists, Forall, In, Not, Op, Read, WriterCpu
from slabproof.report import text as report
from slabproof.results import Verdict
from slabproof.run import runner
from slabproof.z3 import bmc, houdini, induction, param, recheck, symbolic

from .conftest import SPECS

MUTEX_SPEC = SPECS / "whatif-reader-takes-mutex-irqs-off.toml"
X, Y = Bound("x"), Bound("y")


# ---------------------------------------------------------------------------
# properties built over a system's families (as explain.py builds its claims)


def deadlock_state(system: model.System) -> object:
    """The writer waits at csd_lock_wait and every CPU is at mutex_lock with IRQs off: no step is enabled."""
    F = system.families
    waits = tuple(sorted({a.pc for a in system.actions if a.actor == "writer" and a.step == "csd_lock_wait"}))
    lock = system.spec.reader_steps.index("mutex_lock")
    return And(In(Read(F["writer_pc"], 0), waits), Forall(X, And(Read(F["pc"], X) == lock, Read(F["irqs_off"], X) == 1)))


def with_properties(system: model.System, *props: model.Property) -> model.System:
    return replace(system, properties=list(system.properties) + list(props))


@lru_cache(maxsize=None)
def mutex_system(cpus: int) -> tuple[model.System, object]:
    """The what-if spec with the property "not deadlocked at mutex_lock", and its reachable states."""
    base = model.build(spec.load(MUTEX_SPEC).with_cpus(cpus))
    system = with_properties(base, model.Property("not_deadlocked_at_mutex", "always", Not(deadlock_state(base)),
                                                  "never every CPU at mutex_lock with IRQs off while the writer waits"))
    return system, checker.explore(system, keep_states=True)


def two_free_cpus_hold(system: model.System) -> object:
    """Two different CPUs that run no writer both hold an array cache."""
    F = system.families
    refs = tuple(a.ref for a in system.acs)
    free = [Not(Op("cpueq", (b, WriterCpu(w)))) for b in (X, Y) for w in range(len(system.writer_cpus))]
    return Exists(X, Exists(Y, And(Not(Op("cpueq", (X, Y))), *free, In(Read(F["ac"], X), refs),
                                   In(Read(F["ac"], Y), refs))))


CARDINALITY = houdini.Clause((houdini.Atom("irqs_off", None, "x", (0, 1)), houdini.Atom("irqs_off", None, "y", (0, 1))),
                             None)  # "there are no two CPUs without a writer": true for 2 CPUs and one writer only


@lru_cache(maxsize=None)
def memcg(cpus: int) -> tuple[model.System, object]:
    system = model.build(spec.load(SPECS / "memcg-if-prev-2cpu.toml").with_cpus(cpus))
    return system, checker.explore(system, keep_states=True)


# ---------------------------------------------------------------------------
# 1. property and lemma queries have no transition relation


def check_deadlocked_violation_is_not_proved_by_induction() -> None:
    system, r = mutex_system(2)
    assert r.prop("not_deadlocked_at_mutex").holds is False  # the explorer's counterexample
    extra = houdini.Lemma("deadlocked_at_mutex", "a deadlocked state", "is there a deadlocked state?",
                          deadlock_state(system), "unsat")
    real = houdini.lemmas
    houdini.lemmas = lambda s: real(s) + [extra]  # type: ignore[assignment]
    try:
        pf = induction.prove(system, r.extra["states"], r.extra["slots"], minimize=False)
    finally:
        houdini.lemmas = real  # type: ignore[assignment]
    assert "not_deadlocked_at_mutex" not in pf.proved, "a property false in a reachable deadlocked state was proved"
    lem = {x["name"]: x for x in pf.lemmas}
    assert lem["deadlocked_at_mutex"]["answer"] == "sat", "a lemma query missed a deadlocked state"


def check_deadlocked_violation_is_not_proved_by_param() -> None:
    system, _ = mutex_system(2)
    _, r3 = mutex_system(3)  # the data the runner gives param: two CPUs without a writer
    res = param.run(system, r3.extra["states"], r3.extra["slots"], minimize=False)
    assert res.prop("not_deadlocked_at_mutex").holds is None, "param proved a property false in a deadlocked state"
    assert res.verdict == Verdict.UNKNOWN
    assert "no invariant in the candidate language" in res.reason


def test_a_property_false_only_in_deadlocked_states_is_not_proved_by_induction():
    check_deadlocked_violation_is_not_proved_by_induction()


def test_a_property_false_only_in_deadlocked_states_is_not_proved_by_param():
    check_deadlocked_violation_is_not_proved_by_param()


# ---------------------------------------------------------------------------
# 2. initiation for any number of CPUs


def check_initiation_is_for_any_number_of_cpus() -> None:
    system, _ = memcg(2)
    ground = houdini.Queries(symbolic.GroundEncoding(system), [CARDINALITY], symbolic.Budget())
    fixed = houdini.Queries(symbolic.FixedEncoding(system), [CARDINALITY], symbolic.Budget())
    assert fixed.initiation({0}) == {0}  # for 2 CPUs (one of them the writer's) the clause is true initially
    assert ground.initiation({0}) == set(), "a clause false initially for 3 CPUs was kept for any number"


def check_no_false_proof_from_an_initiation_on_one_number() -> None:
    system, _ = memcg(2)
    _, r3 = memcg(3)
    prop = model.Property("no_two_free_holders", "always", Not(two_free_cpus_hold(system)), "at most one holder")
    system = with_properties(system, prop)
    assert checker.explore(with_properties(memcg(3)[0], prop)).prop(prop.name).holds is False  # false for 3 CPUs
    real = houdini.generate
    houdini.generate = lambda *a, **k: real(*a, **k) + [CARDINALITY]  # type: ignore[assignment]
    try:
        res = param.run(system, r3.extra["states"], r3.extra["slots"], minimize=False)
    finally:
        houdini.generate = real  # type: ignore[assignment]
    assert res.prop(prop.name).holds is None, "param proved for any number a property false for 3 CPUs"


def test_initiation_is_checked_for_any_number_of_cpus():
    check_initiation_is_for_any_number_of_cpus()


def test_no_false_any_n_proof_from_a_clause_true_initially_for_the_specs_number_only():
    check_no_false_proof_from_an_initiation_on_one_number()


# ---------------------------------------------------------------------------
# 3./4. the witness counter and the cutoff fragment


def check_forall_exists_is_outside_the_fragment() -> None:
    F = memcg(2)[0].families
    body = Read(F["pc"], X) == Read(F["pc"], Y)
    with pytest.raises(symbolic.NotSupported, match="outside the cutoff fragment"):
        symbolic.existentials(Forall(X, Exists(Y, body)), True)
    with pytest.raises(symbolic.NotSupported, match="outside the cutoff fragment"):
        symbolic.existentials(Exists(X, Forall(Y, body)), False)  # denied: forall x exists y
    assert symbolic.existentials(Exists(X, Forall(Y, body)), True) == 1
    assert symbolic.existentials(Forall(X, Exists(Y, body)), False) == 1
    assert symbolic.existentials(Exists(X, Exists(Y, body)), True) == 2


def check_param_refuses_a_forall_exists_query() -> None:
    system, r = memcg(2)
    F = system.families
    # true for every number of CPUs (some CPU is the writer's, which every CPU equals or not), but its
    # negation is forall-exists: outside the fragment, so refused rather than answered
    prop = model.Property("some_cpu", "always", Exists(X, Forall(Y, Op("or", (Op("cpueq", (X, WriterCpu(0))),
                                                                                Read(F["pc"], Y) == Read(F["pc"], Y))))),
                          "some CPU")
    res = param.run(with_properties(system, prop), memcg(3)[1].extra["states"], memcg(3)[1].extra["slots"],
                    minimize=False)
    assert res.prop("some_cpu").holds is None, "a query outside the cutoff fragment was answered"
    assert "not supported: outside the cutoff fragment" in res.extra["unproved"]["some_cpu"]


def test_forall_exists_needs_a_witness_per_cpu_and_is_refused():
    check_forall_exists_is_outside_the_fragment()


def test_param_refuses_a_property_outside_the_fragment_with_a_reason():
    check_param_refuses_a_forall_exists_query()


def check_steps_outside_the_fragment_are_refused() -> None:
    system, _ = memcg(2)
    F = system.families
    act = next(a for a in system.actions if a.actor == "cpu")
    cases = {
        "quantifies over CPUs existentially": replace(act, guard=And(act.guard, Exists(X, Read(F["pc"], X) == 0))),
        "forall-exists": replace(act, guard=And(act.guard, Forall(X, Exists(Y, Read(F["pc"], Y) == Read(F["pc"], X))))),
    }
    for why, bad in cases.items():
        s = replace(system, actions=[bad] + list(system.actions[1:]))
        with pytest.raises(symbolic.NotSupported, match="outside the cutoff fragment"):
            symbolic.GroundEncoding(s)
        pf = param.prove(s, memcg(2)[1].extra["states"], memcg(2)[1].extra["slots"], minimize=False)
        assert pf.reason.startswith("not supported: outside the cutoff fragment"), (why, pf.reason)
        assert not pf.proved
    init = dict(system.init)
    init["pc"] = {0: 0, 1: 0}  # an initial value given per CPU
    with pytest.raises(symbolic.NotSupported, match="initial value of pc depends on the CPU"):
        symbolic.GroundEncoding(replace(system, init=init))


def test_steps_and_initial_states_outside_the_cutoff_fragment_are_refused():
    check_steps_outside_the_fragment_are_refused()


# ---------------------------------------------------------------------------
# 5. the quantified re-check


@lru_cache(maxsize=None)
def memcg_invariant() -> tuple[model.System, houdini.Proof]:
    system, _ = memcg(2)
    _, r3 = memcg(3)
    return system, param.prove(system, r3.extra["states"], r3.extra["slots"], minimize=True)


def check_recheck_confirms_the_invariant_and_refutes_a_non_invariant() -> None:
    system, pf = memcg_invariant()
    assert pf.minimized and set(pf.proved) >= {"no_use_after_free", "no_access_after_drain"}
    inv = [houdini.clause_expr(system, c) for c in pf.invariant]
    good = recheck.run(system, inv, rlimit=runner.RECHECK_DEFAULT_UNITS)
    assert good.verdict == Verdict.SAFE, good.reason
    assert all(q["answer"] == "unsat" for q in good.extra["queries"])
    assert {q["query"] for q in good.extra["queries"]} >= {"init", "property no_use_after_free"}
    # the invariant without the clauses no_use_after_free needs is no proof of it
    needed = {houdini.clause_key(c) for c in pf.proved["no_use_after_free"]}
    weak = [houdini.clause_expr(system, c) for c in pf.invariant if houdini.clause_key(c) not in needed]
    bad = recheck.run(system, weak, rlimit=runner.RECHECK_DEFAULT_UNITS)
    assert bad.verdict == Verdict.UNKNOWN and bad.prop("no_use_after_free").holds is None
    assert "sat for" in bad.reason
    # a clause false initially (every CPU has IRQs off) is refuted by the init query
    F = system.families
    wrong = Forall(X, Read(F["irqs_off"], X) == 1)
    r = recheck.run(system, [wrong], rlimit=runner.RECHECK_DEFAULT_UNITS)
    assert r.verdict == Verdict.UNKNOWN and "init" in r.reason


def test_the_quantified_recheck_confirms_a_proof_and_refutes_a_non_proof():
    check_recheck_confirms_the_invariant_and_refutes_a_non_invariant()


def test_a_recheck_out_of_budget_is_unknown_never_safe():
    system, pf = memcg_invariant()
    res = recheck.run(system, [houdini.clause_expr(system, c) for c in pf.invariant], rlimit=1)
    assert res.verdict == Verdict.UNKNOWN and res.reason.startswith("re-check unknown")
    assert not any(p.holds for p in res.properties)


@lru_cache(maxsize=None)
def proved_memcg():
    return runner.prove_spec(spec.load(SPECS / "memcg-if-prev-2cpu.toml"), runner.RunOptions())


def test_prove_reports_the_recheck_in_text_and_json():
    o = proved_memcg()
    assert o.status == "PROVED" and o.scope == "any number of CPUs" and o.matches
    by = {r.engine: r for r in o.results}
    assert by["recheck"].verdict == Verdict.SAFE
    text = report.proof_text(o).plain
    assert "recheck   (any number of CPUs, quantified): safe" in text
    doc = report.proofs_json([o], 0)
    assert '"engine": "recheck"' in doc and "invariant_exprs" not in doc


def check_a_proof_that_does_not_recheck_is_not_proved_for_any_n() -> None:
    real = recheck.run

    def refuting(system, invariant, **kw):  # the re-check answers sat for a step
        r = real(system, invariant[:1], rlimit=runner.RECHECK_DEFAULT_UNITS)
        assert r.verdict == Verdict.UNKNOWN
        return r

    recheck.run = refuting  # type: ignore[assignment]
    try:
        o = runner.prove_spec(spec.load(SPECS / "memcg-if-prev-2cpu.toml"), runner.RunOptions())
    finally:
        recheck.run = real  # type: ignore[assignment]
    assert o.scope != "any number of CPUs", "a param proof that did not re-check was reported for any number"
    assert o.status == "PROVED" and o.scope == "2 CPUs"  # induction's, for the spec's number
    assert "NOT PROVED for any number" in o.why and "did not re-check" in o.why
    text = report.proof_text(o).plain
    assert "NOT re-checked" in text or "inductive invariant (induction" in text


def test_a_param_proof_whose_recheck_fails_falls_back_to_the_fixed_n_proof():
    check_a_proof_that_does_not_recheck_is_not_proved_for_any_n()


# ---------------------------------------------------------------------------
# 6. a witness search that gives up says so


def check_witness_search_out_of_budget_is_unknown() -> None:
    system, r = memcg(2)
    lem = next(x for x in houdini.lemmas(system) if x.expected == "sat")
    target = model.Property(lem.name, "sometimes", lem.expr, lem.doc)
    ws = bmc.witness(system, [target], max_depth=r.depth, complete=r.complete, rlimit=1)
    assert ws.prop(lem.name).holds is None, "a solver giving up was read as no witness"
    assert ws.verdict == Verdict.UNKNOWN and "unknown" in ws.reason
    o = replace(proved_memcg(), witnesses={},
                results=tuple(ws if x.engine == bmc.WITNESS_ENGINE else x for x in proved_memcg().results))
    text = report.proof_text(o).plain
    assert "witness: unknown (" in text and "no reachable witness" not in text


def test_a_witness_search_out_of_budget_is_unknown_not_no_witness():
    check_witness_search_out_of_budget_is_unknown()


def test_a_complete_witness_search_without_a_witness_says_none_is_reachable():
    system, r = memcg(2)
    # a target no reachable state satisfies: every CPU holds IRQs off and the writer is done
    F = system.families
    t = model.Property("never", "sometimes", And(Forall(X, Read(F["irqs_off"], X) == 1),
                                                 Read(F["writer_pc"], 0) == system.writer_end[0],
                                                 Read(F["visible"], 0) == 0), "never")
    ws = bmc.witness(system, [t], max_depth=3, complete=True)
    assert ws.prop("never").holds is False and ws.verdict == Verdict.SAFE
    ws = bmc.witness(system, [t], max_depth=3, complete=False)
    assert ws.prop("never").holds is None and "no bound known" in ws.reason


# ---------------------------------------------------------------------------
# 7. prove reports each engine's own result


def check_prove_failed_names_a_real_trace_and_proof_engines_stay_unknown() -> None:
    o = runner.prove_spec(spec.load(SPECS / "memcg-never-2cpu.toml"), runner.RunOptions())
    assert o.status == "FAILED" and o.matches
    by = {r.engine: r for r in o.results}
    for name in ("param", "induction"):
        r = by[name]
        assert r.verdict == Verdict.UNKNOWN, f"{name}'s UNKNOWN was relabelled {r.verdict.value}"
        assert "backed_by" not in r.extra and not r.violated
        assert "no invariant in the candidate language" in r.reason
    assert "explicit: 19 steps" in o.why and "bmc: 19 steps" in o.why


def test_prove_failed_comes_from_named_traces_and_proof_engines_say_no_invariant():
    check_prove_failed_names_a_real_trace_and_proof_engines_stay_unknown()
