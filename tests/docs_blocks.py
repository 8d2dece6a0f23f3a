"""The command blocks of README.md and docs/tutorial.md, run again: shared by the docs test
(tests/test_explain_tutorial.py) and the refresh command (``python -m tests.refresh_docs``).

A block is a fenced code block with no info string whose first line is ``$ python -m slabproof ...``;
the lines after it are the command's standard output, pasted whole. Commands run from a scratch
directory holding links to ``specs/`` and ``docs/``, with ``COLUMNS=100`` (the width of piped output).
Before comparing, `MASKS` replace what differs from run to run or machine to machine, and trailing
spaces are dropped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "$ python -m slabproof "
WIDTH = 100
# (pattern, replacement): times ("0.06s", "12.3 s" right-justified in a column), rates
MASKS: tuple[tuple[str, str], ...] = (
    (r" *\b\d+\.\d+ ?s\b", " <t>"),
    (r"[\d,]+ states/s", "<n> states/s"),
)


@dataclass
class Block:
    start: int  # index of the line after the opening fence
    end: int  # index of the closing fence
    command: str  # the arguments after "python -m slabproof"
    output: list[str]


def fences(lines: list[str]) -> list[tuple[str, int, int]]:
    """(info string, first line, closing fence) of every fenced code block."""
    out: list[tuple[str, int, int]] = []
    start, info = -1, ""
    for i, line in enumerate(lines):
        if start < 0 and line.startswith("```"):
            start, info = i + 1, line[3:].strip()
        elif start >= 0 and line == "```":
            out.append((info, start, i))
            start = -1
    return out


def blocks(path: Path) -> list[Block]:
    lines = path.read_text().split("\n")
    out = []
    for info, a, b in fences(lines):
        if not info and a < b and lines[a].startswith(PROMPT) and "--mermaid" not in lines[a]:
            out.append(Block(a, b, lines[a][len(PROMPT):], lines[a + 1:b]))
    return out


def excerpts(path: Path) -> list[tuple[str, list[str]]]:
    """Plain blocks that quote part of the last command's output before them: (command, lines)."""
    lines = path.read_text().split("\n")
    out: list[tuple[str, list[str]]] = []
    last = ""
    for info, a, b in fences(lines):
        if info or a >= b:
            continue
        if lines[a].startswith(PROMPT):
            last = lines[a][len(PROMPT):]
        elif last and not lines[a].startswith(("$", "python ", "pip ")):
            out.append((last, lines[a:b]))
    return out


def mask(text: str) -> list[str]:
    for pat, rep in MASKS:
        text = re.sub(pat, rep, text)
    lines = [ln.rstrip() for ln in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def run(command: str, scratch: Path, width: int = WIDTH) -> subprocess.CompletedProcess:
    """Run ``python -m slabproof COMMAND`` in `scratch` (with links to specs/ and docs/), COLUMNS=`width`."""
    for d in ("specs", "docs"):
        if not (scratch / d).exists():
            (scratch / d).symlink_to(ROOT / d)
    env = {**os.environ, "COLUMNS": str(width), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "slabproof", *command.split()], cwd=scratch, capture_output=True,
                          text=True, timeout=600, env=env)
