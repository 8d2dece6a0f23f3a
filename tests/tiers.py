"""Two tiers of tests: the default run and the full one.

The README's ``python -m pytest`` must finish in under 5 minutes on a 2-core
machine; the whole suite needs about 25 CPU-minutes. The tests listed in
``tests/slow_tests.txt`` (each took more than 1 s when measured: most of the
cross-engine agreement runs, the long property-based searches, the CLI runs of
whole commands) are marked ``slow`` and left out of the default run;
``python -m pytest -m slow`` runs exactly them, and
``python -m pytest -m "slow or not slow"`` runs everything. ``.ci/run`` runs
both tiers, so CI keeps the whole coverage.

The list is data, chosen by measurement (the rule is in its header), not by a
test's name; ``tests/test_tiers.py`` fails when it names a test that no longer
exists, so it cannot rot silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

LIST = Path(__file__).with_name("slow_tests.txt")

SEEN: set[str] = set()  # every test id collected in this process, before any deselection
FILES: set[str] = set()


def slow_ids() -> dict[str, float]:
    """The listed test ids, with the seconds they took when measured."""
    out: dict[str, float] = {}
    for line in LIST.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        seconds, _, nodeid = line.partition("\t")
        out[nodeid.strip()] = float(seconds)
    return out


def apply(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the listed tests slow; with no ``-m`` given, leave them out (reported as deselected)."""
    listed = slow_ids()
    for item in items:
        SEEN.add(item.nodeid)
        FILES.add(item.nodeid.split("::", 1)[0])
        if item.nodeid in listed:
            item.add_marker(pytest.mark.slow)
    if config.option.markexpr:
        return  # -m slow, -m "slow or not slow", ...: pytest's own -m does the selecting
    fast = [i for i in items if i.get_closest_marker("slow") is None]
    if len(fast) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i.get_closest_marker("slow") is not None])
        items[:] = fast
