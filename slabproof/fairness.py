"""Liveness under fairness: every wait of a writer ends (docs/liveness.md).

`writer_waits_end_under_fairness` asks: in every *fair* infinite run, does
every writer that waits -- at ``csd_lock_wait`` (the wait of
``smp_call_function_many()`` inside ``kick_all_cpus_sync()``) or at
``mutex_lock(&slab_mutex)`` -- get past the wait? A violation is a lasso: a
path from the initial state into a set of states where the writer waits, and a
cycle there that the run repeats forever while respecting the fairness
assumption (or a state where no actor bound by fairness can step, which a
fair run may stay in forever: a cycle of length 0).

The fairness assumption, per actor (an actor is a lane of the trace:
``writerW``, ``cpuN`` the reader, ``cpuN.ipi``, ``cpuN.reaper``):

* **weak** fairness for a reader *inside* a section (``pc != 0``): a reader
  section that can go on eventually does; a reader at ``pc = 0`` may stay out
  of sections forever (it is not obliged to allocate);
* **strong** fairness for the IPI handler: an IPI that is pending while the
  CPU's IRQs are on infinitely often is eventually handled (the hardware
  takes a pending interrupt when ``local_irq_restore()`` re-enables IRQs);
* **strong** fairness for the writer and for a reaper inside its round: a
  task the scheduler can run infinitely often eventually runs (the writer's
  CPU runs reader sections between its steps, so the writer is enabled only
  now and then);
* **mutex handoff**: a writer waiting in ``mutex_lock()`` counts as enabled
  in every state where ``slab_mutex`` is free, even while its CPU is inside a
  reader section: a mutex released infinitely often is eventually given to
  its waiter (the handoff of ``__mutex_lock_common()``, MUTEX_FLAG_HANDOFF,
  since v4.10). Without it, reapers whose ``mutex_trylock()`` always comes
  while the writer's CPU is inside a reader section starve the writer, a run
  the kernel's mutex rules out but the model's plain mutex does not.

Weak fairness alone for the IPI handler and the writer is not enough for the
kernel's code: a CPU that re-enters reader sections forever would starve a
pending IPI whose handler is enabled only between two sections.

Every cycle of a graph lies in one strongly connected component (SCC). The
search (Emerson-Lei style) looks, inside the states where a writer waits, for
an SCC with an edge in which every strongly fair actor that is enabled
somewhere takes a step, and every weakly fair actor that is enabled in every
state takes a step; an SCC that fails a strong condition is searched again
without the states where that actor is enabled.

Symmetry: a cycle of the symmetry-reduced graph is in general not a cycle of
the system (it returns to a permutation of its start, with the actors
renamed), so this check always runs on the unreduced graph: the explorer's own
when its symmetry reduction is off or does nothing, otherwise a second
breadth-first search with `symmetry=False`.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import networkx as nx

from slabproof.model import FAIRNESS, PROPERTY_DOCS
from slabproof.results import PropertyResult

WAIT_STEPS = ("csd_lock_wait", "mutex_lock")
ASSUMPTION = ("weak fairness for a reader inside its section; strong fairness for the IPI handler, "
              "the writer and a reaper inside its round; slab_mutex handed off to a waiting writer")

WEAK, STRONG = "weak", "strong"


@dataclass(frozen=True)
class Graph:
    """An unreduced state graph: states, and for each its out-edges (instance id, successor id)."""

    states: list[tuple[int, ...]]
    out: list[list[tuple[int, int]]]
    parent: list[int]
    parent_step: list[int]


def constraints(comp) -> dict[int, tuple[str, str]]:
    """Instance id -> (actor, 'weak' | 'strong') for every instance bound by fairness (see the module doc)."""
    out: dict[int, tuple[str, str]] = {}
    for inst in comp.instances:
        act = comp.action(inst.id)
        if act.actor == "writer":
            out[inst.id] = (inst.actor, STRONG)
        elif act.actor == "ipi":
            out[inst.id] = (inst.actor, STRONG)
        elif act.actor == "cpu" and act.pc != 0:
            out[inst.id] = (inst.actor, WEAK)
        elif act.actor == "reaper" and act.pc != 0:
            out[inst.id] = (inst.actor, STRONG)
        elif act.actor == "flush":  # a store buffer drains eventually (memory "tso" / "relaxed")
            out[inst.id] = (inst.actor, WEAK)
    return out


def build_graph(comp, max_states: int | None, deadline: float | None) -> Graph | str:
    """Breadth-first search of `comp` (compiled without symmetry); a reason string when a limit ends it."""
    init = comp.init
    index = {init: 0}
    states = [init]
    out: list[list[tuple[int, int]]] = []
    parent, parent_step = [-1], [-1]
    i = 0
    while i < len(states):
        if deadline is not None and i & 1023 == 0 and time.perf_counter() > deadline:
            return "time limit reached in the unreduced search"
        edges = []
        for iid, nxt in comp.succ(states[i]):
            j = index.get(nxt)
            if j is None:
                j = len(states)
                if max_states is not None and j >= max_states:
                    return f"state limit of {max_states} reached in the unreduced search"
                index[nxt] = j
                states.append(nxt)
                parent.append(i)
                parent_step.append(iid)
            edges.append((iid, j))
        out.append(edges)
        i += 1
    return Graph(states, out, parent, parent_step)


def waiting(comp, s: tuple[int, ...]) -> list[tuple[int, str]]:
    """The writers waiting in state `s`: (writer, step) for each at a wait position."""
    pos = getattr(comp, "_wait_positions", None)
    if pos is None:
        pos = {(a.writer, a.pc): a.step for a in comp.system.actions
               if a.actor == "writer" and a.step in WAIT_STEPS}
        comp._wait_positions = pos
    out = []
    for w in range(len(comp.system.writer_end)):
        step = pos.get((w, s[comp.layout.slot[("writer_pc", w)]]))
        if step is not None:
            out.append((w, step))
    return out


def _fair_scc(g: Graph, region: set[int], cons: dict[int, tuple[str, str]], fair: bool,
              handoff=lambda s: set()) -> tuple[list[int], set[int]] | None:
    """(a stutter state) or (an SCC) inside `region` holding a fair cycle; None when there is none.

    With `fair=False` every cycle counts (the check that ignores fairness).
    """
    kinds = {k: kind for k, kind in cons.values()}

    def enabled(s: int) -> set[str]:
        return {cons[iid][0] for iid, _ in g.out[s] if iid in cons} | handoff(s)

    if fair:
        for s in sorted(region):
            if not enabled(s):  # nobody bound by fairness can step: a fair run may stay here forever
                return [s], set()
    else:
        for s in sorted(region):
            if not g.out[s]:
                return [s], set()
    work = [region]
    while work:
        part = work.pop()
        sub = nx.DiGraph()
        sub.add_nodes_from(part)
        sub.add_edges_from((a, b) for a in part for _, b in g.out[a] if b in part)
        for comp_nodes in sorted(nx.strongly_connected_components(sub), key=min):
            c = set(comp_nodes)
            if len(c) == 1:
                (a,) = c
                if not any(b == a for _, b in g.out[a]):
                    continue
            if not fair:
                return sorted(c), c
            taken = {cons[iid][0] for a in c for iid, b in g.out[a] if b in c and iid in cons}
            en = {a: enabled(a) for a in c}
            somewhere = set().union(*en.values())
            everywhere = set.intersection(*en.values()) if en else set()
            bad_strong = {k for k in somewhere - taken if kinds[k] == STRONG}
            if bad_strong:
                rest = {a for a in c if not (en[a] & bad_strong)}
                if rest:
                    work.append(rest)
                continue
            if any(kinds[k] == WEAK for k in everywhere - taken):
                continue
            return sorted(c), c
    return None


def _path_in(g: Graph, inside: set[int], src: int, goal) -> list[tuple[int, int]]:
    """Shortest list of edges (instance id, state) from `src` to a state satisfying `goal`, within `inside`."""
    if goal(src):
        return []
    prev: dict[int, tuple[int, int]] = {src: (-1, -1)}
    q = deque([src])
    while q:
        a = q.popleft()
        for iid, b in g.out[a]:
            if b in inside and b not in prev:
                prev[b] = (a, iid)
                if goal(b):
                    path = []
                    while b != src:
                        pa, pi = prev[b]
                        path.append((pi, b))
                        b = pa
                    return path[::-1]
                q.append(b)
    raise RuntimeError("no path inside a strongly connected component")  # pragma: no cover


def lasso(g: Graph, cons: dict[int, tuple[str, str]], found: tuple[list[int], set[int]],
          fair: bool) -> tuple[list[tuple[int, int]], int]:
    """(steps as (instance id, state), index where the cycle starts) for a fair SCC or stutter state."""
    nodes, c = found
    entry = nodes[0]
    prefix: list[tuple[int, int]] = []
    s = entry
    while g.parent[s] != -1:
        prefix.append((g.parent_step[s], s))
        s = g.parent[s]
    prefix.reverse()
    if not c:
        return prefix, len(prefix)
    cycle: list[tuple[int, int]] = []
    cur = entry
    if fair:
        taken_edges: dict[str, tuple[int, int, int]] = {}
        for a in nodes:
            for iid, b in g.out[a]:
                if b in c and iid in cons and cons[iid][0] not in taken_edges:
                    taken_edges[cons[iid][0]] = (a, iid, b)
        disabled_at: dict[str, int] = {}
        actors = {k for k, _ in cons.values()}
        for k in sorted(actors - set(taken_edges)):
            for a in nodes:
                if not any(cons.get(iid, ("",))[0] == k for iid, _ in g.out[a]):
                    disabled_at[k] = a
                    break
        for k in sorted(taken_edges):
            a, iid, b = taken_edges[k]
            cycle += _path_in(g, c, cur, lambda x, a=a: x == a)
            cycle.append((iid, b))
            cur = b
        for k in sorted(disabled_at):
            cycle += _path_in(g, c, cur, lambda x, t=disabled_at[k]: x == t)
            cur = disabled_at[k]
    if not cycle:
        iid, b = next((iid, b) for iid, b in g.out[entry] if b in c)
        cycle.append((iid, b))
        cur = b
    cycle += _path_in(g, c, cur, lambda x: x == entry)
    return prefix + cycle, len(prefix)


def check(comp, graph: Graph | str, trace_of) -> tuple[PropertyResult, dict]:
    """`writer_waits_end_under_fairness` on an unreduced graph (or the reason the graph is missing).

    `trace_of(steps, loop_start, conclusion)` turns (instance id, state) steps into a `Trace`.
    Returns the property result and a note for the engine result's `extra["fairness"]`.
    """
    doc = PROPERTY_DOCS[FAIRNESS]
    note: dict = {"assumption": ASSUMPTION}
    if isinstance(graph, str):
        note["undecided"] = graph
        return PropertyResult(FAIRNESS, "always", doc, None), note
    cons = constraints(comp)
    region = {k for k, s in enumerate(graph.states) if waiting(comp, s)}
    mslot = comp.layout.slot[("slab_mutex", None)]

    def handoff(sid: int) -> set[str]:
        s = graph.states[sid]
        if s[mslot] != 0:
            return set()
        return {f"writer{w}" for w, step in waiting(comp, s) if step == "mutex_lock"}

    fair = _fair_scc(graph, region, cons, True, handoff)
    unfair = _fair_scc(graph, region, cons, False)
    if unfair is not None and fair is None:
        steps, start = lasso(graph, cons, unfair, False)
        who = sorted({comp.instances[iid].actor for iid, _ in steps[start:]})
        starved = sorted({cons[iid][0] for a in unfair[0] for iid, _ in graph.out[a] if iid in cons}
                         - {cons[iid][0] for iid, _ in steps[start:] if iid in cons})
        w = waiting(comp, graph.states[unfair[0][0]])
        note["without_fairness"] = (
            f"an unfair cycle exists: writer{w[0][0]} waits at {w[0][1]} while {', '.join(who)} "
            f"keep stepping forever" + (f" and {', '.join(starved)}, though enabled, never step" if starved else ""))
    if fair is None:
        return PropertyResult(FAIRNESS, "always", doc, True), note
    steps, start = lasso(graph, cons, fair, True)
    final = graph.states[steps[start - 1][1]] if start else comp.init
    w = waiting(comp, final)
    what = "; ".join(f"writer{x} waits at {step}" for x, step in w)
    if start == len(steps):
        concl = (f"{what}, and in the last state no actor bound by fairness can step: the run may stay there "
                 f"forever ({FAIRNESS} is violated, assuming {ASSUMPTION})")
    else:
        concl = (f"{what}, and steps {start + 1}-{len(steps)} repeat forever, a fair cycle: {FAIRNESS} is "
                 f"violated (assuming {ASSUMPTION})")
    return PropertyResult(FAIRNESS, "always", doc, False, trace_of(steps, start, concl)), note
