"""Planted bugs for signals and output files: each puts one old defect back and shows its check catches it.

Each check is a function returning whether the behaviour is right; each test asserts it holds on
today's code and fails with the old behaviour monkeypatched in.
"""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import z3

from slabproof import checker
from slabproof.cli import main
from slabproof.lang import spec
from slabproof.lang.spec import SpecError
from slabproof.report import outputs
from slabproof.results import EngineResult, Verdict
from slabproof.run import runner, signals
from slabproof.z3 import bmc, symbolic

from .conftest import SPECS
from .test_limits import needs_proc
from .test_signals import z3_check_is_interrupted

GOOD = SPECS / "cache-if-prev-2cpu.toml"


# ---------------------------------------------------------------------------
# the plants: the old behaviour, as it was on main


def _old_symbolic_check(solver: z3.Solver, *assumptions, budget=None) -> bool:
    """Z3 keeps its own Ctrl-C handling; an interrupted check is 'the solver gave up'."""
    if budget is not None:
        budget.arm(solver)
    r = solver.check(*assumptions)
    if r == z3.sat:
        return True
    if r == z3.unsat:
        return False
    raise symbolic.SolverGaveUp(solver.reason_unknown() or "the solver answered unknown")


def _old_reachable(system, opts, shared):
    """The exploration feeding a Z3 engine, its interruption dropped."""
    r = shared.explicit
    if r is not None and "states" in r.extra:
        return r
    r = shared.reachable
    if r is None:
        r = checker.explore(system, symmetry=opts.symmetry, limits=opts.limits, keep_states=True)
        shared.reachable = r
    return r


def _old_write(option: str, path: str, text: str | None = None, writer=None, suffix: str = ".tmp") -> None:
    """Straight over the target."""
    if text is not None:
        Path(path).write_text(text, encoding="utf-8")
    else:
        writer(path)


def _old_check_output(option: str, path: str, inputs=()) -> None:
    """A directory and a missing parent refused; the input specs not looked at."""
    p = Path(path)
    if p.is_dir():
        raise SpecError(path, option, "is a directory")
    if not p.parent.is_dir():
        raise SpecError(path, option, "no directory")


# ---------------------------------------------------------------------------
# the checks


def no_engine_runs_after_a_swallowed_signal(monkeypatch) -> bool:
    """An engine that catches the signal and says 'gave up': the runner still runs no further engine."""
    ran: list[str] = []

    def swallowing(system, opts, shared):
        ran.append("swallowing")
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1_000_000):  # (the handler runs between bytecodes: at once)
                pass
        except KeyboardInterrupt:
            pass
        return EngineResult(engine="swallowing", spec=system.spec.path, cpus=system.ncpus, verdict=Verdict.UNKNOWN,
                            reason="solver gave up: interrupted from keyboard", complete=False)

    real = runner._REGISTRY["explicit"]

    def explicit(system, opts, shared):
        ran.append("explicit")
        return real(system, opts, shared)

    monkeypatch.setitem(runner._REGISTRY, "swallowing", swallowing)
    monkeypatch.setitem(runner._REGISTRY, "explicit", explicit)
    with signals.handled():
        o = runner.run_spec(spec.load(GOOD), runner.RunOptions(engines=("swallowing", "explicit")))
    return ran == ["swallowing"] and not o.matches and o.mismatch.startswith(runner.UNDECIDED)


def the_engine_fed_by_an_interrupted_exploration_does_not_run(monkeypatch) -> bool:
    real_explore = checker.explore
    ran: list[str] = []

    def interrupted_explore(*a, **k):
        r = real_explore(*a, **k)
        return replace(r, verdict=Verdict.UNKNOWN, reason="interrupted", complete=False)

    def fake_bmc(system, **k):
        ran.append("bmc")
        return EngineResult(engine="bmc", spec=system.spec.path, cpus=system.ncpus, verdict=Verdict.SAFE)

    monkeypatch.setattr(runner.checker, "explore", interrupted_explore)
    monkeypatch.setattr(bmc, "run", fake_bmc)
    o = runner.run_spec(spec.load(GOOD), runner.RunOptions(engines=("bmc",)))
    (r,) = o.results
    return not ran and r.reason == "interrupted" and r.verdict == Verdict.UNKNOWN and not o.matches


def a_failed_write_leaves_the_old_file(tmp_path: Path) -> bool:
    target = tmp_path / "report.xml"
    target.write_text("previous, whole")

    def half(path: str) -> None:
        Path(path).write_text("half of")
        raise OSError(28, "No space left on device")

    try:
        outputs.write_atomic("--junit", str(target), writer=half)
    except (SpecError, OSError):
        pass
    return target.read_text() == "previous, whole" and sorted(p.name for p in tmp_path.iterdir()) == ["report.xml"]


def an_output_over_the_input_is_refused(tmp_path: Path, capsys) -> bool:
    f = tmp_path / "s.toml"
    f.write_text(GOOD.read_text())
    status = main(["check", "--engine", "explicit", "--junit", str(f), str(f)])
    capsys.readouterr()
    return status == 2 and f.read_text() == GOOD.read_text()


# ---------------------------------------------------------------------------
# each check: right today, and catches its plant


@needs_proc
def test_planted_z3_swallowing_ctrl_c_is_caught(monkeypatch):
    assert z3_check_is_interrupted(signal.SIGINT)
    monkeypatch.setattr(symbolic, "check", _old_symbolic_check)
    assert not z3_check_is_interrupted(signal.SIGINT)


def test_planted_runner_ignoring_a_swallowed_signal_is_caught(monkeypatch):
    assert no_engine_runs_after_a_swallowed_signal(monkeypatch)
    monkeypatch.setattr(runner.signals, "received", lambda: None)
    assert not no_engine_runs_after_a_swallowed_signal(monkeypatch)


def test_planted_feeding_exploration_dropping_its_interrupt_is_caught(monkeypatch):
    assert the_engine_fed_by_an_interrupted_exploration_does_not_run(monkeypatch)
    monkeypatch.setattr(runner, "_reachable", _old_reachable)
    assert not the_engine_fed_by_an_interrupted_exploration_does_not_run(monkeypatch)


def test_planted_non_atomic_write_is_caught(monkeypatch, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert a_failed_write_leaves_the_old_file(tmp_path / "a")
    monkeypatch.setattr(outputs, "write_atomic", _old_write)
    assert not a_failed_write_leaves_the_old_file(tmp_path / "b")


def test_planted_output_over_the_input_spec_is_caught(monkeypatch, tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert an_output_over_the_input_is_refused(tmp_path / "a", capsys)
    monkeypatch.setattr(outputs, "check_output", _old_check_output)
    assert not an_output_over_the_input_is_refused(tmp_path / "b", capsys)
