"""Mermaid sequence diagrams of traces: one note per step, IPI arrows, the violation in a red rect."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from slabproof.report import html, mermaid

from .conftest import ROOT, SPECS
from .test_html import browser, irqs_on, never


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slabproof", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_diagram_has_a_participant_per_lane_and_a_note_per_step():
    t = never()
    src = mermaid.render(t)
    lines = src.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert [ln.split()[1] for ln in lines if ln.strip().startswith("participant")] == html.lanes_of(t)
    notes = [ln for ln in lines if ln.strip().startswith("Note over")]
    assert len(notes) == len(t.steps) + 1  # every step, and the conclusion over all lanes
    for st, note in zip(t.steps, notes):
        assert note.strip().startswith(f"Note over {st.column}:")
        assert f"{st.index}. {st.step}" in note.replace("#46;", ".")
    i = lines.index("    rect rgb(253, 220, 216)")
    assert "VIOLATION" in lines[i + 1] and lines[i + 2].strip() == "end"


def test_ipis_and_acks_are_messages():
    t = irqs_on()
    src = mermaid.render(t)
    assert src.count("->>cpu") == sum(len(s.ipi_targets) for s in t.steps)
    assert src.count("-->>writer0: ack") == sum(1 for s in t.steps if s.step == "ipi_handler")


def test_text_is_escaped_for_mermaid():
    src = mermaid.render(never())
    for ln in src.splitlines():
        if ":" not in ln or ln.startswith("sequenceDiagram"):
            continue
        text = ln.split(":", 1)[1]
        # every ';' and '#' left belongs to an entity code; no raw '<' or '>' but the <br/> breaks
        assert re.sub(r"#(\d+|lt|gt);", "", text).count(";") == 0, ln
        assert "#" not in re.sub(r"#(\d+|lt|gt);", "", text), ln
        assert "<" not in text.replace("<br/>", "") and ">" not in text.replace("<br/>", ""), ln
    assert "smp_wmb()#59; arr-#gt;entries[idx] = child" in src


def test_cli_mermaid_prints_only_the_diagram():
    p = run("check", str(SPECS / "memcg-never-3cpu.toml"), "--mermaid")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("sequenceDiagram\n")
    assert "slabproof check" not in p.stdout  # no table around it
    bad = run("check", str(SPECS / "memcg-never-3cpu.toml"), "--mermaid", "--json")
    assert bad.returncode == 2 and "choose one" in bad.stderr


MERMAID_JS = os.environ.get("SLABPROOF_MERMAID_JS", "")


@pytest.mark.skipif(not (MERMAID_JS and Path(MERMAID_JS).is_file() and browser()),
                    reason="set SLABPROOF_MERMAID_JS to a mermaid.min.js (npm install mermaid) and install chromium "
                           "to render the diagrams with Mermaid itself")
def test_mermaid_itself_parses_the_diagrams(tmp_path):
    for t in (never(), irqs_on()):
        page = tmp_path / "m.html"
        page.write_text(
            '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><div id="out"></div>'
            f'<script src="{Path(MERMAID_JS).as_uri()}"></script><script>'
            "mermaid.initialize({startOnLoad: false});"
            f"mermaid.render('g1', {json.dumps(mermaid.render(t))}).then(function (r) {{"
            "document.getElementById('out').innerHTML = r.svg; document.body.setAttribute('data-ok', 'yes');"
            "}).catch(function (e) { document.body.setAttribute('data-err', String(e)); });</script></body></html>")
        exe = browser()
        p = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update", "--disable-sync",
                            f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files",
                            "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                           capture_output=True, text=True, timeout=180)
        assert 'data-ok="yes"' in p.stdout, re.findall(r'data-err="[^"]*"', p.stdout)
