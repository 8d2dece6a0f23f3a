"""ruff (configured in pyproject.toml, [tool.ruff]) passes on the whole tree, so `python -m pytest` enforces it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed (pip install -e '.[test]')")
def test_ruff_clean() -> None:
    p = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed (pip install -e '.[test]')")
def test_ruff_flags_a_planted_violation(tmp_path: Path) -> None:
    # the configuration is the project's (pyproject.toml), and it does catch an unused import
    bad = tmp_path / "planted.py"
    bad.write_text("import os\n", encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
                        str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "F401" in p.stdout, p.stdout + p.stderr
