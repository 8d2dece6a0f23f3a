"""The shipped specs: verdicts, pinned state counts, and counterexamples that replay."""

from __future__ import annotations

import pytest

from slabproof import model
from slabproof.lang import spec
from slabproof.results import Verdict
from slabproof.run import runner

from .conftest import SPECS, explored, shipped
from .replay import holds, replay

# Exact unique-state counts (CPU-symmetry reduced), transitions and depth of every
# shipped spec. A change here is a change of the model's semantics: justify it.
PINNED = {
    "cache-always-2cpu": (394, 866, 37),
    "cache-always-3cpu": (1259, 4056, 43),
    "cache-always-4cpu": (3500, 14947, 49),
    "cache-if-no-prev-2cpu": (498, 1100, 35),
    "cache-if-no-prev-3cpu": (1831, 5891, 39),
    "cache-if-no-prev-4cpu": (5308, 22403, 43),
    "cache-if-prev-2cpu": (393, 865, 36),
    "cache-if-prev-3cpu": (1257, 4053, 41),
    "cache-if-prev-4cpu": (3497, 14941, 46),
    "cache-never-2cpu": (497, 1099, 34),
    "cache-never-3cpu": (1829, 5888, 37),
    "cache-never-4cpu": (5305, 22397, 40),
    "memcg-always-2cpu": (1000, 2442, 37),
    "memcg-always-3cpu": (4172, 15009, 43),
    "memcg-always-4cpu": (14656, 69980, 49),
    "memcg-if-no-prev-2cpu": (1132, 2738, 35),
    "memcg-if-no-prev-3cpu": (5018, 17735, 39),
    "memcg-if-no-prev-4cpu": (17200, 79946, 43),
    "memcg-if-prev-2cpu": (984, 2406, 36),
    "memcg-if-prev-3cpu": (4068, 14661, 41),
    "memcg-if-prev-4cpu": (14256, 68200, 46),
    "memcg-never-2cpu": (1116, 2702, 34),
    "memcg-never-3cpu": (4914, 17387, 37),
    "memcg-never-4cpu": (16800, 78166, 40),
    "reapers-if-prev-3cpu": (9510, 38550, 44),
    "two-writers-mutex-3cpu": (4032, 13072, 31),
    "whatif-free-before-drain": (4068, 14661, 41),
    "whatif-irqs-on-between-load-and-use": (5154, 19113, 41),
    "whatif-kick-before-publish": (4730, 16941, 43),
    "whatif-memcg-visible-before-install": (5694, 20478, 41),
    "whatif-no-wait": (9906, 36574, 37),
    "whatif-reaper-without-trylock": (263592, 1112436, 44),
    "whatif-reader-takes-mutex-irqs-off": (961, 2510, 47),
    "whatif-deadlock-state-property": (961, 2510, 47),  # the same system, plus a user property
    "whatif-publish-before-alloc": (4248, 15285, 41),
    "whatif-two-writers-no-mutex": (31040, 106312, 26),
    "whatif-reader-section-loops": (619, 1592, 38),
    "whatif-ipi-handled-only-with-irqs-off": (553, 1259, 37),
    "memory-relaxed-memcg-create-2cpu": (712, 2206, 21),
    "memory-relaxed-tune-2cpu": (370, 904, 34),
    "memory-relaxed-tune-with-wmb-2cpu": (665, 1610, 50),
    "memory-tso-memcg-if-prev-2cpu": (1728, 4758, 47),
    "whatif-tso-kick-without-smp-mb": (511, 1337, 33),
    "whatif-relaxed-memcg-publish-without-smp-wmb": (792, 2558, 20),
}

SPEC_IDS = [p.stem for p in shipped()]


def test_every_shipped_spec_is_pinned():
    assert sorted(PINNED) == sorted(SPEC_IDS)


@pytest.mark.parametrize("name", SPEC_IDS)
def test_shipped_spec_matches_expectation_and_pinned_counts(name):
    path = str(SPECS / f"{name}.toml")
    system, r = explored(path)
    assert r.complete
    ok, why, _ = runner.compare(system.spec, [r])
    assert ok, why
    assert (r.states, r.transitions, r.depth) == PINNED[name]


@pytest.mark.parametrize("cond", ["always", "if-prev"])
@pytest.mark.parametrize("scenario", ["cache", "memcg"])
@pytest.mark.parametrize("cpus", [2, 3, 4])
def test_patched_and_prepatch_conditions_are_safe(cond, scenario, cpus):
    system, r = explored(str(SPECS / f"{scenario}-{cond}-{cpus}cpu.toml"))
    assert r.verdict == Verdict.SAFE
    assert r.prop("reader_holds_prev_at_publish").holds, "the safe verdict would be vacuous"
    assert r.prop("writer_terminates").holds


@pytest.mark.parametrize("cond", ["never", "if-no-prev"])
@pytest.mark.parametrize("scenario", ["cache", "memcg"])
def test_broken_conditions_are_violated_by_a_tune(cond, scenario):
    system, r = explored(str(SPECS / f"{scenario}-{cond}-3cpu.toml"))
    assert r.verdict == Verdict.VIOLATED
    tr = r.prop("no_use_after_free").trace
    # the reader that uses prev after the free holds an array cache a tune replaced
    published = [s for s in tr.steps if s.step == "publish_cpu_cache"]
    assert len(published) >= 2


def test_ipis_per_operation_are_n_minus_one_or_zero():
    for name in ("memcg-always-4cpu", "memcg-if-prev-4cpu", "memcg-never-4cpu", "memcg-if-no-prev-4cpu"):
        system, r = explored(str(SPECS / f"{name}.toml"))
        got = [(o.op, o.ipis) for o in r.ipis_per_op]
        cond = system.spec.ipi
        expect = []
        for op in ("create child", "tune root", "tune child"):
            kicks = {"always": True, "never": False, "if-prev": op.startswith("tune"),
                     "if-no-prev": op.startswith("create")}[cond]
            expect.append((op, 3 if kicks else 0))
        assert got == expect, name


def _violating_specs():
    out = []
    for p in shipped():
        s = spec.load(p)
        for prop in s.expect.violates or ():
            if prop not in model.LIVENESS_PROPERTIES:
                out.append((p.stem, prop))
    return out


@pytest.mark.parametrize("name", [p.stem for p in shipped()
                                  if model.FAIRNESS in (spec.load(p).expect.violates or ())])
def test_fairness_lasso_replays_and_is_fair(name):
    from .test_fairness import check_lasso

    system, r = explored(str(SPECS / f"{name}.toml"))
    check_lasso(system, r.prop(model.FAIRNESS).trace)


@pytest.mark.parametrize("name,prop", _violating_specs())
def test_counterexample_replays_to_the_violation(name, prop):
    system, r = explored(str(SPECS / f"{name}.toml"))
    tr = r.prop(prop).trace
    assert tr is not None and tr.kind == "counterexample"
    comp, states = replay(system, tr)
    steps = [s for s in tr.steps]
    if steps and steps[-1].violating:
        # the state before the culprit step violates the property; every earlier one satisfies it
        pre = states[-2]
        assert not holds(comp, system, prop, pre)
        assert all(holds(comp, system, prop, s) for s in states[:-2])
    else:
        assert not holds(comp, system, prop, states[-1])
        assert all(holds(comp, system, prop, s) for s in states[:-1])


@pytest.mark.parametrize("name", ["memcg-never-3cpu", "whatif-no-wait", "whatif-two-writers-no-mutex",
                                  "whatif-memcg-visible-before-install"])
def test_counterexamples_are_shortest_and_symmetry_preserves_verdicts(name):
    path = str(SPECS / f"{name}.toml")
    _, a = explored(path, True)
    _, b = explored(path, False)
    assert a.verdict == b.verdict
    assert a.violated == b.violated
    for p in a.properties:
        q = b.prop(p.name)
        assert p.holds == q.holds
        if p.trace:
            assert p.trace.length == q.trace.length
    assert b.states >= a.states


def test_each_property_is_caught_by_some_shipped_spec():
    caught = set()
    for p in shipped():
        _, r = explored(str(p))
        caught.update(r.violated)
    expected = {"no_use_after_free", "no_access_after_drain", "no_null_cpu_cache", "fresh_unreachable",
                "writer_terminates", "writer_waits_end_under_fairness"}
    assert expected <= caught


def test_a_wrong_expectation_is_reported_as_a_mismatch(tmp_path):
    text = (SPECS / "memcg-never-2cpu.toml").read_text().replace('verdict = "violated"', 'verdict = "safe"')
    text = text.replace('violates = ["no_use_after_free", "no_access_after_drain"]', "")
    f = tmp_path / "wrong.toml"
    f.write_text(text)
    s = spec.load(f)
    o = runner.run_spec(s, runner.RunOptions())
    assert not o.matches
    assert "violated" in o.mismatch
    assert runner.exit_status([o]) == runner.EXIT_MISMATCH


def test_model_steps_are_named_after_kernel_functions():
    s = spec.load(SPECS / "reapers-if-prev-3cpu.toml")
    system = model.build(s)
    for a in system.actions:
        assert a.function.endswith(")"), a
        assert a.text


def test_liveness_counterexample_ends_where_no_writer_can_finish():
    system, r = explored(str(SPECS / "whatif-reader-takes-mutex-irqs-off.toml"))
    p = r.prop("writer_terminates")
    assert p.holds is False and p.trace is not None
    comp, states = replay(system, p.trace)
    # an independent search from the trace's last state: no state where every writer is done
    seen = {states[-1]}
    todo = [states[-1]]
    while todo:
        s = todo.pop()
        assert not comp.done(s)
        for _, n in comp.succ(s):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    assert len(seen) > 1


def test_liveness_holds_where_the_writer_can_always_finish():
    for name in ("memcg-if-prev-3cpu", "whatif-no-wait", "whatif-two-writers-no-mutex"):
        _, r = explored(str(SPECS / f"{name}.toml"))
        assert r.prop("writer_terminates").holds is True, name
