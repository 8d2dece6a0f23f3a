"""`explain`: every claim is a live check on the model, its verdict comes from the engines, and it can fail."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache

import pytest

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.results import EngineResult, PropertyResult, Verdict
from slabproof.run import explain, runner

from .conftest import SPECS
from .replay import holds, replay
from .test_ipis import run

EXPLICIT = runner.RunOptions(engines=("explicit",))


@lru_cache(maxsize=None)
def explained(cpus: int = 3) -> explain.Explanation:
    return explain.explain(cpus, EXPLICIT)


def claim(x: explain.Explanation, key: str) -> explain.Claim:
    return next(c for c in x.claims if c.key == key)


def test_every_claim_is_confirmed_at_three_cpus():
    x = explained()
    assert [c.key for c in x.claims] == [c.key for c in explain.CLAIMS]
    assert x.verdict == explain.CONFIRMED
    for c in x.claims:
        assert c.verdict == explain.CONFIRMED, c.title
        assert c.checks and all(ch.status == "as predicted" for ch in c.checks), c.title
        assert all(f.engine == "explicit" for ch in c.checks for f in ch.findings)
    assert explain.exit_status(x) == runner.EXIT_OK


def test_the_configurations_are_the_shipped_specs_model():
    """The in-memory patched / never configurations explore exactly like the shipped spec files."""
    x = explained()
    states = {c.key: c.results[0]["states"] for c in x.configs}
    for key, path in (("patched", "memcg-if-prev-3cpu.toml"), ("never", "memcg-never-3cpu.toml"),
                      ("unpatched", "memcg-always-3cpu.toml"), ("patched-cache", "cache-if-prev-3cpu.toml"),
                      ("reapers", "reapers-if-prev-3cpu.toml"),
                      ("irqs-on-reader", "whatif-irqs-on-between-load-and-use.toml")):
        r = checker.explore(model.build(spec.load(SPECS / path)))
        assert states[key] == r.states, key


def test_claims_name_their_kernel_functions():
    x = explained()
    assert "slab_alloc()" in claim(x, "readers-irqs-off").functions
    assert "cache_reap()" in claim(x, "readers-irqs-off").functions
    assert "flush_smp_call_function_queue()" in claim(x, "ack-needs-irqs-on").functions
    assert "kick_all_cpus_sync()" in claim(x, "creation-kick-noop").functions
    assert "memcg_create_kmem_cache()" in claim(x, "creation-unreachable").functions
    for c in x.claims:
        assert c.functions and all(f.endswith("()") for f in c.functions)


def test_invariants_are_checked_on_every_reachable_state_and_formulas_are_shown():
    x = explained()
    ch = claim(x, "readers-irqs-off").checks[0]
    assert ch.kind == "always" and ch.expect == explain.HOLDS
    assert "irqs_off[x] == off" in ch.formula and "forall x." in ch.formula
    patched = next(c for c in x.configs if c.key == "patched").results[0]["states"]
    assert ch.findings[0].detail == f"on every one of {patched:,} reachable states"


def test_contrast_counterexamples_are_real_model_executions():
    """The what-if breaks claim 1's predicate, and the trace replays step by step in that model."""
    x = explained()
    ch = next(c for c in claim(x, "readers-irqs-off").checks if c.role == "contrast")
    assert ch.findings[0].outcome == explain.VIOLATED
    tr = ch.trace
    assert tr is not None and tr.kind == "counterexample"
    last = tr.steps[-1].state
    assert any(last[f"ac[cpu{c}]"] != "-" and last[f"irqs_off[cpu{c}]"] == "on" for c in range(3))
    cfg = next(c for c in explain.CONFIGS if c.key == "irqs-on-reader")
    system = model.build(explain.config_spec(cfg, 3))
    comp, states = replay(system, tr)
    assert len(states) == len(tr.steps) + 1


def test_the_breaking_interleaving_is_shown_and_touches_a_freed_array_cache():
    x = explained()
    ch = next(c for c in claim(x, "replacement-kick-needed").checks if c.show_trace)
    assert ch.config == "never" and ch.property == "no_use_after_free"
    tr = ch.trace
    assert tr is not None and tr.steps[-1].violating and "freed" in tr.steps[-1].note
    cfg = next(c for c in explain.CONFIGS if c.key == "never")
    system = model.build(explain.config_spec(cfg, 3))
    comp, states = replay(system, replace(tr, steps=tr.steps[:-1]))
    assert not holds(comp, system, "no_use_after_free", states[-1])


def test_creation_kick_fires_before_the_patch_and_never_after():
    x = explained()
    c = claim(x, "creation-kick-noop")
    by_config = {(ch.config, ch.expect): ch for ch in c.checks}
    assert by_config[("unpatched", explain.WITNESSED)].findings[0].outcome == explain.WITNESSED
    assert by_config[("patched", explain.NO_WITNESS)].findings[0].outcome == explain.NO_WITNESS
    cmp = by_config[("patched", explain.SAME)].findings[0]
    assert cmp.outcome == explain.SAME
    assert "create child: 2 -> 0" in cmp.detail and "tune root: 2 -> 2" in cmp.detail


def test_a_wrong_configuration_refutes_claims(monkeypatch):
    """Nothing is hard-coded: give the 'patched' configuration no IPI at all and the claims fail."""
    broken = tuple(replace(c, ipi="never") if c.key == "patched" else c for c in explain.CONFIGS)
    monkeypatch.setattr(explain, "CONFIGS", broken)
    x = explain.explain(2, EXPLICIT)
    assert x.verdict == explain.REFUTED
    assert explain.exit_status(x) == runner.EXIT_MISMATCH
    assert claim(x, "no-prev-after-acks").verdict == explain.REFUTED
    assert claim(x, "patched-safe").verdict == explain.REFUTED
    assert claim(x, "readers-irqs-off").verdict == explain.CONFIRMED  # untouched by the IPI condition


def test_undecided_explorations_make_claims_unknown():
    x = explain.explain(2, runner.RunOptions(engines=("explicit",), limits=checker.Limits(max_states=50)))
    assert x.verdict == explain.UNKNOWN
    assert explain.exit_status(x) == runner.EXIT_UNKNOWN


def _fake(verdict_of: str):
    """An engine that answers every property the same way (or raises), to exercise the registry path."""
    def engine(system: model.System, opts: runner.RunOptions, shared: dict) -> EngineResult:
        if verdict_of == "raise":
            raise RuntimeError("cannot handle this configuration")
        holds = {"unknown": None, "contrary": False}[verdict_of]
        props = tuple(PropertyResult(p.name, p.kind, p.doc, holds) for p in system.properties)
        assert shared.explicit is not None  # the explorer ran first and left its result for other engines
        return EngineResult("fake", system.spec.path, system.ncpus,
                            Verdict.UNKNOWN if holds is None else Verdict.VIOLATED, reason="fake",
                            complete=holds is not None, properties=props)
    return engine


@pytest.mark.parametrize("mode,verdict,errors", [("raise", explain.ERROR, True),
                                                 ("unknown", explain.CONFIRMED, False),
                                                 ("contrary", explain.DISAGREE, False)])
def test_other_registered_engines_are_used_and_degrade_gracefully(mode, verdict, errors):
    runner.register("fake", _fake(mode))
    try:
        x = explain.explain(2, runner.RunOptions(engines=("explicit", "fake")))
    finally:
        runner._REGISTRY.pop("fake", None)
    assert x.engines == ("explicit", "fake")
    assert bool(x.engine_errors) == errors
    assert x.verdict == verdict
    if mode == "raise":  # a crash is never hidden behind the explorer's findings
        assert explain.exit_status(x) == runner.EXIT_UNKNOWN
        assert all(c.verdict == explain.ERROR for c in x.claims)
        ch = claim(x, "readers-irqs-off").checks[0]
        assert ch.status == explain.CRASHED
        assert {f.engine: f.outcome for f in ch.findings} == {"explicit": "holds", "fake": explain.CRASHED}
        assert "RuntimeError: cannot handle this configuration" in ch.findings[-1].detail
    if mode == "unknown":
        ch = claim(x, "readers-irqs-off").checks[0]
        assert {f.engine: f.outcome for f in ch.findings} == {"explicit": "holds", "fake": "undecided"}


def test_cli_explain_text_json_and_exit_codes():
    p = run("explain", "--cpus", "2", "--engine", "explicit")
    assert p.returncode == 0, p.stderr
    assert "7 of 7 claims confirmed at 2 CPUs" in p.stdout
    assert "7. CONFIRMED" in p.stdout and "Why the patch" in p.stdout
    assert "states/s" not in p.stdout + p.stderr  # no progress bar when piped
    ev = run("explain", "--cpus", "2", "--engine", "explicit", "--evidence")
    assert ev.returncode == 0, ev.stderr
    assert "Claim 7  CONFIRMED" in ev.stdout and "Counterexample for no_use_after_free" in ev.stdout
    j = run("explain", "--cpus", "2", "--json", "--engine", "explicit,induction")
    assert j.returncode == 0, j.stderr
    doc = json.loads(j.stdout)
    assert doc["verdict"] == "confirmed" and doc["exit_status"] == 0 and doc["cpus"] == 2
    assert len(doc["claims"]) == 7
    assert all(ch["findings"] for c in doc["claims"] for ch in c["checks"])
    for args, needle in ((("--cpus", "9"), "valid: 1 to 8"), (("--engine", "nope"), "unknown engine 'nope'")):
        bad = run("explain", *args)
        assert bad.returncode == 2 and needle in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_claims_are_handed_out_as_soon_as_their_configurations_have_run():
    """Streaming: `on_claim` gets every claim once, each after its configurations ran and before the end."""
    from slabproof.run import runner as _runner

    seen: list = []
    configs_run: list[str] = []
    x = explain.explain(2, _runner.RunOptions(engines=("explicit",)), on_config=lambda k, t: configs_run.append(k),
                        on_claim=lambda c: seen.append((c, len(configs_run))))
    assert sorted(c.number for c, _ in seen) == [c.number for c in x.claims]
    assert all(c == x.claims[c.number - 1] for c, _ in seen)
    assert min(n for _, n in seen) < len(configs_run)  # some claim came out before the last configuration ran
    for c, n in seen:
        assert {ch.config for ch in c.checks} <= set(configs_run[:n])
