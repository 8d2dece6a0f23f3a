"""--junit FILE: JUnit XML, one test case per spec and engine; failures carry the mismatch."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings, strategies as st

from slabproof.cli import main
from slabproof.lang import spec
from slabproof.report import junit
from slabproof.results import EngineResult, PropertyResult, Verdict
from slabproof.run import runner

from .conftest import ROOT, SPECS
from .test_exit_policy import junit_status, outcome

DATA = ROOT / "tests" / "data"

GOOD = SPECS / "cache-if-prev-2cpu.toml"
VIOLATED = SPECS / "memcg-never-2cpu.toml"


def _cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(tc.get("classname"), tc.get("name")): tc for tc in root.iter("testcase")}


def test_one_test_case_per_spec_and_per_engine(tmp_path, capsys):
    out = tmp_path / "r.xml"
    assert main(["check", "--traces", "none", "--junit", str(out), str(GOOD), str(VIOLATED)]) == 0
    capsys.readouterr()
    root = ET.parse(out).getroot()
    engines = runner.available_engines()
    cases = _cases(root)
    assert set(cases) == {(f"slabproof.{s}", e) for s in ("cache-if-prev-2cpu", "memcg-never-2cpu")
                          for e in ("verdict",) + engines}
    assert root.get("tests") == str(2 * (len(engines) + 1)) and root.get("failures") == "0"
    assert root.get("errors") == "0"
    tc = cases[("slabproof.cache-if-prev-2cpu", "explicit")]
    assert tc.get("file") is None  # not a testcase attribute in junit-10.xsd; the path is in system-out
    assert str(GOOD) in tc.find("system-out").text and "393 states" in tc.find("system-out").text
    assert tc.find("failure") is None and tc.find("error") is None
    # the violated spec matches, but the proof engines found no invariant: skipped with why, never a plain pass
    for e in ("induction", "param"):
        sk = cases[("slabproof.memcg-never-2cpu", e)].find("skipped")
        assert sk is not None and sk.get("type") == "undecided" and "unknown (" in sk.get("message")
    verdict = cases[("slabproof.memcg-never-2cpu", "verdict")]
    assert verdict.find("failure") is None and verdict.find("error") is None
    assert "no_use_after_free: violated (trace found by explicit" in verdict.find("system-out").text


def test_a_mismatch_is_a_failure_with_the_mismatch_and_the_counterexample(tmp_path, capsys):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(GOOD.read_text().replace('ipi = "if-prev"', 'ipi = "never"'))
    out = tmp_path / "r.xml"
    assert main(["check", "--junit", str(out), "--engine", "explicit", str(GOOD), str(wrong)]) == 1
    capsys.readouterr()
    root = ET.parse(out).getroot()
    assert root.get("failures") == "2" and root.get("errors") == "0"  # the spec's verdict, and the engine
    f = _cases(root)[("slabproof.wrong", "verdict")].find("failure")
    assert f.get("type") == "mismatch"
    assert f.get("message").startswith("no_use_after_free violated (trace found by explicit (")
    assert f.get("message").endswith("), expected safe")
    assert "counterexample for no_access_after_drain" in f.text and "ac_access" in f.text
    f = _cases(root)[("slabproof.wrong", "explicit")].find("failure")
    assert f.get("type") == "mismatch" and f.get("message").startswith("explicit: no_use_after_free violated")


def test_unknown_is_an_error_never_a_pass(tmp_path, capsys):
    out = tmp_path / "r.xml"
    assert main(["check", "--junit", str(out), "--max-states", "10", "--engine", "explicit", str(GOOD)]) == 4
    capsys.readouterr()
    root = ET.parse(out).getroot()
    assert root.get("errors") == "1" and root.get("failures") == "0"
    e = _cases(root)[("slabproof.cache-if-prev-2cpu", "verdict")].find("error")
    assert e.get("type") == "undecided"
    assert e.get("message").startswith("undecided: explicit: unknown (state limit of 10 reached)")
    sk = _cases(root)[("slabproof.cache-if-prev-2cpu", "explicit")].find("skipped")
    assert sk.get("message") == "explicit: unknown (state limit of 10 reached) after 10 states, depth 9; expected safe"
    assert main(["check", "--junit", str(out), "--max-states", "10", "--engine", "explicit", "--strict",
                 str(GOOD)]) == 4
    capsys.readouterr()
    root = ET.parse(out).getroot()
    assert root.get("errors") == "2"  # with --strict the undecided engine is an error too
    assert _cases(root)[("slabproof.cache-if-prev-2cpu", "explicit")].find("error").get("type") == "unknown"


def test_a_z3_only_run_on_a_wrong_expectation_is_not_a_pass(tmp_path, capsys):
    """Regression: `--engine induction` on a safe spec edited to expect violated gave an `ok` table."""
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(GOOD.read_text().replace('verdict = "safe"', 'verdict = "violated"')
                     .replace('witnesses = ["reader_holds_prev_at_publish"]', ""))
    out = tmp_path / "r.xml"
    assert main(["check", "--traces", "none", "--junit", str(out), "--engine", "induction", str(wrong)]) == 4
    capsys.readouterr()
    root = ET.parse(out).getroot()
    assert root.get("errors") == "1"
    assert _cases(root)[("slabproof.wrong", "verdict")].find("error").get("type") == "undecided"


def test_junit_agrees_with_the_exit_status_when_proof_engines_say_safe_beside_a_deadlock(tmp_path, capsys):
    """Regression: every engine on the deadlocking what-if exited 0 while its JUnit had failures (the proof
    engines' SAFE, read as a verdict string against "violated") and an error (BMC's budget)."""
    out = tmp_path / "r.xml"
    assert main(["check", "--traces", "none", "--junit", str(out),
                 str(SPECS / "whatif-reader-takes-mutex-irqs-off.toml")]) == 0
    capsys.readouterr()
    root = ET.parse(out).getroot()
    assert root.get("failures") == "0" and root.get("errors") == "0"
    verdict = _cases(root)[("slabproof.whatif-reader-takes-mutex-irqs-off", "verdict")]
    assert "writer_terminates: violated (trace found by explicit" in verdict.find("system-out").text


def test_the_junit_output_validates_against_junit_10_xsd(tmp_path, capsys):
    """tests/data/junit-10.xsd: the common schema (see its header for the source and licence)."""
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(str(DATA / "junit-10.xsd"))
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(GOOD.read_text().replace('ipi = "if-prev"', 'ipi = "never"'))
    out = tmp_path / "r.xml"
    assert main(["check", "--junit", str(out), "--traces", "none", "--max-states", "200",
                 "--engine", "explicit", str(GOOD), str(wrong)]) == 1
    capsys.readouterr()
    schema.validate(str(out))
    root = ET.parse(out).getroot()
    assert {"failure", "error", "skipped"} <= {el.tag for el in root.iter()}  # every kind of outcome was checked
    assert root.get("skipped") is None and root.find("testsuite").get("skipped") == "1"


def test_junit_is_written_with_json_too_and_for_the_mutants(tmp_path, capsys):
    out = tmp_path / "m.xml"
    assert main(["check", "--json", "--mutants", "--cpus", "2", "--junit", str(out),
                 str(SPECS / "mutants" / "ipi-targets-self.toml")]) == 0
    capsys.readouterr()
    assert ET.parse(out).getroot().get("tests") == str(len(runner.available_engines()) + 1)


@pytest.mark.parametrize("target", ["missing-dir/r.xml", "."])
def test_an_unwritable_junit_file_is_bad_input_before_anything_runs(tmp_path, target):
    p = subprocess.run([sys.executable, "-m", "slabproof", "check", "--junit", str(tmp_path / target), str(GOOD)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 2 and p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and str(tmp_path) in p.stderr


NAMES = st.text(min_size=1, max_size=12)
HOLDS = st.sampled_from([None, True, False])


@st.composite
def _results(draw: st.DrawFn, props: tuple[tuple[str, str], ...]) -> tuple[EngineResult, ...]:
    engines = draw(st.lists(st.sampled_from(runner.available_engines()), min_size=1, max_size=4, unique=True))
    out = []
    for e in engines:
        verdict = draw(st.sampled_from(list(Verdict)))
        reason = draw(st.sampled_from(["", "limit", "interrupted"])) if verdict == Verdict.UNKNOWN else ""
        out.append(EngineResult(engine=e, spec="s.toml", cpus=2, verdict=verdict, reason=reason, states=7, depth=3,
                                properties=tuple(PropertyResult(n, k, "", draw(HOLDS)) for n, k in props)))
    return tuple(out)


PROPS = tuple((p.name, p.kind) for p in runner.model.build(spec.load(GOOD)).properties) + (
    ("writer_terminates", "always"),)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(NAMES, st.sampled_from(["safe", "violated"]), _results(PROPS)), max_size=4),
       st.booleans())
def test_any_outcomes_give_well_formed_xml_with_matching_counts(specs, strict):
    outcomes = []
    for name, expected, results in specs:
        s = spec.loads(GOOD.read_text().replace('"safe"', f'"{expected}"')
                       .replace('witnesses = ["reader_holds_prev_at_publish"]', ""), f"{name}.toml")
        outcomes.append(outcome(s, results))
    root = ET.fromstring(junit.to_junit(outcomes, strict=strict))  # parses whatever the names hold
    cases = list(root.iter("testcase"))
    assert len(cases) == sum(len(r) + 1 for _, _, r in specs) == int(root.get("tests"))
    assert int(root.get("errors")) == sum(1 for tc in cases if tc.find("error") is not None)
    assert int(root.get("failures")) == sum(1 for tc in cases if tc.find("failure") is not None)
    assert int(root.find("testsuite").get("skipped")) == sum(1 for tc in cases if tc.find("skipped") is not None)
    for tc in cases:  # one outcome per test case at most
        assert len([c for c in tc if c.tag in ("failure", "error", "skipped")]) <= 1
    assert junit_status(root) == runner.exit_status(outcomes, strict)
