"""The explored state graph, as a networkx graph and as Graphviz DOT.

The explicit engine, asked to keep its graph, returns it as data
(``result.extra["graph"]``: readable ``nodes``, ``edges`` as
``(src, dst, actor, step)``, and ``paths``: property name -> the node ids of
its trace). `to_networkx` turns that into an `nx.MultiDiGraph` and marks the
path of one property; `to_dot` writes DOT with a small writer of its own
(networkx's pydot and pygraphviz bridges are optional packages). Node 0 is the
initial state; with CPU symmetry on, a node stands for every state that
differs from it only by a permutation of the interchangeable CPUs.

This is a report: it renders data an engine returned and runs nothing.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

DEFAULT_MAX_NODES = 2000


def to_networkx(graph: dict[str, Any], highlight: str | None = None) -> nx.MultiDiGraph:
    """The graph, with node/edge attribute ``on_path`` set along `highlight`'s path (a property name)."""
    g = nx.MultiDiGraph()
    path: list[int] = list(graph.get("paths", {}).get(highlight, [])) if highlight else []
    on_path = set(path)
    path_edges = set(zip(path, path[1:]))
    g.graph["highlight"] = highlight or ""
    g.graph["path"] = path
    for i, state in enumerate(graph["nodes"]):
        g.add_node(i, state=state, on_path=i in on_path, initial=i == 0, last=bool(path) and i == path[-1])
    marked: set[tuple[int, int]] = set()
    for a, b, actor, step in graph["edges"]:
        hit = (a, b) in path_edges and (a, b) not in marked
        if hit:
            marked.add((a, b))
        g.add_edge(a, b, actor=actor, step=step, on_path=hit)
    return g


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _summary(state: dict[str, str]) -> str:
    """A short label: the writers' positions and what each CPU holds."""
    parts = []
    for k, v in state.items():
        if k.startswith("writer_pc[") or (k.startswith("ac[") and v != "-"):
            parts.append(f"{k}={v}")
    return "\n".join(parts)


def to_dot(g: nx.MultiDiGraph, name: str = "slabproof") -> str:
    """Graphviz DOT for a graph made by `to_networkx`; the highlighted path in red."""
    hl = g.graph.get("highlight", "")
    lines = [f"digraph {_q(name)} {{",
             f"  graph [label={_q(name + (f' -- path of {hl} in red' if hl else ''))}, labelloc=t, fontsize=12];",
             '  node [shape=box, fontsize=9, fontname="monospace", style=rounded];',
             "  edge [fontsize=8];"]
    for n, d in g.nodes(data=True):
        attrs = [f"label={_q(f'{n}' + (chr(10) + _summary(d['state']) if _summary(d['state']) else ''))}",
                 f"tooltip={_q(chr(10).join(f'{k}={v}' for k, v in d['state'].items()))}"]
        if d.get("on_path"):
            attrs += ["color=red", "fontcolor=red", "penwidth=2"]
        elif d.get("initial"):
            attrs.append("penwidth=2")
        if d.get("last"):
            attrs += ["shape=doubleoctagon", 'style="filled"', 'fillcolor="#fdecea"']
        lines.append(f"  n{n} [{', '.join(attrs)}];")
    for a, b, d in g.edges(data=True):
        attrs = [f"label={_q(d['actor'] + ': ' + d['step'])}"]
        if d.get("on_path"):
            attrs += ["color=red", "fontcolor=red", "penwidth=2.5"]
        lines.append(f"  n{a} -> n{b} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
