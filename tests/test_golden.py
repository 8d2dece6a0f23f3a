"""Golden files: the counterexample table and the --json document of one spec (memcg-never-2cpu, explicit engine),
pinned in tests/golden/*.expect with the times masked. A report that changes shows up here as a diff.

Refresh after an intended change, then review the diff:
    SLABPROOF_REFRESH_GOLDEN=1 python -m pytest -n 0 -q tests/test_golden.py && git diff tests/golden
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from slabproof.lang.spec import load
from slabproof.report import text as report
from slabproof.results import SpecOutcome
from slabproof.run import runner

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SPEC = ROOT / "specs" / "memcg-never-2cpu.toml"
REFRESH = os.environ.get("SLABPROOF_REFRESH_GOLDEN") == "1"
MASKED_KEYS = ("seconds", "time", "elapsed")  # wall-clock figures: the only thing that may differ between runs


@pytest.fixture(scope="module")
def outcome() -> SpecOutcome:
    return runner.run_spec(load(str(SPEC)), runner.RunOptions(engines=("explicit",)))


def masked(doc: Any) -> Any:
    """`doc` with every wall-clock value replaced by "<masked>" (and the spec's path made relative)."""
    if isinstance(doc, dict):
        return {k: "<masked>" if k in MASKED_KEYS and isinstance(v, (int, float)) else masked(v)
                for k, v in doc.items()}
    if isinstance(doc, list):
        return [masked(v) for v in doc]
    if isinstance(doc, str) and doc.startswith(str(ROOT)):
        return os.path.relpath(doc, ROOT)
    return doc


def compare(name: str, got: str) -> None:
    f = GOLDEN / name
    if REFRESH:
        f.write_text(got, encoding="utf-8")
    assert f.exists(), f"{f} missing: refresh with SLABPROOF_REFRESH_GOLDEN=1 (see this file's docstring)"
    assert got == f.read_text(encoding="utf-8"), (
        f"{name} differs from the golden file; if intended: SLABPROOF_REFRESH_GOLDEN=1 python -m pytest -n 0 "
        f"tests/test_golden.py, then review git diff tests/golden")


def test_counterexample_table(outcome: SpecOutcome) -> None:
    (r,) = outcome.results
    cex = sorted((p.trace for p in r.properties if p.trace is not None and p.trace.kind == "counterexample"),
                 key=lambda t: t.length)
    assert cex, "memcg-never-2cpu has a counterexample"
    # the CLI's console when standard output is not a terminal
    console = Console(width=200, no_color=True, soft_wrap=False, highlight=False, record=True, file=io.StringIO())
    console.print(report.trace_table(cex[0], report.lanes_for(r, len(load(str(SPEC)).writers))))
    compare("memcg-never-2cpu.cex.expect", console.export_text())


def test_json(outcome: SpecOutcome) -> None:
    doc = json.loads(report.to_json([outcome], runner.exit_status([outcome])))
    compare("memcg-never-2cpu.json.expect", json.dumps(masked(doc), indent=2) + "\n")


def test_masking_hides_only_times() -> None:
    doc = {"seconds": 1.5, "states": 7, "nested": [{"time": 2}], "spec": str(SPEC), "name": "seconds"}
    assert masked(doc) == {"seconds": "<masked>", "states": 7, "nested": [{"time": "<masked>"}],
                           "spec": "specs/memcg-never-2cpu.toml", "name": "seconds"}
