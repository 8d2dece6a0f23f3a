"""The Promela export: SPIN, run on the exported model, agrees with the explorer state for state.

The tests that run SPIN need `spin` and `gcc` (Debian: apt-get install spin gcc) and are skipped,
with that reason, without them.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.lang.expr import Ite, Op, Read
from slabproof.model import Property
from slabproof.report import promela

from .conftest import ROOT, SPECS, shipped
from .test_random_orders import specs as random_specs

HAVE_SPIN = shutil.which("spin") is not None
HAVE_GCC = shutil.which("gcc") is not None
needs_spin = pytest.mark.skipif(not HAVE_SPIN, reason="spin is not installed (Debian: apt-get install spin)")
needs_pan = pytest.mark.skipif(not (HAVE_SPIN and HAVE_GCC),
                               reason="spin and gcc are needed to build pan (Debian: apt-get install spin gcc)")


def system_of(name: str, cpus: int | None = None) -> model.System:
    s = spec.load(SPECS / name)
    return model.build(s.with_cpus(cpus) if cpus is not None else s)


def pan(m: promela.PromelaModel, work: Path, *defines: str) -> tuple[int, set[str]]:
    """(states stored, properties whose assertion failed) of an exhaustive pan run on `m`."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "m.pml").write_text(m.text)
    subprocess.run(["spin", "-o2", *defines, "-a", "m.pml"], cwd=work, check=True, capture_output=True, timeout=60)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-DNOREDUCE", "-o", "pan", "pan.c"], cwd=work, check=True,
                   capture_output=True, timeout=120)
    out = subprocess.run(["./pan", "-c0", "-m1000000", "-w18"], cwd=work, capture_output=True, text=True,
                         timeout=120).stdout
    assert "max search depth too small" not in out
    assert not [ln for ln in out.splitlines() if re.match(r"pan:\d+: ", ln) and "assertion violated" not in ln], out
    return int(re.search(r"(\d+) states, stored", out).group(1)), \
        {m.property_of(t) for t in re.findall(r"assertion violated (\S+)", out)}


def explorer(system: model.System) -> tuple[int, set[str]]:
    """(states without symmetry, violated exported safety properties) of the explorer."""
    r = checker.explore(system, symmetry=False)
    assert r.complete
    return r.states, {p.name for p in r.properties
                      if p.kind == "always" and p.holds is False and p.name not in promela.NOT_EXPORTED}


# ---------------------------------------------------------------------------
# the text


def test_one_transition_per_action_instance_and_one_assertion_per_safety_property():
    system = system_of("reapers-if-prev-3cpu.toml")
    m = promela.export(system)
    want = sum(1 if a.actor == "writer" else system.ncpus for a in system.actions)
    assert m.transitions == want
    assert m.text.count(":: d_step {") == want + sum(1 for p in system.properties)
    assert [n for _, n in m.assertions] == [p.name for p in system.properties if p.kind == "always"]
    assert [n for _, n in m.witnesses] == [p.name for p in system.properties if p.kind == "sometimes"]
    for tag, name in m.assertions:
        assert f"assert({tag})" in m.text and m.property_of(tag) == name
    assert "writer_terminates" in m.text.split("*/")[0]  # the header says what is not exported


def test_the_translation_does_not_depend_on_the_spec_name(tmp_path):
    text = (SPECS / "memcg-if-prev-2cpu.toml").read_text()
    a = promela.export(model.build(spec.loads(text, "a.toml"))).text
    b = promela.export(model.build(spec.loads(text, "some/other-name.toml"))).text
    body = lambda t: t.split("*/", 1)[1]  # noqa: E731 - everything after the header comment
    assert body(a) == body(b)
    assert "other-name" not in body(b)


@needs_spin
def test_spin_parses_the_export_of_every_shipped_spec(tmp_path):
    for path in shipped():
        s = spec.load(path)
        m = promela.export(model.build(s.with_cpus(min(s.cpus, 3))))
        f = tmp_path / f"{path.stem}.pml"
        f.write_text(m.text)
        for defines in ((), ("-DWITNESSES",)):
            p = subprocess.run(["spin", *defines, "-a", f.name], cwd=tmp_path, capture_output=True, text=True,
                               timeout=60)
            assert p.returncode == 0 and "error" not in p.stdout.lower(), (path.name, p.stdout, p.stderr)


# ---------------------------------------------------------------------------
# SPIN's verdicts and state counts


@needs_pan
@pytest.mark.parametrize("name,cpus", [
    ("memcg-if-prev-2cpu.toml", None),  # safe
    ("memcg-never-2cpu.toml", None),  # violated: use after free, access after drain
    ("whatif-publish-before-alloc.toml", 2),  # violated: fresh_unreachable too
    ("whatif-deadlock-state-property.toml", 2),  # a spec's own [[property]]
])
def test_spin_agrees_with_the_explorer_state_for_state(name, cpus, tmp_path):
    system = system_of(name, cpus)
    states, violated = explorer(system)
    assert (states, violated) == pan(promela.export(system), tmp_path)


@needs_pan
def test_witnesses_with_dWITNESSES(tmp_path):
    system = system_of("memcg-if-prev-2cpu.toml")
    r = checker.explore(system, symmetry=False)
    witnessed = {p.name for p in r.properties if p.kind == "sometimes" and p.holds}
    assert witnessed == {"reader_holds_prev_at_publish"}
    states, found = pan(promela.export(system), tmp_path, "-DWITNESSES")
    assert states == r.states and found == witnessed


@needs_pan
def test_and_or_keep_the_explorers_value_semantics(tmp_path):
    """`a and b` is b's value when a is not 0 (Python's), not C's 0/1: a property true in every state
    with Python's meaning, false with C's whenever slab_mutex != 0 and writer_pc[0] > 1."""
    system = system_of("memcg-if-prev-2cpu.toml")
    m, w = Read(system.families["slab_mutex"]), Read(system.families["writer_pc"], 0)
    same = [Op("eq", (Op("and", (m, w)), Ite(m != 0, w, 0))), Op("eq", (Op("or", (w, m)), Ite(w != 0, w, m)))]
    # (the model's own properties stay: they read every variable, and SPIN drops a variable nobody reads)
    system = dataclasses.replace(system, properties=system.properties + [
        Property(f"p{i}", "always", e, "") for i, e in enumerate(same)])
    assert (984, set()) == explorer(system) == pan(promela.export(system), tmp_path)


@needs_pan
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(random_specs)
def test_random_step_orders_spin_agrees(tmp_path, text):
    system = model.build(spec.loads(text, "<random>"))
    r = checker.explore(system, symmetry=False, limits=checker.Limits(max_states=100_000))
    if not r.complete:
        return
    m = promela.export(system)
    work = tmp_path / f"r{abs(hash(text))}"
    states, violated = pan(m, work)
    assert states == r.states
    assert violated == {p.name for p in r.properties
                        if p.kind == "always" and p.holds is False and p.name not in promela.NOT_EXPORTED}


# ---------------------------------------------------------------------------
# the command


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slabproof", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_export_writes_the_file_and_stdout_gets_the_same_text(tmp_path):
    out = tmp_path / "m.pml"
    f = str(SPECS / "cache-if-prev-2cpu.toml")
    p = run("export", "--promela", f, "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"wrote {out}:")
    q = run("export", "--promela", f)
    assert q.returncode == 0 and q.stdout == out.read_text()
    assert [x.name for x in tmp_path.iterdir()] == ["m.pml"]  # no temporary file left over
    r = run("export", "--promela", f, "--cpus", "3")
    assert "3 CPUs" in r.stdout.splitlines()[0] and "pc[3]" in r.stdout


@pytest.mark.parametrize("args,needle", [
    (("export", "--promela", "nope.toml"), "nope.toml: no such file"),
    (("export", str(SPECS / "cache-if-prev-2cpu.toml")), "--promela"),
    (("export", "--promela", str(SPECS / "cache-if-prev-2cpu.toml"), "--cpus", "9"), "--cpus"),
    (("export", "--promela", str(SPECS / "cache-if-prev-2cpu.toml"), "-o", "/nonexistent-dir/m.pml"), "no directory"),
])
def test_export_bad_input_exits_2_with_one_line(args, needle):
    p = run(*args)
    assert p.returncode == 2
    assert p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and needle in p.stderr, p.stderr


def test_write_atomic_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    out = tmp_path / "m.pml"
    out.write_text("old")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(promela.os, "replace", boom)
    with pytest.raises(OSError):
        promela.write_atomic(out, "new")
    assert out.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["m.pml"]


def swapping(system: model.System) -> model.System:
    """`system` with one more step, writer 0's first alternative: swap two kmem_caches' cpu_cache
    (parallel assignment: each right-hand side is read in the pre-state)."""
    from slabproof.lang.expr import Assign

    f, w = system.families["cpu_cache"], system.families["writer_pc"]
    swap = model.Action("swap", "writer", Read(w, 0) == 0,
                        (Assign(f, 0, Read(f, 1)), Assign(f, 1, Read(f, 0))), writer=0, pc=0)
    return dataclasses.replace(system, actions=system.actions + [swap])


@needs_pan
def test_updates_are_parallel_assignments(tmp_path):
    system = swapping(system_of("memcg-if-prev-2cpu.toml"))
    m = promela.export(system)
    assert "tmp0 = cpu_cache_0" in m.text  # the second right-hand side reads the pre-state
    assert explorer(system) == pan(m, tmp_path)
