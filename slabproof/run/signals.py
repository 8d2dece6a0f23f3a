"""SIGINT, SIGTERM and SIGHUP: one path for all three, honoured inside Z3 too.

`install()` (called by ``slabproof``'s `main` before anything else, and by the
pytest plugin around each spec) makes each of the three signals raise
`Interrupted`, a `KeyboardInterrupt`, so that every engine's Ctrl-C handling
(an UNKNOWN result with reason ``"interrupted"`` and its partial figures)
applies to a CI runner's SIGTERM on a time-out and to a closed terminal's
SIGHUP alike. `received()` says whether one arrived in this run: the runner
runs no further engine, the CLI no further spec.

Z3 runs in C, where a Python handler cannot run until the solver returns, and
Z3 normally takes SIGINT for itself during a check (it answers ``unknown``,
"interrupted from keyboard", and the signal never reaches Python). So while
installed, Z3's own Ctrl-C handling is off (`z3_ctrl_c()` is False, read by
`symbolic.check`) and a watcher thread, woken through `signal.set_wakeup_fd`,
calls ``Context.interrupt()`` on Z3's main context at each signal: the check
returns at once and the pending handler raises `Interrupted`.

`finishing()` is for the end of a run: later signals are recorded but no
longer raise, so that the partial results are written out whole.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Any, Iterator

SIGNALS: tuple[signal.Signals, ...] = tuple(
    s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM", "SIGHUP")) if s is not None)


_NUMBERS = frozenset(int(s) for s in SIGNALS)


class Interrupted(KeyboardInterrupt):
    """A SIGINT, SIGTERM or SIGHUP asked the run to stop.

    `partial`, when set, is the interrupted engine's result so far (an
    `EngineResult` with reason ``"interrupted"``), for layers that run
    engines to report instead of dropping; `where` names what it ran on
    (an explain configuration); `finished`, the results of the engines that
    ran before it (``prove``).
    """

    def __init__(self, signame: str = "SIGINT", partial: Any = None, where: str = "") -> None:
        super().__init__(signame)
        self.signame = signame
        self.partial = partial
        self.where = where
        self.finished: tuple[Any, ...] = ()  # the results of the engines that ran before, when known


_state: dict[str, Any] = {"installed": 0, "received": None, "finishing": False, "previous": {},
                          "wakeup": None, "pipe": None}
_lock = threading.Lock()


def received() -> str | None:
    """The name of the first signal received since `install()` (``"SIGTERM"``), or None (also once uninstalled)."""
    name: str | None = _state["received"]
    return name


def installed() -> bool:
    return bool(_state["installed"] > 0)


def z3_ctrl_c() -> bool:
    """Whether Z3 may take SIGINT for itself during a check (not while these handlers are installed)."""
    return not installed()


def _in_z3(frame: FrameType | None) -> bool:
    """Whether the signal arrived while Python code of the z3 package ran (e.g. its error-handler callback)."""
    return frame is not None and str(frame.f_globals.get("__name__", "")).split(".")[0] == "z3"


def _handler(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    if _state["received"] is None:
        _state["received"] = name
    if _state["finishing"] or _in_z3(frame):
        # Inside z3's code the exception could land in a ctypes callback, where Python drops it with an
        # "Exception ignored" traceback on stderr. There the signal is only recorded: the watcher has
        # interrupted Z3, and the check that returns raises it (z3/symbolic.py `check` calls `check()`).
        return
    raise Interrupted(name)


def _interrupt_z3() -> None:
    z3 = sys.modules.get("z3")  # (never imported here: an interrupt before Z3 is loaded has nothing to stop)
    if z3 is None:
        return
    try:
        z3.main_ctx().interrupt()
    except Exception:  # a context being torn down at exit
        pass


def _watch(fd: int) -> None:
    while True:
        try:
            data = os.read(fd, 64)
        except OSError:
            return
        if not data:
            return
        if any(b in _NUMBERS for b in data):  # (the wake-up fd carries every handled signal's number)
            _interrupt_z3()


def install() -> None:
    """Make SIGINT, SIGTERM and SIGHUP raise `Interrupted` (main thread only; nested calls are counted)."""
    if threading.current_thread() is not threading.main_thread():
        return
    with _lock:
        _state["installed"] += 1
        if _state["installed"] > 1:
            return
        _state["received"] = None
        _state["finishing"] = False
        _state["previous"] = {s: signal.signal(s, _handler) for s in SIGNALS}
        if _state["pipe"] is None:
            r, w = os.pipe()
            os.set_blocking(w, False)
            _state["pipe"] = (r, w)
            threading.Thread(target=_watch, args=(r,), name="slabproof-signals", daemon=True).start()
        _state["wakeup"] = signal.set_wakeup_fd(_state["pipe"][1], warn_on_full_buffer=False)


def uninstall() -> None:
    """Put back the handlers `install` replaced (when the outermost `install` is undone)."""
    if threading.current_thread() is not threading.main_thread():
        return
    with _lock:
        if _state["installed"] == 0:
            return
        _state["installed"] -= 1
        if _state["installed"]:
            return
        for s, h in _state["previous"].items():
            signal.signal(s, h)
        signal.set_wakeup_fd(_state["wakeup"] if _state["wakeup"] is not None else -1)
        _state["previous"] = {}
        _state["received"] = None  # (what arrived was this run's business)
        _state["finishing"] = False


@contextmanager
def handled() -> Iterator[None]:
    """`install()` for the duration of a block."""
    install()
    try:
        yield
    finally:
        uninstall()


def finishing() -> None:
    """From now on signals are recorded but do not raise: the run is writing what it has."""
    _state["finishing"] = True


def check() -> None:
    """Raise `Interrupted` if a signal arrived (for a loop that must not start more work after one)."""
    if _state["received"] is not None and not _state["finishing"]:
        raise Interrupted(_state["received"])
