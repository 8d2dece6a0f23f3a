"""Limits and Ctrl-C: a run cut short is UNKNOWN (exit status 4), never safe, and says how far it got."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from slabproof import checker, model
from slabproof.cli import main
from slabproof.lang import spec
from slabproof.results import Verdict
from slabproof.run import runner

from .conftest import ROOT, SPECS

SAFE = SPECS / "cache-if-prev-2cpu.toml"  # 393 states
SAFE_STATES = 393
VIOLATED = SPECS / "cache-never-2cpu.toml"


def big_spec(tmp: Path, cpus: int = 8) -> Path:
    """The reaper scenario with many CPUs: far too big to finish during a test."""
    f = tmp / f"big-{cpus}cpu.toml"
    f.write_text((SPECS / "reapers-if-prev-3cpu.toml").read_text().replace("cpus = 3", f"cpus = {cpus}"))
    return f


@settings(max_examples=25, deadline=None)
@given(st.integers(1, SAFE_STATES + 20))
def test_state_limit_is_unknown_below_the_full_count_and_safe_at_or_above(n):
    r = checker.explore(model.build(spec.load(SAFE)), limits=checker.Limits(max_states=n))
    if n < SAFE_STATES:
        assert r.verdict == Verdict.UNKNOWN and not r.complete
        assert r.states == n and "state limit" in r.reason
        assert all(p.holds is None for p in r.properties if p.kind == "always")
    else:
        assert r.verdict == Verdict.SAFE and r.complete and r.states == SAFE_STATES


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 600))
def test_a_limited_run_is_never_safe_on_a_violated_spec(n):
    r = checker.explore(model.build(spec.load(VIOLATED)), limits=checker.Limits(max_states=n))
    assert r.verdict in (Verdict.UNKNOWN, Verdict.VIOLATED)
    assert r.verdict == Verdict.UNKNOWN or r.violated  # a violation found before the limit is definitive


@pytest.mark.parametrize("option,value,reason", [
    ("--max-states", "50", "state limit of 50 reached"),
    ("--timeout", "1e-9", "time limit of 1e-09 s reached"),
    ("--max-memory", "1K", "memory limit of 1 KiB reached"),
])
def test_each_limit_gives_exit_4_and_json_coverage(capsys, option, value, reason):
    status = main(["check", "--json", "--engine", "explicit", option, value, str(SAFE)])
    doc = json.loads(capsys.readouterr().out)
    assert status == 4 == doc["exit_status"]
    e = doc["specs"][0]["engines"][0]
    assert e["verdict"] == "unknown" and e["reason"] == reason and e["complete"] is False
    assert e["states"] >= 1 and e["depth"] >= 0
    assert doc["specs"][0]["matches"] is False
    assert f"after {e['states']:,} states, depth {e['depth']}" in doc["specs"][0]["mismatch"]


@pytest.mark.parametrize("engine", runner.available_engines())
def test_every_engine_honours_the_time_limit(capsys, engine):
    status = main(["check", "--json", "--engine", engine, "--timeout", "1e-9", str(VIOLATED)])
    doc = json.loads(capsys.readouterr().out)
    e = doc["specs"][0]["engines"][0]
    assert e["engine"] == engine and e["verdict"] == "unknown" and "time limit" in e["reason"], e["reason"]
    assert status == 4


def test_the_text_table_shows_unknown_and_the_coverage(capsys):
    status = main(["check", "--engine", "explicit", "--max-states", "100", str(SAFE)])
    out = capsys.readouterr().out
    assert status == 4
    row = next(line for line in out.splitlines() if line.startswith("cache-if-prev-2cpu "))
    assert row.startswith("cache-if-prev-2cpu ") and "UNKNOWN" in row and " 100 " in row and " ok" not in row
    assert "cache-if-prev-2cpu: explicit: unknown (state limit of 100 reached)" in out  # the reason, below
    assert "explicit: unknown (state limit of 100 reached) after 100 states, depth" in " ".join(out.split())
    assert "0 of 1 specs match" in out
    assert "steps that never fired" not in out  # meaningless after a partial search


def test_unknown_next_to_a_mismatch_is_a_mismatch(capsys, tmp_path):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(SAFE.read_text().replace('ipi = "if-prev"', 'ipi = "never"'))
    big = big_spec(tmp_path, 4)
    assert main(["check", "--engine", "explicit", "--max-states", "300", "--traces", "none", str(wrong), str(big)]) == 1
    capsys.readouterr()


def test_exit_status_4_is_documented():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Exit status", 1)[1]
    assert "| 4 |" in section and "never reported as safe" in section
    assert runner.EXIT_UNKNOWN == 4


# ---------------------------------------------------------------------------
# Ctrl-C


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _interrupt_when_busy(p: subprocess.Popen, cpu: float = 2.5) -> tuple[str, str]:
    """SIGINT once the child has spent `cpu` seconds of CPU (past start-up, inside the search)."""
    while p.poll() is None and _cpu_seconds(p.pid) < cpu:
        time.sleep(0.05)
    assert p.poll() is None, "the run finished before it could be interrupted"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=600)
    return out, err


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "slabproof", "check", "--engine", "explicit", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@needs_proc
def test_ctrl_c_prints_the_partial_figures_and_exits_4(tmp_path):
    p = _start("--traces", "none", str(SAFE), str(big_spec(tmp_path)))
    out, err = _interrupt_when_busy(p)
    assert p.returncode == 4, (out, err)
    assert "Traceback" not in err
    assert "slabproof: interrupted: 1 of 2 specs finished" in err
    rows = [line for line in out.splitlines() if line.startswith(("cache-if-prev-2cpu ", "big-8cpu "))]
    assert len(rows) == 2
    assert rows[0].rstrip().endswith(" ok")  # the finished spec still counts
    assert "unknown" in rows[1] and "UNKNOWN" in rows[1] and "unknown (interrupted)" in " ".join(out.split())
    m = re.search(r"\s([\d,]+)\s+\d+\.\d+s\s+UNKNOWN", rows[1])
    assert m, rows[1]
    states = int(m.group(1).replace(",", ""))
    assert states > 1
    assert f"explicit: unknown (interrupted) after {states:,} states, depth" in " ".join(out.split())


@needs_proc
def test_ctrl_c_with_json_gives_a_complete_document(tmp_path):
    p = _start("--json", str(big_spec(tmp_path)))
    out, err = _interrupt_when_busy(p)
    assert p.returncode == 4, err
    doc = json.loads(out)
    assert doc["exit_status"] == 4 and doc["interrupted"] is True
    e = doc["specs"][0]["engines"][0]
    assert e["verdict"] == "unknown" and e["reason"] == "interrupted" and not e["complete"]
    assert e["states"] > 1 and e["depth"] > 0
