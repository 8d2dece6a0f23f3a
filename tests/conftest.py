"""Shared fixtures: the shipped specs and a small cache of explorations."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import pytest

from slabproof import checker, model
from slabproof.lang import spec

from . import tiers

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def shipped() -> list[Path]:
    return sorted(SPECS.glob("*.toml"))


_EXPLORE = checker.explore  # (the engine itself, also while `shared_explorations` stands in for it)


@lru_cache(maxsize=None)
def explored(path: str, symmetry: bool = True, cpus: int | None = None):
    s = spec.load(path)
    if cpus is not None:
        s = s.with_cpus(cpus)
    system = model.build(s)
    return system, _EXPLORE(system, symmetry=symmetry)


@pytest.fixture
def shared_explorations(monkeypatch: pytest.MonkeyPatch) -> None:
    """`checker.explore` answers a plain exploration of a shipped spec (default limits, no progress, no
    states or graph kept, not stopped early) from `explored`'s cache, so a CLI test that checks every
    shipped spec reuses the explorations tests/test_specs.py pins (in the same worker) instead of
    repeating them; any other call explores as usual."""
    real = _EXPLORE

    def explore(system, *, symmetry=True, limits=None, progress=None, stop_at_first=False, keep_states=False,
                keep_graph=False):
        plain = (limits is None or limits == checker.Limits()) and not (stop_at_first or keep_states or keep_graph)
        path = Path(system.spec.path).resolve()
        if plain and path.parent == SPECS and path.suffix == ".toml":
            # (called as tests/test_specs.py calls it: lru_cache keys on the arguments' spelling)
            cached_system, r = explored(str(path)) if symmetry else explored(str(path), False)
            if replace(cached_system.spec, path=system.spec.path) == system.spec:
                return replace(r, spec=system.spec.path)
        return real(system, symmetry=symmetry, limits=limits, progress=progress, stop_at_first=stop_at_first,
                    keep_states=keep_states, keep_graph=keep_graph)

    monkeypatch.setattr(checker, "explore", explore)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The two tiers (tests/tiers.py): the slow tests are left out unless ``-m`` asks for them."""
    tiers.apply(config, items)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """Say what the default tier left out (under xdist the workers deselect, and pytest's count stays silent)."""
    if not config.option.markexpr and not getattr(config, "workerinput", None):
        n = len(tiers.slow_ids())
        terminalreporter.write_line(f"default tier: the {n} slow tests of tests/slow_tests.txt are left out of "
                                    "it; `python -m pytest -m slow` runs them (CI runs both)")
