"""One semantics, two encodings: the Z3 transition relations agree with the explorer's successors.

For 2 and 3 CPUs and every shipped spec, on a deterministic sample of
reachable states -- spread evenly over the breadth-first order (so over every
depth) of the CPU-symmetry reduced search, plus, for every action instance,
the first state in which it is enabled -- the Z3 successors of the state -- enumerated with the solver, one
model at a time -- are exactly the explorer's successors: every explorer
transition satisfies the Z3 transition relation, and every Z3 successor is
one the explorer also has. The same is checked, on fewer states, for the
any-number-of-CPUs encodings: the quantified one (CPUs an uninterpreted sort
restricted to N named elements) and the ground one the `param` engine uses.
"""

from __future__ import annotations

from functools import lru_cache

import pytest
import z3

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.lang.expr import Read
from slabproof.z3 import symbolic

from .conftest import shipped

SPEC_IDS = [p.stem for p in shipped()]
SAMPLE = 10  # states per spec and number of CPUs (plus one per action instance)
MAX_STATES = 20000  # the sample is drawn from the first MAX_STATES states in breadth-first order


@lru_cache(maxsize=None)
def prepared(name: str, cpus: int):
    s = spec.load(next(p for p in shipped() if p.stem == name))
    if cpus < max(w.cpu for w in s.writers) + 1:
        pytest.skip(f"{name} needs more than {cpus} CPUs")
    system = model.build(s.with_cpus(cpus))
    comp = checker.Compiled(system, symmetry=False)
    r = checker.explore(system, keep_states=True, limits=checker.Limits(max_states=MAX_STATES))
    states = r.extra["states"]
    step = max(1, len(states) // SAMPLE)
    sample = list(states[::step][:SAMPLE])
    # and, for every action instance, the first state (breadth-first) in which it is enabled
    todo = set(range(len(comp.instances)))
    for st in states:
        hit = {iid for iid, _ in comp.succ(st)} & todo
        if hit:
            sample.append(st)
            todo -= hit
        if not todo:
            break
    return system, comp, r.extra["slots"], list(dict.fromkeys(sample))


def _enumerate(solver: z3.Solver, t: dict, keys: list, read) -> set[tuple[int, ...]]:
    """Every value of `t` the solver allows, found one model at a time."""
    out = set()
    while True:
        r = solver.check()
        assert r != z3.unknown, f"the solver gave up: {solver.reason_unknown()}"
        if r == z3.unsat:
            return out
        m = solver.model()
        v = tuple(read(m, k) for k in keys)
        out.add(v)
        solver.add(z3.Or(*[t[k] != val for k, val in zip(keys, _vals(t, keys, v))]))


def _vals(t: dict, keys: list, v: tuple[int, ...]) -> list:
    out = []
    for k, x in zip(keys, v):
        term = t[k]
        if z3.is_bool(term):
            out.append(z3.BoolVal(bool(x)))
        elif z3.is_bv(term):
            out.append(z3.BitVecVal(x, term.size()))
        else:
            out.append(z3.IntVal(x))
    return out


@pytest.mark.parametrize("cpus", [2, 3])
@pytest.mark.parametrize("name", SPEC_IDS)
def test_fixed_encoding_has_exactly_the_explorers_successors(name, cpus):
    system, comp, slots, sample = prepared(name, cpus)
    enc = symbolic.FixedEncoding(system)
    assert list(slots) == enc.keys  # a Z3 state and an explorer state name the same variables in the same order
    s, t = enc.state("s"), enc.state("t")
    solver = z3.SolverFor("QF_FD")
    solver.add(enc.trans(s, t))
    for st in sample:
        explicit = {nxt for _, nxt in comp.succ(st)}
        solver.push()
        solver.add(*[s[k] == v for k, v in zip(enc.keys, _vals(s, enc.keys, st))])
        for nxt in explicit:  # every explorer transition satisfies T
            solver.push()
            solver.add(*[t[k] == v for k, v in zip(enc.keys, _vals(t, enc.keys, nxt))])
            assert solver.check() == z3.sat, f"{name}: an explorer transition is not in T"
            solver.pop()
        found = _enumerate(solver, t, enc.keys, lambda m, k: enc.v.to_int(m.eval(t[k], model_completion=True)))
        solver.pop()
        assert found == explicit, f"{name}: Z3 successors differ from the explorer's"


@pytest.mark.parametrize("name", SPEC_IDS)
def test_quantified_encoding_restricted_to_n_cpus_has_the_explorers_successors(name):
    """The any-N encoding (arrays over the CPU sort, Z3 quantifiers, `Store` / `Lambda`) with the CPU sort
    pinned to an enumeration of 2 CPUs."""
    system, comp, slots, sample = prepared(name, 2)
    if any(isinstance(x, symbolic.CpuConst) for x in _cpu_consts(system)):
        pytest.skip("CPUs named by number (a migrating writer) have no meaning for any number of CPUs")
    sort, cpus = z3.EnumSort(f"Cpu2_{name}", ["c0", "c1"])
    enc = symbolic.ParamEncoding(system, cpu_sort=sort)
    fixed = symbolic.FixedEncoding(system)
    s, t = enc.state("s"), enc.state("t")

    def term(state: dict, key: tuple) -> z3.ExprRef:
        f = system.families[key[0]]
        return z3.Select(state[f.name], cpus[key[1]]) if f.kind == "cpu" else state[key]

    sv = {k: term(s, k) for k in fixed.keys}
    tt = {k: term(t, k) for k in fixed.keys}
    # T is the disjunction of the actions' steps (each with its own CPU constant for Self): its
    # solutions are the union of each step's, enumerated one step at a time
    steps = []
    for act in system.actions:
        me = enc.fresh_cpu("self") if act.actor != "writer" else None
        steps.append(enc.step(act, s, t, me))
    for st in sample[::4]:
        found: set[tuple[int, ...]] = set()
        for step in steps:
            solver = z3.Solver()
            solver.add(*[w == cpus[c] for w, c in zip(enc.writer_cpu, system.writer_cpus)])
            solver.add(step, *[sv[k] == v for k, v in zip(fixed.keys, _vals(sv, fixed.keys, st))])
            found |= _enumerate(solver, tt, fixed.keys, lambda m, k: enc.v.to_int(m.eval(tt[k], model_completion=True)))
        assert found == {nxt for _, nxt in comp.succ(st)}, name


@pytest.mark.parametrize("name", SPEC_IDS)
def test_ground_encoding_steps_like_the_explorer_for_each_acting_cpu(name):
    """The `param` engine's encoding: with its CPU terms mapped onto the CPUs of a 3-CPU state, its
    successors are the explorer's successors by the writers and by the CPU playing `self`."""
    system, comp, slots, sample = prepared(name, 3)
    enc = symbolic.GroundEncoding(system)
    fixed = symbolic.FixedEncoding(system)
    s, t = enc.state("s"), enc.state("t")
    parts, _ = enc.selector_step(s, t, "step")
    solver = z3.SolverFor("QF_FD")
    solver.add(*parts, enc.axioms(s))
    nw = len(system.writer_cpus)
    fixed_named = [c for c, pos in sorted(enc.named.items()) if pos is not None and pos >= nw]
    for st in sample[::4]:
        for me in range(3):
            # ground terms: the writers' CPUs, any CPU named by number, then self = me, d and e = the others
            rest = [c for c in range(3) if c != me]
            where = list(system.writer_cpus) + fixed_named + [me, rest[0], rest[-1]]
            where = where[:len(enc.cpu_terms)]
            solver.push()
            for i, c in enumerate(where):
                solver.add(enc.cpu_terms[i] == z3.BitVecVal(c, enc.cpu_width))
            for key, v in zip(fixed.keys, st):
                f = system.families[key[0]]
                targets = [(key[0], i) for i, c in enumerate(where) if c == key[1]] if f.kind == "cpu" else [key]
                for k in targets:
                    solver.add(s[k] == _vals(s, [k], (v,))[0])
            keys = enc.keys
            found = _enumerate(solver, t, keys, lambda m, k: enc.v.to_int(m.eval(t[k], model_completion=True)))
            solver.pop()

            def project(nxt: tuple[int, ...]) -> tuple[int, ...]:  # called in this iteration only
                out = []
                for k in keys:  # noqa: B023
                    f = system.families[k[0]]
                    fk = (k[0], where[k[1]]) if f.kind == "cpu" else k  # noqa: B023
                    out.append(nxt[fixed.layout.slot[fk]])
                return tuple(out)

            expected = {project(nxt) for iid, nxt in comp.succ(st)
                        if comp.instances[iid].cpu in (None, me)}
            assert found == expected, f"{name}: acting CPU {me}"


def _cpu_consts(system: model.System) -> list:
    out: list = []

    def walk(e: object) -> None:
        if isinstance(e, symbolic.CpuConst):
            out.append(e)
        elif isinstance(e, Read):
            walk(e.index)
        elif hasattr(e, "args"):
            for a in e.args:  # type: ignore[attr-defined]
                walk(a)
        elif hasattr(e, "body"):
            walk(e.body)  # type: ignore[attr-defined]

    for a in system.actions:
        walk(a.guard)
        for u in a.update:
            walk(u.value)
            walk(getattr(u, "index", None))
    return out
