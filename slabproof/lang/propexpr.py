"""User-written properties: a small grammar over the state the reports show.

A spec's ``[[property]]`` table gives an expression as a string; this module
reads it (a hand-written tokenizer and recursive-descent parser -- nothing is
ever evaluated as Python) and translates it, against one `model.System`, into
the same `expr.Expr` the model's own properties are made of. Every engine
therefore reads a user property through the one semantics of `expr`.

Grammar (lowest precedence first; keywords are lower case)::

    formula := disj ("implies" formula)?              # right-associative
    disj    := conj ("or" conj)*
    conj    := unary ("and" unary)*
    unary   := "not" unary
             | ("forall" | "exists") NAME ("," NAME)* ":" formula
             | compare
    compare := primary (("==" | "!=") primary | "in" "{" value ("," value)* "}")?
    primary := "(" formula ")" | "true" | "false" | value
    value   := INTEGER | NAME ("[" value "]" | "." NAME)?

A quantifier's body extends as far to the right as it can (``forall c: a and
b`` is ``forall c: (a and b)``). ``not`` applies to the comparison after it.

What a name means is decided by the state variables of the spec's model
(`model._Builder` defines them; the tables and HTML show them under the same
names): ``pc[c]`` (reader position: the step it takes next), ``irqs_off[c]``, ``ac[c]`` (the array
cache CPU c's reader holds), ``ipiW[c]``, ``reaper_pc[c]`` / ``reaper_ac[c]``
/ ``reaper_locked[c]`` (with reapers), ``reader_locked[c]`` (a reader order
that takes slab_mutex), ``slab_mutex``, ``writer_pc[W]``, ``prev[W]``,
``cpu_cache[CACHE]``, ``visible[CACHE]``, ``ac_state[LABEL]`` or
``ac_state[REF]`` (e.g. ``ac_state[ac[c]]``). A CPU is a variable bound by
``forall`` / ``exists`` (over every CPU, the writers' included) or
``writerW.cpu`` (the CPU of the writer's ``cpu`` key); CPUs are never named by
number, so a property means the same for every number of CPUs.

A named constant is read in the type of the other side of its comparison:
a step name for a position (every position of that step: ``pc[c] ==
ac_access``), ``done`` for a writer that has finished its script, ``none`` /
``NULL`` / an array-cache label (``root#0``) for a reference, a lifecycle name
(``unallocated fresh live retired drained freed``) for ``ac_state``, ``free``
/ ``writerW`` / ``cpu`` for ``slab_mutex``, ``true`` / ``false`` for a flag.
Integers are accepted where the tables show integers (positions).

Every problem is a `PropertyError` with a one-line message and, when it has
one, the column; `spec.loads` turns it into a `SpecError` naming the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from slabproof import model
from slabproof.lang.expr import (
    FALSE,
    TRUE,
    And,
    Bound,
    Const,
    Expr,
    Implies,
    In,
    Not,
    Op,
    Or,
    Quant,
    Read,
    WriterCpu,
)

if TYPE_CHECKING:
    from slabproof.model import System

MAX_CHARS = 1000  # characters of one expression
MAX_DEPTH = 20  # nesting: parentheses, not, quantifiers, indexes
MAX_QUANT_NEST = 3  # quantifiers inside one another
MAX_EXPANDED = 20_000  # comparisons once every quantifier is expanded over spec.MAX_CPUS CPUs
MAX_NAME = 64  # characters of one name
EXPAND_CPUS = 8  # = spec.MAX_CPUS (spec imports this module, so the value is repeated here)

KEYWORDS = ("forall", "exists", "and", "or", "not", "implies", "in", "true", "false")


class PropertyError(Exception):
    """A property expression that cannot be used: bad syntax, an unknown name, a value of the wrong type,
    or one past a size cap. `column` (1-based) points at the problem when it is known."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.message = message
        self.column = column
        super().__init__(f"at column {column}: {message}" if column else message)


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


# ---------------------------------------------------------------------------
# tokens

_TOKEN = re.compile(r"(?P<int>[0-9]+)|(?P<name>[A-Za-z_][A-Za-z0-9_#-]*)|(?P<op>==|!=|[()\[\]{},:.])")


@dataclass(frozen=True)
class Token:
    kind: str  # int | name | op | keyword | end
    text: str
    col: int  # 1-based


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`, ending with an ``end`` token."""
    out: list[Token] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            out.append(Token("end", "", i + 1))
            return out
        m = _TOKEN.match(text, i)
        if m is None:
            c = text[i]
            shown = repr(c)
            hint = " (write 'and', 'or', 'not', 'implies')" if c in "&|!-=>" else ""
            raise PropertyError(f"unexpected character {shown}{hint}", i + 1)
        kind = m.lastgroup or ""
        tok = m.group()
        if kind == "name" and len(tok) > MAX_NAME:
            raise PropertyError(f"name {_short(tok)!r} is longer than {MAX_NAME} characters", i + 1)
        if kind == "int" and len(tok) > 6:
            raise PropertyError(f"number {_short(tok)} is too large", i + 1)
        if kind == "name" and tok in KEYWORDS:
            kind = "keyword"
        out.append(Token(kind, tok, i + 1))
        i = m.end()


# ---------------------------------------------------------------------------
# syntax tree


@dataclass(frozen=True)
class Name:
    col: int
    text: str


@dataclass(frozen=True)
class Int:
    col: int
    value: int


@dataclass(frozen=True)
class BoolLit:
    col: int
    value: bool


@dataclass(frozen=True)
class Index:
    col: int
    name: str
    index: "Value"


@dataclass(frozen=True)
class Attr:
    col: int
    base: str
    attr: str


@dataclass(frozen=True)
class Compare:
    col: int
    op: str  # == | !=
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Member:
    col: int
    left: "Node"
    items: tuple["Value", ...]


@dataclass(frozen=True)
class NotF:
    col: int
    arg: "Node"


@dataclass(frozen=True)
class BinF:
    col: int
    op: str  # and | or | implies
    args: tuple["Node", ...]


@dataclass(frozen=True)
class QuantF:
    col: int
    kind: str  # forall | exists
    names: tuple[str, ...]
    body: "Node"


Value = Union[Name, Int, BoolLit, Index, Attr]
Node = Union[Value, Compare, Member, NotF, BinF, QuantF]


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0
        self.quants = 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def expect(self, kind: str, text: str, what: str) -> Token:
        if not self.at(kind, text):
            raise PropertyError(f"expected {what}, found {self.found()}", self.tok.col)
        return self.next()

    def found(self) -> str:
        t = self.tok
        return "the end of the expression" if t.kind == "end" else repr(_short(t.text))

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise PropertyError(f"nested more than {MAX_DEPTH} levels deep (parentheses, not, quantifiers, "
                                "indexes); split it into several properties", self.tok.col)

    def leave(self) -> None:
        self.depth -= 1

    def parse(self) -> Node:
        node = self.formula()
        if not self.at("end"):
            raise PropertyError(f"unexpected {self.found()} after a complete expression "
                                "(missing 'and' / 'or'?)", self.tok.col)
        return node

    def formula(self) -> Node:
        col = self.tok.col
        left = self.disj()
        if self.at("keyword", "implies"):
            self.next()
            self.enter()
            right = self.formula()
            self.leave()
            return BinF(col, "implies", (left, right))
        return left

    def disj(self) -> Node:
        col = self.tok.col
        args = [self.conj()]
        while self.at("keyword", "or"):
            self.next()
            args.append(self.conj())
        return args[0] if len(args) == 1 else BinF(col, "or", tuple(args))

    def conj(self) -> Node:
        col = self.tok.col
        args = [self.unary()]
        while self.at("keyword", "and"):
            self.next()
            args.append(self.unary())
        return args[0] if len(args) == 1 else BinF(col, "and", tuple(args))

    def unary(self) -> Node:
        t = self.tok
        if self.at("keyword", "not"):
            self.next()
            self.enter()
            arg = self.unary()
            self.leave()
            return NotF(t.col, arg)
        if self.at("keyword", "forall") or self.at("keyword", "exists"):
            self.next()
            names = [self.bound_name()]
            while self.at("op", ","):
                self.next()
                names.append(self.bound_name())
            self.expect("op", ":", f"':' after '{t.text} {', '.join(names)}'")
            self.quants += len(names)
            if self.quants > MAX_QUANT_NEST:
                raise PropertyError(f"more than {MAX_QUANT_NEST} CPU quantifiers inside one another", t.col)
            self.enter()
            body = self.formula()
            self.leave()
            self.quants -= len(names)
            return QuantF(t.col, t.text, tuple(names), body)
        return self.compare()

    def bound_name(self) -> str:
        t = self.tok
        if t.kind != "name":
            raise PropertyError(f"expected a CPU variable name, found {self.found()}", t.col)
        self.next()
        return t.text

    def compare(self) -> Node:
        left = self.primary()
        t = self.tok
        if self.at("op", "==") or self.at("op", "!="):
            self.next()
            right = self.primary()
            return Compare(t.col, t.text, left, right)
        if self.at("keyword", "in"):
            self.next()
            self.expect("op", "{", "'{' after 'in'")
            items = [self.value()]
            while self.at("op", ","):
                self.next()
                items.append(self.value())
            self.expect("op", "}", "'}' or ',' in the set")
            return Member(t.col, left, tuple(items))
        return left

    def primary(self) -> Node:
        t = self.tok
        if self.at("op", "("):
            self.next()
            self.enter()
            node = self.formula()
            self.leave()
            self.expect("op", ")", "')'")
            return node
        if self.at("keyword", "true") or self.at("keyword", "false"):
            self.next()
            return BoolLit(t.col, t.text == "true")
        return self.value()

    def value(self) -> Value:
        t = self.tok
        if t.kind == "int":
            self.next()
            return Int(t.col, int(t.text))
        if self.at("keyword", "true") or self.at("keyword", "false"):
            self.next()
            return BoolLit(t.col, t.text == "true")
        if t.kind != "name":
            raise PropertyError(f"expected a name, a number or '(', found {self.found()}", t.col)
        self.next()
        if self.at("op", "["):
            self.next()
            self.enter()
            idx = self.value()
            self.leave()
            self.expect("op", "]", "']'")
            return Index(t.col, t.text, idx)
        if self.at("op", "."):
            self.next()
            a = self.tok
            if a.kind != "name":
                raise PropertyError(f"expected a name after '.', found {self.found()}", a.col)
            self.next()
            return Attr(t.col, t.text, a.text)
        return Name(t.col, t.text)


def parse(text: str) -> Node:
    """The syntax tree of one expression (`PropertyError` on bad syntax or past a cap)."""
    if len(text) > MAX_CHARS:
        raise PropertyError(f"{len(text)} characters; at most {MAX_CHARS} (split it into several properties)")
    if not text.strip():
        raise PropertyError("the expression is empty")
    return _Parser(text).parse()


# ---------------------------------------------------------------------------
# names and types, from one system


@dataclass(frozen=True)
class _Typed:
    """A resolved value: an expression (or a CPU term, for sort ``cpu``) and its sort."""

    term: object
    sort: str  # flag | reader_pos | reaper_pos | writer_pos<w> | ref | status | mutex | cpu
    what: str  # the sort in words, for messages


_SORT_WORDS = {
    "flag": "a flag (true/false)",
    "reader_pos": "a reader position",
    "reaper_pos": "a reaper position",
    "ref": "an array-cache reference",
    "status": "an array-cache lifecycle state",
    "mutex": "the slab_mutex owner",
    "cpu": "a CPU",
}

_CPU_SORTS = {"pc": "reader_pos", "reaper_pc": "reaper_pos", "ac": "ref", "reaper_ac": "ref"}


class _Resolver:
    def __init__(self, system: "System") -> None:
        self.s = system
        self.F = system.families
        self.nw = len(system.writer_cpus)
        self.caches = {name: k for k, name in enumerate(system.caches)}
        self.labels = {a.label: a.ref for a in system.acs}
        self.wsteps: list[dict[str, list[int]]] = [{} for _ in range(self.nw)]
        for a in system.actions:
            if a.actor == "writer" and a.writer is not None and a.pc is not None:
                ps = self.wsteps[a.writer].setdefault(a.step, [])
                if a.pc not in ps:
                    ps.append(a.pc)

    # -- values
    def sort_words(self, sort: str) -> str:
        if sort.startswith("writer_pos"):
            return f"writer {sort[len('writer_pos'):]}'s position"
        return _SORT_WORDS[sort]

    def family_names(self) -> list[str]:
        return sorted(self.F)

    def value(self, node: Node, env: dict[str, Bound]) -> _Typed | Name | Int | BoolLit:
        """A typed state value, or the node itself when it is a constant (resolved by the other side)."""
        if isinstance(node, (Int, BoolLit)):
            return node
        if isinstance(node, Name):
            if node.text in env:
                return _Typed(env[node.text], "cpu", "a CPU")
            f = self.F.get(node.text)
            if f is not None:
                if f.kind == "scalar":
                    return _Typed(Read(f), "mutex", self.sort_words("mutex"))
                raise PropertyError(f"{node.text} needs an index: {node.text}[{self.index_hint(node.text)}]",
                                    node.col)
            return node
        if isinstance(node, Attr):
            m = re.fullmatch(r"writer([0-9]+)", node.base)
            if node.attr != "cpu" or m is None or int(m.group(1)) >= self.nw:
                valid = ", ".join(f"writer{w}.cpu" for w in range(self.nw))
                raise PropertyError(f"unknown name {_short(node.base + '.' + node.attr)!r}; valid: {valid}",
                                    node.col)
            return _Typed(WriterCpu(int(m.group(1))), "cpu", "a CPU")
        if isinstance(node, Index):
            return self.index(node, env)
        raise PropertyError("a condition where a value is expected (compare values, not conditions)",
                            node.col)

    def index_hint(self, name: str) -> str:
        f = self.F[name]
        if f.kind == "cpu":
            return "CPU"
        if name in ("writer_pc", "prev"):
            return "WRITER (0" + (f" to {self.nw - 1}" if self.nw > 1 else "") + ")"
        if name in ("cpu_cache", "visible"):
            return "CACHE (" + ", ".join(self.caches) + ")"
        return "ARRAY CACHE (" + ", ".join(self.labels) + ", or a reference such as ac[c])"

    def index(self, node: Index, env: dict[str, Bound]) -> _Typed:
        f = self.F.get(node.name)
        if f is None:
            if node.name in env:
                raise PropertyError(f"{node.name} is a CPU variable; it takes no index", node.col)
            raise PropertyError(f"unknown name {_short(node.name)!r}; valid: {', '.join(self.family_names())}",
                                node.col)
        idx = node.index
        if f.kind == "scalar":
            raise PropertyError(f"{f.name} takes no index", node.col)
        if f.kind == "cpu":
            v = self.value(idx, env)
            if not (isinstance(v, _Typed) and v.sort == "cpu"):
                raise PropertyError(f"{f.name}[...] takes a CPU: a variable bound by forall/exists, or "
                                    f"writerW.cpu (CPUs are not named by number)", _col(idx))
            sort = _CPU_SORTS.get(f.name, "flag")
            return _Typed(Read(f, v.term), sort, self.sort_words(sort))  # type: ignore[arg-type]
        if f.name in ("writer_pc", "prev"):
            if not isinstance(idx, Int) or idx.value >= self.nw:
                raise PropertyError(f"{f.name}[...] takes a writer number; valid: "
                                    f"{', '.join(str(w) for w in range(self.nw))}", _col(idx))
            sort = f"writer_pos{idx.value}" if f.name == "writer_pc" else "ref"
            return _Typed(Read(f, idx.value), sort, self.sort_words(sort))
        if f.name in ("cpu_cache", "visible"):
            if not isinstance(idx, Name) or idx.text not in self.caches:
                raise PropertyError(f"{f.name}[...] takes a cache name; valid: {', '.join(self.caches)}",
                                    _col(idx))
            sort = "ref" if f.name == "cpu_cache" else "flag"
            return _Typed(Read(f, self.caches[idx.text]), sort, self.sort_words(sort))
        # ac_state: an array-cache label, or any reference value
        if isinstance(idx, Name) and idx.text in self.labels and idx.text not in env:
            return _Typed(Read(f, self.labels[idx.text]), "status", self.sort_words("status"))
        v = self.value(idx, env)
        if isinstance(v, _Typed) and v.sort == "ref":
            return _Typed(Read(f, v.term), "status", self.sort_words("status"))  # type: ignore[arg-type]
        raise PropertyError(f"ac_state[...] takes an array cache: a label ({', '.join(self.labels)}) or a "
                            "reference such as ac[c], prev[0], cpu_cache[NAME]", _col(idx))

    # -- constants
    def constants(self, node: Name | Int | BoolLit, sort: str) -> tuple[int, ...]:
        """The values a constant stands for in `sort` (several: every position of a step)."""
        names = self.names(sort)
        ints = self.ints(sort)
        if isinstance(node, BoolLit):
            if sort == "flag":
                return (int(node.value),)
            raise PropertyError(f"{str(node.value).lower()} is not {self.sort_words(sort)}; "
                                f"valid: {self.valid(sort)}", node.col)
        if isinstance(node, Int):
            if node.value not in ints:
                raise PropertyError(f"{node.value} is not {self.sort_words(sort)}; valid: {self.valid(sort)}",
                                    node.col)
            return (node.value,)
        if node.text in names:
            return names[node.text]
        raise PropertyError(f"{_short(node.text)!r} is not {self.sort_words(sort)}; valid: {self.valid(sort)}",
                            node.col)

    def valid(self, sort: str) -> str:
        """The constants of `sort`, in words."""
        parts = list(self.names(sort))
        ints = self.ints(sort)
        if ints and sort != "flag":
            parts.append(f"0 to {max(ints)}" if len(ints) > 1 else "0")
        return ", ".join(parts)

    def ints(self, sort: str) -> tuple[int, ...]:
        if sort == "reader_pos":
            return tuple(range(self.s.reader_len))
        if sort == "reaper_pos":
            return tuple(range(self.s.reaper_len))
        if sort.startswith("writer_pos"):
            return tuple(range(self.s.writer_end[int(sort[len("writer_pos"):])] + 1))
        if sort == "flag":
            return (0, 1)
        return ()

    def names(self, sort: str) -> dict[str, tuple[int, ...]]:
        """Named constants of `sort` and the values each stands for."""
        out: dict[str, tuple[int, ...]] = {}
        if sort in ("reader_pos", "reaper_pos"):
            steps = self.s.spec.reader_steps if sort == "reader_pos" else self.s.spec.reaper_steps
            for p, st in enumerate(steps):
                out[st] = out.get(st, ()) + (p,)
        elif sort.startswith("writer_pos"):
            w = int(sort[len("writer_pos"):])
            out.update({st: tuple(ps) for st, ps in self.wsteps[w].items()})
            out["done"] = (self.s.writer_end[w],)
        elif sort == "ref":
            out["none"] = (model.NONE,)
            out["NULL"] = (model.NULL,)
            out.update({k: (v,) for k, v in self.labels.items()})
        elif sort == "status":
            out.update({n: (i,) for i, n in enumerate(model.STATUS_NAMES)})
        elif sort == "mutex":
            out["free"] = (0,)
            for w in range(self.nw):
                out[f"writer{w}"] = (1 + w,)
            if 1 + self.nw in self.F["slab_mutex"].values:
                out["cpu"] = (1 + self.nw,)
        elif sort == "flag":
            out.update({"true": (1,), "false": (0,)})
        return out

    # -- formulas
    def formula(self, node: Node, env: dict[str, Bound]) -> Expr:
        if isinstance(node, BoolLit):
            return TRUE if node.value else FALSE
        if isinstance(node, NotF):
            return Not(self.formula(node.arg, env))
        if isinstance(node, BinF):
            args = [self.formula(a, env) for a in node.args]
            if node.op == "and":
                return And(*args)
            if node.op == "or":
                return Or(*args)
            return Implies(args[0], args[1])
        if isinstance(node, QuantF):
            inner = dict(env)
            for n in node.names:
                if n in inner:
                    raise PropertyError(f"CPU variable {n!r} is already bound; use another name", node.col)
                if n in self.F or n in self.caches or n in self.labels or re.fullmatch(r"writer[0-9]+", n):
                    raise PropertyError(f"{n!r} names a state variable, a cache or a writer; choose another CPU "
                                        "variable name", node.col)
                inner[n] = Bound(n)
            body = self.formula(node.body, inner)
            for n in reversed(node.names):
                body = Quant(node.kind, inner[n], body)
            return body
        if isinstance(node, Compare):
            return self.compare(node, env)
        if isinstance(node, Member):
            left = self.value(node.left, env)
            if not isinstance(left, _Typed) or left.sort == "cpu":
                raise PropertyError("'in' needs a state value on its left, e.g. ac_state[ac[c]] in "
                                    "{drained, freed}", node.col)
            vals: set[int] = set()
            for it in node.items:
                if not isinstance(it, (Name, Int, BoolLit)) or (isinstance(it, Name) and it.text in env):
                    raise PropertyError("the set after 'in' holds constants only", _col(it))
                vals.update(self.constants(it, left.sort))
            return In(left.term, vals)  # type: ignore[arg-type]
        v = self.value(node, env)
        if isinstance(v, _Typed) and v.sort == "flag":
            return Op("eq", (v.term, Const(1)))
        if isinstance(v, _Typed):
            raise PropertyError(f"this is {v.what}, not a condition: compare it with '==' or '!='", _col(node))
        shown = _short(v.text) if isinstance(v, Name) else str(getattr(v, "value", ""))
        raise PropertyError(f"{shown!r} is not a condition: a condition is a comparison (pc[c] == ac_access) or "
                            f"a flag (irqs_off[c]); state variables: {', '.join(self.family_names())}", _col(node))

    def compare(self, node: Compare, env: dict[str, Bound]) -> Expr:
        a, b = self.value(node.left, env), self.value(node.right, env)
        neg = node.op == "!="
        if isinstance(a, _Typed) and isinstance(b, _Typed):
            if a.sort != b.sort:
                raise PropertyError(f"compares {a.what} with {b.what}", node.col)
            if a.sort == "cpu":
                e: Expr = Op("cpueq", (a.term, b.term))
                return Not(e) if neg else e
            return Op("ne" if neg else "eq", (a.term, b.term))
        if not isinstance(a, _Typed) and not isinstance(b, _Typed):
            if isinstance(a, Int) and isinstance(b, Int):
                return Const(int((a.value == b.value) != neg))
            raise PropertyError("compares two constants; compare a state value with a value, e.g. "
                                "pc[c] == ac_access", node.col)
        typed, const = (a, b) if isinstance(a, _Typed) else (b, a)
        assert isinstance(typed, _Typed) and not isinstance(const, _Typed)
        if typed.sort == "cpu":
            raise PropertyError("a CPU compares only with a CPU (a bound variable or writerW.cpu)", _col(const))
        vals = self.constants(const, typed.sort)
        e = Op("eq", (typed.term, Const(vals[0]))) if len(vals) == 1 else In(typed.term, vals)  # type: ignore[arg-type]
        return Not(e) if neg else e


def _col(node: object) -> int | None:
    return getattr(node, "col", None)


def expanded_size(e: object, ncpus: int = EXPAND_CPUS) -> int:
    """Comparisons in `e` once every CPU quantifier is expanded over `ncpus` CPUs (what the explicit
    engine compiles); a read indexed by a state value counts once per index value."""
    if isinstance(e, Quant):
        return ncpus * expanded_size(e.body, ncpus)
    if isinstance(e, Op):
        if e.op == "cpueq":
            return 1
        return max(1, sum(expanded_size(a, ncpus) for a in e.args))
    if isinstance(e, Read):
        if isinstance(e.index, Expr):
            return max(1, len(e.family.domain)) * expanded_size(e.index, ncpus)
        return 1
    return 1


def compile_property(text: str, system: "System") -> Expr:
    """The state predicate `text` stands for in `system` (`PropertyError` on any problem)."""
    node = parse(text)
    e = _Resolver(system).formula(node, {})
    size = expanded_size(e)
    if size > MAX_EXPANDED:
        raise PropertyError(f"too large once its quantifiers are expanded over {EXPAND_CPUS} CPUs "
                            f"({size:,} comparisons; at most {MAX_EXPANDED:,}): use fewer nested quantifiers")
    return e


def user_property(name: str, kind: str, text: str, doc: str, system: "System") -> "model.Property":
    """A spec's ``[[property]]`` as a model property."""
    return model.Property(name, kind, compile_property(text, system), doc or f"user property: {text}")
