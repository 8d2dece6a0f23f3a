"""The command line: parse, load every spec, run, print. The only module that prints.

Exit statuses: 0 every verdict matches its spec's expectation; 1 some verdict
does not; 2 bad input (spec file, option, path); 3 two engines disagree;
4 some engine could not decide (a limit, a time-out, an interrupt, a solver's
unknown) and nothing else went wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from rich.console import Console

from . import __version__, report, runner
from .checker import Limits
from .results import Verdict
from .spec import SpecError

DEFAULT_SPEC_DIR = "specs"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(runner.EXIT_USAGE, f"slabproof: error: {message} (see --help)\n")


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t) * (1 << 20)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 512M, 2G)") from None


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be at least 1")
    return v


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{v} must be more than 0")
    return v


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="FILE",
                   help=f"spec files or directories (default: every *.toml in ./{DEFAULT_SPEC_DIR}/)")
    p.add_argument("--cpus", type=_positive, metavar="N", help="override the number of CPUs of every spec")
    p.add_argument("--engine", default="all", metavar="NAME",
                   help="explicit, or another registered engine, or 'all' (default) -- see 'slabproof engines'")
    p.add_argument("--json", action="store_true", help="print the full results as JSON (docs/json-schema.md)")
    p.add_argument("--no-symmetry", action="store_true", help="do not reduce interchangeable CPUs")
    p.add_argument("--max-states", type=_positive, metavar="N", help="stop with UNKNOWN after N states")
    p.add_argument("--timeout", type=_seconds, metavar="S", help="stop with UNKNOWN after S seconds per engine")
    p.add_argument("--max-memory", type=_size, metavar="SIZE", help="stop with UNKNOWN above SIZE resident (e.g. 2G)")
    p.add_argument("--first", action="store_true", help="stop each exploration at its first violation")
    p.add_argument("--traces", choices=("auto", "none", "all"), default="auto",
                   help="counterexamples to print: auto (named files: the shortest; whole directory: "
                        "mismatches only), none, all (every violated property and every witness)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="slabproof", description="Model checker for the SLAB allocator's IPI argument "
                                                "(\"slab: avoid IPIs when creating kmem caches\", 2017).")
    p.add_argument("--version", action="version", version=f"slabproof {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    c = sub.add_parser("check", help="check spec files and compare with their expected verdicts")
    add_run_options(c)
    sub.add_parser("engines", help="list the engines")
    return p


def _console() -> Console:
    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, width=200, no_color=True, soft_wrap=False)


def cmd_check(args: argparse.Namespace, out: Console) -> int:
    named = bool(args.files)
    paths = args.files or [DEFAULT_SPEC_DIR]
    if not named and not Path(DEFAULT_SPEC_DIR).is_dir():
        raise SpecError(DEFAULT_SPEC_DIR, "", "no specs/ directory here; run from a slabproof checkout "
                                              "or name spec files")
    engines = runner.available_engines() if args.engine == "all" else tuple(args.engine.split(","))
    for e in engines:
        if e not in runner.available_engines():
            raise SpecError("--engine", "", f"unknown engine {e!r}; valid: all, "
                                            f"{', '.join(runner.available_engines())}")
    specs = runner.load_all(runner.spec_files(paths), args.cpus)
    opts = runner.RunOptions(
        engines=engines,
        symmetry=not args.no_symmetry,
        limits=Limits(args.max_states, args.timeout, args.max_memory),
        stop_at_first=args.first,
    )
    outcomes = [runner.run_spec(s, opts) for s in specs]
    status = runner.exit_status(outcomes)
    if args.json:
        print(report.to_json(outcomes, status))
        return status
    out.print(report.summary_table(outcomes))
    out.print(report.footer(outcomes))
    for o, s in zip(outcomes, specs):
        show = args.traces == "all" or (args.traces == "auto" and (named or not o.matches))
        if not show:
            continue
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
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = _console()
    if args.command is None:
        parser.print_help()
        return runner.EXIT_USAGE
    try:
        if args.command == "engines":
            for e in runner.available_engines():
                print(e)
            return 0
        return cmd_check(args, out)
    except SpecError as e:
        print(f"slabproof: {e}", file=sys.stderr)
        return runner.EXIT_USAGE
    except KeyboardInterrupt:
        print("slabproof: interrupted", file=sys.stderr)
        return runner.EXIT_UNKNOWN
