"""Determinism: the same spec gives the same verdict, counts and counterexample on every run,
under any PYTHONHASHSEED (subprocesses), and the same error message for the same bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from hypothesis import HealthCheck, given, settings

from slabproof import checker, model
from slabproof.lang import spec

from .conftest import ROOT, SPECS
from .test_fuzz import plausible_specs, to_toml

SEEDS = ("0", "1", "4242", "2147483647")
EXPLICIT = [  # a counterexample, a witness, two writers, reapers, a migrating writer, a deadlock
    SPECS / "memcg-never-3cpu.toml",
    SPECS / "memcg-if-prev-3cpu.toml",
    SPECS / "two-writers-mutex-3cpu.toml",
    SPECS / "reapers-if-prev-3cpu.toml",
    SPECS / "mutants" / "eq-writer-migrates.toml",
    SPECS / "mutants" / "reader-never-reenables-irqs.toml",
]
ALL_ENGINES = [SPECS / "cache-never-2cpu.toml", SPECS / "cache-if-prev-2cpu.toml"]


def _timeless(x: Any) -> Any:
    """`x` without wall-clock figures, the only thing allowed to vary between runs."""
    if isinstance(x, dict):
        return {k: _timeless(v) for k, v in x.items() if k not in ("seconds", "time", "elapsed")}
    if isinstance(x, list):
        return [_timeless(v) for v in x]
    return x


def _run(seed: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    return subprocess.run([sys.executable, "-m", "slabproof", "check", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


def test_json_is_identical_under_every_hash_seed():
    docs = []
    for seed in SEEDS:
        p = _run(seed, "--json", "--engine", "explicit", *map(str, EXPLICIT))
        assert p.returncode == 0, p.stderr
        docs.append(_timeless(json.loads(p.stdout)))
    assert all(d == docs[0] for d in docs[1:])
    traces = [pr["trace"] for s in docs[0]["specs"] for e in s["engines"] for pr in e["properties"] if pr["trace"]]
    assert len(traces) >= 3  # the comparison covered counterexamples and witnesses, step by step


def test_every_engine_is_deterministic_too():
    docs = []
    for seed in SEEDS[:2]:
        p = _run(seed, "--json", *map(str, ALL_ENGINES))
        docs.append(_timeless(json.loads(p.stdout)))
        assert docs[-1]["exit_status"] == p.returncode
    assert docs[0] == docs[1]


def test_the_same_bad_spec_gives_the_same_message_under_every_seed(tmp_path):
    f = tmp_path / "dups.toml"
    f.write_text((SPECS / "cache-if-prev-2cpu.toml").read_text() + '\n[steps]\ntune = ["mutex_lock", "load_prev", '
                 '"publish_cpu_cache", "load_prev", "alloc_kmem_cache_cpus", "mutex_lock"]\n')
    errs = {_run(seed, str(f)).stderr for seed in SEEDS}
    assert len(errs) == 1
    assert "'mutex_lock' appears 2 times" in errs.pop()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plausible_specs())
def test_two_explorations_of_one_spec_are_identical(d):
    try:
        s = spec.loads(to_toml(d), "<random>")
    except spec.SpecError:
        return
    limits = checker.Limits(max_states=2000)
    a = checker.explore(model.build(s), limits=limits)
    b = checker.explore(model.build(s), limits=limits)
    assert _timeless(a.to_json()) == _timeless(b.to_json())
