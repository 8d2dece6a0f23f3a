"""Weak memory (memory = "sc" | "tso" | "relaxed", docs/memory.md): store buffers and barriers as steps."""

from __future__ import annotations

import pytest

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.results import Verdict
from slabproof.run import runner

from .conftest import SPECS
from .replay import replay

KERNEL_TUNE = list(model.DEFAULT_TUNE)
KERNEL_CREATE = list(model.DEFAULT_CREATE)


def load(name: str, memory: str | None = None) -> spec.Spec:
    s = spec.load(SPECS / f"{name}.toml")
    return s.with_memory(memory) if memory else s


def explore(s: spec.Spec):
    r = checker.explore(model.build(s))
    assert r.complete
    return r


def with_steps(s: spec.Spec, **steps) -> spec.Spec:
    from dataclasses import replace

    return replace(s, **steps)


def test_sc_drops_the_barriers_so_state_counts_stay() -> None:
    s = load("memcg-if-prev-2cpu")
    assert "smp_mb" in s.tune_steps and "smp_wmb" in s.create_steps
    system = model.build(s)
    assert not any(a.step in model.BARRIER_STEPS or a.actor == "flush" for a in system.actions)
    assert "sb_pending" not in system.families
    assert explore(s).states == 984  # tests/test_specs.py pins the same


@pytest.mark.parametrize("memory", ["sc", "tso"])
@pytest.mark.parametrize("name", ["cache-if-prev-2cpu", "memcg-if-prev-2cpu", "memcg-always-2cpu"])
def test_kernel_order_safe_under_sc_and_tso(name: str, memory: str) -> None:
    r = explore(load(name, memory))
    assert r.verdict == Verdict.SAFE
    assert "reader_holds_prev_at_publish" in r.witnessed


def test_tso_adds_store_buffer_states() -> None:
    assert explore(load("cache-if-prev-2cpu", "tso")).states > explore(load("cache-if-prev-2cpu")).states


def test_kick_without_smp_mb_fails_only_under_tso() -> None:
    s = load("whatif-tso-kick-without-smp-mb")
    assert set(explore(s).violated) == {"no_use_after_free", "no_access_after_drain"}
    assert explore(s.with_memory("sc")).verdict == Verdict.SAFE
    # put the barrier back: safe under tso again
    fixed = with_steps(s, tune_steps=tuple(KERNEL_TUNE))
    assert explore(fixed).verdict == Verdict.SAFE


def test_memcg_publish_without_smp_wmb_fails_only_under_relaxed() -> None:
    s = load("whatif-relaxed-memcg-publish-without-smp-wmb")
    r = explore(s)
    assert "no_null_cpu_cache" in r.violated
    tr = r.prop("no_null_cpu_cache").trace
    steps = [st.step for st in tr.steps]
    # the child became visible before its cpu_cache pointer did: a flush of the publish, then the reader
    assert steps.index("publish_cache") < steps.index("cpu_cache_get")
    assert explore(s.with_memory("tso")).verdict == Verdict.SAFE
    assert explore(s.with_memory("sc")).verdict == Verdict.SAFE
    assert explore(with_steps(s, create_steps=tuple(KERNEL_CREATE))).verdict == Verdict.SAFE


def test_relaxed_tune_needs_a_wmb_before_the_publish() -> None:
    """The finding of docs/memory.md: v4.11's __do_tune_cpucache() publishes without a write barrier."""
    r = explore(load("memory-relaxed-tune-2cpu"))
    assert r.violated == ("no_use_after_free",)
    note = next(st.note for st in r.prop("no_use_after_free").trace.steps if st.violating)
    assert "initialization is not yet visible" in note
    assert explore(load("memory-relaxed-tune-with-wmb-2cpu")).verdict == Verdict.SAFE


@pytest.mark.parametrize("name", ["whatif-tso-kick-without-smp-mb", "whatif-relaxed-memcg-publish-without-smp-wmb",
                                  "memory-relaxed-tune-2cpu"])
def test_weak_memory_counterexamples_replay(name: str) -> None:
    s = load(name)
    system = model.build(s)
    r = explore(s)
    for p in r.violated:
        comp, states = replay(system, r.prop(p).trace)
        assert states


def test_memory_key_and_option_validated(tmp_path) -> None:
    text = (SPECS / "cache-if-prev-2cpu.toml").read_text().replace('ipi = "if-prev"', 'ipi = "if-prev"\nmemory = "arm"')
    with pytest.raises(spec.SpecError, match="memory: unknown memory model 'arm'"):
        spec.loads(text, "x.toml")
    with pytest.raises(spec.SpecError, match="--memory"):
        load("cache-if-prev-2cpu").with_memory("pso")


def test_z3_engines_say_not_supported_never_a_verdict() -> None:
    s = load("whatif-tso-kick-without-smp-mb")
    out = runner.run_spec(s, runner.RunOptions(engines=("explicit", "bmc", "induction")))
    z3 = [r for r in out.results if r.engine != "explicit"]
    assert all(r.verdict == Verdict.UNKNOWN and r.reason.startswith("not supported") for r in z3)
    assert all(p.holds is None for r in z3 for p in r.properties)
    assert out.matches  # the explicit engine decided every property
    only_z3 = runner.run_spec(s, runner.RunOptions(engines=("bmc",)))
    assert not only_z3.matches


def test_prove_refuses_weak_memory() -> None:
    o = runner.prove_spec(load("memory-tso-memcg-if-prev-2cpu"), runner.RunOptions())
    assert o.status == "UNKNOWN" and "not supported" in o.why


def test_cli_memory_override(capsys) -> None:
    from slabproof import cli

    rc = cli.main(["check", "--engine", "explicit", "--memory", "tso", str(SPECS / "whatif-tso-kick-without-smp-mb.toml")])
    assert rc == 0
    rc = cli.main(["check", "--engine", "explicit", "--memory", "sc", str(SPECS / "whatif-tso-kick-without-smp-mb.toml")])
    assert rc == 1  # under sc the what-if is safe: its expectation (violated) fails
