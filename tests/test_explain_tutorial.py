"""docs/tutorial.md and docs/reading-a-counterexample.md stay true to slabproof's output.

Every ``$ python -m slabproof ...`` block in the tutorial is run again; the
lines of the pasted output that carry a verdict or a count (not tables,
whose layout may change) must appear in the fresh output, times aside.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

DOCS = ROOT / "docs"
TUTORIAL = DOCS / "tutorial.md"
READING = DOCS / "reading-a-counterexample.md"
MARKERS = ("specs match their expectation", "claims confirmed", "states (CPU symmetry reduced)",
           "IPIs sent per operation", "is violated", "  CONFIRMED  ", "wrote ", "before the patch │",
           "patched          │")


def fences(text: str) -> list[tuple[str, list[str]]]:
    """(info string, lines) of every fenced code block."""
    out: list[tuple[str, list[str]]] = []
    cur: list[str] | None = None
    info = ""
    for line in text.split("\n"):
        if cur is None and line.startswith("```"):
            cur, info = [], line[3:].strip()
        elif cur is not None and line == "```":
            out.append((info, cur))
            cur = None
        elif cur is not None:
            cur.append(line)
    return out


def blocks(text: str) -> list[tuple[str, list[str]]]:
    """(command, output lines) for every `$ python -m slabproof` block; plain blocks after one continue it."""
    out: list[tuple[str, list[str]]] = []
    for info, lines in fences(text):
        if info:
            continue
        if lines and lines[0].startswith("$ python -m slabproof "):
            out.append((lines[0][len("$ python -m slabproof "):], lines[1:]))
        elif out:
            out[-1][1].extend(lines)
    return [(c, ls) for c, ls in out if ls]


def norm(line: str) -> str:
    return re.sub(r"\d+\.\d+s", "<t>", line).rstrip()


def run_in(tmp: Path, args: list[str]) -> subprocess.CompletedProcess:
    for d in ("specs", "docs"):
        if not (tmp / d).exists():
            (tmp / d).symlink_to(ROOT / d)
    return subprocess.run([sys.executable, "-m", "slabproof", *args], cwd=tmp, capture_output=True, text=True,
                          timeout=600)


CASES = blocks(TUTORIAL.read_text())


def test_the_tutorial_runs_commands():
    cmds = [c for c, _ in CASES]
    assert any(c.startswith("check ") for c in cmds) and any(c.startswith("explain") for c in cmds)
    assert any(c.startswith("graph ") for c in cmds) and any(c.startswith("ipis") for c in cmds)


@pytest.mark.parametrize("cmd,pasted", CASES, ids=[c for c, _ in CASES])
def test_pasted_output_is_current(cmd, pasted, tmp_path):
    args = cmd.split()
    if args[0] == "ipis":  # the plot's sweep is slow and draws nothing we compare
        args = [a for a in args if not a.endswith(".png") and a != "--png"] + ["--no-png"]
    p = run_in(tmp_path, args)
    assert p.returncode in (0, 1), p.stderr
    fresh = {norm(ln) for ln in (p.stdout + p.stderr).splitlines()}
    checked = [norm(ln) for ln in pasted if any(m in ln for m in MARKERS)]
    if args[0] == "ipis":
        checked = [ln for ln in checked if not ln.startswith("wrote")]
    assert checked, f"nothing to compare in the block of {cmd!r}"
    stale = [ln for ln in checked if ln not in fresh]
    assert not stale, f"docs/tutorial.md is stale for {cmd!r}: rerun it and paste the output:\n" + "\n".join(stale)


def test_the_mermaid_diagram_is_current(tmp_path):
    text = TUTORIAL.read_text()
    diagram = "\n".join(next(ls for info, ls in fences(text) if info == "mermaid")) + "\n"
    p = run_in(tmp_path, ["check", "specs/memcg-never-3cpu.toml", "--property", "no_use_after_free", "--mermaid"])
    assert p.returncode == 0, p.stderr
    assert p.stdout == diagram


def test_the_tutorials_what_if_spec_matches_its_expectation():
    p = subprocess.run([sys.executable, "-m", "slabproof", "check", "docs/examples/whatif-load-before-irq-save.toml",
                        "--traces", "none"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("doc", [TUTORIAL, READING], ids=lambda d: d.name)
def test_relative_links_resolve(doc):
    for target in re.findall(r"\]\(([^)#:]+)\)", doc.read_text()):
        assert (doc.parent / target).exists(), target


def test_reading_a_counterexample_quotes_a_current_trace(tmp_path):
    text = READING.read_text()
    body = re.search(r"```\n(\$ python -m slabproof .*?)```", text, re.S).group(1).splitlines()
    p = run_in(tmp_path, body[0][len("$ python -m slabproof "):].split())
    fresh = {ln.rstrip() for ln in p.stdout.splitlines()}
    for ln in body[2:]:
        assert ln.rstrip() in fresh, ln
