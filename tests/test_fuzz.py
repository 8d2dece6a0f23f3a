"""Hostile input: the spec loader and the CLI never raise a traceback.

Whatever the input -- random bytes, random TOML, specs generated from the real
key vocabulary and then mutated, random command lines -- the outcome is either
a verdict or a `SpecError` whose message is one line naming the file (and the
key, when a key is at fault); through the CLI that is exit status 2. Specs
are data: nothing in one is executed or imported.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slabproof import checker, model
from slabproof.cli import main
from slabproof.lang import spec
from slabproof.results import Verdict
from slabproof.run import runner

from .conftest import ROOT, SPECS
from .replay import holds, replay

SMALL = str(SPECS / "cache-if-prev-2cpu.toml")
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_RUN = settings(max_examples=8, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
BOUND = checker.Limits(max_states=300)

# ---------------------------------------------------------------------------
# a tiny TOML writer (no new dependency); every value inline, tables optional


def _key(k: str) -> str:
    if k and all(c.isascii() and (c.isalnum() or c in "_-") for c in k):
        return k
    return _string(k)


def _string(s: str) -> str:
    # JSON string escapes are TOML basic-string escapes, except that TOML wants DEL escaped too
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def to_toml(d: dict[str, Any], tables: bool = True) -> str:
    """`d` as TOML: scalars first, then (if `tables`) [table] and [[array of tables]] sections."""
    lines: list[str] = []
    later: list[str] = []
    for k, v in d.items():
        if tables and isinstance(v, dict) and all(not isinstance(x, dict) for x in v.values()):
            later.append(f"\n[{_key(k)}]")
            later.extend(f"{_key(kk)} = {_value(x)}" for kk, x in v.items())
        elif tables and isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for x in v:
                later.append(f"\n[[{_key(k)}]]")
                later.extend(f"{_key(kk)} = {_value(y)}" for kk, y in x.items())
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    return "\n".join(lines + later) + "\n"


# ---------------------------------------------------------------------------
# the one thing every test asserts


def outcome(text: str, path: str = "fuzz.toml") -> spec.Spec | spec.SpecError:
    """Load `text`; a SpecError must be one printable line naming the file (and the key)."""
    try:
        return spec.loads(text, path)
    except spec.SpecError as e:
        assert_one_line(e, path)
        return e


def assert_one_line(e: spec.SpecError, path: str) -> None:
    msg = str(e)
    assert "\n" not in msg and "\r" not in msg, msg
    assert msg.isprintable(), repr(msg)
    assert msg.startswith(path), msg
    if e.key:
        assert f": {spec._one_line(e.key)}: " in msg, msg
    assert e.message


def verdict_of(s: spec.Spec) -> Verdict:
    r = checker.explore(model.build(s), limits=BOUND)
    return r.verdict


def assert_verdict_is_earned(s: spec.Spec) -> Verdict:
    """Explore `s` within `BOUND` and check that its verdict is backed by its evidence.

    SAFE: a complete search within the bound, every `always` property holding.
    VIOLATED: each violated state property's counterexample replays in the
    model (tests/replay.py, independently of the explorer) to a state that
    breaks the property. UNKNOWN: the state limit was reached and no property
    was shown violated. Each witness replays to a state where its property holds.
    """
    system = model.build(s)
    r = checker.explore(system, limits=BOUND)
    always = [p for p in r.properties if p.kind == "always"]
    if r.verdict == Verdict.SAFE:
        assert r.complete and not r.reason and r.states <= BOUND.max_states
        assert all(p.holds is True for p in always), [(p.name, p.holds) for p in always]
    elif r.verdict == Verdict.VIOLATED:
        assert any(p.holds is False for p in always)
    else:
        assert r.verdict == Verdict.UNKNOWN and not r.complete
        assert r.reason.startswith("state limit") and r.states == BOUND.max_states, r.reason
        assert all(p.holds is None for p in always)
    state_props = {p.name for p in system.properties}
    for p in r.properties:
        if p.trace is None:
            continue
        comp, states = replay(system, replace(p.trace, steps=tuple(st for st in p.trace.steps if not st.violating)))
        if p.name in state_props:
            assert holds(comp, system, p.name, states[-1]) == (p.kind == "sometimes"), (p.name, p.trace.property)
    return r.verdict


# ---------------------------------------------------------------------------
# specs that look valid: the real vocabulary, then mutated

NAMES = ("root", "child", "dentry")
JUNK = st.one_of(st.integers(-3, 10), st.booleans(), st.text(max_size=6), st.floats(allow_nan=True),
                 st.lists(st.integers(0, 3), max_size=2), st.just({}), st.just({"x": 1}))


def _order(steps: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(steps), max_size=len(steps) + 1)


def _typo(s: str) -> st.SearchStrategy[str]:
    return st.sampled_from([s.upper(), s[:-1], s + "_", s.replace("_", "-"), " " + s, s + "\n", ""])


@st.composite
def plausible_specs(draw) -> dict[str, Any]:
    """A spec dict built from spec.py / model.py's own vocabulary (often valid)."""
    ncaches = draw(st.integers(1, 3))
    caches = [{"name": NAMES[i], "boot": draw(st.booleans()), "memcg": draw(st.booleans())} for i in range(ncaches)]
    names = [c["name"] for c in caches]
    ops = st.tuples(st.sampled_from(("create", "tune")), st.sampled_from(names)).map(" ".join)
    nwriters = draw(st.integers(1, 2))
    writers = [{"cpu": i, "script": draw(st.lists(ops, min_size=0, max_size=3))} for i in range(nwriters)]
    for w in writers:
        if draw(st.integers(0, 3)) == 0:
            w["migrate"] = draw(st.lists(st.integers(0, 3), max_size=2))
    d: dict[str, Any] = {
        "description": draw(st.text(max_size=20)),
        "cpus": draw(st.integers(1, 3)),
        "ipi": draw(st.sampled_from(spec.IPI_CONDITIONS)),
        "reapers": draw(st.booleans()),
        "cache": caches,
        "writer": writers,
    }
    for knob, values in spec.KNOBS.items():
        if draw(st.booleans()):
            d[knob] = draw(st.sampled_from(values))
    if draw(st.booleans()):
        d["steps"] = {}
        for key, vocab in (("reader", model.READER_STEPS), ("reaper", model.REAPER_STEPS),
                           ("create", model.WRITER_STEPS), ("tune", model.WRITER_STEPS)):
            if draw(st.booleans()):
                default = {"reader": model.DEFAULT_READER, "reaper": model.DEFAULT_REAPER,
                           "create": model.DEFAULT_CREATE, "tune": model.DEFAULT_TUNE}[key]
                d["steps"][key] = draw(st.one_of(st.just(list(default)), _order(vocab),
                                                 st.permutations(list(default))))
    verdict = draw(st.sampled_from(spec.VERDICTS))
    d["expect"] = {"verdict": verdict}
    if draw(st.booleans()):
        d["expect"]["violates"] = draw(st.lists(st.sampled_from(model.ALWAYS_PROPERTIES), max_size=2, unique=True))
    if draw(st.booleans()):
        d["expect"]["witnesses"] = draw(st.lists(st.sampled_from(model.SOMETIMES_PROPERTIES), max_size=1))
    return d


def _paths(d: Any, prefix: tuple = ()) -> list[tuple]:
    """Every (container path) to a key or list element in `d`."""
    out: list[tuple] = []
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else []
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


@st.composite
def mutated_specs(draw) -> dict[str, Any]:
    """A plausible spec with 0 to 3 mutations: a key dropped, renamed, retyped, misspelled, or added."""
    d = draw(plausible_specs())
    for _ in range(draw(st.integers(0, 3))):
        paths = _paths(d)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = d
        for k in path[:-1]:
            parent = parent[k]
        last = path[-1]
        how = draw(st.sampled_from(("drop", "retype", "typo", "add", "dup", "big")))
        if how == "drop":
            del parent[last]
        elif how == "retype":
            parent[last] = draw(JUNK)
        elif how == "typo" and isinstance(parent[last], str):
            parent[last] = draw(_typo(parent[last]))
        elif how == "typo" and isinstance(parent, dict):
            parent[draw(_typo(str(last)))] = parent.pop(last)
        elif how == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(spec.TOP_KEYS + spec.CACHE_KEYS + ("colour", "a\nb", "")))] = draw(JUNK)
        elif how == "dup" and isinstance(parent, list):
            parent.append(parent[last])
        elif how == "big":
            parent[last] = draw(st.sampled_from((2**63, -(2**63), 10**30, 9, -1, 0)))
    return d


@FUZZ
@given(mutated_specs(), st.booleans())
def test_mutated_vocabulary_specs_load_or_fail_on_one_line(d, tables):
    got = outcome(to_toml(d, tables))
    if isinstance(got, spec.Spec):
        assert_verdict_is_earned(got)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plausible_specs())
def test_plausible_specs_mostly_load_and_get_a_verdict(d):
    got = outcome(to_toml(d))
    if isinstance(got, spec.Spec):
        assert_verdict_is_earned(got)


def test_the_generator_does_reach_valid_specs():
    """Guard against a fuzz test that only ever exercises the error paths."""
    from hypothesis import find

    found = find(plausible_specs(), lambda d: isinstance(outcome(to_toml(d)), spec.Spec),
                 settings=settings(max_examples=500, deadline=None, database=None))
    assert isinstance(outcome(to_toml(found)), spec.Spec)


# ---------------------------------------------------------------------------
# random TOML and random bytes

SCALARS = st.one_of(st.integers(), st.booleans(), st.floats(), st.text(alphabet=st.characters(exclude_categories=("Cs",)),
                                                                       max_size=10))
KEYS = st.one_of(st.sampled_from(spec.TOP_KEYS + spec.CACHE_KEYS + spec.WRITER_KEYS + spec.STEPS_KEYS
                                 + spec.EXPECT_KEYS + tuple(spec.KNOBS)),
                 st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=6))
TREES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(KEYS, inner, max_size=4)), max_leaves=12)


@FUZZ
@given(st.dictionaries(KEYS, TREES, max_size=8), st.booleans())
def test_random_toml_loads_or_fails_on_one_line(d, tables):
    got = outcome(to_toml(d, tables))
    if isinstance(got, spec.Spec):
        verdict_of(got)


@FUZZ
@given(st.text(max_size=200))
def test_random_text_loads_or_fails_on_one_line(text):
    outcome(text)


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_from_a_file_fail_on_one_line(data):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "bytes.toml"
        p.write_bytes(data)
        try:
            spec.load(p)
        except spec.SpecError as e:
            assert_one_line(e, str(p))


@FUZZ
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=20))
def test_spec_text_spliced_with_random_text_fails_on_one_line(junk):
    good = Path(SMALL).read_text()
    for at in (0, len(good) // 2, len(good)):
        outcome(good[:at] + junk + good[at:])


@pytest.mark.parametrize("text", [
    "a = " + "[" * 5000 + "]" * 5000,
    "a = " + "{b = " * 3000 + "1" + "}" * 3000,
    "cpus = 99999999999999999999999999999",
    "cpus = 1e999",
    "cpus = nan",
    "\ufeffcpus = 2",
    "cpus = 1979-05-27T07:32:00Z",
    '"\\u0000" = 1',
    "[" * 100,
    "x = '''" + "a" * 100_000,
], ids=["deep-array", "deep-table", "huge-int", "huge-float", "nan", "bom", "datetime", "nul-key", "brackets",
        "unterminated"])
def test_pathological_toml_fails_on_one_line(text):
    got = outcome(text)
    assert isinstance(got, spec.SpecError)


def test_many_operations_are_refused_before_the_model_is_built():
    text = Path(SMALL).read_text().replace('"tune dentry", "tune dentry"', ", ".join(['"tune dentry"'] * 300))
    got = outcome(text)
    assert isinstance(got, spec.SpecError) and got.key == "writer[0].script"


def test_many_caches_are_refused():
    text = "cpus = 2\n" + "".join(f'[[cache]]\nname = "c{i}"\nboot = true\n' for i in range(50)) \
        + '[[writer]]\nscript = ["tune c0"]\n[expect]\nverdict = "safe"\n'
    got = outcome(text)
    assert isinstance(got, spec.SpecError) and got.key == "cache"


def test_duplicate_step_error_names_the_first_repeated_step_in_file_order():
    text = Path(SMALL).read_text() + '\n[steps]\ntune = ["mutex_lock", "load_prev", "load_prev", "mutex_lock", ' \
                                      '"alloc_kmem_cache_cpus", "publish_cpu_cache"]\n'
    got = outcome(text)
    assert isinstance(got, spec.SpecError) and "'mutex_lock' appears 2 times" in str(got)


# ---------------------------------------------------------------------------
# the CLI: random command lines over good, bad and absent files

OPTIONS = st.lists(st.one_of(
    st.just(["--json"]), st.just(["--no-symmetry"]), st.just(["--first"]),
    st.tuples(st.just("--traces"), st.sampled_from(("auto", "none", "all", "some"))).map(list),
    st.tuples(st.just("--cpus"), st.sampled_from(("1", "2", "3", "0", "-1", "x", "9"))).map(list),
    st.tuples(st.just("--engine"), st.sampled_from(("explicit", "all", "magic", "explicit,magic", ""))).map(list),
    st.tuples(st.just("--max-states"), st.sampled_from(("1", "50", "200", "0", "lots"))).map(list),
    st.tuples(st.just("--timeout"), st.sampled_from(("30", "0", "-1", "1e-9", "soon"))).map(list),
    st.tuples(st.just("--max-memory"), st.sampled_from(("4G", "1", "0.5k", "G", "lots"))).map(list),
    st.just(["--junk-option"]),
), max_size=4).map(lambda xs: [a for x in xs for a in x])


@FUZZ_RUN
@given(data=st.data())
def test_cli_random_command_lines_give_a_status_or_one_line(capsys, data):
    with tempfile.TemporaryDirectory() as tmp:
        gen = Path(tmp) / "generated.toml"
        gen.write_text(to_toml(data.draw(mutated_specs(), label="spec")))
        files = data.draw(st.lists(st.sampled_from([
            SMALL, str(gen), str(Path(tmp) / "absent.toml"), tmp, str(SPECS / "memcg-never-2cpu.toml"),
            "a\x00b.toml", "\ud800.toml", "",
        ]), max_size=2), label="files")
        argv = ["check", "--max-states", "400", "--timeout", "5", *data.draw(OPTIONS, label="options"), *files]
        if not files:
            argv.append(SMALL)
        capsys.readouterr()
        try:
            status = main(argv)
        except SystemExit as e:  # argparse: usage errors
            status = e.code
        out, err = capsys.readouterr()
    assert status in (0, 1, 2, 3, 4), status
    assert "Traceback" not in err
    if status == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("slabproof"), err
        assert out == ""
    if "--json" in argv and status != 2:
        assert json.loads(out)["exit_status"] == status


SMALL_NUMBERS = st.sampled_from(("1", "2", "3", "0", "-1", "9", "x", "1e3", ""))


@FUZZ_RUN
@given(data=st.data())
def test_cli_other_commands_give_a_status_or_one_line(capsys, data):
    """graph, explain, ipis, engines, --help, --version: the same contract as check."""
    with tempfile.TemporaryDirectory() as tmp:
        gen = Path(tmp) / "generated.toml"
        gen.write_text(to_toml(data.draw(mutated_specs(), label="spec")))
        target = data.draw(st.sampled_from([str(gen), SMALL, str(Path(tmp) / "absent.toml"), tmp, "\ud800"]))
        out_file = data.draw(st.sampled_from([str(Path(tmp) / "g.dot"), str(Path(tmp) / "no" / "g.dot"), tmp]))
        n = lambda label: data.draw(SMALL_NUMBERS, label=label)  # noqa: E731
        argv = data.draw(st.sampled_from([
            ["graph", target, "--dot", out_file, "--max-nodes", "500"],
            ["graph", target, "--dot", out_file, "--max-nodes", n("max-nodes"), "--no-symmetry"],
            ["graph", target],
            ["explain", "--cpus", n("cpus"), "--max-states", "300", "--traces", "none"],
            ["explain", "--cpus", "2", "--max-states", n("max-states"), "--json"],
            ["ipis", "--no-png", "--memcgs", n("memcgs"), "--cpus", n("cpus"), "--writer-cpu", n("writer")],
            ["engines"], ["--version"], ["check", "--help"], [], ["nonsense"],
        ]), label="argv")
        capsys.readouterr()
        try:
            status = main(argv)
        except SystemExit as e:
            status = e.code
        out, err = capsys.readouterr()
    assert status in (0, 1, 2, 3, 4), status
    assert "Traceback" not in err
    if status == 2 and argv:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("slabproof"), err


@pytest.mark.parametrize("name,content", [
    ("garbage.toml", b"\x00\xff\xfe" * 50),
    ("latin1.toml", "description = 'caf\xe9'\n".encode("latin-1")),
    ("deep.toml", b"a = " + b"[" * 100_000 + b"]" * 100_000),
    (os.fsdecode(b"\xff\xfe-odd-name.toml"), b"cpus = 1\n"),
    ("empty.toml", b""),
], ids=["garbage", "latin1", "deep", "odd-name", "empty"])
def test_cli_hostile_files_exit_2_with_one_line(tmp_path, name, content):
    f = tmp_path / name
    f.write_bytes(content)
    p = subprocess.run([sys.executable, "-m", "slabproof", "check", str(f)], cwd=ROOT, capture_output=True,
                       timeout=600)
    assert p.returncode == 2, p.stderr
    err = p.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert p.stdout == b""


def test_cli_directory_of_one_odd_named_good_spec(tmp_path):
    f = tmp_path / os.fsdecode(b"caf\xe9.toml")
    f.write_text(Path(SMALL).read_text())
    p = subprocess.run([sys.executable, "-m", "slabproof", "check", "--json", str(tmp_path)], cwd=ROOT,
                       capture_output=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["specs"][0]["engines"][0]["verdict"] == "safe"


# ---------------------------------------------------------------------------
# specs are data


CODE = "__import__('os').system('touch PWNED') or exec('open(\"PWNED\", \"w\")')"


def test_python_looking_strings_in_a_spec_do_nothing(tmp_path):
    text = Path(SMALL).read_text()
    text = text.replace('description = "', f'description = """{CODE}; import antigravity\n"""\n# "')
    text = text.replace("dentry", "antigravity")
    f = tmp_path / "__import__('os').system('touch PWNED').toml"
    f.write_text(text)
    before = set(sys.modules)
    s = spec.load(f)
    assert CODE in s.description
    outcome_ = runner.run_spec(s, runner.RunOptions())
    assert outcome_.matches
    assert "antigravity" not in set(sys.modules) - before
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # this checkout's slabproof, though the cwd is elsewhere
    p = subprocess.run([sys.executable, "-m", "slabproof", "check", "--traces", "all", str(f)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "PWNED").exists() and not (ROOT / "PWNED").exists()


@pytest.mark.parametrize("key,value", [
    ("python", '"import os"'),
    ("__import__", '"os"'),
    ("ipi", '"__import__(\'os\')"'),
    ("cpus", '"2 + 1"'),
])
def test_code_in_a_value_or_key_is_refused_not_run(tmp_path, key, value):
    text = Path(SMALL).read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key} =")]
    got = outcome(f"{key} = {value}\n" + "\n".join(lines), "code.toml")
    assert isinstance(got, spec.SpecError) and got.key == key


@FUZZ
@given(st.text(max_size=30))
def test_any_spec_path_through_the_api_is_inert(path):
    """The path (and so the spec's name) is only ever data, even where generated code is compiled."""
    s = spec.loads(Path(SMALL).read_text(), path)
    r = checker.explore(model.build(s), limits=checker.Limits(max_states=50))
    assert r.verdict == Verdict.UNKNOWN and r.spec == path
