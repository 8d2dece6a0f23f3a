"""Replaying a trace in the model, independently of how the explorer found it.

Each `TraceStep` names an actor and a step; replay looks for a successor of
the current state, among the model's actions, taken by that actor with that
step and leading to exactly the state the trace records. The final state is
then evaluated against the property's own expression.
"""

from __future__ import annotations

from slabproof import checker
from slabproof.lang import expr
from slabproof.model import System
from slabproof.results import Trace


def replay(system: System, trace: Trace) -> tuple[checker.Compiled, list[tuple[int, ...]]]:
    comp = checker.Compiled(system, symmetry=False)
    cur = comp.init
    assert comp.readable(cur) == trace.initial
    states = [cur]
    for st in trace.steps:
        matches = [
            nxt for iid, nxt in comp.succ(cur)
            if comp.instances[iid].actor == st.actor and comp.action(iid).step == st.step
            and comp.action(iid).skipped == st.skipped and comp.readable(nxt) == st.state
        ]
        assert matches, f"step {st.index} ({st.actor} {st.step}) is not a step of the model from the state before it"
        cur = matches[0]
        states.append(cur)
    return comp, states


def holds(comp: checker.Compiled, system: System, name: str, state: tuple[int, ...]) -> bool:
    return bool(expr.evaluate(system.property(name).expr, comp.layout, state, None, system.writer_cpus))
