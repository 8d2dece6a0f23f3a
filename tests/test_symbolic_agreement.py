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

On a weak-memory spec (`memory = "tso"` or `"relaxed"`) the Z3 encodings are
sequentially consistent, so BMC, induction and param must each declare
themselves not applicable (UNKNOWN, "not supported: memory model ...", every
property undecided: docs/memory.md) and the explicit engine alone decides;
on an `sc` spec no engine may declare that.
"""

from __future__ import annotations

import pytest

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.results import EngineResult, Verdict
from slabproof.run import runner

from .conftest import shipped
from .replay import holds, replay

BUILTIN_SAFETY = {"no_use_after_free", "no_access_after_drain", "no_null_cpu_cache", "fresh_unreachable"}


def _safety(s: spec.Spec) -> set[str]:
    """The spec's safety properties: the model's, and its own `always` [[property]] tables."""
    return BUILTIN_SAFETY | {p.name for p in s.properties if p.kind == "always"}


def _declared_not_supported(s: spec.Spec, r: EngineResult) -> bool:
    """`r` is the engine's own declaration that it cannot encode `s`'s memory model: UNKNOWN, the
    runner's "not supported: memory model 'MODE'" reason, incomplete, and no property decided."""
    return (r.verdict == Verdict.UNKNOWN
            and r.reason.startswith(f"not supported: memory model {s.memory!r}")
            and not r.complete
            and all(p.holds is None for p in r.properties))


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
    explicit = next(r for r in o.results if r.engine == "explicit")
    assert sorted(r.engine for r in o.results) == sorted(engines)
    if s.memory == "sc":  # here every engine applies: none may bow out
        assert not [r.engine for r in o.results if r.reason.startswith("not supported")], s.name
    else:  # the Z3 encodings are SC: each must say so, never answer for this model
        for r in o.results:
            if r.engine != "explicit":
                assert _declared_not_supported(s, r), f"{r.engine} on memory={s.memory!r}: {r.verdict} {r.reason}"
    applicable = [r for r in o.results if r.engine == "explicit" or s.memory == "sc"]
    by = {r.engine: r for r in applicable}
    safety = _safety(s)
    safety_broken = set(explicit.violated) & safety
    for r in applicable:
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
    if not safety_broken and "param" in by:  # the proofs hold for every number of CPUs and for this one
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
