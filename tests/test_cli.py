"""The command line: exit statuses, one-line errors naming file and key, JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from slabproof.cli import main

from .conftest import ROOT, SPECS

GOOD = (SPECS / "cache-if-prev-2cpu.toml").read_text()


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slabproof", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_check_named_safe_spec_exits_0_and_prints_table():
    p = run("check", str(SPECS / "cache-if-prev-2cpu.toml"))
    assert p.returncode == 0, p.stderr
    assert "cache-if-prev-2cpu" in p.stdout
    assert "safe" in p.stdout
    assert "1 of 1 specs match" in p.stdout


def test_check_violated_spec_prints_counterexample_ending_with_the_property():
    p = run("check", str(SPECS / "memcg-never-2cpu.toml"))
    assert p.returncode == 0, p.stderr
    assert "Counterexample for no_access_after_drain" in p.stdout
    assert "no_access_after_drain is violated" in p.stdout
    for fn in ("publish_cpu_cache", "free_block", "cpu_cache_get", "ac_access"):
        assert fn in p.stdout


def test_mismatch_exits_1(tmp_path):
    f = tmp_path / "wrong.toml"
    f.write_text(GOOD.replace('ipi = "if-prev"', 'ipi = "never"'))
    p = run("check", str(f))
    assert p.returncode == 1
    assert "MISMATCH" in p.stdout


@pytest.mark.parametrize(
    "edit,key,fragment",
    [
        (lambda t: t.replace("cpus = 2", "cpus = = 2"), "", "TOML syntax error"),
        (lambda t: "colour = 1\n" + t, "colour", "unknown key; valid:"),
        (lambda t: t + "\ncolour = 1\n", "expect.colour", "unknown key; valid: verdict"),
        (lambda t: t.replace("cpus = 2", "cpus = 0"), "cpus", "0 CPUs is impossible"),
        (lambda t: t.replace('ipi = "if-prev"', 'ipi = "sometimes"'), "ipi", "valid: always, if-prev, never, if-no-prev"),
        (lambda t: t.replace('"create dentry", ', ""), "writer[0].script", "never created"),
        (lambda t: t + '\n[steps]\ntune = ["mutex_lock", "alloc_kmem_cache_cpus", "load_prev"]\n', "steps.tune",
         "publish_cpu_cache"),
        (lambda t: t + '\n[steps]\nreader = ["local_irq_save", "cpu_cache_gte"]\n', "steps.reader",
         "unknown step 'cpu_cache_gte'"),
        (lambda t: t.replace('verdict = "safe"', 'verdict = "fine"'), "expect.verdict", "valid: safe, violated"),
        (lambda t: t.replace("cpu = 0", "cpu = 5"), "cpus", "writer[0] runs on CPU 5"),
        (lambda t: t.replace('name = "dentry"', 'name = "dentry"\nsize = 3'), "cache[0].size", "unknown key"),
    ],
)
def test_bad_spec_gives_one_line_naming_file_and_key_and_exit_2(tmp_path, edit, key, fragment):
    f = tmp_path / "bad.toml"
    f.write_text(edit(GOOD))
    out = tmp_path / "out.json"
    p = run("check", str(f), "--json")
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stdout == ""  # nothing written half-way
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert str(f) in lines[0]
    if key:
        assert f": {key}:" in lines[0]
    assert fragment in lines[0]
    assert not out.exists()


def test_bad_spec_among_good_ones_stops_before_anything_runs(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text(GOOD.replace("cpus = 2", "cpus = -1"))
    p = run("check", str(SPECS / "cache-if-prev-2cpu.toml"), str(f))
    assert p.returncode == 2
    assert p.stdout == ""


def test_missing_file_and_bad_options_exit_2(tmp_path):
    p = run("check", str(tmp_path / "nope.toml"))
    assert p.returncode == 2 and "nope.toml: no such file" in p.stderr
    p = run("check", "--cpus", "0", str(SPECS / "cache-if-prev-2cpu.toml"))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    p = run("check", "--engine", "magic", str(SPECS / "cache-if-prev-2cpu.toml"))
    assert p.returncode == 2 and "unknown engine 'magic'" in p.stderr
    p = run("check", "--cpus", "99", str(SPECS / "cache-if-prev-2cpu.toml"))
    assert p.returncode == 2 and "99 CPUs is impossible" in p.stderr


def test_no_specs_directory_is_bad_input(tmp_path):
    p = run("check", cwd=tmp_path)
    assert p.returncode == 2
    assert "no specs/ directory" in p.stderr


def test_cpus_override_changes_the_configuration():
    assert main(["check", "--cpus", "3", "--json", str(SPECS / "cache-if-prev-2cpu.toml")]) == 0


def test_json_is_complete_and_parseable(capsys):
    status = main(["check", "--json", str(SPECS / "memcg-never-2cpu.toml"), str(SPECS / "memcg-if-prev-2cpu.toml")])
    assert status == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == 1 and doc["exit_status"] == 0
    never, prev = doc["specs"]
    e = never["engines"][0]
    assert e["verdict"] == "violated"
    assert set(e["violated"]) == {"no_use_after_free", "no_access_after_drain"}
    props = {p["name"]: p for p in e["properties"]}
    steps = props["no_use_after_free"]["trace"]["steps"]
    assert steps[-1]["violating"] and steps[-1]["step"] == "ac_access"
    assert all({"index", "actor", "column", "step", "function", "text", "state"} <= set(s) for s in steps)
    assert prev["engines"][0]["verdict"] == "safe"
    assert prev["matches"] is True


def test_state_limit_gives_unknown_not_safe(capsys):
    status = main(["check", "--json", "--max-states", "50", str(SPECS / "memcg-if-prev-2cpu.toml")])
    doc = json.loads(capsys.readouterr().out)
    e = doc["specs"][0]["engines"][0]
    assert e["verdict"] == "unknown"
    assert "state limit" in e["reason"]
    assert status == 4


def test_check_without_arguments_checks_every_shipped_spec(capsys, monkeypatch, shared_explorations):
    monkeypatch.chdir(ROOT)
    status = main(["check", "--engine", "explicit", "--traces", "none"])
    out = capsys.readouterr().out
    assert status == 0, out[-2000:]
    n = len(list(SPECS.glob("*.toml")))
    assert f"{n} of {n} specs match" in out
