"""Counterexample pages: the chart, the state table, the CLI, and a real headless browser.

The browser test needs Debian's `chromium` (`apt-get install -y chromium`); it
is skipped, saying so, when no Chromium or Chrome is on PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from slabproof.report import html
from slabproof.results import Trace

from .conftest import ROOT, SPECS, explored

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slabproof", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@lru_cache(maxsize=None)
def trace_of(name: str, prop: str) -> Trace:
    _, r = explored(str(SPECS / name))
    t = r.prop(prop).trace
    assert t is not None
    return t


def never() -> Trace:
    return trace_of("memcg-never-3cpu.toml", "no_use_after_free")


def irqs_on() -> Trace:
    return trace_of("whatif-irqs-on-between-load-and-use.toml", "no_access_after_drain")


def page(t: Trace) -> str:
    return html.render(t, spec_name="spec", description="a description", property_doc="the doc")


def test_page_is_self_contained():
    p = page(never())
    assert p.startswith("<!DOCTYPE html>") and p.rstrip().endswith("</html>")
    assert "<svg" in p and "<style>" in p
    # nothing fetched: no external script, style, image or font
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", p)
    assert "@import" not in p and "url(http" not in p
    assert re.findall(r"https?://[^\s\"'<]+", p) == ["http://www.w3.org/2000/svg"]  # the SVG namespace only


def test_every_step_has_a_box_and_a_state_row_and_the_violation_is_marked():
    t = never()
    p = page(t)
    svg = html.svg_chart(t, html.lanes_of(t))
    assert svg.count('<g class="step') == len(t.steps)
    assert svg.count('<g class="step violating"') == 1
    table = html.state_table(t)
    assert table.count("<tr") == len(t.steps) + 2  # header, initial state, one per step
    assert table.count('class="viol"') == 1
    for st in t.steps:
        assert f'id="step-{st.index}"' in svg and f'id="state-{st.index}"' in table
        assert html.escape(st.function) in svg
    assert "Violated property:" in p and "no_use_after_free" in p and "the doc" in p
    assert html.escape(t.conclusion) in p
    viol = next(s for s in t.steps if s.violating)
    assert f'href="#step-{viol.index}"' in p


def test_lanes_are_writers_then_cpus():
    assert html.lanes_of(never()) == ["writer0", "cpu0", "cpu1", "cpu2"]


def test_ipis_and_acknowledgements_are_arrows():
    t = irqs_on()
    svg = html.svg_chart(t, html.lanes_of(t))
    sent = sum(len(s.ipi_targets) for s in t.steps)
    handled = [k for k, s in enumerate(t.steps) if s.step == "ipi_handler"]
    assert sent > 0 and handled
    assert svg.count('<g class="ipi">') == sent
    assert svg.count('<g class="ack">') == sum(len(html.acknowledged(t, k)) for k in handled) == len(handled)
    assert all(html.acknowledged(t, k) == ["writer0"] for k in handled)


def test_changed_state_cells_are_marked():
    t = never()
    table = html.state_table(t)
    rows = table.split("<tr")[3:]  # the steps' rows
    for st, row in zip(t.steps, rows):
        prev = t.steps[st.index - 2].state if st.index > 1 else t.initial
        changed = sum(1 for k in t.initial if st.state[k] != prev[k])
        assert row.count('class="chg"') == changed


def test_cli_html_writes_the_shortest_counterexample(tmp_path):
    out = tmp_path / "never.html"
    p = run("check", str(SPECS / "memcg-never-3cpu.toml"), "--html", str(out))
    assert p.returncode == 0, p.stderr
    assert f"wrote {out}: counterexample for" in p.stdout
    text = out.read_text()
    assert "Counterexample for" in text and "memcg-never-3cpu" in text


def test_cli_html_of_a_safe_spec_draws_its_witness(tmp_path):
    out = tmp_path / "w.html"
    p = run("check", str(SPECS / "memcg-if-prev-2cpu.toml"), "--html", str(out))
    assert p.returncode == 0, p.stderr
    assert "Witness for <code>reader_holds_prev_at_publish</code>" in out.read_text()


@pytest.mark.parametrize("args,needle", [
    (("check", "specs", "--html", "x.html"), "exactly one spec file"),
    (("check", "specs/memcg-never-2cpu.toml", "--html", "x.html", "--property", "nope"), "unknown property 'nope'"),
    (("check", "specs/memcg-never-2cpu.toml", "--html", "/no/such/dir/x.html"), "cannot write"),
    (("check", "specs/memcg-if-prev-2cpu.toml", "--html", "x.html", "--property", "no_use_after_free"),
     "nothing to draw"),
])
def test_cli_html_refuses_with_one_line_and_exit_2(args, needle, tmp_path):
    p = run(*args)
    assert p.returncode == 2, p.stdout
    assert needle in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (ROOT / "x.html").exists()


# ---------------------------------------------------------------------------
# a real browser


def browser() -> str | None:
    for b in BROWSERS:
        path = shutil.which(b)
        if path:
            return path
    return None


def load_in_browser(path: Path, profile: Path) -> tuple[str, str]:
    """(the DOM after load, the browser's log) for a local file, with console messages logged."""
    exe = browser()
    assert exe is not None
    p = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom",
                        path.as_uri()], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout, p.stderr


def script_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if "CONSOLE" in line and re.search(r"Uncaught|Error", line)]


needs_browser = pytest.mark.skipif(browser() is None, reason="no headless browser: install Debian's chromium "
                                                             "(apt-get install -y chromium) to run this test")


@needs_browser
def test_browser_notices_a_script_error(tmp_path):
    """The check below can fail: a page with a broken script is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><p>x</p><script>notDefinedAnywhere();</script></body></html>")
    dom, log = load_in_browser(bad, tmp_path / "profile")
    assert script_errors(log), log[-2000:]


@needs_browser
def test_page_loads_in_a_real_browser_without_script_errors_and_shows_every_step(tmp_path):
    t = irqs_on()
    f = tmp_path / "cex.html"
    f.write_text(page(t), encoding="utf-8")
    dom, log = load_in_browser(f, tmp_path / "profile")
    assert script_errors(log) == []
    assert 'data-ready="yes"' in dom  # the page's script ran to its end
    for st in t.steps:
        assert f'id="step-{st.index}"' in dom, st.index
        assert f'id="state-{st.index}"' in dom, st.index
        assert f'<li value="{st.index}"' in dom, st.index
    assert dom.count('<g class="ipi">') == sum(len(s.ipi_targets) for s in t.steps)
    assert 'class="step violating"' in dom
