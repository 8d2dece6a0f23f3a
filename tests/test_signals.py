"""SIGINT, SIGTERM and SIGHUP at any moment: UNKNOWN, exit status 4, the partial figures, whole output files.

Each test runs ``python -m slabproof`` in a subprocess and sends it a real signal once it has spent
enough CPU time to be inside the wanted engine (start-up and the exploration feeding a Z3 engine take
well under a second of CPU on these specs; the Z3 engines named take several seconds).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import z3

from slabproof.cli import main
from slabproof.run import signals
from slabproof.z3 import symbolic

from .conftest import ROOT, SPECS
from .test_limits import _cpu_seconds, big_spec, needs_proc

GOOD = SPECS / "cache-if-prev-2cpu.toml"
SLOW_PARAM = SPECS / "reapers-if-prev-3cpu.toml"  # param: some 8 s of Z3; explicit: 0.5 s
SLOW_BMC = SPECS / "cache-if-prev-3cpu.toml"  # bmc: its whole budget (some 6 s); the exploration feeding it: 0.3 s


PROMPT = 3.0  # CPU seconds a run may spend between the signal and its exit (a swallowed one: 5 s and more)
WALL = 60  # seconds of wall clock after the signal before the run counts as hung (generous: a loaded machine)


def _run(args: list[str], sig: signal.Signals, cpu: float, cwd: Path = ROOT,
         module: tuple[str, ...] = ("-m", "slabproof")) -> tuple[subprocess.Popen, str, str, float]:
    """Start the command, send `sig` once it has spent `cpu` seconds of CPU; (process, out, err, CPU seconds it
    spent after the signal). CPU time, not wall clock, measures promptness: on a loaded machine a prompt exit
    may take seconds of wall clock, but not of CPU."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # this checkout's slabproof, whatever the cwd
    p = subprocess.Popen([sys.executable, *module, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    at = 0.0
    while p.poll() is None and (at := _cpu_seconds(p.pid)) < cpu:
        time.sleep(0.02)
    assert p.poll() is None, "the run finished before the signal"
    p.send_signal(sig)
    out, err, total = _reap(p, WALL)
    if total is None:
        pytest.fail(f"still running {WALL} s after {sig.name}: the signal was swallowed\n{out[-2000:]}")
    return p, out, err, total - at


def _reap(p: subprocess.Popen, timeout: float) -> tuple[str, str, float | None]:
    """Read the child's output and reap it: (out, err, the CPU seconds it spent in all, or None if it was still
    running after `timeout` seconds and was killed). os.wait4 gives this child's own figures."""
    got: dict[str, str] = {}
    readers = [threading.Thread(target=lambda k=k, f=f: got.__setitem__(k, f.read()))
               for k, f in (("out", p.stdout), ("err", p.stderr))]
    for r in readers:
        r.start()
    deadline = time.monotonic() + timeout
    killed = False
    while True:
        pid, status, usage = os.wait4(p.pid, 0 if killed else os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            killed = True
        time.sleep(0.02)
    p.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join()
    return got["out"], got["err"], None if killed else usage.ru_utime + usage.ru_stime


def _pigeonhole(n: int = 12) -> z3.Solver:
    """An unsat problem Z3 spends minutes on."""
    s = z3.SolverFor("QF_FD")
    x = [[z3.Bool(f"x{i}_{j}") for j in range(n)] for i in range(n + 1)]
    for i in range(n + 1):
        s.add(z3.Or(*x[i]))
    for j in range(n):
        for a in range(n + 1):
            for b in range(a + 1, n + 1):
                s.add(z3.Or(z3.Not(x[a][j]), z3.Not(x[b][j])))
    return s


def z3_check_is_interrupted(sig: signal.Signals, within: float = 5.0) -> bool:
    """Whether `sig`, sent during a long `symbolic.check`, ends it with `signals.Interrupted` in time."""
    solver = _pigeonhole()
    with signals.handled():
        timer = threading.Timer(0.5, os.kill, (os.getpid(), sig))
        timer.start()
        t = time.monotonic()
        try:
            symbolic.check(solver, budget=symbolic.Budget(seconds=within + 5))
        except signals.Interrupted:
            return time.monotonic() - t < within
        except symbolic.SolverGaveUp:
            return False
        finally:
            timer.cancel()
    return False


@needs_proc
@pytest.mark.parametrize("sig", signals.SIGNALS, ids=lambda s: s.name)
def test_a_signal_during_a_z3_check_interrupts_it(sig):
    assert z3_check_is_interrupted(sig)


@pytest.mark.parametrize("installed", [False, True])
def test_a_spent_budget_is_not_an_interrupt(installed):
    # (Z3 says "canceled" for a spent rlimit: that is the solver giving up, never a signal)
    with signals.handled() if installed else contextlib.nullcontext():
        with pytest.raises(symbolic.SolverGaveUp, match="resource units spent"):
            symbolic.check(_pigeonhole(), budget=symbolic.Budget(units=2_000_000))


@needs_proc
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_inside_param_stops_the_run_and_no_engine_runs_after_it(sig):
    p, out, err, _ = _run(["check", "--engine", "param,explicit", "--json", str(SLOW_PARAM)], sig, cpu=2.5)
    assert p.returncode == 4, (out[-2000:], err)
    doc = json.loads(out)
    assert doc["interrupted"] is True and doc["exit_status"] == 4
    (o,) = doc["specs"]
    assert not o["matches"] and o["mismatch"].startswith("undecided")
    assert [e["engine"] for e in o["engines"]] == ["param"]  # explicit never ran
    assert o["engines"][0]["verdict"] == "unknown" and o["engines"][0]["reason"] == "interrupted"
    assert ("interrupted" if sig == signal.SIGINT else f"interrupted by {sig.name}") in err
    assert "Traceback" not in err


@needs_proc
def test_sighup_inside_bmc_stops_the_run():
    p, out, err, after = _run(["check", "--engine", "bmc,explicit", "--timeout", "60", "--traces", "none",
                              str(SLOW_BMC)], signal.SIGHUP, cpu=1.8)
    assert p.returncode == 4, (out[-2000:], err)
    assert after < PROMPT, after
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("cache-if-prev-3cpu "))
    row = lines[at:at + 1] + [ln for ln in lines[at + 1:at + 4] if ln.startswith(" ")]  # a cell may wrap
    assert "unknown (interrupted)" in " ".join(" ".join(row).split()) and "UNKNOWN" in row[0]
    assert " ok " not in " ".join(row) + " "
    assert "explicit" not in " ".join(row)  # the explicit engine never ran: the verdict names no such engine
    assert "interrupted by SIGHUP" in err


@needs_proc
def test_a_signal_in_the_exploration_that_feeds_bmc_stops_the_run(tmp_path):
    p, out, err, after = _run(["check", "--engine", "bmc,explicit", "--json", str(big_spec(tmp_path))],
                             signal.SIGINT, cpu=2.0)
    assert p.returncode == 4, (out[-2000:], err)
    assert after < PROMPT, after
    (o,) = json.loads(out)["specs"]
    (b,) = o["engines"]
    assert b["engine"] == "bmc" and b["verdict"] == "unknown" and b["reason"] == "interrupted"
    assert b["states"] > 1 and "exploration" in b["extra"]["interrupted_in"]  # the feeding search's figures


@needs_proc
def test_sigterm_in_a_directory_run_writes_this_runs_junit_with_the_interrupted_spec_as_an_error(tmp_path):
    d = tmp_path / "specs"
    d.mkdir()
    (d / "a-good.toml").write_text(GOOD.read_text())
    # expected violated; the explorer finds violations at once and keeps going for ever
    (d / "b-never-8cpu.toml").write_text((SPECS / "cache-never-4cpu.toml").read_text().replace("cpus = 4", "cpus = 8"))
    (d / "c-after.toml").write_text(GOOD.read_text())
    report = tmp_path / "junit.xml"
    report.write_text("<testsuites><testsuite name='old run' tests='1'><testcase name='stale'/></testsuite>"
                      "</testsuites>")
    p, out, err, _ = _run(["check", "--engine", "explicit", "--json", "--junit", str(report), str(d)],
                          signal.SIGTERM, cpu=2.5)
    assert p.returncode == 4, (out[-2000:], err)
    doc = json.loads(out)
    assert doc["interrupted"] is True
    names = [o["name"] for o in doc["specs"]]
    assert names == ["a-good", "b-never-8cpu"]  # c-after never ran
    bad = doc["specs"][1]
    assert bad["matches"] is False and bad["mismatch"].startswith("undecided")
    e = bad["engines"][0]
    assert e["verdict"] == "unknown" and e["reason"] == "interrupted" and e["states"] > 1
    root = ET.parse(report).getroot()
    cases = root.iter("testcase")
    by = {c.get("classname"): c for c in cases}
    assert "stale" not in report.read_text()
    assert by["slabproof.a-good"].find("error") is None
    err_el = by["slabproof.b-never-8cpu"].find("error")
    assert err_el is not None and "interrupted" in err_el.get("message", "")
    assert root.get("errors") == "2"  # the spec's verdict test case and the interrupted engine's
    assert not list(tmp_path.glob(".junit.xml.*"))  # no temporary file left


@needs_proc
def test_sigterm_at_start_up_exits_4_with_one_line(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "slabproof", "check", "--engine", "explicit", str(big_spec(tmp_path))],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while p.poll() is None and _cpu_seconds(p.pid) < 0.08:  # past start-up (0.04 s), in the imports
        time.sleep(0.01)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 4, err
    assert "interrupted by SIGTERM" in err and "Traceback" not in err


@needs_proc
def test_sigint_in_prove_is_unknown_with_the_partial_figures():
    p, out, err, after = _run(["prove", "--json", str(SLOW_PARAM)], signal.SIGINT, cpu=2.5)
    assert p.returncode == 4, (out[-2000:], err)
    assert after < PROMPT, after
    doc = json.loads(out)
    (o,) = doc["proofs"] if "proofs" in doc else doc["specs"]
    assert o["status"] == "UNKNOWN" and "interrupted" in o["why"]
    assert o["engines"] and o["engines"][-1]["reason"] == "interrupted"


@needs_proc
def test_sigterm_in_explain_stops_it():
    p, out, err, after = _run(["explain", "--cpus", "2", "--engine", "explicit,param"], signal.SIGTERM, cpu=2.5)
    assert p.returncode == 4, (out[-2000:], err)
    assert after < PROMPT, after
    assert "interrupted by SIGTERM: no claim decided (UNKNOWN)" in err and "Traceback" not in err


@needs_proc
def test_sigint_in_check_mutants_stops_it():
    p, out, err, after = _run(["check", "--mutants", "--engine", "param,explicit", "--traces", "none"],
                             signal.SIGINT, cpu=2.5)
    assert p.returncode == 4, (out[-2000:], err)
    assert after < PROMPT and "interrupted" in err and "Traceback" not in err


@needs_proc
def test_sigint_inside_param_stops_the_pytest_plugin(tmp_path):
    d = tmp_path / "specs"
    d.mkdir()
    (d / "a-slow.toml").write_text(SLOW_PARAM.read_text())
    (d / "zz-after.toml").write_text(GOOD.read_text())
    p, out, err, _ = _run(["-p", "no:cacheprovider", "-o", "addopts=", "-v", "-p", "slabproof.pytest_plugin",
                           "--slabproof-engine", "param,explicit", "specs"], signal.SIGINT, cpu=3.0, cwd=tmp_path,
                          module=("-m", "pytest"))
    assert p.returncode == 2, out[-3000:]  # pytest's "interrupted"
    assert "PASSED" not in out and "FAILED" not in out


# ---------------------------------------------------------------------------
# output files


@pytest.mark.parametrize("option", ["--junit", "--html"])
def test_an_output_over_the_input_spec_is_refused(tmp_path, capsys, option):
    f = tmp_path / "s.toml"
    f.write_text(GOOD.read_text())
    before = f.read_text()
    status = main(["check", "--engine", "explicit", option, str(tmp_path / "." / "s.toml"), str(f)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and option in err and "s.toml" in err and "input spec" in err
    assert f.read_text() == before


def test_an_output_over_a_spec_of_the_directory_run_is_refused(tmp_path, capsys):
    d = tmp_path / "specs"
    d.mkdir()
    (d / "a.toml").write_text(GOOD.read_text())
    os.symlink(d / "a.toml", tmp_path / "link.xml")
    assert main(["check", "--engine", "explicit", "--junit", str(tmp_path / "link.xml"), str(d)]) == 2
    assert "input spec" in capsys.readouterr().err
    assert (d / "a.toml").read_text() == GOOD.read_text()


def test_graph_dot_over_its_spec_is_refused(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text(GOOD.read_text())
    assert main(["graph", str(f), "--dot", str(f)]) == 2
    err = capsys.readouterr().err
    assert "--dot" in err and "input spec" in err and err.count("\n") == 1
    assert f.read_text() == GOOD.read_text()


def test_ipis_png_a_directory_is_refused(tmp_path, capsys):
    d = tmp_path / "plots"
    d.mkdir()
    assert main(["ipis", "--cpus", "2", "--memcgs", "10", "--sweep-memcgs", "10", "--png", str(d)]) == 2
    err = capsys.readouterr().err
    assert "--png" in err and "directory" in err and err.count("\n") == 1
    assert not (tmp_path / "plots.png").exists() and not list(d.iterdir())


def test_ipis_png_without_the_suffix_writes_that_name(tmp_path, capsys):
    out = tmp_path / "plot"
    assert main(["ipis", "--cpus", "2", "--memcgs", "10", "--sweep-memcgs", "10", "--png", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "plot.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot"]
    capsys.readouterr()


@needs_proc
def test_sigint_in_graph_exits_4_and_writes_no_half_graph(tmp_path):
    dot = tmp_path / "g.dot"
    p, out, err, after = _run(["graph", str(big_spec(tmp_path)), "--dot", str(dot), "--max-nodes", "100000000"],
                             signal.SIGINT, cpu=2.0)
    assert p.returncode == 4, (out, err)
    assert "no graph written" in err and "UNKNOWN" in err and "Traceback" not in err
    assert not dot.exists() and not list(tmp_path.glob(".g.dot.*"))


def test_z3_interrupted_outside_a_check_is_an_interrupt_not_a_crash(monkeypatch):
    # Context.interrupt() that lands while Z3 builds a model or simplifies raises Z3Exception("canceled")
    from slabproof.lang import spec
    from slabproof.run import runner

    def canceled(system, opts, shared):
        signals._state["received"] = "SIGTERM"  # (what the handler records; its own raise came too late)
        raise z3.Z3Exception("canceled")

    monkeypatch.setitem(runner._REGISTRY, "canceled", canceled)
    with signals.handled():
        signals.finishing()  # (so that signals.check() elsewhere does not raise)
        o = runner.run_spec(spec.load(GOOD), runner.RunOptions(engines=("canceled", "explicit")))
    assert [r.engine for r in o.results] == ["canceled"]
    assert o.results[0].reason == "interrupted" and not o.matches


@needs_proc
def test_the_promptness_measure_counts_the_cpu_spent_after_the_signal():
    """A run that goes on computing after the signal is caught, whatever the load (the old wall-clock bound
    failed a prompt run on a loaded machine: 10.079 s)."""
    code = ("import signal, time\n"
            "signal.signal(signal.SIGINT, lambda *a: None)\n"
            "t = time.process_time()\n"
            "while time.process_time() - t < 0.3 + 4.5: pass\n")
    p, out, err, after = _run([], signal.SIGINT, cpu=0.3, module=("-c", code))
    assert p.returncode == 0, err
    assert after > PROMPT, after
