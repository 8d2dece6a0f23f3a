"""The commit's experiment, replayed in the model: how many IPIs lazy memcg cache creation costs.

The commit ("slab: avoid IPIs when creating kmem caches", 2017) counted the
function-call interrupts in /proc/interrupts while 10,000 memory cgroups each
made one allocation: every first allocation of a kind of object in a new memcg
makes ``memcg_kmem_get_cache()`` schedule the creation of that memcg's child
cache, and ``memcg_create_kmem_cache()`` -> ``create_cache()`` ->
``__kmem_cache_create()`` -> ``setup_cpu_cache()`` -> ``enable_cpucache()``
-> ``do_tune_cpucache()`` runs ``__do_tune_cpucache()`` once, on the new child
only (``do_tune_cpucache()`` re-tunes memcg children only when it is given a
root cache). So the workload implies no tunes at all: only creations, each
with prev == NULL.

Here the same workload is built as specs -- C root caches live at boot; K
memcgs, each creating its C child caches -- and the model's own actions are
run: one deterministic run of the writer, on `writer_cpu`, with idle readers
(outside their sections, IRQs on), which acknowledge an IPI whenever the
writer waits for one. Nothing is explored; the counts are the steps the run
took:

* IPIs sent: for every ``smp_call_function`` step that fired (not skipped),
  the number of CPUs it targeted;
* IPIs received by CPU c: how many times CPU c's IPI handler step fired.

A spec with tens of thousands of caches would make the compiled model
quadratic in size, so the K memcgs are run in chunks of at most `chunk`
memcgs: one compiled system per chunk size, each chunk a full run from boot.
Chunks share nothing (no creation reads another memcg's cache), so the counts
add up. Every chunk is run; nothing is multiplied.

This module is a layer like the runner (it drives the model); it prints nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from slabproof import model
from slabproof.checker import Compiled
from slabproof.lang.spec import MAX_CPUS, CacheSpec, Expect, OpSpec, Spec, WriterSpec
from slabproof.results import COMMIT_FIGURES as COMMIT_FIGURES, COMMIT_MEMCGS as COMMIT_MEMCGS  # the commit's figures

CONDITIONS = ("always", "if-prev")  # before the patch, the patch



@dataclass(frozen=True)
class IpiRun:
    """The counts of one run of the workload under one IPI condition."""

    condition: str
    cpus: int
    memcgs: int
    caches: int  # child caches each memcg creates
    writer_cpu: int
    creates: int  # creations the writer completed
    kicks: int  # smp_call_function steps that fired
    skipped_kicks: int  # smp_call_function steps skipped by the condition
    sent: int  # IPIs sent, summed over kicks
    received: tuple[int, ...]  # per CPU: IPI handler steps
    steps: int  # model steps taken (writer and IPI handlers)
    chunks: int  # runs of the model the K memcgs were split into

    @property
    def received_cpu0(self) -> int:
        return self.received[0]


def workload_spec(cpus: int, memcgs: int, caches: int, condition: str, writer_cpu: int) -> Spec:
    """A spec for `memcgs` memcgs, each creating its `caches` child caches (roots live at boot).

    Built as data rather than parsed: the limits on spec *files* (a handful of
    caches) are there to keep exhaustive exploration small, and nothing is
    explored here. The CPU count is checked like a file's.
    """
    if condition not in model.IPI_CONDITIONS:
        raise ValueError(f"unknown IPI condition {condition!r}; valid: {', '.join(model.IPI_CONDITIONS)}")
    if not 1 <= cpus <= MAX_CPUS or not 0 <= writer_cpu < cpus or memcgs < 1 or caches < 1:
        raise ValueError(f"cannot run {memcgs} memcgs x {caches} caches on {cpus} CPUs (writer on CPU {writer_cpu}); "
                         f"valid: 1 to {MAX_CPUS} CPUs, the writer on one of them, at least one memcg and cache")
    roots = [CacheSpec(f"root{j}", boot=True) for j in range(caches)]
    children = [CacheSpec(f"m{i}_c{j}", memcg=True) for i in range(memcgs) for j in range(caches)]
    script = tuple(OpSpec("create", c.name) for c in children)
    return Spec(
        path=f"<ipis:{condition}:{cpus}cpu:{memcgs}x{caches}>",
        name=f"ipis-{condition}-{cpus}cpu",
        description=f"{memcgs} memcgs, each lazily creating {caches} child caches",
        cpus=cpus,
        ipi=condition,
        reapers=False,
        caches=tuple(roots + children),
        writers=(WriterSpec(writer_cpu, script),),
        reader_steps=model.DEFAULT_READER,
        reaper_steps=model.DEFAULT_REAPER,
        create_steps=model.DEFAULT_CREATE,
        tune_steps=model.DEFAULT_TUNE,
        expect=Expect("safe"),
    )


Step = Callable[[tuple[int, ...]], "tuple[int, ...] | None"]


class _Driver:
    """The writer's and the IPI handlers' compiled actions of one system, stepped one at a time."""

    def __init__(self, system: model.System) -> None:
        comp = Compiled(system, symmetry=False)
        self.comp = comp
        self.system = system
        self.wpc_slot = comp.layout.slot[("writer_pc", 0)]
        self.end = system.writer_end[0]
        self.by_pc: dict[int, list[tuple[int, Step]]] = {}
        self.handlers: list[tuple[int, Step]] = []
        for inst in comp.instances:
            act = system.actions[inst.action]
            if act.actor == "writer":
                self.by_pc.setdefault(act.pc, []).append((inst.id, self._fn(inst.id)))  # type: ignore[arg-type]
            elif act.actor == "ipi":
                self.handlers.append((inst.cpu, self._fn(inst.id)))  # type: ignore[arg-type]

    def _fn(self, iid: int) -> Step:
        guard, upd = self.comp.code[iid]
        src = ["def step(s):", f"    if not ({guard}):", "        return None", "    n = list(s)"]
        src += [f"    {u}" for u in upd] + ["    return tuple(n)"]
        ns: dict[str, Callable[[tuple[int, ...]], tuple[int, ...] | None]] = {}
        exec("\n".join(src), {"__builtins__": {"int": int, "list": list, "tuple": tuple}}, ns)  # noqa: S102
        return ns["step"]

    def run(self, counts: dict[str, int], received: list[int]) -> None:
        """One run from boot until the writer has finished its script."""
        s = self.comp.init
        actions = self.system.actions
        comp = self.comp
        while s[self.wpc_slot] < self.end:
            for iid, fn in self.by_pc[s[self.wpc_slot]]:
                n = fn(s)
                if n is not None:
                    act = actions[comp.instances[iid].action]
                    if act.step == "smp_call_function":
                        if act.skipped:
                            counts["skipped_kicks"] += 1
                        else:
                            counts["kicks"] += 1
                            counts["sent"] += len(comp.ipis.get(iid, ()))
                    elif act.step == "publish_cache":
                        counts["creates"] += 1
                    break
            else:  # the writer waits: an idle CPU takes the interrupt
                for cpu, fn in self.handlers:
                    n = fn(s)
                    if n is not None:
                        received[cpu] += 1
                        break
                else:
                    raise RuntimeError("the writer is stuck and no CPU can acknowledge an IPI")
            counts["steps"] += 1
            s = n


def run_workload(condition: str, cpus: int, memcgs: int, caches: int = 1, writer_cpu: int | None = None,
                 chunk: int = 1) -> IpiRun:
    """Run the workload once in the model (see the module docstring) and count its IPIs."""
    if writer_cpu is None:
        writer_cpu = 1 if cpus > 1 else 0
    counts = {"creates": 0, "kicks": 0, "skipped_kicks": 0, "sent": 0, "steps": 0}
    received = [0] * cpus
    drivers: dict[int, _Driver] = {}
    left, chunks = memcgs, 0
    while left > 0:
        m = min(chunk, left)
        if m not in drivers:
            drivers[m] = _Driver(model.build(workload_spec(cpus, m, caches, condition, writer_cpu)))
        drivers[m].run(counts, received)
        left -= m
        chunks += 1
    return IpiRun(condition, cpus, memcgs, caches, writer_cpu, counts["creates"], counts["kicks"],
                  counts["skipped_kicks"], counts["sent"], tuple(received), counts["steps"], chunks)


@dataclass(frozen=True)
class Experiment:
    """The table (one run per condition) and the sweeps behind the plot."""

    cpus: int
    memcgs: int
    caches: int
    writer_cpu: int
    table: tuple[IpiRun, ...]
    by_cpus: tuple[IpiRun, ...]  # every condition at `memcgs`, for CPUs in `cpu_range`
    by_memcgs: tuple[IpiRun, ...]  # every condition at `cpus`, for the memcg counts in `memcg_points`

    def commit_figure(self, condition: str) -> int | None:
        return COMMIT_FIGURES.get(condition)


def memcg_points(memcgs: int) -> list[int]:
    """1, 10, 100, ... up to `memcgs`, and `memcgs` itself."""
    pts, p = [], 1
    while p < memcgs:
        pts.append(p)
        p *= 10
    pts.append(memcgs)
    return pts


def experiment(cpus: int, memcgs: int, caches: int, writer_cpu: int | None = None,
               cpu_range: Sequence[int] = (), sweep_memcgs: int | None = None,
               on_run: Callable[[str], None] | None = None, sweep: bool = True) -> Experiment:
    """The table at (`cpus`, `memcgs`) and, if `sweep`, the two sweeps of the plot.

    The CPU sweep runs `sweep_memcgs` memcgs (default: `memcgs`) for each CPU
    count in `cpu_range`; the memcg sweep runs `memcg_points(memcgs)` at `cpus`.
    """
    if writer_cpu is None:
        writer_cpu = 1 if cpus > 1 else 0
    runs: dict[tuple[str, int, int], IpiRun] = {}

    def get(cond: str, n: int, k: int) -> IpiRun:
        key = (cond, n, k)
        if key not in runs:
            if on_run is not None:
                on_run(f"{cond}, {n} CPUs, {k:,} memcgs")
            runs[key] = run_workload(cond, n, k, caches, writer_cpu if writer_cpu < n else 0)
        return runs[key]

    table = tuple(get(c, cpus, memcgs) for c in CONDITIONS)
    sk = sweep_memcgs or memcgs
    by_cpus = tuple(get(c, n, sk) for c in CONDITIONS for n in cpu_range) if sweep else ()
    by_memcgs = tuple(get(c, cpus, k) for c in CONDITIONS for k in memcg_points(memcgs)) if sweep else ()
    return Experiment(cpus, memcgs, caches, writer_cpu, table, by_cpus, by_memcgs)
