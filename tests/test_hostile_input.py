"""Hostile paths and values, and bounded runs (issue 8, items 6 and 7).

Each case used to be a traceback with exit status 1 (read as "mismatch") or
a hang; each must now be one line naming the file or option, exit status 2,
values shortened and control characters escaped -- or a verdict. Each check
is a plain function (`check_*`) so that tests/test_planted_bounds.py can plant
the old behaviour back in and show that the check catches it.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slabproof import checker, cli, model
from slabproof.lang import spec
from slabproof.report import html
from slabproof.results import EngineResult
from slabproof.run import explain, runner

from .conftest import ROOT, SPECS

SAFE = SPECS / "cache-if-prev-2cpu.toml"  # 393 states
VIOLATED = SPECS / "cache-never-2cpu.toml"
IRQS_ON = SPECS / "whatif-irqs-on-between-load-and-use.toml"
LONGEST_LINE = 1200  # an error line may be this long at most, whatever it echoes


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`slabproof ARGS` in this process: (exit status, standard output, standard error)."""
    try:
        status = cli.main(args)
    except SystemExit as e:  # argparse's own errors
        status = int(e.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_error_line(status: int, err: str, *needles: str) -> str:
    assert status == runner.EXIT_USAGE, (status, err[:2000])
    assert "Traceback" not in err and "\x1b" not in err, err[:2000]
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slabproof"), err[:2000]
    assert len(lines[0]) <= LONGEST_LINE, len(lines[0])
    assert lines[0].isprintable(), repr(lines[0][:300])
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# ---------------------------------------------------------------------------
# paths


def check_long_path_component(capsys, tmp_path: Path) -> None:
    for p in (tmp_path / ("a" * 300 + ".toml"), tmp_path / ("d" * 300) / "x.toml"):
        status, out, err = run_main(["check", "--engine", "explicit", str(p)], capsys)
        assert_one_error_line(status, err, "too long", "characters]")


def test_a_path_component_over_255_bytes_is_one_line(capsys, tmp_path):
    check_long_path_component(capsys, tmp_path)


def _refuse_stat_under(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    """os.stat fails with EACCES below `prefix`, as in a directory without search permission."""
    real = os.stat

    def fake(path, *a, **kw):
        if os.fspath(path).startswith(prefix):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path, *a, **kw)

    monkeypatch.setattr(os, "stat", fake)


def check_unsearchable_directory(capsys, monkeypatch, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.toml").write_text(SAFE.read_text())
    _refuse_stat_under(monkeypatch, str(locked))
    for arg in (locked, locked / "a.toml"):
        status, out, err = run_main(["check", "--engine", "explicit", str(arg)], capsys)
        assert_one_error_line(status, err, str(arg), "permission denied")


def test_a_directory_without_search_permission_is_one_line(capsys, monkeypatch, tmp_path):
    """In-process: os.stat raising EACCES (what a directory without x permission gives a non-root user)."""
    check_unsearchable_directory(capsys, monkeypatch, tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions; the in-process test above "
                                               "covers the same path")
def test_a_real_directory_without_permissions(capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.toml").write_text(SAFE.read_text())
    locked.chmod(0)
    try:
        for arg in (locked, locked / "a.toml"):
            status, out, err = run_main(["check", "--engine", "explicit", str(arg)], capsys)
            assert_one_error_line(status, err, "permission denied")
    finally:
        locked.chmod(stat.S_IRWXU)


def check_empty_path(capsys) -> None:
    for args in (["check", ""], ["prove", ""], ["graph", "", "--dot", "/dev/null"]):
        status, out, err = run_main(args, capsys)
        assert_one_error_line(status, err, "''", "empty path")


def test_the_empty_path_is_refused_not_read_as_the_current_directory(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # where "" used to pick up pyproject.toml
    check_empty_path(capsys)


def check_special_files(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")  # just over 1 MiB
    # (/dev/zero last: a loader that reads it whole takes gigabytes; the FIFO fails such a loader first)
    for path, needle in ((str(fifo), "is a FIFO"), (str(big), "at most"), ("/dev/zero", "is a device")):
        p = subprocess.run([sys.executable, "-m", "slabproof", "check", "--engine", "explicit", path], cwd=ROOT,
                           capture_output=True, text=True, timeout=30)
        assert_one_error_line(p.returncode, p.stderr, path, needle)
        assert p.stdout == ""


def test_devices_fifos_and_big_files_are_refused_before_reading(tmp_path):
    """/dev/zero used to be read whole (3.5 GB), a FIFO with no writer blocked for ever."""
    check_special_files(tmp_path)


def test_a_fifo_is_never_opened(monkeypatch, tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    opened: list[str] = []
    real = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **kw: opened.append(os.fspath(p)) or real(p, *a, **kw))

    def unblock() -> None:  # (so that a loader that does open the FIFO fails this test instead of hanging)
        os.close(real(fifo, os.O_WRONLY))

    writer = threading.Timer(3.0, unblock)
    writer.daemon = True
    writer.start()
    try:
        with pytest.raises(spec.SpecError, match="is a FIFO"):
            spec.load(fifo)
        assert str(fifo) not in opened
    finally:
        writer.cancel()


def check_html_of_a_non_utf8_file_name(capsys, tmp_path: Path) -> None:
    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/never-\xff\x1b[31m.toml")
    Path(name).write_text(VIOLATED.read_text())
    out_html = tmp_path / "page.html"
    status, out, err = run_main(["check", "--engine", "explicit", "--html", str(out_html), name], capsys)
    assert status == runner.EXIT_OK, err
    assert "Traceback" not in err and "\x1b" not in out + err
    page = out_html.read_bytes().decode("utf-8")  # valid UTF-8
    assert "never-\\udcff\\x1b[31m" in page and "\x1b" not in page


def test_html_when_the_spec_file_name_is_not_utf8(capsys, tmp_path):
    check_html_of_a_non_utf8_file_name(capsys, tmp_path)


# ---------------------------------------------------------------------------
# numeric options

BAD_OPTIONS = [
    ("check", "--engine", "bmc", "--timeout", "nan"),
    ("check", "--engine", "bmc", "--timeout", "inf"),
    ("check", "--engine", "induction", "--timeout", "-inf"),
    ("check", "--engine", "bmc", "--timeout", "1e400"),
    ("check", "--timeout", "0"),
    ("check", "--timeout", "1e7"),
    ("prove", "--timeout", "nan"),
    ("explain", "--timeout", "inf"),
    ("check", "--max-memory", "1e400k"),
    ("check", "--max-memory", "nan"),
    ("check", "--max-memory", "infG"),
    ("check", "--max-memory=-1G"),
    ("check", "--max-memory", "0"),
    ("check", "--max-memory", "9" * 5000 + "T"),
    ("check", "--max-states", "0"),
    ("check", "--max-states", "1e3"),
    ("check", "--max-states", "9" * 5000),
    ("check", "--max-states", str(10**12)),
    ("check", "--cpus", "9" * 100_000),
    ("explain", "--max-states", "nan"),
    ("graph", "x.toml", "--dot", "x.dot", "--max-nodes", "-5"),
    ("ipis", "--memcgs", str(10**9)),
    ("ipis", "--caches", "1e3"),
    ("ipis", "--writer-cpu", "9" * 5000),
    ("ipis", "--writer-cpu", "-1"),
]


def check_bad_option(capsys, args: tuple[str, ...]) -> None:
    status, out, err = run_main([*args, str(SAFE)] if args[0] == "check" else list(args), capsys)
    assert_one_error_line(status, err, "argument")


@pytest.mark.parametrize("args", BAD_OPTIONS, ids=lambda a: " ".join(x[:12] for x in a))
def test_every_numeric_option_is_finite_positive_and_bounded(capsys, args):
    check_bad_option(capsys, args)


NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.text(alphabet="0123456789.eE+-_ infaINFkKmMgGtTbBi", max_size=12),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(("--timeout", "--max-memory", "--max-states")), NUMBER_TEXT)
def test_a_numeric_option_is_accepted_finite_and_positive_or_refused_on_one_line(capsys, option, text):
    parser = cli.build_parser()
    try:
        args = parser.parse_args(["check", f"{option}={text}"])
    except SystemExit as e:
        err = capsys.readouterr().err
        assert_one_error_line(int(e.code or 0), err, option)
        return
    v = getattr(args, option[2:].replace("-", "_"))
    if v is None:  # "none": that limit lifted
        assert text.strip().lower() == "none"
        return
    assert isinstance(v, (int, float)) and math.isfinite(v) and v > 0, v
    assert v <= {"--timeout": cli.MAX_SECONDS, "--max-memory": cli.MAX_SIZE, "--max-states": cli.MAX_COUNT}[option]


# ---------------------------------------------------------------------------
# spec sizes and messages


def _with_reader(n: int) -> str:
    steps = ["local_irq_save", "cpu_cache_get"] + ["ac_access"] * n + ["local_irq_restore"]
    return SAFE.read_text() + "\n[steps]\nreader = [\n" + "".join(f"  {json.dumps(x)},\n" for x in steps) + "]\n"


def check_step_cap(capsys, tmp_path: Path) -> None:
    f = tmp_path / "long.toml"
    f.write_text(_with_reader(20_000))
    assert 300_000 < f.stat().st_size < 1 << 20  # the 330 KB spec of the issue
    status, out, err = run_main(["check", "--engine", "explicit", str(f)], capsys)
    assert_one_error_line(status, err, "steps.reader", "20,003 steps", "at most 64")


def test_a_20000_step_reader_section_is_refused_naming_the_key_and_the_cap(capsys, tmp_path):
    """It used to reach compile() and die of MemoryError."""
    check_step_cap(capsys, tmp_path)


@pytest.mark.parametrize("section", spec.STEPS_KEYS)
def test_every_steps_section_is_capped(section):
    text = SAFE.read_text() + f"\n[steps]\n{section} = " + json.dumps(["x"] * (spec.MAX_STEPS + 1)) + "\n"
    with pytest.raises(spec.SpecError) as e:
        spec.loads(text, "s.toml")
    assert e.value.key == f"steps.{section}" and f"at most {spec.MAX_STEPS}" in str(e.value)


def test_the_cap_is_well_above_every_shipped_order():
    loaded = [spec.load(f) for f in sorted(SPECS.glob("*.toml"))]
    longest = max(len(o) for sp in loaded for o in (sp.reader_steps, sp.reaper_steps, sp.create_steps, sp.tune_steps))
    assert longest * 4 <= spec.MAX_STEPS
    spec.loads(_with_reader(spec.MAX_STEPS - 3), "at-the-cap.toml")  # exactly at the cap: accepted


def check_long_values_are_shortened() -> None:
    huge = "x" * 50_000_000
    for text, key in ((f'cpus = "{huge}"', "cpus"), (SAFE.read_text().replace('"if-prev"', f'"{huge}"'), "ipi")):
        with pytest.raises(spec.SpecError) as e:
            spec.loads(text, "big.toml")
        msg = str(e.value)
        assert e.value.key == key and len(msg) <= LONGEST_LINE and "characters]" in msg, len(msg)
    with pytest.raises(spec.SpecError) as e:
        spec.loads("cpus = 2", "p" * 10_000 + ".toml")
    assert len(str(e.value)) <= LONGEST_LINE


def test_error_lines_do_not_echo_a_50mb_value():
    check_long_values_are_shortened()


def check_ansi_in_file_names(capsys, tmp_path: Path) -> None:
    red = tmp_path / "x\x1b[31mred.toml"
    red.write_text(SAFE.read_text())
    status, out, err = run_main(["check", "--engine", "explicit", str(red)], capsys)
    assert status == runner.EXIT_OK and "\x1b" not in out + err and "x\\x1b[31mred" in out, out + err
    status, out, err = run_main(["check", "--json", "--engine", "explicit", str(red)], capsys)
    assert json.loads(out)["specs"][0]["spec"].endswith("x\\x1b[31mred.toml")
    status, out, err = run_main(["check", str(tmp_path / "no\x1b[2Jsuch.toml")], capsys)
    assert_one_error_line(status, err, "no\\x1b[2Jsuch", "no such file")
    status, out, err = run_main(["check", "--engine", "\x1b[31m" * 100_000], capsys)
    assert_one_error_line(status, err, "--engine", "unknown engine")


def test_ansi_escapes_in_file_names_never_reach_the_terminal(capsys, tmp_path):
    check_ansi_in_file_names(capsys, tmp_path)


# ---------------------------------------------------------------------------
# bounded by default


def check_runs_are_bounded_by_default(capsys, monkeypatch) -> None:
    seen: list[checker.Limits] = []
    real = runner.run_spec
    monkeypatch.setattr(runner, "run_spec", lambda s, opts: seen.append(opts.limits) or real(s, opts))
    status, out, err = run_main(["check", "--engine", "explicit", str(SAFE)], capsys)
    assert status == runner.EXIT_OK, err
    assert seen[-1].max_states is not None and seen[-1].max_memory is not None  # bounded without being asked
    assert seen[-1].max_states == checker.DEFAULT_MAX_STATES
    assert seen[-1].max_memory == checker.default_max_memory() is not None
    run_main(["check", "--engine", "explicit", "--max-states", "none", "--max-memory", "none", str(SAFE)], capsys)
    assert seen[-1].max_states is None and seen[-1].max_memory is None  # the documented way to lift them
    run_main(["check", "--engine", "explicit", "--max-states", "7000000", "--max-memory", "3G", str(SAFE)], capsys)
    assert seen[-1].max_states == 7_000_000 and seen[-1].max_memory == 3 << 30
    assert checker.Limits().max_states == checker.DEFAULT_MAX_STATES  # the engine's own default too


def test_every_run_is_bounded_by_default(capsys, monkeypatch):
    check_runs_are_bounded_by_default(capsys, monkeypatch)


def test_the_defaults_are_well_above_every_shipped_spec():
    assert checker.DEFAULT_MAX_STATES >= 4 * 1_051_776  # memcg-if-prev at 8 CPUs
    mem = checker.default_max_memory()
    assert mem is not None and mem >= 1 << 30  # a machine that runs the suite has at least 2 GiB


def test_the_default_state_budget_ends_in_unknown_with_coverage(monkeypatch):
    monkeypatch.setattr(checker, "DEFAULT_MAX_STATES", 100)
    r = checker.explore(model.build(spec.load(SAFE)), limits=checker.Limits(max_states=100))
    assert r.verdict.value == "unknown" and not r.complete and r.states == 100 and r.depth > 0
    assert r.reason == "state limit of 100 reached (the default; raise it with --max-states)"


def test_the_200_step_spec_of_the_issue_is_refused_not_run_for_minutes():
    with pytest.raises(spec.SpecError, match=r"steps\.reader: 203 steps; valid: at most 64"):
        spec.loads(_with_reader(200), "many.toml")


# ---------------------------------------------------------------------------
# explain: an engine crash is an error


def _crashing(system: model.System, opts: runner.RunOptions, shared: dict) -> EngineResult:
    raise RuntimeError("boom\x1b[31m " + "x" * 10_000)


def check_explain_reports_crashes(capsys) -> None:
    runner.register("crashing", _crashing)
    try:
        status, out, err = run_main(["explain", "--cpus", "2", "--engine", "explicit,crashing", "--traces", "none"],
                                    capsys)
        assert status == runner.EXIT_UNKNOWN, out[-2000:]
        assert "engine error: crashing on" in out and "RuntimeError: boom" in out and "\x1b" not in out
        assert "7 of 7 claims confirmed" not in out
        status, out, err = run_main(["explain", "--cpus", "2", "--engine", "explicit,crashing", "--json"], capsys)
        doc = json.loads(out)
        assert status == doc["exit_status"] == runner.EXIT_UNKNOWN and doc["verdict"] == explain.ERROR
    finally:
        runner._REGISTRY.pop("crashing", None)


def test_explain_exits_non_zero_when_an_engine_crashes(capsys):
    check_explain_reports_crashes(capsys)


# ---------------------------------------------------------------------------
# html: acknowledgements from the trace's data


def check_acknowledgements_from_data() -> None:
    from dataclasses import replace

    from .conftest import explored

    _, r = explored(str(IRQS_ON))
    t = r.prop("no_access_after_drain").trace
    assert t is not None
    handled = [k for k, s in enumerate(t.steps) if s.step == "ipi_handler"]
    assert handled
    # the same trace with its states shown differently (or not at all): the arrows must not change
    for relabel in (lambda d: {}, lambda d: {k: {"yes": "pending", "no": "-"}.get(v, v) for k, v in d.items()}):
        t2 = replace(t, initial=relabel(t.initial), steps=tuple(replace(s, state=relabel(s.state)) for s in t.steps))
        for k in handled:
            assert html.acknowledged(t2, k) == ["writer0"], k
        assert html.svg_chart(t2, html.lanes_of(t2)).count('<g class="ack">') == len(handled)
    assert all(html.acknowledged(t, k) == [] for k in range(len(t.steps)) if k not in handled)


def test_html_acknowledgements_come_from_the_ipis_sent_not_from_state_labels():
    check_acknowledgements_from_data()


def test_an_ipi_handled_before_a_second_kick_acknowledges_once():
    """Two kicks, a handler between them: each handler acknowledges the kick pending at that moment."""
    from .conftest import explored

    _, r = explored(str(IRQS_ON))
    t = r.prop("no_access_after_drain").trace
    assert t is not None
    for k, st_ in enumerate(t.steps):
        if st_.step != "ipi_handler":
            continue
        sent = [s for s in t.steps[:k] if st_.column in s.ipi_targets]
        taken = [s for s in t.steps[:k] if s.step == "ipi_handler" and s.column == st_.column]
        assert (html.acknowledged(t, k) != []) == (len(sent) > 0 and t.steps.index(sent[-1]) >
                                                   max((t.steps.index(x) for x in taken), default=-1))
