"""`reader_holds_prev_at_publish` is witnessed only by states from which the publish really happens.

The witness says the IPI on replacement has something to wait for: at the
moment a tune publishes its new array cache, a reader on another CPU still
holds the one being replaced. A state counts only when the publish step is
enabled there (its whole guard: the writer's CPU is outside a reader section)
and the holder is not the CPU the publish runs on. With one CPU no such state
exists, which is also what the lemma `kick_with_prev_can_matter` says there.
"""

from __future__ import annotations

import pytest

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.lang.expr import Layout, compile_guard
from slabproof.z3 import bmc, induction

from .conftest import SPECS

WITNESS = "reader_holds_prev_at_publish"
SMALL = ("cache-if-prev-2cpu", "memcg-if-prev-2cpu", "memcg-never-2cpu", "two-writers-mutex-3cpu")


def vacuous_witness_states(system: model.System) -> list[tuple[int, ...]]:
    """Reachable states where the witness holds but no enabled tune publish replaces an array cache that
    a reader on another CPU holds (checked on the successors, independently of the property's formula)."""
    r = checker.explore(system, keep_states=True, symmetry=False)
    assert r.complete
    comp = checker.Compiled(system, symmetry=False)
    layout: Layout = comp.layout
    fn = eval(f"lambda s: {compile_guard(system.property(WITNESS).expr, layout, None, system.writer_cpus)}",
              {"__builtins__": {"int": int}})
    bad = []
    for s in r.extra["states"]:
        if not fn(s):
            continue
        real = False
        for iid, _ in comp.succ(s):
            act = comp.action(iid)
            if act.step != "publish_cpu_cache" or act.skipped or system.ops[act.op].kind != "tune":
                continue
            cache = system.ops[act.op].cache
            old = s[layout.slot[("cpu_cache", cache)]]
            wcpu = _cpu_of(system, act)
            holders = [c for c in range(system.ncpus) if c != wcpu and s[layout.slot[("ac", c)]] == old]
            if old >= model.AC_BASE and holders:  # an enabled publish (a successor) replacing a held cache
                real = True
        if not real:
            bad.append(s)
    return bad


def _cpu_of(system: model.System, act: model.Action) -> int:
    """The CPU a writer step runs on, read from its text (`[on cpuN]` when migrating) or the spec."""
    if "[on cpu" in act.text:
        return int(act.text.rsplit("[on cpu", 1)[1].rstrip("]"))
    return system.writer_cpus[act.writer]  # type: ignore[index]


def one_cpu_witness(name: str) -> bool | None:
    system = model.build(spec.load(str(SPECS / f"{name}.toml")).with_cpus(1))
    return checker.explore(system).prop(WITNESS).holds


@pytest.mark.parametrize("name", ["cache-if-prev-2cpu", "memcg-if-prev-2cpu", "memcg-always-2cpu"])
def test_no_witness_with_one_cpu(name):
    """Regression (issue 8 item 4): with one CPU the only reader is the writer's own CPU, which blocks the publish."""
    assert one_cpu_witness(name) is False


def test_bmc_agrees_no_witness_with_one_cpu():
    system = model.build(spec.load(str(SPECS / "cache-if-prev-2cpu.toml")).with_cpus(1))
    ex = checker.explore(system)
    b = bmc.run(system, complete_depth=ex.depth)
    assert b.complete and b.prop(WITNESS).holds is False


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("cpus", [1, 2])
def test_every_witness_state_has_a_real_publish(name, cpus):
    s = spec.load(str(SPECS / f"{name}.toml"))
    if cpus < s.cpus and any(w.cpu >= cpus for w in s.writers):
        pytest.skip("the writers need more CPUs")
    assert vacuous_witness_states(model.build(s.with_cpus(cpus))) == []


def test_migrating_writer_witness_is_real():
    s = spec.load(str(SPECS / "mutants" / "eq-writer-migrates.toml")).with_cpus(2)
    assert vacuous_witness_states(model.build(s)) == []


@pytest.mark.parametrize("cpus, witnessed", [(1, False), (2, True)])
def test_witness_agrees_with_the_lemma(cpus, witnessed):
    """`kick_with_prev_can_matter` (sat: a CPU can hold prev at the kick) and the witness say the same."""
    system = model.build(spec.load(str(SPECS / "cache-if-prev-2cpu.toml")).with_cpus(cpus))
    ex = checker.explore(system, keep_states=True)
    ind = induction.run(system, ex.extra["states"], ex.extra["slots"], rlimit=2_000_000_000, minimize=False)
    lem = {x["name"]: x for x in ind.extra["lemmas"]}["kick_with_prev_can_matter"]
    assert (lem["answer"] == "sat") is witnessed
    assert ex.prop(WITNESS).holds is witnessed
