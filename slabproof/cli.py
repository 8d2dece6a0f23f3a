"""The command line: parse, load every spec, run, print. The only module that prints.

Exit statuses (`runner.exit_status`): 0 every spec matches -- each property
its expectation mentions was decided as expected by some selected engine; 1
a decided property contradicts its spec; 2 bad input (spec file, option,
path); 3 two engines disagree; 4 some spec is undecided (a property it
mentions decided by no engine, an interrupt) and nothing else went wrong --
with ``--strict``, also when any engine's own verdict is UNKNOWN.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Sequence

from rich.console import Console

from slabproof import __version__, checker
from slabproof.checker import Limits
from slabproof.lang.spec import Spec, SpecError, shown
from slabproof.report import junit, outputs, text as report
from slabproof.results import Decision, EngineResult, Method, ProofOutcome, SpecOutcome, Trace
from slabproof.run import mutants, runner, signals

if TYPE_CHECKING:
    from slabproof.report.progress import ExplorationProgress

DEFAULT_SPEC_DIR = "specs"
OUT_DIR = "out"  # where a command writes the files nobody named (in .gitignore)
DEFAULT_PNG = f"{OUT_DIR}/ipis.png"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, a value echoed by argparse shortened
        self.exit(runner.EXIT_USAGE, f"slabproof: error: {shown(message, 600)} (see --help)\n")


MAX_COUNT = 10**9  # the largest whole-number option (--max-states, --cpus before its own check, ...)
MAX_SECONDS = 1e6  # the largest --timeout (about 11.6 days; Z3 takes milliseconds as a 32-bit number)
MAX_SIZE = 1 << 50  # the largest --max-memory (1 PiB)
MAX_MEMCGS = 10**6  # ipis --memcgs and --sweep-memcgs (the commit's experiment used 10,000)
MAX_CHILD_CACHES = 1000  # ipis --caches


def _number(text: str, what: str, given: str | None = None) -> float:
    """`text` as a finite number; an `ArgumentTypeError` (one line, `given` or `text` shortened) otherwise."""
    given = text if given is None else given
    try:
        v = float(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{shown(repr(given))} is not {what}") from None
    if math.isnan(v) or math.isinf(v):
        raise argparse.ArgumentTypeError(f"{shown(repr(given))} is not {what}: it must be a finite number")
    return v


def _size(text: str) -> int:
    """A memory size: a number of MiB, or a number with a unit k, m, g, t (KiB ... TiB), finite, positive."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    unit = 1 << 20
    if t and t[-1] in units:
        t, unit = t[:-1], units[t[-1]]
    what = "a size (e.g. 512M, 2G)"
    if not t or t.strip() != t:
        raise argparse.ArgumentTypeError(f"{shown(repr(text))} is not {what}")
    v = _number(t, what, text) * unit
    if not 1 <= v <= MAX_SIZE:
        raise argparse.ArgumentTypeError(f"{shown(repr(text))}: a size must be between 1 byte and "
                                         f"{MAX_SIZE >> 50} PiB")
    return int(v)


def _bounded(upper: int) -> Callable[[str], int]:
    """An argument type: a whole number from 1 to `upper`."""
    def whole(text: str) -> int:
        try:
            v = int(text)
        except ValueError:  # (also a number of more than 4,300 digits)
            raise argparse.ArgumentTypeError(f"{shown(repr(text))} is not a whole number") from None
        if v < 1:
            raise argparse.ArgumentTypeError(f"{v} must be at least 1")
        if v > upper:
            raise argparse.ArgumentTypeError(f"{shown(str(v))} is too large; valid: 1 to {upper:,}")
        return v
    whole.__name__ = "whole number"
    return whole


_positive = _bounded(MAX_COUNT)


class _Default:
    """An option not given: the limit keeps `checker.Limits`' default (argparse converts only string defaults)."""

    def __repr__(self) -> str:
        return "the default"


DEFAULT = _Default()


def _max_states(text: str) -> int | None:
    """--max-states: a whole number, or ``none`` for no state limit."""
    return None if text.strip().lower() == "none" else _positive(text)


def _max_memory(text: str) -> int | None:
    """--max-memory: a size, or ``none`` for no memory limit."""
    return None if text.strip().lower() == "none" else _size(text)


def _limits(args: argparse.Namespace) -> Limits:
    """The limits the options ask for; an option not given keeps its default (see `checker.Limits`)."""
    given = {k: getattr(args, k, DEFAULT) for k in ("max_states", "timeout", "max_memory")}
    chosen: dict[str, Any] = {k: v for k, v in given.items() if v is not DEFAULT}
    return Limits(**chosen)


def _cpu_number(text: str) -> int:
    """A CPU number (0, 1, ...; whether it exists is checked by the command)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(repr(text))} is not a CPU number (0, 1, ...)") from None
    if not 0 <= v <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"CPU {shown(str(v))} does not exist; CPUs are numbered from 0")
    return v


def _seconds(text: str) -> float:
    """A number of seconds: finite, more than 0, at most `MAX_SECONDS`."""
    v = _number(text, "a number of seconds")
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{v:g} must be more than 0")
    if v > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{v:g} seconds is too long; valid: more than 0, at most {MAX_SECONDS:g}")
    return v


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="FILE",
                   help=f"spec files or directories (default: every *.toml in ./{DEFAULT_SPEC_DIR}/)")
    p.add_argument("--cpus", type=_positive, metavar="N", help="override the number of CPUs of every spec")
    p.add_argument("--memory", choices=("sc", "tso", "relaxed"), metavar="MODEL",
                   help="override every spec's memory model: sc, tso or relaxed (docs/memory.md)")
    p.add_argument("--engine", default="all", metavar="NAME[,NAME...]",
                   help="the engines to run, a comma-separated list (e.g. --engine explicit,bmc), or 'all' "
                        "(default) -- see 'slabproof engines'; --engine explicit is the quick one")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="the table with one column per engine, each engine's own verdict and reason")
    p.add_argument("--json", action="store_true", help="print the full results as JSON (docs/json-schema.md)")
    p.add_argument("--no-symmetry", action="store_true", help="do not reduce interchangeable CPUs")
    p.add_argument("--max-states", type=_max_states, default=DEFAULT, metavar="N",
                   help=f"stop with UNKNOWN after N states (default {checker.DEFAULT_MAX_STATES:,}; 'none': no limit)")
    p.add_argument("--timeout", type=_seconds, metavar="S", help="stop with UNKNOWN after S seconds per engine")
    p.add_argument("--max-memory", type=_max_memory, default=DEFAULT, metavar="SIZE",
                   help="stop with UNKNOWN above SIZE resident (e.g. 2G; default: half the physical memory; "
                        "'none': no limit)")
    p.add_argument("--first", action="store_true", help="stop each exploration at its first violation")
    p.add_argument("--traces", choices=("auto", "none", "all"), default="auto",
                   help="counterexamples to print: auto (named files: the shortest; whole directory: "
                        "mismatches only), none, all (every violated property and every witness)")
    p.add_argument("--mutants", action="store_true",
                   help=f"treat the specs as mutants (default: every *.toml in ./{mutants.DEFAULT_MUTANT_DIR}/) "
                        "and print the kill matrix, mutant x engine")
    p.add_argument("--junit", metavar="FILE", help="also write the results as JUnit XML to FILE (for CI)")
    p.add_argument("--strict", action="store_true",
                   help="exit 4 when any engine is undecided (UNKNOWN), even where another engine decided the "
                        "spec (default: a spec matches when every property its expectation mentions was decided)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="slabproof", description="Model checker for the SLAB allocator's IPI argument "
                                                "(\"slab: avoid IPIs when creating kmem caches\", 2017).")
    p.add_argument("--version", action="version", version=f"slabproof {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    c = sub.add_parser("check", help="check spec files and compare with their expected verdicts")
    add_run_options(c)
    add_picture_options(c)
    add_teaching_commands(sub)
    pr = sub.add_parser("prove", help="prove the safety properties with Z3 (an inductive invariant for any "
                                      "number of CPUs, else for the spec's) and check the patch's lemmas")
    pr.add_argument("files", nargs="*", metavar="FILE",
                    help=f"spec files or directories (default: the specs in ./{DEFAULT_SPEC_DIR}/ expected safe)")
    pr.add_argument("--cpus", type=_positive, metavar="N", help="override the number of CPUs of every spec")
    pr.add_argument("--timeout", type=_seconds, metavar="S",
                    help="seconds per Z3 engine and spec (default: a deterministic budget, "
                         "runner.Z3_DEFAULT_UNITS); past it: UNKNOWN")
    pr.add_argument("--invariant", choices=("auto", "all", "none"), default="auto",
                    help="print the invariant: auto (for named files), all, none")
    pr.add_argument("--readable", action="store_true",
                    help="look first for a small invariant over roles (the CPU holding prev, the writer's "
                         "operation) that a person can check; slower (about a minute per spec)")
    pr.add_argument("--json", action="store_true", help="print the proofs as JSON")
    sub.add_parser("engines", help="list the engines")
    lt = sub.add_parser("litmus", help="write the ordering questions of the weak-memory mode as kernel C litmus "
                                       "tests, each with slabproof's verdict (docs/memory.md)")
    lt.add_argument("outdir", metavar="OUTDIR", help="directory to write the .litmus files into (created)")
    lt.add_argument("--herd", metavar="PATH", help="also run herd7 (-conf linux-kernel.cfg) on each test and "
                                                   "compare; exit 1 on a disagreement")
    add_export_command(sub)
    return p


def add_export_command(sub: argparse._SubParsersAction[Any]) -> None:
    x = sub.add_parser("export", help="write a spec's model in another checker's language (Promela, for SPIN)")
    x.add_argument("file", metavar="FILE", help="one spec file")
    x.add_argument("--promela", action="store_true", required=True,
                   help="write Promela (docs/promela.md); the only format so far")
    x.add_argument("-o", "--output", metavar="OUT", help="the file to write (default: standard output)")
    x.add_argument("--cpus", type=_positive, metavar="N", help="override the spec's number of CPUs")


def cmd_export(args: argparse.Namespace, out: Console) -> int:
    from slabproof import model
    from slabproof.report import promela

    if args.output is not None:
        _check_writable(args.output, "-o")
    s = runner.load_all([args.file], args.cpus)[0]
    m = promela.export(model.build(s))
    if args.output is None:
        sys.stdout.write(m.text)
        return runner.EXIT_OK
    try:
        promela.write_atomic(args.output, m.text)
    except (OSError, ValueError) as e:
        raise SpecError(args.output, "", f"cannot write: {getattr(e, 'strerror', None) or e}") from None
    print(f"wrote {args.output}: {s.name}, {m.cpus} CPUs, {m.transitions} transitions, "
          f"{len(m.assertions)} safety assertions; not exported: {', '.join(m.not_exported)}")
    return runner.EXIT_OK


def cmd_prove(args: argparse.Namespace, out: Console) -> int:
    named = bool(args.files)
    if not named and not Path(DEFAULT_SPEC_DIR).is_dir():
        raise SpecError(DEFAULT_SPEC_DIR, "", "no specs/ directory here; run from a slabproof checkout "
                                              "or name spec files")
    specs = runner.load_all(runner.spec_files(args.files or [DEFAULT_SPEC_DIR]), args.cpus,
                            getattr(args, "memory", None))
    if not named:
        specs = [s for s in specs if s.expect.verdict == "safe"]
    opts = runner.RunOptions(limits=_limits(args), readable=args.readable)
    outcomes: list[ProofOutcome] = []
    stopped = ""  # the last line when a signal ended the run
    try:
        for s in specs:
            outcomes.append(runner.prove_spec(s, opts))
    except KeyboardInterrupt as e:  # Ctrl-C, SIGTERM, SIGHUP: the spec being proved is UNKNOWN, with its figures
        signals.finishing()
        finished = len(outcomes)
        stopped = f"slabproof: {_signal_name(e)}: {finished} of {len(specs)} specs finished"
        if finished < len(specs):
            s = specs[finished]
            partial = getattr(e, "partial", None)
            where = "interrupted"
            if partial is not None:
                where += f" during {partial.engine} after " + (f"{partial.states:,} states, depth {partial.depth}"
                                                               if partial.states else f"{partial.seconds:.1f} s")
            done = tuple(getattr(e, "finished", ())) + ((partial,) if partial is not None else ())
            outcomes.append(ProofOutcome(spec=s.path, name=s.name, cpus=s.cpus, expected=s.expect.verdict,
                                         status="UNKNOWN", scope="", why=where, results=done, matches=False))
            stopped += f"; {s.name} is UNKNOWN ({where})"
    status = runner.prove_exit_status(outcomes)
    if stopped:
        status = runner.EXIT_UNKNOWN if status == runner.EXIT_OK else status
        print(stopped, file=sys.stderr)
    if args.json:
        print(report.proofs_json(outcomes, status))
        return status
    show = args.invariant == "all" or (args.invariant == "auto" and named)
    for o in outcomes:
        out.print(report.proof_text(o, invariant=show))
    good = sum(o.matches for o in outcomes)
    out.print(f"{good} of {len(outcomes)} specs as expected (PROVED when safe, FAILED when violated)"
              + ("" if show or not outcomes else "; name a spec file to see its invariant"))
    for o in outcomes:
        if o.disagreement:
            out.print(f"slabproof: ENGINES DISAGREE on {o.name}: {o.disagreement}", style="bold red")
    return status


def _check_writable(path: str, option: str = "--junit", inputs: Sequence[str] = ()) -> None:
    """Refuse, before anything runs, an output file that cannot be written or is an input spec."""
    outputs.check_output(option, path, inputs)


def _write(path: str, text: str, option: str = "--junit") -> None:
    outputs.write_atomic(option, path, text)


def _signal_name(e: BaseException) -> str:
    """'interrupted' (Ctrl-C) or 'interrupted by SIGTERM' (what ended the run, for its last line)."""
    name = getattr(e, "signame", None) or signals.received() or "SIGINT"
    return "interrupted" if name == "SIGINT" else f"interrupted by {name}"


PIPE_WIDTH = 100  # the width of the output when standard output is not a terminal (COLUMNS overrides it)


def _console() -> Console:
    if sys.stdout.isatty():
        return Console(highlight=False)
    try:
        width = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        width = PIPE_WIDTH
    width = width if 40 <= width <= 1000 else PIPE_WIDTH
    # soft_wrap: a line of prose is never broken (grep finds it whatever the width); tables still fit `width`
    return Console(highlight=False, width=width, no_color=True, soft_wrap=True)


def cmd_check(args: argparse.Namespace, out: Console) -> int:
    named = bool(args.files)
    default_dir = mutants.DEFAULT_MUTANT_DIR if args.mutants else DEFAULT_SPEC_DIR
    paths = args.files or [default_dir]
    if not named and not Path(default_dir).is_dir():
        raise SpecError(default_dir, "", f"no {default_dir}/ directory here; run from a slabproof checkout "
                                         "or name spec files")
    if args.junit is not None:
        _check_writable(args.junit)
    engines = runner.available_engines() if args.engine == "all" else tuple(args.engine.split(","))
    for e in engines:
        if e not in runner.available_engines():
            raise SpecError("--engine", "", f"unknown engine {e!r}; valid: all, "
                                            f"{', '.join(runner.available_engines())}")
    files = runner.spec_files(paths)
    for option, out_path in (("--junit", args.junit), ("--html", args.html)):
        if out_path is not None:
            _check_writable(out_path, option, files)
    try:
        specs = runner.load_all(files, args.cpus, args.memory)
    except KeyboardInterrupt:
        signals.finishing()
        if args.junit is not None:  # this run's results (none yet), never an earlier run's
            _write(args.junit, junit.to_junit([]))
        raise
    opts = runner.RunOptions(
        engines=engines,
        symmetry=not args.no_symmetry,
        limits=_limits(args),
        stop_at_first=args.first,
    )
    if args.html or args.mermaid or getattr(args, "compare", None):
        check_picture_args(args, specs)
    bar = progress_bar()
    opts.progress = bar
    outcomes: list[SpecOutcome] = []
    interrupted = False
    # the default table streams: its header now, each spec's row when that spec finishes
    stream = None if (args.json or args.mermaid or args.mutants or args.verbose) else \
        report.CheckTable.fit([s.name for s in specs], out.width, engines)
    if stream is not None:
        out.print(stream.header())
    try:
        for s in specs:
            signals.check()
            if bar is not None:
                bar.relabel(s.name)
            outcomes.append(runner.run_spec(s, opts))
            if stream is not None:
                if bar is not None:
                    bar.close()
                out.print(stream.row(outcomes[-1]))
            if any(r.reason == "interrupted" for r in outcomes[-1].results) or signals.received():
                interrupted = True
                break
    except KeyboardInterrupt:  # outside the engines (building a model, comparing): that spec is undecided
        interrupted = True
        if len(outcomes) < len(specs):
            outcomes.append(runner.interrupted_outcome(specs[len(outcomes)], engines[0]))
            if stream is not None:
                out.print(stream.row(outcomes[-1]))
    signals.finishing()  # from here on a signal is noted, not raised: the partial results are written out whole
    if bar is not None:
        bar.close()
    matrix = mutants.classify(specs, outcomes) if args.mutants else None
    status = (mutants.exit_status(matrix, args.strict) if matrix is not None
              else runner.exit_status(outcomes, args.strict))
    if interrupted:
        if status == runner.EXIT_OK:
            status = runner.EXIT_UNKNOWN
        done = sum(1 for o in outcomes if not any(r.reason == "interrupted" for r in o.results))
        print(f"slabproof: {_signal_name(KeyboardInterrupt())}: {done} of {len(specs)} specs finished; the figures "
              f"printed for the interrupted one are partial (UNKNOWN)", file=sys.stderr)
    if args.junit is not None:
        _write(args.junit, junit.to_junit(outcomes, strict=args.strict))
    wrote = ""
    if (args.html or args.mermaid) and outcomes:
        try:
            wrote, diagram = draw_trace(args, outcomes[0], specs[0])
        except SpecError:
            if not interrupted:
                raise
            wrote, diagram = "no page or diagram: the run was interrupted before a trace was found", ""
        if args.mermaid:
            if wrote:
                print(wrote, file=sys.stderr)
            print(diagram, end="")
            return status
    if args.json:
        extra: dict[str, Any] = {"interrupted": True} if interrupted else {}
        if args.strict:
            extra["strict"] = True
        if matrix is not None:
            extra["kill_matrix"] = dataclasses.asdict(matrix)
        print(report.to_json(outcomes, status, extra))
        if wrote:
            print(wrote, file=sys.stderr)
        return status
    if matrix is not None:
        out.print(mutants.table(matrix))
        out.print(mutants.summary(matrix))
    else:
        if stream is None:  # --verbose: the per-engine table, once every spec is done
            out.print(report.summary_table(outcomes))
        shown = args.verbose or named
        reasons = report.reasons_text(outcomes) if shown else None
        if reasons is not None:
            out.print(reasons)
        out.print(report.footer(outcomes, args.strict, reasons_shown=shown))
    for o, s in zip(outcomes, specs):
        show = args.traces == "all" or (args.traces == "auto" and (named or not o.matches))
        if not show:
            continue
        if len(o.results) > 1:
            out.print()
            out.print(report.verdict_table(o))
        for r in o.results:
            if r.engine != "explicit" and args.traces != "all":
                continue
            out.print()
            out.print(f"[bold]{o.name}[/bold] ({o.spec}), {r.engine}")
            out.print(report.stats_text(r))
            out.print(report.properties_table(r))
            traces = [p.trace for p in r.properties if p.trace is not None]
            if args.traces != "all":
                cex = [t for t in traces if t.kind == "counterexample"]
                traces = sorted(cex, key=lambda t: t.length)[:1]
            for t in traces:
                out.print(report.trace_table(t, report.lanes_for(r, len(s.writers))))
        found = replayed_counterexample(o)
        if found is not None and args.traces != "all":
            r, t = found
            out.print()
            out.print(f"[bold]{o.name}[/bold] ({o.spec}): counterexample found by {r.engine}, replayed in the "
                      f"explicit model")
            out.print(report.trace_table(t, report.lanes_for(r, len(s.writers)), found_by=r.engine))
    if wrote:
        out.print(wrote)
    return status


# ---------------------------------------------------------------------------
# teaching: pictures of a trace, progress bars, explain, graph, ipis


def add_picture_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--html", metavar="OUT", help="write one self-contained HTML page of the spec's shortest "
                                                 "counterexample (a safe spec: its witness); one spec file only")
    p.add_argument("--mermaid", action="store_true", help="print that trace as a Mermaid sequenceDiagram "
                                                          "instead of the tables; one spec file only")
    p.add_argument("--property", metavar="NAME", help="draw this property's trace instead (--html, --mermaid)")
    p.add_argument("--compare", metavar="SPEC", help="with --html: also draw SPEC's trace (e.g. the patched run of "
                                                     "the same scenario) beside the first")


def check_picture_args(args: argparse.Namespace, specs: Sequence[object]) -> None:
    what = "--html" if args.html else "--mermaid" if args.mermaid else "--compare"
    if len(specs) != 1:
        raise SpecError(what, "", f"draws the trace of exactly one spec file; got {len(specs)}")
    if getattr(args, "compare", None) and not args.html:
        raise SpecError("--compare", "", "draws a second trace on the --html page; give --html OUT too")
    if args.mermaid and args.json:
        raise SpecError("--mermaid", "", "prints a diagram, --json prints JSON; choose one")


def replayed_counterexample(o: SpecOutcome) -> tuple[EngineResult, Trace] | None:
    """The shortest counterexample the combined verdict credits to an engine other than the one whose
    tables are printed (the explorer), when the explorer shows none -- it stopped at a limit, or was not
    selected (``--engine bmc,param``): that engine's result and trace (the runner replayed it)."""
    if o.combined is None:
        return None
    ex = next((r for r in o.results if r.engine == "explicit"), None)
    if ex is not None and any(p.trace is not None and p.kind == "always" and p.holds is False for p in ex.properties):
        return None
    by = {r.engine: r for r in o.results}
    best: tuple[EngineResult, Trace] | None = None
    for p in o.combined.properties:
        if p.decision != Decision.VIOLATED:
            continue
        for e in p.by:
            r = by.get(e.engine)
            if e.method != Method.TRACE or not e.replayed or r is None or r is ex:
                continue
            t = r.prop(p.name).trace
            if t is not None and (best is None or t.length < best[1].length):
                best = (r, t)
    return best


def pick_trace(outcome: SpecOutcome, prop: str | None) -> tuple[EngineResult, Trace] | None:
    """The trace to draw: `prop`'s, or the shortest counterexample, or else a witness (explicit engine first)."""
    results = sorted(outcome.results, key=lambda r: r.engine != "explicit")
    for r in results:
        traces = [p.trace for p in r.properties if p.trace is not None and (prop is None or p.name == prop)]
        cex = sorted((t for t in traces if t.kind == "counterexample"), key=lambda t: t.length)
        wit = sorted((t for t in traces if t.kind != "counterexample"), key=lambda t: t.length)
        if cex or wit:
            return r, (cex or wit)[0]
    return None


def draw_trace(args: argparse.Namespace, o: SpecOutcome, s: Spec) -> tuple[str, str]:
    """Write the --html page; return the line saying so ("" if none) and the Mermaid source ("" if not asked)."""
    from slabproof.report import html, mermaid

    names = [p.name for r in o.results for p in r.properties]
    if args.property and args.property not in names:
        raise SpecError("--property", "", f"unknown property {args.property!r}; valid: "
                                          f"{', '.join(dict.fromkeys(names))}")
    picked = pick_trace(o, args.property)
    if picked is None:
        verdicts = ", ".join(f"{r.engine} says {r.verdict.value}" for r in o.results)
        what = f"property {args.property!r} has" if args.property else "it has"
        raise SpecError(o.spec, "", f"nothing to draw: {what} no counterexample and no witness ({verdicts})")
    r, trace = picked
    lanes = report.lanes_for(r, len(s.writers))
    doc = next((p.doc for p in r.properties if p.name == trace.property), "")
    wrote = ""
    if args.html:
        trace = _continued(s, trace)
        compare = _compare_trace(args.compare) if getattr(args, "compare", None) else None
        page = html.render(trace, spec_name=o.name, description=s.description, property_doc=doc, lanes=lanes,
                           verdict=r.verdict.value, generator=f"slabproof {__version__} ({r.engine} engine)",
                           compare=compare)
        outputs.write_atomic("--html", args.html, page)
        wrote = f"wrote {args.html}: {trace.kind} for {trace.property}, {len(trace.steps)} steps ({o.name})"
    return wrote, mermaid.render(trace, lanes, o.name) if args.mermaid else ""


def _continued(s: Spec, trace: Trace) -> Trace:
    """A witness of a reader holding prev at the publish, carried on through the IPI wait (run.witness)."""
    if trace.kind == "counterexample" or trace.property != "reader_holds_prev_at_publish":
        return trace
    from slabproof import model
    from slabproof.run import witness

    return witness.through_the_wait(model.build(s), trace)


def _compare_trace(path: str) -> tuple[Trace, str, str, list[str]]:
    """The trace `--compare SPEC` draws: SPEC's shortest counterexample, else its witness (explicit engine)."""
    spec = runner.load_all(runner.spec_files([path]))
    if len(spec) != 1:
        raise SpecError("--compare", "", f"takes exactly one spec file; got {len(spec)}")
    o = runner.run_spec(spec[0], runner.RunOptions(engines=("explicit",)))
    picked = pick_trace(o, None)
    if picked is None:
        raise SpecError(path, "", "nothing to draw beside: no counterexample and no witness")
    r, t = picked
    return _continued(spec[0], t), o.name, spec[0].description, report.lanes_for(r, len(spec[0].writers))


def progress_bar(label: str = "") -> "ExplorationProgress | None":
    """A progress bar on standard error, or None when standard output or standard error is not a terminal."""
    if not (sys.stdout.isatty() and sys.stderr.isatty()):
        return None
    from slabproof.report.progress import ExplorationProgress

    return ExplorationProgress(Console(stderr=True), label)


def add_teaching_commands(sub: argparse._SubParsersAction[Any]) -> None:
    e = sub.add_parser("explain", help="walk through the patch's argument, each claim checked live on the model")
    e.add_argument("--cpus", type=_positive, default=3, metavar="N", help="CPUs of every configuration (default 3)")
    e.add_argument("--engine", default=None, metavar="NAME",
                   help="explicit, another registered engine, a comma-separated list, or 'all' (default: explicit; "
                        "with --evidence or --json: all)")
    e.add_argument("--evidence", action="store_true", help="print the per-engine tables of every check instead "
                                                           "of the prose")
    e.add_argument("--glossary", action="store_true", help="print the glossary of every term explain and the "
                                                           "HTML page use, and exit")
    e.add_argument("--json", action="store_true", help="print the claims, checks and findings as JSON")
    e.add_argument("--traces", choices=("auto", "none", "all"), default="auto",
                   help="traces to print: auto (the breaking interleaving), none, all (every witness and "
                        "counterexample)")
    e.add_argument("--timeout", type=_seconds, metavar="S", help="stop each engine run with UNKNOWN after S seconds")
    e.add_argument("--max-states", type=_max_states, default=DEFAULT, metavar="N",
                   help=f"stop each exploration with UNKNOWN after N states (default {checker.DEFAULT_MAX_STATES:,}; "
                        "'none': no limit)")
    g = sub.add_parser("graph", help="write the explored state graph as Graphviz DOT, the trace's path in red")
    g.add_argument("file", metavar="FILE", help="one spec file")
    g.add_argument("--dot", required=True, metavar="OUT", help="the DOT file to write")
    g.add_argument("--cpus", type=_positive, metavar="N", help="override the spec's number of CPUs")
    g.add_argument("--max-nodes", type=_positive, default=None, metavar="N",
                   help="refuse above N states (default %d)" % 2000)
    g.add_argument("--property", metavar="NAME", help="highlight this property's trace (default: the shortest "
                                                      "counterexample, else a witness)")
    g.add_argument("--no-symmetry", action="store_true", help="do not merge states that differ by a CPU permutation")
    i = sub.add_parser("ipis", help="replay the commit's experiment in the model: IPIs sent by lazy memcg cache "
                                    "creation, before and after the patch")
    i.add_argument("--cpus", type=_positive, default=4, metavar="N", help="CPUs (default 4)")
    i.add_argument("--memcgs", type=_bounded(MAX_MEMCGS), default=10_000, metavar="K", help="memcgs (default 10,000, as in the "
                                                                                  "commit)")
    i.add_argument("--caches", type=_bounded(MAX_CHILD_CACHES), default=1, metavar="C",
                   help="child caches each memcg creates lazily (default 1: one allocation each)")
    i.add_argument("--writer-cpu", type=_cpu_number, default=None, metavar="W",
                   help="the CPU the creating worker runs on (default 1; CPU 0 is the one counted)")
    i.add_argument("--png", default=None, metavar="FILE",
                   help=f"the plot to write (default {DEFAULT_PNG}; needs matplotlib: pip install 'slabproof[plot]')")
    i.add_argument("--no-png", action="store_true", help="write no plot")
    i.add_argument("--sweep-memcgs", type=_bounded(MAX_MEMCGS), metavar="K",
                   help="memcgs for the plot's sweep over CPUs (default: --memcgs)")
    i.add_argument("--json", action="store_true", help="print the runs as JSON")


def _engines(name: str) -> tuple[str, ...]:
    engines = runner.available_engines() if name == "all" else tuple(name.split(","))
    for e in engines:
        if e not in runner.available_engines():
            raise SpecError("--engine", "", f"unknown engine {e!r}; valid: all, {', '.join(runner.available_engines())}")
    return engines


def _cpus_in_range(n: int) -> None:
    from slabproof.lang.spec import MAX_CPUS

    if n > MAX_CPUS:
        raise SpecError("--cpus", "", f"{n} CPUs is impossible here; valid: 1 to {MAX_CPUS}")


def cmd_explain(args: argparse.Namespace, out: Console) -> int:
    from slabproof.report import teach as teach_report
    from slabproof.run import explain

    if args.glossary:
        from slabproof.report import glossary

        print(glossary.text(), end="")
        return runner.EXIT_OK
    _cpus_in_range(args.cpus)
    prose = not (args.evidence or args.json)
    engines = _engines(args.engine or ("explicit" if prose else "all"))
    opts = runner.RunOptions(engines=engines, limits=_limits(args))
    bar = progress_bar()
    opts.progress = bar
    on_claim = None
    if prose:
        from slabproof.run import ipis

        out.print(teach_report.prose_header(args.cpus, engines, runner.available_engines()))
        out.print()
        out.print(teach_report.history_text(ipis.experiment(4, ipis.COMMIT_MEMCGS, 1, sweep=False)))

        def on_claim(claim: explain.Claim) -> None:  # each claim printed as soon as it is decided
            if bar is not None:
                bar.close()
            out.print()
            out.print(teach_report.claim_prose(claim, engines))
    try:
        x = explain.explain(args.cpus, opts, on_config=(lambda key, title: bar.relabel(key)) if bar else None,
                            on_claim=on_claim)
    except KeyboardInterrupt as e:  # Ctrl-C, SIGTERM, SIGHUP: no claim is decided; the figures so far
        signals.finishing()
        if bar is not None:
            bar.close()
        partial = getattr(e, "partial", None)
        where = getattr(e, "where", "")
        figures = (f"{partial.engine} on {where or 'a configuration'}: unknown (interrupted) after "
                   f"{partial.states:,} states, depth {partial.depth}" if partial is not None else "")
        if args.json:
            import json as _json

            print(_json.dumps({"exit_status": runner.EXIT_UNKNOWN, "interrupted": True,
                               "interrupted_engine": partial.to_json() if partial is not None else None,
                               "configuration": where}, indent=2))
        print(f"slabproof: {_signal_name(e)}: no claim decided (UNKNOWN)" + (f"; {figures}" if figures else ""),
              file=sys.stderr)
        return runner.EXIT_UNKNOWN
    if bar is not None:
        bar.close()
    status = explain.exit_status(x)
    if args.json:
        print(teach_report.explain_json(x, status))
        return status
    if prose:
        out.print()
        out.print(teach_report.prose_footer(x))
        return status
    lanes = ["writer0"] + [f"cpu{c}" for c in range(x.cpus)]
    out.print(teach_report.explain_header(x, runner.available_engines()))
    out.print(teach_report.configs_table(x))
    for n in range(len(x.claims)):
        out.print()
        out.print(teach_report.claim_renderable(x, n, args.traces, lanes))
    out.print()
    out.print(teach_report.explain_footer(x))
    return status


def cmd_graph(args: argparse.Namespace, out: Console) -> int:
    from slabproof.report import graph

    limit = args.max_nodes or graph.DEFAULT_MAX_NODES
    _check_writable(args.dot, "--dot", [args.file])
    s = runner.load_all([args.file], args.cpus)[0]
    opts = runner.RunOptions(engines=("explicit",), symmetry=not args.no_symmetry, keep_graph=True,
                             limits=Limits(max_states=limit))
    bar = progress_bar(s.name)
    opts.progress = bar
    o = runner.run_spec(s, opts)
    if bar is not None:
        bar.close()
    r = o.results[0]
    if r.reason == "interrupted":
        print(f"slabproof: {_signal_name(KeyboardInterrupt())}: no graph written; the exploration stopped after "
              f"{r.states:,} states, depth {r.depth} (UNKNOWN)", file=sys.stderr)
        return runner.EXIT_UNKNOWN
    if not r.complete:
        if r.reason.startswith("state limit"):
            raise SpecError(args.file, "", f"the state graph at {s.cpus} CPUs has more than {limit:,} states, too many "
                                           f"to draw; raise --max-nodes or lower --cpus")
        raise SpecError(args.file, "", f"the exploration did not finish ({r.reason}); no graph written")
    data = r.extra["graph"]
    paths = data.get("paths", {})
    if args.property and args.property not in paths:
        known = [p.name for p in r.properties]
        if args.property not in known:
            raise SpecError("--property", "", f"unknown property {args.property!r}; valid: {', '.join(known)}")
        raise SpecError("--property", "", f"{args.property} has no counterexample or witness here to highlight")
    hl = args.property
    if hl is None:
        kinds = {p.name: p.kind for p in r.properties}
        cands = sorted(paths, key=lambda k: (kinds.get(k) != "always", len(paths[k])))
        hl = cands[0] if cands else None
    g = graph.to_networkx(data, hl)
    outputs.write_atomic("--dot", args.dot, graph.to_dot(g, f"{s.name} ({s.cpus} CPUs)"))
    path = f"; the path of {hl} ({len(g.graph['path']) - 1} steps) in red" if hl else "; no trace to highlight"
    print(f"wrote {args.dot}: {g.number_of_nodes():,} states, {g.number_of_edges():,} edges{path}")
    return runner.EXIT_OK


def cmd_ipis(args: argparse.Namespace, out: Console) -> int:
    import json as _json
    from dataclasses import asdict

    from slabproof.lang.spec import MAX_CPUS
    from slabproof.report import teach as teach_report
    from slabproof.run import ipis

    _cpus_in_range(args.cpus)
    w = args.writer_cpu if args.writer_cpu is not None else (1 if args.cpus > 1 else 0)
    if not 0 <= w < args.cpus:
        raise SpecError("--writer-cpu", "", f"CPU {w} does not exist; valid: 0 to {args.cpus - 1}")
    png = None if args.no_png else (args.png or DEFAULT_PNG)
    missing = teach_report.plot_unavailable() if png else None
    if missing and args.png:  # a plot asked for by name that cannot be drawn: bad input
        raise SpecError("--png", "", missing)
    if missing:  # the default plot: the table is the result, the plot is left out with a note
        print(f"slabproof: no {png} ({missing}; --no-png to skip it)", file=sys.stderr)
        png = None
    if png:
        if png == DEFAULT_PNG:
            os.makedirs(OUT_DIR, exist_ok=True)
        _check_writable(png, "--png")
    e = ipis.experiment(args.cpus, args.memcgs, args.caches, w, cpu_range=range(max(2, w + 1), MAX_CPUS + 1),
                        sweep_memcgs=args.sweep_memcgs, sweep=args.json or png is not None)
    if args.json:
        print(_json.dumps({"cpus": e.cpus, "memcgs": e.memcgs, "caches": e.caches, "writer_cpu": e.writer_cpu,
                           "commit": {"memcgs": ipis.COMMIT_MEMCGS, "cpu0": ipis.COMMIT_FIGURES},
                           "table": [asdict(r) for r in e.table], "by_cpus": [asdict(r) for r in e.by_cpus],
                           "by_memcgs": [asdict(r) for r in e.by_memcgs]}, indent=2))
    else:
        out.print(teach_report.ipis_table(e))
        out.print(teach_report.ipis_notes(e))
    if png:
        outputs.write_atomic("--png", png, writer=lambda tmp: teach_report.plot_png(e, tmp), suffix=".png")
        print(f"wrote {png}", file=sys.stderr if args.json else sys.stdout)
    return runner.EXIT_OK


def cmd_litmus(args: argparse.Namespace, out: Console) -> int:
    """``litmus OUTDIR [--herd PATH]``: each question's test with slabproof's verdict; herd7's beside it."""
    import shutil
    import subprocess

    from slabproof.run import litmus

    d = Path(args.outdir)
    if d.exists() and not d.is_dir():
        raise SpecError(args.outdir, "", "exists and is not a directory")
    herd7 = None
    if args.herd is not None:
        herd7 = args.herd if Path(args.herd).is_file() else shutil.which(args.herd)
        if herd7 is None:
            raise SpecError("--herd", "", f"no herd7 at {args.herd!r}")
    d.mkdir(parents=True, exist_ok=True)
    disagree = 0
    for q in litmus.questions():
        try:
            a = litmus.answer(q)
        except litmus.Undecided as e:
            print(f"{q.name}: undecided ({e})")
            return runner.EXIT_UNKNOWN
        path = d / f"{q.name}.litmus"
        outputs.write_atomic("litmus", str(path), litmus.text(a))
        line = f"{q.name:40} slabproof: {a.verdict:9}"
        if herd7 is not None:
            try:
                h = litmus.herd(herd7, str(path))
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                print(line + f" herd7: error ({e})")
                return runner.EXIT_UNKNOWN
            ok = h == a.verdict
            disagree += not ok
            line += f" herd7: {h:9} {'agree' if ok else 'DISAGREE'}"
        print(line + f"  {path}")
    if herd7 is not None:
        print(f"{len(litmus.questions()) - disagree} of {len(litmus.questions())} agree with herd7")
    return runner.EXIT_MISMATCH if disagree else runner.EXIT_OK


TEACHING_COMMANDS = {"explain": cmd_explain, "graph": cmd_graph, "ipis": cmd_ipis}


def main(argv: Sequence[str] | None = None) -> int:
    """The ``slabproof`` command. SIGINT, SIGTERM and SIGHUP end it with the partial figures, status 4."""
    signals.install()
    try:
        return _main(argv)
    except KeyboardInterrupt as e:  # before a command's own handling (parsing, start-up)
        print(f"slabproof: {_signal_name(e)}", file=sys.stderr)
        return runner.EXIT_UNKNOWN
    except Exception:
        if signals.received() is None:
            raise
        # (Z3 interrupted outside a check raises its own exception: still the signal, not a crash)
        print(f"slabproof: {_signal_name(KeyboardInterrupt())}", file=sys.stderr)
        return runner.EXIT_UNKNOWN
    finally:
        signals.uninstall()


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = _console()
    if args.command is None:
        parser.print_help()
        return runner.EXIT_USAGE
    for option in ("junit", "html", "dot", "output", "png"):  # out/, the named place for outputs, made on demand
        given = getattr(args, option, None)
        if isinstance(given, str) and Path(given).parent == Path(OUT_DIR) and not Path(OUT_DIR).exists():
            os.makedirs(OUT_DIR, exist_ok=True)
    try:
        if args.command == "engines":
            for e in runner.available_engines():
                print(e)
            return 0
        if args.command in TEACHING_COMMANDS:
            return TEACHING_COMMANDS[args.command](args, out)
        if args.command == "prove":
            return cmd_prove(args, out)
        if args.command == "export":
            return cmd_export(args, out)
        if args.command == "litmus":
            return cmd_litmus(args, out)
        return cmd_check(args, out)
    except SpecError as e:
        print(f"slabproof: {e}", file=sys.stderr)
        return runner.EXIT_USAGE
    except KeyboardInterrupt as e:
        signals.finishing()
        print(f"slabproof: {_signal_name(e)}", file=sys.stderr)
        return runner.EXIT_UNKNOWN
