"""Paste the current output into the command blocks of README.md and docs/tutorial.md.

    python -m tests.refresh_docs              # both files
    python -m tests.refresh_docs README.md    # one

Each block's command is run again (see tests/docs_blocks.py) and the lines after it replaced by what it
prints now; review the diff (`git diff`) before committing it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.docs_blocks import PROMPT, ROOT, blocks, run

DOCS = (ROOT / "README.md", ROOT / "docs" / "tutorial.md")


def refresh(path: Path) -> int:
    lines = path.read_text().split("\n")
    found = blocks(path)
    with tempfile.TemporaryDirectory() as tmp:
        for b in reversed(found):  # from the end, so earlier line numbers stay valid
            p = run(b.command, Path(tmp))
            fresh = p.stdout.rstrip("\n").split("\n") if p.stdout.strip() else []
            lines[b.start:b.end] = [PROMPT + b.command] + [ln.rstrip() for ln in fresh]
            print(f"{path.name}: {b.command} (exit {p.returncode}, {len(fresh)} lines)")
    path.write_text("\n".join(lines))
    return len(found)


def main(argv: list[str]) -> int:
    paths = [ROOT / a for a in argv] or list(DOCS)
    for p in paths:
        refresh(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
