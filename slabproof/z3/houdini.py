"""Candidate invariants and the Houdini fixpoint, shared by the two induction engines.

Not an engine: `induction` (a fixed number of CPUs, `symbolic.FixedEncoding`)
and `param` (any number, `symbolic.GroundEncoding`) both take their
candidates, the fixpoint, the minimization and the lemma queries from here,
each over its own encoding.

**Candidates** are clauses over the model's state variables, generated from
the families of the `System` (no clause is written by hand):

* *global*: ``A => g in S`` -- A is true or a writer-position atom
  ``writer_pc[w] == p``; g a scalar or finite variable;
* *per CPU*: ``A and B(x) => c in S`` -- B(x) an atom over one CPU's
  variables (``ac[x] == root#0``), c a global variable or one of the same
  CPU's variables, or ``false``;
* *pairs*: ``not (B1(x) and B2(y))`` for two different CPUs.

Level 1 adds *derived* columns: a finite family read at the value of another
variable (``ac_state[prev[writer0]]``, ``ac_state[ac[x]]``).

A CPU in a clause has a *role*: ``w0``, ``w1``... the CPU writer w runs on,
or ``x`` / ``y``, any CPU that runs no writer (universally quantified).
Clauses over roles are symmetric under permutations of the non-writer CPUs,
so they can be filtered against the explicit engine's canonical states and
read for any number of CPUs.

**Filtering**: S is the set of values the variable takes in the states the
explicit engine reached (passed in as data) where the premises hold, so every
candidate holds in all of them. The generator never produces a clause the
clauses with fewer premises already imply.

**Initiation**: a candidate is kept only if the encoding's initial condition
implies it (a solver query; for the ground encoding, for every number of
CPUs).

**Houdini**: repeatedly ask the solver for a state satisfying every remaining
candidate with a successor violating some; drop the candidates that
successor violates; stop when there is none. What remains is the largest
inductive subset of the candidates.

**Properties and lemmas** are one-state queries, posed without the
transition relation (`Queries.check_state`), so deadlocked states count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import z3

from slabproof.lang.expr import (
    FALSE,
    And,
    Bound,
    Expr,
    Forall,
    Implies,
    In,
    Layout,
    Not,
    Op,
    Read,
    WriterCpu,
    compile_guard,
    evaluate,
)
from slabproof.model import PROPERTY_DOCS, System
from slabproof.results import EngineResult, PropertyResult, Verdict
from slabproof.z3 import symbolic
from slabproof.z3.symbolic import FixedEncoding, SolverGaveUp

PREMISE_FAMILIES = ("writer_pc",)  # the A of "A and B(x) => c"
ROLES = -1  # the candidate level of the role language (`roles.generate`)


@dataclass(frozen=True)
class Atom:
    """``family[index or the role's CPU]`` takes one of `values`."""

    family: str
    index: int | None  # index of a finite family (None: scalar or per-CPU)
    role: str | None  # None for a global variable; "w0".. or "x" / "y" for a per-CPU one
    values: tuple[int, ...]
    via: str | None = None  # family[via[index or role]]: e.g. ac_state[prev[writer0]], ac_state[ac[x]]


@dataclass(frozen=True)
class Clause:
    """``premises => conclusion`` (conclusion None: false), quantified over the roles x, y."""

    premises: tuple[Atom, ...]
    conclusion: Atom | None

    @property
    def roles(self) -> tuple[str, ...]:
        rs = {a.role for a in self.premises if a.role} | ({self.conclusion.role} if self.conclusion
                                                           and self.conclusion.role else set())
        return tuple(sorted(rs))

    @property
    def bound_roles(self) -> tuple[str, ...]:
        return tuple(r for r in self.roles if not r.startswith("w"))


def _atom_key(a: Atom) -> tuple:
    return (a.family, -1 if a.index is None else a.index, a.role or "", a.values, a.via or "")


def clause_key(c: Clause) -> tuple:
    """A total order on clauses (deterministic output); a role clause has its own key."""
    if not isinstance(c, Clause):
        return (-1, repr(c.key()))  # type: ignore[attr-defined]
    return (len(c.premises), tuple(_atom_key(a) for a in c.premises),
            () if c.conclusion is None else _atom_key(c.conclusion))


def role_cpu(role: str) -> object:
    """The CPU term a role stands for inside a clause's body."""
    return WriterCpu(int(role[1:])) if role.startswith("w") else Bound(role)


def atom_expr(system: System, a: Atom) -> Expr:
    if a.via is not None:
        inner = atom_expr(system, Atom(a.via, a.index, a.role, (0,)))
        assert isinstance(inner, Op) and isinstance(inner.args[0], Read)
        r = Read(system.families[a.family], inner.args[0])
        return r == a.values[0] if len(a.values) == 1 else In(r, a.values)
    f = system.families[a.family]
    if f.kind == "cpu":
        r = Read(f, role_cpu(a.role))  # type: ignore[arg-type]
    elif f.kind == "scalar":
        r = Read(f)
    else:
        r = Read(f, a.index)
    if len(a.values) == 1:
        return r == a.values[0]
    return In(r, a.values)


def body_expr(system: System, c: Clause) -> Expr:
    """The clause with its bound roles free (Bound("x"), Bound("y"))."""
    prem = And(*[atom_expr(system, a) for a in c.premises])
    concl = atom_expr(system, c.conclusion) if c.conclusion is not None else FALSE
    return Implies(prem, concl)


def side_condition(system: System, c: Clause) -> Expr:
    """x and y run no writer, and differ from each other."""
    parts: list[Expr] = []
    for r in c.bound_roles:
        for w in range(len(system.writer_cpus)):
            parts.append(Not(Op("cpueq", (Bound(r), WriterCpu(w)))))
    if len(c.bound_roles) == 2:
        parts.append(Not(Op("cpueq", (Bound("x"), Bound("y")))))
    return And(*parts)


def clause_expr(system: System, c: Clause) -> Expr:
    """The clause as a closed state predicate of the model's expression language (a role clause,
    `roles.RoleClause`, carries its own)."""
    closed = getattr(c, "expr", None)
    if closed is not None:
        return closed
    body = Implies(side_condition(system, c), body_expr(system, c)) if c.bound_roles else body_expr(system, c)
    for r in reversed(c.bound_roles):
        body = Forall(Bound(r), body)
    return body


# ---------------------------------------------------------------------------
# reading clauses in kernel terms


def _var_name(system: System, a: Atom) -> str:
    if a.via is not None:
        return f"{a.family}[{_var_name(system, Atom(a.via, a.index, a.role, ()))}]"
    f = system.families[a.family]
    if f.kind == "cpu":
        who = f"writer{a.role[1:]}.cpu" if a.role and a.role.startswith("w") else a.role
        return f"{a.family}[{who}]"
    if f.kind == "scalar":
        return a.family
    if a.family == "ac_state":
        return f"ac_state[{system.ac_label(a.index)}]"  # type: ignore[arg-type]
    if a.family in ("cpu_cache", "visible"):
        return f"{a.family}[{system.caches[a.index]}]"  # type: ignore[index]
    if a.family in ("writer_pc", "prev"):
        return f"{a.family}[writer{a.index}]"
    return f"{a.family}[{a.index}]"


def _writer_position(system: System, w: int, pc: int) -> str:
    """Where writer w is when its next step is number `pc`: "'tune root' csd_lock_wait", or "done"."""
    for act in system.actions:
        if act.actor == "writer" and act.writer == w and act.pc == pc:
            op = system.ops[act.op]  # type: ignore[index]
            return f"'{op.describe(system)}' {act.step}"
    return "done"


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for v in sorted(values):
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def show_atom(system: System, a: Atom) -> str:
    allv = system.families[a.family].values
    if a.family == "writer_pc" and a.index is not None and a.via is None:
        pos = _runs(a.values)
        neg = _runs([v for v in allv if v not in a.values])
        word, runs = ("at", pos) if len(pos) <= len(neg) else ("not at", neg)

        def run(r: tuple[int, int]) -> str:
            lo = _writer_position(system, a.index, r[0])  # type: ignore[arg-type]
            return lo if r[0] == r[1] else f"{lo} .. {_writer_position(system, a.index, r[1])}"  # type: ignore[arg-type]
        return f"writer{a.index} {word} " + ", ".join(run(r) for r in runs)
    shown = [system.show_value(a.family, v) for v in a.values]
    if len(a.values) == 1:
        return f"{_var_name(system, a)} == {shown[0]}"
    others = [system.show_value(a.family, v) for v in allv if v not in a.values]
    if len(others) == 1:
        return f"{_var_name(system, a)} != {others[0]}"
    if len(others) < len(shown):
        return f"{_var_name(system, a)} not in {{{', '.join(others)}}}"
    return f"{_var_name(system, a)} in {{{', '.join(shown)}}}"


def show_clause(system: System, c: Clause) -> str:
    """A clause as one readable line, e.g. ``forall CPU x: ac[x] == root#0 -> ac_state[root#0] != freed``."""
    quant = ""
    if c.bound_roles:
        names = " != ".join(c.bound_roles)
        quant = f"for every CPU {names} without a writer: "
    if c.conclusion is None:
        return quant + "not (" + " and ".join(show_atom(system, a) for a in c.premises) + ")"
    concl = show_atom(system, c.conclusion)
    if not c.premises:
        return quant + concl
    return quant + " and ".join(show_atom(system, a) for a in c.premises) + " -> " + concl


# ---------------------------------------------------------------------------
# generation, filtered by reachable states


class _Tables:
    """The explicit engine's states as arrays: global columns, and each CPU's columns.

    Besides the state variables there are *derived* columns: a finite family
    read at the value of another variable whose values cover its domain
    (``ac_state[prev[writer0]]``, ``ac_state[ac[x]]``).
    """

    def __init__(self, system: System, states: Sequence[tuple[int, ...]], slots: Sequence[tuple[str, int | None]],
                 derived: bool = True) -> None:
        self.system = system
        S = np.asarray(states, dtype=np.int32)
        if S.ndim != 2:
            S = S.reshape(len(states), len(slots))
        self.S = S
        fam = system.families
        col = {k: i for i, k in enumerate(slots)}
        self.col = col
        # (family, index, via) of each global column, and the data
        self.gdesc: list[tuple[str, int | None, str | None]] = []
        gdata: list[np.ndarray] = []
        for k in slots:
            if fam[k[0]].kind != "cpu":
                self.gdesc.append((k[0], k[1], None))
                gdata.append(S[:, col[k]])
        self.lfams = [f.name for f in fam.values() if f.kind == "cpu"]
        self.ldesc: list[tuple[str, str | None]] = [(f, None) for f in self.lfams]
        # F[V] when V's values cover F's domain; not for a domain that starts at 0 (writer and cache
        # numbers, which counters and flags take too), nor for a Boolean V
        self.derived = [(F.name, V.name) for F in fam.values()
                        if F.kind == "finite" and len(F.domain) > 1 and min(F.domain) > 0
                        for V in fam.values()
                        if V is not F and not V.is_bool and set(F.domain) <= set(V.values)] if derived else []
        for F, Vn in self.derived:
            if fam[Vn].kind == "cpu":
                self.ldesc.append((F, Vn))
            elif fam[Vn].kind == "finite":
                for i in fam[Vn].domain:
                    self.gdesc.append((F, i, Vn))
                    gdata.append(self._lookup(F, S[:, col[(Vn, i)]]))
            else:
                self.gdesc.append((F, None, Vn))
                gdata.append(self._lookup(F, S[:, col[(Vn, None)]]))
        self.G = np.stack(gdata, axis=1) if gdata else np.zeros((len(S), 0), dtype=np.int32)
        cpus = sorted({k[1] for k in slots if fam[k[0]].kind == "cpu"})
        self.cpus = cpus
        self.writer_cpus = tuple(system.writer_cpus)
        self.others = [c for c in cpus if c not in self.writer_cpus]
        top = [max(f.values) for f in fam.values() if f.values] + [f.default for f in fam.values()]
        self.V = int(max([1] + top + [int(S.max()) if S.size else 0])) + 1

    def _lookup(self, F: str, index: np.ndarray) -> np.ndarray:
        f = self.system.families[F]
        out = np.full(index.shape, f.default, dtype=np.int32)
        for d in f.domain:
            out = np.where(index == d, self.S[:, self.col[(F, d)]], out)
        return out

    def local(self, c: int) -> np.ndarray:
        """The columns of CPU c (its variables, then the derived ones)."""
        parts = []
        for F, Vn in self.ldesc:
            v = self.S[:, self.col[(F if Vn is None else Vn, c)]]
            parts.append(v if Vn is None else self._lookup(F, v))
        return np.stack(parts, axis=1)

    def cpus_of(self, role: str) -> list[int]:
        return [self.writer_cpus[int(role[1:])]] if role.startswith("w") else self.others

    def role_rows(self, role: str | None) -> np.ndarray:
        """Rows (global columns, then the role's CPU columns), one per state and CPU the role stands for."""
        if role is None:
            return self.G
        cs = self.cpus_of(role)
        if not cs:
            return np.zeros((0, self.G.shape[1] + len(self.ldesc)), dtype=np.int32)
        return np.vstack([np.hstack([self.G, self.local(c)]) for c in cs])

    def column_family(self, k: int) -> str:
        g = len(self.gdesc)
        return self.gdesc[k][0] if k < g else self.ldesc[k - g][0]

    def is_plain(self, k: int) -> bool:
        g = len(self.gdesc)
        return (self.gdesc[k][2] if k < g else self.ldesc[k - g][1]) is None


def _seen(a: np.ndarray, b: np.ndarray, V: int) -> np.ndarray:
    """seen[i, j] is True when some row has a == i and b == j."""
    h = np.bincount(a * V + b, minlength=V * V).reshape(V, V)
    return h > 0


def generate(system: System, states: Sequence[tuple[int, ...]], slots: Sequence[tuple[str, int | None]], level: int = 0,
             pairs: bool = True, premise_families: Sequence[str] | None = PREMISE_FAMILIES) -> list[Clause]:
    """Every candidate clause that holds in all of `states` (see the module docstring).

    `level` 0 uses the state variables; level 1 adds the derived columns.

    A conclusion is the set of values a column takes in the states where
    the premises hold, emitted only when it says more than the clauses with
    fewer premises; premises that never hold together give ``false``.
    """
    T = _Tables(system, states, slots, derived=level >= 1)
    V = T.V
    fam = system.families
    out: list[Clause] = []
    g = len(T.gdesc)
    prem_cols = [i for i, (f, _, via) in enumerate(T.gdesc)
                 if via is None and (premise_families is None or f in premise_families)]

    def atom(col: int, vals: Iterable[int], role: str | None) -> Atom:
        if col < g:
            f, idx, via = T.gdesc[col]
            return Atom(f, idx if (fam[via or f].kind == "finite") else None, None, tuple(sorted(vals)), via)
        f, via = T.ldesc[col - g]
        return Atom(f, None, role, tuple(sorted(vals)), via)

    def conclude(prem: tuple[Atom, ...], col: int, vals: set[int], weaker: set[int], role: str | None) -> None:
        allv = set(fam[T.column_family(col)].values) | {fam[T.column_family(col)].default}
        if vals != weaker and not allv <= vals:
            out.append(Clause(prem, atom(col, vals, role)))

    roles: list[str | None] = [None] + [f"w{w}" for w in range(len(T.writer_cpus))] + (["x"] if T.others else [])
    for role in roles:
        R = T.role_rows(role)
        if not len(R):
            continue
        ncol = R.shape[1]
        # the columns a pass concludes about: globals in the global pass, the role's own otherwise
        own = range(g) if role is None else range(g, ncol)
        allseen = {c: set(np.unique(R[:, c]).tolist()) for c in range(ncol)}
        every = {c: set(fam[T.column_family(c)].values) | {fam[T.column_family(c)].default} for c in range(ncol)}
        for k in own:  # true => c in seen
            conclude((), k, allseen[k], every[k], role)
        bcols = [] if role is None else [j for j in range(g, ncol) if T.is_plain(j)]
        single: dict[tuple[int, int, int], set[int]] = {}  # (premise col, value, col) -> values seen
        for a in prem_cols + bcols:
            for k in range(ncol):
                if k == a:
                    continue
                seen = _seen(R[:, a], R[:, k], V)
                for p in allseen[a]:
                    single[(a, p, k)] = set(np.nonzero(seen[p])[0].tolist())
        # a per-CPU premise concludes about the role's columns and the plain global ones
        wide = [k for k in range(ncol) if k >= g or T.is_plain(k)]
        for a in prem_cols + bcols:  # P => c in seen(P)
            targets: Iterable[int] = own if a < g else wide
            for p in sorted(allseen[a]):
                for k in targets:
                    if k != a:
                        conclude((atom(a, (p,), role),), k, single[(a, p, k)], allseen[k] & every[k], role)
        # a global premise and a per-CPU atom
        for a in prem_cols if role is not None else ():
            for j in bcols:
                ab = _seen(R[:, a], R[:, j], V)
                for p in sorted(allseen[a]):
                    for b in sorted(allseen[j]):
                        if not ab[p, b]:
                            out.append(Clause((atom(a, (p,), role), atom(j, (b,), role)), None))
                for k in wide:
                    if k in (a, j):
                        continue
                    code = (R[:, a] * V + R[:, j]) * V + R[:, k]
                    h = np.bincount(code, minlength=V * V * V).reshape(V, V, V) > 0
                    for p in sorted(allseen[a]):
                        for b in sorted(allseen[j]):
                            if ab[p, b]:
                                vals = set(np.nonzero(h[p, b])[0].tolist())
                                conclude((atom(a, (p,), role), atom(j, (b,), role)), k, vals,
                                         single[(a, p, k)] & single[(j, b, k)], role)

    # pairs: not (B1(r1) and B2(r2)) for two different CPUs
    if pairs:
        combos: list[tuple[str, str, list[tuple[int, int]]]] = []
        if len(T.others) >= 2:
            combos.append(("x", "y", [(c, d) for c in T.others for d in T.others if c != d]))
        for w, wc in enumerate(T.writer_cpus):
            if T.others:
                combos.append((f"w{w}", "x", [(wc, d) for d in T.others]))
        L = len(T.lfams)
        for r1, r2, cpairs in combos:
            A = np.vstack([T.local(c)[:, :L] for c, _ in cpairs])
            B = np.vstack([T.local(d)[:, :L] for _, d in cpairs])
            for j1 in range(L):
                s1 = set(np.unique(A[:, j1]).tolist())
                for j2 in range(L):
                    if r1 == "x" and r2 == "y" and j2 < j1:
                        continue  # symmetric: (x, y) and (y, x) range over the same pairs
                    s2 = set(np.unique(B[:, j2]).tolist())
                    seen = _seen(A[:, j1], B[:, j2], V)
                    for v1 in sorted(s1):
                        for v2 in sorted(s2):
                            if r1 == "x" and j1 == j2 and v2 < v1:
                                continue
                            if not seen[v1, v2]:
                                out.append(Clause((Atom(T.lfams[j1], None, r1, (v1,)),
                                                   Atom(T.lfams[j2], None, r2, (v2,))), None))
    return sorted(set(out), key=clause_key)


def _ncpus(system: System, slots: Sequence[tuple[str, int | None]]) -> int:
    """The number of CPUs of the states `slots` describes (the data may come from a bigger system)."""
    return len({k[1] for k in slots if system.families[k[0]].kind == "cpu"})


def holds_on(system: System, clauses: Iterable[Clause], states: Sequence[tuple[int, ...]],
             slots: Sequence[tuple[str, int | None]]) -> list[Clause]:
    """The clauses false in some of `states` (an independent, slow check used by tests)."""
    ncpus = len({k[1] for k in slots if system.families[k[0]].kind == "cpu"})
    layout = Layout(system.families.values(), ncpus)
    assert [layout.slot[k] for k in slots] == list(range(len(slots)))
    bad = []
    for c in clauses:
        e = clause_expr(system, c)
        if not all(evaluate(e, layout, s, None, system.writer_cpus) for s in states):
            bad.append(c)
    return bad


# ---------------------------------------------------------------------------
# the patch's lemmas, as state predicates


@dataclass(frozen=True)
class Lemma:
    """A named query over one state. `expected` "unsat": no state satisfying the invariant
    satisfies `expr` (the lemma holds); "sat": some state does (a possibility, with a witness)."""

    name: str
    doc: str
    query: str  # the question, in words
    expr: Expr
    expected: str


def lemmas(system: System) -> list[Lemma]:
    """The patch's two lemmas and the converse of the second, built from the model's actions."""
    from slabproof.lang.expr import Exists, In, Or

    fam = system.families
    holders = [fam[n] for n in ("ac", "reaper_ac") if n in fam]
    refs = tuple(a.ref for a in system.acs)
    x = Bound("x")
    prop = {p.name: p for p in system.properties}
    out: list[Lemma] = []
    if "fresh_unreachable" in prop:
        out.append(Lemma(
            "fresh_unreachable",
            "no CPU holds a fresh array cache, nor any array cache of a kmem_cache that is not yet visible",
            "is there a state satisfying the invariant where a CPU holds a fresh array cache or one of "
            "an invisible kmem_cache?",
            Not(prop["fresh_unreachable"].expr), "unsat"))
    kicks = sorted({(a.writer, a.pc, a.op) for a in system.actions
                    if a.actor == "writer" and a.step == "smp_call_function"})  # type: ignore[misc]
    null_parts: list[Expr] = []
    prev_parts: list[Expr] = []
    for w, pc, oi in kicks:
        op = system.ops[oi]
        mine = tuple(a.ref for a in system.acs if a.cache == op.cache)
        wpc = Read(fam["writer_pc"], w)
        prev = Read(fam["prev"], w)
        holds_own = Exists(x, Or(*[In(Read(h, x), mine) for h in holders]))
        null_parts.append(And(wpc == pc, Not(In(prev, refs)), holds_own))
        prev_parts.append(And(wpc == pc, In(prev, refs), Exists(x, Or(*[Read(h, x) == prev for h in holders]))))
    if kicks:
        out.append(Lemma(
            "kick_without_prev_is_a_no_op",
            "whenever the writer reaches kick_all_cpus_sync() with prev NULL, no CPU holds any array cache "
            "of that kmem_cache, so the IPI has nothing to wait for",
            "is there a state satisfying the invariant where the writer is at smp_call_function with prev "
            "NULL and a CPU holds an array cache of the kmem_cache being set up?",
            Or(*null_parts), "unsat"))
        out.append(Lemma(
            "kick_with_prev_can_matter",
            "at kick_all_cpus_sync() with prev set, a CPU can still hold prev: the IPI on replacement is needed",
            "is there a state where the writer is at smp_call_function with prev set and a CPU holds prev?",
            Or(*prev_parts), "sat"))
    return out


# ---------------------------------------------------------------------------
# the proof pipeline over one encoding

LIVENESS = "writer_terminates"
FAIRNESS = "writer_waits_end_under_fairness"


@dataclass
class Proof:
    """What the pipeline found, before an engine turns it into an `EngineResult`."""

    candidates: int = 0
    inductive: list[Clause] = field(default_factory=list)  # every surviving candidate
    invariant: list[Clause] = field(default_factory=list)  # minimized (or every survivor, unminimized)
    proved: dict[str, list[Clause]] = field(default_factory=dict)  # property -> the clauses it needs
    unproved: dict[str, str] = field(default_factory=dict)  # property -> why not
    rounds: int = 0
    reason: str = ""  # set when the solver gave up or time ran out
    lemmas: list[dict[str, Any]] = field(default_factory=list)
    minimized: bool = False
    level: int = 0  # the candidate level that produced it (ROLES: the role language, `roles.py`)
    fallback: str = ""  # why the role language was not used, when it was tried and did not prove


class Queries:
    """The proof queries over one encoding, on two kinds of incremental solver.

    * *step* queries (`check_step`, `cti`, `houdini`): the domain and axioms of
      the pre-state s, and T(s, t) -- consecution, ``Inv(s) and T(s, t) and
      not c(t)``;
    * *state* queries (`check_state`): the domain and axioms of s only, no
      transition relation -- a property (``Inv(s) and not P(s)``), a lemma
      (``Inv(s) and L(s)``), initiation (``Init(s) and not c(s)``). With T
      there, such a query would only ask about states with an enabled step
      and miss every deadlocked one.

    Candidates are plain assertions under push/pop; for unsat cores each kind
    has a second solver with one assumption literal per candidate.
    """

    def __init__(self, enc: FixedEncoding, clauses: Sequence[Clause], budget: symbolic.Budget) -> None:
        self.enc = enc
        self.system = enc.system
        self.budget = budget
        self.s, self.t = enc.state("s"), enc.state("t")
        # what every query assumes of the pre-state: each variable within its family's values, the axioms
        self.state_base: list[z3.ExprRef] = [enc.domain(self.s)]
        axioms = getattr(enc, "axioms", None)
        if axioms is not None:
            self.state_base.append(axioms(self.s))
        parts, self.sel = enc.selector_step(self.s, self.t, "step")
        self.step_base: list[z3.ExprRef] = self.state_base + list(parts)
        self.solver = z3.SolverFor("QF_FD")  # step queries
        self.solver.add(*self.step_base)
        self.state_solver = z3.SolverFor("QF_FD")  # state queries: no T
        self.state_solver.add(*self.state_base)
        self._atoms: dict[tuple, z3.ExprRef] = {}
        self._roles: Any = None  # a `roles.Builder`, for role clauses
        nw = len(self.system.writer_cpus)
        # the CPU terms a bound role ranges over, with the condition that it runs no writer
        self._free: list[tuple[object, z3.ExprRef]] = []
        for c in enc.cpu_terms:
            side = z3.simplify(z3.And(*[z3.Not(enc.cpu_eq(c, enc.cpu(WriterCpu(w), {}, None)))
                                        for w in range(nw)]))
            if not z3.is_false(side):
                self._free.append((c, side))
        self.pre = [self.clause(c, self.s, "s") for c in clauses]
        self.post = [self.clause(c, self.t, "t") for c in clauses]
        self._core_solvers: dict[bool, z3.Solver] = {}  # step? -> solver with assumption literals
        self.lits: list[z3.ExprRef] = [z3.Bool(f"cand{i}") for i in range(len(self.pre))]
        self.by_lit: dict[int, int] = {x.get_id(): i for i, x in enumerate(self.lits)}

    def _atom(self, a: Atom, state: dict, tag: str, env: dict) -> z3.ExprRef:
        cpu = env.get(a.role) if a.role in ("x", "y") else None
        key = (a, tag, None if cpu is None else cpu if isinstance(cpu, int) else cpu.get_id())
        t = self._atoms.get(key)
        if t is None:
            t = self.enc.formula(atom_expr(self.system, a), state, env)
            self._atoms[key] = t
        return t

    def clause(self, c: Clause, state: dict, tag: str) -> z3.ExprRef:
        """The clause over `state`, its bound roles instantiated over the encoding's CPUs (a role
        clause is a closed predicate: the encoding instantiates its quantifier itself)."""
        if hasattr(c, "expr"):
            if self._roles is None:
                from slabproof.z3 import roles

                self._roles = roles.Builder(self.enc)
            return self._roles.formula(c, state)  # type: ignore[return-value]
        def body(env: dict) -> z3.ExprRef:
            prem = [self._atom(a, state, tag, env) for a in c.premises]
            concl = self._atom(c.conclusion, state, tag, env) if c.conclusion is not None else z3.BoolVal(False)
            return z3.Implies(z3.And(*prem), concl) if prem else concl

        roles = c.bound_roles
        if not roles:
            return body({})
        parts = []
        if len(roles) == 1:
            for x, side in self._free:
                parts.append(z3.Implies(side, body({roles[0]: x})) if not z3.is_true(side) else body({roles[0]: x}))
        else:
            for i, (x, sx) in enumerate(self._free):
                for j, (y, sy) in enumerate(self._free):
                    if i == j:
                        continue
                    cond = z3.simplify(z3.And(sx, sy, z3.Not(self.enc.cpu_eq(x, y))))
                    if z3.is_false(cond):
                        continue
                    b = body({roles[0]: x, roles[1]: y})
                    parts.append(b if z3.is_true(cond) else z3.Implies(cond, b))
        return z3.And(*parts)

    def initiation(self, active: set[int]) -> set[int]:
        """The clauses of `active` implied by the initial condition, asked of the state solver:
        while ``Init(s) and not (every remaining clause)(s)`` has a model, drop what it violates."""
        sol = self.state_solver
        sol.push()
        try:
            sol.add(self.enc.init(self.s))
            current = set(active)
            while current:
                sol.push()
                try:
                    sol.add(z3.Or(*[z3.Not(self.pre[i]) for i in sorted(current)]))
                    if not symbolic.check(sol, budget=self.budget):
                        break
                    m = sol.model()
                    current -= {i for i in current if not z3.is_true(m.eval(self.pre[i], model_completion=True))}
                finally:
                    sol.pop()
            return current
        finally:
            sol.pop()

    def cti(self, active: set[int]) -> z3.ModelRef | None:
        """A step from a state satisfying Inv(active) to one violating some clause of `active`."""
        if not active:
            return None
        m = self.check_step(active, z3.Or(*[z3.Not(self.post[i]) for i in sorted(active)]))
        return None if isinstance(m, set) else m

    def houdini(self, active: set[int], on_round: Callable[[int, int], None] | None = None) -> set[int]:
        """The largest inductive subset of `active` (Houdini).

        Within one solver frame holding the hypothesis Inv(active), keep finding
        successors that break a remaining candidate and dropping what they
        break (a counterexample under the stronger hypothesis is one under any
        weaker one); then restart the frame with the survivors, until a frame
        finds nothing.
        """
        rounds = 0
        sol = self.solver
        while True:
            sol.push()
            try:
                sol.add(*[self.pre[i] for i in sorted(active)])
                current = set(active)
                while current:
                    sol.push()
                    try:
                        sol.add(z3.Or(*[z3.Not(self.post[i]) for i in sorted(current)]))
                        if not symbolic.check(sol, budget=self.budget):
                            break
                        current -= self.violated(sol.model(), current)
                        rounds += 1
                        if on_round is not None:
                            on_round(rounds, len(current))
                    finally:
                        sol.pop()
            finally:
                sol.pop()
            if current == active:
                return active
            active = current

    def violated(self, m: z3.ModelRef, among: Iterable[int]) -> set[int]:
        return {i for i in among if not z3.is_true(m.eval(self.post[i], model_completion=True))}

    def _cores(self, step: bool) -> z3.Solver:
        """A solver with one assumption literal per candidate, for unsat cores (slower); with T(s, t)
        for step queries, without it for state queries."""
        sol = self._core_solvers.get(step)
        if sol is None:
            sol = z3.SolverFor("QF_FD")
            sol.set("sat.core.minimize", True)
            sol.add(*(self.step_base if step else self.state_base))
            for i, pre in enumerate(self.pre):
                sol.add(z3.Implies(self.lits[i], pre))
            self._core_solvers[step] = sol
        return sol

    def _check(self, step: bool, active: set[int], goal: z3.ExprRef, core: bool) -> z3.ModelRef | set[int]:
        sol = self._cores(step) if core else (self.solver if step else self.state_solver)
        sol.push()
        try:
            sol.add(goal)
            if core:
                if symbolic.check(sol, *[self.lits[i] for i in sorted(active)], budget=self.budget):
                    return sol.model()
                return {self.by_lit[x.get_id()] for x in sol.unsat_core()}
            sol.add(*[self.pre[i] for i in sorted(active)])
            return sol.model() if symbolic.check(sol, budget=self.budget) else set()
        finally:
            sol.pop()

    def check_state(self, active: set[int], goal: z3.ExprRef, core: bool = False) -> z3.ModelRef | set[int]:
        """A state s with Inv(active)(s) and `goal` over s -- no transition relation: deadlocked states
        count. Else the unsat core (candidate indices) when `core`, an empty set otherwise."""
        return self._check(False, active, goal, core)

    def check_step(self, active: set[int], goal: z3.ExprRef, core: bool = False) -> z3.ModelRef | set[int]:
        """A step s -> t with Inv(active)(s) and `goal` (over s and t); else the unsat core when `core`,
        an empty set otherwise."""
        return self._check(True, active, goal, core)


def outside_fragment(enc: FixedEncoding, e: Expr, positive: bool) -> str:
    """Why a one-state query asserting (`positive`) or denying `e` is outside the cutoff fragment of
    the ground encoding (docs/proofs.md, side condition S4), "" when it is inside -- or when `enc`
    unrolls a fixed number of CPUs, where every query is exact."""
    room = getattr(enc, "witnesses", None)
    if room is None:
        return ""
    try:
        need = symbolic.existentials(e, positive)
    except symbolic.NotSupported as x:
        return str(x)
    have = room + 1  # a one-state query has no acting CPU: `self` is free for a witness too
    if need > have:
        return f"outside the cutoff fragment: needs {need} CPU witnesses, the encoding has {have}"
    return ""


def _refuted(system: System, states: Sequence[tuple[int, ...]], slots: Sequence[tuple[str, int | None]],
             names: Sequence[str]) -> dict[str, int]:
    """The properties among `names` false in one of `states` (they cannot be proved), with that state's index."""
    layout = Layout(system.families.values(), _ncpus(system, slots))
    assert [layout.slot[k] for k in slots] == list(range(len(slots)))
    out: dict[str, int] = {}
    for n in names:
        src = compile_guard(system.property(n).expr, layout, None, system.writer_cpus)
        fn = eval(f"lambda s: {src}", {"__builtins__": {"int": int}})  # noqa: S307 - generated from the model
        for i, st in enumerate(states):
            if not fn(st):
                out[n] = i
                break
    return out


def prove(enc: FixedEncoding, states: Sequence[tuple[int, ...]], slots: Sequence[tuple[str, int | None]], *,
          timeout: float | None = None, rlimit: int | None = None, minimize: bool = True, max_level: int = 1,
          violated: Sequence[str] = (), roles: bool = False) -> Proof:
    """Candidates filtered by `states`, Houdini, the properties, minimization and the lemmas, over `enc`.

    With `roles` and `minimize`, the role language (`roles.py`) is tried first; when it does not prove
    every `always` property, the levels below are used and `Proof.fallback` says why.

    Candidates come in levels (`generate`); a richer level is tried only when
    the last one left a property unproved and no state of `states` violates
    any property, nor is any named in `violated` (properties the explicit
    engine found violated, passed as data): a spec shown violated cannot be
    proved safe.
    """
    system = enc.system
    always = [p.name for p in system.properties if p.kind == "always"]
    fallback = ""
    if roles and minimize and not violated:
        # the role language first (a small invariant a person can check), on a budget of its own
        pf = _prove_level(enc, states, slots, ROLES, symbolic.Budget(timeout, rlimit), minimize)
        pf.level = ROLES
        if not pf.reason and not pf.unproved:
            return pf
        fallback = ("the role language did not prove it (" + (pf.reason or "; ".join(
            f"{n}: {why}" for n, why in pf.unproved.items())) + "): state-variable candidates used")
    budget = symbolic.Budget(timeout, rlimit)
    # with several writers, their order decides which array cache `prev` holds: the derived columns
    # (level 1) are needed, and start there -- unless the data already shows the spec violated
    level = min(1, max_level) if len(system.writer_cpus) > 1 and not violated else 0
    while True:
        pf = _prove_level(enc, states, slots, level, budget, minimize)
        pf.level = level
        if pf.reason or not pf.unproved or level >= max_level:
            break
        refuted = _refuted(system, states, slots, [n for n in always if n in pf.unproved and n not in violated])
        refuted.update({n: -1 for n in violated if n in pf.unproved})
        if refuted:  # the spec is violated: richer candidates cannot make it safe
            for n in refuted:
                pf.unproved[n] += "; a state the explicit engine reached violates it"
            break
        level += 1
    pf.fallback = fallback
    return pf


def _prove_level(enc: FixedEncoding, states: Sequence[tuple[int, ...]], slots: Sequence[tuple[str, int | None]], level: int,
                 budget: symbolic.Budget, minimize: bool) -> Proof:
    system = enc.system
    pf = Proof()
    if level == ROLES:
        from slabproof.z3 import roles

        clauses: Sequence[Any] = roles.generate(system, states, slots)
    else:
        clauses = generate(system, states, slots, level)
    pf.candidates = len(clauses)
    room = getattr(enc, "witnesses", None)  # the ground encoding has finitely many witness CPUs
    try:
        if budget.spent():
            raise SolverGaveUp(budget.spent())
        q = Queries(enc, clauses, budget)
        active = set(range(len(clauses)))
        if room is not None:  # a clause whose negation needs more witnesses than a step query has: dropped
            active = {i for i in active if len(clauses[i].bound_roles) <= room}
        # init => candidate, asked of the solver over the encoding's own initial state: for the ground
        # encoding that is every number of CPUs at once (its CPU terms are free), not the spec's number
        active = q.initiation(active)

        def count(r: int, n: int) -> None:
            pf.rounds = r

        active = q.houdini(active, count)
        pf.inductive = [clauses[i] for i in sorted(active)]
        cores: dict[str, set[int]] = {}
        for p in system.properties:
            if p.kind != "always":
                continue
            why = outside_fragment(enc, p.expr, False)
            if why:  # refused, never proved (the instantiation would not be exact)
                pf.unproved[p.name] = f"not supported: {why}"
                continue
            r = q.check_state(active, z3.Not(enc.pred(p.expr, q.s)), core=minimize)
            if isinstance(r, set):
                cores[p.name] = r
            else:
                pf.unproved[p.name] = (f"no invariant in the candidate language implies it ({len(clauses)} "
                                       f"candidates, {len(active)} survive Houdini)")
        if minimize:
            keep = _minimize(q, active, set().union(*cores.values()) if cores else set())
            pf.minimized = True
        else:
            keep = set(active)
        pf.invariant = [clauses[i] for i in sorted(keep)]
        pf.proved = {n: [clauses[i] for i in sorted(c)] for n, c in cores.items()}  # (empty unless minimizing)
        pf.lemmas = _lemmas(q, active)
        if level == ROLES and minimize and not pf.unproved:
            _shrink_roles(enc, pf, budget)
    except SolverGaveUp as e:
        pf.reason = f"solver gave up: {e.reason}"
    except KeyboardInterrupt:
        pf.reason = "interrupted"
    return pf


def _minimize(q: Queries, active: set[int], needed: set[int]) -> set[int]:
    """A subset of `active` containing `needed` that is inductive on its own.

    While the kept clauses have a counterexample to induction, add the unsat
    core of "active and T imply c'" for a kept clause c it breaks.
    """
    keep = set(needed)
    while keep:
        m = q.cti(keep)
        if m is None:
            return keep
        broken = sorted(q.violated(m, keep))
        core = q.check_step(active, z3.Not(q.post[broken[0]]), core=True)
        if not isinstance(core, set) or core <= keep:  # pragma: no cover - active is inductive
            raise RuntimeError("a clause of the inductive invariant is not preserved")
        keep |= core
    return keep


def _shrink_roles(enc: FixedEncoding, pf: Proof, budget: symbolic.Budget) -> None:
    """The role invariant made small: clauses differing in one premise value merged (`roles.merge`),
    then greedy deletion against the properties and the lemmas expected unsat that held under every
    inductive candidate; the properties' cores recomputed within what is kept."""
    from slabproof.z3 import roles

    system = enc.system
    clauses = roles.merge(system, pf.invariant)  # type: ignore[arg-type]
    q = Queries(enc, clauses, budget)
    goals = [enc.pred(p.expr, q.s) for p in system.properties if p.kind == "always"]
    by = {lem.name: lem for lem in lemmas(system)}
    goals += [z3.Not(enc.pred(by[lm["name"]].expr, q.s)) for lm in pf.lemmas
              if lm["expected"] == "unsat" and lm["answer"] == "unsat"]
    keep = _delete_greedily(q, set(range(len(clauses))), goals, clauses)
    pf.invariant = [clauses[i] for i in sorted(keep)]
    pf.proved = {n: [clauses[i] for i in sorted(_core_within(q, keep, system.property(n).expr))]
                 for n in pf.proved}
    pf.lemmas = _lemmas(q, keep)


def _delete_greedily(q: Queries, keep: set[int], props: Sequence[z3.ExprRef], clauses: Sequence[Any]) -> set[int]:
    """`keep` without every clause whose removal leaves the rest inductive (no step from the rest to a
    state violating it) and still implying every property in `props`; tried longest clause first."""
    def ok(rest: set[int]) -> bool:  # the cheap state queries first
        if not all(isinstance(q.check_state(rest, z3.Not(p)), set) for p in props):
            return False
        return q.cti(rest) is None

    order = sorted(keep, key=lambda i: (-len(getattr(clauses[i], "premises", ())), i))
    for i in order:
        rest = keep - {i}
        if rest and ok(rest):
            keep = rest
    return keep


def _core_within(q: Queries, keep: set[int], prop: Expr) -> set[int]:
    """The clauses of `keep` property `prop` needs (its unsat core), else all of `keep`."""
    r = q.check_state(keep, z3.Not(q.enc.pred(prop, q.s)), core=True)
    return r if isinstance(r, set) else set(keep)


def _lemmas(q: Queries, active: set[int]) -> list[dict[str, Any]]:
    enc = q.enc
    out = []
    for lem in lemmas(enc.system):
        why = outside_fragment(enc, lem.expr, True)
        if why:
            out.append({"name": lem.name, "doc": lem.doc, "query": lem.query, "expected": lem.expected,
                        "answer": "not supported", "holds": None, "witness": None, "reason": why})
            continue
        r = q.check_state(active, enc.pred(lem.expr, q.s))
        sat = not isinstance(r, set)
        witness = None
        if sat:
            rm = getattr(enc, "readable_model", None)
            witness = rm(r, q.s) if rm is not None else enc.readable(enc.values(r, q.s))  # type: ignore[arg-type]
        out.append({
            "name": lem.name,
            "doc": lem.doc,
            "query": lem.query,
            "expected": lem.expected,
            "answer": "sat" if sat else "unsat",
            "holds": (not sat) if lem.expected == "unsat" else sat,
            "witness": witness,
        })
    return out


def show_invariant(system: System, clauses: Sequence[Clause]) -> list[str]:
    """The clauses as readable lines, those with the same premises on one line (a role clause: one
    line each)."""
    if clauses and hasattr(clauses[0], "show"):
        return [c.show() for c in clauses]  # type: ignore[attr-defined]
    groups: dict[tuple, list[Clause]] = {}
    for c in clauses:
        groups.setdefault((c.premises, c.conclusion is None, c.bound_roles), []).append(c)
    lines = []
    for (prem, is_false, _), cs in groups.items():
        if is_false or len(cs) == 1:
            lines.extend(show_clause(system, c) for c in cs)
            continue
        first = show_clause(system, Clause(prem, cs[0].conclusion))
        head = first[: len(first) - len(show_atom(system, cs[0].conclusion))]  # type: ignore[arg-type]
        lines.append(head + "; ".join(show_atom(system, c.conclusion) for c in cs))  # type: ignore[arg-type]
    return lines


def to_result(system: System, pf: Proof, seconds: float, engine: str, scope: str,
              not_applicable: dict[str, str]) -> EngineResult:
    """A proof as an `EngineResult`: SAFE when every `always` property is proved, else UNKNOWN."""
    props: list[PropertyResult] = []
    for p in system.properties:
        if p.kind != "always":
            props.append(PropertyResult(p.name, p.kind, p.doc, None))
        else:
            props.append(PropertyResult(p.name, p.kind, p.doc, True if p.name in pf.proved else None))
    props.insert(min(4, len(props)), PropertyResult(LIVENESS, "always", PROPERTY_DOCS[LIVENESS], None))
    props.insert(min(5, len(props)), PropertyResult(FAIRNESS, "always", PROPERTY_DOCS[FAIRNESS], None))
    always = [p.name for p in system.properties if p.kind == "always"]
    proved_all = not pf.reason and all(n in pf.proved for n in always)
    verdict = Verdict.SAFE if proved_all else Verdict.UNKNOWN
    reason = pf.reason or "; ".join(f"{n}: {why}" for n, why in pf.unproved.items())
    extra: dict[str, Any] = {
        "scope": scope,
        "not_applicable": dict(not_applicable),
        "candidates": pf.candidates,
        "inductive": len(pf.inductive),
        "rounds": pf.rounds,
        "invariant_clauses": len(pf.invariant),
        "minimized": pf.minimized,
        "unproved": dict(pf.unproved),
        "lemmas": pf.lemmas,
        "language": "roles" if pf.level == ROLES else f"state variables, level {pf.level}",
    }
    if pf.fallback:
        extra["fallback"] = pf.fallback
    if pf.minimized:
        extra["invariant"] = show_invariant(system, pf.invariant)
        if pf.level == ROLES:
            extra["explanations"] = [c.explain() for c in pf.invariant]  # type: ignore[attr-defined]
        # the same clauses as closed state predicates: data for the runner's quantified re-check
        # (`recheck.run`); `runner.prove_spec` takes them out of the result it reports
        extra["invariant_exprs"] = [clause_expr(system, c) for c in pf.invariant]
        extra["needs"] = {n: show_invariant(system, cs) for n, cs in pf.proved.items()}
    return EngineResult(
        engine=engine,
        spec=system.spec.path,
        cpus=system.ncpus,
        verdict=verdict,
        reason=reason if verdict == Verdict.UNKNOWN else "",
        complete=proved_all,
        properties=tuple(props),
        seconds=seconds,
        extra=extra,
    )
