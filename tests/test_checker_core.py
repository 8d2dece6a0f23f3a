"""The explorer's generated fast paths agree with their plain definitions."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.lang.expr import compile_condition, compile_guard

from .conftest import SPECS

SYSTEM = model.build(spec.load(SPECS / "reapers-if-prev-3cpu.toml").with_cpus(4))
COMP = checker.Compiled(SYSTEM)


def _plain_canon(t: tuple[int, ...]) -> tuple[int, ...]:
    """The canonical form by definition: the interchangeable CPUs' blocks sorted into their places."""
    L = COMP.layout
    cb, B = L.cpu_base, L.block
    bl = [t[cb + c * B: cb + (c + 1) * B] for c in range(L.ncpus)]
    for c, b in zip(COMP.sym, sorted(bl[c] for c in COMP.sym)):
        bl[c] = b
    return t[:cb] + tuple(x for b in bl for x in b)


states = st.lists(st.integers(0, 3), min_size=COMP.layout.size, max_size=COMP.layout.size).map(tuple)


def test_the_spec_has_interchangeable_cpus():
    assert COMP.symmetry and len(COMP.sym) >= 3


@settings(max_examples=300, deadline=None)
@given(states)
def test_generated_canonical_form_is_the_sorted_blocks(t):
    assert COMP.canon(t) == _plain_canon(t)


@settings(max_examples=200, deadline=None)
@given(states)
def test_conditions_are_true_exactly_when_guards_are_nonzero(t):
    L, wc = COMP.layout, SYSTEM.writer_cpus
    ns = {"__builtins__": {"int": int}}
    for inst in COMP.instances[:60]:
        e = SYSTEM.actions[inst.action].guard
        g = eval(compile_guard(e, L, inst.cpu, wc), ns, {"s": t})  # noqa: S307
        c = eval(compile_condition(e, L, inst.cpu, wc), ns, {"s": t})  # noqa: S307
        assert bool(g) == bool(c), inst
    for p in SYSTEM.properties:
        g = eval(compile_guard(p.expr, L, None, wc), ns, {"s": t})  # noqa: S307
        c = eval(compile_condition(p.expr, L, None, wc), ns, {"s": t})  # noqa: S307
        assert bool(g) == bool(c), p.name


def test_merged_property_test_records_every_first_violation():
    """memcg-never at 3 CPUs violates two properties at different depths: both traces are found, shortest."""
    s = model.build(spec.load(SPECS / "memcg-never-3cpu.toml"))
    r = checker.explore(s)
    plain = checker.explore(s, symmetry=False)
    assert set(r.violated) == {"no_use_after_free", "no_access_after_drain"} == set(plain.violated)
    for name in r.violated:
        assert r.prop(name).trace.length == plain.prop(name).trace.length
