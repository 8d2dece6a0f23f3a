"""The small language in which the model states its steps and properties.

A *transition* (an action) is a guard and an update. Both are written once,
here, as data; every engine reads that same data:

* the explicit engine compiles it to Python (`compile_guard`, `compile_update`
  below, for a fixed number of CPUs);
* the Z3 engines translate it to terms, with CPUs unrolled (fixed N) or as an
  uninterpreted sort (any N).

State variables come in *families*:

* ``scalar``  -- one variable (the slab_mutex owner);
* ``finite``  -- one variable per index of a finite, spec-given domain (the
  status of each array cache, the ``cpu_cache`` pointer of each kmem_cache);
* ``cpu``     -- one variable per CPU (IRQs on/off, the array cache a reader
  holds). The number of CPUs is the only unbounded dimension.

All values are small integers (booleans are 0/1 in Python, `Bool` in Z3).

An update is a tuple of assignments with *parallel* semantics: every right-hand
side and every index is read in the pre-state; the writes are then applied in
order, a later write to the same variable winning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

# ---------------------------------------------------------------------------
# CPU terms


@dataclass(frozen=True)
class Self:
    """The CPU on which the acting actor (a reader, a reaper) runs."""


@dataclass(frozen=True)
class WriterCpu:
    """The CPU on which writer number `writer` runs."""

    writer: int


@dataclass(frozen=True)
class Bound:
    """A CPU bound by `Forall` / `Exists` / `SetAll`."""

    name: str


@dataclass(frozen=True)
class CpuConst:
    """A concrete CPU number (only for a fixed number of CPUs)."""

    cpu: int


CpuTerm = Union[Self, WriterCpu, Bound, CpuConst]

# ---------------------------------------------------------------------------
# families and expressions


@dataclass(frozen=True)
class Family:
    """A family of state variables (see the module docstring)."""

    name: str
    kind: str  # "scalar" | "finite" | "cpu"
    is_bool: bool
    values: tuple[int, ...]  # every value a variable of the family may take
    domain: tuple[int, ...] = ()  # for "finite": the index values
    default: int = 0  # a dynamic read outside `domain` yields this
    doc: str = ""


class Expr:
    """Base of expressions; operators build `Op` nodes."""

    def __eq__(self, other: object) -> "Op":  # type: ignore[override]
        return Op("eq", (self, lift(other)))

    def __ne__(self, other: object) -> "Op":  # type: ignore[override]
        return Op("ne", (self, lift(other)))

    def __and__(self, other: "Expr") -> "Expr":
        return And(self, other)

    def __or__(self, other: "Expr") -> "Expr":
        return Or(self, other)

    def __invert__(self) -> "Expr":
        return Not(self)

    __hash__ = object.__hash__


@dataclass(frozen=True, eq=False)
class Const(Expr):
    value: int


@dataclass(frozen=True, eq=False)
class Read(Expr):
    """The variable `family[index]`.

    `index` is None (scalar), an int (a fixed member of a finite family), a
    CPU term (a cpu family), or an `Expr` (a finite family indexed by a value
    computed in the state, e.g. the status of the array cache a CPU holds).
    """

    family: Family
    index: Union[None, int, CpuTerm, Expr] = None


@dataclass(frozen=True, eq=False)
class Op(Expr):
    """`op` is one of eq ne and or not ite in implies, or cpueq (two CPU terms are the same CPU)."""

    op: str
    args: tuple  # type: ignore[type-arg]  # Expr operands, or CPU terms for cpueq
    # for "in": the tuple of constant values
    values: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class Quant(Expr):
    """`forall` / `exists` over CPUs."""

    kind: str
    bound: Bound
    body: Expr


@dataclass(frozen=True)
class Assign:
    """`family[index] := value` (index as in `Read`)."""

    family: Family
    index: Union[None, int, CpuTerm, Expr]
    value: Expr


@dataclass(frozen=True)
class AssignAll:
    """For every CPU x: `family[x] := value(x)`."""

    family: Family
    bound: Bound
    value: Expr


Update = tuple[Union[Assign, AssignAll], ...]

TRUE = Const(1)
FALSE = Const(0)


def lift(x: object) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, bool):
        return Const(int(x))
    if isinstance(x, int):
        return Const(x)
    raise TypeError(f"cannot lift {x!r} into an expression")


def And(*args: Expr) -> Expr:
    flat = [a for a in args if not (isinstance(a, Const) and a.value == 1)]
    if any(isinstance(a, Const) and a.value == 0 for a in flat):
        return FALSE
    if not flat:
        return TRUE
    if len(flat) == 1:
        return flat[0]
    return Op("and", tuple(flat))


def Or(*args: Expr) -> Expr:
    flat = [a for a in args if not (isinstance(a, Const) and a.value == 0)]
    if any(isinstance(a, Const) and a.value == 1 for a in flat):
        return TRUE
    if not flat:
        return FALSE
    if len(flat) == 1:
        return flat[0]
    return Op("or", tuple(flat))


def Not(a: Expr) -> Expr:
    if isinstance(a, Const):
        return Const(1 - a.value)
    return Op("not", (a,))


def Implies(a: Expr, b: Expr) -> Expr:
    return Op("implies", (a, b))


def Ite(c: Expr, a: object, b: object) -> Expr:
    if isinstance(c, Const):
        return lift(a) if c.value else lift(b)
    return Op("ite", (c, lift(a), lift(b)))


def In(a: Expr, values: Iterable[int]) -> Expr:
    vals = tuple(sorted(set(values)))
    if not vals:
        return FALSE
    return Op("in", (a,), vals)


def Forall(bound: Bound, body: Expr) -> Expr:
    return Quant("forall", bound, body)


def Exists(bound: Bound, body: Expr) -> Expr:
    return Quant("exists", bound, body)


# ---------------------------------------------------------------------------
# traversal helpers used by engines


def subst_cpu(e: Expr, old: object, new: object) -> Expr:
    """`e` with every CPU term equal to `old` (e.g. `Self()`, `Bound("x")`) replaced by `new`."""
    if isinstance(e, Read):
        idx = e.index
        if isinstance(idx, (Self, WriterCpu, Bound, CpuConst)):
            return Read(e.family, new) if idx == old else e  # type: ignore[arg-type]
        if isinstance(idx, Expr):
            return Read(e.family, subst_cpu(idx, old, new))
        return e
    if isinstance(e, Op):
        if e.op == "cpueq":
            return Op("cpueq", tuple(new if t == old else t for t in e.args))
        return Op(e.op, tuple(subst_cpu(a, old, new) for a in e.args), e.values)
    if isinstance(e, Quant):
        if e.bound == old:
            return e
        return Quant(e.kind, e.bound, subst_cpu(e.body, old, new))
    return e


def families_read(e: Expr) -> set[str]:
    """Names of the families an expression reads (for dependency analysis)."""
    out: set[str] = set()

    def go(x: object) -> None:
        if isinstance(x, Read):
            out.add(x.family.name)
            if isinstance(x.index, Expr):
                go(x.index)
        elif isinstance(x, Op):
            for a in x.args:
                go(a)
        elif isinstance(x, Quant):
            go(x.body)

    go(e)
    return out


# ---------------------------------------------------------------------------
# Python back end, for a fixed number of CPUs


class Layout:
    """Where each variable lives in a state tuple, for `ncpus` CPUs.

    Scalars and finite families come first; then one contiguous block per
    CPU, so that CPUs can be permuted by permuting blocks.
    """

    def __init__(self, families: Iterable[Family], ncpus: int) -> None:
        self.ncpus = ncpus
        self.families = {f.name: f for f in families}
        self.slot: dict[tuple[str, int | None], int] = {}
        self.names: list[str] = []
        pos = 0
        for f in self.families.values():
            if f.kind == "scalar":
                self.slot[(f.name, None)] = pos
                self.names.append(f.name)
                pos += 1
            elif f.kind == "finite":
                for i in f.domain:
                    self.slot[(f.name, i)] = pos
                    self.names.append(f"{f.name}[{i}]")
                    pos += 1
        self.cpu_base = pos
        self.cpu_families = [f for f in self.families.values() if f.kind == "cpu"]
        self.block = len(self.cpu_families)
        for c in range(ncpus):
            for f in self.cpu_families:
                self.slot[(f.name, c)] = pos
                self.names.append(f"{f.name}[cpu{c}]")
                pos += 1
        self.size = pos

    def get(self, state: tuple[int, ...], family: str, index: int | None = None) -> int:
        return state[self.slot[(family, index)]]


class _PyGen:
    """Translates expressions to Python source over a state tuple `s`."""

    def __init__(self, layout: Layout, self_cpu: int | None, writer_cpus: tuple[int, ...]):
        self.layout = layout
        self.self_cpu = self_cpu
        self.writer_cpus = writer_cpus

    def cpu(self, t: CpuTerm, env: dict[str, int]) -> int:
        if isinstance(t, Self):
            if self.self_cpu is None:
                raise ValueError("Self used outside a per-CPU action")
            return self.self_cpu
        if isinstance(t, WriterCpu):
            return self.writer_cpus[t.writer]
        if isinstance(t, CpuConst):
            return t.cpu
        return env[t.name]

    def read(self, r: Read, env: dict[str, int]) -> str:
        f = r.family
        if f.kind == "scalar":
            return f"s[{self.layout.slot[(f.name, None)]}]"
        if f.kind == "cpu":
            return f"s[{self.layout.slot[(f.name, self.cpu(r.index, env))]}]"  # type: ignore[arg-type]
        if isinstance(r.index, int):
            return f"s[{self.layout.slot[(f.name, r.index)]}]"
        idx = self.expr(r.index, env)  # type: ignore[arg-type]
        code = str(f.default)
        for i in reversed(f.domain):
            code = f"(s[{self.layout.slot[(f.name, i)]}] if {idx} == {i} else {code})"
        return code

    def expr(self, e: Expr, env: dict[str, int]) -> str:
        if isinstance(e, Const):
            return str(e.value)
        if isinstance(e, Read):
            return self.read(e, env)
        if isinstance(e, Quant):
            parts = []
            for c in range(self.layout.ncpus):
                env2 = dict(env)
                env2[e.bound.name] = c
                parts.append(self.expr(e.body, env2))
            joiner = " and " if e.kind == "forall" else " or "
            empty = "1" if e.kind == "forall" else "0"
            return f"int({joiner.join('(' + p + ')' for p in parts) or empty})"
        assert isinstance(e, Op)
        if e.op == "cpueq":
            return "1" if self.cpu(e.args[0], env) == self.cpu(e.args[1], env) else "0"
        a = [self.expr(x, env) for x in e.args]
        if e.op == "eq":
            return f"int({a[0]} == {a[1]})"
        if e.op == "ne":
            return f"int({a[0]} != {a[1]})"
        if e.op == "and":
            return "int(" + " and ".join(f"({x})" for x in a) + ")"
        if e.op == "or":
            return "int(" + " or ".join(f"({x})" for x in a) + ")"
        if e.op == "not":
            return f"int(not ({a[0]}))"
        if e.op == "implies":
            return f"int((not ({a[0]})) or ({a[1]}))"
        if e.op == "ite":
            return f"(({a[1]}) if ({a[0]}) else ({a[2]}))"
        if e.op == "in":
            return f"int(({a[0]}) in {tuple(e.values)!r})"
        raise ValueError(f"unknown operator {e.op}")

    def cond(self, e: Expr, env: dict[str, int]) -> str:
        """Source whose truth is that of `expr(e)`, without the int() of the Boolean operators (for `if`)."""
        if isinstance(e, Quant):
            parts = []
            for c in range(self.layout.ncpus):
                env2 = dict(env)
                env2[e.bound.name] = c
                parts.append(self.cond(e.body, env2))
            joiner = " and " if e.kind == "forall" else " or "
            return joiner.join(f"({p})" for p in parts) or ("True" if e.kind == "forall" else "False")
        if not isinstance(e, Op) or e.op in ("cpueq", "ite"):
            return self.expr(e, env)
        if e.op in ("eq", "ne"):
            a = [self.expr(x, env) for x in e.args]
            return f"{a[0]} {'==' if e.op == 'eq' else '!='} {a[1]}"
        if e.op in ("and", "or"):
            if not e.args:
                return "False"  # (what expr's int() of an empty operand list is)
            return f" {e.op} ".join(f"({self.cond(x, env)})" for x in e.args)
        if e.op == "not":
            return f"not ({self.cond(e.args[0], env)})"
        if e.op == "implies":
            return f"(not ({self.cond(e.args[0], env)})) or ({self.cond(e.args[1], env)})"
        if e.op == "in":
            return f"({self.expr(e.args[0], env)}) in {tuple(e.values)!r}"
        raise ValueError(f"unknown operator {e.op}")

    def update(self, upd: Update, env: dict[str, int]) -> list[str]:
        """Statements computing the successor list `n` from `s`."""
        reads: list[str] = []
        writes: list[str] = []
        k = 0
        for a in upd:
            if isinstance(a, AssignAll):
                for c in range(self.layout.ncpus):
                    env2 = dict(env)
                    env2[a.bound.name] = c
                    reads.append(f"v{k} = {self.expr(a.value, env2)}")
                    writes.append(f"n[{self.layout.slot[(a.family.name, c)]}] = v{k}")
                    k += 1
                continue
            f = a.family
            reads.append(f"v{k} = {self.expr(a.value, env)}")
            if f.kind == "scalar":
                writes.append(f"n[{self.layout.slot[(f.name, None)]}] = v{k}")
            elif f.kind == "cpu":
                slot = self.layout.slot[(f.name, self.cpu(a.index, env))]  # type: ignore[arg-type]
                writes.append(f"n[{slot}] = v{k}")
            elif isinstance(a.index, int):
                writes.append(f"n[{self.layout.slot[(f.name, a.index)]}] = v{k}")
            else:
                reads.append(f"i{k} = {self.expr(a.index, env)}")  # type: ignore[arg-type]
                for i in f.domain:
                    writes.append(f"if i{k} == {i}: n[{self.layout.slot[(f.name, i)]}] = v{k}")
            k += 1
        return reads + writes


def compile_guard(e: Expr, layout: Layout, self_cpu: int | None, writer_cpus: tuple[int, ...]) -> str:
    """Python source of `e` evaluated over state tuple `s` (an int 0/1 or value)."""
    return _PyGen(layout, self_cpu, writer_cpus).expr(e, {})


def compile_condition(e: Expr, layout: Layout, self_cpu: int | None, writer_cpus: tuple[int, ...]) -> str:
    """Python source over `s` that is true exactly when `compile_guard`'s is nonzero (faster in an `if`)."""
    return _PyGen(layout, self_cpu, writer_cpus).cond(e, {})


def compile_update(upd: Update, layout: Layout, self_cpu: int | None, writer_cpus: tuple[int, ...]) -> list[str]:
    """Python statements that, given `s` and `n = list(s)`, apply `upd` to `n`."""
    return _PyGen(layout, self_cpu, writer_cpus).update(upd, {})


def evaluate(e: Expr, layout: Layout, state: tuple[int, ...], self_cpu: int | None = None,
             writer_cpus: tuple[int, ...] = ()) -> int:
    """Evaluate one expression on one state (slow; for tests and reports)."""
    src = compile_guard(e, layout, self_cpu, writer_cpus)
    value: int = eval(src, {"__builtins__": {"int": int}}, {"s": state})  # noqa: S307 - our own generated code
    return value


def show(e: object) -> str:
    """A readable rendering of an expression, for printing invariants."""
    if isinstance(e, Const):
        return str(e.value)
    if isinstance(e, Read):
        f = e.family
        if f.kind == "scalar":
            return f.name
        idx = e.index
        if isinstance(idx, Self):
            return f"{f.name}[self]"
        if isinstance(idx, WriterCpu):
            return f"{f.name}[writer{idx.writer}.cpu]"
        if isinstance(idx, Bound):
            return f"{f.name}[{idx.name}]"
        if isinstance(idx, int):
            return f"{f.name}[{idx}]"
        return f"{f.name}[{show(idx)}]"
    if isinstance(e, Quant):
        return f"({e.kind} {e.bound.name}. {show(e.body)})"
    if isinstance(e, (Self, WriterCpu, Bound)):
        return "self" if isinstance(e, Self) else f"writer{e.writer}.cpu" if isinstance(e, WriterCpu) else e.name
    if isinstance(e, Op):
        a = [show(x) for x in e.args]
        if e.op == "cpueq":
            return f"({a[0]} == {a[1]})"
        sym = {"eq": "==", "ne": "!=", "and": "&&", "or": "||", "implies": "->"}
        if e.op in sym:
            return "(" + f" {sym[e.op]} ".join(a) + ")"
        if e.op == "not":
            return f"!{a[0]}"
        if e.op == "ite":
            return f"({a[0]} ? {a[1]} : {a[2]})"
        if e.op == "in":
            return f"({a[0]} in {{{', '.join(map(str, e.values))}}})"
    return repr(e)
