"""--junit FILE: JUnit XML, one test case per spec and engine; failures carry the mismatch."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slabproof import junit, runner, spec
from slabproof.cli import main
from slabproof.results import EngineResult, SpecOutcome, Verdict

from .conftest import ROOT, SPECS

GOOD = SPECS / "cache-if-prev-2cpu.toml"
VIOLATED = SPECS / "memcg-never-2cpu.toml"


def _cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(tc.get("classname"), tc.get("name")): tc for tc in root.iter("testcase")}


def test_one_test_case_per_spec_and_engine(tmp_path, capsys):
    out = tmp_path / "r.xml"
    assert main(["check", "--traces", "none", "--junit", str(out), str(GOOD), str(VIOLATED)]) == 0
    capsys.readouterr()
    root = ET.parse(out).getroot()
    engines = runner.available_engines()
    cases = _cases(root)
    assert set(cases) == {(f"slabproof.{s}", e) for s in ("cache-if-prev-2cpu", "memcg-never-2cpu") for e in engines}
    assert root.get("tests") == str(2 * len(engines)) and root.get("failures") == "0"
    tc = cases[("slabproof.cache-if-prev-2cpu", "explicit")]
    assert tc.get("file") == str(GOOD)
    assert "393 states" in tc.find("system-out").text
    assert tc.find("failure") is None and tc.find("error") is None


def test_a_mismatch_is_a_failure_with_the_mismatch_and_the_counterexample(tmp_path, capsys):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(GOOD.read_text().replace('ipi = "if-prev"', 'ipi = "never"'))
    out = tmp_path / "r.xml"
    assert main(["check", "--junit", str(out), "--engine", "explicit", str(GOOD), str(wrong)]) == 1
    capsys.readouterr()
    root = ET.parse(out).getroot()
    assert root.get("failures") == "1" and root.get("errors") == "0"
    f = _cases(root)[("slabproof.wrong", "explicit")].find("failure")
    assert f.get("type") == "mismatch"
    assert f.get("message") == "explicit says violated (no_use_after_free, no_access_after_drain), expected safe"
    assert "counterexample for no_access_after_drain" in f.text and "ac_access" in f.text


def test_unknown_is_an_error_never_a_pass(tmp_path, capsys):
    out = tmp_path / "r.xml"
    assert main(["check", "--junit", str(out), "--max-states", "10", "--engine", "explicit", str(GOOD)]) == 4
    capsys.readouterr()
    root = ET.parse(out).getroot()
    assert root.get("errors") == "1"
    e = _cases(root)[("slabproof.cache-if-prev-2cpu", "explicit")].find("error")
    assert e.get("type") == "unknown"
    assert e.get("message") == "explicit: unknown (state limit of 10 reached) after 10 states, depth 9; expected safe"


def test_junit_is_written_with_json_too_and_for_the_mutants(tmp_path, capsys):
    out = tmp_path / "m.xml"
    assert main(["check", "--json", "--mutants", "--cpus", "2", "--junit", str(out),
                 str(SPECS / "mutants" / "ipi-targets-self.toml")]) == 0
    capsys.readouterr()
    assert ET.parse(out).getroot().get("tests") == str(len(runner.available_engines()))


@pytest.mark.parametrize("target", ["missing-dir/r.xml", "."])
def test_an_unwritable_junit_file_is_bad_input_before_anything_runs(tmp_path, target):
    p = subprocess.run([sys.executable, "-m", "slabproof", "check", "--junit", str(tmp_path / target), str(GOOD)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 2 and p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and str(tmp_path) in p.stderr


def _result(engine: str, verdict: Verdict, reason: str = "") -> EngineResult:
    return EngineResult(engine=engine, spec="s.toml", cpus=2, verdict=verdict, reason=reason, states=7, depth=3)


NAMES = st.text(min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(NAMES, st.sampled_from(["safe", "violated"]),
                          st.lists(st.sampled_from(list(Verdict)), min_size=1, max_size=3)), max_size=4))
def test_any_outcomes_give_well_formed_xml_with_matching_counts(specs):
    outcomes = []
    for name, expected, verdicts in specs:
        results = tuple(_result(f"engine{i}", v, "limit" if v == Verdict.UNKNOWN else "")
                        for i, v in enumerate(verdicts))
        ok, why, dis = runner.compare(spec.loads(GOOD.read_text().replace('"safe"', f'"{expected}"')
                                                 .replace('witnesses = ["reader_holds_prev_at_publish"]', ""),
                                                 f"{name}.toml"), results)
        outcomes.append(SpecOutcome(f"{name}.toml", name, 2, expected, None, results, ok, why, dis))
    root = ET.fromstring(junit.to_junit(outcomes))  # parses whatever the names hold
    cases = list(root.iter("testcase"))
    assert len(cases) == sum(len(v) for _, _, v in specs) == int(root.get("tests"))
    assert int(root.get("errors")) == sum(1 for tc in cases if tc.find("error") is not None) \
        == sum(v.count(Verdict.UNKNOWN) for _, _, v in specs)
    assert int(root.get("failures")) == sum(1 for tc in cases if tc.find("failure") is not None)
    for (name, expected, verdicts), o in zip(specs, outcomes):
        for v in verdicts:  # a decided verdict other than the expected one is always a failure
            if v != Verdict.UNKNOWN and v.value != expected:
                assert int(root.get("failures")) > 0
