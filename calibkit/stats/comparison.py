"""The one paired comparison every task's ``compare`` runs: measures per run, differences against the first.

A comparison of runs is always the same steps, whatever the task measures:
restrict the runs to the items they all hold, in one order
(:func:`shared`); compute each measure on each run with its percentile
bootstrap interval (:func:`calibkit.stats.bootstrap.bootstrap_ci`); pair
every later run with the first on the same items
(:func:`calibkit.stats.paired.paired_test`: the paired-bootstrap interval of
the difference, the p-value of the paired permutation test, the test's
name, and the small-n rule of :func:`calibkit.stats.intervals.too_few`). A
task says only *what* it measures, as a list of :class:`Measure`;
:func:`paired_comparison` returns the table (:data:`COLUMNS`). Its text and
page forms live with the tasks (their shared reporting module).

Where a comparison reads the calibration of a probability, its first row is
:data:`calibkit.stats.paired.HEADLINE_METRIC` (smooth ECE) with the paired
permutation test, for the reason :data:`HEADLINE` gives, and the binned
ECEs stand beside it.

Pure numpy and pandas: never imports a task, torch or plotting code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence, TypeVar

import numpy as np
import pandas as pd

from calibkit.errors import UserError
from calibkit.stats.bootstrap import bootstrap_ci
from calibkit.stats.checks import check_choice, check_resampling
from calibkit.stats.intervals import too_few
from calibkit.stats.paired import DEFAULT_TEST, HEADLINE_METRIC, TESTS, paired_test

T = TypeVar("T")

#: the sentence every comparison that leads with smooth ECE prints beside it (terminal and page)
HEADLINE = ("Smooth ECE (Błasiok & Nakkiran 2023) with the paired permutation test leads: of the calibration "
            "measures calibkit simulated (bench/RESULTS.md), it had the most power at nominal size (at 100 items "
            "it found a chat model 1.5 times too sharp in 53% of comparisons, the 10-bin ECE in 31%); the binned "
            "ECEs stand beside it.")
#: the table's columns after a measure's own label columns. difference, diff_low, diff_high, p_value and
#: test are the run minus the first run (NaN / None for the first run); note: why there is no interval or
#: p-value (the small-n rule), None when there are both
COLUMNS = ("estimate", "low", "high", "n", "note", "difference", "diff_low", "diff_high", "p_value", "test")


class ComparisonError(UserError, ValueError):
    """Runs that cannot be compared as asked (no shared items, no runs)."""


@dataclass(frozen=True)
class Measure:
    """One measure of a comparison: its row labels, its metric, and where its arrays come from.

    Example:
        >>> m = Measure({"metric": "accuracy"}, np.mean, lambda run: (run["right"],))
        >>> m.arrays({"right": np.array([1.0, 0.0])})[0].tolist()
        [1.0, 0.0]
    """

    labels: Mapping[str, Any]  # the row's label columns, in order, e.g. {"signal": "P(True)", "metric": "ece"}
    metric: str | Callable[..., float]  # a name from calibkit.stats.resampled_metrics.METRICS, or metric(*arrays) -> float
    arrays: Callable[[Any], tuple[np.ndarray, ...]]  # one run's aligned data -> the metric's arrays, row i = item i
    n_bins: int = 10  # bins of the binned named metrics

    @property
    def is_headline(self) -> bool:
        """Whether this is the headline calibration measure (smooth ECE)."""
        return self.metric == HEADLINE_METRIC


def shared(runs: Mapping[str, Iterable[T]], *, key: Callable[[T], Hashable], what: str = "items",
           fix: str = "compare runs of the same task and data") -> dict[str, list[T]]:
    """Each run restricted to the records whose ``key`` every run holds, all in one order (sorted by key).

    Args:
        runs: ``{run label: records}``; the first run is the reference of
            the differences.
        key: a record's identity (an item id).
        what, fix: the records' name ("items", "questions", ...) and the fix, for the error.

    Raises:
        ComparisonError: the runs share no record (a one-line message with the fix).

    Example:
        >>> shared({"a": [{"id": "2"}, {"id": "1"}], "b": [{"id": "1"}, {"id": "3"}]}, key=lambda r: r["id"])
        {'a': [{'id': '1'}], 'b': [{'id': '1'}]}
    """
    by_key = {name: {key(r): r for r in records} for name, records in runs.items()}
    if not by_key:
        raise ComparisonError("no runs to compare; name two or more run folders")
    common = set.intersection(*(set(records) for records in by_key.values()))
    if not common:
        raise ComparisonError(f"the runs share no {what}; {fix}")
    order = sorted(common)
    return {name: [records[k] for k in order] for name, records in by_key.items()}


def paired_comparison(
    runs: Mapping[str, Any],
    measures: Sequence[Measure],
    *,
    test: str = DEFAULT_TEST,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Every measure on every run, and each later run's paired difference from the first run.

    Args:
        runs: ``{run label: that run's data}``, already aligned (row ``i`` of
            every run's arrays is the same item; see :func:`shared`); the
            first run is the reference.
        measures: what to compute; each reads its arrays from a run's data.
        test: the paired test (:data:`calibkit.stats.paired.TESTS`;
            default the permutation test).
        n_resamples: bootstrap resamples of every interval, and random swaps
            of the permutation test.
        level, seed: the intervals' coverage; the seed of resamples and swaps
            (the same for every measure and run, so all rows share resamples).

    Returns:
        One row per (run, measure), runs in order: ``run``, the measure's
        label columns, then :data:`COLUMNS`. Below
        :data:`calibkit.stats.intervals.MIN_ITEMS` items a row keeps its
        estimate and difference and says why there is no interval and no
        p-value in ``note``; ``test`` names what produced ``p_value`` (None
        where there is none).

    Example:
        >>> runs = {"base": np.ones(30), "chat": np.r_[np.ones(20), np.zeros(10)]}
        >>> t = paired_comparison(runs, [Measure({"metric": "accuracy"}, np.mean, lambda run: (run,))],
        ...                       n_resamples=200)
        >>> row = t.iloc[1]
        >>> row["run"], round(float(row["estimate"]), 4), round(float(row["difference"]), 4), int(row["n"])
        ('chat', 0.6667, -0.3333, 30)
        >>> row["test"], t.loc[0, "test"]  # the first run is the reference: no test
        ('permutation (200 random swaps)', None)
    """
    test = check_choice("test", test, TESTS)
    level, n_resamples, seed = check_resampling(level, n_resamples, seed)
    options = {"n_resamples": n_resamples, "level": level, "seed": seed}
    names = list(runs)
    if not names:
        raise ComparisonError("no runs to compare; name two or more run folders")
    labels = list(dict.fromkeys(k for m in measures for k in m.labels))
    rows = []
    for name in names:
        for m in measures:
            arrays = tuple(np.asarray(a) for a in m.arrays(runs[name]))
            row = {"run": name, **dict.fromkeys(labels), **m.labels, **_estimate(m, arrays, **options)}
            if name != names[0]:
                base = tuple(np.asarray(a) for a in m.arrays(runs[names[0]]))
                row.update(_difference(m, arrays, base, test=test, **options))
            rows.append(row)
    table = pd.DataFrame(rows, columns=["run", *labels, *COLUMNS])
    for column in ("note", "test", *labels):  # text columns: a missing value is None (pandas would write NaN)
        if not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = table[column].astype(object).where(table[column].notna(), None)
    return table


def _estimate(m: Measure, arrays: tuple[np.ndarray, ...], *, n_resamples: int, level: float,
              seed: int) -> dict[str, Any]:
    """The measure on one run: estimate, interval, n, note; the difference columns empty."""
    n = _items(arrays)
    empty = {"difference": math.nan, "diff_low": math.nan, "diff_high": math.nan, "p_value": math.nan, "test": None}
    if n == 0:  # e.g. no unanswerable rows in an abstention run: nothing to estimate
        return {"estimate": math.nan, "low": math.nan, "high": math.nan, "n": 0, "note": too_few(0), **empty}
    iv = bootstrap_ci(m.metric, *arrays, n_resamples=n_resamples, level=level, seed=seed, n_bins=m.n_bins)
    return {"estimate": iv.estimate, "low": iv.low, "high": iv.high, "n": n, "note": iv.note, **empty}


def _difference(m: Measure, arrays: tuple[np.ndarray, ...], base: tuple[np.ndarray, ...], *, test: str,
                n_resamples: int, level: float, seed: int) -> dict[str, Any]:
    """The run minus the first run on the same items, by :func:`calibkit.stats.paired.paired_test`."""
    if _items(arrays) == 0:
        return {}
    d = paired_test(m.metric, arrays, base, test=test, n_resamples=n_resamples, level=level, seed=seed,
                    n_bins=m.n_bins)
    tested = math.isfinite(d.p_value)
    return {"difference": d.difference, "diff_low": d.low, "diff_high": d.high, "p_value": d.p_value,
            "test": d.test if tested else None}


def _items(arrays: tuple[np.ndarray, ...]) -> int:
    if not arrays or any(a.ndim == 0 for a in arrays):
        raise ValueError("a measure's arrays must be one or more arrays with one row per item")
    return int(arrays[0].shape[0])
