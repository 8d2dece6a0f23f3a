"""Benchmark of the explicit-state explorer on every shipped spec.

Prints, per spec: unique states, transitions, time and states/s, with CPU
symmetry reduction (the default) and without; then the issue's target (the
memcg scenario with 4 CPUs and the patched condition, explored exhaustively in
under 3 s on a 2-core machine) and the symmetry speed-up as a ratio measured
in this one run. Figures vary with the machine; ratios within one run are what
to compare.

    python bench/explore.py [--repeat N] [SPEC...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from slabproof import checker, model
from slabproof.lang import spec

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "specs" / "memcg-if-prev-4cpu.toml"
TARGET_SECONDS = 3.0


def measure(path: Path, symmetry: bool, repeat: int) -> tuple[int, int, float]:
    system = model.build(spec.load(path))
    times = []
    r = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = checker.explore(system, symmetry=symmetry)
        times.append(time.perf_counter() - t0)
    assert r is not None
    return r.states, r.transitions, statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is shown")
    a = ap.parse_args()
    paths = a.specs or sorted((ROOT / "specs").glob("*.toml"))
    print(f"{'spec':40} {'states':>9} {'trans':>10} {'time':>8} {'states/s':>10} | "
          f"{'no-sym states':>13} {'time':>8} {'ratio':>6}")
    target = None
    for p in paths:
        s, t, sec = measure(p, True, a.repeat)
        s2, _, sec2 = measure(p, False, a.repeat)
        print(f"{p.stem:40} {s:9,} {t:10,} {sec:7.3f}s {s / sec:10,.0f} | {s2:13,} {sec2:7.3f}s {sec2 / sec:5.1f}x")
        if p.resolve() == TARGET.resolve():
            target = sec
    if target is None and TARGET.exists():
        _, _, target = measure(TARGET, True, a.repeat)
    if target is not None:
        verdict = "met" if target < TARGET_SECONDS else "MISSED"
        print(f"\ntarget: {TARGET.name} explored exhaustively in {target:.3f}s "
              f"(target < {TARGET_SECONDS:g}s): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
