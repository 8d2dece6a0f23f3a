"""Runs engines on specs and compares what they say with what the spec expects.

This is the only layer that knows several engines. Engines never import each
other; when one engine's results feed another (the explorer's reachable states
filtering the induction engine's candidate invariants) they pass through here
as data. Nothing here prints.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

from slabproof import checker, model
from slabproof.lang import expr
from slabproof.lang.spec import MAX_CPUS, Spec, SpecError, _os_problem, load
from slabproof.results import (
    INTERRUPTED,
    Decision,
    EngineNote,
    EngineResult,
    Evidence,
    Gap,
    Method,
    ProofOutcome,
    PropertyResult,
    PropertyVerdict,
    SpecOutcome,
    SpecVerdict,
    Status,
    Trace,
    Verdict,
)
from slabproof.run import signals
from slabproof.run.engines import Engine, Handoff, Reachable, Z3Budget

ENGINES: tuple[str, ...] = ("explicit",)

# Engines register themselves here: name -> callable(system, options, handoff) -> EngineResult (run/engines.py).
EngineFn = Engine
_REGISTRY: dict[str, EngineFn] = {}


@dataclass
class RunOptions:
    engines: tuple[str, ...] = ("explicit",)
    cpus: int | None = None
    symmetry: bool = True
    limits: checker.Limits = field(default_factory=checker.Limits)
    progress: checker.ProgressFn | None = None
    stop_at_first: bool = False
    keep_graph: bool = False  # the explicit engine also returns its state graph (result.extra["graph"])
    prove: bool = False  # the proof engines minimize their invariant (for `slabproof prove`)
    readable: bool = False  # prove: param tries the role language first (z3/roles.py: a small invariant; slower)


def _explicit(system: model.System, opts: RunOptions, shared: Handoff) -> EngineResult:
    r = checker.explore(system, symmetry=opts.symmetry, limits=opts.limits, progress=opts.progress,
                        stop_at_first=opts.stop_at_first, keep_graph=opts.keep_graph,
                        keep_states=any(e in _NEEDS_STATES for e in opts.engines))
    shared.explicit = r
    return r


# ---------------------------------------------------------------------------
# the Z3 engines (imported on first use: z3 is slow to load). What passes
# between engines, as data: the explicit engine's reachable states filter the
# proof engines' candidate clauses; the depth of its complete search is the
# bound that makes a clean BMC run a proof. No engine's result is ever
# changed by another's: a proof engine that finds no invariant stays UNKNOWN,
# and the combined verdict (`decide`) says which engine decided what.

_NEEDS_STATES = ("bmc", "induction", "param")
# What each Z3 engine may spend per spec when --timeout is not given, in Z3 resource units (rlimit): a
# deterministic budget, so that a default run gives the same verdicts on every machine and under any load
# (about 6 million units a second here: BMC's budget is some 5 s). Past it: UNKNOWN, with the reason.
Z3_DEFAULT_UNITS = {"bmc": 30_000_000, "induction": 2_000_000_000, "param": 2_000_000_000}


def _reachable(system: model.System, opts: RunOptions, shared: Handoff) -> EngineResult:
    """The explicit engine's result with its states: the one of this run, or a quiet exploration."""
    r = shared.explicit
    if r is not None and "states" in r.extra:
        return r
    r = shared.reachable
    if r is None:
        r = checker.explore(system, symmetry=opts.symmetry, limits=opts.limits, keep_states=True)
        shared.reachable = r
    if r.reason == "interrupted":  # the engine it feeds must not run on half the states
        raise signals.Interrupted(signals.received() or "SIGINT", partial=r)
    return r


def _z3_budget(name: str, opts: RunOptions) -> Z3Budget:
    """--timeout (wall-clock) when given, else the engine's deterministic default budget."""
    if opts.limits.timeout is not None:
        return {"timeout": opts.limits.timeout}
    return {"rlimit": Z3_DEFAULT_UNITS[name]}


def _bmc(system: model.System, opts: RunOptions, shared: Handoff) -> EngineResult:
    from slabproof.z3 import bmc

    data = Reachable.of(_reachable(system, opts, shared))
    r = bmc.run(system, complete_depth=data.bound, **_z3_budget("bmc", opts))
    shared.bmc = r
    return r


def _induction(system: model.System, opts: RunOptions, shared: Handoff) -> EngineResult:
    from slabproof.z3 import induction

    data = Reachable.of(_reachable(system, opts, shared))
    return induction.run(system, data.states, data.slots, **_z3_budget("induction", opts),
                         minimize=opts.prove, violated=data.violated)


# the any-N engine's candidates are filtered by states with at least this many CPUs that run no writer,
# so that clauses about two such CPUs (two reapers never both hold slab_mutex) can be observed
PARAM_FREE_CPUS = 2
PARAM_DATA_MAX_STATES = 50_000  # a breadth-first prefix is still a sound filter: Houdini checks the rest


def _param_data(system: model.System, opts: RunOptions, shared: Handoff) -> EngineResult:
    spec = system.spec
    want = len(spec.writers) + PARAM_FREE_CPUS
    own = _reachable(system, opts, shared)
    if spec.cpus >= want or want > MAX_CPUS or set(own.violated) - {"writer_terminates"}:
        return own  # (a spec shown violated cannot be proved safe: no need for more data)
    if shared.param_data is None:
        bigger = model.build(spec.with_cpus(want))
        shared.param_data = checker.explore(bigger, symmetry=True, keep_states=True,
                                            limits=checker.Limits(max_states=PARAM_DATA_MAX_STATES,
                                                                  timeout=opts.limits.timeout))
    if shared.param_data.reason == "interrupted":
        raise signals.Interrupted(signals.received() or "SIGINT", partial=shared.param_data)
    return shared.param_data


def _param(system: model.System, opts: RunOptions, shared: Handoff) -> EngineResult:
    from slabproof.z3 import param

    data = Reachable.of(_param_data(system, opts, shared))
    return param.run(system, data.states, data.slots, **_z3_budget("param", opts),
                     minimize=opts.prove, violated=_reachable(system, opts, shared).violated,
                     roles=opts.readable)


def interrupted_result(name: str, system: model.System, partial: EngineResult | None = None) -> EngineResult:
    """Engine `name`'s UNKNOWN result for a signal that reached it outside its own handler.

    `partial` (the exploration feeding it, when that is what was interrupted) gives the figures so far.
    """
    if partial is None:
        return EngineResult(engine=name, spec=system.spec.path, cpus=system.ncpus, verdict=Verdict.UNKNOWN,
                            reason="interrupted", complete=False)
    if name == partial.engine:
        return partial
    # the figures are the feeding exploration's; what it found is not credited to `name`
    return EngineResult(engine=name, spec=system.spec.path, cpus=system.ncpus, verdict=Verdict.UNKNOWN,
                        reason="interrupted", complete=False,
                        properties=tuple(replace(p, holds=None, trace=None) for p in partial.properties),
                        states=partial.states, transitions=partial.transitions, depth=partial.depth,
                        seconds=partial.seconds, symmetry=partial.symmetry,
                        extra={"interrupted_in": f"the {partial.engine} exploration that feeds {name}"})


def interrupted_outcome(spec: Spec, engine: str) -> SpecOutcome:
    """The outcome of a spec interrupted before any engine returned (while its model was built, say)."""
    r = EngineResult(engine=engine, spec=spec.path, cpus=spec.cpus, verdict=Verdict.UNKNOWN,
                     reason="interrupted", complete=False)
    return outcome(spec, (r,))


def register(name: str, fn: EngineFn, method: Method = Method.REPORTED) -> None:
    """Make an engine available to `run_spec` under `name`; `method` says how it decides that a property
    holds (or that a `sometimes` property has no witness) without a trace (`decide` records it)."""
    _REGISTRY[name] = fn
    _METHOD[name] = method


_METHOD: dict[str, Method] = {}
register("explicit", _explicit, Method.EXHAUSTIVE)
register("bmc", _bmc, Method.BOUNDED)
register("induction", _induction, Method.INVARIANT)
register("param", _param, Method.INVARIANT)


def method(name: str) -> Method:
    """How the engine `name` decides a property without a trace (REPORTED for an engine registered without)."""
    return _METHOD.get(name, Method.REPORTED)


def finds_traces(name: str) -> bool:
    """Whether the engine `name` can show a property violated (the proof engines only prove)."""
    return method(name) != Method.INVARIANT


def available_engines() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def engine(name: str) -> EngineFn:
    """The registered engine `name` (KeyError if none), for layers that run engines on a system they built."""
    return _REGISTRY[name]


def spec_files(paths: Sequence[str]) -> list[str]:
    """The spec files named (a directory stands for the *.toml files in it, sorted).

    An empty path, a path the system refuses (a name over 255 bytes, a
    directory that cannot be searched or read) is a `SpecError` naming it;
    anything that is not a directory is left to `spec.load`, which accepts
    only regular files.
    """
    out: list[str] = []
    for p in paths:
        if p == "":
            raise SpecError("''", "", "an empty path names no spec file or directory")
        try:
            is_dir = stat.S_ISDIR(os.stat(p).st_mode)
        except FileNotFoundError:
            is_dir = False  # spec.load says "no such file"
        except OSError as e:
            raise SpecError(p, "", _os_problem(e)) from None
        except ValueError:  # a NUL byte
            raise SpecError(p, "", "cannot read: not a valid file name") from None
        if not is_dir:
            out.append(p)
            continue
        try:
            with os.scandir(p) as it:
                names = [e.name for e in it if e.name.endswith(".toml")]
        except OSError as e:
            raise SpecError(p, "", _os_problem(e)) from None
        if not names:
            raise SpecError(p, "", "directory holds no *.toml spec files")
        out.extend(sorted(str(Path(p) / n) for n in names))
    return out


def load_all(paths: Iterable[str], cpus: int | None = None, memory: str | None = None) -> list[Spec]:
    """Load and validate every spec before anything runs (so bad input stops everything)."""
    specs = []
    for p in paths:
        s = load(p)
        if cpus is not None:
            s = s.with_cpus(cpus)
        if memory is not None:
            s = s.with_memory(memory)
        specs.append(s)
    return specs


UNDECIDED = "undecided: "  # how `decide` starts the reason when the spec is left undecided
LIVENESS = "writer_terminates"  # decided by the explicit engine only; every engine lists it


def _properties(spec: Spec, results: Sequence[EngineResult],
                system: model.System | None = None) -> list[tuple[str, str]]:
    """Every property of the spec, (name, kind): those the engines report, in their order, then any the
    model has that no engine reported (writer_terminates among the `always` ones)."""
    out: dict[str, str] = {}
    for r in results:
        for p in r.properties:
            out.setdefault(p.name, p.kind)
    sysprops = (system if system is not None else model.build(spec)).properties
    for sp in sysprops:
        out.setdefault(sp.name, sp.kind)
    out.setdefault(LIVENESS, "always")
    return list(out.items())


def replays(system: model.System, trace: Trace, comp: checker.Compiled | None = None) -> str:
    """Why `trace` is not a counterexample in the explicit model ("" when it is one): each step, from the
    model's initial state, must be a successor the model's compiled successor function gives -- taken by the
    trace's actor, with the trace's step, to exactly the state the trace records -- and the last state must
    break the property's own expression. This is how a counterexample found by another engine (BMC) counts
    for the spec: as data the runner checks, no engine reading another's."""
    comp = comp if comp is not None else checker.Compiled(system, symmetry=False)
    try:
        prop = system.property(trace.property)
    except KeyError:
        return f"{trace.property} is no state property of the model"
    if prop.kind != "always" or trace.kind != "counterexample":
        return "not a counterexample to an `always` property"
    cur = comp.init
    if comp.readable(cur) != trace.initial:
        return "its initial state is not the model's"
    steps = list(trace.steps)
    if steps and steps[-1].violating:  # the step that commits the violation, from the last state
        steps = steps[:-1]
    for st in steps:
        nxt = [n for iid, n in comp.succ(cur) if comp.instances[iid].actor == st.actor
               and comp.action(iid).step == st.step and comp.action(iid).skipped == st.skipped
               and comp.readable(n) == st.state]
        if st.violating or not nxt:
            return f"step {st.index} ({st.actor} {st.step}) is not a step of the model from the state before it"
        cur = nxt[0]
    if expr.evaluate(prop.expr, comp.layout, cur, None, system.writer_cpus):
        return f"its last state does not break {prop.name}"
    return ""


def _evidence(r: EngineResult, holds: bool, trace: object) -> Evidence:
    if isinstance(trace, Trace):
        return Evidence(r.engine, Method.TRACE, holds, depth=trace.length)
    m = method(r.engine)
    if m == Method.INVARIANT:
        return Evidence(r.engine, m, holds, scope=str(r.extra.get("scope", f"{r.cpus} CPUs")))
    if m == Method.BOUNDED:
        return Evidence(r.engine, m, holds, depth=int(r.extra.get("complete_depth") or r.depth))
    return Evidence(r.engine, m, holds)


def _gap(r: EngineResult, name: str, kind: str) -> Gap:
    """Why engine `r` left property `name` undecided, from its own result."""
    na = r.extra.get("not_applicable", {})
    if isinstance(na, dict) and name in na:
        return Gap(r.engine, f"not applicable: {na[name]}")
    unproved = r.extra.get("unproved", {})
    if isinstance(unproved, dict) and name in unproved:
        return Gap(r.engine, f"not proved: {unproved[name]}")
    if method(r.engine) == Method.INVARIANT and kind == "sometimes":
        return Gap(r.engine, "not checked: an invariant proves `always` properties only")
    if r.reason == INTERRUPTED:
        return Gap(r.engine, f"{INTERRUPTED} after {_cover(r)}")
    if r.verdict != Verdict.UNKNOWN and "bound" in r.extra:
        return Gap(r.engine, f"not decided: searched to depth {r.extra['bound']}")
    if r.verdict == Verdict.UNKNOWN:
        return Gap(r.engine, f"unknown ({r.reason or 'undecided'}) after {_cover(r)}")
    if r.reason:
        return Gap(r.engine, f"not decided ({r.reason})")
    return Gap(r.engine, "not decided")


def _cover(r: EngineResult) -> str:
    return f"{r.states:,} states, depth {r.depth}" if r.states else f"{r.seconds:.1f} s"


def _value(kind: str, holds: bool) -> Decision:
    if kind == "always":
        return Decision.HOLDS if holds else Decision.VIOLATED
    return Decision.WITNESSED if holds else Decision.NO_WITNESS


def _expected(spec: Spec, props: Sequence[tuple[str, str]]) -> dict[str, Decision]:
    """What the spec's expectation says of each property it mentions: with `verdict = "safe"`, every
    `always` property holds; with `violates`, each listed one is violated; each of `witnesses` is witnessed."""
    exp = spec.expect
    want: dict[str, Decision] = {}
    if exp.verdict == "safe":
        for name, kind in props:
            if kind == "always":
                want[name] = Decision.HOLDS
    elif exp.violates is not None:
        for name in exp.violates:
            want[name] = Decision.VIOLATED
    for name in exp.witnesses:
        want[name] = Decision.WITNESSED
    return want


def decide(spec: Spec, results: Sequence[EngineResult], system: model.System | None = None) -> SpecVerdict:
    """The combined verdict of one spec from its engines' own results (which it does not change).

    Per property: every engine that decided it (``holds`` not None) is
    evidence, with how it decided (a trace; an exhaustive search; an
    invariant, with its scope; a bounded search to a depth known to cover
    every reachable state). Engines that decided it differently make it a
    CONFLICT.

    The spec's status, in this order:

    * DISAGREE: some property is a conflict;
    * UNDECIDED: some engine was interrupted;
    * MISMATCH: a decided property contradicts the expectation (a property
      expected to hold is violated, or the reverse; one outside `violates` is
      violated; an expected witness is shown not to exist; with
      ``verdict = "violated"`` and no `violates`, every `always` property holds);
    * UNDECIDED: some property the expectation mentions (see `_expected`; with
      ``verdict = "violated"`` and no `violates`: some `always` property being
      violated) was decided by no selected engine;
    * MATCH otherwise.
    """
    system = system if system is not None else model.build(spec)
    props = _properties(spec, results, system)
    want = _expected(spec, props)
    pvs: list[PropertyVerdict] = []
    comp: list[checker.Compiled] = []  # built on the first trace to replay
    state_props = {p.name for p in system.properties if p.kind == "always"}
    bogus: list[str] = []  # counterexamples of other engines that do not replay in the explicit model
    for name, kind in props:
        by: list[Evidence] = []
        gaps: list[Gap] = []
        claims: set[bool] = set()
        for r in results:
            pr = next((p for p in r.properties if p.name == name), None)
            if pr is None:
                gaps.append(Gap(r.engine, "not checked"))
            elif pr.holds is None:
                gaps.append(_gap(r, name, kind))
            elif kind == "always" and pr.holds is False and isinstance(pr.trace, Trace) and name in state_props:
                # a counterexample counts, whichever engine found it, only if it replays in the explicit model
                # (writer_terminates, a liveness property, is no state predicate: the explorer's own, as found)
                if not comp:
                    comp.append(checker.Compiled(system, symmetry=False))
                why = replays(system, pr.trace, comp[0])
                if why:  # no evidence; still a claim, which contradicts an engine that says the property holds
                    claims.add(False)
                    gaps.append(Gap(r.engine, f"its counterexample does not replay in the explicit model: {why}"))
                    bogus.append(f"{r.engine}'s counterexample to {name} does not replay in the explicit model "
                                 f"({why})")
                else:
                    by.append(replace(_evidence(r, pr.holds, pr.trace), replayed=True))
            else:
                by.append(_evidence(r, pr.holds, pr.trace))
        values = {e.holds for e in by}
        decision = (Decision.CONFLICT if len(values | claims) > 1 else _value(kind, values.pop()) if values
                    else Decision.UNDECIDED)
        pvs.append(PropertyVerdict(name, kind, decision, tuple(by), tuple(gaps), want.get(name)))

    def engines(p: PropertyVerdict, holds: bool) -> str:
        return ", ".join(e.engine for e in p.by if e.holds is holds)

    interrupted = any(r.reason == INTERRUPTED for r in results)
    notes = tuple(EngineNote(r.engine, r.reason) for r in results if r.verdict == Verdict.UNKNOWN)
    always = [p for p in pvs if p.kind == "always"]
    if interrupted or any(p.decision == Decision.CONFLICT for p in pvs):
        verdict = Verdict.UNKNOWN
    elif any(p.decision == Decision.VIOLATED for p in always):
        verdict = Verdict.VIOLATED
    elif always and all(p.decision == Decision.HOLDS for p in always):
        verdict = Verdict.SAFE
    else:
        verdict = Verdict.UNKNOWN

    def done(status: Status, why: str) -> SpecVerdict:
        return SpecVerdict(verdict, status, why, tuple(pvs), notes, interrupted)

    clashes = []
    for p in pvs:
        if p.decision == Decision.CONFLICT:
            if p.kind == "always":
                yes = engines(p, True)
                clashes.append(f"{p.name}: {engines(p, False)} found it violated, {yes} "
                               f"{'say' if ',' in yes else 'says'} it holds")
            else:
                no = engines(p, False)
                clashes.append(f"{p.name}: {engines(p, True)} found a witness, {no} "
                               f"{'say' if ',' in no else 'says'} there is none")
    if clashes:
        return done(Status.DISAGREE, "engines disagree on " + "; ".join(clashes))
    if interrupted:
        cut = "; ".join(f"{r.engine}: {r.verdict.value} ({INTERRUPTED}) after {_cover(r)}"
                        for r in results if r.reason == INTERRUPTED)
        return done(Status.UNDECIDED, UNDECIDED + cut + "; the figures are partial")
    exp = spec.expect
    for p in pvs:
        if p.expected is None or p.decision in (p.expected, Decision.UNDECIDED):
            continue
        if p.expected == Decision.HOLDS:
            return done(Status.MISMATCH, f"{p.name} violated ({p.how}), expected safe")
        if p.expected == Decision.VIOLATED:
            return done(Status.MISMATCH, f"{p.name} holds ({p.how}), expected violated")
        return done(Status.MISMATCH, f"no witness for {p.name} ({p.how}); the safe verdict may be vacuous")
    if exp.verdict == "violated":
        extra = [p for p in always if p.decision == Decision.VIOLATED and exp.violates is not None
                 and p.name not in exp.violates]
        if extra:
            return done(Status.MISMATCH, "also violated: " + "; ".join(f"{p.name} ({p.how})" for p in extra)
                        + f"; expected only {', '.join(exp.violates or ())}")
        if exp.violates is None and always and all(p.decision == Decision.HOLDS for p in always):
            return done(Status.MISMATCH, "every property holds (" + "; ".join(f"{p.name}: {p.how}" for p in always)
                        + "), expected violated")
    if bogus:  # an engine claimed a violation it cannot show: never a match
        return done(Status.UNDECIDED, UNDECIDED + "; ".join(bogus))
    open_ = [p for p in pvs if p.expected is not None and p.decision == Decision.UNDECIDED]
    if open_:
        wanted: dict[str, list[str]] = {}
        for p in open_:
            wanted.setdefault(p.expected.value, []).append(p.name)  # type: ignore[union-attr]
        return done(Status.UNDECIDED, UNDECIDED + _why_open(open_) + "; left open: " + "; ".join(
            f"{', '.join(ns)} (expected {w})" for w, ns in wanted.items()))
    if exp.verdict == "violated" and exp.violates is None and not any(p.decision == Decision.VIOLATED for p in always):
        rest = [p for p in always if p.decision == Decision.UNDECIDED]
        return done(Status.UNDECIDED, UNDECIDED + _why_open(rest) + "; left open: " + ", ".join(
            p.name for p in rest) + " (expected: some property violated)")
    return done(Status.MATCH, "")


def _why_open(props: Sequence[PropertyVerdict]) -> str:
    """Why these properties are undecided, engine by engine: "explicit: unknown (...) after 20 states, depth 11;
    induction: not applicable: ... (writer_terminates)"."""
    groups: dict[tuple[str, str], list[str]] = {}
    for p in props:
        for g in p.undecided:
            groups.setdefault((g.engine, g.why), []).append(p.name)
    if not groups:
        return "no selected engine checks them"
    return "; ".join(f"{e}: {why}" + (f" ({', '.join(ns)})" if len(ns) < len(props) else "")
                     for (e, why), ns in groups.items())


def compare(spec: Spec, results: Sequence[EngineResult]) -> tuple[bool, str, str]:
    """(matches, why not, disagreement) for one spec's results: `decide`, in three values."""
    v = decide(spec, results)
    return v.status == Status.MATCH, v.why, v.why if v.status == Status.DISAGREE else ""


def not_supported(name: str, system: model.System, why: str) -> EngineResult:
    """An engine that cannot encode `system`: UNKNOWN, every property undecided, the reason said."""
    props = [PropertyResult(p.name, p.kind, p.doc, None) for p in system.properties]
    for i, lp in enumerate(model.LIVENESS_PROPERTIES):
        props.insert(min(4 + i, len(props)), PropertyResult(lp, "always", model.PROPERTY_DOCS[lp], None))
    return EngineResult(engine=name, spec=system.spec.path, cpus=system.ncpus, verdict=Verdict.UNKNOWN,
                        reason=f"not supported: {why}", complete=False, properties=tuple(props))


def run_spec(spec: Spec, opts: RunOptions) -> SpecOutcome:
    """Every requested engine on one spec, each result as the engine gave it, and the combined verdict."""
    system = model.build(spec)
    shared = Handoff()
    results = []
    for name in opts.engines:
        if name != "explicit" and spec.memory != "sc":
            results.append(not_supported(name, system, f"memory model {spec.memory!r}: the Z3 encodings are "
                                                       "sequentially consistent (docs/memory.md)"))
            continue
        try:
            results.append(_REGISTRY[name](system, opts, shared))
        except KeyboardInterrupt as e:  # outside the engine's own handler (or in the exploration feeding it)
            results.append(interrupted_result(name, system, getattr(e, "partial", None)))
        except Exception:
            if not signals.received():
                raise
            # Z3 interrupted outside a check (building a model, simplifying) raises its own exception
            results.append(interrupted_result(name, system))
        if results[-1].reason == "interrupted" or signals.received():
            break  # Ctrl-C, SIGTERM, SIGHUP: the user wants the figures so far, not more engines
    if any(e in _NEEDS_STATES for e in opts.engines):  # the states were for the other engines, not the report
        results = [replace(r, extra={k: v for k, v in r.extra.items() if k not in ("states", "slots")})
                   if r.engine == "explicit" else r for r in results]
    return outcome(spec, results, system)


def outcome(spec: Spec, results: Sequence[EngineResult], system: model.System | None = None) -> SpecOutcome:
    """The outcome of one spec from its engines' results, as they are, with the combined verdict."""
    v = decide(spec, results, system)
    return SpecOutcome(
        spec=spec.path,
        name=spec.name,
        cpus=spec.cpus,
        expected=spec.expect.verdict,
        expected_violates=spec.expect.violates,
        results=tuple(results),
        matches=v.status == Status.MATCH,
        mismatch=v.why,
        disagreement=v.why if v.status == Status.DISAGREE else "",
        combined=v,
        expected_witnesses=spec.expect.witnesses,
    )


# What the quantified re-check of `prove` may spend when --timeout is not given, in Z3 resource units
# (deterministic, like the engines' budgets): the memcg and cache 3-CPU invariants need some 1-3 million.
RECHECK_DEFAULT_UNITS = 200_000_000
_PROOF_ONLY_EXTRAS = ("states", "slots", "invariant_exprs")  # data between engines, not for the report


def _recheck_budget(opts: RunOptions) -> Z3Budget:
    if opts.limits.timeout is not None:
        return {"timeout": opts.limits.timeout}
    return {"rlimit": RECHECK_DEFAULT_UNITS}


def _shortest(r: EngineResult, names: Sequence[str]) -> int | None:
    """The length of `r`'s shortest counterexample to one of `names` (None: it has none)."""
    lengths = [p.trace.length for p in r.properties
               if p.name in names and p.kind == "always" and p.holds is False and p.trace is not None]
    return min(lengths) if lengths else None


def _any_n_confirmed(par: EngineResult, rc: EngineResult | None) -> bool:
    """`param` proved every safety property and the quantified re-check confirmed its invariant."""
    return par.verdict == Verdict.SAFE and rc is not None and rc.verdict == Verdict.SAFE


def prove_spec(spec: Spec, opts: RunOptions) -> ProofOutcome:
    """``slabproof prove``: the invariant engines (any number of CPUs, then the spec's number), the
    quantified re-check of an any-N invariant, BMC when nothing is proved, and reachable witnesses for
    the patch's "sat" lemmas.

    Every engine's result is reported as it is. The status: PROVED for any number of CPUs only when
    `param` proved every safety property *and* the re-check (`recheck.run`, real quantifiers over an
    uninterpreted CPU sort) confirmed its invariant; else PROVED for the spec's number when `induction`
    did; else FAILED when the explicit engine or BMC produced a counterexample trace (named, with its
    length); else UNKNOWN, with each engine's reason."""
    from slabproof.z3 import bmc, houdini, recheck

    if spec.memory != "sc":  # never a proof of the sequentially consistent model passed off as this one
        return ProofOutcome(spec=spec.path, name=spec.name, cpus=spec.cpus, expected=spec.expect.verdict,
                            status="UNKNOWN", scope="",
                            why=f"not supported: memory model {spec.memory!r} (the Z3 encodings are "
                                "sequentially consistent; docs/memory.md)", results=(), matches=False)
    system = model.build(spec)
    shared = Handoff()
    opts = replace(opts, engines=("explicit", "param", "induction"), prove=True)

    def run(name: str, fn: EngineFn) -> EngineResult:
        try:
            r = fn(system, opts, shared)
        except KeyboardInterrupt as e:
            r = interrupted_result(name, system, getattr(e, "partial", None))
        except Exception:
            if not signals.received():
                raise
            r = interrupted_result(name, system)  # (Z3 interrupted outside a check)
        if r.reason == "interrupted" or signals.received():  # no further engine: the caller reports them
            stop = signals.Interrupted(signals.received() or "SIGINT", partial=r)
            stop.finished = tuple(results)
            raise stop
        return r

    results: list[EngineResult] = []
    for name, fn in (("explicit", _explicit), ("param", _param), ("induction", _induction)):
        results.append(run(name, fn))
    ex, par, ind = results
    rc: EngineResult | None = None
    if par.verdict == Verdict.SAFE:
        rc = run("recheck", lambda s, o, _: recheck.run(s, par.extra.get("invariant_exprs", []),
                                                        **_recheck_budget(o)))
        results.append(rc)
    any_n = _any_n_confirmed(par, rc)
    if not any_n and ind.verdict != Verdict.SAFE:
        results.append(run("bmc", _bmc))
    safety = [p.name for p in system.properties if p.kind == "always"]
    exp_bad = set(spec.expect.violates) if spec.expect.violates is not None else (
        set(ex.violated) if spec.expect.verdict == "violated" else set())
    expected = "violated" if spec.expect.verdict == "violated" and exp_bad & set(safety) else "safe"
    # a violation is a trace, found by the explicit engine or BMC: no other engine produces one
    tracers = [(r, _shortest(r, safety)) for r in results if r.engine in ("explicit", "bmc")]
    failed = sorted({p.name for r, n in tracers if n is not None for p in r.properties
                     if p.name in safety and p.holds is False and p.trace is not None})
    if any_n:
        status, scope = "PROVED", par.extra.get("scope", "any number of CPUs")
        why = (f"{len(safety)} safety properties follow from an inductive invariant of "
               f"{par.extra.get('invariant_clauses', '?')} clauses (re-checked with quantifiers)")
    elif ind.verdict == Verdict.SAFE:
        status, scope = "PROVED", ind.extra.get("scope", f"{spec.cpus} CPUs")
        if par.verdict == Verdict.SAFE and rc is not None:
            not_any = f"param's invariant did not re-check ({rc.reason})"
        else:
            not_any = par.reason or "not proved"
        why = f"for {spec.cpus} CPUs only; NOT PROVED for any number: {not_any}"
    elif failed:
        status, scope = "FAILED", ""
        lengths = ", ".join(f"{r.engine}: {n} steps" for r, n in tracers if n is not None)
        why = f"violated: {', '.join(failed)} (shortest counterexample: {lengths})"
    else:
        status, scope = "UNKNOWN", ""
        parts = [f"{r.engine}: {r.reason}" for r in results if r.verdict == Verdict.UNKNOWN and r.reason]
        why = "; ".join(parts) or "no invariant and no counterexample"
    targets = [model.Property(lem.name, "sometimes", lem.expr, lem.doc)
               for lem in houdini.lemmas(system) if lem.expected == "sat"]
    if targets:
        ws = run(bmc.WITNESS_ENGINE, lambda s, o, _: bmc.witness(s, targets, max_depth=ex.depth,
                                                                 complete=ex.complete, **_z3_budget("bmc", o)))
        results.append(ws)
        witnesses: dict[str, Trace | None] = {p.name: p.trace for p in ws.properties if p.trace is not None}
    else:
        witnesses = {}
    _, _, disagreement = compare(spec, [r for r in results if r.engine != bmc.WITNESS_ENGINE])
    matches = (status == "PROVED" and expected == "safe") or (status == "FAILED" and expected == "violated")
    results = [replace(r, extra={k: v for k, v in r.extra.items() if k not in _PROOF_ONLY_EXTRAS})
               for r in results]
    return ProofOutcome(spec=spec.path, name=spec.name, cpus=spec.cpus, expected=expected, status=status,
                        scope=scope, why=why, results=tuple(results), witnesses=witnesses,
                        matches=matches and not disagreement, disagreement=disagreement)


def prove_exit_status(outcomes: Sequence[ProofOutcome]) -> int:
    if any(o.disagreement for o in outcomes):
        return EXIT_DISAGREE
    if any(not o.matches and o.status != "UNKNOWN" for o in outcomes):
        return EXIT_MISMATCH
    if any(o.status == "UNKNOWN" for o in outcomes):
        return EXIT_UNKNOWN
    return EXIT_OK


# exit statuses (documented in the README, "Exit status", and docs/ci.md)
EXIT_OK = 0  # every spec matches: each property its expectation mentions decided as expected by some engine
EXIT_MISMATCH = 1  # some decided property contradicts its spec's expectation
EXIT_USAGE = 2  # bad input: spec file, option, path
EXIT_DISAGREE = 3  # two engines decided one property of one spec differently
EXIT_UNKNOWN = 4  # some spec undecided (a property it mentions decided by no engine; an interrupt); --strict: any UNKNOWN


def exit_status(outcomes: Sequence[SpecOutcome], strict: bool = False) -> int:
    """The one exit policy (README "Exit status", docs/ci.md; the pytest plugin and JUnit follow it):
    3 if engines disagree on some spec; else 1 if some spec is a MISMATCH; else 4 if some spec is
    UNDECIDED (or, with `strict`, if any engine's own verdict is UNKNOWN); else 0."""
    st = {o.status for o in outcomes}
    if Status.DISAGREE in st:
        return EXIT_DISAGREE
    if Status.MISMATCH in st:
        return EXIT_MISMATCH
    if Status.UNDECIDED in st:
        return EXIT_UNKNOWN
    if strict and any(o.undecided_engines for o in outcomes):
        return EXIT_UNKNOWN
    return EXIT_OK


def spec_passes(o: SpecOutcome, strict: bool = False) -> bool:
    """Whether one spec passes the gate on its own (what the pytest plugin asserts): `exit_status([o])` is 0."""
    return exit_status([o], strict) == EXIT_OK
