"""The glossary: every term slabproof's teaching output uses, defined once.

One source of truth, rendered three ways: `text()` for ``explain
--glossary``, `markdown()` for docs/glossary.md, and `html_section()` plus
`link()` for the HTML page (each term an anchor, linked where it appears).
`lookup(word)` finds the entry that defines a word or one of its aliases
(kernel functions, state-table column names, lifecycle states); the tests use
it to check that every term the output uses is here.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Term:
    term: str
    definition: str  # one or two sentences
    aliases: tuple[str, ...] = ()  # other spellings the output uses: functions, column names, values

    @property
    def anchor(self) -> str:
        return "g-" + re.sub(r"[^a-z0-9]+", "-", self.term.lower()).strip("-")


TERMS: tuple[Term, ...] = (
    Term("kmem_cache", "The SLAB allocator's descriptor of one kind of object (dentry, inode, ...): its size, its "
         "slabs, and a pointer cpu_cache to its per-CPU array caches.", ("struct kmem_cache", "cachep", "cache")),
    Term("array cache", "A per-CPU stack of free objects (struct array_cache: entry[] and avail) that the fast paths "
         "pop and push with IRQs off; a kmem_cache has one per CPU, allocated as one set.",
         ("struct array_cache", "ac", "ac->entry[]", "ac->avail", "array caches")),
    Term("cpu_cache", "The kmem_cache field that points to its current set of array caches; cpu_cache_get() loads "
         "this CPU's slot. In the state table, cpu_cache[root] is the set a reader would load now.",
         ("cpu_cache_get", "cpu_cache_get()", "cachep->cpu_cache")),
    Term("memcg", "A memory cgroup (a container's memory controller). With memcg kmem accounting each memcg gets its "
         "own copy of every kmem_cache it allocates from.", ("memory cgroup", "memcgs", "memcg kmem accounting")),
    Term("root cache", "The ordinary kmem_cache, created at boot or by kmem_cache_create(); `root` in the model.",
         ("root",)),
    Term("child cache", "A memcg's copy of a root cache, created lazily by memcg_create_kmem_cache() on the memcg's "
         "first allocation from it (memcg_kmem_get_cache() schedules the creation); `child` in the model.",
         ("child", "memcg child", "memcg_create_kmem_cache", "memcg_create_kmem_cache()", "create_cache",
          "create_cache()", "memcg_kmem_get_cache()", "kmem_cache_create()", "__kmem_cache_create()",
          "setup_cpu_cache()", "enable_cpucache()", "publish_cache", "publish_cache@memcg", "smp_wmb()")),
    Term("root#0", "An array-cache set's label: its kmem_cache and the number of the set (root#0 is the set root "
         "has at boot, root#1 the one a tune replaces it with).", ("root#1", "child#0", "child#1", "dentry#0")),
    Term("visible[]", "visible[c] says whether kmem_cache c is published: a reader can only choose a visible cache. "
         "A memcg child becomes visible when memcg_create_kmem_cache() stores it in arr->entries[idx].",
         ("visible",)),
    Term("reader section", "slab_alloc() or kmem_cache_free() on one CPU: local_irq_save(), load the array cache with "
         "cpu_cache_get() (____cache_alloc() / ___cache_free()), touch it, local_irq_restore().",
         ("reader", "readers", "slab_alloc()", "kmem_cache_free()", "____cache_alloc()", "___cache_free()",
          "ac_access", "pc", "local_irq_save", "local_irq_restore")),
    Term("IRQs off", "Interrupts disabled on one CPU (local_irq_save() to local_irq_restore()); no IPI handler runs "
         "there meanwhile. irqs_off[cpu1] in the state table.", ("irqs_off", "IRQs on", "IRQ", "IRQs",
                                                                  "local_irq_save()", "local_irq_restore()")),
    Term("slab_mutex", "The mutex every creator and tuner of caches holds, so writers never overlap.",
         ("mutex_lock", "mutex_unlock", "mutex_trylock", "mutex_lock()", "mutex_unlock()")),
    Term("writer", "The CPU running __do_tune_cpucache() under slab_mutex (writer0 in the chart); its position is "
         "writer_pc[0], the operation of its script it is in.", ("writer0", "writer_pc", "writer position")),
    Term("__do_tune_cpucache()", "Replaces a kmem_cache's array caches: allocate a fresh set, publish it, kick every "
         "other CPU (before the patch: always; after: only if prev), then drain and free prev.",
         ("__do_tune_cpucache", "do_tune_cpucache()", "alloc_kmem_cache_cpus", "alloc_kmem_cache_cpus()",
          "publish_cpu_cache", "load_prev", "tune", "create")),
    Term("slabinfo_write()", "Writing tunables to /proc/slabinfo: takes slab_mutex and re-tunes a cache (and, for a "
         "root cache, its memcg children) through do_tune_cpucache(), replacing live array caches.",
         ("slabinfo_write", "/proc/slabinfo")),
    Term("prev", "The array-cache set __do_tune_cpucache() replaces: NULL when creating a cache, the set in use "
         "when tuning one. prev[0] in the state table is writer 0's.", ("prev[0]",)),
    Term("IPI", "An inter-processor interrupt. kick_all_cpus_sync() sends one to every other CPU and waits until "
         "each has handled it.", ("IPIs", "ipi0", "IPI condition", "function-call interrupts")),
    Term("kick_all_cpus_sync()", "smp_mb() then smp_call_function(do_nothing, NULL, 1): make the new pointer "
         "visible, interrupt every other CPU and wait for them all.",
         ("kick_all_cpus_sync", "smp_call_function", "smp_call_function()", "smp_call_function_many()", "kick",
          "smp_mb()", "do_nothing()", "kicks")),
    Term("csd_lock_wait", "Where the kicking CPU waits until every IPI it sent has been handled (wait=1).",
         ("csd_lock_wait()",)),
    Term("IPI handler", "A CPU running the IPI's function (do_nothing()) from flush_smp_call_function_queue(); it "
         "can only happen with that CPU's IRQs on. Running it acknowledges the IPI (ack).",
         ("ipi_handler", "ack", "acknowledged", "acknowledges", "acknowledgement",
          "flush_smp_call_function_queue()")),
    Term("drain", "free_block() gives the objects in prev's slot of every CPU back to the slabs. A reader that "
         "touches the array cache during or after the drain loses or duplicates objects (no_access_after_drain).",
         ("drained", "free_block", "free_block()", "drain_array", "drain_array()")),
    Term("free", "free_percpu(prev) returns the array-cache memory; touching it afterwards is a use after free "
         "(no_use_after_free). Drained comes before freed: the drain empties the array cache, the free releases it.",
         ("freed", "free_percpu", "free_percpu()", "use after free")),
    Term("setup_node", "The label __do_tune_cpucache() jumps to when prev is NULL (nothing to drain or free): the "
         "per-node setup that follows.", ("goto setup_node",)),
    Term("lifecycle states", "ac_state[root#0] in the state table: unallocated, fresh (allocated, reachable by "
         "nobody), live (installed), retired (unlinked, maybe still held), drained, freed.",
         ("ac_state", "unallocated", "fresh", "live", "retired")),
    Term("cache_reap()", "The periodic reaper: takes slab_mutex with mutex_trylock() and drains array caches with "
         "IRQs on, protected by the mutex instead of IRQs off.", ("reaper", "reapers", "reaper_ac",
                                                                           "reaper_locked", "reaper_pc", "cache_reap")),
    Term("IPI condition", "When __do_tune_cpucache() kicks: always (before the patch), if-prev (the patch), never, "
         "if-no-prev (the condition inverted). The what-ifs use the last two.",
         ("always", "if-prev", "never", "if-no-prev", "what-if", "patched", "unpatched", "inverted")),
    Term("reachable state", "A state some interleaving of the actors' steps reaches from the initial one; the "
         "explicit engine explores all of them (states explored).", ("states", "states explored", "state")),
    Term("counterexample", "A trace that ends in a state violating an always-property: the bug, step by step.",
         ("trace",)),
    Term("witness", "A trace that reaches a state a sometimes-property asks for, such as a reader holding prev "
         "when the writer publishes: proof the situation is possible.", ("witnessed", "witnesses")),
    Term("non-vacuity", "A witness showing that a claim is not true for an empty reason (e.g. that readers do hold "
         "array caches at all).", ("not vacuous",)),
    Term("contrast", "The same check on a broken variant, which must fail: it shows the check can detect the bug.",
         ()),
    Term("explicit", "The explicit-state engine: explores every reachable state for a fixed number of CPUs "
         "(CPU symmetry merges states that differ by renaming CPUs).", ("explicit engine", "CPU symmetry")),
    Term("bmc", "Bounded model checking with Z3: looks for a counterexample of at most k steps; it can find bugs "
         "but proves only up to its bound.", ()),
    Term("induction", "k-induction with Z3: proves an always-property for the given CPUs if it (with helper "
         "invariants) is preserved by every step; it never refutes, so on a broken variant it says undecided.", ()),
    Term("param", "The parameterized engine: proves properties for any number of CPUs with an inductive invariant "
         "quantified over CPUs; like induction it proves or says undecided.", ("any-N",)),
    Term("Houdini", "The invariant search induction and param use: start from many candidate clauses and drop every "
         "one some step can break, until the rest is inductive.", ("candidates", "inductive invariant")),
    Term("no_use_after_free", "The property: nobody touches an array cache after free_percpu() freed it.", ()),
    Term("no_access_after_drain", "The property: no reader touches an array cache the writer has started to drain "
         "with free_block() (one step earlier than a use after free).", ()),
    Term("reader_holds_prev_at_publish", "The sometimes-property: a reader holds prev when the writer publishes the "
         "new array cache, so the IPI has something to wait for.", ()),
    Term("fresh_unreachable", "The property: no CPU holds a fresh array cache, nor one of an invisible kmem_cache.",
         ()),
)

_INDEX: dict[str, Term] = {}
for _t in TERMS:
    for _w in (_t.term, *_t.aliases):
        _INDEX.setdefault(_w.lower(), _t)


def lookup(word: str) -> Term | None:
    """The entry defining `word` (a term or alias, case-insensitive; `f()` and `f` both match), else None."""
    w = word.strip().lower()
    return _INDEX.get(w) or _INDEX.get(w.removesuffix("()")) or _INDEX.get(w + "()")


def text(width: int = 100) -> str:
    """The glossary as plain text, one entry a paragraph (for ``explain --glossary``)."""
    out = ["Glossary: the terms slabproof explain and the HTML page use", ""]
    for t in TERMS:
        out.append(textwrap.fill(f"{t.term}: {t.definition}", width, subsequent_indent="    "))
    return "\n".join(out) + "\n"


def markdown() -> str:
    """docs/glossary.md (generated; the tests compare the file with this)."""
    out = ["# Glossary", "", "Every term `slabproof explain` and the HTML counterexample page use, in one or two "
           "sentences. Generated from `slabproof/report/glossary.py` (`python -m slabproof explain --glossary` "
           "prints the same).", ""]
    for t in TERMS:
        also = f" Also: {', '.join('`' + a + '`' for a in t.aliases)}." if t.aliases else ""
        out.append(f"- **`{t.term}`** -- {t.definition}{also}")
    return "\n".join(out) + "\n"


def link(word: str, shown: str | None = None) -> str:
    """`shown` (default `word`), HTML-escaped, as a link to its glossary entry when there is one."""
    t = lookup(word)
    s = escape(shown if shown is not None else word)
    return f'<a class="term" href="#{t.anchor}" title="{escape(t.definition)}">{s}</a>' if t else s


def html_section() -> str:
    """The glossary as an HTML definition list, each term an anchor."""
    items = "".join(f'<dt id="{t.anchor}"><code>{escape(t.term)}</code></dt><dd>{escape(t.definition)}</dd>'
                    for t in TERMS)
    return f'<h2 id="glossary">Glossary</h2><dl class="glossary">{items}</dl>'
