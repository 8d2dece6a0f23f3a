"""Candidate clauses that speak of roles, not of concrete objects: a small invariant a person can check.

Not an engine: `houdini.prove` tries this candidate language first when it
minimizes (``slabproof prove``) and falls back to the state-variable levels
(`houdini.generate`) when it does not prove every safety property.

A clause has one *role variable*, universally quantified:

* ``x`` -- every CPU (the writers' CPUs included), a real `Forall` of the
  expression language;
* ``k`` -- every kmem_cache, ``a`` -- every array cache (finite sorts: the
  clause is the conjunction over their members);
* none -- a clause about the writers alone.

It is built from *terms*, each an expression of the shared language
(`slabproof.lang.expr`) over the role variable and the writers:

* the writer's *phase*: the step its next move is, grouped over its operations
  (``writer0 at csd_lock_wait``: the wait of whichever operation it is in),
  derived from the step list of the model, not from names;
* the writer's current operation: its new array cache (``new[w]``), the
  kmem_cache it sets up (``cpu_cache[cur[w]]``), ``prev[w]``, and their
  lifecycle states;
* what CPU x holds (``ac[x]``, ``reaper_ac[x]``): its kind (none, NULL, an
  array cache), its lifecycle state, whether its kmem_cache is visible, whether
  it is the writer's ``prev``; x's IRQs, reader position, pending IPIs;
* for a kmem_cache k: visible, the kind and state of its ``cpu_cache``, whether
  that pointer is one of k's own array caches;
* for an array cache a: its state, whether it is ``prev``, ``new`` or the
  current ``cpu_cache`` of its kmem_cache, and where its allocating operation
  stands relative to the writer (not begun, current, finished).

A clause is ``P => t in S`` with P one or two atoms ``term == value`` (two:
a writer-phase atom and an atom of the role) or none, t a term, and S the set
of values t takes in the explored states where P holds (`states`, data from
the explicit engine) -- so every candidate holds in every explored state. When
P never holds, the clause is ``not P``. As in `houdini.generate`, a clause is
emitted only when it says more than the clauses with fewer premises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from slabproof.lang.expr import (
    FALSE,
    And,
    Bound,
    Const,
    CpuConst,
    Expr,
    Forall,
    Implies,
    In,
    Ite,
    Op,
    Or,
    Read,
    WriterCpu,
)
from slabproof.model import AC_BASE, NONE, NULL, STATUS_NAMES, System

X = Bound("x")
KIND_NAMES = ("none", "NULL", "an array cache")
RANK_NAMES = ("not begun", "current", "finished", "another's")
BOOL_NAMES = ("no", "yes")


@dataclass(frozen=True)
class Term:
    """A value of the state, for one instance of a role: `make(inst)` is its expression."""

    key: str  # unique, stable
    role: str  # "g" (writers only), "x", "k", "a"
    code: str  # the formula, e.g. "ac_state[ac[x]]"
    noun: str  # in words, e.g. "the state of the array cache CPU x holds"
    names: tuple[str, ...]  # the word for each value
    make: Callable[[object], Expr]
    premise: bool = True
    # for a phase term: value v stands for the positions `pcs[v]` of writer `writer`
    pcs: tuple[tuple[int, ...], ...] = ()
    writer: int = -1
    wpc: object = None  # the writer_pc family, for a phase term

    def atom(self, inst: object, values: Sequence[int]) -> Expr:
        if self.pcs:
            pos = sorted({p for v in values for p in self.pcs[v]})
            return In(Read(self.wpc, self.writer), pos)  # type: ignore[arg-type]
        e = self.make(inst)
        return e == values[0] if len(values) == 1 else In(e, values)

    def show(self, values: Sequence[int]) -> str:
        ws = [self.names[v] for v in sorted(values)]
        if self.pcs:
            others = [n for i, n in enumerate(self.names) if i not in values]
            word, ws = ("not at", others) if len(others) < len(ws) else ("at", ws)
            return f"{self.code} {word} " + (ws[0] if len(ws) == 1 else "{" + ", ".join(ws) + "}")
        if set(ws) <= {"yes", "no"} and len(ws) == 1:
            return self.code if ws[0] == "yes" else f"not {self.code}"
        return f"{self.code} == {ws[0]}" if len(ws) == 1 else f"{self.code} in {{{', '.join(ws)}}}"

    def words(self, values: Sequence[int]) -> str:
        ws = [self.names[v] for v in sorted(values)]
        if self.pcs:
            others = [n for i, n in enumerate(self.names) if i not in values]
            if len(others) < len(ws):
                return f"{self.noun} is none of " + ", ".join(others)
            return f"{self.noun} is " + " or ".join(ws)
        if set(ws) <= {"yes", "no"} and len(ws) == 1:
            return self.noun if ws[0] == "yes" else f"not {self.noun}"
        return f"{self.noun} is " + " or ".join(ws)


@dataclass(frozen=True)
class RoleClause:
    """``premises => conclusion`` over one role (conclusion None: false), a closed state predicate."""

    role: str
    premises: tuple[tuple[Term, int], ...]
    conclusion: tuple[Term, tuple[int, ...]] | None
    expr: Expr  # the closed predicate (the role variable quantified)

    bound_roles: tuple[str, ...] = ()

    def show(self) -> str:
        q = {"x": "for every CPU x: ", "k": "for every kmem_cache k: ", "a": "for every array cache a: "}.get(
            self.role, "")
        prem = " and ".join(t.show(_vals(v)) for t, v in self.premises)
        if self.conclusion is None:
            return q + f"not ({prem})"
        concl = self.conclusion[0].show(self.conclusion[1])
        return q + (f"{prem} -> {concl}" if prem else concl)

    def explain(self) -> str:
        prem = " and ".join(t.words(_vals(v)) for t, v in self.premises)
        if self.conclusion is None:
            return f"Never {prem}."
        concl = self.conclusion[0].words(self.conclusion[1])
        if not prem:
            return f"Always, {concl}."
        return f"Whenever {prem}, {concl}."

    def key(self) -> tuple:
        return (self.role, len(self.premises), tuple((t.key, v) for t, v in self.premises),
                () if self.conclusion is None else (self.conclusion[0].key, self.conclusion[1]))


def _vals(v: object) -> tuple[int, ...]:
    return v if isinstance(v, tuple) else (v,)  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# the terms, from the model's families and step list


def _phases(system: System, w: int) -> tuple[list[str], list[tuple[int, ...]]]:
    """The writer's phases -- the kind of operation and the step name ("tune: csd_lock_wait") of each
    position of its program, in kernel order, then "done" -- and the positions of each."""
    steps: dict[int, str] = {}
    for act in system.actions:
        if act.actor == "writer" and act.writer == w:
            steps[act.pc] = f"{system.ops[act.op].kind}: {act.step}"  # type: ignore[index]
    names: list[str] = []
    for p in sorted(steps):
        if steps[p] not in names:
            names.append(steps[p])
    pcs = [tuple(p for p in sorted(steps) if steps[p] == n) for n in names]
    names.append("done")
    pcs.append((system.writer_end[w],))
    return names, pcs


def _op_pcs(system: System, w: int) -> list[tuple[int, tuple[int, ...]]]:
    """(op index, its positions) for each operation of writer w, in script order."""
    by: dict[int, list[int]] = {}
    for act in system.actions:
        if act.actor == "writer" and act.writer == w:
            by.setdefault(act.op, []).append(act.pc)  # type: ignore[arg-type]
    return [(oi, tuple(sorted(set(ps)))) for oi, ps in sorted(by.items(), key=lambda kv: min(kv[1]))]


def _kind(e: Expr) -> Expr:
    return Ite(e == NONE, 0, Ite(e == NULL, 1, 2))


def terms(system: System) -> dict[str, list[Term]]:
    """Every term, by role ("g" for the writers' terms, usable in every role)."""
    fam = system.families
    st, wpc, prev, cc, vis = fam["ac_state"], fam["writer_pc"], fam["prev"], fam["cpu_cache"], fam["visible"]
    nw = len(system.writer_cpus)
    caches = range(len(system.caches))
    acs_of = {k: tuple(a.ref for a in system.acs if a.cache == k) for k in caches}
    out: dict[str, list[Term]] = {"g": [], "x": [], "k": [], "a": []}
    states = tuple(STATUS_NAMES)
    news: dict[int, Expr] = {}
    curs: dict[int, Expr] = {}
    for w in range(nw):
        names, pcs = _phases(system, w)
        t = Term(f"phase{w}", "g", f"writer{w}", f"writer{w}'s next step", tuple(names),
                 lambda _i, w=w: Read(wpc, w), pcs=tuple(pcs), writer=w, wpc=wpc)
        out["g"].append(t)
        new: Expr = Const(NONE)
        cur: Expr = Const(len(system.caches))  # past the domain: reads the default
        for oi, ps in reversed(_op_pcs(system, w)):
            op = system.ops[oi]
            new = Ite(In(Read(wpc, w), ps), system.acs[op.new_ac].ref, new)
            cur = Ite(In(Read(wpc, w), ps), op.cache, cur)
        news[w], curs[w] = new, cur
        creates = [p for oi, ps in _op_pcs(system, w) if system.ops[oi].kind == "create" for p in ps]
        out["g"].append(Term(f"create{w}", "g", f"writer{w} in a create", f"writer{w}'s current operation is a "
                             "create", BOOL_NAMES, lambda _i, w=w, c=tuple(creates): In(Read(wpc, w), c)))
        p = Read(prev, w)
        g = out["g"]
        g.append(Term(f"prevkind{w}", "g", f"prev[writer{w}]", f"writer{w}'s prev", KIND_NAMES,
                      lambda _i, p=p: _kind(p)))
        g.append(Term(f"prevst{w}", "g", f"ac_state[prev[writer{w}]]", f"the state of writer{w}'s prev", states,
                      lambda _i, p=p: Read(st, p)))
        g.append(Term(f"newst{w}", "g", f"ac_state[new[writer{w}]]",
                      f"the state of the array cache writer{w}'s current operation allocates", states,
                      lambda _i, n=new: Read(st, n)))
        g.append(Term(f"previscur{w}", "g", f"prev[writer{w}] == cpu_cache[cur[writer{w}]]",
                      f"writer{w}'s prev is the cpu_cache of the kmem_cache it sets up", BOOL_NAMES,
                      lambda _i, p=p, c=cur: Op("eq", (p, Read(cc, c)))))
        g.append(Term(f"newiscur{w}", "g", f"cpu_cache[cur[writer{w}]] == new[writer{w}]",
                      f"the kmem_cache writer{w} sets up points at the new array cache", BOOL_NAMES,
                      lambda _i, n=new, c=cur: Op("eq", (Read(cc, c), n))))
        g.append(Term(f"viscur{w}", "g", f"visible[cur[writer{w}]]",
                      f"the kmem_cache writer{w} sets up is visible", BOOL_NAMES,
                      lambda _i, c=cur: Read(vis, c)))
        g.append(Term(f"mutex{w}", "g", f"slab_mutex held by writer{w}", f"writer{w} holds slab_mutex",
                      BOOL_NAMES, lambda _i, w=w: Read(fam["slab_mutex"]) == 1 + w))
    # CPU x
    xs = out["x"]
    for f in ("pc", "irqs_off") + tuple(f"ipi{w}" for w in range(nw)) + ("reaper_pc", "reaper_locked",
                                                                        "reader_locked"):
        if f not in fam:
            continue
        F = fam[f]
        noun = {"pc": "CPU x's reader position", "irqs_off": "CPU x has IRQs off",
                "reaper_pc": "CPU x's reaper position", "reaper_locked": "CPU x's reaper holds slab_mutex",
                "reader_locked": "CPU x's reader holds slab_mutex"}.get(
                    f, f"an IPI of writer{f[3:]} is pending on CPU x")
        nm = BOOL_NAMES if F.is_bool else tuple(str(v) for v in range(max(F.values) + 1))
        xs.append(Term(f, "x", f"{f}[x]", noun, nm, lambda _i, F=F: Read(F, X)))
    for h in ("ac", "reaper_ac"):
        if h not in fam:
            continue
        H = Read(fam[h], X)
        who = "CPU x's reader" if h == "ac" else "CPU x's reaper"
        xs.append(Term(f"{h}kind", "x", f"{h}[x]", f"what {who} holds", KIND_NAMES, lambda _i, H=H: _kind(H)))
        xs.append(Term(f"{h}st", "x", f"ac_state[{h}[x]]", f"the state of the array cache {who} holds", states,
                       lambda _i, H=H: Read(st, H)))
        xs.append(Term(f"{h}vis", "x", f"{h}[x] of a visible kmem_cache",
                       f"{who} holds an array cache of a visible kmem_cache", BOOL_NAMES,
                       lambda _i, H=H: Or(*[And(In(H, acs_of[k]), Read(vis, k) == 1) for k in caches if acs_of[k]])))
        for w in range(nw):
            p = Read(prev, w)
            xs.append(Term(f"{h}prev{w}", "x", f"{h}[x] == prev[writer{w}]", f"{who} holds writer{w}'s prev",
                           BOOL_NAMES, lambda _i, H=H, p=p: And(Op("eq", (H, p)), In(p, [a.ref for a in system.acs]))))
    for w in range(nw):
        xs.append(Term(f"iswriter{w}", "x", f"x is writer{w}'s CPU", f"x is writer{w}'s CPU", BOOL_NAMES,
                       lambda _i, w=w: Op("cpueq", (X, WriterCpu(w)))))
    # kmem_cache k
    ks = out["k"]
    ks.append(Term("vis", "k", "visible[k]", "k is visible", BOOL_NAMES, lambda k: Read(vis, k)))
    ks.append(Term("cckind", "k", "cpu_cache[k]", "k's cpu_cache", KIND_NAMES, lambda k: _kind(Read(cc, k))))
    ks.append(Term("ccst", "k", "ac_state[cpu_cache[k]]", "the state of k's cpu_cache", states,
                   lambda k: Read(st, Read(cc, k))))
    ks.append(Term("ccown", "k", "cpu_cache[k] is NULL or one of k's", "k's cpu_cache is NULL or one of its own "
                   "array caches", BOOL_NAMES, lambda k: In(Read(cc, k), (NULL,) + acs_of[k])))  # type: ignore[index]
    for w in range(nw):
        ks.append(Term(f"iscur{w}", "k", f"k == cur[writer{w}]", f"k is the kmem_cache writer{w} sets up",
                       BOOL_NAMES, lambda k, c=curs[w]: c == k))
    # array cache a
    As = out["a"]
    As.append(Term("st", "a", "ac_state[a]", "a's state", states, lambda a: Read(st, a)))
    As.append(Term("iscc", "a", "a == cpu_cache[its kmem_cache]", "a is its kmem_cache's cpu_cache", BOOL_NAMES,
                   lambda a: Read(cc, system.acs[a - AC_BASE].cache) == a))
    for w in range(nw):
        As.append(Term(f"isprev{w}", "a", f"a == prev[writer{w}]", f"a is writer{w}'s prev", BOOL_NAMES,
                       lambda a, w=w: Read(prev, w) == a))
        As.append(Term(f"isnew{w}", "a", f"a == new[writer{w}]",
                       f"a is the array cache writer{w}'s current operation allocates", BOOL_NAMES,
                       lambda a, n=news[w]: n == a))
        ops = {system.ops[oi].new_ac + AC_BASE: ps for oi, ps in _op_pcs(system, w)}

        def rank(a: object, w: int = w, ops: dict = ops) -> Expr:
            if a not in ops:
                return Const(3)
            ps = ops[a]
            return Ite(In(Read(wpc, w), [p for p in range(min(ps))]), 0, Ite(In(Read(wpc, w), ps), 1, 2))
        As.append(Term(f"rank{w}", "a", f"a's operation vs writer{w}",
                       f"where the operation allocating a stands for writer{w}", RANK_NAMES, rank))
    return out


class Builder:
    """Role clauses as Z3 formulas over an encoding's state, each term translated once per state and
    instance (the same translation `enc.formula` makes of the clause's closed expression)."""

    def __init__(self, enc: object) -> None:
        self.enc = enc
        self._terms: dict[tuple, object] = {}

    def _term(self, t: Term, inst: object, state: dict, env: dict) -> object:
        cpu = env.get("x")
        key = (t.key, inst if t.role != "x" else None, id(state),
               None if cpu is None else cpu if isinstance(cpu, int) else cpu.get_id())
        z = self._terms.get(key)
        if z is None:
            e = Read(t.wpc, t.writer) if t.pcs else t.make(inst)  # type: ignore[arg-type]
            z = self.enc.as_val(self.enc.expr(e, state, env))  # type: ignore[attr-defined]
            self._terms[key] = z
        return z

    def atom(self, t: Term, inst: object, values: Sequence[int], state: dict, env: dict) -> object:
        import z3

        z = self._term(t, inst, state, env)
        vals = sorted({p for v in values for p in t.pcs[v]}) if t.pcs else values
        return z3.Or(*[z == self.enc.v.val(v) for v in vals])  # type: ignore[attr-defined]

    def formula(self, c: RoleClause, state: dict) -> object:
        import z3

        def body(inst: object, env: dict) -> object:
            prem = [self.atom(t, inst, _vals(v), state, env) for t, v in c.premises]
            concl = (self.atom(c.conclusion[0], inst, c.conclusion[1], state, env) if c.conclusion is not None
                     else z3.BoolVal(False))
            return z3.Implies(z3.And(*prem), concl) if prem else concl
        if c.role == "x":
            return self.enc.quant("forall", X, lambda cpu: body(None, {"x": cpu}))  # type: ignore[attr-defined]
        if c.role == "g":
            return body(None, {})
        return z3.And(*[body(i, {}) for i in instances(self.enc.system, c.role, ())])  # type: ignore[attr-defined]


def merge(system: System, clauses: Sequence[RoleClause]) -> list[RoleClause]:
    """Clauses that differ only in the value of one premise term, merged: ``t == v1 => C`` and
    ``t == v2 => C`` become ``t in {v1, v2} => C`` (the same formula)."""
    groups: dict[tuple, list[RoleClause]] = {}
    for c in clauses:
        if not c.premises:
            groups.setdefault((c.key(), -1), []).append(c)
            continue
        for j in range(len(c.premises)):
            rest = tuple((t.key, v) for i, (t, v) in enumerate(c.premises) if i != j)
            k = (c.role, c.premises[j][0].key, j, rest,
                 None if c.conclusion is None else (c.conclusion[0].key, c.conclusion[1]))
            groups.setdefault(k, []).append(c)
    done: set[tuple] = set()
    out: list[RoleClause] = []
    for k, cs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        cs = [c for c in cs if c.key() not in done]
        if not cs:
            continue
        if len(cs) == 1 or k[1] == -1:
            continue
        j = k[2]
        vals = tuple(sorted({c.premises[j][1] for c in cs}))
        out.append(_with_premise_values(system, cs[0], j, vals))
        done.update(c.key() for c in cs)
    out.extend(c for c in clauses if c.key() not in done)
    return sorted(out, key=lambda c: ("gkax".index(c.role) if c.role in "gkax" else 9, c.show()))


def _with_premise_values(system: System, c: RoleClause, j: int, vals: tuple[int, ...]) -> RoleClause:
    prem = list(c.premises)
    prem[j] = (prem[j][0], vals)  # type: ignore[assignment]
    return clause(system, c.role, tuple(prem), c.conclusion)


def instances(system: System, role: str, cpus: Sequence[int]) -> list[object]:
    if role == "x":
        return list(cpus)
    if role == "k":
        return list(range(len(system.caches)))
    if role == "a":
        return [a.ref for a in system.acs]
    return [None]


# ---------------------------------------------------------------------------
# evaluating terms on the explored states (numpy, one column per term and instance)


class _Eval:
    def __init__(self, system: System, S: np.ndarray, slots: Sequence[tuple]) -> None:
        self.system, self.S = system, S
        self.col = {k: i for i, k in enumerate(slots)}

    def cpu(self, t: object, env: dict) -> int:
        if isinstance(t, Bound):
            return env[t.name]
        if isinstance(t, WriterCpu):
            return self.system.writer_cpus[t.writer]
        if isinstance(t, CpuConst):
            return t.cpu
        raise TypeError(f"no CPU for {t!r}")  # pragma: no cover - Self never occurs in a clause

    def ev(self, e: Expr, env: dict) -> np.ndarray:
        n = len(self.S)
        if isinstance(e, Const):
            return np.full(n, e.value, dtype=np.int64)
        if isinstance(e, Read):
            f = e.family
            if f.kind == "scalar":
                return self.S[:, self.col[(f.name, None)]].astype(np.int64)
            if f.kind == "cpu":
                return self.S[:, self.col[(f.name, self.cpu(e.index, env))]].astype(np.int64)
            if isinstance(e.index, int):
                if (f.name, e.index) in self.col:
                    return self.S[:, self.col[(f.name, e.index)]].astype(np.int64)
                return np.full(n, f.default, dtype=np.int64)
            idx = self.ev(e.index, env)  # type: ignore[arg-type]
            out = np.full(n, f.default, dtype=np.int64)
            for d in f.domain:
                out = np.where(idx == d, self.S[:, self.col[(f.name, d)]], out)
            return out
        assert isinstance(e, Op), e
        if e.op == "cpueq":
            return np.full(n, int(self.cpu(e.args[0], env) == self.cpu(e.args[1], env)), dtype=np.int64)
        a = [self.ev(x, env) for x in e.args]
        if e.op == "eq":
            return (a[0] == a[1]).astype(np.int64)
        if e.op == "ne":
            return (a[0] != a[1]).astype(np.int64)
        if e.op == "and":
            return np.logical_and.reduce([x != 0 for x in a]).astype(np.int64)
        if e.op == "or":
            return np.logical_or.reduce([x != 0 for x in a]).astype(np.int64)
        if e.op == "not":
            return (a[0] == 0).astype(np.int64)
        if e.op == "ite":
            return np.where(a[0] != 0, a[1], a[2])
        if e.op == "in":
            return np.isin(a[0], e.values).astype(np.int64)
        raise ValueError(e.op)  # pragma: no cover


def _column(E: _Eval, t: Term, inst: object) -> np.ndarray:
    if t.pcs:
        pc = E.ev(Read(t.wpc, t.writer), {})  # type: ignore[arg-type]
        out = np.full(len(E.S), -1, dtype=np.int64)
        for v, ps in enumerate(t.pcs):
            out = np.where(np.isin(pc, ps), v, out)
        return out
    return E.ev(t.make(inst), {"x": inst} if t.role == "x" else {})


def clause(system: System, role: str, premises: tuple[tuple[Term, int], ...],
           conclusion: tuple[Term, tuple[int, ...]] | None) -> RoleClause:
    """The clause with its closed expression (the role variable quantified)."""
    def body(inst: object) -> Expr:
        prem = And(*[t.atom(inst, _vals(v)) for t, v in premises])
        concl = conclusion[0].atom(inst, conclusion[1]) if conclusion is not None else FALSE
        return Implies(prem, concl) if premises else concl
    if role == "x":
        e: Expr = Forall(X, body(X))
    elif role == "g":
        e = body(None)
    else:
        e = And(*[body(i) for i in instances(system, role, ())])
    return RoleClause(role, premises, conclusion, e, ("x",) if role == "x" else ())


def generate(system: System, states: Sequence[tuple[int, ...]], slots: Sequence[tuple]) -> list[RoleClause]:
    """Every role clause that holds in all of `states` (see the module docstring)."""
    S = np.asarray(states, dtype=np.int64)
    if S.ndim != 2:
        S = S.reshape(len(states), len(slots))
    E = _Eval(system, S, slots)
    cpus = sorted({k[1] for k in slots if system.families[k[0]].kind == "cpu"})
    T = terms(system)
    g_cols = {t.key: _column(E, t, None) for t in T["g"]}
    out: dict[tuple, RoleClause] = {}

    def emit(role: str, prem: tuple, concl: tuple | None) -> None:
        c = clause(system, role, prem, concl)
        out.setdefault(c.key(), c)

    for role in ("g", "x", "k", "a"):
        insts = instances(system, role, cpus)
        if not insts:
            continue
        own = T[role]
        allterms = T["g"] + ([] if role == "g" else own)
        rows = {t.key: (np.concatenate([g_cols[t.key]] * len(insts)) if t.role == "g"
                        else np.concatenate([_column(E, t, i) for i in insts])) for t in allterms}
        targets = own if role != "g" else T["g"]
        prem_terms = [t for t in allterms if t.premise]

        def seen(mask: np.ndarray | None, t: Term, rows: dict = rows) -> set[int]:
            col = rows[t.key] if mask is None else rows[t.key][mask]
            return set(np.unique(col).tolist())

        base = {t.key: seen(None, t) for t in allterms}
        for t in targets:
            if len(base[t.key]) < len(t.names):
                emit(role, (), (t, tuple(sorted(base[t.key]))))
        single: dict[tuple, set[int]] = {}
        for a in prem_terms:
            for v in sorted(base[a.key]):
                m = rows[a.key] == v
                for t in allterms:
                    if t is a:
                        continue
                    s = seen(m, t)
                    single[(a.key, v, t.key)] = s
                    if t in targets or a.role == role:
                        if s != base[t.key] and len(s) < len(t.names):
                            emit(role, ((a, v),), (t, tuple(sorted(s))))
        # a writer phase and an atom of a CPU
        if role != "x":
            continue
        phases = [t for t in T["g"] if t.pcs]
        for a in phases:
            for b in own:
                if not b.premise:
                    continue
                for va in sorted(base[a.key]):
                    ma = rows[a.key] == va
                    for vb in sorted(base[b.key]):
                        m = ma & (rows[b.key] == vb)
                        if not m.any():
                            emit(role, ((a, va), (b, vb)), None)
                            continue
                        for t in allterms:
                            if t is a or t is b:
                                continue
                            s = seen(m, t)
                            weaker = single[(a.key, va, t.key)] & single[(b.key, vb, t.key)]
                            if s != weaker and len(s) < len(t.names):
                                emit(role, ((a, va), (b, vb)), (t, tuple(sorted(s))))
    return [out[k] for k in sorted(out, key=repr)]
