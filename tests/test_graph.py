"""The state graph: networkx from the explorer's data, DOT with the trace's path in red, the size limit."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.report import graph

from .conftest import ROOT, SPECS

NEVER2 = SPECS / "memcg-never-2cpu.toml"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slabproof", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def explored_graph(path=NEVER2):
    r = checker.explore(model.build(spec.load(path)), keep_graph=True)
    return r, r.extra["graph"]


def test_networkx_graph_is_the_explored_graph_with_the_path_marked():
    r, data = explored_graph()
    g = graph.to_networkx(data, "no_use_after_free")
    assert g.number_of_nodes() == r.states
    assert g.number_of_edges() == r.transitions
    path = data["paths"]["no_use_after_free"]
    assert path[0] == 0 and g.graph["path"] == path
    assert sum(1 for _, _, d in g.edges(data=True) if d["on_path"]) == len(path) - 1
    assert {n for n, d in g.nodes(data=True) if d["on_path"]} == set(path)
    # each marked edge really joins consecutive path states
    for a, b, d in g.edges(data=True):
        if d["on_path"]:
            assert path.index(b) == path.index(a) + 1
    # the trace's length matches the path (the counterexample adds its culprit step)
    assert r.prop("no_use_after_free").trace.length == len(path) - 1


def test_dot_has_every_node_and_edge_and_a_red_path():
    r, data = explored_graph()
    g = graph.to_networkx(data, "no_use_after_free")
    dot = graph.to_dot(g, "never")
    assert dot.startswith('digraph "never" {') and dot.rstrip().endswith("}")
    assert len(re.findall(r"^  n\d+ \[", dot, re.M)) == r.states
    assert len(re.findall(r"^  n\d+ -> n\d+ ", dot, re.M)) == r.transitions
    red_edges = [ln for ln in dot.splitlines() if "->" in ln and "color=red" in ln]
    assert len(red_edges) == len(data["paths"]["no_use_after_free"]) - 1
    assert dot.count("doubleoctagon") == 1


@pytest.mark.skipif(shutil.which("nop") is None, reason="Graphviz is not installed (apt-get install graphviz)")
def test_graphviz_accepts_the_dot(tmp_path):
    r, data = explored_graph()
    f = tmp_path / "g.dot"
    f.write_text(graph.to_dot(graph.to_networkx(data, "no_use_after_free"), 'a "quoted" name'))
    # Graphviz's parser without a layout (laying out a thousand nodes takes minutes)
    p = subprocess.run(["nop", str(f)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    bad = tmp_path / "bad.dot"
    bad.write_text(f.read_text().replace("->", "-> ->", 1))
    assert subprocess.run(["nop", str(bad)], capture_output=True, text=True, timeout=300).returncode != 0


def test_cli_graph_writes_dot(tmp_path):
    out = tmp_path / "g.dot"
    p = run("graph", str(NEVER2), "--dot", str(out))
    assert p.returncode == 0, p.stderr
    r, data = explored_graph()
    assert f"{r.states:,} states" in p.stdout and "in red" in p.stdout
    assert len(re.findall(r"^  n\d+ \[", out.read_text(), re.M)) == r.states


def test_cli_graph_highlights_a_witness_on_request(tmp_path):
    out = tmp_path / "g.dot"
    p = run("graph", str(SPECS / "memcg-if-prev-2cpu.toml"), "--dot", str(out), "--property",
            "reader_holds_prev_at_publish")
    assert p.returncode == 0, p.stderr
    assert "path of reader_holds_prev_at_publish" in p.stdout
    assert "color=red" in out.read_text()


@pytest.mark.parametrize("args,needle", [
    (("--max-nodes", "100"), "more than 100 states"),
    (("--property", "nope"), "unknown property 'nope'"),
    (("--cpus", "9"), "valid: 1 to 8"),
])
def test_cli_graph_refuses_with_one_line_and_exit_2(args, needle, tmp_path):
    out = tmp_path / "g.dot"
    p = run("graph", str(NEVER2), "--dot", str(out), *args)
    assert p.returncode == 2, p.stdout
    assert needle in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_graph_limit_can_be_raised(tmp_path):
    out = tmp_path / "g.dot"
    big = SPECS / "memcg-never-3cpu.toml"
    refused = run("graph", str(big), "--dot", str(out))
    assert refused.returncode == 2 and "--max-nodes" in refused.stderr
    ok = run("graph", str(big), "--dot", str(out), "--max-nodes", "100000")
    assert ok.returncode == 0, ok.stderr
    assert out.exists()
