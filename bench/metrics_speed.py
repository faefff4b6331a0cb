"""Speed of calibkit's ECE and its 1,000-resample bootstrap CI, next to netcal's ECE.

A script, not a test: run it with ``python bench/metrics_speed.py``. On
14,042 synthetic 4-option items (MMLU's test-set size) it times, side by
side in one process and on the same data:

* calibkit ``ece`` (10 equal-width bins) and netcal ``ECE(bins=10).measure``;
* calibkit ``bootstrap_ci("ece", ..., n_resamples=1000)``;
* a resample-by-resample loop calling netcal's ECE (a few resamples, scaled
  to 1,000) — what a bootstrap costs without vectorization;
* calibkit ``summarize`` (9 metrics, 1,000 shared resamples).

Each timing is the median wall time of several runs, with the minimum and
the median CPU time in brackets (CPU time is the steadier number on a shared
machine). Import times are excluded. It prints the two ECE values too, which must agree.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
import warnings
from typing import Callable

import numpy as np

from calibkit.stats.bootstrap import bootstrap_ci, summarize
from calibkit.stats.metrics import ece, top_label

N_ITEMS = 14_042
N_OPTIONS = 4
N_RESAMPLES = 1_000


def synthetic(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Option probabilities of an overconfident model and labels drawn from a flatter one."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N_ITEMS, N_OPTIONS)) * 2.5
    probs = np.exp(z - z.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    truth = np.exp(z / 1.8)
    truth /= truth.sum(axis=1, keepdims=True)
    labels = (truth.cumsum(axis=1) > rng.uniform(size=(N_ITEMS, 1))).argmax(axis=1)
    return probs, labels


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """(median wall, min wall, median CPU) seconds over ``repeats`` calls, after one warm-up.

    CPU time (this process, all threads) is less disturbed than wall time
    when other jobs share the machine.
    """
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def fmt(t: tuple[float, ...]) -> str:
    return f"{t[0] * 1e3:9.2f} ms  (min {t[1] * 1e3:8.2f}, cpu {t[2] * 1e3:8.2f})"


def main() -> None:
    probs, labels = synthetic()
    top = top_label(probs, labels)
    conf, correct = top.confidence, top.correct
    correct_int = correct.astype(np.int64)

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from netcal.metrics import ECE
    netcal_import = time.perf_counter() - start
    netcal_ece = ECE(bins=10)

    ours_value = ece(conf, correct)
    theirs_value = float(netcal_ece.measure(conf, correct_int))

    t_ours = timed(lambda: ece(conf, correct), repeats=30)
    t_theirs = timed(lambda: netcal_ece.measure(conf, correct_int), repeats=30)
    t_boot = timed(lambda: bootstrap_ci("ece", conf, correct, n_resamples=N_RESAMPLES, seed=0), repeats=5)

    rng = np.random.default_rng(1)
    loop_resamples = 25

    def netcal_loop() -> None:
        for _ in range(loop_resamples):
            idx = rng.integers(0, N_ITEMS, N_ITEMS)
            netcal_ece.measure(conf[idx], correct_int[idx])

    t_loop = timed(netcal_loop, repeats=3)
    t_loop_1000 = tuple(t * N_RESAMPLES / loop_resamples for t in t_loop)
    t_summary = timed(lambda: summarize(probs, labels, n_resamples=N_RESAMPLES, seed=0), repeats=3)
    ci = bootstrap_ci("ece", conf, correct, n_resamples=N_RESAMPLES, seed=0)

    print(f"calibkit metrics speed — {N_ITEMS:,} items, {N_OPTIONS} options, 10 equal-width bins")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, {platform.machine()}, load {load:.1f}")
    print("times: median wall (min wall, median CPU) per call")
    print(f"ECE value            calibkit {ours_value:.12f}   netcal {theirs_value:.12f}   |diff| {abs(ours_value - theirs_value):.1e}")
    print(f"ECE 95% CI           [{ci.low:.4f}, {ci.high:.4f}] from {ci.n_resamples} resamples")
    print(f"calibkit ece                         {fmt(t_ours)}")
    print(f"netcal ECE.measure                   {fmt(t_theirs)}")
    print(f"calibkit bootstrap_ci('ece', 1000)   {fmt(t_boot)}")
    print(f"netcal ECE, resample loop x1000      {fmt(t_loop_1000)}   (measured on {loop_resamples} resamples, scaled)")
    print(f"calibkit summarize (9 metrics, 1000) {fmt(t_summary)}")
    print(f"netcal import (excluded above)       {netcal_import * 1e3:9.0f} ms")
    print("ratios (medians)")
    print(f"  netcal ECE / calibkit ECE                      {t_theirs[0] / t_ours[0]:8.1f}x")
    print(f"  calibkit 1000-resample CI / one netcal ECE     {t_boot[0] / t_theirs[0]:8.1f}x")
    print(f"  netcal loop x1000 / calibkit 1000-resample CI  {t_loop_1000[0] / t_boot[0]:8.1f}x")


if __name__ == "__main__":
    main()
