"""Liveness under fairness (slabproof/fairness.py, docs/liveness.md): every wait of a writer ends.

Each violation must be a real lasso: every step a successor of the state
before it, the cycle returning to where it started, and the cycle fair
(checked here independently of the search, from the steps and the model's
successor function).
"""

from __future__ import annotations

import pytest

from slabproof import checker, fairness, model
from slabproof.lang import spec
from slabproof.model import FAIRNESS
from slabproof.results import Trace

from .conftest import SPECS

KERNEL_2CPU = """
description = "fairness test"
cpus = 2
ipi = "if-prev"
{knobs}
[[cache]]
name = "dentry"

[[writer]]
cpu = 0
script = ["create dentry", "tune dentry", "tune dentry"]

[steps]
reader = {reader}

[expect]
verdict = "safe"
"""


def system_of(reader: list[str] | None = None, knobs: str = "", cpus: int = 2) -> model.System:
    r = reader or ["local_irq_save", "cpu_cache_get", "ac_access", "local_irq_restore"]
    text = KERNEL_2CPU.format(reader=repr(r).replace("'", '"'), knobs=knobs).replace("cpus = 2", f"cpus = {cpus}")
    return model.build(spec.loads(text, "<fairness test>"))


def fair_result(system: model.System, symmetry: bool = True):
    r = checker.explore(system, symmetry=symmetry)
    assert r.complete
    return r, r.prop(FAIRNESS)


def check_lasso(system: model.System, trace: Trace) -> None:
    """The trace is a path of the unreduced system whose cycle repeats and is fair (an independent check)."""
    comp = checker.Compiled(system, symmetry=False)
    cons = fairness.constraints(comp)
    cur = comp.init
    states = [cur]
    ids: list[int] = []
    for st in trace.steps:
        for iid, nxt in comp.succ(cur):
            if comp.readable(nxt) == st.state and comp.instances[iid].actor == st.actor \
                    and comp.action(iid).step == st.step:
                ids.append(iid)
                cur = nxt
                break
        else:
            pytest.fail(f"step {st.index} ({st.actor} {st.step}) is not a successor")
        states.append(cur)
    assert trace.loop_start is not None
    k = trace.loop_start
    assert fairness.waiting(comp, states[k]), "the cycle starts where no writer waits"
    cycle_states = states[k:]
    assert all(fairness.waiting(comp, s) for s in cycle_states)
    if k == len(trace.steps):  # an empty cycle: nobody bound by fairness may step in the last state
        assert not any(iid in cons for iid, _ in comp.succ(states[-1]))
        return
    assert states[-1] == states[k], "the cycle does not return to its start"
    taken = {cons[i][0] for i in ids[k:] if i in cons}
    mslot = comp.layout.slot[("slab_mutex", None)]
    for s in cycle_states[:-1]:
        enabled = {cons[i][0] for i, _ in comp.succ(s) if i in cons}
        enabled |= {f"writer{w}" for w, step in fairness.waiting(comp, s) if step == "mutex_lock" and s[mslot] == 0}
        for actor in enabled - taken:
            kind = next(kd for a, kd in cons.values() if a == actor)
            assert kind == fairness.WEAK, f"{actor} (strongly fair) is enabled in the cycle but never steps"
    for actor, kind in set(cons.values()):
        if kind == fairness.WEAK and actor not in taken:
            assert any(actor not in {cons[i][0] for i, _ in comp.succ(s) if i in cons} for s in cycle_states), \
                f"{actor} (weakly fair) is enabled all along the cycle but never steps"


def test_kernel_order_holds_under_fairness_and_says_what_it_assumes() -> None:
    r, p = fair_result(system_of())
    assert p.holds is True
    note = r.extra["fairness"]
    assert "strong fairness for the IPI handler" in note["assumption"]
    # the assumption is visible: without fairness the writer can starve
    assert note["without_fairness"].startswith("an unfair cycle exists")


@pytest.mark.parametrize("name", ["cache-if-prev-2cpu", "memcg-if-prev-2cpu", "cache-always-3cpu",
                                  "two-writers-mutex-3cpu", "reapers-if-prev-3cpu"])
def test_shipped_safe_specs_hold_under_fairness(name: str) -> None:
    _, p = fair_result(model.build(spec.load(SPECS / f"{name}.toml")))
    assert p.holds is True


@pytest.mark.parametrize("loop_at, violated", [(1, True), (2, True), (3, True), (4, True)])
def test_a_section_that_may_never_end_starves_the_writer(loop_at: int, violated: bool) -> None:
    """A loop going back from position `loop_at`: with IRQs off all along it the IPI waits forever;
    at 4 (IRQs on, the loop after local_irq_restore) the IPI is answered, but a section on the writer's
    own CPU that never ends keeps the writer from stepping at all."""
    reader = ["local_irq_save", "cpu_cache_get", "ac_access", "local_irq_restore"]
    reader.insert(loop_at, "loop")
    system = system_of(reader)
    r, p = fair_result(system)
    assert p.holds is (not violated)
    assert r.prop("writer_terminates").holds is True  # the loop can always be left: no deadlock
    if violated:
        check_lasso(system, p.trace)
        cycle = {s.actor for s in p.trace.steps[p.trace.loop_start:]}
        if loop_at == 4:
            assert "cpu0" in cycle, cycle


def test_shipped_liveness_what_ifs_are_lassos() -> None:
    for name in ("whatif-reader-section-loops", "whatif-ipi-handled-only-with-irqs-off",
                 "whatif-reader-takes-mutex-irqs-off"):
        system = model.build(spec.load(SPECS / f"{name}.toml"))
        _, p = fair_result(system)
        assert p.holds is False, name
        check_lasso(system, p.trace)


def test_the_loop_lasso_has_a_real_cycle() -> None:
    system = model.build(spec.load(SPECS / "whatif-reader-section-loops.toml"))
    _, p = fair_result(system)
    assert p.trace.loop_start < len(p.trace.steps)
    assert "loop" in [s.step for s in p.trace.steps[p.trace.loop_start:]]


def test_symmetry_does_not_change_the_verdict() -> None:
    for reader in (None, ["local_irq_save", "cpu_cache_get", "ac_access", "loop", "local_irq_restore"]):
        a = fair_result(system_of(reader, cpus=3), symmetry=True)[1]
        b = fair_result(system_of(reader, cpus=3), symmetry=False)[1]
        assert a.holds == b.holds
        if a.trace is not None:
            check_lasso(system_of(reader, cpus=3), a.trace)


def test_a_state_limit_leaves_fairness_undecided() -> None:
    system = system_of(cpus=3)  # symmetry on: a second, unreduced search that a tight limit cuts
    full = checker.explore(system)
    r = checker.explore(system, limits=checker.Limits(max_states=full.states + 1))
    assert r.complete
    assert r.prop(FAIRNESS).holds is None
    assert "state limit" in r.extra["fairness"]["undecided"]


def test_a_loop_first_spins_outside_the_section() -> None:
    """First in the order, the loop goes back to itself: a CPU spinning outside any section starves nobody."""
    _, p = fair_result(system_of(["loop", "local_irq_save", "cpu_cache_get", "ac_access", "local_irq_restore"]))
    assert p.holds is True


def test_z3_engines_leave_fairness_undecided() -> None:
    from slabproof.z3 import bmc

    system = system_of()
    r = bmc.run(system, max_depth=4) if hasattr(bmc, "run") else None
    if r is None:
        pytest.skip("bmc has no run()")
    assert r.prop(FAIRNESS).holds is None
    assert FAIRNESS in r.extra["not_applicable"]


# A graph where the first SCC fails a strong condition and a smaller one inside it is fair:
# 0 -a-> 0, 0 -a-> 1, 1 -a-> 0, 1 -s-> 2 (2 outside the region); `s` is strongly fair.
REFINE_GRAPH = fairness.Graph(states=[(0,), (1,), (2,)], out=[[(0, 0), (0, 1)], [(0, 0), (1, 2)], []],
                              parent=[-1, 0, 1], parent_step=[-1, 0, 1])
REFINE_CONS = {0: ("a", fairness.WEAK), 1: ("s", fairness.STRONG)}


def test_a_strong_condition_refines_the_component() -> None:
    found = fairness._fair_scc(REFINE_GRAPH, {0, 1}, REFINE_CONS, True)
    assert found == ([0], {0})  # {0, 1} is unfair (s enabled at 1, never taken); {0} with its self-loop is fair
    steps, start = fairness.lasso(REFINE_GRAPH, REFINE_CONS, found, True)
    assert (steps, start) == ([(0, 0)], 0)
