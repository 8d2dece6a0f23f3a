"""The ordering questions the weak-memory mode depends on, as Linux-kernel C litmus tests (docs/memory.md).

Each `Question` pairs a litmus test (the kernel's tools/memory-model format:
the ``exists`` clause is the bad outcome) with a small configuration of the
model under ``tso`` or ``relaxed`` and the properties whose violation is that
bad outcome. `verdicts` explores each configuration with the explicit engine:
``Sometimes`` when one of those properties is violated, ``Never`` when the
search completes without, and nothing (an error) otherwise. The file's first
comment line states that verdict; herd7 with the LKMM gives its own.

The mapping from the model to LKMM primitives: a writer store that goes
through the store buffer is ``WRITE_ONCE()``; the step ``smp_wmb`` is
``smp_wmb()``; ``smp_mb`` (the one in ``kick_all_cpus_sync()``) is
``smp_mb()``; sending the IPI is a ``WRITE_ONCE()`` of a flag the target reads
(the model's IPI does not wait for buffered stores); the target's IPI handling
(``flush_smp_call_function_queue()``, whose ``llist_del_all()`` is a fully
ordered ``xchg()``) is ``smp_mb()`` between reading the flag and the next
section's load; the reader's load of ``arr->entries[idx]`` then of
``s->cpu_cache`` (and of the array cache through it) is a pair of
``READ_ONCE()`` with an address dependency. The model never reorders a
reader's loads, which is right only for such dependent loads.

This module prints nothing; the CLI writes the files and runs herd7.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from slabproof import checker, model
from slabproof.lang import spec

_TUNE = ["mutex_lock", "alloc_kmem_cache_cpus", "load_prev", "publish_cpu_cache", "smp_mb", "smp_call_function",
         "csd_lock_wait", "free_block", "free_percpu", "mutex_unlock"]


def _steps(order: list[str]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in order) + "]"


_CACHE_SPEC = """
description = "litmus configuration"
cpus = 2
ipi = "if-prev"
memory = "{memory}"

[[cache]]
name = "dentry"

[[writer]]
cpu = 0
script = ["create dentry", "tune dentry"]

[steps]
create = {create}
tune = {tune}

[expect]
verdict = "safe"
"""

_MEMCG_SPEC = """
description = "litmus configuration"
cpus = 2
ipi = "if-prev"
memory = "relaxed"

[[cache]]
name = "root"
boot = true

[[cache]]
name = "child"
memcg = true

[[writer]]
cpu = 0
script = ["create child"]

[steps]
create = {create}

[expect]
verdict = "safe"
"""

_MP = """P0(int *{data}, int **{slot})
{{
\tWRITE_ONCE(*{data}, 1);{barrier}
\tWRITE_ONCE(*{slot}, {data});
}}

P1(int **{slot})
{{
\tint *r0;
\tint r1;

\tr0 = READ_ONCE(*{slot});
\tr1 = READ_ONCE(*r0);
}}

exists (1:r0={data} /\\ 1:r1=0)
"""

_KICK = """P0(int *cpu_cache, int *ipi)
{{
\tWRITE_ONCE(*cpu_cache, 1);{barrier}
\tWRITE_ONCE(*ipi, 1);
}}

P1(int *cpu_cache, int *ipi)
{{
\tint r0;
\tint r1;

\tr0 = READ_ONCE(*ipi);
\tsmp_mb();
\tr1 = READ_ONCE(*cpu_cache);
}}

exists (1:r0=1 /\\ 1:r1=0)
"""


@dataclass(frozen=True)
class Question:
    name: str  # the litmus test's name (and file stem)
    question: str  # one line
    body: str  # the init block, the threads and the exists clause
    config: str  # spec text of the model configuration that asks the same question
    bad: tuple[str, ...]  # properties whose violation is the exists clause's outcome


def _mp(data: str, slot: str, init_other: str, wmb: bool) -> str:
    init = f"{{\n\tint {init_other} = 1;\n\tint {data} = 0;\n\tint *{slot} = &{init_other};\n}}\n\n"
    return init + _MP.format(data=data, slot=slot, barrier="\n\tsmp_wmb();" if wmb else "")


def _kick(mb: bool) -> str:
    return "{\n\tint cpu_cache = 0;\n\tint ipi = 0;\n}\n\n" + _KICK.format(barrier="\n\tsmp_mb();" if mb else "")


def questions() -> list[Question]:
    create = list(model.DEFAULT_CREATE)
    no_wmb = [s for s in create if s != "smp_wmb"]
    no_mb = [s for s in _TUNE if s != "smp_mb"]
    tune_wmb = _TUNE[:3] + ["smp_wmb"] + _TUNE[3:]
    create_wmb = create[:3] + ["smp_wmb"] + create[3:]
    return [
        Question("slabproof-memcg-publish+wmb+addr",
                 "memcg_create_kmem_cache(): does a reader that sees the child in arr->entries[idx] see its cpu_cache?",
                 _mp("child_cpu_cache", "entry", "root_cpu_cache", True),
                 _MEMCG_SPEC.format(create=_steps(create)), ("no_null_cpu_cache",)),
        Question("slabproof-memcg-publish+nowmb+addr",
                 "the same without the smp_wmb() before arr->entries[idx] = s",
                 _mp("child_cpu_cache", "entry", "root_cpu_cache", False),
                 _MEMCG_SPEC.format(create=_steps(no_wmb)), ("no_null_cpu_cache",)),
        Question("slabproof-publish+mb+kick",
                 "kick_all_cpus_sync(): after answering the IPI, can a CPU still load the old cpu_cache pointer?",
                 _kick(True), _CACHE_SPEC.format(memory="tso", create=_steps(create), tune=_steps(_TUNE)),
                 ("no_use_after_free", "no_access_after_drain")),
        Question("slabproof-publish+nomb+kick",
                 "the same without the smp_mb() of kick_all_cpus_sync()",
                 _kick(False), _CACHE_SPEC.format(memory="tso", create=_steps(create), tune=_steps(no_mb)),
                 ("no_use_after_free", "no_access_after_drain")),
        Question("slabproof-tune-init+nowmb+publish",
                 "__do_tune_cpucache() (v4.11): can a reader that loads the new cpu_cache see the array cache "
                 "uninitialized?",
                 _mp("new_ac", "cpu_cache", "old_ac", False),
                 _CACHE_SPEC.format(memory="relaxed", create=_steps(create), tune=_steps(_TUNE)),
                 ("no_use_after_free",)),
        Question("slabproof-tune-init+wmb+publish",
                 "the same with an smp_wmb() between the initialization and the publish (not in v4.11)",
                 _mp("new_ac", "cpu_cache", "old_ac", True),
                 _CACHE_SPEC.format(memory="relaxed", create=_steps(create_wmb), tune=_steps(tune_wmb)),
                 ("no_use_after_free",)),
    ]


@dataclass(frozen=True)
class Answer:
    question: Question
    verdict: str  # "Never" | "Sometimes"
    states: int
    violated: tuple[str, ...]


class Undecided(Exception):
    """The explorer could not decide a question (a limit, or an interrupt)."""


def answer(q: Question, max_states: int | None = 1_000_000) -> Answer:
    """Explore `q`'s configuration: Sometimes when a bad property is violated, Never when none is."""
    s = spec.loads(q.config, f"<litmus {q.name}>")
    r = checker.explore(model.build(s), limits=checker.Limits(max_states=max_states))
    hit = tuple(p for p in r.violated if p in q.bad)
    if hit:
        return Answer(q, "Sometimes", r.states, hit)
    if not r.complete:
        raise Undecided(f"{q.name}: {r.reason}")
    return Answer(q, "Never", r.states, ())


def text(a: Answer) -> str:
    """The litmus file: its first comment line is slabproof's verdict."""
    q = a.question
    why = f"violates {', '.join(a.violated)}" if a.violated else "no violation"
    return (f"C {q.name}\n\n(*\n * slabproof: {a.verdict}\n *\n * {q.question}\n"
            f" * slabproof's explorer, {a.states:,} states of the configuration below: {why}.\n"
            " * Configuration (a slabproof spec):\n"
            + "".join(f" *   {line}\n" for line in q.config.strip().splitlines() if line.strip())
            + " *)\n\n" + q.body)


def herd(herd7: str, path: str, timeout: float = 120) -> str:
    """herd7's observation for one test: Never, Sometimes or Always (raises RuntimeError otherwise)."""
    p = subprocess.run([herd7, "-conf", "linux-kernel.cfg", path], capture_output=True, text=True,
                       timeout=timeout)
    m = re.search(r"^Observation \S+ (Never|Sometimes|Always)\b", p.stdout, re.M)
    if not m:
        raise RuntimeError(f"herd7 gave no observation for {path}: {(p.stderr or p.stdout).strip()[:300]}")
    return m.group(1)
