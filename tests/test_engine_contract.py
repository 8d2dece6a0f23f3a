"""The typed hand-off between engines (run/engines.py): `Reachable` is frozen, carries the explorer's states, and
gives BMC a depth bound only from a complete search (an incomplete one must never make a clean BMC run SAFE)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from slabproof import checker, model
from slabproof.lang.spec import load
from slabproof.run import runner
from slabproof.run.engines import Engine, Handoff, Reachable

SPEC = Path(__file__).resolve().parent.parent / "specs" / "cache-if-prev-2cpu.toml"


@pytest.fixture(scope="module")
def system() -> model.System:
    return model.build(load(str(SPEC)))


def test_reachable_from_a_complete_search(system: model.System) -> None:
    r = checker.explore(system, keep_states=True)
    data = Reachable.of(r)
    assert r.complete and data.bound == r.depth
    assert len(data.states) == r.states and len(data.slots) == len(data.states[0])
    assert data.violated == r.violated
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.depth = 0  # type: ignore[misc]


def test_an_incomplete_search_gives_no_bound(system: model.System) -> None:
    r = checker.explore(system, keep_states=True, limits=checker.Limits(max_states=10))
    assert not r.complete
    assert Reachable.of(r).bound is None


def test_the_registered_engines_take_a_handoff(system: model.System) -> None:
    shared = Handoff()
    fn: Engine = runner.engine("explicit")
    r = fn(system, runner.RunOptions(engines=("explicit", "bmc")), shared)
    assert shared.explicit is r and "states" in r.extra  # kept for the Z3 engines, as data
    assert shared.reachable is None  # no second exploration was made
