"""The root conftest's default of two xdist workers applies to the controller only.

An xdist worker calls ``pytest_cmdline_main`` too, with ``numprocesses`` reset to
None; if the hook set it to 2 there, every worker would start two more workers
(the fork bomb that filled 24 GiB of memory and timed CI out).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent


def root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_config(**extra):
    option = SimpleNamespace(numprocesses=None, dist="no", tx=None)
    manager = SimpleNamespace(hasplugin=lambda name: name == "xdist")
    return SimpleNamespace(option=option, pluginmanager=manager, **extra)


def test_the_controller_gets_two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    config = fake_config()
    root_conftest().pytest_cmdline_main(config)
    assert config.option.numprocesses == 2


def test_a_worker_does_not_start_workers_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    config = fake_config(workerinput={"workerid": "gw0"})
    root_conftest().pytest_cmdline_main(config)
    assert config.option.numprocesses is None


def test_a_pytest_started_from_inside_a_worker_runs_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    config = fake_config()
    root_conftest().pytest_cmdline_main(config)
    assert config.option.numprocesses is None


def test_an_explicit_worker_count_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    config = fake_config()
    config.option.numprocesses = 0
    root_conftest().pytest_cmdline_main(config)
    assert config.option.numprocesses == 0
