"""README.md, docs/tutorial.md and docs/reading-a-counterexample.md stay true to slabproof's output.

Every ``$ python -m slabproof ...`` block of README.md and the tutorial is run again and its pasted
output compared in full, after the masks of tests/docs_blocks.py (times, rates) -- so any change to the
output fails here. To paste the current output: ``python -m tests.refresh_docs`` (then review the diff).
Plain blocks that quote part of a command's output: their lines that carry a verdict or a count
(`MARKERS`) must appear in that output. Every command line of the
README's "Using it" list runs, with the file it names, and exits 0.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from . import docs_blocks
from .conftest import ROOT

DOCS = ROOT / "docs"
TUTORIAL = DOCS / "tutorial.md"
README = ROOT / "README.md"
READING = DOCS / "reading-a-counterexample.md"


def fences(text: str) -> list[tuple[str, list[str]]]:
    """(info string, lines) of every fenced code block."""
    lines = text.split("\n")
    return [(info, lines[a:b]) for info, a, b in docs_blocks.fences(lines)]


def run_in(tmp: Path, args: list[str], width: int = docs_blocks.WIDTH) -> subprocess.CompletedProcess:
    return docs_blocks.run(" ".join(args), tmp, width)


CASES = [(doc, b) for doc in (README, TUTORIAL) for b in docs_blocks.blocks(doc)]
IDS = [f"{doc.name}:{b.command}" for doc, b in CASES]


def test_the_docs_run_commands():
    cmds = [b.command for doc, b in CASES if doc == TUTORIAL]
    assert any(c.startswith("check ") for c in cmds) and any(c.startswith("explain") for c in cmds)
    assert any(c.startswith("graph ") for c in cmds) and any(c.startswith("ipis") for c in cmds)
    assert any(doc == README for doc, _ in CASES)


@pytest.mark.parametrize("doc,block", CASES, ids=IDS)
def test_pasted_output_is_current(doc, block, tmp_path):
    p = docs_blocks.run(block.command, tmp_path)
    assert p.returncode in (0, 1), p.stderr
    fresh = docs_blocks.mask(p.stdout)
    pasted = docs_blocks.mask("\n".join(block.output))
    assert pasted == fresh, (f"{doc.name} is stale for {block.command!r}: run `python -m tests.refresh_docs` "
                             f"and review the diff")


# the lines of an excerpt that carry a verdict or a count (an excerpt may quote a table cut to its point)
MARKERS = ("specs match their expectation", "claims confirmed", "states (CPU symmetry reduced)",
           "IPIs sent per operation", "is violated", "  CONFIRMED  ", "wrote ")
EXCERPTS = [(doc, c, ls) for doc in (README, TUTORIAL) for c, ls in docs_blocks.excerpts(doc)]


@pytest.mark.parametrize("doc,cmd,quoted", EXCERPTS, ids=[f"{d.name}:{c}:{i}" for i, (d, c, _) in enumerate(EXCERPTS)])
def test_quoted_excerpts_are_current(doc, cmd, quoted, tmp_path):
    p = docs_blocks.run(cmd, tmp_path)
    fresh = set(docs_blocks.mask(p.stdout))
    flat = " ".join(" ".join(docs_blocks.mask(p.stdout)).split())  # a quoted line may wrap differently
    # (a continuation line of a table cell, wrapped at the excerpt's width, is not compared)
    stale = [ln for ln in docs_blocks.mask("\n".join(quoted)) if any(m in ln for m in MARKERS) and ln not in fresh
             and " ".join(ln.split()) not in flat and not ln.startswith(" " * 20)]
    assert not stale, f"{doc.name} quotes lines {cmd!r} no longer prints:\n" + "\n".join(stale)


def readme_commands() -> list[str]:
    """The command lines of the README's "Using it" block (comments dropped)."""
    text = README.read_text()
    body = text[text.index("## Using it"):]
    block = next(ls for info, ls in fences(body) if info == "sh")
    return [ln.split("#")[0].strip() for ln in block if ln.strip() and not ln.startswith("#")]


@pytest.mark.parametrize("line", readme_commands())
def test_each_readme_command_runs_with_the_file_it_names(line, tmp_path):
    args = line.split()
    assert args[:3] == [sys.executable.rsplit("/", 1)[-1], "-m", "slabproof"] or args[:3] == ["python", "-m",
                                                                                              "slabproof"], line
    for a in args[3:]:
        if a.endswith(".toml"):
            assert (ROOT / a).is_file(), a
    p = docs_blocks.run(" ".join(args[3:]), tmp_path)
    assert p.returncode == 0, (line, p.stdout[-1500:], p.stderr[-1500:])


def test_the_mermaid_diagram_is_current(tmp_path):
    text = TUTORIAL.read_text()
    diagram = "\n".join(next(ls for info, ls in fences(text) if info == "mermaid")) + "\n"
    p = run_in(tmp_path, ["check", "--engine", "explicit", "specs/memcg-never-3cpu.toml", "--property",
                          "no_use_after_free", "--mermaid"])
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
    p = run_in(tmp_path, body[0][len("$ python -m slabproof "):].split(), width=200)  # pasted at 200 columns
    fresh = {ln.rstrip() for ln in p.stdout.splitlines()}
    for ln in body[2:]:
        assert ln.rstrip() in fresh, ln
