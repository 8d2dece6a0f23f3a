"""Benchmark against SPIN: the explicit explorer and SPIN's pan on the same exported model.

For every shipped spec (specs/*.toml, at its own number of CPUs) and for the
memcg scenario with the patched condition at 5 and 6 CPUs:

* slabproof's explorer (`checker.explore`), with symmetry reduction and
  without, each in a fresh process;
* SPIN on `slabproof export --promela` of the same system: ``spin -a``,
  ``gcc -O2 -DSAFETY -DNOREDUCE``, ``./pan -c0`` (exhaustive; pan goes on after
  an assertion fails and names every violated property).

It prints per spec the states (symmetry / no symmetry / SPIN), the verdicts of
both (safe, or the violated safety properties), CPU seconds to the verdict
(SPIN: compile, i.e. spin -a plus gcc, and search), peak resident memory, and
the ratio of the explorer's time without symmetry to SPIN's whole time.
Figures are CPU time (user + system) of each child process, so that the load
of a shared machine counts less; peak memory is each child's own maximum.

Exit status 0 when every verdict agrees and SPIN stores exactly as many states
as the explorer without symmetry (the exported model is built so that they
match state for state); 1 on any disagreement; 2 when spin or gcc is missing
and cannot be installed. ``writer_terminates`` is not exported (see
docs/promela.md), so it is left out of the comparison.

    python bench/spin.py [--quick] [--nosym-limit N] [--jobs J] [SPEC...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure the checkout this file is in

from slabproof import checker, model  # noqa: E402
from slabproof.lang import spec  # noqa: E402
from slabproof.report import promela  # noqa: E402

SCALING_SPEC = ROOT / "specs" / "memcg-if-prev-2cpu.toml"
SCALING_CPUS = (5, 6)
REFERENCE = ("memcg-if-prev-2cpu", 5)  # the yardstick: SPIN's whole time on this case
NOSYM_LIMIT = 700_000  # above this many states the explorer's run without symmetry is cut


@dataclass
class Run:
    cpu: float  # user + system seconds
    peak: int  # bytes
    out: str
    rc: int


def run(cmd: list[str], cwd: Path | None = None) -> Run:
    """Run `cmd`; its own CPU time and peak resident memory (os.wait4), output and status."""
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read() if p.stdout else ""
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return Run(ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024, out, p.returncode)


def ensure_tools() -> str | None:
    """None when spin and gcc are there (installing Debian's spin with apt-get when root), else why not."""
    if shutil.which("gcc") is None:
        return "gcc is not installed (pan is compiled C); install it (Debian: apt-get install gcc)"
    if shutil.which("spin") is not None:
        return None
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "spin is not installed and cannot be installed here (needs root and apt-get); " \
               "install Debian's 'spin' package (apt-get install spin)"
    print("bench/spin.py: installing Debian's spin (apt-get install -y spin)", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "install", "-y", "-qq", "spin"], ["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "spin"]):
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if shutil.which("spin") is not None:
            return None
    return "apt-get install spin failed; install Debian's 'spin' package by hand"


# ---------------------------------------------------------------------------
# the explorer, in a fresh process


def worker(path: str, cpus: int, symmetry: bool, limit: int | None) -> None:
    s = spec.load(path).with_cpus(cpus)
    system = model.build(s)
    t0 = time.process_time()
    r = checker.explore(system, symmetry=symmetry, limits=checker.Limits(max_states=limit))
    json.dump({"states": r.states, "complete": r.complete, "reason": r.reason,
               "violated": sorted(p.name for p in r.properties if p.kind == "always" and p.holds is False),
               "search": time.process_time() - t0}, sys.stdout)


def explore(path: Path, cpus: int, symmetry: bool, limit: int | None) -> dict:
    r = run([sys.executable, __file__, "--worker", str(path), str(cpus), str(int(symmetry)), str(limit or 0)])
    if r.rc != 0:
        raise RuntimeError(f"explorer on {path} failed:\n{r.out}")
    d = json.loads(r.out)
    d.update(cpu=r.cpu, peak=r.peak)
    return d


# ---------------------------------------------------------------------------
# SPIN


def spin(system: model.System, work: Path, states_hint: int) -> dict:
    m = promela.export(system)
    (work / "model.pml").write_text(m.text, encoding="utf-8")
    a = run(["spin", "-o2", "-a", "model.pml"], work)
    if a.rc != 0:
        raise RuntimeError(f"spin -a failed on {system.spec.name}:\n{a.out}")
    c = run(["gcc", "-O2", "-DSAFETY", "-DNOREDUCE", "-o", "pan", "pan.c"], work)
    if c.rc != 0:
        raise RuntimeError(f"gcc failed on {system.spec.name}:\n{c.out}")
    # -m bounds pan's depth-first stack (pan allocates all of it); a depth-first path never exceeds the
    # number of states, so start there (at most 2^20) and grow when pan says it is too small.
    depth = min(states_hint + 16, 1 << 20)
    w = max(18, min(26, (max(states_hint, 1)).bit_length() + 1))  # hash slots: only speed depends on it
    tries, search = 0, 0.0
    while True:
        tries += 1
        p = run(["./pan", "-c0", f"-m{depth}", f"-w{w}"], work)
        search += p.cpu  # a run cut by too small a stack counts too
        if "max search depth too small" not in p.out:
            break
        depth *= 8
    stored = re.search(r"(\d+) states, stored", p.out)
    if stored is None:
        raise RuntimeError(f"pan gave no state count on {system.spec.name}:\n{p.out}")
    tags = dict.fromkeys(re.findall(r"assertion violated (\S+)", p.out))
    other = [ln for ln in p.out.splitlines() if re.match(r"pan:\d+: ", ln) and "assertion violated" not in ln]
    return {"states": int(stored.group(1)), "violated": sorted(m.property_of(t) for t in tags),
            "errors": other, "compile": a.cpu + c.cpu, "search": search, "peak": p.peak, "tries": tries}


# ---------------------------------------------------------------------------


def cases(paths: list[Path], quick: bool) -> list[tuple[Path, int, str]]:
    out = [(p, spec.load(p).cpus, p.stem) for p in paths]
    if not quick:
        for n in SCALING_CPUS:
            out.append((SCALING_SPEC, n, f"{SCALING_SPEC.stem.removesuffix('-2cpu')}@{n}cpu"))
    return out


def verdict(violated: list[str]) -> str:
    return "violated: " + ",".join(violated) if violated else "safe"


def mib(n: int) -> str:
    return f"{n / (1 << 20):.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="*", type=Path, help="spec files (default: every specs/*.toml, and the "
                                                        "memcg if-prev scenario at 5 and 6 CPUs)")
    ap.add_argument("--quick", action="store_true", help="leave out the 5 and 6 CPU runs")
    ap.add_argument("--nosym-limit", type=int, default=NOSYM_LIMIT, metavar="N",
                    help=f"cut the explorer's run without symmetry at N states (default {NOSYM_LIMIT:,}); "
                         "a cut run is not compared")
    ap.add_argument("--jobs", type=int, default=2, metavar="J", help="cases measured at once (default 2)")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker[0], int(a.worker[1]), a.worker[2] == "1", int(a.worker[3]) or None)
        return 0
    why = ensure_tools()
    if why:
        print(f"bench/spin.py: {why}", file=sys.stderr)
        return 2
    ver = run(["spin", "-V"]).out.strip()
    paths = a.specs or sorted((ROOT / "specs").glob("*.toml"))
    print(f"{ver}; gcc -O2 -DSAFETY -DNOREDUCE; pan -c0. Times: CPU seconds of each process. "
          f"Memory: peak resident MiB.")
    head = (f"{'spec':34} {'cpus':>4} | {'states sym':>10} {'no-sym':>9} {'SPIN':>9} | "
            f"{'time sym':>8} {'no-sym':>7} {'SPIN cc':>7} {'search':>7} | {'MiB sym':>7} {'no-sym':>6} "
            f"{'pan':>5} | {'ratio':>6} | verdict (slabproof = SPIN)")
    print(head)
    print("-" * len(head))
    bad: list[str] = []
    reference: dict | None = None
    with tempfile.TemporaryDirectory(prefix="slabproof-spin-") as tmp:
        def measure(case: tuple[Path, int, str]) -> tuple[dict, dict, dict]:
            path, cpus, name = case
            system = model.build(spec.load(path).with_cpus(cpus))
            sym = explore(path, cpus, True, None)
            nos = explore(path, cpus, False, a.nosym_limit)
            work = Path(tmp) / name
            work.mkdir()
            return sym, nos, spin(system, work, nos["states"] if nos["complete"] else sym["states"] * 2 ** cpus)

        todo = cases(paths, a.quick)
        # two cases at a time (the machine has two cores); every figure is the process's own CPU time
        pool = ThreadPoolExecutor(max_workers=a.jobs)
        measured = pool.map(measure, todo)  # (in order, each row printed as soon as it is measured)
        for (path, cpus, name), (sym, nos, sp) in zip(todo, measured):
            mine = [p for p in sym["violated"] if p not in promela.NOT_EXPORTED]
            problems = []
            if not sym["complete"]:
                problems.append(f"explorer with symmetry did not finish ({sym['reason']})")
            if sym["complete"] and mine != sp["violated"]:
                problems.append(f"verdicts differ: slabproof {verdict(mine)}, SPIN {verdict(sp['violated'])}")
            if nos["complete"]:
                theirs = [p for p in nos["violated"] if p not in promela.NOT_EXPORTED]
                if theirs != mine:
                    problems.append(f"explorer with and without symmetry differ: {verdict(mine)} / {verdict(theirs)}")
                if nos["states"] != sp["states"]:
                    problems.append(f"SPIN stored {sp['states']:,} states, the explorer without symmetry "
                                    f"{nos['states']:,}")
            if sp["errors"]:
                problems.append("pan reported " + "; ".join(sp["errors"]))
            spin_total = sp["compile"] + sp["search"]
            nos_states = f"{nos['states']:,}" if nos["complete"] else f">{nos['states']:,}"
            nos_time = f"{nos['cpu']:7.2f}" if nos["complete"] else f"{'(cut)':>7}"
            ratio = f"{nos['cpu'] / spin_total:5.1f}x" if nos["complete"] else f"{'-':>6}"
            extra = "" if "writer_terminates" not in sym["violated"] else " (and writer_terminates violated: not exported)"
            agree = verdict(mine) if not problems else f"MISMATCH: {'; '.join(problems)}"
            print(f"{name:34} {cpus:4} | {sym['states']:10,} {nos_states:>9} {sp['states']:9,} | "
                  f"{sym['cpu']:8.2f} {nos_time} {sp['compile']:7.2f} {sp['search']:7.2f} | "
                  f"{mib(sym['peak']):>7} {mib(nos['peak']):>6} {mib(sp['peak']):>5} | {ratio} | {agree}{extra}",
                  flush=True)
            if problems:
                bad.append(name)
            if (path.stem, cpus) == REFERENCE:
                reference = {"sym": sym, "nos": nos, "spin": sp}
        pool.shutdown()
    print()
    print("states: SPIN's count is pan's 'states, stored'; it must equal the explorer's without symmetry "
          "(one d_step per step, both program counters constant). ratio: explorer without symmetry / SPIN "
          "(compile + search). Explorer times include starting Python and building the model; a cut run (>N) is not compared.")
    if reference is not None:
        sp = reference["spin"]
        tot = sp["compile"] + sp["search"]
        print(f"reference ({REFERENCE[0].removesuffix('-2cpu')}, {REFERENCE[1]} CPUs): SPIN {tot:.2f} s CPU "
              f"(compile {sp['compile']:.2f} + search {sp['search']:.2f}); explorer {reference['sym']['cpu']:.2f} s "
              f"= {reference['sym']['cpu'] / tot:.1f}x SPIN with symmetry, {reference['nos']['cpu']:.2f} s "
              f"= {reference['nos']['cpu'] / tot:.1f}x without")
    if bad:
        print(f"bench/spin.py: SPIN and slabproof DISAGREE on {len(bad)}: {', '.join(bad)}", file=sys.stderr)
        return 1
    print("SPIN and slabproof agree on every spec (verdicts, and states without symmetry).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
