"""Planted bugs in the weak-memory model: each put back, each caught by a shipped spec's expectation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.lang.expr import TRUE, And
from slabproof.results import Verdict

from .conftest import SPECS


def verdict(name: str) -> tuple[Verdict, tuple[str, ...]]:
    r = checker.explore(model.build(spec.load(SPECS / f"{name}.toml")))
    return r.verdict, r.violated


def expected(name: str) -> tuple[str, tuple[str, ...]]:
    e = spec.load(SPECS / f"{name}.toml").expect
    return e.verdict, tuple(e.violates or ())


def test_the_honest_model_meets_the_expectations() -> None:
    for name in ("whatif-tso-kick-without-smp-mb", "whatif-relaxed-memcg-publish-without-smp-wmb",
                 "memory-tso-memcg-if-prev-2cpu"):
        v, bad = verdict(name)
        assert v.value == expected(name)[0] and set(bad) == set(expected(name)[1])


def test_a_store_buffer_that_never_delays_misses_the_tso_what_if(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every writer step waits for its buffer to drain: the stores are never late, as under sc."""
    real = model._Builder.writer_actions

    def eager(self):
        return [replace(a, guard=And(a.guard, self.drained(a.writer))) for a in real(self)]

    monkeypatch.setattr(model._Builder, "writer_actions", eager)
    assert verdict("whatif-tso-kick-without-smp-mb")[0] == Verdict.SAFE  # expected violated


def test_relaxed_that_keeps_fifo_order_misses_the_wmb_what_if(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model._Builder, "ordered_before",
                        lambda self, s: [e for e in self.sites if e.writer == s.writer and e.pos < s.pos])
    assert verdict("whatif-relaxed-memcg-publish-without-smp-wmb")[0] == Verdict.SAFE  # expected violated


def test_an_smp_mb_that_does_not_drain_breaks_the_kernel_under_tso(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model._Builder, "drained", lambda self, w: TRUE)
    v, _ = verdict("memory-tso-memcg-if-prev-2cpu")
    assert v == Verdict.VIOLATED  # expected safe
