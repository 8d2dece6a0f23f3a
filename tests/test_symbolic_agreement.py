"""All engines agree on every shipped spec, through the runner, as `check` runs them.

The explicit engine, the fixed-N induction engine and the any-N engine run on
every shipped spec at its own size; BMC joins them on every spec where a
safety property is violated and on the 2-CPU safe specs, where it reaches the
explorer's depth quickly (its SAFE needs that bound). No pair of engines may
disagree on a property and every spec must match its expectation. No engine
may be UNKNOWN, except the proof engines on a spec whose safety is broken:
there they find no invariant, and stay UNKNOWN (nobody relabels them with
BMC's counterexample), deciding no broken property. BMC's counterexamples
are exactly as long as the explorer's shortest ones and replay step by step
in the explicit model.
"""

from __future__ import annotations

import pytest

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.results import Verdict
from slabproof.run import runner

from .conftest import shipped
from .replay import holds, replay

BUILTIN_SAFETY = {"no_use_after_free", "no_access_after_drain", "no_null_cpu_cache", "fresh_unreachable"}


def _safety(s: spec.Spec) -> set[str]:
    """The spec's safety properties: the model's, and its own `always` [[property]] tables."""
    return BUILTIN_SAFETY | {p.name for p in s.properties if p.kind == "always"}


def _case(path) -> tuple[spec.Spec, tuple[str, ...]]:
    s = spec.load(path)
    safety = _safety(s)
    broken = s.expect.verdict == "violated" and bool(set(s.expect.violates or safety) & safety)
    engines = ("explicit", "induction", "param")
    if broken or s.cpus == 2:
        engines += ("bmc",)
    return s, engines


@pytest.mark.parametrize("path", shipped(), ids=[p.stem for p in shipped()])
def test_all_engines_agree_and_match_the_expectation(path):
    s, engines = _case(path)
    # a generous time limit: the verdicts must not depend on the machine's speed
    o = runner.run_spec(s, runner.RunOptions(engines=engines, limits=checker.Limits(timeout=600)))
    assert not o.disagreement, o.disagreement
    assert o.matches, o.mismatch
    by = {r.engine: r for r in o.results}
    explicit = by["explicit"]
    safety = _safety(s)
    safety_broken = set(explicit.violated) & safety
    for r in o.results:
        if r.engine in ("induction", "param") and safety_broken:
            assert r.verdict == Verdict.UNKNOWN and not r.violated, r.engine  # a proof engine only proves
            assert all(r.prop(p).holds is None for p in safety_broken), r.engine
        else:
            assert r.verdict != Verdict.UNKNOWN, f"{r.engine}: {r.reason}"
    for name in ("induction", "param", "bmc"):
        if name not in by:
            continue
        r = by[name]
        if name == "bmc":
            assert (r.verdict == Verdict.VIOLATED) == bool(safety_broken), name
        else:
            assert (r.verdict == Verdict.SAFE) == (not safety_broken), name
        for p in safety:  # property by property, where both decide
            if r.prop(p).holds is not None:
                assert r.prop(p).holds == explicit.prop(p).holds, (name, p)
    if not safety_broken:  # the proofs hold for every number of CPUs and for this one
        assert by["param"].extra["scope"] == "any number of CPUs"
        assert all(by["param"].prop(p).holds for p in safety)
    if "bmc" in by and safety_broken:
        system = model.build(s)
        b = by["bmc"]
        first = min(explicit.prop(p).trace.length for p in safety_broken)
        assert min(b.prop(p).trace.length for p in b.violated) == first  # BMC's shortest = BFS's shortest
        for p in b.violated:
            tr = b.prop(p).trace
            assert tr.length == explicit.prop(p).trace.length, p
            comp, states = replay(system, tr)  # every step is a step of checker.Compiled.succ
            end = states[-2] if tr.steps and tr.steps[-1].violating else states[-1]
            assert not holds(comp, system, p, end)
