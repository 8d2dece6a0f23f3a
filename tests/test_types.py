"""mypy --strict (configuration: pyproject.toml [tool.mypy], z3 stubs in stubs/z3) on the package: the modules in
STRICT_CLEAN have no error. The others are checked with the same strict settings but not yet clean; their
error counts are in ARCHITECTURE.md ("Contracts"). A module joins STRICT_CLEAN once it has no error."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STRICT_CLEAN = (
    "slabproof/__init__.py", "slabproof/__main__.py", "slabproof/results.py", "slabproof/model.py",
    "slabproof/lang/__init__.py", "slabproof/lang/expr.py", "slabproof/lang/propexpr.py", "slabproof/lang/spec.py",
    "slabproof/report/__init__.py", "slabproof/report/graph.py", "slabproof/report/html.py",
    "slabproof/report/junit.py", "slabproof/report/mermaid.py", "slabproof/report/outputs.py",
    "slabproof/report/progress.py", "slabproof/report/promela.py", "slabproof/report/teach.py",
    "slabproof/report/text.py", "slabproof/run/__init__.py", "slabproof/run/engines.py", "slabproof/run/signals.py",
    "slabproof/run/ipis.py", "slabproof/run/runner.py", "slabproof/cli.py", "slabproof/pytest_plugin.py",
    "slabproof/run/mutants.py", "slabproof/z3/__init__.py", "slabproof/z3/bmc.py", "slabproof/z3/induction.py",
    "slabproof/z3/param.py", "slabproof/z3/recheck.py",
)

needs_mypy = pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                                reason="mypy is not installed (pip install -e '.[test]')")


def _errors(*args: str) -> tuple[Counter[str], str]:
    p = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--no-error-summary", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=280)
    counts = Counter(m.group(1) for m in re.finditer(r"^(\S+?\.pyi?):\d+: error:", p.stdout, re.M))
    return counts, p.stdout


@needs_mypy
def test_strict_clean_modules_have_no_mypy_error() -> None:
    counts, out = _errors()  # the package, as configured: files = ["slabproof"], strict
    for m in STRICT_CLEAN:
        assert (ROOT / m).exists(), m
    bad = {m: n for m, n in counts.items() if m in STRICT_CLEAN}
    lines = [ln for ln in out.splitlines() if ln.split(":")[0] in bad]
    assert not bad, "mypy --strict errors in modules that were clean:\n" + "\n".join(lines)


@needs_mypy
def test_mypy_flags_a_planted_error(tmp_path: Path) -> None:
    # the configuration is strict (an unannotated function is an error) and the z3 stubs are read (a wrong type)
    f = tmp_path / "planted.py"
    f.write_text("import z3\n\ndef f(x):\n    return x\n\nn: int = z3.Bool('b')\n", encoding="utf-8")
    counts, out = _errors("--config-file", str(ROOT / "pyproject.toml"), str(f))
    assert counts[str(f)] == 2, out
    assert "no-untyped-def" in out and "Incompatible types in assignment" in out, out
