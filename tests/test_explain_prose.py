"""`explain`'s default output: the argument as prose, claim by claim, each with its verdict line and evidence;
the history with the commit's figures beside the model's replay; the glossary covering every term used."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import lru_cache

from hypothesis import given, settings, strategies as st
from rich.console import Console

from slabproof.report import glossary, teach
from slabproof.run import explain, ipis, runner
from slabproof.run.ipis import Experiment, IpiRun

from .conftest import ROOT


def run(*args: str, columns: int | None = None) -> subprocess.CompletedProcess:
    env = None if columns is None else {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "slabproof", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)


@lru_cache(maxsize=None)
def prose(*args: str) -> str:
    p = run("explain", "--cpus", "2", *args)
    assert p.returncode == 0, p.stderr
    return p.stdout


@lru_cache(maxsize=None)
def evidence(columns: int) -> str:
    """`explain --evidence` by the explorer (cheap: the Z3 engines' findings add no term the explorer's lack)
    piped at `columns` columns."""
    p = run("explain", "--cpus", "2", "--evidence", "--engine", "explicit", "--traces", "none", columns=columns)
    assert p.returncode == 0, p.stderr
    return p.stdout


def plain(r) -> str:
    c = Console(width=200, record=True, color_system=None)
    c.print(r)
    return c.export_text()


def test_prose_fits_100_columns_and_names_its_engines():
    out = prose()
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert len(lines) <= 90
    assert "by explicit (every reachable state)" in out
    assert out.count(". CONFIRMED  ") == 7
    assert "Counterexample for" not in out  # no trace tables in the prose: --evidence has them


def test_claims_are_streamed_one_by_one_before_later_configurations_run():
    seen: list[tuple[str, object]] = []
    x = explain.explain(2, runner.RunOptions(engines=("explicit",)),
                        on_config=lambda key, title: seen.append(("config", key)),
                        on_claim=lambda c: seen.append(("claim", c.number)))
    claims = [n for what, n in seen if what == "claim"]
    assert claims == [1, 2, 3, 4, 5, 6, 7] and len(x.claims) == 7
    # claim 1 is printed before the configurations only later claims need (e.g. never, inverted)
    first = seen.index(("claim", 1))
    assert ("config", "inverted") in seen[first:] and ("config", "never") in seen[first:]


def test_verdict_line_of_a_violated_check_names_the_deciding_engine_and_why_provers_are_silent():
    from slabproof.results import Trace

    t = Trace(property="no_use_after_free", kind="counterexample", steps=(), initial={}, conclusion="")
    ch = explain.Check("a reader touches prev after it was freed", "never", "no_use_after_free", "always", "",
                       explain.VIOLATED, "claim",
                       (explain.EngineFinding("explicit", explain.VIOLATED, "x", t),
                        explain.EngineFinding("induction", explain.UNDECIDED, "not decided")),
                       "as predicted")
    ev = teach._evidence(ch, ("explicit", "induction"))
    assert "violated" in ev and "by explicit" in ev
    assert "induction: undecided (they prove, never refute)" in ev


def _fake(before: int, after: int) -> Experiment:
    mk = lambda cond, n: IpiRun(cond, 4, 7, 1, 1, 7, 7, 0, 3 * n, (n, 0, n, n), 0, 7)  # noqa: E731
    return Experiment(4, 7, 1, 1, (mk("always", before), mk("if-prev", after)), (), ())


def test_history_quotes_the_commit_and_prints_the_replay_it_is_given():
    a, b = plain(teach.history_text(_fake(1234, 5))), plain(teach.history_text(_fake(999, 0)))
    assert "+47,741 IPIs before, +101 after" in a and "10,000 memcgs" in a
    assert "+1,234 at CPU 0 before, +5 after" in a and "+999 at CPU 0 before, +0 after" in b
    assert "__do_tune_cpucache()" in a and "memcg_create_kmem_cache()" in a


def test_cli_history_is_the_live_replay():
    e = ipis.experiment(4, ipis.COMMIT_MEMCGS, 1, sweep=False)
    before = next(r for r in e.table if r.condition == "always")
    assert f"+{before.received_cpu0:,} at CPU 0 before" in prose()


# ---------------------------------------------------------------------------
# the glossary

JARGON = re.compile(r"[A-Za-z_][\w>\-]*\(\)|\b[a-z]+_[a-z_]+\b|\b\w+#\d\b|\bIPIs?\b|\bmemcgs?\b|\bIRQs\b")


def uncovered(text: str) -> set[str]:
    words = {w.removesuffix("->") for w in JARGON.findall(text)}
    return {w for w in words if glossary.lookup(w) is None and not w.startswith("claim:")}


def test_every_term_of_the_prose_and_the_evidence_is_in_the_glossary():
    assert uncovered(prose()) == set()
    assert uncovered(evidence(80)) == set()


def cut_words(narrow: str, wide: str) -> set[str]:
    """The terms of `narrow` that `wide` (the same output, wider) does not have, and every word an ellipsis
    ends: what a renderer cut to fit."""
    return (set(JARGON.findall(narrow)) - set(JARGON.findall(wide))) | set(re.findall(r"\S*\w…", narrow))


def test_the_evidence_cuts_no_word_at_80_columns():
    """A table with a column per engine cut identifiers to fit 80 or 100 columns ('kmem_c…', 'no_use_…')."""
    narrow, wide = evidence(80), evidence(200)
    assert max(len(line) for line in narrow.splitlines() if line.startswith(("│", "┃", "┏", "└"))) <= 80
    assert cut_words(narrow, wide) == set()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.from_regex(r"[a-z_()\[\]#0-9]{1,30}", fullmatch=True), min_size=1, max_size=40),
       st.integers(min_value=8, max_value=120))
def test_a_shortened_formula_ends_on_a_whole_word(words, width):
    text = " ".join(words)
    short = teach._short(text, width)
    if len(text) <= width:
        assert short == text
    else:
        kept = short.removesuffix(" …").removesuffix("…")
        assert len(short) <= width + 1 and (text.startswith(kept + " ") or len(words[0]) >= width - 1)


def test_the_coverage_check_can_fail():
    assert uncovered("the writer calls frobnicate_widget() on root#0") == {"frobnicate_widget()"}


def test_glossary_defines_the_terms_the_issue_names_and_renders_three_ways():
    for w in ("array cache", "kmem_cache", "memcg", "root", "child", "slabinfo_write", "drain", "fresh", "retired",
              "root#0", "csd_lock_wait", "setup_node", "visible[]", "witness", "non-vacuity", "contrast", "bmc",
              "induction", "param", "Houdini", "drained", "freed"):
        assert glossary.lookup(w) is not None, w
    assert (ROOT / "docs" / "glossary.md").read_text() == glossary.markdown()
    assert run("explain", "--glossary").stdout == glossary.text()
    html = glossary.html_section()
    assert all(f'id="{t.anchor}"' in html for t in glossary.TERMS)
    assert len({t.anchor for t in glossary.TERMS}) == len(glossary.TERMS)


def test_the_report_names_outcomes_as_explain_does():
    assert (teach.HOLDS, teach.VIOLATED, teach.UNDECIDED, teach.CRASHED, teach.SAME, teach.DIFFERENT) == (
        explain.HOLDS, explain.VIOLATED, explain.UNDECIDED, explain.CRASHED, explain.SAME, explain.DIFFERENT)
