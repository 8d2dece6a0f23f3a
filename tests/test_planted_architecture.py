"""Each layer contract can fail: a forbidden import (or a print) planted in a temporary copy of the package
is reported by the contract that forbids it, naming the file and line, and by no contract on the real tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.archcheck import CONTRACTS, ImportGraph

ROOT = Path(__file__).resolve().parent.parent

# (contract, file to plant in, line appended to it)
PLANTS = [
    ("engines never import each other", "slabproof/z3/bmc.py", "from slabproof import checker"),
    ("engines never import each other", "slabproof/checker.py", "def f():\n    from slabproof.z3 import induction"),
    ("engines never import each other", "slabproof/z3/param.py", "from slabproof.z3.recheck import recheck"),
    # through the shared infrastructure: symbolic is no engine, but bmc reaching recheck through it is
    ("engines never import each other", "slabproof/z3/symbolic.py", "import slabproof.z3.recheck"),
    ("the model imports neither z3 nor networkx nor an engine, runner or report", "slabproof/model.py", "import z3"),
    ("the model imports neither z3 nor networkx nor an engine, runner or report", "slabproof/lang/expr.py",
     "import networkx as nx"),
    ("the model imports neither z3 nor networkx nor an engine, runner or report", "slabproof/lang/spec.py",
     "from slabproof.report import text"),
    ("the model imports neither z3 nor networkx nor an engine, runner or report", "slabproof/lang/propexpr.py",
     "def f():\n    from slabproof.run import runner"),
    ("reports import no engine and no runner", "slabproof/report/html.py", "from slabproof.run.runner import decide"),
    ("reports import no engine and no runner", "slabproof/report/junit.py", "from slabproof.checker import explore"),
    ("reports import no engine and no runner", "slabproof/report/text.py", "from slabproof.run import explain"),
    ("results.py imports no other slabproof module", "slabproof/results.py", "from slabproof.lang.spec import Spec"),
    ("no import cycles", "slabproof/lang/expr.py", "from slabproof.model import System"),
    ("no import cycles", "slabproof/results.py", "def f():\n    from slabproof.report import text"),
    ("only the CLI prints", "slabproof/run/runner.py", "def f():\n    print('hello')"),
    ("only the CLI prints", "slabproof/report/text.py", "def f(console):\n    console.print('x')"),
    ("only the CLI prints", "slabproof/z3/houdini.py", "import sys\nsys.stderr.write('x')"),
]


def plant(tmp_path: Path, rel: str, line: str) -> ImportGraph:
    shutil.copytree(ROOT / "slabproof", tmp_path / "slabproof", ignore=shutil.ignore_patterns("__pycache__"))
    f = tmp_path / rel
    f.write_text(f.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")
    return ImportGraph.read(tmp_path)


@pytest.mark.parametrize(("contract", "rel", "line"), PLANTS, ids=[f"{c.split()[0]}-{r}" for c, r, _ in PLANTS])
def test_planted_violation_is_flagged(tmp_path: Path, contract: str, rel: str, line: str) -> None:
    g = plant(tmp_path, rel, line)
    found = CONTRACTS[contract](g)
    assert found, f"{contract!r} missed a plant in {rel}: {line!r}"
    assert any(rel in v for v in found), found  # the message names the file


def test_type_checking_import_is_not_a_violation(tmp_path: Path) -> None:
    # an annotation-only import never runs: the model may name an engine's type
    g = plant(tmp_path, "slabproof/model.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from slabproof.checker import Compiled")
    assert not CONTRACTS["the model imports neither z3 nor networkx nor an engine, runner or report"](g)


def test_every_contract_has_a_plant() -> None:
    assert {c for c, _, _ in PLANTS} == set(CONTRACTS)
