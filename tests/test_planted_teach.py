"""Planted defects in the teaching output, each put back by monkeypatching; the checks must notice."""

from __future__ import annotations

import io
import re
from functools import lru_cache
from typing import Any, Sequence

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from slabproof.report import glossary, html, teach
from slabproof.run import explain, runner

from .test_explain_prose import cut_words, uncovered
from .test_html import never
from .test_html_layout import visible


def test_truncated_box_text_is_caught(monkeypatch):
    monkeypatch.setattr(html, "_detail", lambda st: (st.note or st.text)[:20] + "…")
    t = never()
    svg = visible(html.svg_chart(t, html.lanes_of(t)))
    assert "…" in svg and not all(html.escape(st.note or st.text) in svg for st in t.steps)


def test_a_term_missing_from_the_glossary_is_caught(monkeypatch):
    monkeypatch.setattr(glossary, "_INDEX", {k: v for k, v in glossary._INDEX.items() if not k.startswith("csd_lock_wait")})
    assert "csd_lock_wait" in uncovered("the writer waits in csd_lock_wait")


def test_an_unexplained_undecided_beside_violated_is_caught():
    """The old output put "unknown" beside "violated" without saying why; the evidence line must say why."""
    ch = explain.Check("t", "never", "p", "always", "", explain.VIOLATED, "claim",
                       (explain.EngineFinding("explicit", explain.VIOLATED, "violated"),
                        explain.EngineFinding("param", explain.UNDECIDED, "not decided")), "as predicted")
    assert "never refute" in teach._evidence(ch, ("explicit", "param"))
    both = explain.Check("t", "never", "p", "always", "", explain.VIOLATED, "claim",
                         (explain.EngineFinding("explicit", explain.VIOLATED, "violated"),
                          explain.EngineFinding("bmc", explain.UNDECIDED, "no counterexample within its bound")),
                         "as predicted")
    assert "never refute" not in teach._evidence(both, ("explicit", "bmc"))  # bmc can refute: no such excuse




# ---------------------------------------------------------------------------
# the evidence at 80 columns: the old layout (a column per engine) and the old formula shortening cut words


def _old_short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _old_configs_table(x: Any) -> Table:
    t = Table(title="Configurations", title_justify="left")
    for h in ("configuration", "what it is", "IPI condition", *x.engines):
        t.add_column(h)
    for c in x.configs:
        by = {r["engine"]: r for r in c.results}
        t.add_row(c.key, c.title, c.ipi, *(f"{by[e]['verdict']} ({', '.join(by[e]['violated'])}), "
                                             f"{by[e]['seconds']:.2f}s" for e in x.engines))
    return t


def _old_claim_renderable(x: Any, n: int, traces: str, lanes: Sequence[str]) -> RenderableType:
    t = Table(show_header=True, box=None, padding=(0, 1), show_edge=False)
    for h in ("check", "on", "predicted", *(f"{e} found" for e in x.engines), ""):
        t.add_column(h)
    for ch in x.claims[n].checks:
        by = {f.engine: f for f in ch.findings}
        label = Text(ch.title + ("\n  " + teach._short(ch.formula, teach.FORMULA_WIDTH) if ch.formula else ""))
        t.add_row(label, ch.config, ch.expect, *(Text(f"{by[e].outcome}: {by[e].detail}") for e in x.engines),
                  ch.status)
    return t


@lru_cache(maxsize=None)
def _explanation() -> Any:
    return explain.explain(2, runner.RunOptions(engines=("explicit",)))


def _evidence_at(width: int) -> str:
    x = _explanation()
    c = Console(width=width, record=True, color_system=None, file=io.StringIO(), soft_wrap=True)
    c.print(teach.configs_table(x))
    for n in range(len(x.claims)):
        c.print(teach.claim_renderable(x, n, "none", ["writer0", "cpu0", "cpu1"]))
    return c.export_text()


def test_the_old_evidence_layout_cuts_words_and_is_caught(monkeypatch):
    assert cut_words(_evidence_at(80), _evidence_at(200)) == set()
    monkeypatch.setattr(teach, "configs_table", _old_configs_table)
    monkeypatch.setattr(teach, "claim_renderable", _old_claim_renderable)
    cut = cut_words(_evidence_at(80), _evidence_at(200))
    assert cut and any("_" in w for w in cut), cut  # identifiers, e.g. no_use_after_free cut to fit


def test_the_old_formula_shortening_cuts_a_word_and_is_caught(monkeypatch):
    monkeypatch.setattr(teach, "FORMULA_WIDTH", 30)
    assert not re.search(r"\w…", _evidence_at(200))
    monkeypatch.setattr(teach, "_short", _old_short)
    assert re.search(r"\w…", _evidence_at(200))
