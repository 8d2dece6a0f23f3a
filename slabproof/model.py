"""The model: what the kernel does, as a transition system built from a spec.

This module knows nothing about search or proof. `build(spec)` returns a
`System`: state-variable families, the initial values, the actions (each a
guard and an update in the language of `expr`), and the named properties.
Every engine consumes that one description.

Actors (KERNEL.md section 5):

* **CPU c, reader** -- runs reader sections in a loop, in the spec's step order
  (kernel order by default: ``local_irq_save``, ``cpu_cache_get``,
  ``ac_access``, ``local_irq_restore``, as in ``slab_alloc()`` /
  ``kmem_cache_free()`` of v4.11). The reference it loaded dies when the
  section returns (after its last step).
* **CPU c, IPI** -- the IPI handler (``do_nothing()`` run from
  ``flush_smp_call_function_queue()``) acknowledges every IPI pending on c,
  only while c's IRQs are on.
* **CPU c, reaper** (when the spec asks) -- ``cache_reap()``: trylock
  ``slab_mutex``, load an array cache, ``drain_array()`` it with IRQs on,
  unlock.
* **writer w** -- runs its script of create / tune operations on one CPU, each
  a pass through ``__do_tune_cpucache()`` under ``slab_mutex``. It steps only
  while its CPU is outside a reader section, and sends IPIs to every other CPU.

Simplifications, each deliberate: the per-CPU slots of one array-cache set
share one lifecycle state; ``free_block()`` drains every CPU's slot in one
step (it holds the node's ``list_lock``); a reaper round touches one cache;
all CPUs stay online; memory is sequentially consistent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from slabproof.lang.expr import (
    FALSE,
    TRUE,
    And,
    Assign,
    AssignAll,
    Bound,
    Const,
    CpuConst,
    CpuTerm,
    Exists,
    Expr,
    Family,
    Forall,
    Implies,
    In,
    Ite,
    Not,
    Or,
    Read,
    Self,
    Update,
    WriterCpu,
    subst_cpu,
)

if TYPE_CHECKING:
    from slabproof.lang.spec import Spec

# ---------------------------------------------------------------------------
# vocabulary (the spec loader validates against these)

READER_STEPS = ("local_irq_save", "cpu_cache_get", "ac_access", "local_irq_restore", "mutex_lock", "mutex_unlock",
                "loop")
REAPER_STEPS = ("mutex_trylock", "cpu_cache_get", "drain_array", "mutex_unlock")
REPEATABLE_STEPS = ("ac_access", "drain_array", "smp_mb", "smp_wmb")

DEFAULT_READER = ("local_irq_save", "cpu_cache_get", "ac_access", "local_irq_restore")
DEFAULT_REAPER = ("mutex_trylock", "cpu_cache_get", "drain_array", "mutex_unlock")
DEFAULT_TUNE = (
    "mutex_lock",
    "alloc_kmem_cache_cpus",
    "load_prev",
    "publish_cpu_cache",
    "smp_mb",
    "smp_call_function",
    "csd_lock_wait",
    "free_block",
    "free_percpu",
    "mutex_unlock",
)
DEFAULT_CREATE = DEFAULT_TUNE[:-1] + ("smp_wmb", "publish_cache", "mutex_unlock")
BARRIER_STEPS = ("smp_mb", "smp_wmb")  # no effect under "sc": dropped from the programs there (docs/memory.md)
WRITER_STEPS = DEFAULT_CREATE  # every writer step, in the kernel's order

REQUIRED_READER = ("cpu_cache_get",)
REQUIRED_REAPER = ("cpu_cache_get",)
REQUIRED_TUNE = ("alloc_kmem_cache_cpus", "load_prev", "publish_cpu_cache")
REQUIRED_CREATE = REQUIRED_TUNE + ("publish_cache",)

MAX_WRITERS = 2

# What each step stands for: (kernel function, v4.11/v4.12, what it does).
KERNEL: dict[str, tuple[str, str]] = {
    "local_irq_save": ("slab_alloc() / kmem_cache_free()", "local_irq_save(flags): IRQs off"),
    "cpu_cache_get": ("____cache_alloc() / ___cache_free()", "ac = cpu_cache_get(cachep)"),
    "ac_access": ("____cache_alloc() / ___cache_free()", "touch ac->entry[] and ac->avail"),
    "local_irq_restore": ("slab_alloc() / kmem_cache_free()", "local_irq_restore(flags): IRQs on"),
    "loop": ("what-if", "loop: go on (or go back to the previous step)"),
    "ipi_handler": ("flush_smp_call_function_queue()", "IPI handled: do_nothing()"),
    "mutex_trylock": ("cache_reap()", "mutex_trylock(&slab_mutex)"),
    "drain_array": ("cache_reap()", "drain_array(searchp, n, ac, node): touch ac, IRQs on"),
    "mutex_unlock": ("mutex_unlock()", "mutex_unlock(&slab_mutex)"),
    "mutex_lock": ("mutex_lock()", "mutex_lock(&slab_mutex)"),
    "alloc_kmem_cache_cpus": ("__do_tune_cpucache()", "cpu_cache = alloc_kmem_cache_cpus(...)"),
    "load_prev": ("__do_tune_cpucache()", "prev = cachep->cpu_cache"),
    "publish_cpu_cache": ("__do_tune_cpucache()", "cachep->cpu_cache = cpu_cache"),
    "smp_call_function": ("kick_all_cpus_sync()", "smp_mb(); smp_call_function(do_nothing): IPI every other CPU"),
    "smp_mb": ("kick_all_cpus_sync()", "smp_mb(): wait until every earlier store is visible (with the kick)"),
    "smp_wmb": ("memcg_create_kmem_cache()", "smp_wmb(): earlier stores become visible before later ones"),
    "csd_lock_wait": ("smp_call_function_many()", "wait until every IPI is handled (wait=1)"),
    "free_block": ("__do_tune_cpucache()", "free_block(): drain prev's slot of every CPU"),
    "free_percpu": ("__do_tune_cpucache()", "free_percpu(prev)"),
    "publish_cache": ("create_cache()", "list_add(&s->list, &slab_caches)"),
    "publish_cache@memcg": ("memcg_create_kmem_cache()", "smp_wmb(); arr->entries[idx] = s"),
}

# ---------------------------------------------------------------------------
# values

NONE, NULL = 0, 1  # a reference slot holding nothing; a loaded NULL pointer
AC_BASE = 2  # array cache number a is the reference value AC_BASE + a

UNALLOC, FRESH, LIVE, RETIRED, DRAINED, FREED = range(6)
STATUS_NAMES = ("unallocated", "fresh", "live", "retired", "drained", "freed")

IPI_CONDITIONS = ("always", "if-prev", "never", "if-no-prev")

ALWAYS_PROPERTIES = (
    "no_use_after_free",
    "no_access_after_drain",
    "no_null_cpu_cache",
    "fresh_unreachable",
    "writer_terminates",
    "writer_waits_end_under_fairness",
)
LIVENESS = "writer_terminates"
FAIRNESS = "writer_waits_end_under_fairness"
LIVENESS_PROPERTIES = (LIVENESS, FAIRNESS)
SOMETIMES_PROPERTIES = ("reader_holds_prev_at_publish",)

PROPERTY_DOCS = {
    "no_use_after_free": "nobody -- reader, reaper or the writer's own drain -- touches an array cache "
    "that is freed or was never allocated",
    "no_access_after_drain": "no reader or reaper touches an array cache the writer has drained",
    "no_null_cpu_cache": "no reader of a visible kmem_cache loads a NULL cpu_cache and touches it",
    "fresh_unreachable": "no CPU holds a fresh array cache, nor any array cache of a kmem_cache that is not yet visible",
    "writer_terminates": "from every reachable state every writer can still finish its script "
    "(its IPI wait always ends)",
    FAIRNESS: "every wait of a writer (csd_lock_wait in kick_all_cpus_sync(), mutex_lock(&slab_mutex)) ends "
    "in every fair run (weak fairness for a reader inside its section; strong fairness for the IPI handler, "
    "the writer and a reaper inside its round; docs/liveness.md)",
    "reader_holds_prev_at_publish": "a reader holds the array cache being replaced at the moment the writer "
    "publishes the new one (so the IPI on replacement has something to wait for)",
}


@dataclass(frozen=True)
class ArrayCache:
    """One per-CPU array-cache set, allocated by one operation (or at boot)."""

    index: int
    cache: int  # owning kmem_cache
    label: str  # e.g. "child#1"

    @property
    def ref(self) -> int:
        return AC_BASE + self.index


@dataclass(frozen=True)
class StoreSite:
    """A store of a writer that goes through its CPU's store buffer (memory "tso" / "relaxed")."""

    id: int
    writer: int
    pos: int  # position in the writer's program
    family: str  # "cpu_cache", "visible" or "ac_init"
    index: int
    value: int  # for cpu_cache: an array-cache index (its reference is AC_BASE + value)
    text: str


@dataclass(frozen=True)
class WriterOp:
    writer: int
    index: int  # position in that writer's script
    kind: str
    cache: int
    new_ac: int  # index of the ArrayCache this operation allocates

    def describe(self, system: "System") -> str:
        return f"{self.kind} {system.caches[self.cache]}"


@dataclass(frozen=True)
class Action:
    """One transition template.

    For CPU actors (`actor` in cpu / ipi / reaper) the guard and update are
    written over `Self`; an engine instantiates them for each CPU (or, for any
    number of CPUs, for a symbolic one).
    """

    step: str  # spec step name, or "ipi_handler"
    actor: str  # "cpu" | "ipi" | "reaper" | "writer" | "flush" (a writer CPU's store buffer; not under "sc")
    guard: Expr
    update: Update
    writer: int | None = None
    pc: int | None = None
    choice: int | None = None  # kmem_cache chosen by cpu_cache_get
    op: int | None = None  # index into System.ops
    skipped: bool = False  # a writer step whose condition is false: only the pc moves
    skip_reason: str = ""
    touches: Expr | None = None  # reference value of the array cache the step touches
    ipi_targets: Expr | None = None  # over Bound("x"): the CPUs that get an IPI
    on_cpu: CpuTerm | None = None  # a writer step: the CPU it runs on (`WriterCpu`, or a `CpuConst` when migrating)
    function: str = ""
    text: str = ""

    @property
    def name(self) -> str:
        base = self.step + (" (skipped)" if self.skipped else "")
        return base


@dataclass(frozen=True)
class Property:
    name: str
    kind: str  # "always" | "sometimes"
    expr: Expr  # a state predicate
    doc: str
    # (action index, condition over Self in the action's pre-state): the steps that
    # would commit the violation, so a counterexample can end with the culprit step
    culprits: tuple[tuple[int, Expr], ...] = ()


@dataclass
class System:
    """A transition system for one spec (see the module docstring)."""

    spec: "Spec"
    families: dict[str, Family]
    init: dict[str, int | dict[int, int]]  # family -> value (cpu/scalar) or index -> value (finite)
    actions: list[Action]
    properties: list[Property]
    caches: list[str]
    memcg: list[bool]
    acs: list[ArrayCache]
    ops: list[WriterOp]
    writer_cpus: tuple[int, ...]
    writer_end: tuple[int, ...]  # program length of each writer: its pc when done
    reader_len: int
    reaper_len: int
    reapers: bool
    done: Expr = field(default=TRUE)  # every writer has finished its script
    pinned_cpus: tuple[int, ...] = ()  # CPUs a writer may run on: never permuted by symmetry reduction

    @property
    def ncpus(self) -> int:
        return self.spec.cpus

    def family(self, name: str) -> Family:
        return self.families[name]

    def ac_label(self, ref: int) -> str:
        if ref == NONE:
            return "-"
        if ref == NULL:
            return "NULL"
        return self.acs[ref - AC_BASE].label

    def show_value(self, family: str, value: int) -> str:
        """A value of a family in words (array-cache labels, lifecycle names, on/off)."""
        f = self.families[family]
        if family in ("ac", "reaper_ac", "prev", "cpu_cache"):
            return self.ac_label(value)
        if family == "ac_state":
            return STATUS_NAMES[value]
        if family == "slab_mutex":
            if value == 0:
                return "free"
            return "a CPU (reaper or reader)" if value == 1 + len(self.writer_cpus) else f"writer{value - 1}"
        if family == "irqs_off":
            return "off" if value else "on"
        if family == "writer_pc":
            return str(value)
        if f.is_bool:
            return "yes" if value else "no"
        return str(value)

    def property(self, name: str) -> Property:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(name)


# ---------------------------------------------------------------------------
# construction


class _Builder:
    def __init__(self, spec: "Spec") -> None:
        self.spec = spec
        self.caches = [c.name for c in spec.caches]
        self.memcg = [c.memcg for c in spec.caches]
        nw = len(spec.writers)
        # array caches: one per boot cache, then one per operation, in script order
        self.acs: list[ArrayCache] = []
        per_cache_count = {k: 0 for k in range(len(self.caches))}

        def new_ac(k: int) -> int:
            i = len(self.acs)
            self.acs.append(ArrayCache(i, k, f"{self.caches[k]}#{per_cache_count[k]}"))
            per_cache_count[k] += 1
            return i

        self.boot_ac: dict[int, int] = {}
        for k, c in enumerate(spec.caches):
            if c.boot:
                self.boot_ac[k] = new_ac(k)
        self.ops: list[WriterOp] = []
        for w, ws in enumerate(spec.writers):
            for j, op in enumerate(ws.script):
                k = self.caches.index(op.cache)
                self.ops.append(WriterOp(w, j, op.kind, k, new_ac(k)))
        refs = tuple(a.ref for a in self.acs)
        self.refs = refs
        ref_values = (NONE, NULL) + refs
        self.reader_len = len(spec.reader_steps)
        self.reaper_len = len(spec.reaper_steps)
        R = 1 + nw  # slab_mutex value meaning "held by a reaper"
        self.mutex_reaper = R
        F: dict[str, Family] = {}

        def fam(name: str, kind: str, values: tuple[int, ...], is_bool: bool = False,
                domain: tuple[int, ...] = (), default: int = 0, doc: str = "") -> Family:
            f = Family(name, kind, is_bool, values, domain, default, doc)
            F[name] = f
            return f

        # a reader section that takes slab_mutex is a what-if (a sleeping lock with IRQs off)
        self.reader_mutex = any(s in spec.reader_steps for s in ("mutex_lock", "mutex_unlock"))
        self.mutex = fam("slab_mutex", "scalar", tuple(range(R + (1 if spec.reapers or self.reader_mutex else 0))),
                         doc="0 free, 1+w held by writer w, %d held by a CPU's reaper or reader" % R)
        wdom = tuple(range(nw))
        self.programs = [self._program(w) for w in range(nw)]
        end = max(len(p) for p in self.programs)
        self.wpc = fam("writer_pc", "finite", tuple(range(end + 1)), domain=wdom, doc="position in the writer's script")
        self.prev = fam("prev", "finite", ref_values, domain=wdom, doc="the writer's prev (- before it is loaded)")
        kdom = tuple(range(len(self.caches)))
        self.cpu_cache = fam("cpu_cache", "finite", (NULL,) + refs, domain=kdom, doc="cachep->cpu_cache")
        self.visible = fam("visible", "finite", (0, 1), True, domain=kdom, doc="the kmem_cache is published")
        self.st = fam("ac_state", "finite", tuple(range(6)), domain=refs, default=UNALLOC,
                      doc="lifecycle: " + ", ".join(f"{i} {n}" for i, n in enumerate(STATUS_NAMES)))
        self.pc = fam("pc", "cpu", tuple(range(self.reader_len)), doc="reader position")
        self.irq = fam("irqs_off", "cpu", (0, 1), True, doc="IRQs disabled")
        self.held = fam("ac", "cpu", ref_values, doc="the array cache the reader holds")
        self.ipi = [fam(f"ipi{w}", "cpu", (0, 1), True, doc=f"an IPI of writer {w} is pending") for w in range(nw)]
        if spec.reapers:
            self.kpc = fam("reaper_pc", "cpu", tuple(range(self.reaper_len)), doc="reaper position")
            self.kheld = fam("reaper_ac", "cpu", ref_values, doc="the array cache the reaper holds")
            self.klocked = fam("reaper_locked", "cpu", (0, 1), True, doc="the reaper holds slab_mutex")
        if self.reader_mutex:
            self.rlocked = fam("reader_locked", "cpu", (0, 1), True, doc="the reader section holds slab_mutex")
        self.F = F
        self.memory = spec.memory
        self.sites: list[StoreSite] = []
        if self.memory != "sc":
            self._store_sites()

    # -- weak memory (docs/memory.md)
    def _store_sites(self) -> None:
        """One store-buffer entry per store that matters, in each writer's program order.

        Each program position runs at most once, so a FIFO store buffer is a set of
        pending sites plus an order: a site may flush when every earlier pending site it
        is ordered after has flushed (tso: every earlier one; relaxed: those before a
        barrier between them).
        """
        for w, prog in enumerate(self.programs):
            for p, (step, oi) in enumerate(prog):
                op = self.ops[oi]
                a = self.acs[op.new_ac].ref
                if step == "alloc_kmem_cache_cpus":
                    self.sites.append(StoreSite(len(self.sites), w, p, "ac_init", a, 1, f"init {self.acs[op.new_ac].label}"))
                elif step == "publish_cpu_cache":
                    self.sites.append(StoreSite(len(self.sites), w, p, "cpu_cache", op.cache, op.new_ac,
                                                f"{self.caches[op.cache]}->cpu_cache = {self.acs[op.new_ac].label}"))
                elif step == "publish_cache":
                    self.sites.append(StoreSite(len(self.sites), w, p, "visible", op.cache, 1,
                                                f"publish {self.caches[op.cache]}"))
        sdom = tuple(s.id for s in self.sites)
        self.pending = Family("sb_pending", "finite", True, (0, 1), sdom, 0,
                              "a store still in its writer CPU's store buffer (docs/memory.md)")
        self.ac_init = Family("ac_init", "finite", True, (0, 1), self.refs, 0,
                              "the array cache's initialization is visible to other CPUs")
        self.F["sb_pending"] = self.pending
        self.F["ac_init"] = self.ac_init

    def _site_value(self, s: "StoreSite") -> Expr:
        return Const(self.acs[s.value].ref) if s.family == "cpu_cache" else Const(s.value)

    def view(self, fam: str, idx: Expr | int, viewer: CpuTerm | None) -> Expr:
        """`fam[idx]` as CPU `viewer` sees it: its own writer's pending stores forwarded (None: memory only).

        `viewer` is a CPU term; a writer passes its WriterCpu, so it reads its own stores.
        """
        mem = Read(self.F[fam], idx)
        if self.memory == "sc" or viewer is None:
            return mem
        out: Expr = mem
        for w in range(len(self.programs)):
            own: Expr = mem
            for s in self.sites:  # later sites override earlier ones
                if s.writer != w or s.family != fam or (isinstance(idx, int) and idx != s.index):
                    continue
                hit = self.pending_at(s) if isinstance(idx, int) else And(idx == s.index, self.pending_at(s))
                own = Ite(hit, self._site_value(s), own)
            if own is not mem:
                out = Ite(_cpu_eq(viewer, WriterCpu(w)), own, out) if not isinstance(viewer, WriterCpu) \
                    else (own if viewer.writer == w else out)
        return out

    def pending_at(self, s: "StoreSite") -> Expr:
        return Read(self.pending, s.id) == 1

    def ordered_before(self, s: "StoreSite") -> list["StoreSite"]:
        """The earlier sites of the same writer that must flush before `s`."""
        prog = self.programs[s.writer]
        out = []
        for e in self.sites:
            if e.writer != s.writer or e.pos >= s.pos:
                continue
            # smp_mb orders by waiting for the buffer (its guard), and only when it runs; smp_wmb statically
            if self.memory == "tso" or any(prog[q][0] == "smp_wmb" for q in range(e.pos + 1, s.pos)):
                out.append(e)
        return out

    def flush_actions(self) -> list[Action]:
        out: list[Action] = []
        for s in self.sites:
            guard = And(self.pending_at(s), *[Not(self.pending_at(e)) for e in self.ordered_before(s)])
            fam = self.F[s.family]
            out.append(Action("flush", "flush", guard,
                              (Assign(fam, s.index, self._site_value(s)), Assign(self.pending, s.id, Const(0))),
                              writer=s.writer, on_cpu=WriterCpu(s.writer), function="store buffer",
                              text=f"flush: {s.text} becomes visible"))
        return out

    def drained(self, w: int) -> Expr:
        return And(*[Not(self.pending_at(s)) for s in self.sites if s.writer == w])

    # -- helpers
    def is_ac(self, e: Expr) -> Expr:
        return In(e, self.refs)

    def st_of(self, ref: Expr) -> Expr:
        return Read(self.st, ref)

    def any_visible(self, viewer: CpuTerm | None = None) -> Expr:
        return Or(*[self.view("visible", k, viewer) == 1 if self.memory != "sc" else Read(self.visible, k)
                    for k in range(len(self.caches))])

    def _program(self, w: int) -> list[tuple[str, int]]:
        """The writer's whole program: (step, op index) for each position."""
        prog: list[tuple[str, int]] = []
        for oi, op in enumerate(self.ops):
            if op.writer != w:
                continue
            order = self.spec.create_steps if op.kind == "create" else self.spec.tune_steps
            prog.extend((s, oi) for s in order if self.spec.memory != "sc" or s not in BARRIER_STEPS)
        return prog

    def kick_condition(self, prev: Expr) -> tuple[Expr, str]:
        ipi = self.spec.ipi
        if ipi == "always":
            return TRUE, ""
        if ipi == "never":
            return FALSE, "the IPI condition is 'never'"
        if ipi == "if-prev":
            return self.is_ac(prev), "if (prev) is false: no previous array cache"
        return Not(self.is_ac(prev)), "if (!prev) is false: there is a previous array cache"

    # -- reader and reaper
    def cpu_actions(self) -> list[Action]:
        me = Self()
        out: list[Action] = []
        order = self.spec.reader_steps
        L = len(order)
        for p, step in enumerate(order):
            last = p == L - 1
            base_guard: Expr = Read(self.pc, me) == p
            if p == 0:
                base_guard = And(base_guard, self.any_visible(me))
            fin: list[Assign | AssignAll] = [Assign(self.pc, me, Const(0 if last else p + 1))]
            if last:
                fin.append(Assign(self.held, me, Const(NONE)))
            fn, text = KERNEL[step]
            if step == "cpu_cache_get":
                for k in range(len(self.caches)):
                    upd = (Assign(self.held, me, self.view("cpu_cache", k, me)),) + tuple(fin)
                    if last:  # the loaded reference dies at once
                        upd = upd[:1] + tuple(fin)
                    out.append(Action(step, "cpu", And(base_guard, self.view("visible", k, me) == 1), upd, pc=p,
                                      choice=k, function=fn, text=f"ac = cpu_cache_get({self.caches[k]})"))
                continue
            upd_l: list[Assign | AssignAll] = []
            touches = None
            if step == "local_irq_save":
                upd_l.append(Assign(self.irq, me, Const(1)))
            elif step == "local_irq_restore":
                upd_l.append(Assign(self.irq, me, Const(0)))
            elif step == "ac_access":
                touches = Read(self.held, me)
            elif step == "mutex_lock":
                base_guard = And(base_guard, Read(self.mutex) == 0)
                upd_l.append(Assign(self.mutex, None, Const(self.mutex_reaper)))
                upd_l.append(Assign(self.rlocked, me, Const(1)))
            elif step == "mutex_unlock":
                m = Read(self.mutex)
                upd_l.append(Assign(self.mutex, None, Ite(Read(self.rlocked, me) == 1, 0, m)))
                upd_l.append(Assign(self.rlocked, me, Const(0)))
            elif step == "loop":  # what-if: the section may run its previous step again, forever
                back = max(p - 1, 0)  # (first: the loop spins on itself)
                out.append(Action(step, "cpu", base_guard, (Assign(self.pc, me, Const(back)),), pc=p,
                                  function=fn, text="loop: back to " + order[back]))
            out.append(Action(step, "cpu", base_guard, tuple(upd_l + fin), pc=p, touches=touches, function=fn, text=text))
        # the IPI handler
        pending = Or(*[Read(f, me) == 1 for f in self.ipi])
        # knob ipi_waits_for_irqs_on (the kernel: an IPI is taken only with IRQs enabled)
        may_take = Read(self.irq, me) == 0 if self.spec.ipi_waits_for_irqs_on else TRUE
        if self.spec.ipi_only_with_irqs_off:  # knob (what-if): the handler runs only inside an IRQs-off section
            may_take = Read(self.irq, me) == 1
        out.append(Action("ipi_handler", "ipi", And(may_take, pending),
                          tuple(Assign(f, me, Const(0)) for f in self.ipi),
                          function=KERNEL["ipi_handler"][0], text=KERNEL["ipi_handler"][1]))
        if self.spec.reapers:
            out.extend(self.reaper_actions())
        return out

    def reaper_actions(self) -> list[Action]:
        me = Self()
        out: list[Action] = []
        order = self.spec.reaper_steps
        L = len(order)
        for p, step in enumerate(order):
            last = p == L - 1
            nxt = 0 if last else p + 1
            # a reaper is a task on CPU `me`: it runs only while no reader section is open there
            base_guard = And(Read(self.kpc, me) == p, Read(self.pc, me) == 0)
            if p == 0:
                base_guard = And(base_guard, self.any_visible(me))
            fin: list[Assign | AssignAll] = [Assign(self.kpc, me, Const(nxt))]
            if last:
                fin.append(Assign(self.kheld, me, Const(NONE)))
            fn, text = KERNEL[step]
            if step == "cpu_cache_get":
                for k in range(len(self.caches)):
                    upd = (Assign(self.kheld, me, self.view("cpu_cache", k, me)),) + tuple(fin)
                    if last:
                        upd = tuple(fin)
                    out.append(Action(step, "reaper", And(base_guard, self.view("visible", k, me) == 1), upd, pc=p,
                                      choice=k, function="cache_reap()", text=f"ac = cpu_cache_get({self.caches[k]})"))
                continue
            if step == "mutex_trylock":
                m = Read(self.mutex)
                free = m == 0
                upd = (
                    Assign(self.mutex, None, Ite(free, self.mutex_reaper, m)),
                    Assign(self.klocked, me, Ite(free, 1, Read(self.klocked, me))),
                    Assign(self.kpc, me, Ite(free, nxt, 0)),
                    Assign(self.kheld, me, Ite(free, Read(self.kheld, me) if not last else NONE, NONE)),
                )
                out.append(Action(step, "reaper", base_guard, upd, pc=p, function=fn,
                                  text="mutex_trylock(&slab_mutex); gives up if held"))
                continue
            upd_l: list[Assign | AssignAll] = []
            touches = None
            if step == "drain_array":
                touches = Read(self.kheld, me)
            elif step == "mutex_unlock":
                mine = Read(self.klocked, me) == 1
                upd_l.append(Assign(self.mutex, None, Ite(mine, 0, Read(self.mutex))))
                upd_l.append(Assign(self.klocked, me, Const(0)))
            out.append(Action(step, "reaper", base_guard, tuple(upd_l + fin), pc=p, touches=touches,
                              function="cache_reap()" if step != "mutex_unlock" else fn, text=text))
        return out

    # -- writers
    def writer_actions(self) -> list[Action]:
        out: list[Action] = []
        site_at = {(s.writer, s.pos): s for s in self.sites}
        for w, prog in enumerate(self.programs):
            wcpu = WriterCpu(w)
            prev = Read(self.prev, w)
            for p, (step, oi) in enumerate(prog):
                op = self.ops[oi]
                k, a = op.cache, self.acs[op.new_ac].ref
                last_of_op = p + 1 == len(prog) or prog[p + 1][1] != oi
                base: Expr = Read(self.wpc, w) == p
                if self.spec.writer_waits_for_idle_cpu:  # knob: the writer's CPU is outside a reader section
                    base = And(base, Read(self.pc, wcpu) == 0)
                fin: list[Assign | AssignAll] = [Assign(self.wpc, w, Const(p + 1))]
                if last_of_op:
                    fin.append(Assign(self.prev, w, Const(NONE)))
                fn, text = KERNEL[step]
                when: Expr = TRUE
                reason = ""
                guard: Expr = TRUE
                upd: list[Assign | AssignAll] = []
                touches = None
                targets = None
                site = site_at.get((w, p))
                if step == "mutex_lock":
                    guard = Read(self.mutex) == 0
                    upd = [Assign(self.mutex, None, Const(1 + w))]
                elif step == "mutex_unlock":
                    m = Read(self.mutex)
                    upd = [Assign(self.mutex, None, Ite(m == 1 + w, 0, m))]
                    if self.memory != "sc":  # a release; modelled as waiting for the store buffer (stronger)
                        guard = self.drained(w)
                elif step in BARRIER_STEPS:
                    if step == "smp_mb":  # the smp_mb() of kick_all_cpus_sync(): taken only when the kick is
                        when, reason = self.kick_condition(prev)
                        guard = self.drained(w)
                elif step == "alloc_kmem_cache_cpus":
                    upd = [Assign(self.st, a, Const(FRESH))]
                    if site is not None:
                        upd.append(Assign(self.pending, site.id, Const(1)))
                elif step == "load_prev":
                    upd = [Assign(self.prev, w, self.view("cpu_cache", k, wcpu))]
                    text = f"prev = {self.caches[k]}->cpu_cache"
                elif step == "publish_cpu_cache":
                    old = self.view("cpu_cache", k, wcpu)
                    sa = Read(self.st, a)
                    upd = [
                        Assign(self.st, old, Ite(self.st_of(old) == LIVE, RETIRED, self.st_of(old))),
                        Assign(self.st, a, Ite(sa == FRESH, LIVE, sa)),
                        Assign(self.cpu_cache, k, Const(a)) if site is None else Assign(self.pending, site.id, Const(1)),
                    ]
                    text = f"{self.caches[k]}->cpu_cache = {self.acs[op.new_ac].label}"
                elif step == "smp_call_function":
                    if self.memory != "sc":  # the barrier is its own step here
                        text = "smp_call_function(do_nothing): IPI every other CPU"
                    when, reason = self.kick_condition(prev)
                    x = Bound("x")
                    targets = {"others": Not(_cpu_eq(x, wcpu)), "all": TRUE, "self": _cpu_eq(x, wcpu),
                               "none": FALSE}[self.spec.ipi_to]  # knob ipi_to
                    upd = [AssignAll(self.ipi[w], x, Or(Read(self.ipi[w], x) == 1, targets))]
                elif step == "csd_lock_wait":
                    when, reason = self.kick_condition(prev)
                    x = Bound("x")
                    guard = Forall(x, Read(self.ipi[w], x) == 0)
                elif step in ("free_block", "free_percpu"):
                    when, reason = self.is_ac(prev), "prev is NULL: nothing to drain or free (goto setup_node)"
                    if step == "free_block":
                        touches = prev
                        upd = [Assign(self.st, prev, Ite(self.st_of(prev) == FREED, FREED, DRAINED))]
                    else:
                        upd = [Assign(self.st, prev, Const(FREED))]
                elif step == "publish_cache":
                    upd = [Assign(self.visible, k, Const(1)) if site is None else Assign(self.pending, site.id, Const(1))]
                    name = self.caches[k]
                    if self.memcg[k]:
                        fn = KERNEL["publish_cache@memcg"][0]
                        text = f"smp_wmb(); arr->entries[idx] = {name}" if self.memory == "sc" else \
                            f"arr->entries[idx] = {name}"
                    else:
                        text = f"list_add(&{name}->list, &slab_caches)"
                if not (isinstance(when, Const) and when.value == 0):
                    out.append(Action(step, "writer", And(base, when, guard), tuple(upd + fin), touches=touches,
                                      ipi_targets=targets, text=text,
                                      writer=w, pc=p, op=oi, function=fn, on_cpu=wcpu))
                if not (isinstance(when, Const) and when.value == 1):
                    out.append(Action(step, "writer", And(base, Not(when)), tuple(fin), skipped=True,
                                      skip_reason=reason, text=text,
                                      writer=w, pc=p, op=oi, function=fn, on_cpu=wcpu))
        return self._migrating(out)

    def _migrating(self, actions: list[Action]) -> list[Action]:
        """Writers with `migrate`: each step once per CPU the task may be on, WriterCpu made concrete.

        The scheduler may move the writer's task between any two of its steps (it
        sleeps on slab_mutex, and holds no spinlock); so each step is taken on
        any of its CPUs, with that CPU's guard (outside a reader section) and IPI
        targets (every CPU but that one). This over-approximates the kernel,
        where smp_call_function() keeps preemption disabled from the kick to
        the end of the wait.
        """
        out: list[Action] = []
        for act in actions:
            cpus = self.spec.writers[act.writer].cpus if act.writer is not None else ()
            if len(cpus) < 2:
                out.append(act)
                continue
            old = WriterCpu(act.writer)  # type: ignore[arg-type]
            for c in cpus:
                new = CpuConst(c)
                out.append(replace(
                    act,
                    guard=subst_cpu(act.guard, old, new),
                    update=_subst_update(act.update, old, new),
                    touches=subst_cpu(act.touches, old, new) if act.touches is not None else None,
                    ipi_targets=subst_cpu(act.ipi_targets, old, new) if act.ipi_targets is not None else None,
                    on_cpu=new,
                    text=f"{act.text} [on cpu{c}]",
                ))
        return out

    # -- properties
    def bad_touches(self, act: Action) -> dict[str, Expr]:
        """For a touching action: when, in its pre-state, the touch breaks each property."""
        ref = act.touches
        assert ref is not None
        out = {"no_use_after_free": And(self.is_ac(ref), In(self.st_of(ref), (UNALLOC, FREED)))}
        if self.memory != "sc" and act.actor != "writer":
            # an array cache whose initialization this CPU cannot see yet is uninitialized memory to it
            out["no_use_after_free"] = Or(out["no_use_after_free"],
                                          And(self.is_ac(ref), self.view("ac_init", ref, Self()) == 0))
        if act.actor != "writer":
            out["no_access_after_drain"] = And(self.is_ac(ref), self.st_of(ref) == DRAINED)
            out["no_null_cpu_cache"] = ref == NULL
        return out

    def publish_witness(self, act: Action) -> Expr:
        """`reader_holds_prev_at_publish` for one tune's publish step: the step is enabled (its whole
        guard, so the writer can really take it) and a reader on a CPU other than the one the step runs
        on holds the array cache it replaces."""
        assert act.on_cpu is not None
        x = Bound("x")
        cur = self.view("cpu_cache", self.ops[act.op].cache, act.on_cpu)  # type: ignore[index]
        return And(act.guard, self.is_ac(cur),
                   Exists(x, And(Not(_cpu_eq(x, act.on_cpu)), Read(self.held, x) == cur)))

    def properties(self, actions: list[Action]) -> list[Property]:
        x = Bound("x")
        parts: dict[str, list[Expr]] = {"no_use_after_free": [], "no_access_after_drain": [], "no_null_cpu_cache": []}
        culprits: dict[str, list[tuple[int, Expr]]] = {k: [] for k in parts}
        for i, act in enumerate(actions):
            if act.touches is None or act.skipped:
                continue
            for name, bad in self.bad_touches(act).items():
                culprits[name].append((i, bad))
                if act.actor == "writer":
                    parts[name].append(Not(And(Read(self.wpc, act.writer) == act.pc, bad)))
                else:
                    pcf = self.pc if act.actor == "cpu" else self.kpc
                    parts[name].append(Forall(x, Not(And(Read(pcf, x) == act.pc, _subst_self(bad, x)))))
        fresh_parts: list[Expr] = []
        holders = [self.held] + ([self.kheld] if self.spec.reapers else [])
        for h in holders:
            for ac in self.acs:
                vis = Read(self.visible, ac.cache) if self.memory == "sc" else self.view("visible", ac.cache, x)
                fresh_parts.append(Forall(x, Implies(Read(h, x) == ac.ref,
                                                     And(Read(self.st, ac.ref) != FRESH, vis == 1))))
        witness = [self.publish_witness(act) for act in actions
                   if act.actor == "writer" and act.step == "publish_cpu_cache" and not act.skipped
                   and self.ops[act.op].kind == "tune"]  # type: ignore[index]
        D = PROPERTY_DOCS
        out = [Property(n, "always", And(*parts[n]), D[n], tuple(culprits[n])) for n in parts]
        out.append(Property("fresh_unreachable", "always", And(*fresh_parts), D["fresh_unreachable"]))
        out.append(Property("reader_holds_prev_at_publish", "sometimes", Or(*witness), D["reader_holds_prev_at_publish"]))
        return out

    def init(self) -> dict[str, int | dict[int, int]]:
        init: dict[str, int | dict[int, int]] = {
            "slab_mutex": 0,
            "writer_pc": {w: 0 for w in range(len(self.programs))},
            "prev": {w: NONE for w in range(len(self.programs))},
            "cpu_cache": {k: (self.acs[self.boot_ac[k]].ref if k in self.boot_ac else NULL) for k in range(len(self.caches))},
            "visible": {k: int(k in self.boot_ac) for k in range(len(self.caches))},
            "ac_state": {a.ref: (LIVE if a.index in self.boot_ac.values() else UNALLOC) for a in self.acs},
            "pc": 0,
            "irqs_off": 0,
            "ac": NONE,
        }
        for f in self.ipi:
            init[f.name] = 0
        if self.spec.reapers:
            init.update({"reaper_pc": 0, "reaper_ac": NONE, "reaper_locked": 0})
        if self.reader_mutex:
            init["reader_locked"] = 0
        if self.sites:
            init["sb_pending"] = {s.id: 0 for s in self.sites}
            init["ac_init"] = {a.ref: int(a.index in self.boot_ac.values()) for a in self.acs}
        return init


def _cpu_eq(a: CpuTerm, b: CpuTerm) -> Expr:
    """CPU equality, expressed through a marker the engines understand."""
    from slabproof.lang.expr import Op

    return Op("cpueq", (a, b))


def _subst_self(e: Expr, b: Bound) -> Expr:
    return subst_cpu(e, Self(), b)


def _subst_update(upd: Update, old: CpuTerm, new: CpuTerm) -> Update:
    """`upd` with the CPU term `old` replaced by `new` in every index and value."""
    out: list[Assign | AssignAll] = []
    for a in upd:
        if isinstance(a, AssignAll):
            out.append(AssignAll(a.family, a.bound, subst_cpu(a.value, old, new)))
        elif isinstance(a.index, Expr):
            out.append(Assign(a.family, subst_cpu(a.index, old, new), subst_cpu(a.value, old, new)))
        elif isinstance(a.index, (Self, WriterCpu, Bound, CpuConst)) and a.index == old:
            out.append(Assign(a.family, new, subst_cpu(a.value, old, new)))
        else:
            out.append(Assign(a.family, a.index, subst_cpu(a.value, old, new)))
    return tuple(out)


def build(spec: "Spec") -> System:
    """The transition system of one spec: the model's properties, then the spec's ``[[property]]`` ones."""
    b = _Builder(spec)
    actions = b.cpu_actions() + b.writer_actions() + (b.flush_actions() if b.sites else [])
    props = b.properties(actions)
    done = And(*[Read(b.wpc, w) == len(prog) for w, prog in enumerate(b.programs)])
    system = System(
        spec=spec,
        families=b.F,
        init=b.init(),
        actions=actions,
        properties=props,
        caches=b.caches,
        memcg=b.memcg,
        acs=b.acs,
        ops=b.ops,
        writer_cpus=tuple(w.cpu for w in spec.writers),
        writer_end=tuple(len(p) for p in b.programs),
        reader_len=b.reader_len,
        reaper_len=b.reaper_len,
        reapers=spec.reapers,
        done=done,
        pinned_cpus=tuple(sorted({c for w in spec.writers for c in w.cpus})),
    )
    if spec.properties:
        # the spec's own [[property]] tables, translated against this system's names (spec.loads has
        # already checked that each one translates)
        from slabproof.lang import propexpr

        for up in spec.properties:
            system.properties.append(propexpr.user_property(up.name, up.kind, up.expr, up.doc, system))
    return system
