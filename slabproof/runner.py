"""Runs engines on specs and compares what they say with what the spec expects.

This is the only layer that knows several engines. Engines never import each
other; when one engine's results feed another (the explorer's reachable states
filtering the induction engine's candidate invariants) they pass through here
as data. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from . import checker, model, signals
from .results import EngineResult, PropertyResult, ProofOutcome, SpecOutcome, Verdict
from .spec import MAX_CPUS, Spec, SpecError, load

ENGINES: tuple[str, ...] = ("explicit",)

# Engines register themselves here: name -> callable(system, options) -> EngineResult.
EngineFn = Callable[[model.System, "RunOptions", dict], EngineResult]
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


def _explicit(system: model.System, opts: RunOptions, shared: dict) -> EngineResult:
    r = checker.explore(system, symmetry=opts.symmetry, limits=opts.limits, progress=opts.progress,
                        stop_at_first=opts.stop_at_first, keep_graph=opts.keep_graph,
                        keep_states=any(e in _NEEDS_STATES for e in opts.engines))
    shared["explicit"] = r
    return r


# ---------------------------------------------------------------------------
# the Z3 engines (imported on first use: z3 is slow to load). What passes
# between engines, as data: the explicit engine's reachable states filter the
# proof engines' candidate clauses; the depth of its complete search is the
# bound that makes a clean BMC run a proof; a BMC counterexample turns a
# failed proof into a violation (`_combine`).

_NEEDS_STATES = ("bmc", "induction", "param")
# What each Z3 engine may spend per spec when --timeout is not given, in Z3 resource units (rlimit): a
# deterministic budget, so that a default run gives the same verdicts on every machine and under any load
# (about 6 million units a second here: BMC's budget is some 5 s). Past it: UNKNOWN, with the reason.
Z3_DEFAULT_UNITS = {"bmc": 30_000_000, "induction": 2_000_000_000, "param": 2_000_000_000}


def _reachable(system: model.System, opts: RunOptions, shared: dict) -> EngineResult:
    """The explicit engine's result with its states: the one of this run, or a quiet exploration."""
    r = shared.get("explicit")
    if r is not None and "states" in r.extra:
        return r
    r = shared.get("reachable")
    if r is None:
        r = checker.explore(system, symmetry=opts.symmetry, limits=opts.limits, keep_states=True)
        shared["reachable"] = r
    if r.reason == "interrupted":  # the engine it feeds must not run on half the states
        raise signals.Interrupted(signals.received() or "SIGINT", partial=r)
    return r


def _z3_budget(name: str, opts: RunOptions) -> dict:
    """--timeout (wall-clock) when given, else the engine's deterministic default budget."""
    if opts.limits.timeout is not None:
        return {"timeout": opts.limits.timeout}
    return {"rlimit": Z3_DEFAULT_UNITS[name]}


def _bmc(system: model.System, opts: RunOptions, shared: dict) -> EngineResult:
    from . import bmc

    data = _reachable(system, opts, shared)
    r = bmc.run(system, complete_depth=data.depth if data.complete else None, **_z3_budget("bmc", opts))
    shared["bmc"] = r
    return r


def _induction(system: model.System, opts: RunOptions, shared: dict) -> EngineResult:
    from . import induction

    data = _reachable(system, opts, shared)
    return induction.run(system, data.extra["states"], data.extra["slots"], **_z3_budget("induction", opts),
                         minimize=opts.prove, violated=data.violated)


# the any-N engine's candidates are filtered by states with at least this many CPUs that run no writer,
# so that clauses about two such CPUs (two reapers never both hold slab_mutex) can be observed
PARAM_FREE_CPUS = 2
PARAM_DATA_MAX_STATES = 50_000  # a breadth-first prefix is still a sound filter: Houdini checks the rest


def _param_data(system: model.System, opts: RunOptions, shared: dict) -> EngineResult:
    spec = system.spec
    want = len(spec.writers) + PARAM_FREE_CPUS
    own = _reachable(system, opts, shared)
    if spec.cpus >= want or want > MAX_CPUS or set(own.violated) - {"writer_terminates"}:
        return own  # (a spec shown violated cannot be proved safe: no need for more data)
    if "param_data" not in shared:
        bigger = model.build(spec.with_cpus(want))
        shared["param_data"] = checker.explore(bigger, symmetry=True, keep_states=True,
                                               limits=checker.Limits(max_states=PARAM_DATA_MAX_STATES,
                                                                     timeout=opts.limits.timeout))
    if shared["param_data"].reason == "interrupted":
        raise signals.Interrupted(signals.received() or "SIGINT", partial=shared["param_data"])
    return shared["param_data"]


def _param(system: model.System, opts: RunOptions, shared: dict) -> EngineResult:
    from . import param

    data = _param_data(system, opts, shared)
    return param.run(system, data.extra["states"], data.extra["slots"], **_z3_budget("param", opts),
                     minimize=opts.prove, violated=_reachable(system, opts, shared).violated)


def _combine(results: list[EngineResult]) -> list[EngineResult]:
    """A proof engine that could not prove a property BMC found violated reports the violation, with BMC's trace."""
    cex = next((r for r in results if r.engine == "bmc" and r.verdict == Verdict.VIOLATED), None)
    if cex is None:
        return results
    out = []
    for r in results:
        if r.engine in ("induction", "param") and r.verdict == Verdict.UNKNOWN:
            props = []
            for p in r.properties:
                b = cex.prop(p.name) if p.name in {q.name for q in cex.properties} else None
                if p.kind == "always" and p.holds is None and b is not None and b.holds is False:
                    p = replace(p, holds=False, trace=b.trace)
                props.append(p)
            extra = dict(r.extra)
            extra["backed_by"] = ("not provable; the violation is BMC's counterexample "
                                  f"({', '.join(cex.violated)})")
            r = replace(r, verdict=Verdict.VIOLATED, properties=tuple(props), extra=extra,
                        reason="", complete=True)
        out.append(r)
    return out


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
    return SpecOutcome(spec=spec.path, name=spec.name, cpus=spec.cpus, expected=spec.expect.verdict,
                       expected_violates=spec.expect.violates, results=(r,), matches=False,
                       mismatch=UNDECIDED + f"{engine}: unknown (interrupted) before it started")


def register(name: str, fn: EngineFn) -> None:
    """Make an engine available to `run_spec` under `name`."""
    _REGISTRY[name] = fn


register("explicit", _explicit)
register("bmc", _bmc)
register("induction", _induction)
register("param", _param)


def available_engines() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def engine(name: str) -> EngineFn:
    """The registered engine `name` (KeyError if none), for layers that run engines on a system they built."""
    return _REGISTRY[name]


def spec_files(paths: Sequence[str]) -> list[str]:
    """The spec files named (a directory stands for the *.toml files in it, sorted)."""
    out: list[str] = []
    for p in paths:
        pp = Path(p)
        if pp.is_dir():
            files = sorted(str(f) for f in pp.glob("*.toml"))
            if not files:
                raise SpecError(p, "", "directory holds no *.toml spec files")
            out.extend(files)
        else:
            out.append(p)
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


UNDECIDED = "undecided: "  # how compare() starts the reason when no engine could decide the spec


def compare(spec: Spec, results: Sequence[EngineResult]) -> tuple[bool, str, str]:
    """(matches, why not, disagreement) for one spec's results.

    Engines are compared property by property: they disagree when one shows a
    property violated (with a trace) and another proves it holds. An engine
    that does not decide a property (``holds is None``: BMC and the proof
    engines do not decide the liveness property ``writer_terminates``) neither
    agrees nor disagrees on it.
    """
    decided = [r for r in results if r.verdict != Verdict.UNKNOWN]
    names: list[str] = []
    for r in decided:
        for p in r.properties:
            if p.kind == "always" and p.name not in names:
                names.append(p.name)

    def holds(r: EngineResult, name: str) -> bool | None:
        try:
            return r.prop(name).holds
        except KeyError:
            return None

    clashes = []
    for name in names:
        proved = [r.engine for r in decided if holds(r, name) is True]
        broken = [r.engine for r in decided if holds(r, name) is False]
        if proved and broken:
            clashes.append(f"{name}: {', '.join(broken)} found it violated, {', '.join(proved)} says it holds")
    disagreement = ("engines disagree on " + "; ".join(clashes)) if clashes else ""
    if disagreement:
        return False, disagreement, disagreement
    unknown = [r for r in results if r.verdict == Verdict.UNKNOWN]
    # An engine that could not decide is shown as UNKNOWN in every report; it leaves the spec
    # undecided only when no other engine decided every property completely.
    complete = [r for r in decided if r.complete and all(holds(r, p) is not None for p in names)]
    if unknown and not complete:
        return False, UNDECIDED + "; ".join(f"{r.engine}: unknown ({r.reason}) after {r.states:,} states, "
                                            f"depth {r.depth}" for r in unknown), ""
    exp = spec.expect
    for r in decided:
        if r.verdict == Verdict.VIOLATED:
            if exp.verdict == "safe":
                return False, f"{r.engine} says violated ({', '.join(r.violated)}), expected safe", ""
            if exp.violates is not None and not set(r.violated) <= set(exp.violates):
                extra = sorted(set(r.violated) - set(exp.violates))
                return False, f"{r.engine} also finds {', '.join(extra)} violated, expected only " \
                              f"{', '.join(exp.violates)}", ""
        elif exp.verdict == "violated":
            expected = exp.violates if exp.violates is not None else tuple(names)
            if all(holds(r, p) is True for p in expected):
                return False, f"{r.engine} says safe, expected violated", ""
    for r in decided:
        full = r.complete and all(holds(r, p) is not None for p in names)
        if not full:
            continue
        if exp.violates is not None and set(r.violated) != set(exp.violates):
            return False, (f"{r.engine}: violates {', '.join(r.violated) or 'nothing'}, expected "
                           f"{', '.join(exp.violates)}"), ""
        missing = [w for w in exp.witnesses if w not in r.witnessed]
        if missing:
            return False, f"{r.engine}: no witness for {', '.join(missing)} (the safe verdict may be vacuous)", ""
    return True, "", ""


def not_supported(name: str, system: model.System, why: str) -> EngineResult:
    """An engine that cannot encode `system`: UNKNOWN, every property undecided, the reason said."""
    props = [PropertyResult(p.name, p.kind, p.doc, None) for p in system.properties]
    for i, lp in enumerate(model.LIVENESS_PROPERTIES):
        props.insert(min(4 + i, len(props)), PropertyResult(lp, "always", model.PROPERTY_DOCS[lp], None))
    return EngineResult(engine=name, spec=system.spec.path, cpus=system.ncpus, verdict=Verdict.UNKNOWN,
                        reason=f"not supported: {why}", complete=False, properties=tuple(props))


def run_spec(spec: Spec, opts: RunOptions) -> SpecOutcome:
    """Every requested engine on one spec, compared with the spec's expectation."""
    system = model.build(spec)
    shared: dict = {}
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
    results = _combine(results)
    if any(e in _NEEDS_STATES for e in opts.engines):  # the states were for the other engines, not the report
        results = [replace(r, extra={k: v for k, v in r.extra.items() if k not in ("states", "slots")})
                   if r.engine == "explicit" else r for r in results]
    ok, why, disagreement = compare(spec, results)
    stopped = [r for r in results if r.reason == "interrupted"]
    if stopped and not disagreement:  # an interrupted spec is undecided, whatever was found before the signal
        ok, why = False, UNDECIDED + "; ".join(
            f"{r.engine}: unknown (interrupted) after "
            + (f"{r.states:,} states, depth {r.depth}" if r.states else f"{r.seconds:.1f} s") for r in stopped)
    return SpecOutcome(
        spec=spec.path,
        name=spec.name,
        cpus=spec.cpus,
        expected=spec.expect.verdict,
        expected_violates=spec.expect.violates,
        results=tuple(results),
        matches=ok,
        mismatch=why,
        disagreement=disagreement,
    )


# What the quantified re-check of `prove` may spend when --timeout is not given, in Z3 resource units
# (deterministic, like the engines' budgets): the memcg and cache 3-CPU invariants need some 1-3 million.
RECHECK_DEFAULT_UNITS = 200_000_000
_PROOF_ONLY_EXTRAS = ("states", "slots", "invariant_exprs")  # data between engines, not for the report


def _recheck_budget(opts: RunOptions) -> dict:
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
    from . import bmc, houdini, recheck

    if spec.memory != "sc":  # never a proof of the sequentially consistent model passed off as this one
        expected = spec.expect.verdict
        return ProofOutcome(spec=spec.path, name=spec.name, cpus=spec.cpus, expected=expected, status="UNKNOWN",
                            scope="", why=f"not supported: memory model {spec.memory!r} (the Z3 encodings are "
                                          "sequentially consistent; docs/memory.md)", results=(), matches=False)
    system = model.build(spec)
    shared: dict = {}
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
            e = signals.Interrupted(signals.received() or "SIGINT", partial=r)
            e.finished = tuple(results)
            raise e
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
        witnesses = {p.name: p.trace for p in ws.properties if p.trace is not None}
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


# exit statuses (documented in the README and docs/cli.md)
EXIT_OK = 0  # every verdict matches its spec's expectation
EXIT_MISMATCH = 1  # some verdict does not match
EXIT_USAGE = 2  # bad input: spec file, option, path
EXIT_DISAGREE = 3  # two engines disagree on one spec
EXIT_UNKNOWN = 4  # some engine could not decide (limit, timeout, interrupt, solver unknown)


def exit_status(outcomes: Sequence[SpecOutcome]) -> int:
    """3 if engines disagree; else 1 if a decided verdict contradicts its spec; else 4 if a spec
    was left undecided (no engine decided every property); else 0."""
    if any(o.disagreement for o in outcomes):
        return EXIT_DISAGREE
    undecided = [o for o in outcomes if not o.matches and o.mismatch.startswith(UNDECIDED)]
    if any(not o.matches and o not in undecided for o in outcomes):
        return EXIT_MISMATCH
    if undecided:
        return EXIT_UNKNOWN
    return EXIT_OK
