"""The zoo of broken protocols: every mutant is caught by every engine that supports it.

A surviving mutant fails this file. Equivalent mutants must be proved safe.
The protocol knobs the mutants use are spec fields; their defaults are the
kernel's behaviour, and they work through guards and updates (no engine
knows their names).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from slabproof import checker, model
from slabproof.cli import main
from slabproof.lang import spec
from slabproof.results import EngineResult, SpecOutcome, Verdict
from slabproof.run import mutants, runner

from .conftest import SPECS
from .test_fuzz import plausible_specs, to_toml

MUTANTS = sorted((SPECS / "mutants").glob("*.toml"))
WHATIFS = sorted(SPECS.glob("whatif-*.toml"))


ENGINES = runner.available_engines()


@lru_cache(maxsize=None)
def judged(path: Path, engine: str) -> mutants.Row:
    """The mutant's kill-matrix row for `engine` (run beside the explicit engine, which feeds the others).

    The explicit engine checks each mutant at its own size; the other engines
    at 2 CPUs, the smallest size at which every killable mutant is caught, so
    that the symbolic engines keep this file fast.
    """
    s = spec.load(path)
    engines: tuple[str, ...] = ("explicit",)
    if engine != "explicit":
        s = s.with_cpus(min(s.cpus, 2))
        engines = ("explicit", engine)
    o = runner.run_spec(s, runner.RunOptions(engines=engines))
    return mutants.classify([s], [o]).rows[0]


@lru_cache(maxsize=None)
def matrix() -> mutants.KillMatrix:
    """The explicit engine's kill matrix, every mutant at its own size."""
    specs = [spec.load(p) for p in MUTANTS]
    opts = runner.RunOptions(engines=("explicit",))
    return mutants.classify(specs, [runner.run_spec(s, opts) for s in specs])


def test_the_zoo_is_big_and_goes_beyond_the_what_ifs():
    loaded = [spec.load(p) for p in MUTANTS]
    killable = [s for s in loaded if s.expect.verdict == "violated"]
    equivalent = [s for s in loaded if s.expect.verdict == "safe"]
    assert len(killable) >= 12 and len(equivalent) >= 3
    # no mutant is one of KERNEL.md's what-ifs under another name
    def shape(s: spec.Spec) -> spec.Spec:
        return replace(s, path="", name="", description="", expect=spec.Expect("safe"))
    whatifs = {shape(spec.load(p)) for p in WHATIFS}
    assert not [s.name for s in loaded if shape(s) in whatifs]
    for p in MUTANTS:
        assert p.read_text().startswith("# Mutant: "), p


@pytest.mark.parametrize("path", MUTANTS, ids=[p.stem for p in MUTANTS])
@pytest.mark.parametrize("engine", ENGINES)
def test_every_mutant_is_caught_by_every_engine_that_supports_it(engine, path):
    row = judged(path, engine)
    cell = next(c for c in row.cells if c.engine == engine)
    assert row.status in mutants.GOOD_ROWS, f"{row.name}: {row.status}: {row.note}"
    if row.kind == "killable":
        if runner.finds_traces(engine):
            assert cell.status in (mutants.KILLED, mutants.NOT_SUPPORTED), f"{engine}: {cell}"
        else:  # a proof engine is credited with its own kills only: it has none, it just cannot prove safety
            assert cell.status in (mutants.NOT_PROVED, mutants.NOT_SUPPORTED), f"{engine}: {cell}"
        assert engine != "explicit" or cell.status == mutants.KILLED
    else:
        assert cell.status != mutants.REFUTED, f"{engine}: {cell}"
        assert engine != "explicit" or cell.status == mutants.PROVED_SAFE


def test_no_mutant_survives_and_the_matrix_exit_status_is_0():
    m = matrix()
    assert m.exit_status == 0, [(r.name, r.status, r.note) for r in m.rows if r.status not in mutants.GOOD_ROWS]
    assert [r.status for r in m.rows].count(mutants.CAUGHT) == sum(r.kind == "killable" for r in m.rows)


def test_check_mutants_prints_the_kill_matrix(capsys):
    status = main(["check", "--mutants", "--engine", "explicit", "--traces", "none", *map(str, MUTANTS)])
    out = capsys.readouterr().out
    assert status == 0
    assert "kill matrix (mutant x engine)" in out
    k = sum(1 for p in MUTANTS if 'verdict = "violated"' in p.read_text())
    assert f"{k} of {k} killable mutants caught" in out
    assert f"{len(MUTANTS) - k} of {len(MUTANTS) - k} equivalent mutants proved safe" in out
    for p in MUTANTS:
        assert p.stem in out


def test_a_surviving_mutant_fails_the_gate(capsys, tmp_path):
    f = tmp_path / "survivor.toml"  # claims a kill, but the change is harmless
    f.write_text((SPECS / "mutants" / "eq-extra-self-kick.toml").read_text()
                 .replace('verdict = "safe"\nwitnesses = ["reader_holds_prev_at_publish"]', 'verdict = "violated"'))
    assert main(["check", "--mutants", str(f)]) == 1
    out = capsys.readouterr().out
    assert "SURVIVED" in out and "survivor: SURVIVED: no engine finds a violation" in out


def test_check_without_arguments_does_not_read_the_mutants(capsys, monkeypatch):
    monkeypatch.chdir(SPECS.parent)
    assert runner.spec_files(["specs"]) == sorted(str(p.relative_to(SPECS.parent)) for p in SPECS.glob("*.toml"))


# ---------------------------------------------------------------------------
# the classification, on made-up results


def _result(engine: str, verdict: Verdict, reason: str = "") -> EngineResult:
    return EngineResult(engine=engine, spec="m.toml", cpus=2, verdict=verdict, reason=reason)


VERDICTS = st.sampled_from([(Verdict.SAFE, ""), (Verdict.VIOLATED, ""), (Verdict.UNKNOWN, "bound 10 reached"),
                            (Verdict.UNKNOWN, "not supported: CPU numbers in the spec")])


@settings(max_examples=200, deadline=None)
@given(st.booleans(), st.lists(VERDICTS, min_size=1, max_size=4))
def test_kill_matrix_rules(killable, verdicts):
    s = spec.load(MUTANTS[0])
    s = replace(s, expect=spec.Expect("violated" if killable else "safe"))
    results = tuple(_result(f"e{i}", v, why) for i, (v, why) in enumerate(verdicts))
    o = SpecOutcome(s.path, s.name, 2, s.expect.verdict, None, results, False)
    m = mutants.classify([s], [o])
    row = m.rows[0]
    said = [v for v, why in verdicts if "not supported" not in why]
    if killable:
        good = bool(said) and all(v == Verdict.VIOLATED for v in said)
    else:
        good = Verdict.SAFE in said and Verdict.VIOLATED not in said
    assert (row.status in mutants.GOOD_ROWS) == good
    assert (m.exit_status == 0) == good
    if killable and Verdict.SAFE in said:
        assert m.exit_status in (1, 3)  # a survivor fails the gate
    if not killable and Verdict.VIOLATED in said:
        assert m.exit_status in (1, 3)  # not equivalent after all
    assert [c.status == mutants.NOT_SUPPORTED for c in row.cells] == ["not supported" in w for _, w in verdicts]


# ---------------------------------------------------------------------------
# the knobs: defaults are the kernel, values change only what they say

BASE = (SPECS / "memcg-if-prev-3cpu.toml").read_text()


def _explore(text: str, symmetry: bool = True):
    s = spec.loads(text, "knob.toml")
    return checker.explore(model.build(s), symmetry=symmetry)


def test_spelling_out_the_default_knobs_changes_nothing():
    plain = _explore(BASE)
    explicit = _explore('ipi_to = "others"\nipi_waits_for_irqs_on = true\nwriter_waits_for_idle_cpu = true\n'
                        + BASE.replace("cpu = 0\n", "cpu = 0\nmigrate = []\n"))
    assert (plain.states, plain.transitions, plain.verdict) == (explicit.states, explicit.transitions, explicit.verdict)
    assert plain.states == 4068  # the pinned count of memcg-if-prev-3cpu


@pytest.mark.parametrize("targets,per_kick", [("others", 2), ("all", 3), ("self", 1), ("none", 0)])
def test_ipi_to_knob_sends_that_many_ipis(targets, per_kick):
    r = _explore(f'ipi_to = "{targets}"\n' + BASE)
    kicks = [o.ipis for o in r.ipis_per_op if o.op.startswith("tune")]
    assert kicks == [per_kick, per_kick]


def test_migrating_writer_really_runs_on_its_other_cpu():
    """A writer step taken while CPU 0 is inside a reader section can only be on CPU 1."""
    s = spec.load(SPECS / "mutants" / "eq-writer-migrates.toml")
    r = checker.explore(model.build(s), keep_graph=True)
    g = r.extra["graph"]
    on_cpu1 = [(a, b) for a, b, actor, _ in g["edges"] if actor == "writer0" and g["nodes"][a]["pc[cpu0]"] != "0"]
    assert on_cpu1
    still = checker.explore(model.build(spec.load(SPECS / "memcg-if-prev-3cpu.toml")), keep_graph=True)
    g2 = still.extra["graph"]
    assert not [1 for a, b, actor, _ in g2["edges"] if actor == "writer0" and g2["nodes"][a]["pc[cpu0]"] != "0"]


@pytest.mark.parametrize("path", [p for p in MUTANTS if "migrat" in p.stem], ids=lambda p: p.stem)
def test_symmetry_reduction_keeps_the_migration_cpus_apart(path):
    s = spec.load(path)
    assert model.build(s).pinned_cpus == (0, 1)
    a = checker.explore(model.build(s))
    b = checker.explore(model.build(s), symmetry=False)
    assert a.verdict == b.verdict and set(a.violated) == set(b.violated)


def test_equivalent_migration_stays_safe_with_more_cpus():
    s = spec.load(SPECS / "mutants" / "eq-writer-migrates.toml").with_cpus(4)
    assert checker.explore(model.build(s)).verdict == Verdict.SAFE


@pytest.mark.parametrize("line,key,fragment", [
    ('ipi_to = "everyone"', "ipi_to", "valid: others, all, self, none"),
    ('ipi_waits_for_irqs_on = "sometimes"', "ipi_waits_for_irqs_on", "expected bool"),
    ('writer_waits_for_idle_cpu = "no"', "writer_waits_for_idle_cpu", "expected bool"),
    ("ipi_to = 3", "ipi_to", "expected str"),
])
def test_bad_knob_values_name_the_key_and_the_choices(line, key, fragment):
    with pytest.raises(spec.SpecError) as e:
        spec.loads(line + "\n" + BASE, "k.toml")
    assert e.value.key == key and fragment in str(e.value)


@pytest.mark.parametrize("value,fragment", [
    ("[7]", "writer[0] may migrate to CPU 7, but there are only 3 CPUs"),
    ('["1"]', "expected a list of CPU numbers"),
    ("[true]", "expected a list of CPU numbers"),
    ("[-1]", "expected a list of CPU numbers"),
    ("1", "expected list"),
])
def test_bad_migration_sets_are_refused(value, fragment):
    with pytest.raises(spec.SpecError) as e:
        spec.loads(BASE.replace("cpu = 0\n", f"cpu = 0\nmigrate = {value}\n"), "m.toml")
    assert fragment in str(e.value)


def test_cpus_override_checks_the_migration_set_too():
    s = spec.load(SPECS / "mutants" / "eq-writer-migrates.toml")
    with pytest.raises(spec.SpecError, match="may migrate to CPU 1, but there are only 1 CPUs"):
        s.with_cpus(1)


def test_knobs_live_in_the_model_not_in_the_engines():
    """No engine module mentions a knob by name: they all read guards and updates."""
    pkg = Path(spec.__file__).parent
    engines = [p for p in pkg.glob("*.py") if p.stem not in ("spec", "model", "cli", "mutants", "pytest_plugin")]
    for knob in list(spec.KNOBS) + ["migrate"]:
        uses = re.compile(rf"""(spec\.{knob}\b|\.migrate\b|["']{knob}["'])""")
        assert not [p.name for p in engines if uses.search(p.read_text())], knob


def test_an_engine_that_cannot_decide_the_broken_property_is_not_a_survivor():
    """Bounded model checking decides no liveness property: SAFE from it is no verdict on a deadlock.

    It becomes a survivor as soon as it claims to decide one of the broken properties."""
    from slabproof.results import PropertyResult

    s = spec.load(SPECS / "mutants" / "reader-never-reenables-irqs.toml")
    broken = s.expect.violates
    assert broken and set(broken) <= set(model.LIVENESS_PROPERTIES)  # the mutant breaks liveness only

    def bmc(decided: dict[str, bool]) -> EngineResult:
        return replace(_result("bmc", Verdict.SAFE), properties=(
            PropertyResult("no_use_after_free", "always", "", True),
            *(PropertyResult(p, "always", "", decided.get(p)) for p in broken)))

    bounded = bmc({})
    explicit = replace(_result("explicit", Verdict.VIOLATED), properties=tuple(
        PropertyResult(p, "always", "", False) for p in broken))
    o = SpecOutcome(s.path, s.name, 3, "violated", broken, (explicit, bounded), False)
    row = mutants.classify([s], [o]).rows[0]
    assert [c.status for c in row.cells] == [mutants.KILLED, mutants.NOT_SUPPORTED]
    assert row.status == mutants.CAUGHT
    alone = SpecOutcome(s.path, s.name, 3, "violated", broken, (bounded,), False)
    assert mutants.classify([s], [alone]).rows[0].status == mutants.ROW_UNDECIDED
    for p in broken:  # deciding any one broken property as holding is surviving the mutant
        claims = SpecOutcome(s.path, s.name, 3, "violated", broken, (explicit, bmc({p: True})), False)
        assert [c.status for c in mutants.classify([s], [claims]).rows[0].cells] == [mutants.KILLED,
                                                                                  mutants.SURVIVED], p


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_symmetry_reduction_agrees_with_the_full_search_under_any_knobs(data):
    """Knobs and migration sets must not break the CPU symmetry the explorer relies on."""
    d = data.draw(plausible_specs())
    d["cpus"] = 3
    d["expect"] = {"verdict": "safe"}
    created = {c["name"] for c in d["cache"] if c["boot"]}
    for w in d["writer"]:  # make the scripts valid: create first, tune after
        w["migrate"] = data.draw(st.lists(st.integers(0, 2), max_size=2))
        script = []
        for op in w["script"]:
            name = op.split()[1]
            script.append(("tune " if name in created else "create ") + name)
            created.add(name)
        w["script"] = script
    try:
        s = spec.loads(to_toml(d), "<knobs>")
    except spec.SpecError:  # an impossible step order, now and then
        return
    limits = checker.Limits(max_states=20_000)
    a = checker.explore(model.build(s), limits=limits)
    b = checker.explore(model.build(s), symmetry=False, limits=limits)
    if a.complete and b.complete:
        assert a.verdict == b.verdict and set(a.violated) == set(b.violated)
        assert set(a.witnessed) == set(b.witnessed)
