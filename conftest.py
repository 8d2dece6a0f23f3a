"""Repository-wide pytest setup: two xdist workers by default, when pytest-xdist is installed.

The README's test command is plain ``python -m pytest``; it runs on two
workers (``-n 2``) when xdist is present and on one process when it is not
(or with ``-p no:xdist``). An explicit ``-n N`` (``-n 0``: one process) wins.

An xdist worker runs this hook too, with ``numprocesses`` reset to None: it must
be left alone, or every worker would start two workers of its own (a fork bomb
that filled 24 GiB and timed out CI). ``tests/test_conftest.py`` pins that.
"""

from __future__ import annotations

import os

import pytest

DEFAULT_WORKERS = 2


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput") or "PYTEST_XDIST_WORKER" in os.environ


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("xdist") or is_worker(config):
        return
    opt = config.option
    if getattr(opt, "numprocesses", 0) is None and getattr(opt, "dist", "no") == "no" and not getattr(opt, "tx", None):
        opt.numprocesses = DEFAULT_WORKERS
