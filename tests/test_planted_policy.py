"""Planted bugs: each defect of issue 8 items 3, 4 and 8 (JUnit) put back by monkeypatching, and the check
that catches it.

Every test plants the old behaviour (copied from the code before the fix),
runs the same check the regression tests use (the `check_*` functions
below, each also run once on the real code), and asserts that the check
fails. Cheap: the 2-CPU specs, canned results, one BMC run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import pytest

from slabproof.lang import spec
from slabproof.report import junit, text as report
from slabproof.results import EngineResult, PropertyResult, SpecOutcome, SpecVerdict, Status, Verdict
from slabproof.run import mutants, runner

from .conftest import ROOT, SPECS
from .test_exit_policy import PROPS, junit_status

GOOD = SPECS / "cache-if-prev-2cpu.toml"
NEVER = SPECS / "memcg-never-2cpu.toml"
MUTANT = SPECS / "mutants" / "ipi-targets-none.toml"


# ---------------------------------------------------------------------------
# the old behaviours, as they were


def old_combine(results: list[EngineResult]) -> list[EngineResult]:
    """runner._combine before the fix: a proof engine's UNKNOWN became BMC's VIOLATED, under its own name."""
    cex = next((r for r in results if r.engine == "bmc" and r.verdict == Verdict.VIOLATED), None)
    if cex is None:
        return list(results)
    out = []
    for r in results:
        if r.engine in ("induction", "param") and r.verdict == Verdict.UNKNOWN:
            props = []
            for p in r.properties:
                b = cex.prop(p.name) if p.name in {q.name for q in cex.properties} else None
                if p.kind == "always" and p.holds is None and b is not None and b.holds is False:
                    p = replace(p, holds=False, trace=b.trace)
                props.append(p)
            extra = dict(r.extra)
            extra["backed_by"] = f"not provable; the violation is BMC's counterexample ({', '.join(cex.violated)})"
            r = replace(r, verdict=Verdict.VIOLATED, properties=tuple(props), extra=extra, reason="", complete=True)
        out.append(r)
    return out


def old_compare(s: spec.Spec, results: Sequence[EngineResult]) -> tuple[bool, str, str]:
    """runner.compare before the fix (abridged to what decides the status): one complete engine hides
    another's UNKNOWN, and an engine that decides nothing undecided is taken at its word."""
    decided = [r for r in results if r.verdict != Verdict.UNKNOWN]
    names = list(dict.fromkeys(p.name for r in decided for p in r.properties if p.kind == "always"))

    def holds(r: EngineResult, name: str) -> bool | None:
        try:
            return r.prop(name).holds
        except KeyError:
            return None

    clashes = [n for n in names if any(holds(r, n) is True for r in decided) and any(holds(r, n) is False
                                                                                    for r in decided)]
    if clashes:
        return False, "engines disagree on " + ", ".join(clashes), "engines disagree on " + ", ".join(clashes)
    unknown = [r for r in results if r.verdict == Verdict.UNKNOWN]
    complete = [r for r in decided if r.complete and all(holds(r, p) is not None for p in names)]
    if unknown and not complete:
        return False, runner.UNDECIDED + "; ".join(f"{r.engine}: unknown ({r.reason})" for r in unknown), ""
    exp = s.expect
    for r in decided:
        if r.verdict == Verdict.VIOLATED:
            if exp.verdict == "safe":
                return False, f"{r.engine} says violated, expected safe", ""
        elif exp.verdict == "violated":
            expected = exp.violates if exp.violates is not None else tuple(names)
            if all(holds(r, p) is True for p in expected):
                return False, f"{r.engine} says safe, expected violated", ""
    return True, "", ""


def old_decide(s: spec.Spec, results: Sequence[EngineResult], system: object = None) -> SpecVerdict:
    ok, why, dis = old_compare(s, results)
    status = (Status.DISAGREE if dis else Status.MATCH if ok else
              Status.UNDECIDED if why.startswith(runner.UNDECIDED) else Status.MISMATCH)
    return SpecVerdict(Verdict.UNKNOWN, status, why, ())  # (the old outcome kept no undecided engines)


def old_status_text(o: SpecOutcome):  # noqa: ANN201 - a rich Text, as report.status_text
    """The summary table's last column before the fix."""
    from rich.text import Text

    if o.disagreement:
        return Text("DISAGREE")
    if o.matches:
        return Text("ok")
    if any(r.verdict == Verdict.UNKNOWN for r in o.results):
        return Text("UNKNOWN")
    return Text("MISMATCH")


def old_engine_failure(o: SpecOutcome, r: EngineResult) -> tuple[str, str]:
    """junit._failure before the fix: a verdict string against the expected one (and an undecided engine
    was never a failure, while the spec's own status was not reported at all)."""
    if r.verdict == Verdict.UNKNOWN:
        return "", ""
    if r.verdict.value != ("safe" if o.expected == "safe" else "violated"):
        return "mismatch", f"{r.engine} says {r.verdict.value}, expected {o.expected}"
    return "", ""


# ---------------------------------------------------------------------------
# the checks (each passes on the real code: see the test_real_* tests)


def _spec_text(src: Path, expect: str) -> str:
    text = src.read_text()
    return text[:text.index("[expect]")] + "[expect]\n" + expect + "\n"


def check_results_not_rewritten(o: SpecOutcome) -> None:
    """bmc + param on memcg-never-2cpu: param stays UNKNOWN with no trace; the violation is credited to bmc."""
    by = {r.engine: r for r in o.results}
    assert by["param"].verdict == Verdict.UNKNOWN
    assert "backed_by" not in by["param"].extra
    assert all(p.trace is None for p in by["param"].properties)
    assert [e.engine for e in o.combined.prop("no_use_after_free").by] == ["bmc"]


def check_kills_are_own(row: mutants.Row) -> None:
    """A killable mutant's row: an engine that only proves is never credited with a kill."""
    for c in row.cells:
        if not runner.finds_traces(c.engine):
            assert c.status != mutants.KILLED, c


def check_z3_only_rejects_a_wrong_expectation(o: SpecOutcome) -> None:
    """induction alone on cache-if-prev-2cpu expected violated: not a pass, not `ok`."""
    assert runner.exit_status([o]) != runner.EXIT_OK
    assert report.status_text(o).plain != "ok"


def check_deadlock_undecided_without_explicit(o: SpecOutcome) -> None:
    """induction + param on the deadlocking what-if (any expectation): exit 4."""
    assert runner.exit_status([o]) == runner.EXIT_UNKNOWN


def check_table_is_honest(outcomes: Sequence[SpecOutcome]) -> None:
    """No `ok` beside an undecided engine; a real mismatch is labelled MISMATCH even beside an UNKNOWN."""
    for o in outcomes:
        text = report.status_text(o).plain
        unknown = {r.engine for r in o.results if r.verdict == Verdict.UNKNOWN}
        assert {n.engine for n in o.undecided_engines} == unknown, o.name  # every UNKNOWN engine is shown
        if unknown:
            assert text != "ok", o.name
        if o.status == Status.MISMATCH:
            assert text == "MISMATCH", (o.name, text)


def check_junit_agrees(outcomes: Sequence[SpecOutcome], strict: bool = False) -> None:
    """The JUnit document stands for the exit status, for all the outcomes together and for each alone."""
    for group in [list(outcomes)] + [[o] for o in outcomes]:
        root = ET.fromstring(junit.to_junit(group, strict=strict))
        assert junit_status(root) == runner.exit_status(group, strict), [o.name for o in group]


def check_junit_schema(outcomes: Sequence[SpecOutcome]) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(str(ROOT / "tests" / "data" / "junit-10.xsd")).validate(junit.to_junit(outcomes))


def check_strict(o: SpecOutcome) -> None:
    """A match beside an undecided engine: 0, and 4 with --strict."""
    assert o.undecided_engines and o.status == Status.MATCH
    assert runner.exit_status([o]) == 0 and runner.exit_status([o], strict=True) == 4


def check_interrupted_is_undecided(o: SpecOutcome) -> None:
    assert o.status == Status.UNDECIDED and runner.exit_status([o]) == runner.EXIT_UNKNOWN


def check_bmc_budget_is_not_na(row: mutants.Row) -> None:
    """A killable mutant on which BMC ran out of budget: its cell is unknown, and the row undecided."""
    cell = next(c for c in row.cells if c.engine == "bmc")
    assert cell.status == mutants.UNDECIDED and row.status == mutants.ROW_UNDECIDED


# ---------------------------------------------------------------------------
# inputs, computed once


def _load(text: str, name: str) -> spec.Spec:
    return spec.loads(text, f"{name}.toml")


@lru_cache(maxsize=None)
def _z3_wrong() -> tuple[spec.Spec, tuple[EngineResult, ...]]:
    s = _load(_spec_text(GOOD, 'verdict = "violated"'), "wrong")
    return s, runner.run_spec(s, runner.RunOptions(engines=("induction",))).results


@lru_cache(maxsize=None)
def _deadlock() -> tuple[spec.Spec, tuple[EngineResult, ...]]:
    s = spec.load(SPECS / "whatif-reader-takes-mutex-irqs-off.toml")
    return s, runner.run_spec(s, runner.RunOptions(engines=("induction", "param"))).results


@lru_cache(maxsize=None)
def _never_bmc_param() -> tuple[spec.Spec, tuple[EngineResult, ...]]:
    s = spec.load(NEVER)
    return s, runner.run_spec(s, runner.RunOptions(engines=("bmc", "param"))).results


@lru_cache(maxsize=None)
def _mutant_results() -> tuple[spec.Spec, tuple[EngineResult, ...]]:
    s = spec.load(MUTANT).with_cpus(2)
    return s, runner.run_spec(s, runner.RunOptions(engines=("explicit", "bmc", "param"))).results


def _canned(expect: str, holds: dict[str, bool | None], extra_engines: Sequence[EngineResult] = (),
            reason: str = "", name: str = "c") -> SpecOutcome:
    s = _load(_spec_text(GOOD, expect), name)
    props = tuple(PropertyResult(n, k, "", holds.get(n)) for n, k in PROPS)
    verdict = Verdict.UNKNOWN if reason else (Verdict.VIOLATED if False in holds.values() else Verdict.SAFE)
    res = [EngineResult("explicit", s.path, 2, verdict, reason=reason, properties=props), *extra_engines]
    return runner.outcome(s, res)


def _unknown(engine: str = "induction") -> EngineResult:
    return EngineResult(engine, "c.toml", 2, Verdict.UNKNOWN, reason="no invariant")


ALL_HOLD = {n: True for n, k in PROPS if k == "always"}


def _table_cases() -> list[SpecOutcome]:
    return [_canned('verdict = "safe"', ALL_HOLD, [_unknown()], name="match-beside-unknown"),
            _canned('verdict = "safe"', {**ALL_HOLD, "no_use_after_free": False}, [_unknown()], name="mismatch")]


def _junit_cases() -> list[SpecOutcome]:
    s, res = _deadlock()
    dead = runner.outcome(s, res)
    s2 = spec.load(SPECS / "whatif-reader-takes-mutex-irqs-off.toml")
    explicit = EngineResult("explicit", s2.path, 3, Verdict.VIOLATED, properties=tuple(
        PropertyResult(n, k, "", (n != "writer_terminates") if k == "always" else True) for n, k in PROPS))
    matched = runner.outcome(s2, (explicit,) + res)  # all engines as `check` runs them; the proof engines say safe
    return [dead, matched, *_table_cases()]


# ---------------------------------------------------------------------------
# the checks pass on the real code


def test_real_code_passes_every_check():
    s, res = _never_bmc_param()
    check_results_not_rewritten(runner.outcome(s, res))
    ms, mres = _mutant_results()
    check_kills_are_own(mutants.classify([ms], [runner.outcome(ms, mres)]).rows[0])
    s, res = _z3_wrong()
    check_z3_only_rejects_a_wrong_expectation(runner.outcome(s, res))
    s, res = _deadlock()
    check_deadlock_undecided_without_explicit(runner.outcome(s, res))
    check_table_is_honest(_table_cases())
    for strict in (False, True):
        check_junit_agrees(_junit_cases(), strict)
    check_junit_schema(_junit_cases())
    check_strict(_table_cases()[0])
    check_interrupted_is_undecided(_canned('verdict = "violated"', {"no_use_after_free": False},
                                           reason="interrupted", name="cut"))
    check_bmc_budget_is_not_na(_bmc_budget_row())


def _bmc_budget_row() -> mutants.Row:
    ms, mres = _mutant_results()
    by = {r.engine: r for r in mres}
    spent = replace(by["bmc"], verdict=Verdict.UNKNOWN, complete=False, reason="budget spent",
                    properties=tuple(replace(p, holds=None, trace=None) for p in by["bmc"].properties))
    return mutants.classify([ms], [runner.outcome(ms, (by["explicit"], spent))]).rows[0]


# ---------------------------------------------------------------------------
# each defect planted back, and caught


def _caught(check: Callable[..., None], *args: object) -> None:
    with pytest.raises(AssertionError):
        check(*args)


def test_planted_combine_relabels_a_failed_proof(monkeypatch):
    orig = runner.outcome
    monkeypatch.setattr(runner, "outcome", lambda s, results, system=None: orig(s, old_combine(list(results)),
                                                                                  system))
    s, res = _never_bmc_param()
    _caught(check_results_not_rewritten, runner.outcome(s, res))


def test_planted_combine_credits_proof_engines_with_bmc_kills(monkeypatch):
    ms, mres = _mutant_results()
    o = runner.outcome(ms, old_combine(list(mres)))
    _caught(check_kills_are_own, mutants.classify([ms], [o]).rows[0])


def test_planted_old_compare_accepts_a_z3_only_wrong_expectation(monkeypatch):
    monkeypatch.setattr(runner, "decide", old_decide)
    s, res = _z3_wrong()
    _caught(check_z3_only_rejects_a_wrong_expectation, runner.outcome(s, res))


def test_planted_old_compare_passes_a_deadlock_without_explicit(monkeypatch):
    monkeypatch.setattr(runner, "decide", old_decide)
    s, res = _deadlock()
    _caught(check_deadlock_undecided_without_explicit, runner.outcome(s, res))


def test_planted_old_compare_hides_an_unknown_behind_a_complete_engine(monkeypatch):
    monkeypatch.setattr(runner, "decide", old_decide)
    explicit = EngineResult("explicit", "x.toml", 2, Verdict.SAFE, properties=tuple(
        PropertyResult(n, k, "", True) for n, k in PROPS))
    o = runner.outcome(_load(_spec_text(GOOD, 'verdict = "safe"'), "hide"), (explicit, _unknown("bmc")))
    _caught(check_table_is_honest, [o])  # `ok` printed beside `bmc unknown`


def test_planted_old_table_status(monkeypatch):
    monkeypatch.setattr(report, "status_text", old_status_text)
    _caught(check_table_is_honest, _table_cases())


def test_planted_junit_reads_verdict_strings(monkeypatch):
    monkeypatch.setattr(junit, "_engine_failure", old_engine_failure)
    _caught(check_junit_agrees, _junit_cases())


def test_planted_junit_passes_an_undecided_spec(monkeypatch):
    monkeypatch.setattr(junit, "_spec_case", lambda o: ("", "", ""))
    _caught(check_junit_agrees, _junit_cases())


@pytest.mark.parametrize("where,attr", [("testcase", "file"), ("testsuites", "skipped")])
def test_planted_junit_attributes_outside_the_schema(monkeypatch, where, attr):
    orig = junit.to_junit

    def with_attr(outcomes: Sequence[SpecOutcome], suite: str = "slabproof", strict: bool = False) -> str:
        root = ET.fromstring(orig(outcomes, suite, strict))
        for el in root.iter(where):
            el.set(attr, "x")
        return ET.tostring(root, encoding="unicode")

    monkeypatch.setattr(junit, "to_junit", with_attr)
    pytest.importorskip("xmlschema")
    import xmlschema

    with pytest.raises(xmlschema.XMLSchemaValidationError):
        check_junit_schema(_junit_cases())


def test_planted_strict_ignored(monkeypatch):
    orig = runner.exit_status
    monkeypatch.setattr(runner, "exit_status", lambda outcomes, strict=False: orig(outcomes))
    _caught(check_strict, _table_cases()[0])


def test_planted_interrupt_taken_as_a_verdict(monkeypatch):
    monkeypatch.setattr(runner, "INTERRUPTED", "(never)")  # decide no longer recognises an interrupted engine
    _caught(check_interrupted_is_undecided, _canned('verdict = "violated"', {"no_use_after_free": False},
                                                    reason="interrupted", name="cut"))


def test_planted_plugin_ignores_undecided(monkeypatch, tmp_path):
    """The plugin's own session on canned outcomes (test_exit_policy's check) catches a plugin that lets an
    undecided spec pass."""
    from .test_exit_policy import test_the_plugin_decides_like_the_exit_status as check_plugin

    monkeypatch.setattr(runner, "spec_passes", lambda o, strict=False: o.status not in (Status.MISMATCH,
                                                                                        Status.DISAGREE))
    _caught(check_plugin, tmp_path, monkeypatch)


def test_planted_kill_matrix_counts_a_bmc_budget_as_na(monkeypatch):
    def old_cell(r: EngineResult, killable: bool, expected: tuple[str, ...] | None) -> mutants.Cell:
        if killable and expected and r.verdict != Verdict.VIOLATED:
            if not {p.name for p in r.properties if p.holds is not None} & set(expected):
                return mutants.Cell(r.engine, mutants.NOT_SUPPORTED, "does not decide " + ", ".join(expected))
        return orig(r, killable, expected)

    orig = mutants._cell
    monkeypatch.setattr(mutants, "_cell", old_cell)
    _caught(check_bmc_budget_is_not_na, _bmc_budget_row())
