"""`pytest specs/`: every spec file is a test item whose assertion is its verdict.

Each test runs pytest in a subprocess, as CI would; the normal run (testpaths =
tests) must not collect any spec.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from .conftest import ROOT, SPECS
from .test_limits import _interrupt_when_busy, big_spec, needs_proc

GOOD = SPECS / "cache-if-prev-2cpu.toml"


def pytest_run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))  # this checkout's slabproof, whatever the cwd


def test_spec_files_in_the_checkout_are_test_items():
    files = [GOOD, SPECS / "memcg-never-2cpu.toml", SPECS / "mutants" / "reaper-drain-after-unlock.toml"]
    p = pytest_run("-v", *map(str, files))
    assert p.returncode == 0, p.stdout[-3000:]
    for f in files:
        assert f"{f.relative_to(ROOT)}::{f.stem} PASSED" in p.stdout
    assert "3 passed" in p.stdout


def test_the_specs_directory_collects_every_spec_and_mutant():
    p = pytest_run("--collect-only", "-q", "specs/")
    assert p.returncode == 0, p.stdout[-3000:]
    items = [line for line in p.stdout.splitlines() if ".toml::" in line]
    expected = sorted(SPECS.glob("*.toml")) + sorted((SPECS / "mutants").glob("*.toml"))
    assert len(items) == len(expected)
    assert not [line for line in items if "pyproject" in line]


def test_the_normal_run_collects_no_spec():
    p = pytest_run("--collect-only", "-q")
    assert p.returncode == 0, p.stdout[-3000:]
    assert ".toml::" not in p.stdout  # a spec item is FILE.toml::NAME


def test_a_wrong_expectation_fails_with_the_mismatch_and_a_bad_spec_fails_on_one_line(tmp_path):
    d = tmp_path / "specs"
    d.mkdir()
    shutil.copy(GOOD, d / "good.toml")
    (d / "wrong.toml").write_text(GOOD.read_text().replace('ipi = "if-prev"', 'ipi = "never"'))
    (d / "bad.toml").write_text(GOOD.read_text().replace("cpus = 2", "cpus = 0"))
    p = pytest_run("-p", "slabproof.pytest_plugin", "--junitxml", str(tmp_path / "j.xml"), "specs", cwd=tmp_path)
    assert p.returncode == 1, p.stdout[-3000:]
    assert "1 passed" in p.stdout and "2 failed" in p.stdout
    assert "wrong.toml: mismatch: no_use_after_free violated (trace found by explicit (" in p.stdout
    assert "), expected safe" in p.stdout
    assert "shortest counterexample for no_access_after_drain" in p.stdout
    assert "bad.toml:3: cpus: 0 CPUs is impossible here; valid: 1 to 8" in p.stdout
    assert "Traceback" not in p.stdout
    root = ET.parse(tmp_path / "j.xml").getroot()  # pytest's own JUnit report works on spec items
    assert root.find(".//testsuite").get("failures") == "2"


def test_unknown_fails_the_item(tmp_path):
    p = pytest_run("--slabproof-engine", "explicit", "--slabproof-max-states", "20", str(GOOD))
    assert p.returncode == 1
    assert "explicit: unknown (state limit of 20 reached) after 20 states" in p.stdout


def test_engine_option(tmp_path):
    p = pytest_run("--slabproof-engine", "explicit", str(GOOD))
    assert p.returncode == 0, p.stdout[-3000:]
    p = pytest_run("--slabproof-engine", "magic", str(GOOD))
    assert p.returncode == 1 and "unknown engine 'magic'" in p.stdout


def test_loading_the_plugin_twice_does_not_double_the_items():
    p = pytest_run("-p", "slabproof.pytest_plugin", "--collect-only", "-q", str(GOOD))
    assert p.returncode == 0, p.stdout[-3000:]
    assert sum(1 for line in p.stdout.splitlines() if ".toml::" in line) == 1


@needs_proc
def test_ctrl_c_stops_the_session_instead_of_failing_the_item(tmp_path):
    d = tmp_path / "specs"
    d.mkdir()
    big_spec(d)
    shutil.copy(GOOD, d / "zz-after.toml")  # must not run after the interrupt
    p = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-v",
                          "-p", "slabproof.pytest_plugin", "specs"], cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    out, err = _interrupt_when_busy(p, cpu=4.0)
    assert p.returncode == 2, out[-3000:]  # pytest's "interrupted"
    assert "KeyboardInterrupt" in out
    assert "PASSED" not in out and "FAILED" not in out  # neither the interrupted spec nor the one after it
