"""Output files (--junit, --html, graph --dot, ipis --png): checked before a run, written atomically.

`check_output` refuses, before anything runs, a path that cannot be written
or that is one of the run's input specs (by `os.path.samefile`, or the same
resolved path). `write_atomic` writes a temporary file in the target's
directory and renames it over the target (`os.replace`), so a reader -- a CI
step, a browser -- sees either the previous file or the whole new one, never
half of it; a failed write leaves no temporary file behind. Errors are
`SpecError`s: one line naming the option and the file, exit status 2.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from slabproof.lang.spec import SpecError


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except (OSError, ValueError):
        return False


def check_output(option: str, path: str, inputs: Iterable[str] = ()) -> None:
    """Refuse an output path that is a directory, lies in no directory, or is one of `inputs`."""
    p = Path(path)
    try:
        if p.is_dir():
            raise SpecError(path, option, "is a directory; give a file name for the output")
        if not p.parent.is_dir():
            raise SpecError(path, option, f"cannot write: no directory {str(p.parent)!r}")
    except ValueError:  # a NUL byte
        raise SpecError(path, option, "cannot write: not a valid file name") from None
    for spec in inputs:
        if _same(p, Path(spec)):
            raise SpecError(path, option, f"is the input spec {spec!r}; refusing to overwrite it")


def write_atomic(option: str, path: str, text: str | None = None,
                 writer: Callable[[str], None] | None = None, suffix: str = ".tmp") -> None:
    """Write `text` (UTF-8), or whatever `writer(temporary_path)` writes, to `path` atomically.

    `suffix` ends the temporary file's name (a writer that picks its format by the name, such as
    matplotlib's ``savefig``, gets ``.png`` whatever `path` ends with).
    """
    target = Path(path)
    fd, tmp = -1, ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=suffix, dir=target.parent)
        if text is not None:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                fd = -1
                f.write(text)
        else:
            os.close(fd)
            fd = -1
            assert writer is not None
            writer(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # (mkstemp makes it 0600; an output file is an ordinary file)
        os.replace(tmp, target)
        tmp = ""
    except (OSError, ValueError) as e:
        raise SpecError(path, option, f"cannot write: {getattr(e, 'strerror', None) or e}") from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
