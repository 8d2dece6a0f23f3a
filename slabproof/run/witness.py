"""A witness carried on through the wait: what the IPI on replacement protects, step by step.

The explicit engine's witness for ``reader_holds_prev_at_publish`` ends at the
moment the writer publishes the new array cache while a reader holds prev. To
show what happens next, `through_the_wait` replays that witness in the model
and continues it with the model's own steps, chosen by a fixed schedule (the
writer first, then any IPI handler, then the CPU holding prev; no other CPU
moves), until prev is freed: the writer kicks, waits in csd_lock_wait, the
holder acknowledges only after its local_irq_restore(), and only then is prev
drained and freed. Every step is one the model allows; nothing is drawn that
the model did not take. This is a layer like the runner; it prints nothing.
"""

from __future__ import annotations

from dataclasses import replace

from slabproof import model
from slabproof.checker import Compiled, _step
from slabproof.results import Trace

MAX_EXTRA_STEPS = 60


def through_the_wait(system: model.System, trace: Trace) -> Trace:
    """`trace` (a witness of a reader holding prev at the publish) continued until prev is freed.

    Returns `trace` unchanged when it cannot be replayed on `system` or when no
    CPU holds an array cache at its end.
    """
    comp = Compiled(system, symmetry=False)
    cur = comp.init
    for st in trace.steps:
        for iid, nxt in comp.succ(cur):
            if comp.instances[iid].actor == st.actor and comp.action(iid).step == st.step \
                    and comp.readable(nxt) == st.state:
                cur = nxt
                break
        else:
            return trace
    state = comp.readable(cur)
    holders = [k[len("ac["):-1] for k, v in state.items() if k.startswith("ac[cpu") and v not in ("-", "NULL")]
    if not holders:
        return trace
    holder = holders[0]
    prev = state[f"ac[{holder}]"]
    steps = list(trace.steps)
    for _ in range(MAX_EXTRA_STEPS):
        if comp.readable(cur).get(f"ac_state[{prev}]") == "freed":
            break
        now = comp.readable(cur)
        busy = now.get(f"ac[{holder}]") not in ("-", "NULL") or now.get(f"irqs_off[{holder}]") == "off"

        def rank(item: tuple[int, tuple[int, ...]], busy: bool = busy) -> int:
            actor = comp.instances[item[0]].actor
            if actor.startswith("writer"):
                return 0
            if actor.endswith(".ipi"):
                return 1
            return 2 if actor == holder and busy else 9

        options = sorted((o for o in comp.succ(cur)), key=rank)
        if not options or rank(options[0]) == 9:
            break
        iid, cur = options[0]
        steps.append(_step(comp, len(steps) + 1, iid, cur))
    if len(steps) == len(trace.steps):
        return trace
    more = (f"; steps {len(trace.steps) + 1}-{len(steps)} continue the engine's {len(trace.steps)}-step witness "
            f"with the model's own steps until {prev} is freed")
    return replace(trace, steps=tuple(steps), conclusion=trace.conclusion + more)
