"""The interval types every task reports, the percentile rule, and the small-n rule.

An estimate with its percentile-bootstrap interval is an :class:`Interval`;
the difference of a statistic between two models on the same items is a
:class:`PairedDifference`. Both are built here from resampled values drawn
elsewhere (:mod:`calibkit.stats.bootstrap` draws them for the named metrics
and callables, a task may draw its own with
:func:`calibkit.stats.resampling.resample_indices`).

The intervals are plain percentile intervals (Efron & Tibshirani 1993,
ch. 13): the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the
resampled values. One small-n rule (:data:`MIN_ITEMS`, :func:`too_few`)
decides when an interval and a p-value are reported at all.

This module must never import torch or plotting code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from calibkit.stats.checks import check_level

#: The small-n rule: fewer items (or clusters) than this give the estimate but no interval and no p-value,
#: and a note saying why (:func:`too_few`). From bench/bootstrap_coverage.py: below 20 items the 95%
#: percentile interval of accuracy, Brier or AUROC covers the truth in fewer than 90% of data sets
#: (two items have at most three distinct resamples; at 10 items AUROC covers about 87%).
MIN_ITEMS = 20


@dataclass(frozen=True)
class Interval:
    """A point estimate with its percentile-bootstrap confidence interval.

    Example:
        >>> Interval(0.1, 0.08, 0.12, 0.95, 1000).to_json()["high"]
        0.12
    """

    estimate: float  # the metric on the full data
    low: float  # lower percentile bound, NaN when no resample gave a value
    high: float  # upper percentile bound
    level: float  # nominal coverage, e.g. 0.95
    n_resamples: int  # resamples on which the metric was defined (AUROC needs both classes)
    bootstrap_mean: float = math.nan  # mean of the resampled values; estimate - bootstrap_mean shows small-sample bias
    n: int | None = None  # items (or clusters) resampled; None where the caller did not say
    note: str | None = None  # why there is no interval (the small-n rule, :func:`too_few`); None when there is one

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; NaN becomes null."""
        return {
            "estimate": _json_float(self.estimate),
            "low": _json_float(self.low),
            "high": _json_float(self.high),
            "level": self.level,
            "n_resamples": self.n_resamples,
            "bootstrap_mean": _json_float(self.bootstrap_mean),
            "n": self.n,
            "note": self.note,
        }


@dataclass(frozen=True)
class PairedDifference:
    """Difference of one statistic between two models measured on the same items.

    ``difference = estimate_a - estimate_b``; ``low``/``high`` are the
    percentile interval of the paired resampled differences; the two-sided
    ``p_value`` tests "no difference" by the test named in ``test``:
    :func:`paired_p_value` of the bootstrap draws (``"bootstrap"``), or the
    paired permutation test of :func:`calibkit.stats.paired.paired_test`.
    Built by :func:`paired_difference` for every task.
    """

    estimate_a: float  # metric of model a on all items
    estimate_b: float  # metric of model b on all items
    difference: float  # estimate_a - estimate_b
    low: float  # lower percentile bound of the difference
    high: float  # upper percentile bound of the difference
    p_value: float  # two-sided bootstrap p-value for difference == 0
    n_resamples: int  # resamples on which both metrics were defined
    level: float = 0.95  # nominal coverage of [low, high]
    n: int | None = None  # paired items (or clusters); None where the caller did not say
    test: str = "bootstrap"  # what produced p_value, e.g. "exact sign-flip (2^18 swaps)" (see paired.paired_test)
    note: str | None = None  # why there is no interval or p-value (the small-n rule, :func:`too_few`)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; NaN becomes null."""
        return {
            "estimate_a": _json_float(self.estimate_a),
            "estimate_b": _json_float(self.estimate_b),
            "difference": _json_float(self.difference),
            "low": _json_float(self.low),
            "high": _json_float(self.high),
            "p_value": _json_float(self.p_value),
            "n_resamples": self.n_resamples,
            "level": self.level,
            "n": self.n,
            "test": self.test,
            "note": self.note,
        }


def too_few(n: int) -> str | None:
    """The small-n rule: the note that replaces an interval and a p-value for ``n`` items, or None.

    One rule for every interval and paired test in calibkit: fewer than
    :data:`MIN_ITEMS` items (or clusters, where whole clusters are resampled)
    give the estimate alone. The bench behind the threshold is
    ``bench/bootstrap_coverage.py``.

    Example:
        >>> too_few(2), too_few(20)
        ('n too small for an interval (n=2 < 20)', None)
    """
    return f"n too small for an interval (n={int(n)} < {MIN_ITEMS})" if n < MIN_ITEMS else None


def interval(estimate: float, draws: np.ndarray, *, level: float = 0.95, n: int | None = None) -> Interval:
    """The percentile :class:`Interval` of a statistic from its resampled values.

    Non-finite draws (a statistic undefined on a resample) are left out and
    not counted in ``n_resamples``. ``n``: the items (or clusters) resampled;
    below :data:`MIN_ITEMS` the estimate comes alone, with the note of
    :func:`too_few`; None: not checked.

    Example:
        >>> iv = interval(0.5, np.array([0.4, 0.5, 0.6, np.nan]), level=0.5)
        >>> iv.low, iv.high, iv.n_resamples, round(iv.bootstrap_mean, 6)
        (0.45, 0.55, 3, 0.5)
    """
    return percentile_interval(estimate, np.asarray(draws, dtype=np.float64), check_level(level), n=n)


def percentile_interval(estimate: float, values: np.ndarray | None, level: float, *, n: int | None = None) -> Interval:
    """:func:`interval` for callers that checked ``level`` already; ``values`` None: no resamples drawn."""
    note = too_few(n) if n is not None else None
    n = None if n is None else int(n)
    ok = np.empty(0) if values is None or note is not None else values[np.isfinite(values)]
    if ok.size == 0:
        return Interval(float(estimate), math.nan, math.nan, level, 0, n=n, note=note)
    low, high = percentiles(ok, level)
    return Interval(float(estimate), low, high, level, int(ok.size), float(ok.mean()), n=n)


def undefined_interval(level: float, n: int) -> Interval:
    """A metric with no value on these data (AUROC of one class): all NaN; below the rule, its note too."""
    return Interval(math.nan, math.nan, math.nan, level, 0, n=int(n), note=too_few(n))


def percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    """The two-sided percentile bounds ``(low, high)`` of finite ``values`` at coverage ``level``."""
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)


def paired_p_value(draws: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "no difference" from paired resampled differences.

    ``p = min(1, 2 * min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1))`` over the
    ``B`` finite resampled differences ``d*``: the smallest ``1 - level``
    at which the two-sided percentile interval of ``d*`` stops covering 0
    (the test that inverts the interval calibkit reports; Efron & Tibshirani
    1993, §15.4 and ch. 16), with the ``+ 1`` of Davison & Hinkley (1997,
    eq. 4.11) so that a finite bootstrap never reports ``p = 0``. Chosen
    over the centred test ``#{|d* - d| >= |d|}`` so that a reported p and a
    reported interval never disagree about 0: ``p < 1 - level`` exactly
    when the interval excludes 0, up to the ``+ 1``. NaN without draws.

    Example:
        >>> paired_p_value(np.array([0.1, 0.2, 0.3, -0.1]))  # 2 * (1 + 1) / 5
        0.8
    """
    d = np.asarray(draws, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return math.nan
    below = (1 + np.count_nonzero(d <= 0)) / (1 + d.size)
    above = (1 + np.count_nonzero(d >= 0)) / (1 + d.size)
    return float(min(1.0, 2 * min(below, above)))


def paired_difference(
    estimate_a: float, estimate_b: float, draws: np.ndarray, *, level: float = 0.95, n: int | None = None
) -> PairedDifference:
    """The :class:`PairedDifference` of two statistics from their paired resampled differences.

    Args:
        estimate_a, estimate_b: the statistic of each model on all items.
        draws: ``(B,)`` the statistic's difference a - b on each of ``B``
            resamples that drew the same items for both models; non-finite
            values (a statistic undefined on a resample) are left out.
        level: coverage of the percentile interval.
        n: the paired items (or clusters) resampled. Below :data:`MIN_ITEMS`
            the interval and p-value are left out with the note of
            :func:`too_few` (the small-n rule); None: not checked.

    Example:
        >>> d = paired_difference(0.5, 0.3, np.array([0.1, 0.2, 0.3, 0.25]), level=0.5)
        >>> round(d.difference, 6), round(d.low, 6), d.high, d.p_value
        (0.2, 0.175, 0.2625, 0.4)
        >>> paired_difference(0.5, 0.3, np.array([0.1, 0.2]), n=2).note
        'n too small for an interval (n=2 < 20)'
    """
    level = check_level(level)
    note = too_few(n) if n is not None else None
    d = np.asarray(draws, dtype=np.float64)
    d = d[np.isfinite(d)] if note is None else np.empty(0)
    low, high = percentiles(d, level) if d.size else (math.nan, math.nan)
    return PairedDifference(
        estimate_a=float(estimate_a),
        estimate_b=float(estimate_b),
        difference=float(estimate_a) - float(estimate_b),
        low=low,
        high=high,
        p_value=paired_p_value(d),
        n_resamples=int(d.size),
        level=level,
        n=None if n is None else int(n),
        note=note,
    )


def _json_float(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)
