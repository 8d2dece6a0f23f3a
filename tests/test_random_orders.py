"""Random step orders (hypothesis): whatever the order, the verdict agrees with replaying its evidence."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.results import Verdict

from .replay import holds, replay

BASE = """
cpus = 2
ipi = "{ipi}"
reapers = {reapers}

[[cache]]
name = "root"
boot = true

[[cache]]
name = "child"
memcg = true

[[writer]]
cpu = 0
script = ["create child", "tune child"]

[steps]
reader = {reader}
tune = {tune}
create = {create}
reaper = {reaper}

[expect]
verdict = "safe"
"""


def _order(all_steps: tuple[str, ...], required: tuple[str, ...]):
    """A random sub-order of `all_steps` that keeps the required steps."""
    optional = [s for s in all_steps if s not in required]
    return st.tuples(st.lists(st.sampled_from(optional), unique=True), st.randoms(use_true_random=False)).map(
        lambda t: _shuffled(list(required) + t[0], t[1]))


def _shuffled(xs, rnd):
    rnd.shuffle(xs)
    return xs


def _toml_list(xs) -> str:
    return "[" + ", ".join(f'"{x}"' for x in xs) + "]"


specs = st.builds(
    lambda ipi, reapers, reader, tune, create, reaper: BASE.format(
        ipi=ipi, reapers=str(reapers).lower(), reader=_toml_list(reader), tune=_toml_list(tune),
        create=_toml_list(create), reaper=_toml_list(reaper)),
    st.sampled_from(model.IPI_CONDITIONS),
    st.booleans(),
    _order(model.READER_STEPS, model.REQUIRED_READER),
    _order(tuple(s for s in model.WRITER_STEPS if s != "publish_cache"), model.REQUIRED_TUNE),
    _order(model.WRITER_STEPS, model.REQUIRED_CREATE),
    _order(model.REAPER_STEPS, model.REQUIRED_REAPER),
)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_random_orders_verdict_agrees_with_replayed_evidence(text):
    _agrees(text, 200_000)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_a_few_random_orders_agree_with_replayed_evidence(text):
    """The default run's share of the test above: 5 orders, configurations of up to 30,000 states."""
    _agrees(text, 30_000)


def _agrees(text: str, max_states: int) -> None:
    s = spec.loads(text, "<random>")
    system = model.build(s)
    r = checker.explore(system, limits=checker.Limits(max_states=max_states))
    state_props = {q.name for q in system.properties}  # (the liveness properties are not state formulas)
    if not r.complete:
        return
    for p in r.properties:
        if p.name not in state_props or p.trace is None:
            continue
        comp, states = replay(system, p.trace)
        if p.kind == "always":
            pre = states[-2] if p.trace.steps and p.trace.steps[-1].violating else states[-1]
            assert not holds(comp, system, p.name, pre)
            assert p.holds is False
        else:
            assert holds(comp, system, p.name, states[-1])
    held = [p.name for p in r.properties if p.kind == "always" and p.holds and p.name in state_props]
    if held:
        # a property said to hold really holds in every state the unreduced search reaches
        flat = checker.explore(system, symmetry=False, keep_states=True)
        comp = checker.Compiled(system, symmetry=False)
        for name in held:
            assert all(holds(comp, system, name, st_) for st_ in flat.extra["states"]), name
    assert r.verdict == (Verdict.VIOLATED if r.violated else Verdict.SAFE)
