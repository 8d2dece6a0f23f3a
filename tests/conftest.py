"""Shared fixtures: the shipped specs and a small cache of explorations."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from slabproof import checker, model
from slabproof.lang import spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def shipped() -> list[Path]:
    return sorted(SPECS.glob("*.toml"))


@lru_cache(maxsize=None)
def explored(path: str, symmetry: bool = True, cpus: int | None = None):
    s = spec.load(path)
    if cpus is not None:
        s = s.with_cpus(cpus)
    system = model.build(s)
    return system, checker.explore(system, symmetry=symmetry)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
