"""`[[property]]` tables: loading, the expectation, the command line, and what each engine decides."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from slabproof import checker, model
from slabproof.cli import main
from slabproof.lang import spec
from slabproof.lang.spec import SpecError
from slabproof.results import Verdict
from slabproof.run import runner
from slabproof.z3 import bmc, param

from .conftest import ROOT, SPECS
from .replay import holds, replay
from .test_propexpr import TINY as TINY_TEXT, formula, render

GOOD = (SPECS / "cache-if-prev-2cpu.toml").read_text()
DEADLOCK = SPECS / "whatif-deadlock-state-property.toml"
DEADLOCK_PROP = "no_deadlock_at_csd_lock_wait"


def with_props(text: str, *tables: str, expect: str | None = None) -> str:
    """`text` with `[[property]]` tables inserted before its [expect] table (replaced by `expect` when given)."""
    head, tail = text.split("[expect]", 1)
    body = "".join(f"[[property]]\n{t}\n\n" for t in tables)
    return head + body + ("[expect]" + tail if expect is None else expect)


def table(name: str, kind: str, expr: str, doc: str | None = None) -> str:
    out = f'name = "{name}"\nkind = "{kind}"\nexpr = "{expr}"'
    return out + (f'\ndoc = "{doc}"' if doc is not None else "")


# ---------------------------------------------------------------------------
# loading


def test_a_spec_with_properties_loads_and_the_model_checks_them():
    text = with_props(GOOD, table("irqs_off_while_holding", "always",
                                  "forall c: ac[c] != none implies irqs_off[c]", "readers hold with IRQs off"),
                      table("someone_holds_fresh", "sometimes", "exists c: ac_state[ac[c]] == fresh"))
    s = spec.loads(text, "x.toml")
    assert [p.name for p in s.properties] == ["irqs_off_while_holding", "someone_holds_fresh"]
    system = model.build(s)
    assert [p.name for p in system.properties][-2:] == ["irqs_off_while_holding", "someone_holds_fresh"]
    assert system.property("irqs_off_while_holding").doc == "readers hold with IRQs off"
    r = checker.explore(system)
    assert r.prop("irqs_off_while_holding").holds is True
    assert r.prop("someone_holds_fresh").holds is False  # fresh_unreachable holds too
    assert r.verdict == Verdict.SAFE


def test_a_user_property_can_make_a_spec_violated_and_the_trace_replays():
    text = with_props(GOOD, table("never_retired", "always", "ac_state[dentry#1] != retired"),
                      expect='[expect]\nverdict = "violated"\nviolates = ["never_retired"]\n')
    s = spec.loads(text, "x.toml")
    system = model.build(s)
    r = checker.explore(system)
    assert r.violated == ("never_retired",)
    ok, why, _ = runner.compare(s, [r])
    assert ok, why
    comp, states = replay(system, r.prop("never_retired").trace)
    assert not holds(comp, system, "never_retired", states[-1])
    assert all(holds(comp, system, "never_retired", x) for x in states[:-1])


@pytest.mark.parametrize("tables,expect,key,fragment", [
    ([table("p", "never", "true")], None, "property[0].kind", "unknown kind 'never'; valid: always, sometimes"),
    ([table("no_use_after_free", "always", "true")], None, "property[0].name", "is a built-in property"),
    ([table("writer_terminates", "always", "true")], None, "property[0].name", "is a built-in property"),
    ([table("p", "always", "true"), table("p", "sometimes", "true")], None, "property[1].name", "declared twice"),
    ([table("bad name", "always", "true")], None, "property[0].name", "is not a property name"),
    ([table("p", "always", "forall c: pc[c] == ac_acess")], None, "property[0].expr",
     "'ac_acess' is not a reader position; valid: local_irq_save"),
    ([table("p", "always", "forall c: (pc[c] == 0")], None, "property[0].expr", "at column 22: expected ')'"),
    ([table("p", "always", "true", "two\\nlines")], None, "property[0].doc", "one line"),
    (['name = "p"\nkind = "always"'], None, "property[0].expr", "missing"),
    (['name = "p"\nkind = "always"\nexpr = 3'], None, "property[0].expr", "expected str"),
    (['name = "p"\nkind = "always"\nexpr = "true"\ncolour = 1'], None, "property[0].colour", "unknown key; valid: name"),
    ([table("p", "always", "true")], '[expect]\nverdict = "violated"\nviolates = ["q"]\n', "expect.violates",
     # the model's built-in 'always' properties in their order, then the spec's own
     f"unknown property 'q'; valid: {', '.join(model.ALWAYS_PROPERTIES)}, p"),
    ([table("p", "sometimes", "true")], '[expect]\nverdict = "violated"\nviolates = ["p"]\n', "expect.violates",
     "'p' is a 'sometimes' property"),
    ([table("p", "always", "true")], '[expect]\nverdict = "safe"\nwitnesses = ["p"]\n', "expect.witnesses",
     "'p' is an 'always' property"),
    ([table("p", "sometimes", "true")], '[expect]\nverdict = "safe"\nwitnesses = ["q"]\n', "expect.witnesses",
     f"unknown property 'q'; valid: {', '.join(model.SOMETIMES_PROPERTIES)}, p"),
])
def test_bad_property_tables_give_one_line_naming_the_key(tables, expect, key, fragment):
    with pytest.raises(SpecError) as e:
        spec.loads(with_props(GOOD, *tables, expect=expect), "bad.toml")
    msg = str(e.value)
    assert e.value.key == key, msg
    assert fragment in msg, msg
    assert msg.startswith("bad.toml:") and "\n" not in msg


def test_error_lines_point_into_the_right_table():
    text = with_props(GOOD, table("a", "always", "true"), table("b", "always", "pc[c] == 0"))
    with pytest.raises(SpecError) as e:
        spec.loads(text, "bad.toml")
    lines = text.splitlines()
    assert e.value.line is not None and lines[e.value.line - 1].startswith("expr = \"pc[c]")


def test_property_must_be_an_array_of_tables_and_is_capped():
    head, tail = GOOD.split("[expect]", 1)
    with pytest.raises(SpecError, match=r"property: must be an array of tables"):
        spec.loads(head + '[property]\nname = "p"\n\n[expect]' + tail, "bad.toml")
    many = [table(f"p{i}", "always", "true") for i in range(spec.MAX_PROPERTIES + 1)]
    with pytest.raises(SpecError, match=f"valid: 0 to {spec.MAX_PROPERTIES}"):
        spec.loads(with_props(GOOD, *many), "bad.toml")


def test_expect_may_name_user_properties():
    s = spec.loads(with_props(GOOD, table("p", "sometimes", "exists c: ac_state[ac[c]] == live"),
                              expect='[expect]\nverdict = "safe"\nwitnesses = ["reader_holds_prev_at_publish", "p"]\n'))
    assert s.expect.witnesses == ("reader_holds_prev_at_publish", "p")
    r = checker.explore(model.build(s))
    assert runner.compare(s, [r])[0]
    # and a witness that does not exist is a mismatch
    s = spec.loads(with_props(GOOD, table("p", "sometimes", "exists c: ac_state[ac[c]] == freed"),
                              expect='[expect]\nverdict = "safe"\nwitnesses = ["p"]\n'))
    ok, why, _ = runner.compare(s, [checker.explore(model.build(s))])
    assert not ok and "no witness for p" in why


def test_with_cpus_keeps_the_properties():
    s = spec.load(DEADLOCK)
    for n in (1, 2, 4):
        system = model.build(s.with_cpus(n))
        assert system.property(DEADLOCK_PROP).kind == "always"


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(['name', 'kind', 'expr', 'doc', 'colour']), max_size=5),
       st.lists(st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.lists(st.integers(), max_size=2)),
                max_size=5))
def test_random_property_tables_give_spec_errors_never_tracebacks(keys, values):
    def lit(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.encode("unicode_escape").decode().replace('"', '\\"') + '"'
        return str(v).replace("'", '"') if isinstance(v, list) else str(v)

    body = "\n".join(f"{k} = {lit(v)}" for k, v in zip(dict.fromkeys(keys), values))
    try:
        s = spec.loads(with_props(GOOD, body), "fuzz.toml")
    except SpecError as e:
        assert "\n" not in str(e) and str(e).startswith("fuzz.toml")
    else:
        model.build(s)


# ---------------------------------------------------------------------------
# the command line


def test_cli_bad_property_exits_2_with_one_line(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text(with_props(GOOD, table("p", "always", "forall c: irqs_of[c]")))
    assert main(["check", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"{f}:" in err[0] and "property[0].expr" in err[0] and "unknown name 'irqs_of'" in err[0]


def test_cli_subprocess_bad_property_stops_before_anything_runs(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(with_props(GOOD, table("p", "sometimes", "exists c: exists c: true")))
    p = subprocess.run([sys.executable, "-m", "slabproof", "check", str(SPECS / "cache-if-prev-2cpu.toml"), str(bad)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stdout
    assert p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and "property[0].expr" in p.stderr
    assert "Traceback" not in p.stderr


# ---------------------------------------------------------------------------
# engines

AGREE = [
    table("held_means_irqs_off", "always", "forall c: ac[c] != none implies irqs_off[c]"),
    table("held_is_live", "always", "forall c: ac[c] in {none, NULL} or ac_state[ac[c]] == live"),
    table("prev_not_held_after_wait", "always",
          "writer_pc[0] == free_block implies forall c: c == writer0.cpu or ac[c] != prev[0]"),
    table("two_cpus_hold_the_same", "sometimes", "exists c, d: c != d and ac[c] != none and ac[c] == ac[d]"),
    table("retired_held", "sometimes", "exists c: ac_state[ac[c]] == retired"),
    table("pending_ipi_irqs_off", "sometimes", "exists c: ipi0[c] and irqs_off[c] and pc[c] == ac_access"),
    table("never_freed", "always", "ac_state[dentry#1] != freed"),
    table("drained_held", "sometimes", "exists c: ac_state[ac[c]] == drained"),
]


@pytest.mark.parametrize("base,cpus", [("cache-if-prev-2cpu", 2), ("cache-never-2cpu", 2)])
def test_explicit_and_bmc_decide_user_properties_identically(base, cpus):
    text = with_props((SPECS / f"{base}.toml").read_text(), *AGREE,
                      expect='[expect]\nverdict = "violated"\n')
    system = model.build(spec.loads(text, f"{base}+props"))
    ex = checker.explore(system)
    assert ex.complete
    b = bmc.run(system, complete_depth=ex.depth, rlimit=200_000_000, extra_depth=ex.depth)
    assert b.complete, b.reason
    names = [t.split('"')[1] for t in AGREE]
    decided = {n: ex.prop(n).holds for n in names}
    assert set(decided.values()) == {True, False}  # the list exercises both outcomes
    for n in names:
        assert b.prop(n).holds == ex.prop(n).holds, n
        if ex.prop(n).trace is not None:  # both find shortest traces
            assert b.prop(n).trace is not None and b.prop(n).trace.length == ex.prop(n).trace.length, n


def test_shipped_deadlock_property_violated_by_explicit_and_bmc():
    s = spec.load(DEADLOCK)
    o = runner.run_spec(s, runner.RunOptions(engines=("explicit", "bmc")))
    by = {r.engine: r for r in o.results}
    assert by["explicit"].prop(DEADLOCK_PROP).holds is False
    assert by["bmc"].prop(DEADLOCK_PROP).holds is False
    assert by["explicit"].prop(DEADLOCK_PROP).trace.length == by["bmc"].prop(DEADLOCK_PROP).trace.length == 8
    assert o.matches, o.mismatch
    system = model.build(s)
    comp, states = replay(system, by["bmc"].prop(DEADLOCK_PROP).trace)
    assert not holds(comp, system, DEADLOCK_PROP, states[-1])
    assert comp.succ(states[-1]) == []  # a deadlocked state: no step is enabled


def test_param_says_not_supported_when_a_property_needs_more_witnesses_than_it_has():
    # denying an "or" of four universals needs four CPU witnesses; the any-N encoding has fewer
    many = " or ".join(f"(forall {v}: ac[{v}] == none)" for v in "abcd")
    text = with_props(GOOD, table("wide", "always", many))
    system = model.build(spec.loads(text, "wide.toml"))
    ex = checker.explore(system, keep_states=True)
    r = param.run(system, ex.extra["states"], ex.extra["slots"], rlimit=500_000_000, minimize=False)
    assert r.prop("wide").holds is None
    assert r.verdict == Verdict.UNKNOWN
    assert "not supported" in r.extra["unproved"]["wide"]


def test_the_examples_in_docs_specs_md_compile_and_hold_or_fail_as_said():
    text = (ROOT / "docs" / "specs.md").read_text()
    block = text.split("Examples:\n\n```\n", 1)[1].split("```", 1)[0]
    examples = [line for line in block.splitlines() if line.strip()]
    assert len(examples) >= 5
    system = model.build(spec.load(SPECS / "memcg-if-prev-2cpu.toml"))
    from slabproof.lang import propexpr

    for e in examples:
        propexpr.compile_property(e, system)
    first = text.split("[[property]]", 1)[1].split('expr = "', 1)[1].split('"', 1)[0]
    s = spec.loads(with_props(GOOD, table("p", "always", first)))
    assert checker.explore(model.build(s)).prop("p").holds is True


@settings(max_examples=4, deadline=None)
@given(st.lists(st.tuples(formula(text=TINY_TEXT),
                          st.sampled_from(["always", "sometimes"])), min_size=6, max_size=6))
def test_random_user_properties_are_decided_identically_by_explicit_and_bmc(props):
    tables = [f'name = "p{i}"\nkind = "{k}"\nexpr = """{render(t)}"""' for i, (t, k) in enumerate(props)]
    s = spec.loads(with_props(TINY_TEXT, *tables), "tiny+random")
    system = model.build(s)
    ex = checker.explore(system)
    b = bmc.run(system, complete_depth=ex.depth, rlimit=400_000_000, extra_depth=ex.depth)
    assert b.complete, b.reason
    for i in range(len(props)):
        n = f"p{i}"
        assert b.prop(n).holds == ex.prop(n).holds, (n, render(props[i][0]))
        if ex.prop(n).trace is not None:
            assert b.prop(n).trace.length == ex.prop(n).trace.length, n
