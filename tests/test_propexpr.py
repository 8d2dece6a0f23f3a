"""The property language (slabproof/propexpr.py): syntax, names, and one semantics with the tables.

The property-based tests generate random well-formed expressions as trees,
render them as text, and compare what the model makes of the text (an `Expr`,
evaluated like every engine's properties) with an independent evaluation of
the tree over the *readable* states -- the names and values the tables and the
HTML show -- of every reachable state of a small spec.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slabproof import checker, model
from slabproof.lang import propexpr, spec
from slabproof.lang.expr import Op, Quant, compile_guard
from slabproof.lang.propexpr import PropertyError, parse

SMALL = """description = "property-language tests"
cpus = 2
ipi = "if-prev"
reapers = true

[[cache]]
name = "root"
boot = true

[[cache]]
name = "child"
memcg = true

[[writer]]
cpu = 0
script = ["create child", "tune root"]

[expect]
verdict = "safe"
"""


TINY = SMALL.replace('script = ["create child", "tune root"]', 'script = ["tune root"]')  # for BMC: fewer steps


@lru_cache(maxsize=None)
def small(text: str = SMALL) -> tuple[model.System, checker.Compiled, list[tuple[int, ...]], list[dict[str, str]]]:
    system = model.build(spec.loads(text, "<small>"))
    r = checker.explore(system, symmetry=False, keep_states=True)
    assert r.complete
    comp = checker.Compiled(system, symmetry=False)
    states = r.extra["states"]
    return system, comp, states, [comp.readable(s) for s in states]


def truth(text: str, system: model.System | None = None) -> list[int]:
    """The property's value on every reachable state of the small spec, through the model's own back end."""
    sys_, comp, states, _ = small()
    system = system or sys_
    e = propexpr.compile_property(text, system)
    fn = eval(f"lambda s: {compile_guard(e, comp.layout, None, system.writer_cpus)}",  # noqa: S307 - generated
              {"__builtins__": {"int": int}})
    return [int(bool(fn(s))) for s in states]


# ---------------------------------------------------------------------------
# syntax


def test_precedence_not_and_or_implies():
    # not > and > or > implies (right-associative); a quantifier's body extends to the right
    pairs = [
        ("not irqs_off[writer0.cpu] and visible[child]", "(not irqs_off[writer0.cpu]) and visible[child]"),
        ("visible[child] or visible[root] and irqs_off[writer0.cpu]",
         "visible[child] or (visible[root] and irqs_off[writer0.cpu])"),
        ("visible[child] implies visible[root] implies irqs_off[writer0.cpu]",
         "visible[child] implies (visible[root] implies irqs_off[writer0.cpu])"),
        ("visible[child] implies visible[root] or irqs_off[writer0.cpu]",
         "visible[child] implies (visible[root] or irqs_off[writer0.cpu])"),
        ("not pc[writer0.cpu] == 0", "not (pc[writer0.cpu] == 0)"),
        ("exists c: irqs_off[c] and ac[c] != none", "exists c: (irqs_off[c] and ac[c] != none)"),
    ]
    for a, b in pairs:
        assert truth(a) == truth(b), (a, b)
    # and the groupings differ where they should
    assert truth("not (visible[child] and irqs_off[writer0.cpu])") != truth("not visible[child] and irqs_off[writer0.cpu]")


def test_parse_shapes():
    n = parse("forall c, d: pc[c] == ac_access implies ac[c] != ac[d]")
    assert isinstance(n, propexpr.QuantF) and n.names == ("c", "d")
    assert isinstance(n.body, propexpr.BinF) and n.body.op == "implies"
    m = parse("ac_state[ac[c]] in {drained, freed}")
    assert isinstance(m, propexpr.Member) and [i.text for i in m.items] == ["drained", "freed"]  # type: ignore[union-attr]
    assert isinstance(parse("writer0.cpu == c"), propexpr.Compare)


@pytest.mark.parametrize("text,col,fragment", [
    ("pc[c] == ", 10, "expected a name, a number or '('"),
    ("(true", 6, "expected ')'"),
    ("true true", 6, "after a complete expression"),
    ("a && b", 3, "write 'and'"),
    ("forall c pc[c] == 0", 10, "expected ':'"),
    ("forall : true", 8, "expected a CPU variable name"),
    ("x in {a", 8, "expected '}'"),
    ("pc[c] == 1234567", 10, "too large"),
    ("pc[c] = 1", 7, "unexpected character '='"),
    ("writer0. == 1", 10, "expected a name after '.'"),
])
def test_syntax_errors_name_the_column(text, col, fragment):
    with pytest.raises(PropertyError) as e:
        parse(text)
    assert e.value.column == col and fragment in str(e.value), str(e.value)


def test_caps():
    with pytest.raises(PropertyError, match="at most 1000"):
        parse("true and " * 120 + "true")
    with pytest.raises(PropertyError, match="nested more than 20"):
        parse("(" * 21 + "true" + ")" * 21)
    parse("(" * 19 + "true" + ")" * 19)
    with pytest.raises(PropertyError, match="more than 3 CPU quantifiers"):
        parse("forall a: forall b: exists c: exists d: true")
    parse("(forall a, b, c: true) and (exists d, e, f: true)")  # siblings do not nest
    with pytest.raises(PropertyError, match="empty"):
        parse("   \n ")
    with pytest.raises(PropertyError, match="longer than 64"):
        parse("x" * 65)


def test_expansion_counts_the_largest_number_of_cpus():
    assert propexpr.EXPAND_CPUS == spec.MAX_CPUS


def test_expanded_size_cap():
    system = small()[0]
    body = " or ".join("ac_state[ac[a]] == ac_state[ac[b]]" for _ in range(6))
    with pytest.raises(PropertyError, match="too large once its quantifiers are expanded"):
        propexpr.compile_property(f"forall a, b, c: ({body}) or ac_state[ac[c]] == live", system)


def test_deepest_and_widest_allowed_expressions_compile_and_run():
    system, comp, states, _ = small()
    deep = "not " * 7 + "(" * 10  # 20 levels: 7 + 10 + the quantifier + two indexes
    deep = deep + "exists c: ac_state[ac[c]] == live" + ")" * 10
    wide = "forall a, b, c: " + " or ".join(["ac_state[ac[a]] == ac_state[ac[b]]"] * 2 + ["irqs_off[c]"] * 4)
    for text in (deep, wide):
        assert len(truth(text)) == len(states)


# ---------------------------------------------------------------------------
# names


def test_step_names_stand_for_every_position_of_the_step():
    text = SMALL + '\n[steps]\nreader = ["local_irq_save", "cpu_cache_get", "ac_access", "ac_access", "local_irq_restore"]\n'
    system = model.build(spec.loads(text))
    e = propexpr.compile_property("pc[writer0.cpu] == ac_access", system)
    assert isinstance(e, Op) and e.op == "in" and e.values == (2, 3)
    e = propexpr.compile_property("writer_pc[0] == csd_lock_wait", system)
    assert isinstance(e, Op) and e.op == "in" and len(e.values) == 2  # one per operation of the script
    e = propexpr.compile_property("writer_pc[0] == done", system)
    assert isinstance(e, Op) and e.op == "eq" and e.args[1].value == system.writer_end[0]


def test_quantifiers_and_cpu_terms():
    system = small()[0]
    e = propexpr.compile_property("exists c: c != writer0.cpu and irqs_off[c]", system)
    assert isinstance(e, Quant) and e.kind == "exists" and e.bound.name == "c"
    assert truth("exists c: c == writer0.cpu") == [1] * len(small()[2])
    assert truth("forall c: c == writer0.cpu") == [0] * len(small()[2])  # 2 CPUs


@pytest.mark.parametrize("text,fragment", [
    ("pc[0] == 1", "takes a CPU"),
    ("forall c: pc[c] == mutex_lock", "'mutex_lock' is not a reader position; valid: local_irq_save"),
    ("forall c: pc[c] == 9", "9 is not a reader position; valid: local_irq_save, cpu_cache_get, ac_access, "
                             "local_irq_restore, 0 to 3"),
    ("forall c: ac[c] == dentry#0", "valid: none, NULL, root#0, child#0, root#1"),
    ("foo[1] == 2", "unknown name 'foo'; valid: ac, ac_state"),
    ("writer_pc[1] == 0", "takes a writer number; valid: 0"),
    ("visible[dentry]", "takes a cache name; valid: root, child"),
    ("ac_state[root#9] == live", "ac_state[...] takes an array cache"),
    ("forall c: ac_state[ac[c]] == dead", "valid: unallocated, fresh, live, retired, drained, freed"),
    ("slab_mutex == writer1", "valid: free, writer0, cpu"),
    ("forall c: pc[c]", "a reader position, not a condition"),
    ("forall c: pc[c] == irqs_off[c]", "compares a reader position with a flag"),
    ("forall c: c == 0", "a CPU compares only with a CPU"),
    ("forall c: forall c: true", "'c' is already bound"),
    ("forall ac: true", "names a state variable"),
    ("forall writer0: true", "names a state variable, a cache or a writer"),
    ("writer1.cpu == writer0.cpu", "unknown name 'writer1.cpu'; valid: writer0.cpu"),
    ("live == freed", "compares two constants"),
    ("ac_access", "'ac_access' is not a condition"),
    ("pc == 1", "pc needs an index: pc[CPU]"),
    ("slab_mutex[0] == free", "slab_mutex takes no index"),
    ("(pc[writer0.cpu] == 0) == true", "a condition where a value is expected"),
    ("forall c: c[0] == 1", "c is a CPU variable; it takes no index"),
    ("forall c: ac_state[pc[c]] == live", "ac_state[...] takes an array cache"),
    ("forall c: pc[c] in {ac_access, c}", "the set after 'in' holds constants only"),
    ("reader_locked[writer0.cpu]", "unknown name 'reader_locked'"),
])
def test_name_and_type_errors(text, fragment):
    with pytest.raises(PropertyError) as e:
        propexpr.compile_property(text, small()[0])
    msg = str(e.value)
    assert fragment in msg, msg
    assert "\n" not in msg


def test_every_family_of_the_readable_state_has_a_name():
    """Each state variable the tables show can be read by a property (the names are the same)."""
    system, comp, _, readable = small()
    texts = {
        "slab_mutex": "slab_mutex == free", "writer_pc": "writer_pc[0] == 0", "prev": "prev[0] == none",
        "cpu_cache": "cpu_cache[root] == root#0", "visible": "visible[child]", "ac_state": "ac_state[root#0] == live",
        "pc": "pc[writer0.cpu] == 0", "irqs_off": "irqs_off[writer0.cpu]", "ac": "ac[writer0.cpu] == none",
        "ipi0": "ipi0[writer0.cpu]", "reaper_pc": "reaper_pc[writer0.cpu] == mutex_trylock",
        "reaper_ac": "reaper_ac[writer0.cpu] == NULL", "reaper_locked": "reaper_locked[writer0.cpu]",
    }
    assert set(texts) == set(system.families)
    for text in texts.values():
        propexpr.compile_property(text, system)


# ---------------------------------------------------------------------------
# one semantics: the model's reading of a text == a direct reading of the readable states

SORTS = ("reader_pos", "reaper_pos", "writer_pos", "ref", "status", "flag", "mutex")


def _program(s: spec.Spec) -> list[str]:
    """Writer 0's positions as docs/memory.md describes them: the spec's steps, barriers dropped under "sc"."""
    out: list[str] = []
    for op in s.writers[0].script:
        steps = s.create_steps if op.kind == "create" else s.tune_steps
        out.extend(x for x in steps if s.memory != "sc" or x not in model.BARRIER_STEPS)
    return out


@lru_cache(maxsize=None)
def vocab(text: str = SMALL) -> dict[str, Any]:
    system = small(text)[0]
    s = system.spec
    labels = [a.label for a in system.acs]
    return {
        "reader_pos": sorted(set(s.reader_steps)) + list(range(len(s.reader_steps))),
        "reaper_pos": sorted(set(s.reaper_steps)) + list(range(len(s.reaper_steps))),
        "writer_pos": sorted(set(_program(s))) + ["done"] + list(range(len(_program(s)) + 1)),
        "ref": ["none", "NULL"] + labels,
        "status": list(model.STATUS_NAMES),
        "flag": ["true", "false", 0, 1],
        "mutex": ["free", "writer0", "cpu"],
        "labels": labels,
        "caches": [c.name for c in s.caches],
    }


def cpu_term(env: tuple[str, ...]) -> st.SearchStrategy:
    return st.sampled_from(list(env) + ["writer0.cpu"])


def value_of(sort: str, env: tuple[str, ...], deep: bool = True, text: str = SMALL) -> st.SearchStrategy:
    """A state value of `sort`, as a tree."""
    v = vocab(text)
    c = cpu_term(env)
    if sort == "reader_pos":
        return st.tuples(st.just("pc"), c)
    if sort == "reaper_pos":
        return st.tuples(st.just("reaper_pc"), c)
    if sort == "writer_pos":
        return st.just(("writer_pc", 0))
    if sort == "ref":
        return st.one_of(st.tuples(st.sampled_from(["ac", "reaper_ac"]), c), st.just(("prev", 0)),
                         st.tuples(st.just("cpu_cache"), st.sampled_from(v["caches"])))
    if sort == "status":
        opts = [st.tuples(st.just("ac_state"), st.sampled_from(v["labels"]))]
        if deep:
            opts.append(st.tuples(st.just("ac_state_of"), value_of("ref", env, False, text)))
        return st.one_of(*opts)
    if sort == "flag":
        return st.one_of(st.tuples(st.sampled_from(["irqs_off", "ipi0", "reaper_locked"]), c),
                         st.tuples(st.just("visible"), st.sampled_from(v["caches"])))
    return st.just(("slab_mutex",))


def atom(env: tuple[str, ...], text: str = SMALL) -> st.SearchStrategy:
    def build(sort: str) -> st.SearchStrategy:
        v = vocab(text)
        const = st.sampled_from(v[sort])
        val = value_of(sort, env, True, text)
        return st.one_of(
            st.tuples(st.just("cmp"), st.sampled_from(["==", "!="]), val, const),
            st.tuples(st.just("cmp"), st.sampled_from(["==", "!="]), val, val),
            st.tuples(st.just("in"), val, st.lists(const, min_size=1, max_size=3)),
        )
    opts = [st.sampled_from(SORTS).flatmap(build), st.tuples(st.just("flag"), value_of("flag", env, True, text)),
            st.tuples(st.just("bool"), st.booleans())]
    if env:
        opts.append(st.tuples(st.just("cpueq"), st.sampled_from(["==", "!="]), cpu_term(env), cpu_term(env)))
    return st.one_of(*opts)


def formula(env: tuple[str, ...] = (), depth: int = 3, text: str = SMALL) -> st.SearchStrategy:
    """A random well-formed property of the spec `text`, as a tree (`render` makes it text)."""
    if depth == 0:
        return atom(env, text)
    sub = formula(env, depth - 1, text)
    names = [n for n in ("c", "d", "e") if n not in env]
    opts = [atom(env, text), st.tuples(st.just("not"), sub), st.tuples(st.just("and"), st.lists(sub, min_size=2, max_size=3)),
            st.tuples(st.just("or"), st.lists(sub, min_size=2, max_size=3)),
            st.tuples(st.just("implies"), sub, sub)]
    if names and len(env) < 2:
        opts.append(st.tuples(st.just("q"), st.sampled_from(["forall", "exists"]), st.just(names[0]))
                    .flatmap(lambda t: formula(env + (t[2],), depth - 1, text).map(lambda b: t + (b,))))
    return st.one_of(*opts)


def render_value(v: tuple | str | int) -> str:
    if not isinstance(v, tuple):
        return str(v)
    if v[0] == "slab_mutex":
        return "slab_mutex"
    if v[0] == "ac_state_of":
        return f"ac_state[{render_value(v[1])}]"
    return f"{v[0]}[{v[1]}]"


def render(f: tuple) -> str:
    k = f[0]
    if k == "bool":
        return "true" if f[1] else "false"
    if k == "flag":
        return render_value(f[1])
    if k in ("cmp", "cpueq"):
        return f"{render_value(f[2])} {f[1]} {render_value(f[3])}"
    if k == "in":
        return f"{render_value(f[1])} in {{{', '.join(str(x) for x in f[2])}}}"
    if k == "not":
        return f"not ({render(f[1])})"
    if k in ("and", "or"):
        return f" {k} ".join(f"({render(a)})" for a in f[1])
    if k == "implies":
        return f"({render(f[1])}) implies ({render(f[2])})"
    return f"{f[1]} {f[2]}: ({render(f[3])})"


class Oracle:
    """Evaluates a tree over one readable state: the names and words the tables show."""

    def __init__(self, system: model.System, r: dict[str, str]) -> None:
        self.s = system.spec
        self.r = r
        self.n = system.ncpus
        self.prog = _program(self.s)

    def cpu(self, t: str, env: dict[str, int]) -> int:
        return self.s.writers[0].cpu if t == "writer0.cpu" else env[t]

    def val(self, v: tuple, env: dict[str, int]) -> tuple[str, object]:
        """(sort, value) of a state value."""
        r, k = self.r, v[0]
        if k in ("pc", "reaper_pc"):
            return ("reader_pos" if k == "pc" else "reaper_pos", int(r[f"{k}[cpu{self.cpu(v[1], env)}]"]))
        if k in ("ac", "reaper_ac"):
            return "ref", r[f"{k}[cpu{self.cpu(v[1], env)}]"]
        if k in ("irqs_off", "ipi0", "reaper_locked"):
            return "flag", r[f"{k}[cpu{self.cpu(v[1], env)}]"] in ("off", "yes")
        if k == "visible":
            return "flag", r[f"visible[{v[1]}]"] == "yes"
        if k == "cpu_cache":
            return "ref", r[f"cpu_cache[{v[1]}]"]
        if k == "prev":
            return "ref", r["prev[0]"]
        if k == "writer_pc":
            return "writer_pos", int(r["writer_pc[0]"])
        if k == "ac_state":
            return "status", r[f"ac_state[{v[1]}]"]
        if k == "ac_state_of":
            ref = self.val(v[1], env)[1]
            return "status", r.get(f"ac_state[{ref}]", "unallocated")
        m = r["slab_mutex"]
        return "mutex", {"free": "free", "writer0": "writer0"}.get(m, "cpu")

    def const(self, sort: str, c: object) -> set:
        """The values a constant stands for."""
        if sort == "reader_pos" and isinstance(c, str):
            return {i for i, s in enumerate(self.s.reader_steps) if s == c}
        if sort == "reaper_pos" and isinstance(c, str):
            return {i for i, s in enumerate(self.s.reaper_steps) if s == c}
        if sort == "writer_pos" and isinstance(c, str):
            return {len(self.prog)} if c == "done" else {i for i, s in enumerate(self.prog) if s == c}
        if sort == "ref":
            return {"-" if c == "none" else c}
        if sort == "flag":
            return {c in ("true", 1)}
        return {c}

    def holds(self, f: tuple, env: dict[str, int]) -> bool:
        k = f[0]
        if k == "bool":
            return f[1]
        if k == "flag":
            return bool(self.val(f[1], env)[1])
        if k == "cpueq":
            return (self.cpu(f[2], env) == self.cpu(f[3], env)) == (f[1] == "==")
        if k == "cmp":
            sort, a = self.val(f[2], env)
            if isinstance(f[3], tuple):
                eq = a == self.val(f[3], env)[1]
            else:
                eq = a in self.const(sort, f[3])
            return eq == (f[1] == "==")
        if k == "in":
            sort, a = self.val(f[1], env)
            return any(a in self.const(sort, c) for c in f[2])
        if k == "not":
            return not self.holds(f[1], env)
        if k == "and":
            return all(self.holds(a, env) for a in f[1])
        if k == "or":
            return any(self.holds(a, env) for a in f[1])
        if k == "implies":
            return (not self.holds(f[1], env)) or self.holds(f[2], env)
        body = (self.holds(f[3], {**env, f[2]: c}) for c in range(self.n))
        return all(body) if f[1] == "forall" else any(body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formula())
def test_random_properties_mean_what_the_tables_show(tree):
    system, _, _, readable = small()
    text = render(tree)
    got = truth(text)
    want = [int(Oracle(system, r).holds(tree, {})) for r in readable]
    assert got == want, text


@settings(max_examples=60, deadline=None)
@given(formula(), st.sampled_from([" ", "  ", "\n", "\t "]))
def test_whitespace_and_redundant_parentheses_change_nothing(tree, ws):
    text = render(tree)
    assert truth(text.replace(" ", ws)) == truth(f"(({text}))")


# ---------------------------------------------------------------------------
# garbage in: PropertyError, never anything else

TOKENS = st.sampled_from(["forall", "exists", "c", "d", ":", ",", "(", ")", "[", "]", "{", "}", "==", "!=", "and",
                          "or", "not", "implies", "in", "true", "false", "pc", "ac", "ac_state", "irqs_off",
                          "writer0", ".", "cpu", "0", "1", "99", "ac_access", "live", "root#0", "none", "NULL",
                          "slab_mutex", "free", "writer_pc", "done", "visible", "root", "=", "&", "-", "#", "é"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(TOKENS, max_size=25).map(" ".join)))
def test_garbage_gives_a_property_error_or_a_predicate(text):
    system = small()[0]
    try:
        e = propexpr.compile_property(text, system)
    except PropertyError as err:
        assert "\n" not in str(err) and str(err)
    else:
        assert propexpr.expanded_size(e) <= propexpr.MAX_EXPANDED
