"""A signal that arrives while z3's own Python code runs is recorded, not raised there.

z3 calls back into Python (its error handler) from C through ctypes; an exception
raised in such a callback is dropped by Python with an "Exception ignored ...
Traceback" on stderr (seen once in tests/test_signals.py under SIGTERM). So the
handler only records a signal that lands in z3's code, and `symbolic.check`
raises it as soon as the check returns.
"""

from __future__ import annotations

import signal
from types import SimpleNamespace

import pytest
import z3

from slabproof.run import signals
from slabproof.z3 import symbolic


def frame_of(module: str) -> SimpleNamespace:
    return SimpleNamespace(f_globals={"__name__": module})


@pytest.fixture
def installed():
    signals.install()
    try:
        yield
    finally:
        signals.uninstall()


def test_a_signal_inside_z3_code_is_recorded_and_the_next_check_raises_it(installed):
    try:
        signals._handler(signal.SIGTERM, frame_of("z3.z3"))
    except signals.Interrupted:
        pytest.fail("raised inside z3's code, where a ctypes callback drops it with a traceback")
    assert signals.received() == "SIGTERM"
    solver = z3.Solver()
    solver.add(z3.Bool("x"))
    with pytest.raises(signals.Interrupted) as e:
        symbolic.check(solver)
    assert e.value.signame == "SIGTERM"


def test_a_signal_inside_slabproof_code_raises_at_once(installed):
    with pytest.raises(signals.Interrupted):
        signals._handler(signal.SIGINT, frame_of("slabproof.z3.houdini"))


def test_while_finishing_a_signal_is_only_recorded(installed):
    signals.finishing()
    signals._handler(signal.SIGHUP, frame_of("slabproof.cli"))
    assert signals.received() == "SIGHUP"
    solver = z3.Solver()
    assert symbolic.check(solver) is True  # the run is writing what it has: no more interrupts
