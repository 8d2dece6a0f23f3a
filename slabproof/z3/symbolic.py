"""Z3 terms from the model's one step description (`expr` + `model.System`).

This is a translation layer, not an engine: the Z3 engines (`bmc`,
`induction`, `param`) build their queries from what it returns, and nothing
here decides a verdict.

Definitions, before any code (after Ivy's `ivy_transrel`):

* A **state** is a mapping from state variables to Z3 terms. Booleans
  (families with ``is_bool``) are Z3 `Bool`; every other value is a
  bit-vector (or, on request, an `Int`) holding the same small integer the
  explicit engine stores.
* An **action instance** is an `Action` together with the CPU its `Self`
  stands for (none for a writer). Its **guard** is a formula over the
  pre-state. Its **post-state** maps every variable to a term over the
  pre-state: the update's assignments have *parallel* semantics (every
  right-hand side and every index is read in the pre-state; writes are
  applied in order, a later write to the same variable winning), and a
  variable no assignment writes keeps its pre-state term (the frame).
* The **transition relation** T(s, t) is the disjunction over instances of
  ``guard(s) and t == post(s)``.

Three encodings of the CPUs:

* `FixedEncoding` -- a fixed number N of CPUs, unrolled: one Z3 constant per
  (per-CPU family, CPU); `Self`, `WriterCpu`, `CpuConst` and bound CPUs
  resolve to integers; `Forall` / `Exists` become conjunctions /
  disjunctions over the N CPUs; `AssignAll` one write per CPU. The state
  variables and their order are those of `expr.Layout`, so a concrete state
  is the same tuple the explicit engine uses.
* `ParamEncoding` -- any number of CPUs: CPUs are an uninterpreted sort
  ``Cpu``; a per-CPU family is an array ``Cpu -> value``; `Self` is a fresh
  CPU constant per action; each writer's CPU is a constant, pairwise
  distinct; `Forall` / `Exists` are Z3 quantifiers; an assignment at one CPU
  is a `Store` and `AssignAll` a `Lambda`.
* `GroundEncoding` -- any number of CPUs for the proof queries, which are
  exists-forall: every quantifier instantiated over finitely many CPU terms
  (the writers' CPUs, the acting CPU, fresh witnesses), which is exact for
  them (see the class); quantifier-free, so Z3's SAT back end solves it.

`Budget` bounds what an engine spends (wall-clock, or deterministic Z3
resource units); `check` turns an ``unknown`` into `SolverGaveUp`.

A finite family read at a computed index (``ac_state[ac[self]]``) becomes
an if-then-else chain over the family's ``domain`` ending in its
``default``; a write at a computed index writes each domain member the index
equals (and nothing when it equals none), as the Python back end does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence, Union

import z3

from slabproof.lang.expr import (
    Assign,
    AssignAll,
    Bound,
    Const,
    CpuConst,
    Expr,
    Family,
    Layout,
    Op,
    Quant,
    Read,
    Self,
    WriterCpu,
    evaluate,
    subst_cpu,
)
from slabproof.model import Action, Property, System
from slabproof.results import TraceStep
from slabproof.run import signals

Term = z3.ExprRef
CpuRef = Union[int, z3.ExprRef]
Key = tuple  # (family name, index): index None (scalar), a domain member (finite) or a CPU (fixed N)


class SolverGaveUp(Exception):
    """Z3 answered ``unknown`` (a time limit, a resource limit, an incomplete theory).

    Engines turn this into an UNKNOWN verdict with the solver's reason; it is
    never taken as a proof.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Budget:
    """What a Z3 engine may spend: wall-clock seconds (a user's ``--timeout``) and/or Z3 resource
    units (``rlimit``), which are deterministic -- the same run stops at the same point on every
    machine and under any load, so default budgets do not make results depend on the machine.

    `arm(solver)` before every check gives the solver what is left of both (Z3's ``rlimit`` is
    counted from the start of each check; the units spent are read from Z3's context-wide counter).
    """

    def __init__(self, seconds: float | None = None, units: int | None = None) -> None:
        self.seconds = seconds
        self.units = units
        self.deadline = time.monotonic() + seconds if seconds is not None else None
        self._start = _rlimit_count()

    def used(self) -> int:
        """Z3 resource units spent since the budget was made (Z3 counts them for the whole context)."""
        return _rlimit_count() - self._start

    def arm(self, solver: z3.Solver) -> None:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise SolverGaveUp(self.spent())
            solver.set("timeout", max(1, int(left * 1000)))
        if self.units is not None:
            left_units = self.units - self.used()
            if left_units <= 0:
                raise SolverGaveUp(self.spent())
            solver.set("rlimit", left_units)

    def spent(self) -> str:
        """Why the budget ended, in words."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return f"time limit of {self.seconds:g} s reached"
        if self.units is not None and self.used() >= self.units:
            return f"budget of {self.units:,} Z3 resource units spent"
        return ""


def _rlimit_count() -> int:
    st = z3.Solver().statistics()
    return int(st.get_key_value("rlimit count")) if "rlimit count" in st.keys() else 0


# what Z3 answers when a check is stopped by Ctrl-C (its own handler) or by Context.interrupt() (a spent
# rlimit says "canceled": not an interrupt)
_INTERRUPTED = ("interrupted from keyboard", "interrupted")


def check(solver: z3.Solver, *assumptions: Term, budget: Budget | None = None) -> bool:
    """`True` for sat, `False` for unsat; `SolverGaveUp` for unknown (with the budget's reason)."""
    signals.check()  # (a signal recorded while z3's own code ran raises here, or just after the check)
    if budget is not None:
        budget.arm(solver)
    if not signals.z3_ctrl_c():
        solver.set("ctrl_c", False)  # slabproof's handlers interrupt Z3 themselves (signals.py)
    r = solver.check(*assumptions)
    signals.check()
    if r == z3.sat:
        return True
    if r == z3.unsat:
        return False
    why = budget.spent() if budget is not None else ""
    if signals.received() or (not why and solver.reason_unknown() in _INTERRUPTED):
        raise signals.Interrupted(signals.received() or "SIGINT")  # a signal, not the solver giving up
    raise SolverGaveUp(why or solver.reason_unknown() or "the solver answered unknown")


# ---------------------------------------------------------------------------
# values


def _const_values(e: object, out: set[int]) -> None:
    if isinstance(e, Const):
        out.add(e.value)
    elif isinstance(e, Read):
        if isinstance(e.index, Expr):
            _const_values(e.index, out)
        elif isinstance(e.index, int):
            out.add(e.index)
    elif isinstance(e, Op):
        out.update(e.values)
        for a in e.args:
            _const_values(a, out)
    elif isinstance(e, Quant):
        _const_values(e.body, out)


class NotSupported(Exception):
    """A construct an encoding cannot represent exactly (the engine reports UNKNOWN, "not supported")."""


def existentials(e: object, positive: bool = True, _under_forall: bool = False) -> int:
    """How many CPU witnesses `e` needs when asserted (positive) or denied: the existential quantifiers
    in effect (`Exists` asserted, `Forall` denied).

    `NotSupported` outside the cutoff fragment (docs/proofs.md, section 1): an existential in effect
    under a universal one (forall-exists: a witness for every instance of the universal, i.e. a
    function from CPUs to CPUs after Skolemization), or a quantifier whose polarity is mixed (under an
    if-then-else condition or an equality)."""
    if isinstance(e, Quant):
        exists = (e.kind == "exists") == positive
        if exists and _under_forall:
            raise NotSupported("outside the cutoff fragment: an existential CPU quantifier under a universal "
                               "one (forall-exists) needs a witness for every CPU")
        return (1 if exists else 0) + existentials(e.body, positive, _under_forall or not exists)
    if isinstance(e, Op):
        if e.op == "not":
            return existentials(e.args[0], not positive, _under_forall)
        if e.op == "implies":  # not a or b
            parts = [existentials(e.args[0], not positive, _under_forall),
                     existentials(e.args[1], positive, _under_forall)]
            return max(parts) if positive else sum(parts)
        if e.op in ("and", "or"):  # a disjunction needs the witnesses of one disjunct only
            parts = [existentials(a, positive, _under_forall) for a in e.args]
            return sum(parts) if (e.op == "and") == positive else max(parts, default=0)
        if any(_has_quant(a) for a in e.args):
            raise NotSupported(f"outside the cutoff fragment: a CPU quantifier under '{e.op}'")
        return 0
    if isinstance(e, Read) and isinstance(e.index, Expr) and _has_quant(e.index):
        raise NotSupported("outside the cutoff fragment: a CPU quantifier inside an index")
    return 0


def _has_quant(e: object) -> bool:
    if isinstance(e, Quant):
        return True
    if isinstance(e, Op):
        return any(_has_quant(a) for a in e.args)
    if isinstance(e, Read) and isinstance(e.index, Expr):
        return _has_quant(e.index)
    return False


def _cpu_consts(e: object, out: set[int]) -> None:
    """The CPU numbers `CpuConst` names in `e`."""
    if isinstance(e, CpuConst):
        out.add(e.cpu)
    elif isinstance(e, Read):
        _cpu_consts(e.index, out)
    elif isinstance(e, Op):
        for a in e.args:
            _cpu_consts(a, out)
    elif isinstance(e, Quant):
        _cpu_consts(e.body, out)


class _Values:
    """How small integers are represented: bit-vectors (default) or integers."""

    def __init__(self, system: System, kind: str) -> None:
        if kind not in ("bv", "int"):
            raise ValueError(f"value kind {kind!r}; valid: bv, int")
        self.kind = kind
        seen: set[int] = {0, 1}
        for f in system.families.values():
            seen.update(f.values)
            seen.update(f.domain)
            seen.add(f.default)
        for a in system.actions:
            _const_values(a.guard, seen)
            for u in a.update:
                _const_values(u.value, seen)
                if isinstance(u, Assign) and isinstance(u.index, Expr):
                    _const_values(u.index, seen)
        for p in system.properties:
            _const_values(p.expr, seen)
        if min(seen) < 0:
            raise ValueError("negative values are not supported")
        self.width = max(2, max(seen).bit_length() + 1)
        self.sort: z3.SortRef = z3.BitVecSort(self.width) if kind == "bv" else z3.IntSort()

    def val(self, v: int) -> Term:
        return z3.BitVecVal(v, self.width) if self.kind == "bv" else z3.IntVal(v)

    def var(self, name: str, f: Family) -> Term:
        return z3.Bool(name) if f.is_bool else z3.Const(name, self.sort)

    def sort_of(self, f: Family) -> z3.SortRef:
        return z3.BoolSort() if f.is_bool else self.sort

    def to_int(self, t: Term) -> int:
        """A concrete model value back to the integer the explicit engine uses."""
        if z3.is_true(t):
            return 1
        if z3.is_false(t):
            return 0
        if z3.is_bv_value(t):
            return t.as_long()
        if z3.is_int_value(t):
            return t.as_long()
        raise ValueError(f"not a concrete value: {t}")


def _is_bool(t: Term) -> bool:
    return z3.is_bool(t)


# ---------------------------------------------------------------------------
# the translation, shared by both encodings


class _Encoding:
    """Expression and update translation; subclasses say what a CPU is."""

    def __init__(self, system: System, values: str = "bv") -> None:
        self.system = system
        self.v = _Values(system, values)

    # -- hooks (see the subclasses)
    def cpu(self, t: object, env: dict[str, CpuRef], self_cpu: CpuRef | None) -> CpuRef:
        raise NotImplementedError

    def cpu_eq(self, a: CpuRef, b: CpuRef) -> Term:
        raise NotImplementedError

    def read_cpu(self, state: dict, f: Family, c: CpuRef) -> Term:
        raise NotImplementedError

    def quant(self, kind: str, bound: Bound, body: Callable[[CpuRef], Term]) -> Term:
        raise NotImplementedError

    # -- coercions
    def as_bool(self, t: Term) -> Term:
        return t if _is_bool(t) else t != self.v.val(0)

    def as_val(self, t: Term) -> Term:
        return z3.If(t, self.v.val(1), self.v.val(0)) if _is_bool(t) else t

    def coerce(self, t: Term, f: Family) -> Term:
        return self.as_bool(t) if f.is_bool else self.as_val(t)

    # -- expressions
    def read(self, r: Read, state: dict, env: dict, self_cpu: CpuRef | None) -> Term:
        f = r.family
        if f.kind == "scalar":
            return state[(f.name, None)]
        if f.kind == "cpu":
            return self.read_cpu(state, f, self.cpu(r.index, env, self_cpu))
        if isinstance(r.index, int):
            return state[(f.name, r.index)]
        idx = self.as_val(self.expr(r.index, state, env, self_cpu))  # type: ignore[arg-type]
        out: Term = self.v.val(f.default) if not f.is_bool else z3.BoolVal(bool(f.default))
        for i in reversed(f.domain):
            out = z3.If(idx == self.v.val(i), state[(f.name, i)], out)
        return out

    def _eq(self, a: Expr, b: Expr, state: dict, env: dict, self_cpu: CpuRef | None) -> Term:
        ta = self.expr(a, state, env, self_cpu)
        tb = self.expr(b, state, env, self_cpu)
        if _is_bool(ta) and isinstance(b, Const):
            return ta if b.value == 1 else z3.Not(ta) if b.value == 0 else z3.BoolVal(False)
        if _is_bool(tb) and isinstance(a, Const):
            return tb if a.value == 1 else z3.Not(tb) if a.value == 0 else z3.BoolVal(False)
        if _is_bool(ta) and _is_bool(tb):
            return ta == tb
        return self.as_val(ta) == self.as_val(tb)

    def expr(self, e: Expr, state: dict, env: dict | None = None, self_cpu: CpuRef | None = None) -> Term:
        """The Z3 term of `e` over `state` (a formula when `e` is a condition)."""
        env = env or {}
        if isinstance(e, Const):
            return self.v.val(e.value)
        if isinstance(e, Read):
            return self.read(e, state, env, self_cpu)
        if isinstance(e, Quant):
            def body(c: CpuRef) -> Term:
                env2 = dict(env)
                env2[e.bound.name] = c
                return self.as_bool(self.expr(e.body, state, env2, self_cpu))
            return self.quant(e.kind, e.bound, body)
        if not isinstance(e, Op):
            raise TypeError(f"not an expression: {e!r}")
        op = e.op
        if op == "cpueq":
            return self.cpu_eq(self.cpu(e.args[0], env, self_cpu), self.cpu(e.args[1], env, self_cpu))
        if op == "eq":
            return self._eq(e.args[0], e.args[1], state, env, self_cpu)
        if op == "ne":
            return z3.Not(self._eq(e.args[0], e.args[1], state, env, self_cpu))
        a = [self.expr(x, state, env, self_cpu) for x in e.args]
        if op == "and":
            return z3.And(*[self.as_bool(x) for x in a])
        if op == "or":
            return z3.Or(*[self.as_bool(x) for x in a])
        if op == "not":
            return z3.Not(self.as_bool(a[0]))
        if op == "implies":
            return z3.Implies(self.as_bool(a[0]), self.as_bool(a[1]))
        if op == "ite":
            c = self.as_bool(a[0])
            if _is_bool(a[1]) and _is_bool(a[2]):
                return z3.If(c, a[1], a[2])
            return z3.If(c, self.as_val(a[1]), self.as_val(a[2]))
        if op == "in":
            if _is_bool(a[0]):
                return z3.Or(*[a[0] if v == 1 else z3.Not(a[0]) for v in e.values if v in (0, 1)])
            return z3.Or(*[a[0] == self.v.val(v) for v in e.values])
        raise ValueError(f"unknown operator {op!r}")

    def formula(self, e: Expr, state: dict, env: dict | None = None, self_cpu: CpuRef | None = None) -> Term:
        """`e` as a Z3 formula (a value is true when it is not 0, as in Python)."""
        return self.as_bool(self.expr(e, state, env, self_cpu))


# ---------------------------------------------------------------------------
# fixed number of CPUs


@dataclass(frozen=True)
class Instance:
    """An action for one CPU (`cpu` None for a writer); ids and order are those of `checker.Compiled`."""

    id: int
    action: int
    cpu: int | None
    actor: str
    column: str


class FixedEncoding(_Encoding):
    """The system for N CPUs (the spec's number unless `ncpus` is given), CPUs unrolled."""

    def __init__(self, system: System, values: str = "bv") -> None:
        super().__init__(system, values)
        self.ncpus = system.ncpus
        self.layout = Layout(system.families.values(), self.ncpus)
        self.keys: list[Key] = [None] * self.layout.size  # type: ignore[list-item]
        for key, slot in self.layout.slot.items():
            self.keys[slot] = key
        self.writer_cpus = system.writer_cpus
        self.cpu_terms: list[CpuRef] = list(range(self.ncpus))
        self.instances: list[Instance] = []
        for ai, act in enumerate(system.actions):
            cpus: list[int | None] = list(range(self.ncpus)) if act.actor not in ("writer", "flush") else [None]
            for c in cpus:
                if act.actor == "writer":
                    actor = column = f"writer{act.writer}"
                elif act.actor == "flush":
                    actor, column = f"writer{act.writer}.flush", f"writer{act.writer}"
                elif act.actor == "cpu":
                    actor = column = f"cpu{c}"
                else:
                    actor, column = f"cpu{c}.{act.actor}", f"cpu{c}"
                self.instances.append(Instance(len(self.instances), ai, c, actor, column))

    # -- hooks
    def cpu(self, t: object, env: dict, self_cpu: CpuRef | None) -> CpuRef:
        if isinstance(t, Self):
            if self_cpu is None:
                raise ValueError("Self used outside a per-CPU action")
            return self_cpu
        if isinstance(t, WriterCpu):
            return self.writer_cpus[t.writer]
        if isinstance(t, CpuConst):
            return t.cpu
        if isinstance(t, Bound):
            return env[t.name]
        raise TypeError(f"not a CPU term: {t!r}")

    def cpu_eq(self, a: CpuRef, b: CpuRef) -> Term:
        return z3.BoolVal(a == b)

    def read_cpu(self, state: dict, f: Family, c: CpuRef) -> Term:
        return state[(f.name, c)]

    def quant(self, kind: str, bound: Bound, body: Callable[[CpuRef], Term]) -> Term:
        parts = [body(c) for c in self.cpu_terms]
        return z3.And(*parts) if kind == "forall" else z3.Or(*parts)

    # -- states
    def state(self, prefix: str) -> dict[Key, Term]:
        """Fresh variables for one state, named ``prefix.family[index]``."""
        out: dict[Key, Term] = {}
        for key in self.keys:
            f = self.system.families[key[0]]
            out[key] = self.v.var(f"{prefix}.{self.layout.names[self.layout.slot[key]]}", f)
        return out

    def concrete(self, values: Sequence[int]) -> dict[Key, Term]:
        """A state of Z3 values from a state tuple (`expr.Layout` order)."""
        out: dict[Key, Term] = {}
        for key, v in zip(self.keys, values):
            f = self.system.families[key[0]]
            out[key] = z3.BoolVal(bool(v)) if f.is_bool else self.v.val(v)
        return out

    def domain(self, state: dict[Key, Term]) -> Term:
        """Every variable holds one of its family's values."""
        parts = []
        for key in self.keys:
            f = self.system.families[key[0]]
            if f.is_bool:
                continue
            parts.append(z3.Or(*[state[key] == self.v.val(v) for v in f.values]))
        return z3.And(*parts)

    def init_values(self) -> tuple[int, ...]:
        out = []
        for key in self.keys:
            fname, idx = key
            v = self.system.init[fname]
            out.append(v[idx] if self.system.families[fname].kind == "finite" else v)  # type: ignore[index]
        return tuple(out)  # type: ignore[arg-type]

    def init(self, state: dict[Key, Term]) -> Term:
        c = self.concrete(self.init_values())
        return z3.And(*[state[k] == c[k] for k in self.keys])

    def values(self, model: z3.ModelRef, state: dict[Key, Term]) -> tuple[int, ...]:
        """The state tuple a model gives `state`."""
        return tuple(self.v.to_int(model.eval(state[k], model_completion=True)) for k in self.keys)

    # -- transitions
    def action(self, inst: Instance) -> Action:
        return self.system.actions[inst.action]

    def self_term(self, inst: Instance) -> CpuRef | None:
        return None if inst.cpu is None else self.cpu_terms[inst.cpu]

    def guard(self, inst: Instance, s: dict[Key, Term]) -> Term:
        return self.formula(self.action(inst).guard, s, {}, self.self_term(inst))

    def _cpu_writes(self, f: Family, c: CpuRef) -> list[tuple[Key, Term | None]]:
        """The variables a write to `f` at CPU `c` may change, with the condition (None: surely)."""
        return [((f.name, c), None)]

    def writes(self, inst: Instance, s: dict[Key, Term]) -> dict[Key, Term]:
        """The post-state terms of the variables the update may change (parallel semantics)."""
        act = self.action(inst)
        me = self.self_term(inst)
        pending: list[tuple[Key, Term | None, Term]] = []  # (key, condition or None, value)
        for a in act.update:
            f = a.family
            if isinstance(a, AssignAll):
                for i, c in enumerate(self.cpu_terms):
                    val = self.coerce(self.expr(a.value, s, {a.bound.name: c}, me), f)
                    pending.append(((f.name, i), None, val))
                continue
            val = self.coerce(self.expr(a.value, s, {}, me), f)
            if f.kind == "scalar":
                pending.append(((f.name, None), None, val))
            elif f.kind == "cpu":
                for key, cond in self._cpu_writes(f, self.cpu(a.index, {}, me)):
                    pending.append((key, cond, val))
            elif isinstance(a.index, int):
                pending.append(((f.name, a.index), None, val))
            else:
                idx = self.as_val(self.expr(a.index, s, {}, me))  # type: ignore[arg-type]
                for i in f.domain:
                    pending.append(((f.name, i), idx == self.v.val(i), val))
        out: dict[Key, Term] = {}
        for key, cond, val in pending:
            cur = out.get(key, s[key])
            out[key] = val if cond is None else z3.If(cond, val, cur)
        return out

    def post(self, inst: Instance, s: dict[Key, Term]) -> dict[Key, Term]:
        """The whole post-state (unwritten variables keep their pre-state term)."""
        w = self.writes(inst, s)
        return {k: w.get(k, s[k]) for k in self.keys}

    def step(self, inst: Instance, s: dict[Key, Term], t: dict[Key, Term]) -> Term:
        """guard(s) and t == post(s)."""
        p = self.post(inst, s)
        return z3.And(self.guard(inst, s), *[t[k] == p[k] for k in self.keys])

    def trans(self, s: dict[Key, Term], t: dict[Key, Term]) -> Term:
        """The transition relation: some instance steps from `s` to `t`."""
        return z3.Or(*[self.step(i, s, t) for i in self.instances])

    def pred(self, e: Expr, s: dict[Key, Term]) -> Term:
        """A state predicate (a property, an invariant clause) over `s`."""
        return self.formula(e, s)

    def selector_step(self, s: dict[Key, Term], t: dict[Key, Term], name: str) -> tuple[list[Term], list[Term]]:
        """T(s, t) with one Boolean selector per instance: (constraints, selectors).

        Exactly one selector is true; its instance's guard holds in `s`; each
        variable of `t` is an if-then-else over the instances that write it,
        ending in its value in `s` (the frame). A SAT-friendly form of `trans`.
        """
        sel = [z3.Bool(f"{name}={i.id}") for i in self.instances]
        parts: list[Term] = [z3.Or(*sel), z3.AtMost(*sel, 1)]
        chains: dict = {k: [] for k in self.keys}
        for inst in self.instances:
            on = sel[inst.id]
            parts.append(z3.Implies(on, self.guard(inst, s)))
            for k, v in self.writes(inst, s).items():
                chains[k].append((on, v))
        for k in self.keys:
            rhs = s[k]
            for on, v in reversed(chains[k]):
                rhs = z3.If(on, v, rhs)
            parts.append(t[k] == rhs)
        return parts, sel

    # -- reading concrete states (for traces)
    def eval(self, e: Expr, state: tuple[int, ...], self_cpu: int | None = None) -> int:
        return evaluate(e, self.layout, state, self_cpu, self.writer_cpus)

    def readable(self, state: tuple[int, ...]) -> dict[str, str]:
        """The state in words, exactly as the explicit engine prints it."""
        out: dict[str, str] = {}
        sy = self.system
        for (fname, idx), slot in self.layout.slot.items():
            name = self.layout.names[slot]
            if fname == "ac_state":
                name = f"ac_state[{sy.ac_label(idx)}]"  # type: ignore[arg-type]
            elif fname in ("cpu_cache", "visible"):
                name = f"{fname}[{sy.caches[idx]}]"  # type: ignore[index]
            out[name] = sy.show_value(fname, state[slot])
        return out

    def ipi_targets(self, inst: Instance) -> tuple[int, ...]:
        act = self.action(inst)
        if act.ipi_targets is None or act.skipped:
            return ()
        init = self.init_values()
        return tuple(c for c in range(self.ncpus)
                     if self.eval(subst_cpu(act.ipi_targets, Bound("x"), CpuConst(c)), init, None))

    def trace_step(self, k: int, inst: Instance, state: tuple[int, ...], violating: bool = False,
                   note: str = "") -> TraceStep:
        """One step of a trace, in the same form as the explicit engine's."""
        act = self.action(inst)
        tg = self.ipi_targets(inst)
        return TraceStep(
            index=k,
            actor=inst.actor,
            column=inst.column,
            step=act.step,
            function=act.function,
            text=act.text,
            skipped=act.skipped,
            note=note or act.skip_reason,
            ipis_sent=len(tg),
            ipi_targets=tuple(f"cpu{c}" for c in tg),
            violating=violating,
            state=self.readable(state),
        )

    def successors(self, state: tuple[int, ...]) -> list[tuple[int, tuple[int, ...]]]:
        """(instance id, successor) for every enabled instance, computed through Z3 simplification."""
        s = self.concrete(state)
        out = []
        for inst in self.instances:
            g = z3.simplify(self.guard(inst, s))
            if not z3.is_true(g):
                continue
            p = self.post(inst, s)
            out.append((inst.id, tuple(self.v.to_int(z3.simplify(p[k])) for k in self.keys)))
        return out

    def culprit(self, prop: Property, state: tuple[int, ...]) -> tuple[Instance, tuple[int, ...], str] | None:
        """The step that commits `prop`'s violation from `state`, as the explorer names it."""
        culprits = dict(prop.culprits)
        for inst in self.instances:
            if inst.action not in culprits:
                continue
            if not self.eval(self.action(inst).guard, state, inst.cpu):
                continue
            if not self.eval(culprits[inst.action], state, inst.cpu):
                continue
            act = self.action(inst)
            nxt = dict(self.successors(state)).get(inst.id)
            if nxt is None or act.touches is None:
                continue
            ref = self.system.ac_label(self.eval(act.touches, state, inst.cpu))
            status = "not an array cache"
            for ac in self.system.acs:
                if ac.label == ref:
                    status = self.system.show_value("ac_state", state[self.layout.slot[("ac_state", ac.ref)]])
            note = f"touches {ref}, which is {status}" if ref != "NULL" else "touches a NULL array cache"
            return inst, nxt, note
        return None


# ---------------------------------------------------------------------------
# any number of CPUs, instantiated over finitely many CPU terms


def fragment_check(system: System) -> None:
    """`NotSupported` unless the system's steps and initial condition lie in the cutoff fragment
    (docs/proofs.md, section 1, side conditions S1-S3) that makes the ground instantiation exact:

    * every CPU a step names is a writer's CPU, a CPU named by number, the acting CPU or a bound
      variable -- nothing computes a CPU (S1);
    * every quantifier of a step's guard is universal where the guard is asserted, and no update
      value quantifies (S2): a step's only existential is its acting CPU;
    * the initial value of every per-CPU family is the same for every CPU (S3).
    """
    for act in system.actions:
        where = f"step {act.step} ({act.actor})"
        try:
            if existentials(act.guard):
                raise NotSupported(f"outside the cutoff fragment: {where} quantifies over CPUs existentially")
        except NotSupported as e:
            if str(e).startswith(f"outside the cutoff fragment: {where}"):
                raise
            raise NotSupported(f"{e} (in the guard of {where})") from None
        for u in act.update:
            if _has_quant(u.value) or (isinstance(u, Assign) and isinstance(u.index, Expr) and _has_quant(u.index)):
                raise NotSupported(f"outside the cutoff fragment: {where} has a CPU quantifier in an update")
            if isinstance(u, Assign) and u.family.kind == "cpu" and not isinstance(u.index, _CPU_TERMS):
                raise NotSupported(f"outside the cutoff fragment: {where} writes {u.family.name} at a computed CPU")
        bad = _computed_cpu(act.guard) or next((c for u in act.update for c in (_computed_cpu(u.value),
                                                _computed_cpu(getattr(u, "index", None))) if c), None)
        if bad:
            raise NotSupported(f"outside the cutoff fragment: {where} names a CPU by {bad}")
    for f in system.families.values():
        if f.kind == "cpu" and not isinstance(system.init.get(f.name), int):
            raise NotSupported(f"outside the cutoff fragment: the initial value of {f.name} depends on the CPU")


_CPU_TERMS = (Self, WriterCpu, Bound, CpuConst)


def _computed_cpu(e: object) -> str:
    """What is not a CPU term where `e` needs one (a per-CPU family's index, an argument of cpueq): "" if none."""
    if isinstance(e, Read):
        if e.family.kind == "cpu" and not isinstance(e.index, _CPU_TERMS):
            return f"a computed index of {e.family.name} ({type(e.index).__name__})"
        return _computed_cpu(e.index) if isinstance(e.index, Expr) else ""
    if isinstance(e, Op):
        if e.op == "cpueq":
            bad = [a for a in e.args if not isinstance(a, _CPU_TERMS)]
            if bad:
                return f"a computed CPU in cpueq ({type(bad[0]).__name__})"
            return ""
        return next((r for r in (_computed_cpu(a) for a in e.args) if r), "")
    if isinstance(e, Quant):
        return _computed_cpu(e.body)
    return ""


class GroundEncoding(FixedEncoding):
    """Any number of CPUs, for one-state and one-step queries, without quantifiers.

    The CPUs a query can name are finitely many *ground terms*: each writer's
    CPU (pairwise distinct), the CPU `Self` stands for in a step (``self``),
    and fresh constants for the witnesses of the query's existentials
    (``d``, ``e``, ...). A CPU term is a bit-vector constant wide enough to give
    every ground term its own value; a per-CPU family is one variable per
    ground term, with the congruence axioms ``t1 == t2 -> f@t1 == f@t2``; a
    universal quantifier (`Forall`, or `Exists` under a negation) becomes the
    conjunction over the ground terms, an existential the disjunction.

    Why this is exact for the queries of the Houdini engines (``Inv and T and
    not Inv'``, ``Inv and not P``): after Skolemization they are
    exists-forall formulas in which no function produces a CPU, so a model
    restricted to the CPUs named by ground terms is still a model (universal
    statements survive on a substructure). A query is therefore satisfiable for
    some number of CPUs iff its instantiation over the ground terms is --
    provided there are as many fresh constants as witnesses it needs. A model
    is a counterexample for as many CPUs as it has distinct ground-term values.
    """

    def __init__(self, system: System, fresh: Sequence[str] = ("self", "d", "e"), values: str = "bv") -> None:
        _Encoding.__init__(self, system, values)
        nw = len(system.writer_cpus)
        # CPUs named by number (a migrating writer's CPUs): the writer's own, or one more distinct constant
        named: set[int] = set()
        for a in system.actions:
            _cpu_consts(a.guard, named)
            for u in a.update:
                _cpu_consts(u.value, named)
                if isinstance(u, Assign):
                    _cpu_consts(u.index, named)
            for e in (a.touches, a.ipi_targets):
                if e is not None:
                    _cpu_consts(e, named)
        self.named = {c: (system.writer_cpus.index(c) if c in system.writer_cpus else None) for c in sorted(named)}
        extra_named = [c for c, w in self.named.items() if w is None]
        self.n_distinct = nw + len(extra_named)  # pairwise distinct ground terms come first
        names = [f"writer{w}.cpu" for w in range(nw)] + [f"cpu{c}" for c in extra_named] + list(fresh)
        for i, c in enumerate(extra_named):
            self.named[c] = nw + i
        self.cpu_width = max(1, (len(names) - 1).bit_length())
        self.cpu_terms = [z3.BitVec(n, self.cpu_width) for n in names]
        self.cpu_names = names
        self.ncpus = len(names)
        self._pos = {t.get_id(): i for i, t in enumerate(self.cpu_terms)}
        self.layout = Layout(system.families.values(), self.ncpus)
        self.keys = [None] * self.layout.size  # type: ignore[list-item]
        for key, slot in self.layout.slot.items():
            self.keys[slot] = key
        self.writer_cpus = tuple(range(nw))  # positions of the writers' CPUs
        self.self_pos = names.index("self") if "self" in fresh else None
        fragment_check(system)
        self.witnesses = len(fresh) - 1 if "self" in fresh else len(fresh)  # fresh terms free for witnesses
        self.instances = []
        for ai, act in enumerate(system.actions):
            if act.actor in ("writer", "flush"):
                name = f"writer{act.writer}" + (".flush" if act.actor == "flush" else "")
                self.instances.append(Instance(len(self.instances), ai, None, name, f"writer{act.writer}"))
            else:
                if self.self_pos is None:
                    raise ValueError("a CPU action needs a 'self' ground term")
                self.instances.append(Instance(len(self.instances), ai, self.self_pos, "cpu(self)", "cpu(self)"))

    def pos(self, c: CpuRef) -> int:
        return self._pos[c.get_id()]  # type: ignore[union-attr]

    def cpu(self, t: object, env: dict, self_cpu: CpuRef | None) -> CpuRef:
        if isinstance(t, Self):
            if self_cpu is None:
                raise ValueError("Self used outside a per-CPU action")
            return self_cpu
        if isinstance(t, WriterCpu):
            return self.cpu_terms[t.writer]
        if isinstance(t, Bound):
            return env[t.name]
        if isinstance(t, CpuConst):
            return self.cpu_terms[self.named[t.cpu]]  # type: ignore[index]
        raise TypeError(f"{t!r} has no meaning for any number of CPUs")

    def cpu_eq(self, a: CpuRef, b: CpuRef) -> Term:
        ia, ib = self.pos(a), self.pos(b)
        if ia == ib:
            return z3.BoolVal(True)
        nd = self.n_distinct
        if ia < nd and ib < nd:
            return z3.BoolVal(False)
        return a == b  # type: ignore[return-value]

    def read_cpu(self, state: dict, f: Family, c: CpuRef) -> Term:
        return state[(f.name, self.pos(c))]

    def _cpu_writes(self, f: Family, c: CpuRef) -> list[tuple[Key, Term | None]]:
        out: list[tuple[Key, Term | None]] = []
        for i, t in enumerate(self.cpu_terms):
            eq = z3.simplify(self.cpu_eq(t, c))
            if z3.is_false(eq):
                continue
            out.append(((f.name, i), None if z3.is_true(eq) else eq))
        return out

    def axioms(self, state: dict[Key, Term]) -> Term:
        """Writers on distinct CPUs; ground terms within range; equal CPUs, equal per-CPU values."""
        nw = self.n_distinct
        parts: list[Term] = []
        if nw > 1:
            parts.append(z3.Distinct(*self.cpu_terms[:nw]))
        n = len(self.cpu_terms)
        if n < 2 ** self.cpu_width:
            parts.extend(z3.ULT(t, n) for t in self.cpu_terms)
        cpu_fams = [f for f in self.system.families.values() if f.kind == "cpu"]
        for i in range(n):
            for j in range(i + 1, n):
                if i < nw and j < nw:
                    continue
                same = self.cpu_terms[i] == self.cpu_terms[j]
                for f in cpu_fams:
                    parts.append(z3.Implies(same, state[(f.name, i)] == state[(f.name, j)]))
        return z3.And(*parts)

    def init_values(self) -> tuple[int, ...]:
        return FixedEncoding.init_values(self)

    def readable_model(self, model: z3.ModelRef, state: dict[Key, Term]) -> dict[str, str]:
        """A model's state in words: globals, then each distinct CPU the ground terms name."""
        vals = self.values(model, state)
        cpus: dict[int, list[str]] = {}
        for i, t in enumerate(self.cpu_terms):
            cpus.setdefault(model.eval(t, model_completion=True).as_long(), []).append(self.cpu_names[i])
        out: dict[str, str] = {}
        sy = self.system
        for (fname, idx), slot in self.layout.slot.items():
            f = sy.families[fname]
            if f.kind == "cpu":
                continue
            name = self.layout.names[slot]
            if fname == "ac_state":
                name = f"ac_state[{sy.ac_label(idx)}]"  # type: ignore[arg-type]
            elif fname in ("cpu_cache", "visible"):
                name = f"{fname}[{sy.caches[idx]}]"  # type: ignore[index]
            out[name] = sy.show_value(fname, vals[slot])
        for _, names in sorted(cpus.items()):
            i = self.cpu_names.index(names[0])
            who = "=".join(names)
            for f in sy.families.values():
                if f.kind == "cpu":
                    out[f"{f.name}[{who}]"] = sy.show_value(f.name, vals[self.layout.slot[(f.name, i)]])
        return out


# ---------------------------------------------------------------------------
# any number of CPUs


class ParamEncoding(_Encoding):
    """The system for any number of CPUs (see the module docstring)."""

    def __init__(self, system: System, values: str = "bv", cpu_sort: z3.SortRef | None = None) -> None:
        super().__init__(system, values)
        # `cpu_sort`: another sort for the CPUs (a finite enumeration, to pin the number in tests)
        self.Cpu = cpu_sort if cpu_sort is not None else z3.DeclareSort("Cpu")
        nw = len(system.writer_cpus)
        self.writer_cpu = [z3.Const(f"writer{w}.cpu", self.Cpu) for w in range(nw)]
        # a CPU named by number (a migrating writer's CPUs): the writer's constant, or one more constant,
        # distinct from the writers' and from each other (as in `GroundEncoding`)
        named: set[int] = set()
        for a in system.actions:
            _cpu_consts(a.guard, named)
            for u in a.update:
                _cpu_consts(u.value, named)
                if isinstance(u, Assign):
                    _cpu_consts(u.index, named)
        self.named: dict[int, z3.ExprRef] = {
            c: (self.writer_cpu[system.writer_cpus.index(c)] if c in system.writer_cpus
                else z3.Const(f"cpu{c}", self.Cpu)) for c in sorted(named)}
        self.distinct_cpus = self.writer_cpu + [t for c, t in self.named.items() if c not in system.writer_cpus]
        self.cpu_families = [f for f in system.families.values() if f.kind == "cpu"]
        self.global_keys: list[Key] = []
        for f in system.families.values():
            if f.kind == "scalar":
                self.global_keys.append((f.name, None))
            elif f.kind == "finite":
                self.global_keys.extend((f.name, i) for i in f.domain)
        self._fresh = 0

    def fresh_cpu(self, name: str) -> z3.ExprRef:
        self._fresh += 1
        return z3.Const(f"{name}!{self._fresh}", self.Cpu)

    def axioms(self) -> Term:
        """The writers (and any CPU named by number) run on pairwise distinct CPUs."""
        if len(self.distinct_cpus) < 2:
            return z3.BoolVal(True)
        return z3.Distinct(*self.distinct_cpus)

    # -- hooks
    def cpu(self, t: object, env: dict, self_cpu: CpuRef | None) -> CpuRef:
        if isinstance(t, Self):
            if self_cpu is None:
                raise ValueError("Self used outside a per-CPU action")
            return self_cpu
        if isinstance(t, WriterCpu):
            return self.writer_cpu[t.writer]
        if isinstance(t, Bound):
            return env[t.name]
        if isinstance(t, CpuConst) and t.cpu in self.named:
            return self.named[t.cpu]
        raise NotSupported(f"{t!r} has no meaning for any number of CPUs")

    def cpu_eq(self, a: CpuRef, b: CpuRef) -> Term:
        if isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef) and a.eq(b):
            return z3.BoolVal(True)
        return a == b

    def read_cpu(self, state: dict, f: Family, c: CpuRef) -> Term:
        return z3.Select(state[f.name], c)

    def quant(self, kind: str, bound: Bound, body: Callable[[CpuRef], Term]) -> Term:
        x = z3.Const(f"{bound.name}!q{self._next()}", self.Cpu)
        b = body(x)
        return z3.ForAll([x], b) if kind == "forall" else z3.Exists([x], b)

    def _next(self) -> int:
        self._fresh += 1
        return self._fresh

    # -- states
    def state(self, prefix: str) -> dict:
        out: dict = {}
        for key in self.global_keys:
            f = self.system.families[key[0]]
            name = f"{prefix}.{key[0]}" + (f"[{key[1]}]" if key[1] is not None else "")
            out[key] = self.v.var(name, f)
        for f in self.cpu_families:
            out[f.name] = z3.Array(f"{prefix}.{f.name}", self.Cpu, self.v.sort_of(f))
        return out

    def domain(self, state: dict) -> Term:
        parts = []
        for key in self.global_keys:
            f = self.system.families[key[0]]
            if not f.is_bool:
                parts.append(z3.Or(*[state[key] == self.v.val(v) for v in f.values]))
        for f in self.cpu_families:
            if f.is_bool:
                continue
            x = z3.Const(f"dom!{f.name}!{self._next()}", self.Cpu)
            parts.append(z3.ForAll([x], z3.Or(*[z3.Select(state[f.name], x) == self.v.val(v) for v in f.values])))
        return z3.And(*parts)

    def init(self, state: dict) -> Term:
        parts = []
        for key in self.global_keys:
            fname, idx = key
            f = self.system.families[fname]
            v = self.system.init[fname]
            v = v[idx] if f.kind == "finite" else v  # type: ignore[index]
            parts.append(state[key] == (z3.BoolVal(bool(v)) if f.is_bool else self.v.val(v)))  # type: ignore[arg-type]
        for f in self.cpu_families:
            v = self.system.init[f.name]
            x = z3.Const(f"init!{f.name}!{self._next()}", self.Cpu)
            val = z3.BoolVal(bool(v)) if f.is_bool else self.v.val(v)  # type: ignore[arg-type]
            parts.append(z3.ForAll([x], z3.Select(state[f.name], x) == val))
        return z3.And(*parts)

    # -- transitions
    def guard(self, act: Action, s: dict, self_cpu: CpuRef | None) -> Term:
        return self.formula(act.guard, s, {}, self_cpu)

    def post(self, act: Action, s: dict, self_cpu: CpuRef | None) -> dict:
        """The post-state: global terms, and arrays built with Store / Lambda (parallel semantics)."""
        out = dict(s)
        pending: list[tuple[object, Term | None, object, Term]] = []  # (key, cond, cpu or lambda-var, value)
        for a in act.update:
            f = a.family
            if isinstance(a, AssignAll):
                x = z3.Const(f"{a.bound.name}!l{self._next()}", self.Cpu)
                val = self.coerce(self.expr(a.value, s, {a.bound.name: x}, self_cpu), f)
                pending.append((f.name, None, ("all", x), val))
                continue
            val = self.coerce(self.expr(a.value, s, {}, self_cpu), f)
            if f.kind == "scalar":
                pending.append(((f.name, None), None, None, val))
            elif f.kind == "cpu":
                pending.append((f.name, None, ("at", self.cpu(a.index, {}, self_cpu)), val))
            elif isinstance(a.index, int):
                pending.append(((f.name, a.index), None, None, val))
            else:
                idx = self.as_val(self.expr(a.index, s, {}, self_cpu))  # type: ignore[arg-type]
                for i in f.domain:
                    pending.append(((f.name, i), idx == self.v.val(i), None, val))
        for key, cond, where, val in pending:
            cur = out[key]
            if isinstance(where, tuple) and where[0] == "all":
                out[key] = z3.Lambda([where[1]], val)
            elif isinstance(where, tuple):
                out[key] = z3.Store(cur, where[1], val)
            else:
                out[key] = val if cond is None else z3.If(cond, val, cur)
        return out

    def equal(self, a: dict, b: dict) -> Term:
        """Two states are equal (arrays extensionally)."""
        return z3.And(*[a[k] == b[k] for k in a])

    def step(self, act: Action, s: dict, t: dict, self_cpu: CpuRef | None) -> Term:
        return z3.And(self.guard(act, s, self_cpu), self.equal(t, self.post(act, s, self_cpu)))

    def trans(self, s: dict, t: dict) -> tuple[Term, list[z3.ExprRef]]:
        """The transition relation and the CPU constants standing for each CPU action's `Self`."""
        parts = []
        selves = []
        for act in self.system.actions:
            c = self.fresh_cpu(f"self.{act.step}") if act.actor not in ("writer", "flush") else None
            if c is not None:
                selves.append(c)
            parts.append(self.step(act, s, t, c))
        return z3.Or(*parts), selves

    def pred(self, e: Expr, s: dict) -> Term:
        return self.formula(e, s)
