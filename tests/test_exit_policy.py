"""One exit policy, everywhere: `runner.exit_status`, the pytest plugin, the JUnit XML and the README agree.

The same outcomes (engine results made up property by property, run through
`runner.outcome`, which the CLI's `run_spec` uses too) go through the exit
status, the plugin's pass/fail decision on each spec, and the JUnit failure
and error counts; the README's exit-status table and docs/ci.md must name
every status the code returns. Then the policy itself, on real runs: a spec
matches only when every property its expectation mentions was decided.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

import pytest
from hypothesis import given, settings, strategies as st

from slabproof import model
from slabproof.cli import main
from slabproof.lang import spec
from slabproof.report import junit, text as report
from slabproof.results import Decision, EngineResult, PropertyResult, SpecOutcome, Status, Trace, TraceStep, Verdict
from slabproof.run import runner

from .conftest import ROOT, SPECS

GOOD = SPECS / "cache-if-prev-2cpu.toml"
DEADLOCK = SPECS / "whatif-reader-takes-mutex-irqs-off.toml"


def outcome(s: spec.Spec, results: Sequence[EngineResult]) -> SpecOutcome:
    return runner.outcome(s, results)


def junit_status(root: ET.Element) -> int:
    """The exit status a JUnit document stands for: 3 a failure of type "disagree", 1 another failure,
    4 an error and no failure, 0 neither."""
    failures = list(root.iter("failure"))
    if any(f.get("type") == "disagree" for f in failures):
        return runner.EXIT_DISAGREE
    if failures:
        return runner.EXIT_MISMATCH
    if any(True for _ in root.iter("error")):
        return runner.EXIT_UNKNOWN
    return runner.EXIT_OK


def _table(path: Path, heading: str) -> dict[int, str]:
    """The `| status | meaning |` rows under `heading` in a Markdown file."""
    text = path.read_text()
    part = text[text.index(heading):]
    rows: dict[int, str] = {}
    for line in part.splitlines()[1:]:
        if line.startswith("#"):
            break
        m = re.match(r"\|\s*(\d)\s*\|(.*)\|\s*$", line)
        if m:
            rows[int(m.group(1))] = m.group(2)
    return rows


# what each status means, in the words README, docs/ci.md and the code's docstrings use
WORDS = {runner.EXIT_OK: "match", runner.EXIT_MISMATCH: "contradicts", runner.EXIT_DISAGREE: "disagree",
         runner.EXIT_UNKNOWN: "undecided"}


def test_the_readme_table_lists_every_status_the_code_returns_with_its_meaning():
    rows = _table(ROOT / "README.md", "## Exit status")
    assert set(rows) == {runner.EXIT_OK, runner.EXIT_MISMATCH, runner.EXIT_USAGE, runner.EXIT_DISAGREE,
                         runner.EXIT_UNKNOWN}
    for status, word in WORDS.items():
        assert word in rows[status], (status, rows[status])
    assert "--strict" in rows[runner.EXIT_UNKNOWN] and "interrupt" in rows[runner.EXIT_UNKNOWN]
    assert "writer_terminates" in rows[runner.EXIT_OK]  # a safe expectation needs every property decided
    assert "bad input" in rows[runner.EXIT_USAGE]


def test_docs_ci_and_the_plugin_and_junit_say_the_same():
    ci = (ROOT / "docs" / "ci.md").read_text()
    for needle in ("status 1", "status 3", "status 4", "--strict", "--slabproof-strict", 'type="undecided"',
                   'type="disagree"', 'type="mismatch"', 'type="interrupted"', "<skipped"):
        assert needle in ci, needle
    from slabproof import pytest_plugin

    assert "runner.spec_passes" in (pytest_plugin.__doc__ or "")
    assert "exit status is 1 or 3" in (junit.__doc__ or "") and "exactly when it is 4" in (junit.__doc__ or "")


# ---------------------------------------------------------------------------
# made-up outcomes through every gate

PROPS = tuple((p.name, p.kind) for p in model.build(spec.load(GOOD)).properties) + (("writer_terminates", "always"),)
EXPECTS = [
    'verdict = "safe"\nwitnesses = ["reader_holds_prev_at_publish"]',
    'verdict = "safe"',
    'verdict = "violated"',
    'verdict = "violated"\nviolates = ["no_use_after_free"]',
    'verdict = "violated"\nviolates = ["writer_terminates"]\nwitnesses = ["reader_holds_prev_at_publish"]',
]


def _spec(expect: str, name: str = "s") -> spec.Spec:
    text = GOOD.read_text()
    head = text[:text.index("[expect]")]
    return spec.loads(head + "[expect]\n" + expect + "\n", f"{name}.toml")


def _trace(name: str, kind: str) -> Trace:
    step = TraceStep(1, "cpu0", "cpu0", "ac_access", "f()", "touches it")
    return Trace(name, kind, (step,), {}, "the end")


@st.composite
def results(draw: st.DrawFn) -> tuple[EngineResult, ...]:
    engines = draw(st.lists(st.sampled_from(runner.available_engines()), min_size=1, max_size=4, unique=True))
    out = []
    for e in engines:
        verdict = draw(st.sampled_from(list(Verdict)))
        reason = draw(st.sampled_from(["", "state limit of 9 reached", "interrupted"])) \
            if verdict == Verdict.UNKNOWN else ""
        props = []
        for n, k in PROPS:
            h = draw(st.sampled_from([None, True, False]))
            shows = h is not None and (h is False) == (k == "always")  # a counterexample or a witness
            props.append(PropertyResult(n, k, "", h, _trace(n, "counterexample" if k == "always" else "witness")
                                        if shows and draw(st.booleans()) else None))
        out.append(EngineResult(engine=e, spec="s.toml", cpus=2, verdict=verdict, reason=reason, states=5,
                                depth=2, properties=tuple(props)))
    return tuple(out)


CASES = st.lists(st.tuples(st.sampled_from(EXPECTS), results()), min_size=1, max_size=5)


def _outcomes(cases: list[tuple[str, tuple[EngineResult, ...]]]) -> list[SpecOutcome]:
    return [outcome(_spec(e, f"s{i}"), r) for i, (e, r) in enumerate(cases)]


@settings(max_examples=300, deadline=None)
@given(CASES, st.booleans())
def test_exit_status_and_junit_say_the_same(cases, strict):
    outcomes = _outcomes(cases)
    status = runner.exit_status(outcomes, strict)
    root = ET.fromstring(junit.to_junit(outcomes, strict=strict))
    assert junit_status(root) == status
    assert (status == 0) == (root.get("failures") == "0" and root.get("errors") == "0")
    # a spec passes alone exactly when the whole run would pass with it alone; the run passes iff every spec does
    assert (status == 0) == all(runner.spec_passes(o, strict) for o in outcomes)
    for o in outcomes:
        alone = ET.fromstring(junit.to_junit([o], strict=strict))
        assert junit_status(alone) == runner.exit_status([o], strict)
        # the table: "ok" only for a match with no undecided engine
        if report.status_text(o).plain == "ok":
            assert o.status == Status.MATCH and not o.undecided_engines
        if o.interrupted:
            assert o.status in (Status.UNDECIDED, Status.DISAGREE) and runner.exit_status([o]) != 0


@settings(max_examples=300, deadline=None)
@given(CASES)
def test_the_policy_on_made_up_outcomes(cases):
    """The policy, written out again from the README: what must hold for a spec to match."""
    for (expect, res), o in zip(cases, _outcomes(cases)):
        s = _spec(expect)
        # the made-up counterexamples (`_trace`) do not replay in the model: such a claim decides nothing, yet
        # contradicts an engine that says the property holds, and keeps the spec from matching
        forged = {(r.engine, p.name) for r in res for p in r.properties if p.kind == "always" and p.holds is False
                  and p.trace is not None and p.name != "writer_terminates"}
        claimed: dict[str, set[bool]] = {}
        decided: dict[str, set[bool]] = {}
        for r in res:
            for p in r.properties:
                if p.holds is not None:
                    claimed.setdefault(p.name, set()).add(p.holds)
                    if (r.engine, p.name) not in forged:
                        decided.setdefault(p.name, set()).add(p.holds)
        kinds = dict(PROPS)
        if any(len(v) > 1 for v in claimed.values()):
            assert o.status == Status.DISAGREE
            continue
        value = {n: next(iter(v)) for n, v in decided.items()}
        if any(r.reason == "interrupted" for r in res):
            assert o.status == Status.UNDECIDED
            continue
        need: dict[str, bool] = {}
        if s.expect.verdict == "safe":
            need.update({n: True for n, k in PROPS if k == "always"})
        else:
            need.update({n: False for n in s.expect.violates or ()})
        need.update({n: True for n in s.expect.witnesses})
        contradicted = [n for n, want in need.items() if n in value and value[n] != want]
        if s.expect.violates is not None:
            contradicted += [n for n, k in PROPS if k == "always" and n not in s.expect.violates
                             and value.get(n) is False]
        always = [n for n, k in PROPS if k == "always"]
        if s.expect.verdict == "violated" and s.expect.violates is None and all(value.get(n) is True for n in always):
            contradicted.append("all hold")
        if contradicted:
            assert o.status == Status.MISMATCH, (o.status, o.mismatch, contradicted)
            continue
        undecided = [n for n in need if n not in value]
        if s.expect.verdict == "violated" and s.expect.violates is None and not any(
                value.get(n) is False for n in always):
            undecided.append("some property violated")
        if forged:
            undecided.append("a counterexample that does not replay")
        assert o.status == (Status.UNDECIDED if undecided else Status.MATCH), (o.status, o.mismatch, undecided)
        assert (runner.exit_status([o]) == 0) == (o.status == Status.MATCH)
        # every decision names its engines: the combined verdict is data about the engines' own results
        for p in o.combined.properties:
            assert {e.engine for e in p.by} == {r.engine for r in res if r.prop(p.name).holds is not None
                                                and (r.engine, p.name) not in forged}
            assert {g.engine for g in p.undecided} == {r.engine for r in res if r.prop(p.name).holds is None
                                                       or (r.engine, p.name) in forged}
            if p.decision not in (Decision.UNDECIDED, Decision.CONFLICT):
                assert p.decision.value in ("holds", "violated") if kinds[p.name] == "always" else \
                    p.decision.value in ("witnessed", "no witness")


def test_the_plugin_decides_like_the_exit_status(tmp_path, monkeypatch):
    """The plugin's pass/fail on each spec is `exit_status([outcome]) == 0`, for outcomes of every status
    (an interrupt stops the plugin's session instead: tests/test_pytest_plugin.py)."""
    expects = {
        "match": (EXPECTS[1], {n: True for n, k in PROPS if k == "always"}, ""),
        "mismatch": (EXPECTS[1], {"no_use_after_free": False}, ""),
        "undecided": (EXPECTS[1], {n: True for n, k in PROPS if k == "always" and n != "writer_terminates"}, ""),
        "match-with-unknown-engine": (EXPECTS[3], {"no_use_after_free": False}, ""),
    }
    outcomes: dict[str, SpecOutcome] = {}
    d = tmp_path / "specs"
    d.mkdir()
    for name, (expect, holds, reason) in expects.items():
        f = d / f"{name}.toml"
        f.write_text(GOOD.read_text()[:GOOD.read_text().index("[expect]")] + "[expect]\n" + expect + "\n")
        s = spec.load(f)
        props = tuple(PropertyResult(n, k, "", holds.get(n)) for n, k in PROPS)
        res = [EngineResult("explicit", str(f), 2, Verdict.UNKNOWN if reason else Verdict.SAFE, reason=reason,
                            properties=props)]
        if name == "match-with-unknown-engine":
            res.append(EngineResult("induction", str(f), 2, Verdict.UNKNOWN, reason="no invariant"))
        outcomes[str(f)] = runner.outcome(s, res)
    monkeypatch.setattr(runner, "run_spec", lambda s, opts: outcomes[s.path])
    got: dict[str, str] = {}

    class Collect:
        def pytest_runtest_logreport(self, report):  # noqa: ANN001 - pytest's hook
            if report.when == "call":
                got[report.nodeid.split("::")[-1]] = report.outcome

    for strict in (False, True):
        got.clear()
        args = ["-p", "no:cacheprovider", "-o", "addopts=", "-q", "-p", "slabproof.pytest_plugin", str(d)]
        if strict:
            args.insert(0, "--slabproof-strict")
        code = pytest.main(args, plugins=[Collect()])
        for path, o in outcomes.items():
            passes = runner.exit_status([o], strict) == 0
            name = Path(path).stem
            assert got.get(name) == ("passed" if passes else "failed"), (name, strict, got)
        assert code != 0
    assert runner.exit_status([outcomes[str(d / "match-with-unknown-engine.toml")]]) == 0
    assert runner.exit_status([outcomes[str(d / "match-with-unknown-engine.toml")]], strict=True) == 4


# ---------------------------------------------------------------------------
# the policy on real runs (item 4 of issue 8): Z3-only runs cannot pass a wrong expectation


def _edited(tmp_path: Path, src: Path, expect: str) -> Path:
    text = src.read_text()
    f = tmp_path / src.name
    f.write_text(text[:text.index("[expect]")] + "[expect]\n" + expect + "\n")
    return f


@pytest.mark.parametrize("engines", ["induction", "param", "bmc", "induction,param", "bmc,induction,param"])
def test_z3_only_runs_do_not_accept_a_wrong_expectation(tmp_path, capsys, engines):
    f = _edited(tmp_path, GOOD, 'verdict = "violated"')
    assert main(["check", "--traces", "none", "--engine", engines, str(f)]) == runner.EXIT_UNKNOWN
    out = capsys.readouterr().out
    assert " ok " not in out and "UNKNOWN" in out and "writer_terminates" in out


@pytest.mark.parametrize("expect", ['verdict = "safe"', 'verdict = "violated"\nviolates = ["writer_terminates"]'])
def test_a_deadlock_is_undecided_without_the_explicit_engine(tmp_path, capsys, monkeypatch, expect):
    f = _edited(tmp_path, DEADLOCK, expect)
    seen = []  # the outcome the CLI computed (one run of the proof engines, not two)
    real = runner.run_spec
    monkeypatch.setattr(runner, "run_spec", lambda s, opts: seen.append(real(s, opts)) or seen[-1])
    assert main(["check", "--traces", "none", "--engine", "induction,param", str(f)]) == runner.EXIT_UNKNOWN
    capsys.readouterr()
    (o,) = seen
    assert tuple(r.engine for r in o.results) == ("induction", "param") and o.spec == str(f)
    p = o.combined.prop("writer_terminates")
    assert p.decision == Decision.UNDECIDED and {g.engine for g in p.undecided} == {"induction", "param"}
    assert all(g.why.startswith("not applicable") for g in p.undecided)


def test_the_default_engines_match_a_safe_and_a_violated_spec(capsys, monkeypatch):
    memo: dict = {}  # the --strict run reuses the first run's outcome: only the exit policy differs
    real = runner.run_spec
    monkeypatch.setattr(runner, "run_spec", lambda s, opts: memo.setdefault(s.path, real(s, opts))
                        if s.path not in memo else memo[s.path])
    assert main(["check", "--traces", "none", str(GOOD), str(SPECS / "memcg-never-2cpu.toml")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("memcg-never-2cpu "))
    row = " ".join([lines[at]] + list(itertools.takewhile(lambda ln: ln.startswith(" "), lines[at + 1:])))
    row = re.sub(r"\s+", " ", row)  # the verdict cell may wrap onto further lines of the row (and columns)
    assert " match " in row + " " and "undecided:" in row and "induction, param" in row and " ok " not in row
    assert "2 of 2 specs match" in out
    assert main(["check", "--traces", "none", "--strict", str(SPECS / "memcg-never-2cpu.toml")]) == 4
    assert "--strict: undecided: induction" in capsys.readouterr().out
    assert len(memo) == 2


def test_results_are_never_rewritten_and_the_combined_verdict_names_the_deciders():
    """Regression: `_combine` turned the proof engines' UNKNOWN into BMC's VIOLATED under their own names."""
    s = spec.load(SPECS / "memcg-never-2cpu.toml")
    o = runner.run_spec(s, runner.RunOptions(engines=("bmc", "param")))
    by = {r.engine: r for r in o.results}
    assert by["bmc"].verdict == Verdict.VIOLATED
    assert by["param"].verdict == Verdict.UNKNOWN and "backed_by" not in by["param"].extra
    assert all(p.trace is None for p in by["param"].properties)
    assert by["param"].prop("no_access_after_drain").holds is None
    v = o.combined
    assert v.verdict == Verdict.VIOLATED and o.status == Status.MATCH
    p = v.prop("no_access_after_drain")
    assert [e.text.split(" (")[0] for e in p.by] == ["trace found by bmc"]
    assert [g.engine for g in p.undecided] == ["param"] and p.undecided[0].why.startswith("not proved")
    assert [n.engine for n in o.undecided_engines] == ["param"]


def test_the_json_carries_the_combined_verdict(capsys):
    import json

    assert main(["check", "--json", "--engine", "explicit,induction", str(GOOD)]) == 0
    d = json.loads(capsys.readouterr().out)
    v = d["specs"][0]["verdict"]
    assert v["verdict"] == "safe" and v["status"] == "match" and d["specs"][0]["status"] == "match"
    wt = next(p for p in v["properties"] if p["name"] == "writer_terminates")
    assert wt["decision"] == "holds" and [b["text"] for b in wt["by"]] == ["exhaustive search by explicit"]
    assert wt["undecided"][0]["engine"] == "induction"
    nuaf = next(p for p in v["properties"] if p["name"] == "no_use_after_free")
    assert [b["text"] for b in nuaf["by"]] == ["exhaustive search by explicit", "invariant by induction (2 CPUs)"]
