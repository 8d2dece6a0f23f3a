"""Planted bugs for hostile input and bounded runs: each old behaviour, monkeypatched back in, is caught.

Each test puts one defect of issue 8 (items 6 to 8, bounds part) back and
runs the regression check of tests/test_hostile_input.py (or the fuzz
suite's verdict check) under it: the check must fail. A check that still
passed with the defect in place would be worth nothing.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import pytest

from slabproof import checker, cli, model
from slabproof.lang import spec
from slabproof.report import html
from slabproof.results import Trace, Verdict
from slabproof.run import explain, runner

from . import test_hostile_input as hostile
from .conftest import ROOT, SPECS
from .test_fuzz import assert_verdict_is_earned

CAUGHT = (AssertionError, pytest.fail.Exception)


def _old_spec_files(paths):
    """runner.spec_files before the fix: Path.is_dir() (raises on ENAMETOOLONG, EACCES; "" is ".")."""
    out = []
    for p in paths:
        pp = Path(p)
        if pp.is_dir():
            files = sorted(str(f) for f in pp.glob("*.toml"))
            if not files:
                raise spec.SpecError(p, "", "directory holds no *.toml spec files")
            out.extend(files)
        else:
            out.append(p)
    return out


def test_planted_path_errors_as_tracebacks(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "spec_files", _old_spec_files)
    with pytest.raises(OSError):
        hostile.check_long_path_component(capsys, tmp_path)
    with pytest.raises(PermissionError):
        hostile.check_unsearchable_directory(capsys, monkeypatch, tmp_path)


def test_planted_empty_path_read_as_the_current_directory(capsys, monkeypatch):
    monkeypatch.setattr(runner, "spec_files", _old_spec_files)  # "" is "."; ./pyproject.toml read as a spec
    monkeypatch.chdir(ROOT)
    with pytest.raises(CAUGHT):
        hostile.check_empty_path(capsys)


def test_planted_fifo_opened_for_reading(monkeypatch, tmp_path):
    """No regular-file check: the loader opens the FIFO (here non-blocking, so the test does not hang)."""
    monkeypatch.setattr(spec, "_check_regular", lambda path, st: None)
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    with pytest.raises(CAUGHT):
        with pytest.raises(spec.SpecError, match="is a FIFO"):
            spec.load(fifo)


def test_planted_unbounded_step_sections():
    old = spec.MAX_STEPS
    try:
        spec.MAX_STEPS = 10**9
        with pytest.raises(CAUGHT):
            hostile.test_the_200_step_spec_of_the_issue_is_refused_not_run_for_minutes()
    finally:
        spec.MAX_STEPS = old


def _old_seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{v} must be more than 0")
    return v


def _old_size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t) * (1 << 20)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 512M, 2G)") from None


@pytest.mark.parametrize("args", [("check", "--engine", "bmc", "--timeout", "nan"),
                                  ("check", "--engine", "bmc", "--timeout", "inf")])
def test_planted_non_finite_timeouts(capsys, monkeypatch, args):
    monkeypatch.setattr(cli, "_seconds", _old_seconds)
    with pytest.raises(CAUGHT + (ValueError, OverflowError)):
        hostile.check_bad_option(capsys, args)


def test_planted_unchecked_sizes(capsys, monkeypatch):
    monkeypatch.setattr(cli, "_size", _old_size)
    monkeypatch.setattr(cli, "_max_memory", _old_size)
    with pytest.raises(CAUGHT + (OverflowError,)):
        hostile.check_bad_option(capsys, ("check", "--max-memory", "1e400k"))
    with pytest.raises(CAUGHT):
        hostile.check_bad_option(capsys, ("check", "--max-memory", "0"))


def test_planted_values_echoed_whole(monkeypatch):
    monkeypatch.setattr(spec, "shown", lambda text, limit=0: spec._one_line(text))
    with pytest.raises(CAUGHT):
        hostile.check_long_values_are_shortened()


def test_planted_control_characters_passed_through(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(spec, "_one_line", lambda text: text)
    with pytest.raises(CAUGHT):
        hostile.check_ansi_in_file_names(capsys, tmp_path)


def test_planted_unbounded_default_run(capsys, monkeypatch):
    monkeypatch.setattr(cli, "_limits", lambda args: checker.Limits(None, getattr(args, "timeout", None), None))
    with pytest.raises(CAUGHT):
        hostile.check_runs_are_bounded_by_default(capsys, monkeypatch)


def test_planted_swallowed_engine_crash_in_explain(capsys, monkeypatch):
    monkeypatch.setattr(explain, "_crash_findings", lambda crashed, cd: ())  # the old explain: crash not a finding
    with pytest.raises(CAUGHT):
        hostile.check_explain_reports_crashes(capsys)


def _old_acknowledged(trace: Trace, k: int) -> list[str]:
    st = trace.steps[k]
    before = trace.steps[k - 1].state if k > 0 else trace.initial
    out = []
    for key, v in before.items():
        if key.startswith("ipi") and key.endswith(f"[{st.column}]") and v == "yes" and st.state.get(key) == "no":
            out.append("writer" + key[3:key.index("[")])
    return out


def test_planted_acknowledgement_from_labels(monkeypatch):
    monkeypatch.setattr(html, "acknowledged", _old_acknowledged)
    with pytest.raises(CAUGHT):
        hostile.check_acknowledgements_from_data()


def test_planted_unknown_relabelled_safe_is_caught_by_the_fuzz_check(monkeypatch):
    """The fuzz suite's verdict check (it used to accept any verdict at all) catches an UNKNOWN shown as SAFE."""
    real = checker.explore

    def relabel(*a, **kw):
        r = real(*a, **kw)
        return replace(r, verdict=Verdict.SAFE) if r.verdict == Verdict.UNKNOWN else r

    monkeypatch.setattr(checker, "explore", relabel)
    s = spec.load(SPECS / "cache-if-prev-2cpu.toml")  # 393 states: beyond the fuzz bound of 300
    with pytest.raises(AssertionError):
        assert_verdict_is_earned(s)


def test_planted_violation_without_a_real_trace_is_caught_by_the_fuzz_check(monkeypatch):
    real = checker.explore

    def truncate(*a, **kw):
        r = real(*a, **kw)
        props = tuple(replace(p, trace=replace(p.trace, steps=p.trace.steps[:2])) if p.trace else p
                      for p in r.properties)
        return replace(r, properties=props)

    monkeypatch.setattr(checker, "explore", truncate)
    s = spec.load(SPECS / "cache-never-2cpu.toml")
    assert model.build(s)  # (a violated spec: its counterexample, cut short, no longer breaks the property)
    with pytest.raises(AssertionError):
        assert_verdict_is_earned(s)
