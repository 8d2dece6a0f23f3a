"""Benchmark of every engine on every shipped spec (times only here, never in tests).

Prints, per spec, each engine's verdict and seconds: the explicit explorer,
BMC (to the depth of the explorer's complete search, the bound that makes a
clean run a proof), the fixed-N induction engine and the any-N engine (each
with and without minimizing the invariant, as ``check`` and ``prove`` run
them), then the issue's two targets:

* the proof for any number of CPUs of the patched memcg scenario
  (``specs/memcg-if-prev-*.toml``, minimized as ``prove`` prints it) in under 10 s;
* BMC finding the ``never`` memcg counterexample for 3 CPUs in under 10 s.

Figures vary with the machine and its load; no engine gets a time limit here
unless ``--timeout`` is given.

    python bench/engines.py [--timeout S] [--engines explicit,bmc,induction,param] [SPEC...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from slabproof import checker, model
from slabproof.lang import spec
from slabproof.z3 import bmc, induction, param

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 10.0
ENGINES = ("explicit", "bmc", "induction", "param")


def run(path: Path, engines: tuple[str, ...], timeout: float | None) -> dict[str, tuple[str, float]]:
    system = model.build(spec.load(path))
    out: dict[str, tuple[str, float]] = {}
    t0 = time.perf_counter()
    r = checker.explore(system, keep_states=True)
    out["explicit"] = (r.verdict.value, time.perf_counter() - t0)
    states, slots = r.extra["states"], r.extra["slots"]
    if "bmc" in engines:
        t0 = time.perf_counter()
        b = bmc.run(system, complete_depth=r.depth if r.complete else None, timeout=timeout)
        out["bmc"] = (b.verdict.value, time.perf_counter() - t0)
    for name, eng in (("induction", induction), ("param", param)):
        if name not in engines:
            continue
        for minimize in (False, True):
            t0 = time.perf_counter()
            res = eng.run(system, states, slots, timeout=timeout, minimize=minimize)
            key = name + ("+min" if minimize else "")
            size = f"/{res.extra.get('invariant_clauses', '?')}" if minimize and res.verdict.value == "safe" else ""
            out[key] = (res.verdict.value + size, time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="*", type=Path)
    ap.add_argument("--timeout", type=float, default=None, help="seconds per engine (default: none)")
    ap.add_argument("--engines", default=",".join(ENGINES))
    a = ap.parse_args()
    engines = tuple(a.engines.split(","))
    paths = a.specs or sorted((ROOT / "specs").glob("*.toml"))
    cols = ["explicit", "bmc", "induction", "induction+min", "param", "param+min"]
    cols = [c for c in cols if c.split("+")[0] in engines]
    print(f"{'spec':38}" + "".join(f" {c:>22}" for c in cols))
    totals = dict.fromkeys(cols, 0.0)
    for p in paths:
        res = run(p, engines, a.timeout)
        cells = []
        for c in cols:
            v, sec = res.get(c, ("-", 0.0))
            totals[c] += sec
            cells.append(f" {v:>13} {sec:7.2f}s")
        print(f"{p.stem:38}" + "".join(cells), flush=True)
    print(f"{'total':38}" + "".join(f" {'':>13} {totals[c]:7.2f}s" for c in cols))

    print()
    for n in (2, 3, 4):
        path = ROOT / "specs" / f"memcg-if-prev-{n}cpu.toml"
        system = model.build(spec.load(path))
        r = checker.explore(system, keep_states=True)
        t0 = time.perf_counter()
        res = param.run(system, r.extra["states"], r.extra["slots"], minimize=True)
        sec = time.perf_counter() - t0
        ok = "met" if res.verdict.value == "safe" and sec < TARGET_SECONDS else "MISSED"
        print(f"target: {path.name} proved for any number of CPUs ({res.verdict.value}, "
              f"{res.extra.get('invariant_clauses')} clauses) in {sec:.2f}s (target < {TARGET_SECONDS:g}s): {ok}")
    path = ROOT / "specs" / "memcg-never-3cpu.toml"
    system = model.build(spec.load(path))
    t0 = time.perf_counter()
    b = bmc.run(system)
    sec = time.perf_counter() - t0
    lengths = {p: b.prop(p).trace.length for p in b.violated}
    ok = "met" if b.verdict.value == "violated" and sec < TARGET_SECONDS else "MISSED"
    print(f"target: BMC finds the {path.stem} counterexample ({lengths}) in {sec:.2f}s "
          f"(target < {TARGET_SECONDS:g}s): {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
