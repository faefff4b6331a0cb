"""PRR by name (the batched kernel) against PRR as a callable (one Python call per resample or swap).

The same seeded inputs (confidences on a 0.01 grid, so right and wrong
items tie) through each path, side by side in one process, alternated
within rounds; medians of wall seconds, the ratio, and whether the two
paths gave the same interval / p-value (they must, exactly). Workloads:

* ``bootstrap``: ``bootstrap_ci`` with ``--resamples`` resamples (a signal
  table's PRR interval, tasks/free_answer/signals.py ``signal_quality``);
* ``paired``: ``paired_test`` of two signals (the paired bootstrap and the
  permutation test with ``--resamples`` random swaps: a within-run signal
  comparison or ``calibkit compare``);
* ``exact``: ``permutation_test`` at ``--exact-items`` items (all 2^n swaps).

Usage: ``.venv/bin/python bench/prr_speed.py [--items 100,1000] [--resamples 1000] [--rounds 3]``
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from calibkit.stats.bootstrap import bootstrap_ci
from calibkit.stats.paired import paired_test, permutation_test
from calibkit.stats.signals.metrics import prr


def inputs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two signals' confidences (n,) on a 0.01 grid and the 0/1 correctness they judge."""
    rng = np.random.default_rng(seed)
    right = (rng.uniform(size=n) < 0.6).astype(np.float64)
    a = np.round(np.clip(0.3 * right + rng.uniform(0, 0.7, n), 0, 1), 2)
    b = np.round(np.clip(0.1 * right + rng.uniform(0, 0.9, n), 0, 1), 2)
    return a, b, right


def workloads(n: int, resamples: int, exact_items: int):
    """``{name: (items, function of the metric)}``: each runs one path when given "prr" or the callable."""
    a, b, y = inputs(n)
    ea, eb, ey = inputs(exact_items, seed=1)
    return {
        "bootstrap": (n, lambda m: bootstrap_ci(m, a, y, n_resamples=resamples, seed=0)),
        "paired": (n, lambda m: paired_test(m, (a, y), (b, y), n_resamples=resamples, seed=0)),
        "exact": (exact_items, lambda m: permutation_test(m, (ea, ey), (eb, ey))),
    }


def clock(fn, metric) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(metric)
    return time.perf_counter() - start, out


def same(x: object, y: object) -> bool:
    """Results equal field by field, NaN equal to NaN (repr of a float is exact)."""
    return repr(x) == repr(y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", default="100,1000", help="comma-separated item counts")
    ap.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples and random swaps")
    ap.add_argument("--exact-items", type=int, default=14, help="items of the exact permutation test (2^n swaps)")
    ap.add_argument("--rounds", type=int, default=3, help="alternated rounds; medians reported")
    args = ap.parse_args()
    print("| workload | items | callable s | named s | ratio | same result |")
    print("|---|---|---|---|---|---|")
    seen = set()
    for n in (int(x) for x in args.items.split(",")):
        for name, (items, fn) in workloads(n, args.resamples, args.exact_items).items():
            if (name, items) in seen:  # the exact test does not depend on --items
                continue
            seen.add((name, items))
            slow, fast, equal = [], [], True
            for _ in range(args.rounds):
                t_slow, r_slow = clock(fn, prr)
                t_fast, r_fast = clock(fn, "prr")
                slow.append(t_slow), fast.append(t_fast)
                equal &= same(r_slow, r_fast)
            s, f = statistics.median(slow), statistics.median(fast)
            print(f"| {name} | {items} | {s:.3f} | {f:.4f} | {s / f:.0f}x | {'yes' if equal else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
