"""The argument behind the patch, as a short sequence of claims checked live.

`explain(cpus, opts)` builds a handful of configurations of one scenario
(KERNEL.md sections 3-4: a root cache live at boot, its memcg child created
lazily by ``memcg_create_kmem_cache()``, then ``slabinfo_write()`` re-tuning
the root and the child), each under one IPI condition or one what-if. To each
configuration's `System` it adds the claims' own state predicates as extra
properties -- built from the model's families in the language of `expr`, so
every engine reads them like the model's own properties -- and runs every
requested engine on it through the runner's registry. Each claim then says
what it predicts of each check (holds / violated / witnessed / no witness),
and its verdict comes from comparing that prediction with what the engines
found:

* CONFIRMED -- every check came out as the claim predicts;
* REFUTED   -- some engine decided a check the other way;
* UNKNOWN   -- some check was decided by no engine (a limit, a bounded engine);
* DISAGREE  -- two engines decided one check differently.

A claim's prediction is part of its statement ("without the IPI a reader can
touch a freed array cache" predicts *violated*); the outcome is always the
engines'. Nothing here prints; `teach_report` renders the result.

This is a layer like the runner: it may run engines (through
`runner.engine`), and engines never import it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Sequence

from slabproof import model
from slabproof.lang.expr import (
    And,
    Bound,
    Exists,
    Expr,
    Forall,
    Implies,
    In,
    Not,
    Or,
    Read,
    Self,
    show,
    subst_cpu,
)
from slabproof.lang.spec import Spec, loads, shown
from slabproof.results import CONFIRMED, DISAGREE, REFUTED, EngineResult, PropertyResult, Trace, Verdict
from slabproof.run import runner, signals
from slabproof.run.engines import Handoff

# claim verdicts
UNKNOWN, ERROR = "unknown", "error"  # and CONFIRMED, REFUTED, DISAGREE (from results: reports show them)

# what a check can find (per engine), and what a claim can predict
HOLDS, VIOLATED, WITNESSED, NO_WITNESS, UNDECIDED = "holds", "violated", "witnessed", "no witness", "undecided"
CRASHED = "engine error"  # the engine raised on the check's configuration: no finding at all
SAME, DIFFERENT = "same verdicts", "different verdicts"

KERNEL_VERSION = "v4.11/v4.12"


# ---------------------------------------------------------------------------
# results (plain data)


@dataclass(frozen=True)
class EngineFinding:
    """What one engine found for one check."""

    engine: str
    outcome: str  # holds / violated / witnessed / no witness / undecided / engine error (/ same or different verdicts)
    detail: str  # the evidence in words: how many states, a proof, a trace length, why undecided
    trace: Trace | None = None


@dataclass(frozen=True)
class Check:
    """One question put to the engines on one configuration."""

    title: str  # what the check asks, in words
    config: str  # configuration key (see `Explanation.configs`)
    property: str  # the property's name in the system ("*" for every model property)
    kind: str  # always / sometimes / all / compare
    formula: str  # the state predicate, as `expr.show` prints it ("" for all / compare)
    expect: str  # what the claim predicts
    role: str  # claim / non-vacuity / contrast
    findings: tuple[EngineFinding, ...]
    status: str  # as predicted / contradicted / undecided / engines disagree / engine error
    show_trace: bool = False  # a trace worth printing in full

    @property
    def trace(self) -> Trace | None:
        for f in self.findings:
            if f.trace is not None:
                return f.trace
        return None


@dataclass(frozen=True)
class Claim:
    number: int
    key: str
    title: str  # the claim, one sentence
    because: str  # why it should be so, in kernel terms
    functions: tuple[str, ...]  # kernel functions involved
    checks: tuple[Check, ...]
    verdict: str


@dataclass(frozen=True)
class ConfigRun:
    """One configuration and what each engine said about it as a whole."""

    key: str
    title: str
    description: str
    ipi: str
    reader_steps: tuple[str, ...]
    reapers: bool
    results: tuple[dict[str, Any], ...]  # engine, verdict, states, seconds, reason, ipis_per_op


@dataclass(frozen=True)
class Explanation:
    cpus: int
    engines: tuple[str, ...]
    configs: tuple[ConfigRun, ...]
    claims: tuple[Claim, ...]
    kernel_version: str = KERNEL_VERSION
    engine_errors: tuple[str, ...] = ()  # engines that failed on a configuration, one line each

    @property
    def verdict(self) -> str:
        vs = [c.verdict for c in self.claims]
        for v in (DISAGREE, REFUTED, ERROR, UNKNOWN):
            if v in vs:
                return v
        return CONFIRMED

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict
        return d


# ---------------------------------------------------------------------------
# configurations


@dataclass(frozen=True)
class _Config:
    key: str
    title: str
    ipi: str
    reader: tuple[str, ...] | None = None
    reapers: bool = False
    scenario: str = "memcg"


CONFIGS = (
    _Config("patched", "the patch: kick only if (prev)", "if-prev"),
    _Config("unpatched", "before the patch: always kick", "always"),
    _Config("never", "what-if: never kick", "never"),
    _Config("inverted", "what-if: kick only if (!prev)", "if-no-prev"),
    _Config("irqs-on-reader", "what-if: the reader re-enables IRQs between load and use", "if-prev",
            reader=("local_irq_save", "cpu_cache_get", "local_irq_restore", "ac_access")),
    _Config("reapers", "the patch, with cache_reap() on every CPU", "if-prev", reapers=True),
    _Config("patched-cache", "the patch, kmem_cache_create() then two slabinfo writes", "if-prev", scenario="cache"),
)

_SCENARIOS = {
    "memcg": ('a root cache live at boot; its memcg child created lazily by memcg_create_kmem_cache(); '
              'then slabinfo_write() re-tunes the root and the child',
              '[[cache]]\nname = "root"\nboot = true\n\n[[cache]]\nname = "child"\nmemcg = true\n\n'
              '[[writer]]\ncpu = 0\nscript = ["create child", "tune root", "tune child"]\n'),
    "cache": ('one kmem_cache created by kmem_cache_create(), then tuned twice through /proc/slabinfo',
              '[[cache]]\nname = "dentry"\n\n[[writer]]\ncpu = 0\nscript = ["create dentry", "tune dentry", '
              '"tune dentry"]\n'),
}


def config_spec(cfg: _Config, cpus: int) -> Spec:
    """The spec of one configuration, built in memory and validated like a file.

    Its [expect] table is a placeholder: explain compares the engines' findings
    with the claims' predictions, never with a spec's expectation.
    """
    desc, body = _SCENARIOS[cfg.scenario]
    lines = [f'description = "{desc}; {cfg.title}"', f"cpus = {cpus}", f'ipi = "{cfg.ipi}"',
             f"reapers = {'true' if cfg.reapers else 'false'}", "", body]
    if cfg.reader is not None:
        lines += ["[steps]", "reader = [" + ", ".join(f'"{s}"' for s in cfg.reader) + "]", ""]
    lines += ["[expect]", 'verdict = "safe"', ""]
    return loads("\n".join(lines), f"<explain:{cfg.key}>")


# ---------------------------------------------------------------------------
# predicates over a system (built from its families, in the language of expr)


class _Vocab:
    """The pieces of one system that the claims' predicates are made of."""

    def __init__(self, system: model.System) -> None:
        self.s = system
        self.F = system.families
        self.refs = tuple(a.ref for a in system.acs)
        self.x = Bound("x")
        self.holders = [self.F["ac"]] + ([self.F["reaper_ac"]] if "reaper_ac" in self.F else [])
        self.ipis = [self.F[f"ipi{w}"] for w in range(len(system.writer_cpus))]

    def held(self, family: Any = None) -> Expr:
        return Read(family or self.F["ac"], self.x)

    def is_ac(self, e: Expr) -> Expr:
        return In(e, self.refs)

    def positions(self, op: int) -> dict[str, int]:
        """Step name -> writer position, for one operation of a writer's script."""
        out: dict[str, int] = {}
        for a in self.s.actions:
            if a.actor == "writer" and a.op == op:
                out.setdefault(a.step, a.pc)  # type: ignore[arg-type]
        return out

    def span(self, op: int) -> range:
        ps = self.positions(op).values()
        return range(min(ps), max(ps) + 1)

    def wpc(self, w: int) -> Expr:
        return Read(self.F["writer_pc"], w)

    def prev(self, w: int) -> Expr:
        return Read(self.F["prev"], w)

    def nobody_holds(self, refs: Sequence[int] | Expr) -> Expr:
        x = self.x
        parts = []
        for h in self.holders:
            v = Read(h, x)
            parts.append(Forall(x, v != refs) if isinstance(refs, Expr) else Forall(x, Not(In(v, refs))))
        return And(*parts)

    def cache_refs(self, cache: int) -> tuple[int, ...]:
        return tuple(a.ref for a in self.s.acs if a.cache == cache)


def readers_hold_only_irqs_off(v: _Vocab) -> Expr:
    return Forall(v.x, Implies(v.held() != model.NONE, Read(v.F["irqs_off"], v.x) == 1))


def a_reader_holds(v: _Vocab) -> Expr:
    return Exists(v.x, v.is_ac(v.held()))


def reapers_hold_only_locked(v: _Vocab) -> Expr | None:
    if "reaper_ac" not in v.F:
        return None
    x = v.x
    return Forall(x, Implies(Read(v.F["reaper_ac"], x) != model.NONE, Read(v.F["reaper_locked"], x) == 1))


def a_reaper_holds_irqs_on(v: _Vocab) -> Expr | None:
    if "reaper_ac" not in v.F:
        return None
    x = v.x
    return Exists(x, And(v.is_ac(Read(v.F["reaper_ac"], x)), Read(v.F["irqs_off"], x) == 0))


def _ipi_guard(v: _Vocab) -> Expr:
    act = next(a for a in v.s.actions if a.actor == "ipi")
    return subst_cpu(act.guard, Self(), v.x)


def ack_only_irqs_on(v: _Vocab) -> Expr:
    """No reachable state lets a CPU run the IPI handler while its IRQs are off."""
    return Forall(v.x, Not(And(_ipi_guard(v), Read(v.F["irqs_off"], v.x) == 1)))


def ipi_waits_for_reader(v: _Vocab) -> Expr:
    x = v.x
    pending = Or(*[Read(f, x) == 1 for f in v.ipis])
    return Exists(x, And(pending, Read(v.F["irqs_off"], x) == 1, v.is_ac(v.held())))


def ipi_acknowledged(v: _Vocab) -> Expr:
    return Exists(v.x, _ipi_guard(v))


def _ops(v: _Vocab, kind: str | None = None) -> list[tuple[int, model.WriterOp]]:
    return [(i, op) for i, op in enumerate(v.s.ops) if kind is None or op.kind == kind]


def no_prev_after_wait(v: _Vocab) -> Expr | None:
    """After an operation's wait step, while prev is an array cache, nobody holds prev."""
    parts = []
    for i, op in _ops(v):
        pos = v.positions(i)
        if "csd_lock_wait" not in pos:
            continue
        after = [p for p in v.span(i) if p > pos["csd_lock_wait"]]
        if not after:
            continue
        w = op.writer
        parts.append(Implies(And(In(v.wpc(w), after), v.is_ac(v.prev(w))), v.nobody_holds(v.prev(w))))
    return And(*parts) if parts else None


def creation_prev_is_null(v: _Vocab) -> Expr | None:
    """After a create's load_prev, the writer's prev is NULL."""
    parts = []
    for i, op in _ops(v, "create"):
        pos = v.positions(i)
        if "load_prev" not in pos:
            continue
        after = [p for p in v.span(i) if p > pos["load_prev"]]
        if after:
            parts.append(Implies(In(v.wpc(op.writer), after), v.prev(op.writer) == model.NULL))
    return And(*parts) if parts else None


def created_cache_used(v: _Vocab) -> Expr | None:
    refs = tuple(v.s.acs[op.new_ac].ref for _, op in _ops(v, "create"))
    if not refs:
        return None
    return Exists(v.x, In(v.held(), refs))


def _kick_window(v: _Vocab, i: int) -> list[int]:
    pos = v.positions(i)
    if "smp_call_function" not in pos:
        return []
    end = pos.get("csd_lock_wait", pos["smp_call_function"])
    return list(range(pos["smp_call_function"], end + 1))


def creation_kick_touches_nothing(v: _Vocab) -> Expr | None:
    """While a create's IPIs are being sent and waited for, nobody holds any array cache of that cache."""
    parts = []
    for i, op in _ops(v, "create"):
        win = _kick_window(v, i)
        if win:
            parts.append(Implies(In(v.wpc(op.writer), win), v.nobody_holds(v.cache_refs(op.cache))))
    return And(*parts) if parts else None


def creation_ipis_pending(v: _Vocab) -> Expr | None:
    """A create's IPIs are in flight: the writer waits at its csd_lock_wait with an IPI pending."""
    parts = []
    for i, op in _ops(v, "create"):
        pos = v.positions(i)
        if "csd_lock_wait" in pos:
            f = v.ipis[op.writer]
            parts.append(And(v.wpc(op.writer) == pos["csd_lock_wait"], Exists(v.x, Read(f, v.x) == 1)))
    return Or(*parts) if parts else None


def pretty(e: object, system: model.System) -> str:
    """`expr.show`, with values named as the model names them (array-cache labels, lifecycle states, steps)."""
    from slabproof.lang.expr import Const, Op, Quant

    def idx(r: Read) -> str:
        f, i = r.family, r.index
        if f.kind == "finite" and isinstance(i, int):
            if f.name in ("cpu_cache", "visible"):
                return f"{f.name}[{system.caches[i]}]"
            if f.name == "ac_state":
                return f"ac_state[{system.ac_label(i)}]"
            return f"{f.name}[writer{i}]" if f.name in ("writer_pc", "prev") else f"{f.name}[{i}]"
        if f.kind == "finite" and isinstance(i, Expr):
            return f"{f.name}[{go(i)}]"
        return show(r)

    def value(r: object, v: int) -> str:
        if not isinstance(r, Read):
            return str(v)
        f = r.family.name
        if f == "writer_pc":
            a = next((a for a in system.actions if a.actor == "writer" and a.pc == v
                      and a.writer == r.index), None)
            return f"{a.step}({system.ops[a.op].describe(system)})" if a is not None and a.op is not None else "done"
        if f in ("ac", "reaper_ac", "prev", "cpu_cache") and v == model.NONE:
            return "nothing"
        return system.show_value(f, v)

    def go(x: object) -> str:
        if isinstance(x, Read):
            return idx(x)
        if isinstance(x, Op) and x.op in ("eq", "ne") and isinstance(x.args[1], Const):
            sym = "==" if x.op == "eq" else "!="
            return f"({go(x.args[0])} {sym} {value(x.args[0], x.args[1].value)})"
        if isinstance(x, Op) and x.op == "in":
            refs = {a.ref for a in system.acs}
            if isinstance(x.args[0], Read) and set(x.values) == refs and x.args[0].family.name in (
                    "ac", "reaper_ac", "prev", "cpu_cache"):
                return f"{go(x.args[0])} is an array cache"
            return f"({go(x.args[0])} in {{{', '.join(value(x.args[0], v) for v in x.values)}}})"
        if isinstance(x, Quant):
            return f"({x.kind} {x.bound.name}. {go(x.body)})"
        if isinstance(x, Op) and x.op != "cpueq":
            a = [go(y) for y in x.args]
            sym = {"eq": "==", "ne": "!=", "and": "&&", "or": "||", "implies": "->"}
            if x.op in sym:
                return "(" + f" {sym[x.op]} ".join(a) + ")"
            if x.op == "not":
                return f"!{a[0]}"
            if x.op == "ite":
                return f"({a[0]} ? {a[1]} : {a[2]})"
        return show(x)

    return go(e)


# ---------------------------------------------------------------------------
# the claims, as data


@dataclass(frozen=True)
class _CheckDef:
    title: str
    config: str
    expect: str
    role: str = "claim"
    property: str = ""  # a model property, or "*" (every one), or "" (build)
    build: Callable[[_Vocab], Expr | None] | None = None
    kind: str = "always"
    show_trace: bool = False
    compare_with: str = ""  # for kind "compare": the other configuration


@dataclass(frozen=True)
class _ClaimDef:
    key: str
    title: str
    because: str
    steps: tuple[str, ...]  # model steps whose kernel functions are involved
    also: tuple[str, ...]  # kernel functions not named by a model step
    checks: tuple[_CheckDef, ...]


CLAIMS: tuple[_ClaimDef, ...] = (
    _ClaimDef(
        "readers-irqs-off",
        "Readers hold an array cache only with IRQs off.",
        "slab_alloc() and kmem_cache_free() disable IRQs before ____cache_alloc() / ___cache_free() load "
        "cachep->cpu_cache, and re-enable them only when they are done with it. cache_reap() is the exception: it "
        "touches an array cache with IRQs on, but only while it holds slab_mutex, which every writer holds too.",
        ("local_irq_save", "cpu_cache_get", "ac_access", "local_irq_restore", "drain_array"),
        (),
        (
            _CheckDef("every reader holding an array cache has IRQs off", "patched", HOLDS,
                      build=readers_hold_only_irqs_off),
            _CheckDef("a reader does hold an array cache (the check is not vacuous)", "patched", WITNESSED,
                      role="non-vacuity", build=a_reader_holds, kind="sometimes"),
            _CheckDef("a reaper holds an array cache only while it holds slab_mutex", "reapers", HOLDS,
                      build=reapers_hold_only_locked),
            _CheckDef("a reaper does hold an array cache with IRQs on", "reapers", WITNESSED, role="non-vacuity",
                      build=a_reaper_holds_irqs_on, kind="sometimes"),
            _CheckDef("the same predicate, when the reader re-enables IRQs between load and use", "irqs-on-reader",
                      VIOLATED, role="contrast", build=readers_hold_only_irqs_off),
        ),
    ),
    _ClaimDef(
        "ack-needs-irqs-on",
        "An IPI is acknowledged only with IRQs on.",
        "kick_all_cpus_sync() sends do_nothing() to every other CPU with smp_call_function(..., wait=1); a CPU "
        "runs the handler from flush_smp_call_function_queue() only when it takes the interrupt, that is, outside "
        "every IRQs-off section. Until then the writer waits in csd_lock_wait().",
        ("smp_call_function", "csd_lock_wait", "ipi_handler"),
        (),
        (
            _CheckDef("no CPU can run the IPI handler while its IRQs are off", "patched", HOLDS,
                      build=ack_only_irqs_on),
            _CheckDef("an IPI stays pending at a CPU that holds an array cache with IRQs off", "patched", WITNESSED,
                      role="non-vacuity", build=ipi_waits_for_reader, kind="sometimes"),
            _CheckDef("an IPI does get acknowledged", "patched", WITNESSED, role="non-vacuity",
                      build=ipi_acknowledged, kind="sometimes"),
        ),
    ),
    _ClaimDef(
        "no-prev-after-acks",
        "So once every other CPU has acknowledged, nobody holds prev.",
        "The new pointer is published before the IPIs are sent (smp_mb() in kick_all_cpus_sync() orders them), so a "
        "CPU that loads cachep->cpu_cache after acknowledging gets the new array cache; one that loaded prev before "
        "was inside an IRQs-off section and acknowledges only after leaving it, dropping prev.",
        ("publish_cpu_cache", "smp_call_function", "csd_lock_wait"),
        (),
        (
            _CheckDef("after the writer's wait, while prev is an array cache, no CPU holds prev", "patched", HOLDS,
                      build=no_prev_after_wait),
            _CheckDef("before the wait, a reader can still hold prev at the publish", "patched", WITNESSED,
                      role="non-vacuity", property="reader_holds_prev_at_publish", kind="sometimes"),
            _CheckDef("the same predicate when nothing is waited for (never kick)", "never", VIOLATED,
                      role="contrast", build=no_prev_after_wait),
        ),
    ),
    _ClaimDef(
        "creation-unreachable",
        "On creation prev is NULL and the new array cache is unreachable.",
        "A new kmem_cache starts with cpu_cache NULL, so __do_tune_cpucache() loads prev = NULL. The array cache it "
        "allocates is reachable only through the new kmem_cache, which no CPU can see until create_cache() / "
        "memcg_create_kmem_cache() publishes it -- after __do_tune_cpucache() has returned.",
        ("alloc_kmem_cache_cpus", "load_prev", "publish_cache", "publish_cache@memcg"),
        ("__kmem_cache_create()", "setup_cpu_cache()", "enable_cpucache()"),
        (
            _CheckDef("after a create's load_prev, prev is NULL", "patched", HOLDS, build=creation_prev_is_null),
            _CheckDef("no CPU holds a fresh array cache, nor one of an invisible kmem_cache", "patched", HOLDS,
                      property="fresh_unreachable"),
            _CheckDef("once published, the created cache's array cache is used", "patched", WITNESSED,
                      role="non-vacuity", build=created_cache_used, kind="sometimes"),
        ),
    ),
    _ClaimDef(
        "creation-kick-noop",
        "So the kick on creation is a no-op, and skipping it changes nothing but the IPI count.",
        "Before the patch kick_all_cpus_sync() still ran on creation: it interrupted every other CPU and waited, "
        "but no CPU could hold anything of the new cache, so there was nothing to wait for. The patch skips it "
        "when prev is NULL.",
        ("smp_call_function", "csd_lock_wait"),
        ("kick_all_cpus_sync()",),
        (
            _CheckDef("while a create's IPIs are sent and waited for, no CPU holds an array cache of that cache",
                      "unpatched", HOLDS, build=creation_kick_touches_nothing),
            _CheckDef("before the patch, a create's IPIs really are in flight", "unpatched", WITNESSED,
                      role="non-vacuity", build=creation_ipis_pending, kind="sometimes"),
            _CheckDef("with the patch, a create never has IPIs in flight", "patched", NO_WITNESS, role="contrast",
                      build=creation_ipis_pending, kind="sometimes"),
            _CheckDef("patched and unpatched reach the same verdict on every property", "patched", SAME,
                      kind="compare", compare_with="unpatched"),
        ),
    ),
    _ClaimDef(
        "patched-safe",
        "So the patched kernel is safe.",
        "Every property of the model holds with the patch's condition, for a lazily created memcg child and for a "
        "cache created by kmem_cache_create(), each then replaced by slabinfo_write().",
        ("free_block", "free_percpu"),
        ("slabinfo_write()", "do_tune_cpucache()"),
        (
            _CheckDef("every property of the model (memcg child)", "patched", HOLDS, property="*", kind="all"),
            _CheckDef("every property of the model (kmem_cache_create)", "patched-cache", HOLDS, property="*",
                      kind="all"),
            _CheckDef("every property of the model, with cache_reap() on every CPU", "reapers", HOLDS,
                      property="*", kind="all"),
        ),
    ),
    _ClaimDef(
        "replacement-kick-needed",
        "The kick on replacement is needed: without it a reader touches a freed array cache.",
        "On a slabinfo_write() tune, prev is the array cache in use. A reader that loaded it just before the publish "
        "still holds it; without the IPIs nothing waits for that reader before free_block() drains prev and "
        "free_percpu() frees it.",
        ("publish_cpu_cache", "free_block", "free_percpu", "ac_access"),
        ("slabinfo_write()", "kick_all_cpus_sync()"),
        (
            _CheckDef("with the patch, a reader can hold prev when the writer publishes", "patched", WITNESSED,
                      property="reader_holds_prev_at_publish", kind="sometimes"),
            _CheckDef("with no IPI at all, a reader touches prev after it was freed", "never", VIOLATED,
                      property="no_use_after_free", show_trace=True),
            _CheckDef("kicking on creation only (the condition inverted) does not help", "inverted", VIOLATED,
                      property="no_use_after_free"),
        ),
    ),
)


def claim_functions(cd: _ClaimDef) -> tuple[str, ...]:
    """The kernel functions a claim involves: those of its model steps, then the extra ones it names."""
    out: list[str] = []
    for step in cd.steps:
        if step in model.KERNEL:
            for f in model.KERNEL[step][0].split(" / "):
                if f not in out:
                    out.append(f)
    for f in cd.also:
        if f not in out:
            out.append(f)
    return tuple(out)


# ---------------------------------------------------------------------------
# running


def _finding(r: EngineResult, name: str) -> EngineFinding:
    try:
        p: PropertyResult = r.prop(name)
    except KeyError:
        return EngineFinding(r.engine, UNDECIDED, "this engine does not check this property")
    exhaustive = r.engine == "explicit" and r.complete
    where = f"every one of {r.states:,} reachable states" if exhaustive else "its search"
    why = f" ({r.reason})" if r.reason else ""
    if p.kind == "always":
        if p.holds is True and r.complete:
            return EngineFinding(r.engine, HOLDS, f"on {where}" if exhaustive else "proved")
        if p.holds is True:
            return EngineFinding(r.engine, UNDECIDED, "no counterexample within its bound" + why)
        if p.holds is False:
            n = p.trace.length if p.trace else 0
            return EngineFinding(r.engine, VIOLATED, f"a counterexample of {n} steps" if p.trace else "violated",
                                 p.trace)
        return EngineFinding(r.engine, UNDECIDED, "not decided" + why)
    if p.holds is True:
        n = p.trace.length if p.trace else 0
        return EngineFinding(r.engine, WITNESSED, f"a witness of {n} steps" if p.trace else "witnessed", p.trace)
    if p.holds is False:
        return EngineFinding(r.engine, NO_WITNESS, f"none among {where}" if exhaustive else "none")
    return EngineFinding(r.engine, UNDECIDED, "not decided" + why)


def _finding_all(r: EngineResult) -> EngineFinding:
    """Every model property of one engine result, as one finding."""
    if r.verdict == Verdict.VIOLATED:
        bad = [p for p in r.properties if p.name in r.violated and not p.name.startswith("claim:")]
        tr = min((p.trace for p in bad if p.trace), key=lambda t: t.length, default=None)
        return EngineFinding(r.engine, VIOLATED, "violates " + ", ".join(p.name for p in bad), tr)
    if r.verdict == Verdict.SAFE:
        own = [p for p in r.properties if not p.name.startswith("claim:")]
        wit = [p.name for p in own if p.kind == "sometimes" and p.holds]
        extra = f"; witnessed {', '.join(wit)}" if wit else ""
        ipis = ""
        if r.ipis_per_op:
            ipis = "; IPIs per operation: " + ", ".join(
                f"{o.op} {o.ipis if o.ipis is not None else '-'}" for o in r.ipis_per_op)
        where = f"all {r.states:,} reachable states" if r.engine == "explicit" else "proved"
        return EngineFinding(r.engine, HOLDS, f"{where}{extra}{ipis}")
    return EngineFinding(r.engine, UNDECIDED, "not decided" + (f" ({r.reason})" if r.reason else ""))


def _own_verdicts(r: EngineResult) -> tuple[tuple[str, ...], tuple[str, ...]]:
    own = [p for p in r.properties if not p.name.startswith("claim:")]
    return (tuple(p.name for p in own if p.kind == "always" and p.holds is False),
            tuple(p.name for p in own if p.kind == "sometimes" and p.holds))


def _finding_compare(a: EngineResult, b: EngineResult, ka: str, kb: str) -> EngineFinding:
    if not (a.complete and b.complete):
        return EngineFinding(a.engine, UNDECIDED, "one of the two searches is incomplete")
    va, vb = _own_verdicts(a), _own_verdicts(b)
    ipis = []
    for oa, ob in zip(a.ipis_per_op, b.ipis_per_op):
        ipis.append(f"{oa.op}: {ob.ipis if ob.ipis is not None else '-'} -> {oa.ipis if oa.ipis is not None else '-'}")
    detail = (f"{kb}: violates {', '.join(vb[0]) or 'nothing'}, witnesses {', '.join(vb[1]) or 'nothing'}; "
              f"{ka}: violates {', '.join(va[0]) or 'nothing'}, witnesses {', '.join(va[1]) or 'nothing'}")
    if ipis:
        detail += f"; IPIs sent per operation ({kb} -> {ka}): " + "; ".join(ipis)
    return EngineFinding(a.engine, SAME if va == vb else DIFFERENT, detail)


_OPPOSITE = {HOLDS: VIOLATED, VIOLATED: HOLDS, WITNESSED: NO_WITNESS, NO_WITNESS: WITNESSED, SAME: DIFFERENT,
             DIFFERENT: SAME}


def _status(expect: str, findings: Sequence[EngineFinding]) -> str:
    decided = {f.outcome for f in findings if f.outcome not in (UNDECIDED, CRASHED)}
    if len(decided) > 1:
        return "engines disagree"
    if any(f.outcome == CRASHED for f in findings):
        return CRASHED
    if not decided:
        return "undecided"
    return "as predicted" if decided == {expect} else "contradicted"


def _claim_verdict(checks: Sequence[Check]) -> str:
    st = [c.status for c in checks]
    if "engines disagree" in st:
        return DISAGREE
    if "contradicted" in st:
        return REFUTED
    if CRASHED in st:
        return ERROR
    if "undecided" in st or not st:
        return UNKNOWN
    return CONFIRMED


def _crash_findings(crashed: dict[str, dict[str, str]], cd: _CheckDef) -> tuple[EngineFinding, ...]:
    """An "engine error" finding for each engine that raised on the check's configuration(s)."""
    broke = {**crashed[cd.config], **(crashed[cd.compare_with] if cd.compare_with else {})}
    return tuple(EngineFinding(e, CRASHED, f"raised {what}") for e, what in broke.items())


def _prop_name(claim: _ClaimDef, k: int) -> str:
    return f"claim:{claim.key}:{k}"


def explain(cpus: int = 3, opts: runner.RunOptions | None = None,
            on_config: Callable[[str, str], None] | None = None,
            on_claim: Callable[[Claim], None] | None = None) -> Explanation:
    """Check every claim on `cpus` CPUs with the engines named in `opts` (see the module docstring).

    `on_config(key, title)` is called before each configuration runs (the CLI
    uses it to label its progress bar). `on_claim(claim)` is called with each
    claim as soon as every configuration it is checked on has run (so the CLI
    can print claims as they are decided, before the slower configurations
    finish); the returned `Explanation` still lists them in their order. An engine that raises on a
    configuration is recorded in `engine_errors`, and every check on that
    configuration gets an "engine error" finding from it: the claim's verdict
    is then ERROR (unless it is refuted or the engines disagree), never
    confirmed by the engines that did run.
    """
    opts = opts or runner.RunOptions()
    engines = tuple(opts.engines)
    for e in engines:
        runner.engine(e)  # KeyError for an unknown engine, before anything runs
    used = {cd.config for cl in CLAIMS for cd in cl.checks} | {cd.compare_with for cl in CLAIMS for cd in cl.checks}
    used.discard("")
    cfgs = [c for c in CONFIGS if c.key in used]
    specs = {c.key: config_spec(c, cpus) for c in cfgs}
    systems = {k: model.build(s) for k, s in specs.items()}
    # the claims' predicates, attached to their configuration's system as extra properties
    formulas: dict[tuple[int, int], str] = {}
    extra: dict[str, list[model.Property]] = {k: [] for k in systems}
    for ci, cl in enumerate(CLAIMS):
        for k, cd in enumerate(cl.checks):
            if cd.build is None:
                continue
            e = cd.build(_Vocab(systems[cd.config]))
            if e is None:
                continue
            formulas[(ci, k)] = pretty(e, systems[cd.config])
            extra[cd.config].append(model.Property(_prop_name(cl, k), cd.kind, e, f"{cl.title} -- {cd.title}"))
    results: dict[str, list[EngineResult]] = {}
    errors: list[str] = []
    crashed: dict[str, dict[str, str]] = {c.key: {} for c in cfgs}  # config -> engine -> what it raised

    def build_claim(ci: int, cl: _ClaimDef) -> Claim:
        checks: list[Check] = []
        for k, cd in enumerate(cl.checks):
            rs = results[cd.config]
            if cd.kind == "compare":
                other = {r.engine: r for r in results[cd.compare_with]}
                findings = tuple(_finding_compare(r, other[r.engine], cd.config, cd.compare_with)
                                 for r in rs if r.engine in other and r.engine == "explicit")
                name, formula = "*", ""
            elif cd.kind == "all":
                findings = tuple(_finding_all(r) for r in rs)
                name, formula = "*", ""
            elif cd.build is not None:
                name = _prop_name(cl, k)
                formula = formulas.get((ci, k), "")
                findings = tuple(_finding(r, name) for r in rs) if formula else (
                    EngineFinding("-", UNDECIDED, "this configuration has no step the predicate is about"),)
            else:
                name = cd.property
                formula = pretty(systems[cd.config].property(name).expr, systems[cd.config])
                findings = tuple(_finding(r, name) for r in rs)
            findings = findings + _crash_findings(crashed, cd)
            checks.append(Check(cd.title, cd.config, name, cd.kind, formula, cd.expect, cd.role, findings,
                                _status(cd.expect, findings), cd.show_trace))
        return Claim(ci + 1, cl.key, cl.title, cl.because, claim_functions(cl), tuple(checks),
                     _claim_verdict(checks))

    claims: dict[int, Claim] = {}

    def needs(cl: _ClaimDef) -> set[str]:
        return {cd.config for cd in cl.checks} | {cd.compare_with for cd in cl.checks if cd.compare_with}

    def emit_ready(done: set[str]) -> None:
        for ci, cl in enumerate(CLAIMS):
            if ci not in claims and needs(cl) <= done:
                claims[ci] = build_claim(ci, cl)
                if on_claim is not None:
                    on_claim(claims[ci])

    for c in cfgs:
        system = replace(systems[c.key], properties=list(systems[c.key].properties) + extra[c.key])
        if on_config is not None:
            on_config(c.key, c.title)
        shared = Handoff()
        results[c.key] = []
        for e in engines:
            try:
                results[c.key].append(runner.engine(e)(system, opts, shared))
            except Exception as exc:  # KeyboardInterrupt is not an Exception: it is handled below
                what = shown(f"{type(exc).__name__}: {exc}", 300)  # one line, control characters escaped
                crashed[c.key][e] = what
                errors.append(f"{e} on {c.key}: {what}")
            except KeyboardInterrupt as exc:  # (the exploration feeding a Z3 engine; a signal between engines)
                raise signals.Interrupted(signals.received() or "SIGINT",
                                          partial=runner.interrupted_result(e, system, getattr(exc, "partial", None)),
                                          where=c.key) from None
            if (results[c.key] and results[c.key][-1].reason == "interrupted") or signals.received():
                # Ctrl-C, SIGTERM, SIGHUP: no further engine or configuration; the caller reports the figures
                raise signals.Interrupted(signals.received() or "SIGINT",
                                          partial=results[c.key][-1] if results[c.key] else None, where=c.key)
        emit_ready(set(results))
    runs = []
    for c in cfgs:
        s = specs[c.key]
        runs.append(ConfigRun(
            c.key, c.title, s.description, c.ipi, s.reader_steps, c.reapers,
            tuple({"engine": r.engine, "verdict": r.verdict.value, "violated": [v for v in r.violated
                                                                                 if not v.startswith("claim:")],
                   "states": r.states, "seconds": round(r.seconds, 3), "reason": r.reason,
                   "ipis_per_op": [{"op": o.op, "ipis": o.ipis} for o in r.ipis_per_op]}
                  for r in results[c.key])))
    return Explanation(cpus, engines, tuple(runs), tuple(claims[ci] for ci in range(len(CLAIMS))),
                       engine_errors=tuple(errors))


EXIT = {CONFIRMED: runner.EXIT_OK, REFUTED: runner.EXIT_MISMATCH, DISAGREE: runner.EXIT_DISAGREE,
        UNKNOWN: runner.EXIT_UNKNOWN, ERROR: runner.EXIT_UNKNOWN}


def exit_status(x: Explanation) -> int:
    """0 every claim confirmed; 1 some claim refuted; 3 engines disagree; 4 some claim undecided or
    checked by an engine that raised (an engine error: the claim was not decided; not bad input, so not 2)."""
    return EXIT[x.verdict]

