"""A counterexample counts whichever engine found it -- and only if it replays in the explicit model.

The explorer is cut short (a state limit) before any violation; a BMC-like result carries the
explorer's own counterexample (taken from an unbounded run), which replays; a forged copy of it (one
state changed) does not. Planted bugs put the old behaviour back (no replay) and the checks catch it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from slabproof import checker, cli, model
from slabproof.lang import spec
from slabproof.results import Decision, EngineResult, Status, Verdict
from slabproof.run import runner

from .conftest import ROOT

SPEC = ROOT / "specs" / "memcg-never-2cpu.toml"


def _setup() -> tuple[spec.Spec, EngineResult, EngineResult]:
    s = spec.load(SPEC)
    system = model.build(s)
    full = checker.explore(system)
    cut = checker.explore(system, limits=checker.Limits(max_states=20))
    assert not cut.complete and not cut.violated  # the explorer alone decides nothing here
    other = replace(full, engine="bmc", complete=False, verdict=Verdict.VIOLATED)
    return s, cut, other


def _forged(r: EngineResult) -> EngineResult:
    props = []
    for p in r.properties:
        if p.trace is not None and p.kind == "always":
            st = p.trace.steps[2]
            bad = replace(st, state={**st.state, next(iter(st.state)): "?"})
            p = replace(p, trace=replace(p.trace, steps=p.trace.steps[:2] + (bad,) + p.trace.steps[3:]))
        props.append(p)
    return replace(r, properties=tuple(props))


def check_replayed_trace_decides(s: spec.Spec, cut: EngineResult, other: EngineResult) -> None:
    o = runner.outcome(s, [cut, other])
    assert o.combined.verdict == Verdict.VIOLATED and o.status == Status.MATCH
    p = o.combined.prop("no_access_after_drain")
    assert p.decision == Decision.VIOLATED and any(e.engine == "bmc" and e.replayed for e in p.by)


def check_forged_trace_does_not(s: spec.Spec, cut: EngineResult, other: EngineResult) -> None:
    o = runner.outcome(s, [cut, _forged(other)])
    assert o.combined.verdict != Verdict.VIOLATED, o.combined
    assert o.status != Status.MATCH and runner.exit_status([o]) != runner.EXIT_OK
    assert "does not replay" in o.mismatch


def test_a_replayed_counterexample_of_another_engine_decides_the_spec():
    check_replayed_trace_decides(*_setup())


def test_a_forged_counterexample_does_not_make_the_spec_violated():
    check_forged_trace_does_not(*_setup())


def test_a_forged_counterexample_beside_a_holds_is_a_disagreement():
    s, cut, other = _setup()
    full = checker.explore(model.build(s))
    safe = replace(full, properties=tuple(replace(p, holds=True, trace=None) if p.kind == "always" else p
                                          for p in full.properties))
    o = runner.outcome(s, [safe, _forged(other)])
    assert o.status == Status.DISAGREE


def test_planted_no_replay(monkeypatch):
    """The old behaviour: any engine's trace counted, replayed or not."""
    monkeypatch.setattr(runner, "replays", lambda system, trace, comp=None: "")
    with pytest.raises(AssertionError):
        check_forged_trace_does_not(*_setup())


def test_planted_replay_that_only_checks_the_path(monkeypatch):
    """A replay that never looks at the last state: a trace cut before the violation would count."""
    s, cut, other = _setup()
    cut_short = replace(other, properties=tuple(
        replace(p, trace=replace(p.trace, steps=p.trace.steps[:3])) if p.trace is not None and p.kind == "always"
        else p for p in other.properties))
    o = runner.outcome(s, [cut, cut_short])
    assert o.combined.verdict != Verdict.VIOLATED  # the real replay: its last state breaks nothing
    real = runner.replays

    def path_only(system, trace, comp=None):
        why = real(system, trace, comp)
        return "" if why.startswith("its last state") else why

    monkeypatch.setattr(runner, "replays", path_only)
    assert runner.outcome(s, [cut, cut_short]).combined.verdict == Verdict.VIOLATED  # the planted bug shows


def test_the_cli_prints_the_counterexample_another_engine_found(monkeypatch, capsys):
    s, cut, other = _setup()
    monkeypatch.setattr(runner, "run_spec", lambda sp, opts: runner.outcome(sp, [cut, other]))
    assert cli.main(["check", "--engine", "explicit,bmc", str(SPEC)]) == 0
    out = capsys.readouterr().out
    assert "counterexample found by bmc, replayed in the explicit model" in " ".join(out.split())
    assert "(found by bmc)" in out and "is violated" in out
