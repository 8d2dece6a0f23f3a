"""Export a spec's transition system as a Promela model for SPIN.

`export(system)` translates the same `model.System` the explicit engine
explores -- its families, initial values, actions (guards and updates in the
language of `expr`) and properties -- into Promela text, for the fixed number
of CPUs of the system. The translation is generic over the expression
language: nothing in it depends on a spec's name or on which model built the
system.

The shape of the model (chosen so that SPIN's state space is the explorer's,
state for state, with symmetry reduction off):

* every state variable is a global: a scalar family is one variable, a finite
  family one variable per index (``ac_state_2``; Promela cannot initialize an
  array element by element), a per-CPU family one array indexed by CPU;
* one process, ``system``, whose body is ``end: do :: d_step {...} ... od``: each
  option is one instance of one action (a per-CPU action once per CPU, with
  `Self` and quantifiers over CPUs unrolled), ``d_step { guard -> update }``, one
  indivisible transition. Updates keep the language's parallel semantics: a
  right-hand side or index that reads a variable written earlier in the same
  update goes through a ``hidden`` temporary, which is not part of the state;
* one process, ``monitor``: one option per ``always`` property,
  ``d_step { !(P) -> assert(tag) }``, enabled exactly in the states violating
  the property, where it fails an assertion on a ``hidden`` constant named after
  the property (pan prints ``assertion violated prop_NAME``). Every state pan
  visits, the initial one included, is checked once, as the explorer checks
  every state it stores; the option returns to the same state, so it adds no
  state even when pan goes on after an error (``-c0``);
* ``sometimes`` properties (witnesses) become monitor options only when the
  model is preprocessed with ``-DWITNESSES`` (``spin -DWITNESSES -a``): the
  assertion ``wit_NAME`` then fails in every state witnessing the property.

Both processes' program counters stay at their loop heads, so a state of the
Promela model is exactly a valuation of the model's variables and
``pan -c0`` (compiled with ``-DSAFETY -DNOREDUCE``) stores as many states as the
explorer with ``symmetry=False``.

Not exported: ``writer_terminates`` (from every reachable state every writer
can still finish) is a branching-time property, neither an assertion nor an
LTL formula, and ``writer_waits_end_under_fairness`` is liveness under the
fairness of docs/liveness.md; the exported model marks every loop head as a valid end state,
so pan does not report deadlocks either. Symmetry reduction is not applied.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from slabproof import __version__
from slabproof.lang.expr import (
    AssignAll,
    Const,
    CpuConst,
    CpuTerm,
    Expr,
    Family,
    Op,
    Quant,
    Read,
    Self,
    Update,
    WriterCpu,
    families_read,
)
from slabproof.model import Action, System

NOT_EXPORTED = ("writer_terminates", "writer_waits_end_under_fairness")

# Promela's reserved words (SPIN 6), which no generated name may take.
KEYWORDS = frozenset("""
active assert atomic bit bool break byte c_code c_decl c_expr c_state c_track chan d_proctype d_step do
else empty enabled eval false fi for full get_priority goto hidden if in init inline int len local ltl
mtype nempty never nfull notrace np_ od of pc_value print printf printm priority proctype provided
run select set_priority short show skip timeout trace true typedef unless unsigned xr xs always
eventually until weak stronguntil implies equivalent
""".split())


@dataclass(frozen=True)
class PromelaModel:
    """One exported model: the Promela text and what its assertions stand for."""

    text: str
    spec: str  # the spec file
    cpus: int
    transitions: int  # options of the system process: action instances
    assertions: tuple[tuple[str, str], ...]  # (assertion tag, always property)
    witnesses: tuple[tuple[str, str], ...]  # (assertion tag, sometimes property), with -DWITNESSES
    not_exported: tuple[str, ...]

    def property_of(self, tag: str) -> str:
        """The property an assertion tag (as pan prints it) stands for; KeyError if none."""
        return dict(self.assertions + self.witnesses)[tag]


class _Names:
    """Promela identifiers, unique and outside the reserved words."""

    def __init__(self) -> None:
        self.used: set[str] = set(KEYWORDS) | {"system", "monitor", "k"}  # (k: the macros' parameter)

    def take(self, want: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", want)
        if not re.match(r"[A-Za-z]", base):
            base = "v" + base
        name, k = base, 1
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name


def _ctype(f: Family) -> str:
    hi, lo = max(f.values + (f.default,)), min(f.values + (f.default,))
    if lo >= 0 and hi <= 255:
        return "byte"
    if -32768 <= lo and hi <= 32767:
        return "short"
    return "int"


def _comment(text: str) -> str:
    """`text` made safe inside a C-style comment (one line)."""
    return " ".join(text.replace("*/", "* /").replace("/*", "/ *").split())


def _atom(code: str) -> bool:
    """A name, a number or a constant-indexed array element: cheap to repeat."""
    return re.fullmatch(r"[A-Za-z0-9_]+(\[[0-9]+\])?", code) is not None


def _negate(code: str) -> str:
    return f"!{code}" if code.startswith("(") or _atom(code) else f"!({code})"


def _contiguous(xs: tuple[int, ...]) -> bool:
    return len(xs) > 1 and tuple(xs) == tuple(range(xs[0], xs[0] + len(xs)))


class _Gen:
    """Expressions and updates as Promela, for one action instance (CPUs concrete)."""

    def __init__(self, x: "_Exporter", self_cpu: int | None) -> None:
        self.x = x
        self.self_cpu = self_cpu

    def cpu(self, t: CpuTerm, env: dict[str, int]) -> int:
        if isinstance(t, Self):
            if self.self_cpu is None:
                raise ValueError("Self used outside a per-CPU action")
            return self.self_cpu
        if isinstance(t, WriterCpu):
            return self.x.system.writer_cpus[t.writer]
        if isinstance(t, CpuConst):
            return t.cpu
        return env[t.name]

    def is_bool(self, e: Expr) -> bool:
        """Whether `e` always yields 0 or 1 (then C's && and || mean what the explorer's Python means)."""
        if isinstance(e, Const):
            return e.value in (0, 1)
        if isinstance(e, Read):
            return set(e.family.values) | {e.family.default} <= {0, 1}
        if isinstance(e, Quant):
            return self.is_bool(e.body)
        assert isinstance(e, Op)
        if e.op in ("and", "or"):
            return all(self.is_bool(a) for a in e.args)
        if e.op == "ite":
            return self.is_bool(e.args[1]) and self.is_bool(e.args[2])
        return True  # eq ne not implies in cpueq

    def read(self, r: Read, env: dict[str, int]) -> str:
        f = r.family
        x = self.x
        if f.kind == "scalar":
            return x.var[(f.name, None)]
        if f.kind == "cpu":
            return f"{x.var[(f.name, None)]}[{self.cpu(r.index, env)}]"  # type: ignore[arg-type]
        if isinstance(r.index, int):
            return x.var[(f.name, r.index)]
        idx = self.expr(r.index, env)  # type: ignore[arg-type]
        return f"{x.accessor(f)}({idx})"

    def _chain(self, op: str, parts: list[str], all_bool: bool) -> str:
        """`parts` joined by and/or with the explorer's (Python's) value: the deciding operand's value."""
        if all_bool:  # constant operands fold away (a CPU comparison is a constant here)
            unit, zero = ("1", "0") if op == "and" else ("0", "1")
            if zero in parts:
                return zero
            parts = [p for p in parts if p != unit] or [unit]
        if len(parts) == 1:
            return parts[0]
        if all_bool:
            return "(" + (" && " if op == "and" else " || ").join(parts) + ")"
        code = parts[-1]
        for p in reversed(parts[:-1]):
            code = f"({p} != 0 -> {code} : {p})" if op == "and" else f"({p} != 0 -> {p} : {code})"
        return code

    def expr(self, e: Expr, env: dict[str, int]) -> str:
        if isinstance(e, Const):
            return str(e.value)
        if isinstance(e, Read):
            return self.read(e, env)
        if isinstance(e, Quant):
            parts = [self.expr(e.body, {**env, e.bound.name: c}) for c in range(self.x.system.ncpus)]
            op = "and" if e.kind == "forall" else "or"
            if self.is_bool(e.body):
                return self._chain(op, parts, True)
            # the explorer wraps a quantifier in int(): the value of the deciding body
            return self._chain(op, parts, False)
        assert isinstance(e, Op)
        if e.op == "cpueq":
            return "1" if self.cpu(e.args[0], env) == self.cpu(e.args[1], env) else "0"
        a = [self.expr(y, env) for y in e.args]
        if e.op == "eq":
            return f"({a[0]} == {a[1]})"
        if e.op == "ne":
            return f"({a[0]} != {a[1]})"
        if e.op in ("and", "or"):
            return self._chain(e.op, a, all(self.is_bool(y) for y in e.args))
        if e.op == "not":
            return {"0": "1", "1": "0"}.get(a[0]) or _negate(a[0])
        if e.op == "implies":
            if a[0] == "0" or a[1] == "1":
                return "1"
            if a[0] == "1":
                return a[1] if self.is_bool(e.args[1]) else f"({a[1]} != 0)"
            return f"({_negate(a[0])} || {a[1]})"
        if e.op == "ite":
            return f"({a[0]} -> {a[1]} : {a[2]})"
        if e.op == "in":
            vals = tuple(e.values)
            if _contiguous(vals) and len(vals) > 2:
                return f"({vals[0]} <= {a[0]} && {a[0]} <= {vals[-1]})"
            return "(" + " || ".join(f"{a[0]} == {v}" for v in vals) + ")" if vals else "0"
        raise ValueError(f"unknown operator {e.op}")

    def update(self, upd: Update) -> list[str]:
        """Promela statements applying `upd` with parallel semantics (every read in the pre-state)."""
        x = self.x
        reads: list[str] = []
        writes: list[str] = []
        written: set[str] = set()  # families written by an earlier assignment of this update
        temps = 0

        def value(e: Expr, env: dict[str, int]) -> str:
            nonlocal temps
            code = self.expr(e, env)
            if not (families_read(e) & written):
                return code
            t = x.temp(temps)
            temps += 1
            reads.append(f"{t} = {code}")
            return t

        for a in upd:
            if isinstance(a, AssignAll):
                for c in range(x.system.ncpus):
                    v = value(a.value, {a.bound.name: c})
                    writes.append(f"{x.var[(a.family.name, None)]}[{c}] = {v}")
                    written.add(a.family.name)
                continue
            f = a.family
            v = value(a.value, {})
            if f.kind == "scalar":
                writes.append(f"{x.var[(f.name, None)]} = {v}")
            elif f.kind == "cpu":
                writes.append(f"{x.var[(f.name, None)]}[{self.cpu(a.index, {})}] = {v}")  # type: ignore[arg-type]
            elif isinstance(a.index, int):
                writes.append(f"{x.var[(f.name, a.index)]} = {v}")
            else:
                i = value(a.index, {})  # type: ignore[arg-type]
                if not _atom(i):  # written once per index below: evaluate it once
                    t = x.temp(temps)
                    temps += 1
                    reads.append(f"{t} = {i}")
                    i = t
                if not _atom(v):
                    t = x.temp(temps)
                    temps += 1
                    reads.append(f"{t} = {v}")
                    v = t
                opts = " ".join(f":: {i} == {d} -> {x.var[(f.name, d)]} = {v}" for d in f.domain)
                writes.append(f"if {opts} :: else -> skip fi")
            written.add(f.name)
        return reads + writes


class _Exporter:
    def __init__(self, system: System) -> None:
        self.system = system
        self.names = _Names()
        self.var: dict[tuple[str, int | None], str] = {}
        for f in system.families.values():
            if f.kind == "finite":
                for i in f.domain:
                    self.var[(f.name, i)] = self.names.take(f"{f.name}_{i}")
            else:
                self.var[(f.name, None)] = self.names.take(f.name)
        self.temps: list[str] = []
        self.accessors: dict[str, str] = {}  # finite family -> its macro (see `accessor`)

    def accessor(self, f: Family) -> str:
        """The macro reading `f` at an index computed in the state (`f.default` outside its domain)."""
        if f.name not in self.accessors:
            self.accessors[f.name] = self.names.take(f"{f.name}_at")
        return self.accessors[f.name]

    def macros(self) -> list[str]:
        out = []
        for fname, mac in self.accessors.items():
            f = self.system.families[fname]
            code = str(f.default)
            for i in reversed(f.domain):
                code = f"((k) == {i} -> {self.var[(fname, i)]} : {code})"
            out.append(f"#define {mac}(k) {code}")
        return out

    def temp(self, k: int) -> str:
        while len(self.temps) <= k:
            self.temps.append(self.names.take(f"tmp{len(self.temps)}"))
        return self.temps[k]

    def instances(self) -> list[tuple[str, Action, int | None]]:
        """(actor, action, CPU) for each transition, in the explorer's instance order."""
        out: list[tuple[str, Action, int | None]] = []
        for act in self.system.actions:
            if act.actor in ("writer", "flush"):  # (a flush: the writer CPU's store buffer, one instance)
                out.append((f"writer{act.writer}" + (".flush" if act.actor == "flush" else ""), act, None))
                continue
            for c in range(self.system.ncpus):
                out.append((f"cpu{c}" if act.actor == "cpu" else f"cpu{c}.{act.actor}", act, c))
        return out

    def declarations(self) -> list[str]:
        s = self.system
        lines: list[str] = []
        for f in s.families.values():
            t = _ctype(f)
            doc = f"  /* {_comment(f.doc)} */" if f.doc else ""
            if f.kind == "scalar":
                lines.append(f"{t} {self.var[(f.name, None)]} = {s.init[f.name]};{doc}")
            elif f.kind == "cpu":
                lines.append(f"{t} {self.var[(f.name, None)]}[{s.ncpus}] = {s.init[f.name]};{doc}")
            else:
                init = s.init[f.name]
                assert isinstance(init, dict)
                for i in f.domain:
                    lines.append(f"{t} {self.var[(f.name, i)]} = {init[i]};{doc}")
                    doc = ""
        return lines

    def run(self) -> PromelaModel:
        s = self.system
        options: list[str] = []
        insts = self.instances()
        for actor, act, c in insts:
            g = _Gen(self, c)
            guard = g.expr(act.guard, {})
            body = [guard] + g.update(act.update)
            what = act.name + (f" -- {act.text}" if act.text else "")
            options.append(f"\t/* {_comment(actor)}: {_comment(what)} */")
            options.append(f"\t:: d_step {{ {body[0]} -> " + "; ".join(body[1:] or ["skip"]) + " }")
        asserts: list[tuple[str, str]] = []
        wits: list[tuple[str, str]] = []
        checks: list[str] = []
        witness_checks: list[str] = []
        g = _Gen(self, None)
        for p in s.properties:
            pred = g.expr(p.expr, {})
            if p.kind == "always":
                tag = self.names.take(f"prop_{p.name}")
                asserts.append((tag, p.name))
                checks.append(f"\t/* {p.name}: {_comment(p.doc)} */")
                checks.append(f"\t:: d_step {{ {_negate(pred)} -> assert({tag}) }}")
            else:
                tag = self.names.take(f"wit_{p.name}")
                wits.append((tag, p.name))
                witness_checks.append(f"\t/* witness of {p.name}: {_comment(p.doc)} */")
                witness_checks.append(f"\t:: d_step {{ {pred} -> assert({tag}) }}")
        spec = s.spec
        header = [
            f"/* {_comment(spec.name)}: exported by slabproof {__version__} from {_comment(spec.path)}, "
            f"{s.ncpus} CPUs.",
            f" * {_comment(spec.description)}" if spec.description else " *",
            " *",
            f" * {len(insts)} transitions (one d_step each, in the process 'system'), "
            f"{len(asserts)} safety properties as assertions (the process 'monitor', checked in every state).",
            " * Check:  spin -a FILE && gcc -O2 -DSAFETY -DNOREDUCE -o pan pan.c && ./pan -c0 -m10000000",
            " * pan reports 'assertion violated prop_NAME' for each violated property; with -c0 it stores as",
            " * many states as 'slabproof check --no-symmetry --engine explicit' explores.",
            " * Witnesses ('sometimes' properties): spin -DWITNESSES -a FILE; 'assertion violated wit_NAME'",
            " * then means the property is witnessed.",
            f" * Not exported: {', '.join(NOT_EXPORTED)} (liveness: the first branching-time, from every",
            " * reachable state every writer can still finish; the second under fairness, lassos); loop",
            " * heads are valid end states, so pan reports no deadlock. No symmetry reduction.",
            " */",
            "",
        ]
        tags = [t for t, _ in asserts + wits]
        lines = header + self.declarations()
        if tags:
            lines += ["", "/* assertion tags: always 0; the monitor asserts one in a state violating (or, for wit_,",
                      " * witnessing) its property, so that pan's message names the property */"]
            lines += [f"hidden byte {t};" for t in tags]
        if self.accessors:
            lines += ["", "/* a finite family read at an index computed in the state */"] + self.macros()
        if self.temps:
            lines += ["", "/* the pre-state values of an update's parallel assignments (not part of the state) */"]
            lines += [f"hidden int {t};" for t in self.temps]
        lines += ["", "active proctype system() {", "end:\tdo"] + options + ["\tod", "}", ""]
        if checks or witness_checks:
            lines += ["active proctype monitor() {", "end:\tdo"] + checks
            if witness_checks:
                lines += ["#ifdef WITNESSES"] + witness_checks + ["#endif"]
            if not checks:  # a do needs an option even when the witnesses are left out
                lines += ["\t:: d_step { 0 -> skip }"]
            lines += ["\tod", "}", ""]
        return PromelaModel(
            text="\n".join(lines),
            spec=spec.path,
            cpus=s.ncpus,
            transitions=len(insts),
            assertions=tuple(asserts),
            witnesses=tuple(wits),
            not_exported=NOT_EXPORTED,
        )


def export(system: System) -> PromelaModel:
    """The Promela model of `system` (see the module docstring)."""
    return _Exporter(system).run()


def write_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same directory and `os.replace`
    (a reader never sees half a file); raises OSError."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
