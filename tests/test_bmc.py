"""Bounded model checking: shortest counterexamples that replay in the explicit model.

(BMC on every shipped spec that is violated -- lengths and replay -- is in
test_symbolic_agreement.py.)"""

from __future__ import annotations

from functools import lru_cache

from hypothesis import HealthCheck, given, settings, strategies as st

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.report import text as report
from slabproof.results import Verdict
from slabproof.z3 import bmc

from .conftest import SPECS, explored
from .replay import replay


@lru_cache(maxsize=None)
def bmc_of(name: str, complete: bool = False):
    system, r = explored(str(SPECS / f"{name}.toml"))
    return system, r, bmc.run(system, complete_depth=r.depth if complete else None)


def test_bmc_finds_the_never_memcg_counterexample_for_3_cpus():
    system, r, b = bmc_of("memcg-never-3cpu")
    assert b.verdict == Verdict.VIOLATED
    assert b.prop("no_access_after_drain").trace.length == r.prop("no_access_after_drain").trace.length == 19
    assert b.prop("no_use_after_free").trace.length == r.prop("no_use_after_free").trace.length == 20
    assert b.prop("writer_terminates").holds is None
    assert "writer_terminates" in b.extra["not_applicable"]


def test_bmc_traces_have_the_explorers_form_and_render_alike():
    system, r, b = bmc_of("memcg-never-3cpu")
    mine, theirs = b.prop("no_use_after_free").trace, r.prop("no_use_after_free").trace
    assert mine.initial == theirs.initial
    assert [type(s) for s in mine.steps] == [type(s) for s in theirs.steps]
    assert mine.steps[-1].violating and theirs.steps[-1].violating
    assert mine.conclusion.endswith("no_use_after_free is violated")
    lanes = report.lanes_for(b, len(system.spec.writers))
    assert report.trace_table(mine, lanes).row_count == len(mine.steps)
    # the kick names its targets like the explorer's steps do
    kicks = [s for s in mine.steps if s.step == "smp_call_function" and not s.skipped]
    assert all(s.ipis_sent == len(s.ipi_targets) for s in kicks)


def test_bmc_witness_is_as_short_as_the_explorers():
    system, r, b = bmc_of("memcg-never-3cpu")
    w = b.prop("reader_holds_prev_at_publish")
    assert w.holds and w.trace.kind == "witness"
    assert w.trace.length == r.prop("reader_holds_prev_at_publish").trace.length
    replay(system, w.trace)


def test_bmc_says_safe_only_with_a_bound_that_covers_every_reachable_state():
    system, r, complete = bmc_of("cache-if-prev-2cpu", True)
    assert complete.verdict == Verdict.SAFE and complete.depth == r.depth
    assert complete.prop("reader_holds_prev_at_publish").holds
    bounded = bmc.run(system, max_depth=8)
    assert bounded.verdict == Verdict.UNKNOWN and "no violation within 8 steps" in bounded.reason
    assert all(p.holds is None for p in bounded.properties if p.kind == "always")


def test_a_time_limit_gives_unknown_never_safe():
    system, r = explored(str(SPECS / "memcg-if-prev-3cpu.toml"))
    b = bmc.run(system, complete_depth=r.depth, timeout=0.05)
    assert b.verdict == Verdict.UNKNOWN
    assert "time" in b.reason or "canceled" in b.reason or "timeout" in b.reason


# ---------------------------------------------------------------------------
# generated variations of the memcg scenario: BMC and breadth-first search agree on the shortest violations

TUNE = list(model.DEFAULT_TUNE)


@st.composite
def variations(draw) -> spec.Spec:
    base = spec.load(SPECS / "memcg-if-prev-2cpu.toml")
    ipi = draw(st.sampled_from(spec.IPI_CONDITIONS))
    tune = list(TUNE)
    i, j = draw(st.integers(1, len(tune) - 2)), draw(st.integers(1, len(tune) - 2))
    tune[i], tune[j] = tune[j], tune[i]  # one swap of two steps between the lock and the unlock
    reader = draw(st.sampled_from([list(model.DEFAULT_READER),
                                   ["local_irq_save", "cpu_cache_get", "local_irq_restore", "ac_access"]]))
    from dataclasses import replace

    return replace(base, ipi=ipi, tune_steps=tuple(tune), reader_steps=tuple(reader), name="variation")


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variations())
def test_bmc_and_the_explorer_agree_on_generated_variations(s):
    system = model.build(s)
    r = checker.explore(system)
    b = bmc.run(system, max_depth=max(p.trace.length for p in r.properties if p.trace) if r.violated else 12)
    if r.violated and set(r.violated) != {"writer_terminates"}:
        assert b.verdict == Verdict.VIOLATED
        for p in b.violated:
            assert b.prop(p).trace.length == r.prop(p).trace.length
            replay(system, b.prop(p).trace)
    else:
        assert b.verdict != Verdict.VIOLATED
