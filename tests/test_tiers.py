"""The slow list names real tests, and the default run leaves exactly them out."""

from __future__ import annotations

import pytest

from . import tiers


def test_every_listed_slow_test_exists():
    listed = tiers.slow_ids()
    assert listed, "tests/slow_tests.txt is empty"
    # (only the files this session collected can be judged: `pytest tests/test_x.py` collects one)
    judged = [t for t in listed if t.split("::", 1)[0] in tiers.FILES]
    stale = [t for t in judged if t not in tiers.SEEN]
    assert not stale, f"tests/slow_tests.txt names tests that no longer exist: {stale[:5]}"


def test_the_list_is_well_formed():
    for nodeid, seconds in tiers.slow_ids().items():
        assert nodeid.startswith("tests/test_") and "::" in nodeid, nodeid
        assert seconds > 0, nodeid


def test_the_default_run_leaves_the_listed_tests_out(request: pytest.FixtureRequest):
    if request.config.option.markexpr:
        pytest.skip("-m chose the tests of this run")
    listed = tiers.slow_ids()
    ran = [i.nodeid for i in request.session.items if i.nodeid in listed]
    assert not ran, f"the default run kept slow tests: {ran[:5]}"
