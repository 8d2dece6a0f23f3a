"""What a new user sees from `check`: a table that reads at 80 columns, rows as specs finish, every
counterexample shown whichever engine found it (issue 12)."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from rich.console import Console

from slabproof import checker, cli, model
from slabproof.lang import spec
from slabproof.report import text as report
from slabproof.results import EngineResult, PropertyResult, Status, Verdict
from slabproof.run import runner

from .conftest import ROOT

SPECS = ROOT / "specs"
LONG = "no violation within 41 of the 43 steps: budget of 30,000,000 Z3 resource units spent"


def _explicit(name: str) -> tuple[spec.Spec, EngineResult]:
    s = spec.load(SPECS / f"{name}.toml")
    return s, checker.explore(model.build(s))


def _made_up(s: spec.Spec, ex: EngineResult) -> list:
    """The explorer's own result beside three made-up Z3 results: one UNKNOWN with a long reason, two
    that prove the `always` properties the explorer found to hold (no traces: nothing to replay)."""
    def prover(name: str) -> EngineResult:
        props = tuple(PropertyResult(p.name, p.kind, "", True if p.kind == "always" and p.holds else None)
                      for p in ex.properties if p.name != "writer_terminates")
        return EngineResult(name, s.path, s.cpus, Verdict.SAFE if not ex.violated else Verdict.UNKNOWN,
                            reason="" if not ex.violated else LONG, properties=props,
                            extra={"scope": "any number of CPUs"} if name == "param" else {})
    bmc = EngineResult("bmc", s.path, s.cpus, Verdict.UNKNOWN, reason=LONG, complete=False,
                       properties=tuple(PropertyResult(p.name, p.kind, "", None) for p in ex.properties))
    return [ex, bmc, prover("induction"), prover("param")]


NAMES = ["memcg-if-prev-2cpu", "memcg-never-2cpu", "cache-if-no-prev-2cpu", "whatif-reader-takes-mutex-irqs-off"]


@pytest.fixture(scope="module")
def outcomes() -> list:
    out = []
    for n in NAMES:
        s, ex = _explicit(n)
        out.append(runner.outcome(s, _made_up(s, ex)))
        out.append(runner.outcome(s, [ex]))
    return out


def _render(renderable: object, width: int) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, no_color=True, highlight=False, soft_wrap=False).print(renderable)
    return buf.getvalue()


@pytest.mark.parametrize("width", [80, 120])
def test_the_table_fits_and_cuts_nothing(outcomes, width):
    page = _render(report.check_table(outcomes, width), width)
    lines = page.splitlines()
    assert all(len(ln) <= width for ln in lines), max(lines, key=len)
    assert "…" not in page
    assert lines[0] == report.CHECK_TITLE  # the title line is not padded
    assert lines[1].split() == ["spec", "CPUs", "verdict", "expected", "states", "time", "status"]
    flat = " ".join(page.split())
    for o in outcomes:  # every verdict and every status whole (a cell may wrap onto further lines)
        for word in report.combined_text(o).plain.split() + report.short_status(o).plain.split():
            assert word in flat, word
        assert len(report.short_status(o).plain) <= 8
    # the four engines' verdicts are summarised in one cell, from the combined verdict
    safe = next(o for o in outcomes if o.name == "memcg-if-prev-2cpu" and len(o.results) == 4)
    assert report.combined_text(safe).plain == "safe: explicit, induction, param (any N); undecided: bmc"
    assert report.short_status(safe).plain == "match" and safe.status == Status.MATCH


def test_the_spec_names_that_fit_stay_whole_at_80_columns(outcomes):
    page = _render(report.check_table(outcomes, 80), 80)
    starts = [ln.split()[0] for ln in page.splitlines()[2:] if ln and not ln.startswith(" ")]
    for n in NAMES[:3]:
        assert n in starts


def test_the_violated_set_reads_in_the_same_order_as_found():
    s, ex = _explicit("memcg-never-2cpu")
    s = replace(s, expect=replace(s.expect, violates=tuple(reversed(ex.violated))))
    o = runner.outcome(s, [ex])
    assert report.expected_text(o) == "violated (" + ", ".join(ex.violated) + ")"
    assert report.verdict_text(ex).plain.endswith("(" + ", ".join(ex.violated) + ")")


def test_rows_stream_as_specs_finish(monkeypatch, capsys):
    seen: list[str] = []
    real = runner.run_spec

    def spy(s, opts):
        seen.append(capsys.readouterr().out)  # what was on screen when this spec started
        return real(s, opts)

    monkeypatch.setattr(runner, "run_spec", spy)
    files = [str(SPECS / "cache-if-prev-2cpu.toml"), str(SPECS / "cache-never-2cpu.toml")]
    assert cli.main(["check", "--engine", "explicit", "--traces", "none", *files]) == 0
    rest = capsys.readouterr().out
    assert report.CHECK_TITLE in seen[0] and "cache-if-prev-2cpu" not in seen[0]
    assert seen[1].splitlines()[-1].startswith("cache-if-prev-2cpu ")  # its row, before the next spec ran
    assert rest.splitlines()[0].startswith("cache-never-2cpu ")
    assert rest.rstrip().splitlines()[-1] == "2 of 2 specs match their expectation"  # the summary line last


def test_piped_output_is_100_columns_or_COLUMNS(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert cli._console().width == cli.PIPE_WIDTH == 100
    monkeypatch.setenv("COLUMNS", "80")
    assert cli._console().width == 80


def test_the_engine_option_says_it_takes_a_list(capsys):
    with pytest.raises(SystemExit):
        cli.main(["check", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--engine explicit,bmc" in out and "comma-separated" in out


def test_verbose_shows_each_engine(capsys):
    f = str(SPECS / "cache-never-2cpu.toml")
    assert cli.main(["check", "--engine", "explicit", "--traces", "none", "--verbose", f]) == 0
    out = capsys.readouterr().out
    assert "slabproof check (per engine)" in out and "IPIs" in out  # the per-engine columns
