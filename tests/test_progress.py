"""Progress bars: drawn on a terminal after a delay, never when output is piped."""

from __future__ import annotations

import io
import sys

from rich.console import Console

from slabproof import checker, cli, model
from slabproof.lang import spec
from slabproof.report.progress import ExplorationProgress

from .conftest import SPECS
from .test_ipis import run


def terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=120), buf


def test_nothing_is_drawn_before_the_delay():
    con, buf = terminal()
    bar = ExplorationProgress(con, "spec", delay=0.5)
    bar(1, 1, 0, 0.0)
    bar(1025, 300, 7, 0.3)
    bar.close()
    assert buf.getvalue() == "" and bar.updates == 0


def test_states_rate_frontier_and_depth_are_drawn_after_it():
    con, buf = terminal()
    bar = ExplorationProgress(con, "memcg-never-3cpu", delay=0.5)
    bar(20480, 3000, 12, 2.0)
    bar.close()
    out = buf.getvalue()
    assert "memcg-never-3cpu" in out
    assert "20,480 states, 10,240 states/s, frontier 3,000, depth 12" in out


def test_the_explorer_reports_to_the_bar():
    con, buf = terminal()
    bar = ExplorationProgress(con, "x", delay=0.0)
    checker.explore(model.build(spec.load(SPECS / "memcg-never-3cpu.toml")), progress=bar)
    bar.close()
    assert bar.updates >= 4  # every 1,024 states of 4,914
    assert "states/s" in buf.getvalue()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_cli_draws_only_when_both_streams_are_terminals(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Tty())
    monkeypatch.setattr(sys, "stderr", _Tty())
    assert isinstance(cli.progress_bar(), ExplorationProgress)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert cli.progress_bar() is None
    monkeypatch.setattr(sys, "stderr", _Tty())
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert cli.progress_bar() is None


def test_piped_output_has_no_progress():
    p = run("check", str(SPECS / "reapers-if-prev-3cpu.toml"), "--cpus", "4", "--traces", "none", "--engine", "explicit")
    assert p.returncode == 0, p.stderr
    assert "states/s" not in p.stdout and "states/s" not in p.stderr
    assert "\x1b[" not in p.stdout + p.stderr
