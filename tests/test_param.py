"""Safety for every number of CPUs: the universally quantified invariant, the lemmas, `slabproof prove`.

(That `param` proves exactly the safe specs and fails on the broken conditions
and what-ifs, on every shipped spec, is in test_symbolic_agreement.py.)"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slabproof import checker, model
from slabproof.cli import main
from slabproof.lang import spec
from slabproof.results import Verdict
from slabproof.run import runner
from slabproof.z3 import bmc, houdini, param

from .conftest import SPECS
from .replay import replay
from .test_induction import SAFETY, check_inductive, holds_everywhere


@lru_cache(maxsize=None)
def reachable(name: str, cpus: int | None = None):
    s = spec.load(SPECS / f"{name}.toml")
    if cpus is not None:
        s = s.with_cpus(cpus)
    system = model.build(s)
    return system, checker.explore(system, keep_states=True)


@lru_cache(maxsize=None)
def proof(name: str, minimize: bool = False) -> tuple[model.System, houdini.Proof]:
    system, r = reachable(name)
    return system, param.prove(system, r.extra["states"], r.extra["slots"], minimize=minimize)


@pytest.mark.parametrize("name", ["memcg-if-prev-3cpu", "cache-always-2cpu"])
def test_the_any_n_invariant_holds_on_every_state_the_explorer_reaches_for_2_to_4_cpus(name):
    system, pf = proof(name, True)
    assert pf.minimized and pf.invariant
    for n in (2, 3, 4):
        big, r = reachable(name, n)
        assert r.complete
        assert holds_everywhere(big, pf.invariant, r.extra["states"]), f"{n} CPUs"


@pytest.mark.parametrize("n", [2, 5])
def test_the_any_n_invariant_is_inductive_for_fixed_numbers_of_cpus_too(n):
    """Re-checked with the unrolled encoding (a different translation) at several sizes."""
    _, pf = proof("memcg-if-prev-3cpu", True)
    big = model.build(spec.load(SPECS / "memcg-if-prev-3cpu.toml").with_cpus(n))
    implied = check_inductive(big, pf.invariant)
    assert all(implied[p] for p in SAFETY)


def test_the_invariant_reads_in_kernel_terms_and_has_the_ownership_fact():
    system, pf = proof("memcg-if-prev-3cpu", True)
    text = "\n".join(houdini.show_invariant(system, pf.invariant))
    assert "for every CPU x without a writer" in text
    assert "csd_lock_wait" in text  # a reader can hold the replaced array cache only until the wait ends
    # no array cache belongs to two kmem_caches: each cpu_cache points only at its own cache's array caches
    assert "cpu_cache[root] in {root#0, root#1}" in text


@pytest.mark.parametrize("name", ["memcg-if-prev-3cpu", "memcg-never-3cpu", "cache-if-no-prev-2cpu"])
def test_the_patch_lemmas(name):
    system, pf = proof(name)
    lem = {x["name"]: x for x in pf.lemmas}
    # (a) no CPU holds a fresh array cache, nor one of an invisible kmem_cache -- whatever the IPI condition
    assert lem["fresh_unreachable"]["answer"] == "unsat"
    # (b) at a kick with prev NULL no CPU holds any array cache of that kmem_cache: skipping that IPI is a no-op
    assert lem["kick_without_prev_is_a_no_op"]["answer"] == "unsat"
    # and the converse: at a kick with prev set, a CPU can hold prev -- with a reachable witness
    assert lem["kick_with_prev_can_matter"]["answer"] == "sat"
    target = next(x for x in houdini.lemmas(system) if x.name == "kick_with_prev_can_matter")
    r = reachable(name)[1]
    w = bmc.witness(system, [model.Property(target.name, "sometimes", target.expr, target.doc)],
                    max_depth=r.depth, complete=r.complete).prop(target.name).trace
    assert w is not None and w.kind == "witness"
    replay(system, w)


def test_lemma_b_fails_when_the_child_is_visible_before_its_array_cache_is_installed():
    _, pf = proof("whatif-memcg-visible-before-install")
    lem = {x["name"]: x for x in pf.lemmas}
    assert lem["kick_without_prev_is_a_no_op"]["answer"] == "sat"
    assert lem["kick_without_prev_is_a_no_op"]["witness"]


def test_a_failed_proof_stays_unknown_beside_the_bmc_counterexample():
    """The runner never relabels a proof engine's UNKNOWN with BMC's trace (it used to: `_combine`)."""
    s = spec.load(SPECS / "memcg-never-2cpu.toml")
    o = runner.run_spec(s, runner.RunOptions(engines=("bmc", "param")))
    by = {r.engine: r for r in o.results}
    assert by["param"].verdict == Verdict.UNKNOWN and "backed_by" not in by["param"].extra
    assert by["param"].prop("no_access_after_drain").holds is None and by["param"].prop("no_access_after_drain").trace is None
    assert by["bmc"].prop("no_access_after_drain").trace is not None
    assert o.status.value == "match"  # BMC decided the expected properties; the combined verdict says so
    assert [e.engine for e in o.combined.prop("no_access_after_drain").by] == ["bmc"]
    alone = runner.run_spec(s, runner.RunOptions(engines=("param",)))
    assert alone.results[0].verdict == Verdict.UNKNOWN  # without a counterexample, only UNKNOWN
    assert runner.exit_status([alone]) == runner.EXIT_UNKNOWN


def test_prove_command_on_a_patched_spec(capsys):
    status = main(["prove", str(SPECS / "memcg-if-prev-3cpu.toml")])
    out = capsys.readouterr().out
    assert status == 0
    assert "PROVED for any number of CPUs" in out
    assert "kick_without_prev_is_a_no_op: unsat" in out
    assert "inductive invariant (param, any number of CPUs" in out
    assert "writer_terminates: not applicable" in out


def test_prove_command_on_a_broken_condition_fails_with_the_counterexample(capsys):
    status = main(["prove", str(SPECS / "memcg-never-2cpu.toml")])
    out = capsys.readouterr().out
    assert status == 0  # as expected: FAILED for a spec expected violated
    assert "FAILED" in out and "bmc: 19 steps" in out


def test_disagreeing_engines_exit_3_loudly(monkeypatch, capsys):
    real = runner.engine("param")

    def liar(system, opts, shared):  # claims every safety property of a violated spec is proved
        r = real(system, opts, shared)
        props = tuple(replace(p, holds=True) if p.kind == "always" and p.name != "writer_terminates" else p
                      for p in r.properties)
        return replace(r, verdict=Verdict.SAFE, properties=props, reason="")

    monkeypatch.setitem(runner._REGISTRY, "param", liar)
    status = main(["check", "--engine", "bmc,param", "--traces", "none", str(SPECS / "memcg-never-2cpu.toml")])
    out = capsys.readouterr().out
    assert status == runner.EXIT_DISAGREE
    assert "DISAGREE" in out and "bmc found it violated, param says it holds" in out


def test_z3_timeout_is_unknown_in_the_summary(capsys):
    status = main(["check", "--engine", "param", "--timeout", "0.001", "--traces", "none",
                   str(SPECS / "memcg-if-prev-2cpu.toml")])
    out = capsys.readouterr().out
    assert status == runner.EXIT_UNKNOWN
    assert "unknown" in out and "safe" not in out.split("expected")[0].split("param")[-1]


# ---------------------------------------------------------------------------
# generated variations: a proof for any number of CPUs is never contradicted by the explorer at 2 or 3


@st.composite
def variations(draw) -> spec.Spec:
    base = spec.load(SPECS / "memcg-if-prev-2cpu.toml")
    tune = list(model.DEFAULT_TUNE)
    i, j = draw(st.integers(1, len(tune) - 2)), draw(st.integers(1, len(tune) - 2))
    tune[i], tune[j] = tune[j], tune[i]
    return replace(base, ipi=draw(st.sampled_from(spec.IPI_CONDITIONS)), tune_steps=tuple(tune), name="variation")


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variations())
def test_param_proofs_agree_with_the_explorer_on_generated_variations(s):
    system = model.build(s)
    r = checker.explore(system, keep_states=True)
    pf = param.prove(system, r.extra["states"], r.extra["slots"])
    for n in (2, 3):
        e = checker.explore(model.build(s.with_cpus(n)))
        for p in pf.proved:
            assert e.prop(p).holds, f"{p} proved for any number of CPUs, violated at {n}"
