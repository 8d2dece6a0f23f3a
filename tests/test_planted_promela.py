"""Planted defects in the Promela export: each is put back by monkeypatching, and the SPIN
cross-check of tests/test_promela.py must then fail."""

from __future__ import annotations

import pytest

from slabproof.report import promela

from . import test_promela as t


@t.needs_pan
def test_c_and_or_semantics_is_caught(tmp_path, monkeypatch):
    """C's && / || on non-boolean operands (0/1, not the deciding operand's value)."""
    monkeypatch.setattr(promela._Gen, "is_bool", lambda self, e: True)
    with pytest.raises(AssertionError):
        t.test_and_or_keep_the_explorers_value_semantics(tmp_path)


@t.needs_pan
def test_sequential_updates_are_caught(tmp_path, monkeypatch):
    """Assignments applied one after the other, a later right-hand side reading an earlier write."""
    monkeypatch.setattr(promela, "families_read", lambda e: set())
    with pytest.raises(AssertionError):
        t.test_updates_are_parallel_assignments(tmp_path)


@t.needs_pan
def test_a_dropped_property_is_caught(tmp_path, monkeypatch):
    """The monitor leaving out a property: SPIN then misses a violation the explorer finds."""
    real = promela._Exporter.run

    def run(self):
        m = real(self)
        tag = m.assertions[0][0]
        return promela.PromelaModel(m.text.replace(f"assert({tag})", "skip"), m.spec, m.cpus, m.transitions,
                                    m.assertions, m.witnesses, m.not_exported)

    monkeypatch.setattr(promela._Exporter, "run", run)
    with pytest.raises(AssertionError):
        t.test_spin_agrees_with_the_explorer_state_for_state("memcg-never-2cpu.toml", None, tmp_path)
