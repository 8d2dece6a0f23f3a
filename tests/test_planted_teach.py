"""Planted defects in the teaching output, each put back by monkeypatching; the checks must notice."""

from __future__ import annotations

from slabproof.report import glossary, html, teach
from slabproof.run import explain

from .test_explain_prose import uncovered
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


