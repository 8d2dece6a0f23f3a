"""Planted bug: the vacuous `reader_holds_prev_at_publish` witness of issue 8 item 4, put back.

The old definition asked only that the writer be at the publish position and
that some CPU hold the array cache being replaced: no enabling condition, and
the holder could be the writer's own CPU (which blocks the publish). Each test
monkeypatches that definition back into the model and shows that the
regression checks of tests/test_witness.py catch it.
"""

from __future__ import annotations

import pytest

from slabproof import model
from slabproof.lang import spec
from slabproof.lang.expr import And, Bound, Exists, Expr, Read

from .conftest import SPECS
from .test_witness import one_cpu_witness, vacuous_witness_states


def _old_publish_witness(self: model._Builder, act: model.Action) -> Expr:
    """The definition before the fix (model.py on main): no guard, any holder."""
    x = Bound("x")
    cur = Read(self.cpu_cache, self.ops[act.op].cache)  # type: ignore[index]
    return And(Read(self.wpc, act.writer) == act.pc, self.is_ac(cur), Exists(x, Read(self.held, x) == cur))


@pytest.fixture
def old_witness(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model._Builder, "publish_witness", _old_publish_witness)


def test_planted_one_cpu_witness_is_caught(old_witness):
    assert one_cpu_witness("cache-if-prev-2cpu") is True  # the defect: a witness where none can exist


@pytest.mark.parametrize("cpus", [1, 2])
def test_planted_vacuous_states_are_caught(old_witness, cpus):
    system = model.build(spec.load(str(SPECS / "memcg-if-prev-2cpu.toml")).with_cpus(cpus))
    assert vacuous_witness_states(system), "the check must find witness states with no real publish"


def test_fixed_definition_passes_the_same_checks():
    assert one_cpu_witness("cache-if-prev-2cpu") is False
    assert vacuous_witness_states(model.build(spec.load(str(SPECS / "memcg-if-prev-2cpu.toml")))) == []
