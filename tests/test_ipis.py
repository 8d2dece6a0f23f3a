"""The commit's experiment in the model: counts come from running the model's actions."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from slabproof import model
from slabproof.report import teach as teach_report
from slabproof.run import ipis

from .conftest import ROOT


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slabproof", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_before_the_patch_every_creation_kicks_every_other_cpu():
    r = ipis.run_workload("always", cpus=4, memcgs=3, caches=2)
    assert (r.creates, r.kicks, r.skipped_kicks) == (6, 6, 0)
    assert r.sent == 6 * 3
    assert r.writer_cpu == 1 and r.received == (6, 0, 6, 6)  # the writer's own CPU gets none
    assert r.received_cpu0 == 6 and r.chunks == 3


def test_with_the_patch_no_creation_kicks():
    r = ipis.run_workload("if-prev", cpus=4, memcgs=3, caches=2)
    assert (r.creates, r.kicks, r.skipped_kicks, r.sent) == (6, 0, 6, 0)
    assert r.received == (0, 0, 0, 0)


def test_counts_follow_the_models_condition():
    """The inverted condition kicks exactly when prev is NULL -- on every creation -- and never kicks none."""
    inverted = ipis.run_workload("if-no-prev", cpus=3, memcgs=2, caches=2)
    always = ipis.run_workload("always", cpus=3, memcgs=2, caches=2)
    assert replace(inverted, condition="always") == always
    assert ipis.run_workload("never", cpus=3, memcgs=2, caches=2).sent == 0


def test_a_writer_on_cpu0_sends_cpu0_nothing_and_one_cpu_sends_nothing():
    r = ipis.run_workload("always", cpus=3, memcgs=2, caches=1, writer_cpu=0)
    assert r.received == (0, 2, 2) and r.sent == 4
    solo = ipis.run_workload("always", cpus=1, memcgs=2, caches=1)
    assert (solo.kicks, solo.sent, solo.received) == (2, 0, (0,))


def test_chunking_changes_nothing_but_the_number_of_runs():
    one = ipis.run_workload("always", cpus=3, memcgs=5, caches=2, chunk=1)
    three = ipis.run_workload("always", cpus=3, memcgs=5, caches=2, chunk=3)
    assert replace(one, chunks=0) == replace(three, chunks=0)
    assert (one.chunks, three.chunks) == (5, 2)


def test_the_run_uses_the_models_actions(monkeypatch):
    """Change the model's kick condition and the counts change with it: nothing is a formula."""
    real = model._Builder.kick_condition

    def flipped(self, prev):
        cond, why = real(self, prev)
        return (model.Not(cond), why) if self.spec.ipi == "if-prev" else (cond, why)

    monkeypatch.setattr(model._Builder, "kick_condition", flipped)
    r = ipis.run_workload("if-prev", cpus=4, memcgs=2, caches=1)
    assert r.kicks == 2 and r.sent == 6


def test_workload_spec_is_checked():
    with pytest.raises(ValueError, match="valid: 1 to 8 CPUs"):
        ipis.workload_spec(9, 1, 1, "always", 0)
    with pytest.raises(ValueError, match="unknown IPI condition"):
        ipis.workload_spec(2, 1, 1, "sometimes", 0)
    s = ipis.workload_spec(2, 2, 3, "always", 1)
    assert len(s.caches) == 3 + 6 and len(s.writers[0].script) == 6


def test_experiment_and_its_reports(tmp_path):
    e = ipis.experiment(3, 20, 1, cpu_range=range(2, 5))
    assert [r.condition for r in e.table] == ["always", "if-prev"]
    assert e.table[0].received_cpu0 == 20 and e.table[1].received_cpu0 == 0
    assert [r.cpus for r in e.by_cpus if r.condition == "always"] == [2, 3, 4]
    assert [r.sent for r in e.by_cpus if r.condition == "always"] == [20, 40, 60]
    assert [r.memcgs for r in e.by_memcgs if r.condition == "always"] == [1, 10, 20]
    out = tmp_path / "p.png"
    teach_report.plot_png(e, str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_ipis_table_names_its_sources(tmp_path):
    png = tmp_path / "ipis.png"
    p = run("ipis", "--cpus", "3", "--memcgs", "50", "--caches", "2", "--png", str(png))
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "+47,741" in out and "+101" in out  # the commit's figures, in their own column
    assert "+100" in out and "200" in out  # the model's: 100 creations reach CPU 0; 200 IPIs sent
    assert "Model figures:" in out and "Commit figures: from the commit message only" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_ipis_json_and_bad_input(tmp_path):
    p = run("ipis", "--cpus", "2", "--memcgs", "5", "--json", "--no-png", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["commit"] == {"memcgs": 10000, "cpu0": {"always": 47741, "if-prev": 101}}
    assert [(r["condition"], r["sent"]) for r in doc["table"]] == [("always", 5), ("if-prev", 0)]
    assert not list(tmp_path.iterdir())  # --no-png wrote nothing
    for args, needle in ((("--cpus", "9"), "valid: 1 to 8"), (("--cpus", "3", "--writer-cpu", "3"), "valid: 0 to 2")):
        bad = run("ipis", *args, "--no-png", cwd=tmp_path)
        assert bad.returncode == 2 and needle in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
