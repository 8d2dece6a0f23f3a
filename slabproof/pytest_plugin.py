"""A pytest plugin: every spec file is a test item, and its verdict is the assertion.

``pytest specs/`` (from a checkout: ``specs/conftest.py`` loads this plugin)
collects each ``*.toml`` file under a directory named ``specs`` -- and any
``*.toml`` file named on the command line -- as one item, which runs every
requested engine on the spec, exactly as ``slabproof check FILE`` does, and
passes exactly when ``slabproof check FILE`` would exit 0 (`runner.spec_passes`,
the one policy of README "Exit status"): every property the spec's
``[expect]`` table mentions was decided as expected by some selected engine,
and no engine contradicts another. Anywhere else, load it with
``pytest -p slabproof.pytest_plugin DIR``.

A failing item reports why in one line (a mismatch, a disagreement, or the
properties left undecided and why), each engine's verdict and coverage, and
the shortest counterexample step by step. A spec left undecided (a limit, a
time-out, engines that do not decide a property it mentions) fails its item:
UNKNOWN is not safe. With ``--slabproof-strict`` any engine whose own
verdict is UNKNOWN fails the item, as ``check --strict`` exits 4. A spec
that does not load fails its item with the loader's one-line message (the
rest of the session still runs). SIGINT, SIGTERM or SIGHUP while a spec
runs (inside a Z3 check too) stops the session as pytest's own Ctrl-C does:
no further spec runs.

Options: ``--slabproof-engine NAME[,NAME]`` (default ``all``),
``--slabproof-max-states N``, ``--slabproof-timeout S``, ``--slabproof-strict``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

from slabproof.checker import Limits
from slabproof.lang.spec import Spec, SpecError, load
from slabproof.report.junit import trace_text
from slabproof.results import SpecOutcome, Status
from slabproof.run import runner, signals

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("slabproof", "slabproof spec files as tests")
    g.addoption("--slabproof-engine", default="all", metavar="NAME",
                help="engines to run on every spec: 'all' (default) or a comma-separated list")
    g.addoption("--slabproof-max-states", type=int, default=None, metavar="N",
                help="stop each exploration after N states (the item then fails as UNKNOWN)")
    g.addoption("--slabproof-timeout", type=float, default=None, metavar="S",
                help="stop each engine after S seconds (the item then fails as UNKNOWN)")
    g.addoption("--slabproof-strict", action="store_true", default=False,
                help="fail an item when any engine is undecided, even where another engine decided the spec")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> "SpecFile | None":
    if file_path.suffix != ".toml":
        return None
    if "specs" in file_path.parts[:-1] or parent.session.isinitpath(file_path):
        return SpecFile.from_parent(parent, path=file_path)
    return None


class SpecMismatch(AssertionError):
    """A spec that does not pass the gate: a mismatch, a disagreement, or undecided (or, strict, an
    undecided engine)."""

    def __init__(self, outcome: SpecOutcome, strict: bool = False):
        super().__init__(_why(outcome, strict))
        self.outcome = outcome
        self.strict = strict


def _why(o: SpecOutcome, strict: bool) -> str:
    if o.status != Status.MATCH:
        return o.mismatch
    return "--slabproof-strict: undecided: " + "; ".join(f"{n.engine} ({n.reason})" for n in o.undecided_engines)


class SpecFile(pytest.File):
    """One spec file: one item, named after the spec."""

    def collect(self) -> Iterator["SpecItem"]:
        yield SpecItem.from_parent(self, name=self.path.stem)


class SpecItem(pytest.Item):
    def runtest(self) -> None:
        try:
            spec: Spec = load(self.path)
        except SpecError as e:
            raise _BadSpec(str(e)) from None
        opt = self.config.getoption
        names = opt("slabproof_engine", "all")
        engines = runner.available_engines() if names == "all" else tuple(names.split(","))
        unknown = [e for e in engines if e not in runner.available_engines()]
        if unknown:
            raise _BadSpec(f"--slabproof-engine: unknown engine {unknown[0]!r}; valid: all, "
                           f"{', '.join(runner.available_engines())}")
        opts = runner.RunOptions(engines=engines, limits=Limits(opt("slabproof_max_states", None),
                                                                 opt("slabproof_timeout", None)))
        with signals.handled():  # SIGTERM and SIGHUP too, and inside Z3's checks (slabproof.run.signals)
            outcome = runner.run_spec(spec, opts)
            stopped = signals.received()
        if stopped or any(r.reason == "interrupted" for r in outcome.results):
            raise KeyboardInterrupt(stopped or "SIGINT")  # pytest should stop, not fail this item and go on
        for r in outcome.results:
            self.user_properties.append((r.engine, f"{r.verdict.value}; {r.states} states, depth {r.depth}"))
        self.user_properties.append(("status", outcome.status.value))
        strict = bool(opt("slabproof_strict", False))
        if not runner.spec_passes(outcome, strict):
            raise SpecMismatch(outcome, strict)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, _BadSpec):
            return str(excinfo.value)
        if not isinstance(excinfo.value, SpecMismatch):
            return super().repr_failure(excinfo)
        o = excinfo.value.outcome
        exp = o.expected + (f" ({', '.join(o.expected_violates)})" if o.expected_violates else "")
        why = _why(o, excinfo.value.strict)
        head = "" if why.startswith(o.status.value) or o.status == Status.MATCH else f"{o.status.value}: "
        lines = [f"{o.spec}: {head}{why}", f"expected: {exp}"]
        for r in o.results:
            viol = f" ({', '.join(r.violated)})" if r.violated else ""
            why = f" ({r.reason})" if r.reason else ""
            lines.append(f"{r.engine}: {r.verdict.value}{viol}{why}; {r.states:,} states, depth {r.depth}")
        if o.combined is not None:
            for p in o.combined.properties:
                how = p.how or "; ".join(f"{g.engine}: {g.why}" for g in p.undecided)
                lines.append(f"  {p.name}: {p.decision.value}" + (f" ({how})" if how else ""))
        for r in o.results:
            cex = sorted((p.trace for p in r.properties if p.trace is not None and p.trace.kind == "counterexample"),
                         key=lambda t: t.length)
            if cex:
                lines.append("")
                lines.append(f"{r.engine}, shortest " + trace_text(cex[0]))
                break
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"spec {self.name}"


class _BadSpec(Exception):
    """The spec file does not load (its one-line message says why)."""
