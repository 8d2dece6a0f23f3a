"""Planted bugs in the liveness-under-fairness check: each put back, each caught.

Each test monkeypatches one defect into slabproof/fairness.py and shows that a
check of tests/test_fairness.py (or a shipped spec's expectation) fails.
"""

from __future__ import annotations

import pytest

from slabproof import checker, fairness, model
from slabproof.lang import spec
from slabproof.model import FAIRNESS

from .conftest import SPECS
from .test_fairness import system_of


def verdict(system: model.System) -> bool | None:
    return checker.explore(system).prop(FAIRNESS).holds


def test_a_check_that_ignores_fairness_fails_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    real = fairness._fair_scc
    monkeypatch.setattr(fairness, "_fair_scc", lambda g, region, cons, fair, handoff=None: real(g, region, cons, False))
    assert verdict(system_of()) is False  # test_kernel_order_holds_under_fairness would fail


def test_weak_fairness_only_fails_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Weak fairness for the IPI handler and the writer is not enough (fairness.py's docstring)."""
    real = fairness.constraints
    monkeypatch.setattr(fairness, "constraints",
                        lambda comp: {k: (a, fairness.WEAK) for k, (a, _) in real(comp).items()})
    assert verdict(system_of()) is False


def test_no_mutex_handoff_fails_the_reapers_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    real = fairness._fair_scc
    monkeypatch.setattr(fairness, "_fair_scc",
                        lambda g, region, cons, fair, handoff=None: real(g, region, cons, fair))
    assert verdict(model.build(spec.load(SPECS / "reapers-if-prev-3cpu.toml"))) is False


def test_no_stutter_states_misses_the_deadlock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forgetting that a fair run may stay in a state where nobody bound by fairness can step."""
    real = fairness._fair_scc

    def no_stutter(g, region, cons, fair, handoff=lambda s: set()):
        keep = {s for s in region if any(iid in cons for iid, _ in g.out[s]) or handoff(s)}
        return real(g, keep, cons, fair, handoff) if fair else real(g, region, cons, fair)

    monkeypatch.setattr(fairness, "_fair_scc", no_stutter)
    system = model.build(spec.load(SPECS / "whatif-ipi-handled-only-with-irqs-off.toml"))
    assert verdict(system) is not False  # the shipped expectation (violated) would fail


def test_strong_conditions_not_refined_miss_a_fair_sub_cycle() -> None:
    """Discarding an SCC that fails a strong condition, instead of searching it again without the
    states where that actor is enabled, loses the fair cycle of tests/test_fairness.py's small graph."""
    from .test_fairness import REFINE_CONS, REFINE_GRAPH

    assert fairness._fair_scc(REFINE_GRAPH, {0, 1}, REFINE_CONS, True) is not None
    assert _no_refinement(REFINE_GRAPH, {0, 1}, REFINE_CONS, True) is None


def _no_refinement(g, region, cons, fair, handoff=lambda s: set()):
    import networkx as nx

    kinds = {k: kind for k, kind in cons.values()}
    if not fair:
        return fairness.__dict__["_real_fair_scc"](g, region, cons, fair)
    for s in sorted(region):  # stutter states as in the real check
        if not ({cons[i][0] for i, _ in g.out[s] if i in cons} | handoff(s)):
            return [s], set()
    sub = nx.DiGraph()
    sub.add_nodes_from(region)
    sub.add_edges_from((a, b) for a in region for _, b in g.out[a] if b in region)
    for c in nx.strongly_connected_components(sub):
        if len(c) == 1:
            continue
        en = {a: {cons[i][0] for i, _ in g.out[a] if i in cons} | handoff(a) for a in c}
        taken = {cons[i][0] for a in c for i, b in g.out[a] if b in c and i in cons}
        if any(kinds[k] == fairness.STRONG for k in set().union(*en.values()) - taken):
            continue
        if any(kinds[k] == fairness.WEAK for k in set.intersection(*en.values()) - taken):
            continue
        return sorted(c), set(c)
    return None


fairness.__dict__.setdefault("_real_fair_scc", fairness._fair_scc)
