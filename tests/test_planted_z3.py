"""Planted bugs in the Z3 proof engines: each test puts one old defect back (monkeypatch) and shows
that its regression check in test_z3_soundness.py fails."""

from __future__ import annotations

from dataclasses import replace

import pytest

from slabproof.lang.expr import Layout, Op, Quant, Read, evaluate
from slabproof.results import EngineResult, Verdict
from slabproof.run import runner
from slabproof.z3 import bmc, houdini, recheck, symbolic

from . import test_z3_soundness as sound


def test_planted_property_and_lemma_queries_with_the_transition_relation(monkeypatch):
    monkeypatch.setattr(houdini.Queries, "check_state", houdini.Queries.check_step)
    with pytest.raises(AssertionError, match="deadlocked"):
        sound.check_deadlocked_violation_is_not_proved_by_induction()
    with pytest.raises(AssertionError, match="deadlocked"):
        sound.check_deadlocked_violation_is_not_proved_by_param()


def _initiation_on_the_specs_cpus(self: houdini.Queries, active: set[int]) -> set[int]:
    """The old initiation: each clause evaluated on the concrete initial state of the spec's CPUs."""
    system = self.system
    layout = Layout(system.families.values(), system.ncpus)
    init = symbolic.FixedEncoding(system).init_values()
    clauses = self._planted_clauses  # type: ignore[attr-defined]
    return {i for i in active
            if evaluate(houdini.clause_expr(system, clauses[i]), layout, init, None, system.writer_cpus)}


def test_planted_initiation_on_one_number_of_cpus(monkeypatch):
    real_init = houdini.Queries.__init__

    def init(self, enc, clauses, budget):
        real_init(self, enc, clauses, budget)
        self._planted_clauses = list(clauses)

    monkeypatch.setattr(houdini.Queries, "__init__", init)
    monkeypatch.setattr(houdini.Queries, "initiation", _initiation_on_the_specs_cpus)
    with pytest.raises(AssertionError, match="kept for any number"):
        sound.check_initiation_is_for_any_number_of_cpus()
    with pytest.raises(AssertionError, match="false for 3 CPUs"):
        sound.check_no_false_proof_from_an_initiation_on_one_number()


def _old_existentials(e: object, positive: bool = True) -> int:
    """The old witness counter: forall-exists counted as one witness."""
    if isinstance(e, Quant):
        return (1 if (e.kind == "exists") == positive else 0) + _old_existentials(e.body, positive)
    if isinstance(e, Op):
        if e.op == "not":
            return _old_existentials(e.args[0], not positive)
        if e.op == "implies":
            parts = [_old_existentials(e.args[0], not positive), _old_existentials(e.args[1], positive)]
            return max(parts) if positive else sum(parts)
        if e.op in ("and", "or"):
            parts = [_old_existentials(a, positive) for a in e.args]
            return sum(parts) if (e.op == "and") == positive else max(parts, default=0)
        if any(symbolic._has_quant(a) for a in e.args):
            raise symbolic.NotSupported(f"a CPU quantifier under '{e.op}'")
        return 0
    if isinstance(e, Read) and isinstance(e.index, Op) and symbolic._has_quant(e.index):
        raise symbolic.NotSupported("a CPU quantifier inside an index")
    return 0


def test_planted_forall_exists_counted_as_one_witness(monkeypatch):
    monkeypatch.setattr(symbolic, "existentials", _old_existentials)
    with pytest.raises(pytest.fail.Exception):  # "DID NOT RAISE" from the unit check
        sound.check_forall_exists_is_outside_the_fragment()
    with pytest.raises(AssertionError, match="outside the cutoff fragment was answered"):
        sound.check_param_refuses_a_forall_exists_query()


def test_planted_no_cutoff_side_conditions(monkeypatch):
    monkeypatch.setattr(symbolic, "fragment_check", lambda system: None)
    with pytest.raises(pytest.fail.Exception):  # "DID NOT RAISE"
        sound.check_steps_outside_the_fragment_are_refused()


def test_planted_recheck_that_always_agrees(monkeypatch):
    def yes(system, invariant, **kw):
        return EngineResult("recheck", system.spec.path, system.ncpus, Verdict.SAFE, extra={"queries": []})

    monkeypatch.setattr(recheck, "run", yes)
    with pytest.raises(AssertionError):
        sound.check_recheck_confirms_the_invariant_and_refutes_a_non_invariant()


def test_planted_prove_without_the_recheck(monkeypatch):
    """The old `prove`: param's SAFE alone is PROVED for any number of CPUs."""
    monkeypatch.setattr(runner, "_any_n_confirmed", lambda par, rc: par.verdict == Verdict.SAFE)
    with pytest.raises(AssertionError, match="did not re-check was reported for any number"):
        sound.check_a_proof_that_does_not_recheck_is_not_proved_for_any_n()


def test_planted_witness_search_giving_up_read_as_no_witness(monkeypatch):
    real = bmc.witness

    def old(*a, **k):  # the old reading: whatever was not found is "no witness"
        r = real(*a, **k)
        props = tuple(replace(p, holds=False) if p.holds is None else p for p in r.properties)
        return replace(r, properties=props, verdict=Verdict.SAFE, reason="")

    monkeypatch.setattr(bmc, "witness", old)
    with pytest.raises(AssertionError, match="giving up was read as no witness"):
        sound.check_witness_search_out_of_budget_is_unknown()


def _old_combine(results: list[EngineResult]) -> list[EngineResult]:
    """The removed runner._combine: a proof engine's UNKNOWN relabelled VIOLATED with BMC's trace."""
    cex = next((r for r in results if r.engine == "bmc" and r.verdict == Verdict.VIOLATED), None)
    if cex is None:
        return results
    out = []
    for r in results:
        if r.engine in ("induction", "param") and r.verdict == Verdict.UNKNOWN:
            props = tuple(replace(p, holds=False, trace=cex.prop(p.name).trace)
                          if p.kind == "always" and p.holds is None and p.name in cex.violated else p
                          for p in r.properties)
            r = replace(r, verdict=Verdict.VIOLATED, properties=props, reason="", complete=True,
                        extra={**r.extra, "backed_by": "BMC's counterexample"})
        out.append(r)
    return out


def test_planted_relabelled_unknown(monkeypatch):
    real = runner.prove_spec

    def relabelling(spec, opts):
        o = real(spec, opts)
        return replace(o, results=tuple(_old_combine(list(o.results))))

    monkeypatch.setattr(runner, "prove_spec", relabelling)
    with pytest.raises(AssertionError, match="was relabelled violated"):
        sound.check_prove_failed_names_a_real_trace_and_proof_engines_stay_unknown()
