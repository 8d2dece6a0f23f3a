"""The explicit-state engine: breadth-first over every interleaving.

The model's actions (guards and updates in the language of `expr`) are
compiled once into one Python function that maps a state tuple to its
successors. Breadth-first search with a hash table of visited states gives,
for each violated `always` property, a shortest counterexample, and for each
`sometimes` property a shortest witness. The whole graph is kept, so that
after the search the engine can also decide `writer_terminates` (from every
reachable state a state where every writer has finished is reachable).

Symmetry: the CPUs that run no writer are interchangeable (same program, same
IPI treatment), so by default a state is stored in a canonical form with those
CPUs' blocks sorted. Traces are then replayed on concrete states, so they
name real CPUs. `symmetry=False` turns this off (and changes the state counts).

The engine returns an `EngineResult`; it prints nothing.
"""

from __future__ import annotations

import os
import re
import resource
import time
from dataclasses import dataclass, field
from typing import Callable

from slabproof.lang.expr import (
    Bound,
    CpuConst,
    Layout,
    compile_condition,
    compile_guard,
    compile_update,
    evaluate,
    subst_cpu,
)
from slabproof.model import FAIRNESS, Action, System
from slabproof.results import EngineResult, OpIpis, PropertyResult, Trace, TraceStep, Verdict

ProgressFn = Callable[[int, int, int, float], None]  # states, frontier, depth, seconds


@dataclass(frozen=True)
class Instance:
    """An action instantiated for one CPU (or for a writer)."""

    id: int
    action: int  # index into System.actions
    cpu: int | None
    actor: str
    column: str


# The explorer's default budget: well above every shipped spec (the largest, whatif-reaper-without-trylock,
# has 263,592 states; memcg-if-prev at 8 CPUs about 1.05 million), so that no run is unbounded by default.
DEFAULT_MAX_STATES = 5_000_000
DEFAULT_MEMORY_FRACTION = 0.5  # of the machine's physical memory, resident


def default_max_memory() -> int | None:
    """Half the machine's physical memory in bytes (None where the system does not say how much it has)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * DEFAULT_MEMORY_FRACTION) or None
    except (ValueError, OSError, AttributeError):
        return None


@dataclass
class Limits:
    """What one exploration may spend; past any of them it stops with UNKNOWN and its coverage.

    The defaults bound every run (`DEFAULT_MAX_STATES` states, half the
    physical memory resident, no time limit); None means no limit of that kind.
    """

    max_states: int | None = DEFAULT_MAX_STATES
    timeout: float | None = None  # seconds
    max_memory: int | None = field(default_factory=default_max_memory)  # bytes of resident memory


class Compiled:
    """The system compiled for a fixed number of CPUs."""

    def __init__(self, system: System, symmetry: bool = True) -> None:
        self.system = system
        n = system.ncpus
        self.layout = Layout(system.families.values(), n)
        L = self.layout
        wc = system.writer_cpus
        self.instances: list[Instance] = []
        # dispatch: slot -> value -> [instance ids]; plus instances tried in every state
        groups: dict[int, dict[int, list[int]]] = {}
        always: list[int] = []
        self.code: dict[int, tuple[str, list[str]]] = {}
        conds: dict[int, str] = {}  # each guard as an `if` condition
        for ai, act in enumerate(system.actions):
            cpus: list[int | None] = list(range(n)) if act.actor not in ("writer", "flush") else [None]
            for c in cpus:
                iid = len(self.instances)
                if act.actor == "writer":
                    actor = column = f"writer{act.writer}"
                elif act.actor == "flush":
                    actor, column = f"writer{act.writer}.flush", f"writer{act.writer}"
                elif act.actor == "cpu":
                    actor = column = f"cpu{c}"
                else:
                    actor, column = f"cpu{c}.{act.actor}", f"cpu{c}"
                self.instances.append(Instance(iid, ai, c, actor, column))
                self.code[iid] = (compile_guard(act.guard, L, c, wc), compile_update(act.update, L, c, wc))
                conds[iid] = compile_condition(act.guard, L, c, wc)
                if act.actor == "cpu":
                    groups.setdefault(L.slot[("pc", c)], {}).setdefault(act.pc, []).append(iid)  # type: ignore[arg-type]
                elif act.actor == "reaper":
                    groups.setdefault(L.slot[("reaper_pc", c)], {}).setdefault(act.pc, []).append(iid)  # type: ignore[arg-type]
                elif act.actor == "writer":
                    groups.setdefault(L.slot[("writer_pc", act.writer)], {}).setdefault(act.pc, []).append(iid)  # type: ignore[arg-type]
                else:
                    always.append(iid)
        lines = ["def succ(s):", "    out = []"]

        def emit(iid: int, ind: str) -> None:
            _, upd = self.code[iid]
            lines.append(f"{ind}if {conds[iid]}:")
            lines.append(f"{ind}    n = list(s)")
            for st in _inline_simple_reads(upd):
                lines.append(f"{ind}    {st}")
            lines.append(f"{ind}    out.append(({iid}, tuple(n)))")

        for slot, by_value in groups.items():
            lines.append(f"    v = s[{slot}]")
            for j, (value, iids) in enumerate(sorted(by_value.items())):
                lines.append(f"    {'if' if j == 0 else 'elif'} v == {value}:")
                for iid in iids:
                    emit(iid, "        ")
        for iid in always:
            emit(iid, "    ")
        lines.append("    return out")
        self.source = "\n".join(lines)
        ns: dict = {}
        exec(compile(self.source, f"<slabproof successors {system.spec.name!r}>", "exec"), ns)  # noqa: S102 - generated from the model
        self.succ: Callable[[tuple[int, ...]], list[tuple[int, tuple[int, ...]]]] = ns["succ"]

        def pred(e) -> Callable[[tuple[int, ...]], int]:
            src = compile_guard(e, L, None, wc)
            return eval(f"lambda s: {src}", {"__builtins__": {"int": int}})  # noqa: S307 - generated from the model

        self.props = [(p, pred(p.expr)) for p in system.properties]
        self.prop_sources = [compile_condition(p.expr, L, None, wc) for p in system.properties]
        self.done = pred(system.done)
        # initial state
        init = [0] * L.size
        for (fname, idx), slot in L.slot.items():
            v = system.init[fname]
            f = system.families[fname]
            if f.kind == "finite":
                init[slot] = v[idx]  # type: ignore[index]
            else:
                init[slot] = v  # type: ignore[assignment]
        self.init = tuple(init)
        # symmetry
        fixed = set(wc) | set(system.pinned_cpus)  # writers' CPUs, including those they may migrate to
        self.sym = [c for c in range(n) if c not in fixed] if symmetry else []
        self.symmetry = symmetry and len(self.sym) > 1
        cb, B = L.cpu_base, L.block
        sym = self.sym
        if self.symmetry:
            self.canon: Callable[[tuple[int, ...]], tuple[int, ...]] = _canon_function(cb, B, sym, L.size)
        else:
            self.canon = lambda t: t
        # IPIs each kick instance sends
        self.ipis: dict[int, tuple[int, ...]] = {}
        for inst in self.instances:
            act = system.actions[inst.action]
            if act.ipi_targets is not None and not act.skipped:
                tg = tuple(c for c in range(n)
                           if evaluate(subst_cpu(act.ipi_targets, Bound("x"), CpuConst(c)), L, self.init, None, wc))
                self.ipis[inst.id] = tg

    def action(self, iid: int) -> Action:
        return self.system.actions[self.instances[iid].action]

    def readable(self, s: tuple[int, ...]) -> dict[str, str]:
        out: dict[str, str] = {}
        for (fname, idx), slot in self.layout.slot.items():
            name = self.layout.names[slot]
            if fname == "ac_state":
                name = f"ac_state[{self.system.ac_label(idx)}]"  # type: ignore[arg-type]
            elif fname in ("cpu_cache", "visible"):
                name = f"{fname}[{self.system.caches[idx]}]"  # type: ignore[index]
            out[name] = self.system.show_value(fname, s[slot])
        return out


def explore(system: System, *, symmetry: bool = True, limits: Limits | None = None,
            progress: ProgressFn | None = None, stop_at_first: bool = False,
            keep_states: bool = False, keep_graph: bool = False) -> EngineResult:
    """Explore every reachable state of `system`; see the module docstring.

    `keep_states` puts the reachable states, as data, in `result.extra`:
    ``states`` (tuples; canonical representatives when symmetry is on) and
    ``slots`` (for each tuple position, its ``(family, index)``), so that other
    engines can use them through the runner. `keep_graph` adds ``graph``:
    ``nodes`` (readable states), ``edges`` (``(src, dst, actor, step)``) and
    ``paths`` (property name -> node ids of its trace's canonical path).
    """
    t0 = time.perf_counter()
    limits = limits or Limits()
    comp = Compiled(system, symmetry)
    succ, canon = comp.succ, comp.canon
    always = [(i, fn) for i, (p, fn) in enumerate(comp.props) if p.kind == "always"]
    sometimes = [(i, fn) for i, (p, fn) in enumerate(comp.props) if p.kind == "sometimes"]
    first_hit: dict[int, int] = {}  # property index -> state id (violation or witness)

    init = canon(comp.init)
    index: dict[tuple[int, ...], int] = {init: 0}
    states: list[tuple[int, ...]] = [init]
    parent: list[int] = [-1]
    depth: list[int] = [0]
    edges: list[list[int]] = []
    edge_steps: list[list[int]] = []  # instance id of each edge (only with keep_graph)
    fired = [0] * len(comp.instances)
    transitions = 0

    quiet = [_nothing_to_note(comp, first_hit)]  # one generated test of every open property

    def check(sid: int, s: tuple[int, ...]) -> None:
        if quiet[0](s):
            return
        for i, fn in always:
            if i not in first_hit and not fn(s):
                first_hit[i] = sid
        for i, fn in sometimes:
            if i not in first_hit and fn(s):
                first_hit[i] = sid
        quiet[0] = _nothing_to_note(comp, first_hit)

    check(0, init)
    reason = ""
    i = 0
    try:
        while i < len(states):
            if i & 1023 == 0:
                el = time.perf_counter() - t0
                if progress is not None:
                    progress(len(states), len(states) - i, depth[i], el)
                if limits.timeout is not None and el > limits.timeout:
                    reason = f"time limit of {limits.timeout:g} s reached"
                    break
                if limits.max_memory is not None:
                    if _resident_bytes() > limits.max_memory:
                        reason = f"memory limit of {_size_text(limits.max_memory)} reached" + (
                            " (the default: half the physical memory; raise it with --max-memory)"
                            if limits.max_memory == default_max_memory() else "")
                        break
            if stop_at_first and any(comp.props[k][0].kind == "always" for k in first_hit):
                reason = "stopped at the first violation"
                break
            s = states[i]
            out: list[int] = []
            out_steps: list[int] = []
            d = depth[i] + 1
            for iid, nxt in succ(s):
                transitions += 1
                fired[iid] += 1
                c = canon(nxt)
                j = index.get(c)
                if j is None:
                    j = len(states)
                    if limits.max_states is not None and j >= limits.max_states:
                        reason = f"state limit of {limits.max_states} reached" + (
                            " (the default; raise it with --max-states)"
                            if limits.max_states == DEFAULT_MAX_STATES else "")
                        raise _Stop
                    index[c] = j
                    states.append(c)
                    parent.append(i)
                    depth.append(d)
                    check(j, c)
                out.append(j)
                out_steps.append(iid)
            edges.append(out)
            edge_steps.append(out_steps)
            i += 1
    except _Stop:
        pass
    except KeyboardInterrupt:
        reason = "interrupted"
    complete = not reason
    elapsed = time.perf_counter() - t0

    # liveness: from every state, can every writer still finish?
    live_ok: bool | None = None
    stuck: int | None = None
    if complete:
        can = bytearray(len(states))
        rev: list[list[int]] = [[] for _ in states]
        for a, outs in enumerate(edges):
            for b in outs:
                rev[b].append(a)
        todo = [k for k, s in enumerate(states) if comp.done(s)]
        for k in todo:
            can[k] = 1
        while todo:
            b = todo.pop()
            for a in rev[b]:
                if not can[a]:
                    can[a] = 1
                    todo.append(a)
        stuck = next((k for k in range(len(states)) if not can[k]), None)
        live_ok = stuck is None

    fair_result = None
    fair_note: dict = {}
    if complete:
        fair_result, fair_note = _fairness(comp, system, states, edges, edge_steps, parent, limits, t0)

    def path_ids(sid: int) -> list[int]:
        p = []
        while sid != -1:
            p.append(sid)
            sid = parent[sid]
        return p[::-1]

    def path_to(sid: int) -> list[tuple[int, ...]]:
        p = []
        while sid != -1:
            p.append(states[sid])
            sid = parent[sid]
        return p[::-1]

    props: list[PropertyResult] = []
    for k, (p, _fn) in enumerate(comp.props):
        if k in first_hit:
            tr = _trace(comp, path_to(first_hit[k]), p, "counterexample" if p.kind == "always" else "witness")
            props.append(PropertyResult(p.name, p.kind, p.doc, p.kind == "sometimes", tr))
        else:
            holds = (True if complete else None) if p.kind == "always" else (False if complete else None)
            props.append(PropertyResult(p.name, p.kind, p.doc, holds))
    from slabproof.model import PROPERTY_DOCS

    if live_ok is False and stuck is not None:
        tr = _trace(comp, path_to(stuck), None, "counterexample")
        props.insert(4, PropertyResult("writer_terminates", "always", PROPERTY_DOCS["writer_terminates"], False, tr))
    else:
        props.insert(4, PropertyResult("writer_terminates", "always", PROPERTY_DOCS["writer_terminates"], live_ok))
    props.insert(5, fair_result or PropertyResult(FAIRNESS, "always", PROPERTY_DOCS[FAIRNESS], None))

    # step statistics
    counts: dict[str, int] = {}
    for inst, f in zip(comp.instances, fired):
        act = system.actions[inst.action]
        key = act.name if act.actor != "reaper" else f"reaper:{act.name}"
        counts[key] = counts.get(key, 0) + f
    never = tuple(k for k, v in counts.items() if v == 0 and "(skipped)" not in k)
    per_op: list[OpIpis] = []
    total = 0
    for oi, op in enumerate(system.ops):
        sent: int | None = None
        for inst in comp.instances:
            act = system.actions[inst.action]
            if act.op == oi and act.step == "smp_call_function" and fired[inst.id]:
                n = len(comp.ipis.get(inst.id, ())) if not act.skipped else 0
                sent = max(sent or 0, n)
        per_op.append(OpIpis(op.writer, f"{op.kind} {system.caches[op.cache]}", sent))
        total += sent or 0

    extra: dict = {}
    if fair_note:
        extra["fairness"] = fair_note
    if keep_states:
        extra["states"] = states
        slots: list = [None] * comp.layout.size
        for key, slot in comp.layout.slot.items():
            slots[slot] = key
        extra["slots"] = slots
    if keep_graph:
        extra["graph"] = {
            "nodes": [comp.readable(s) for s in states],
            "edges": [(a, b, comp.instances[iid].actor, comp.action(iid).name)
                      for a, outs, iids in zip(range(len(edges)), edges, edge_steps) for b, iid in zip(outs, iids)],
            "paths": {comp.props[k][0].name: path_ids(first_hit[k]) for k in first_hit},
        }
        if stuck is not None:
            extra["graph"]["paths"]["writer_terminates"] = path_ids(stuck)
        if fair_result is not None and fair_result.trace is not None and not comp.symmetry:
            extra["graph"]["paths"][FAIRNESS] = fair_note.pop("_path")
    fair_note.pop("_path", None)

    violated = any(p.kind == "always" and p.holds is False for p in props)
    verdict = Verdict.VIOLATED if violated else (Verdict.SAFE if complete else Verdict.UNKNOWN)
    if reason == "interrupted":  # the properties keep what was found; the run as a whole decided nothing
        verdict = Verdict.UNKNOWN
    return EngineResult(
        engine="explicit",
        spec=system.spec.path,
        cpus=system.ncpus,
        verdict=verdict,
        reason=reason,
        complete=complete,
        properties=tuple(props),
        states=len(states),
        transitions=transitions,
        depth=max(depth[:i + 1] if i < len(depth) else depth),
        seconds=elapsed,
        step_counts=counts,
        never_fired=never,
        ipis_per_op=tuple(per_op),
        ipis_total=total,
        symmetry=comp.symmetry,
        extra=extra,
    )


def _fairness(comp: Compiled, system: System, states, edges, edge_steps, parent, limits: Limits,
              t0: float) -> tuple[PropertyResult, dict]:
    """`writer_waits_end_under_fairness` (module `fairness`) on the unreduced graph: this search's own when
    its symmetry reduction is off, otherwise a second search without it."""
    from slabproof import fairness

    if comp.symmetry:
        fcomp = Compiled(system, symmetry=False)
        deadline = t0 + limits.timeout if limits.timeout is not None else None
        graph = fairness.build_graph(fcomp, limits.max_states, deadline)
    else:
        fcomp = comp
        parent_step = [-1] * len(states)
        for a, (outs, iids) in enumerate(zip(edges, edge_steps)):
            for b, iid in zip(outs, iids):
                if parent[b] == a and parent_step[b] == -1:
                    parent_step[b] = iid
        graph = fairness.Graph(states, [list(zip(iids, outs)) for outs, iids in zip(edges, edge_steps)],
                               parent, parent_step)
    path: list[int] = []

    def trace_of(steps: list[tuple[int, int]], loop_start: int, conclusion: str) -> Trace:
        path[:] = [0] + [sid for _, sid in steps]
        out = [_step(fcomp, k + 1, iid, graph.states[sid]) for k, (iid, sid) in enumerate(steps)]
        return Trace(property=FAIRNESS, kind="counterexample", steps=tuple(out), initial=fcomp.readable(fcomp.init),
                     conclusion=conclusion, loop_start=loop_start)

    res, note = fairness.check(fcomp, graph, trace_of)
    if path:
        note["_path"] = path
    return res, note


_SIMPLE_READ = re.compile(r"(v\d+) = (-?\d+|s\[\d+\])$")


def _inline_simple_reads(stmts: list[str]) -> list[str]:
    """`compile_update`'s statements with each ``vK = <constant or s[i]>`` folded into the writes of vK
    (the reads come first and read only `s`, so the writes see the same values)."""
    simple: dict[str, str] = {}
    out: list[str] = []
    for st in stmts:
        m = _SIMPLE_READ.match(st)
        if m:
            simple[m.group(1)] = m.group(2)
            continue
        m2 = re.match(r"(.*= )(v\d+)$", st)
        if m2 and m2.group(2) in simple:
            st = m2.group(1) + simple[m2.group(2)]
        out.append(st)
    return out


def _nothing_to_note(comp: Compiled, hit: dict[int, int]) -> Callable[[tuple[int, ...]], bool]:
    """One generated test, true of a state where every `always` property not yet violated holds and no
    `sometimes` property not yet witnessed is shown: the search then has nothing to record there."""
    terms = [f"({src})" if p.kind == "always" else f"not ({src})"
             for k, ((p, _), src) in enumerate(zip(comp.props, comp.prop_sources)) if k not in hit]
    body = " and ".join(terms) if terms else "True"
    return eval(f"lambda s: bool({body})", {"__builtins__": {"int": int, "bool": bool}})  # noqa: S307 - generated


def _canon_function(base: int, block: int, sym: list[int], size: int) -> Callable[[tuple[int, ...]], tuple[int, ...]]:
    """The canonical form of a state: the blocks of the interchangeable CPUs `sym` sorted into those
    CPUs' places, the rest as it is; generated straight-line, returning the state itself when its
    blocks are already in order (the common case)."""
    spans = [(base + c * block, base + (c + 1) * block) for c in sym]
    lines = ["def canon(t):"]
    for k, (a, b) in enumerate(spans):
        lines.append(f"    b{k} = t[{a}:{b}]")
    lines.append(f"    if {' <= '.join(f'b{k}' for k in range(len(spans)))}:")
    lines.append("        return t")
    lines.append(f"    o = sorted(({', '.join(f'b{k}' for k in range(len(spans)))},))")
    parts, at = [], 0
    for k, (a, b) in enumerate(spans):
        if a > at:
            parts.append(f"t[{at}:{a}]")
        parts.append(f"o[{k}]")
        at = b
    if at < size:
        parts.append(f"t[{at}:]")
    lines.append(f"    return {' + '.join(parts)}")
    ns: dict = {}
    exec("\n".join(lines), ns)  # noqa: S102 - generated from the layout
    return ns["canon"]


class _Stop(Exception):
    pass


def _resident_bytes() -> int:
    """Resident memory now (Linux /proc/self/statm); elsewhere the peak so far (getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _size_text(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def replay(comp: Compiled, canon_path: list[tuple[int, ...]]) -> list[tuple[int, tuple[int, ...]]]:
    """Concrete steps (instance id, state) realising a path of canonical states."""
    cur = comp.init
    steps: list[tuple[int, tuple[int, ...]]] = []
    for target in canon_path[1:]:
        for iid, nxt in comp.succ(cur):
            if comp.canon(nxt) == target:
                steps.append((iid, nxt))
                cur = nxt
                break
        else:  # pragma: no cover - would mean the successor function is not deterministic
            raise RuntimeError("trace replay failed")
    return steps


def _step(comp: Compiled, k: int, iid: int, state: tuple[int, ...], violating: bool = False, note: str = "") -> TraceStep:
    inst = comp.instances[iid]
    act = comp.action(iid)
    tg = comp.ipis.get(iid, ())
    return TraceStep(
        index=k,
        actor=inst.actor,
        column=inst.column,
        step=act.step,
        function=act.function,
        text=act.text,
        skipped=act.skipped,
        note=note or act.skip_reason,
        ipis_sent=len(tg),
        ipi_targets=tuple(f"cpu{c}" for c in tg),
        violating=violating,
        state=comp.readable(state),
    )


def _trace(comp: Compiled, canon_path: list[tuple[int, ...]], prop, kind: str) -> Trace:
    """A readable trace along a path of canonical states, on concrete CPUs."""
    steps = replay(comp, canon_path)
    out = [_step(comp, k + 1, iid, st) for k, (iid, st) in enumerate(steps)]
    final = steps[-1][1] if steps else comp.init
    name = prop.name if prop is not None else "writer_terminates"
    conclusion = ""
    if prop is not None and prop.kind == "always":
        # end with the step that commits the violation, when one is enabled
        culprits = dict(prop.culprits)
        for iid, nxt in comp.succ(final):
            inst = comp.instances[iid]
            if inst.action in culprits:
                cond = compile_guard(culprits[inst.action], comp.layout, inst.cpu, comp.system.writer_cpus)
                if eval(cond, {"__builtins__": {"int": int}}, {"s": final}):  # noqa: S307 - generated
                    act = comp.action(iid)
                    ref = comp.system.ac_label(eval(compile_guard(act.touches, comp.layout, inst.cpu,  # noqa: S307
                                                                  comp.system.writer_cpus),
                                                    {"__builtins__": {"int": int}}, {"s": final}))
                    st = _status_of(comp, final, ref)
                    note = f"touches {ref}, which is {st}" if ref != "NULL" else "touches a NULL array cache"
                    if ref != "NULL" and st not in ("freed", "unallocated", "drained") and _uninit(comp, final, ref):
                        note = f"touches {ref}, whose initialization is not yet visible to {inst.column}"
                    out.append(_step(comp, len(out) + 1, iid, nxt, violating=True, note=note))
                    conclusion = f"{inst.actor} {note}: {name} is violated"
                    break
        if not conclusion:
            conclusion = f"the last state violates {name}: {prop.doc}"
    elif prop is None:
        waiting = []
        for w, end in enumerate(comp.system.writer_end):
            pc = final[comp.layout.slot[("writer_pc", w)]]
            if pc < end:
                acts = [a for a in comp.system.actions if a.actor == "writer" and a.writer == w and a.pc == pc]
                waiting.append(f"writer{w} is stuck before {acts[0].step} ({acts[0].text})" if acts else f"writer{w}")
        conclusion = ("from the last state no sequence of steps lets every writer finish ("
                      + "; ".join(waiting) + "): writer_terminates is violated")
    else:
        conclusion = f"the last state shows {name}: {prop.doc}"
    return Trace(property=name, kind=kind, steps=tuple(out), initial=comp.readable(comp.init), conclusion=conclusion)


def _uninit(comp: Compiled, s: tuple[int, ...], label: str) -> bool:
    """Whether array cache `label`'s initialization is still unflushed in memory (weak-memory modes)."""
    for ac in comp.system.acs:
        if ac.label == label and ("ac_init", ac.ref) in comp.layout.slot:
            return s[comp.layout.slot[("ac_init", ac.ref)]] == 0
    return False


def _status_of(comp: Compiled, s: tuple[int, ...], label: str) -> str:
    for ac in comp.system.acs:
        if ac.label == label:
            return comp.system.show_value("ac_state", s[comp.layout.slot[("ac_state", ac.ref)]])
    return "not an array cache"
