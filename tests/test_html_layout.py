"""The HTML page as a person sees it: the story, the lanes that matter, pinned columns, the witness carried
through the IPI wait, --compare, and (in headless Chromium) the rendered layout at 1280 px."""

from __future__ import annotations

import json
import re
import subprocess
from functools import lru_cache
from html import unescape
from pathlib import Path

import pytest

from slabproof import model
from slabproof.report import glossary, html
from slabproof.results import Trace
from slabproof.run import runner, witness

from .conftest import SPECS
from .test_html import browser, needs_browser, never, run


@lru_cache(maxsize=None)
def patched_witness() -> Trace:
    s = runner.load_all([str(SPECS / "memcg-if-prev-2cpu.toml")])[0]
    o = runner.run_spec(s, runner.RunOptions(engines=("explicit",)))
    t = o.results[0].prop("reader_holds_prev_at_publish").trace
    assert t is not None
    return witness.through_the_wait(model.build(s), t)


def test_story_of_the_never_trace_is_told_from_its_data():
    t = never()
    s = html.story(t)
    cpu, ac = html.focus(t)
    assert cpu == "cpu1" and ac == "root#0"
    assert "cpu1 turns IRQs off (step 1) and loads root's array cache root#0 (step 2" in s
    assert "sends no IPI" in s and "free_block()" in s and "free_percpu()" in s
    assert "no_use_after_free is violated" in s


def test_idle_lanes_are_collapsed_and_the_focus_cpu_comes_first():
    shown, idle = html.ordered_lanes(never(), html.lanes_of(never()))
    assert shown == ["writer0", "cpu1"] and idle == ["cpu0", "cpu2"]
    p = html.render(never(), spec_name="s")
    assert "cpu0, cpu2: idle throughout" in p


def test_pinned_columns_are_those_of_the_story():
    assert html.pinned_keys(never()) == ["irqs_off[cpu1]", "ac[cpu1]", "ac_state[root#0]", "prev[0]"]


def visible(svg: str) -> str:
    """The chart without its hover tooltips (what the boxes themselves show)."""
    return re.sub(r"<title>.*?</title>", "", svg, flags=re.S)


def test_box_text_is_never_cut():
    t = never()
    svg = visible(html.svg_chart(t, html.lanes_of(t)))
    assert "…" not in svg
    for st in t.steps:
        assert html.escape(st.note or st.text) in svg


def test_witness_continues_through_the_wait_ack_only_after_irq_restore():
    t = patched_witness()
    steps = [(s.column, s.step) for s in t.steps]
    holder, prev = html.focus(t)
    assert holder and prev
    kick = next(k for k, s in enumerate(t.steps) if s.step == "smp_call_function" and s.ipi_targets)
    assert holder in t.steps[kick].ipi_targets
    restore = next(k for k in range(kick, len(t.steps)) if steps[k] == (holder, "local_irq_restore"))
    ack = next(k for k in range(kick, len(t.steps)) if t.steps[k].step == "ipi_handler"
               and t.steps[k].column == holder)
    wait = next(k for k in range(kick, len(t.steps)) if t.steps[k].step == "csd_lock_wait")
    assert restore < ack < wait
    assert t.steps[-1].state[f"ac_state[{prev}]"] == "freed"
    svg = html.svg_chart(t, html.lanes_of(t))
    assert 'class="blocked"' in svg and svg.count('<g class="ipi">') >= 1 and '<g class="ack">' in svg
    assert "acknowledges only after its local_irq_restore()" in html.story(t)


def test_page_labels_are_in_the_glossary():
    p = html.render(never(), spec_name="s")
    heads = re.findall(r"<th>(?:<a[^>]*>)?([^<]+)", p)
    assert heads
    missing = {h for h in heads if glossary.lookup(h.split("[")[0]) is None}
    assert missing == set()
    names = {s.step for s in never().steps}
    assert {n for n in names if glossary.lookup(n) is None} == set()
    assert 'id="glossary"' in p and 'class="term"' in p


def test_cli_compare_draws_the_patched_witness_beside_the_violation(tmp_path):
    out = tmp_path / "c.html"
    p = run("check", str(SPECS / "memcg-never-2cpu.toml"), "--property", "no_use_after_free", "--html", str(out),
            "--compare", str(SPECS / "memcg-if-prev-2cpu.toml"))
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    assert 'class="compare"' in text and 'id="b-step-1"' in text and 'id="step-1"' in text
    assert "blocked in csd_lock_wait" in text
    bad = run("check", str(SPECS / "memcg-never-2cpu.toml"), "--compare", str(SPECS / "memcg-if-prev-2cpu.toml"))
    assert bad.returncode == 2 and "--compare" in bad.stderr


# ---------------------------------------------------------------------------
# the rendered layout, in headless Chromium

MEASURE = """<script>
(function () {
  var min = 1000, small = [];
  document.querySelectorAll('body *').forEach(function (el) {
    var own = Array.prototype.some.call(el.childNodes, function (n) {
      return n.nodeType === 3 && n.textContent.trim() !== '';
    });
    if (!own || el.closest('title,style,script') || el.tagName === 'title') return;
    var r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0 && !el.closest('details:not([open])')) return;
    var f = parseFloat(getComputedStyle(el).fontSize);
    if (f < min) min = f;
    if (f < 12) small.push(el.tagName + ':' + el.textContent.trim().slice(0, 30));
  });
  var d = document.documentElement;
  document.body.setAttribute('data-layout', JSON.stringify({
    minFont: min, small: small.slice(0, 5), scrollWidth: d.scrollWidth, innerWidth: window.innerWidth}));
})();
</script></body>"""


def measure(page: str, tmp: Path) -> dict:
    f = tmp / "page.html"
    f.write_text(page.replace("</body>", MEASURE), encoding="utf-8")
    exe = browser()
    assert exe is not None
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={tmp / 'profile'}", "--window-size=1280,2000"]
    shot = tmp / "page.png"
    p = subprocess.run(args + [f"--screenshot={shot}", f.as_uri()], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", p.stderr[-1000:]
    p = subprocess.run(args + ["--dump-dom", f.as_uri()], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-1000:]
    m = re.search(r'data-layout="([^"]*)"', p.stdout)
    assert m, p.stdout[-2000:]
    return json.loads(unescape(m.group(1)))


@needs_browser
@pytest.mark.parametrize("which", ["never", "witness", "compare"])
def test_rendered_page_fits_1280_px_with_readable_text(which, tmp_path):
    if which == "never":
        page = html.render(never(), spec_name="memcg-never-3cpu")
    elif which == "witness":
        page = html.render(patched_witness(), spec_name="memcg-if-prev-2cpu")
    else:
        page = html.render(never(), spec_name="never", compare=(patched_witness(), "if-prev", "", None))
    m = measure(page, tmp_path)
    assert m["scrollWidth"] <= m["innerWidth"], m
    assert m["minFont"] >= 12, m


@needs_browser
def test_the_layout_check_can_fail(tmp_path):
    page = ('<!DOCTYPE html><html><body><p style="font-size:8px">tiny</p><div style="width:3000px">wide</div>'
            "</body></html>")
    m = measure(page, tmp_path)
    assert m["minFont"] < 12 and m["scrollWidth"] > m["innerWidth"]
