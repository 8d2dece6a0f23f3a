"""Runs engines on specs and compares what they say with what the spec expects.

This is the only layer that knows several engines. Engines never import each
other; when one engine's results feed another (the explorer's reachable states
filtering the induction engine's candidate invariants) they pass through here
as data. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from . import checker, model
from .results import EngineResult, SpecOutcome, Verdict
from .spec import Spec, SpecError, load

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


def _explicit(system: model.System, opts: RunOptions, shared: dict) -> EngineResult:
    r = checker.explore(system, symmetry=opts.symmetry, limits=opts.limits, progress=opts.progress,
                        stop_at_first=opts.stop_at_first, keep_graph=opts.keep_graph)
    shared["explicit"] = r
    return r


def register(name: str, fn: EngineFn) -> None:
    """Make an engine available to `run_spec` under `name`."""
    _REGISTRY[name] = fn


register("explicit", _explicit)


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


def load_all(paths: Iterable[str], cpus: int | None = None) -> list[Spec]:
    """Load and validate every spec before anything runs (so bad input stops everything)."""
    specs = []
    for p in paths:
        s = load(p)
        if cpus is not None:
            s = s.with_cpus(cpus)
        specs.append(s)
    return specs


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
    if unknown:
        return False, "; ".join(f"{r.engine}: unknown ({r.reason}) after {r.states:,} states, depth {r.depth}"
                                for r in unknown), ""
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


def run_spec(spec: Spec, opts: RunOptions) -> SpecOutcome:
    """Every requested engine on one spec, compared with the spec's expectation."""
    system = model.build(spec)
    shared: dict = {}
    results = []
    for name in opts.engines:
        results.append(_REGISTRY[name](system, opts, shared))
        if results[-1].reason == "interrupted":  # Ctrl-C: the user wants the figures so far, not more engines
            break
    ok, why, disagreement = compare(spec, results)
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


# exit statuses (documented in the README and docs/cli.md)
EXIT_OK = 0  # every verdict matches its spec's expectation
EXIT_MISMATCH = 1  # some verdict does not match
EXIT_USAGE = 2  # bad input: spec file, option, path
EXIT_DISAGREE = 3  # two engines disagree on one spec
EXIT_UNKNOWN = 4  # some engine could not decide (limit, timeout, interrupt, solver unknown)


def exit_status(outcomes: Sequence[SpecOutcome]) -> int:
    if any(o.disagreement for o in outcomes):
        return EXIT_DISAGREE
    if any(not o.matches and not any(r.verdict == Verdict.UNKNOWN for r in o.results) for o in outcomes):
        return EXIT_MISMATCH
    if any(r.verdict == Verdict.UNKNOWN for o in outcomes for r in o.results):
        return EXIT_UNKNOWN
    return EXIT_OK
