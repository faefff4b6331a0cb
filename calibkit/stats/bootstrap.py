"""Percentile-bootstrap confidence intervals of calibkit's metrics: the entry points.

:func:`bootstrap_ci` (one metric), :func:`cluster_ci` (whole clusters of
items resampled), :func:`paired_bootstrap` (two models on the same items)
and :func:`option_intervals` / :func:`summarize` (several metrics of
option probabilities on shared resamples). A metric is a name from the
table of :mod:`calibkit.stats.resampled_metrics` (evaluated on all
resamples at once) or any callable (resample by resample). The resamples
come from :mod:`calibkit.stats.resampling`: the same seed and item count
give the same resample indices, whichever metric (or callable) is
evaluated, so intervals for different metrics or different temperatures are
computed on the same resamples. The intervals, the small-n rule and the
paired p-value are :mod:`calibkit.stats.intervals`'; the p-value of a paired
comparison comes from :func:`calibkit.stats.paired.paired_test` (a paired
permutation test by default; :func:`paired_p_value` is the bootstrap
alternative).

The names of those modules that callers have always imported from here
(:class:`Interval`, :data:`MIN_ITEMS`, :func:`too_few`, :data:`METRICS`,
:func:`prepare_metric`, :func:`resample_indices`, ...) stay importable from
here (:data:`__all__`).

This module must never import torch or plotting code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from calibkit.stats import metrics as _m
from calibkit.stats.checks import (
    check_choice,
    check_probs_labels,
    check_resampling,
    check_same_length,
)
from calibkit.stats.intervals import (
    MIN_ITEMS,
    Interval,
    PairedDifference,
    interval,
    paired_difference,
    paired_p_value,
    percentile_interval,
    too_few,
    undefined_interval,
)
from calibkit.stats.resampled_metrics import (
    METRICS,
    OPTION_METRICS,
    TOP_LABEL_METRICS,
    VALUE_METRICS,
    Prepared,
    is_undefined,
    prepare_metric,
)
from calibkit.stats.resampling import callable_values, count_chunks, resample_indices

__all__ = [
    "METRICS", "MIN_ITEMS", "OPTION_METRICS", "SUMMARY_METRICS", "TOP_LABEL_METRICS", "VALUE_METRICS",
    "Interval", "PairedDifference", "Summary", "bootstrap_ci", "cluster_ci", "interval", "option_intervals",
    "paired_bootstrap", "paired_difference", "paired_draws", "paired_p_value", "prepare_metric",
    "resample_indices", "summarize", "too_few",
]

# The standard summary of a set of option-probability items, in report order.
SUMMARY_METRICS = ("accuracy", "ece", "rms_ce", "mce", "ece_quantile", "brier", "nll", "auroc", "aurc")


@dataclass(frozen=True)
class Summary:
    """The standard metrics of a set of option-probability items, with CIs.

    All intervals come from the same resamples. Produced by :func:`summarize`.
    """

    accuracy: Interval  # share of items whose top option is right
    ece: Interval  # top-label ECE, equal-width bins, mass-weighted
    rms_ce: Interval  # RMS calibration error, equal-width bins
    mce: Interval  # maximum calibration error, equal-width bins
    ece_quantile: Interval  # top-label ECE, equal-mass bins (re-binned per resample): Kadavath et al.'s ECE
    brier: Interval  # multiclass Brier score, in [0, 2]
    nll: Interval  # mean negative log-likelihood, nats
    auroc: Interval  # AUROC of confidence for correctness (NaN if all right or all wrong)
    aurc: Interval  # area under the risk-coverage curve
    n_items: int  # items summarised
    n_bins: int  # bins used by the binned metrics
    seed: int  # seed of the resample indices

    def metrics(self) -> dict[str, Interval]:
        """The intervals by metric name, in report order."""
        return {name: getattr(self, name) for name in SUMMARY_METRICS}

    def to_json(self) -> dict[str, Any]:
        """The summary.json form: metadata plus one object per metric."""
        return {
            "n_items": self.n_items,
            "n_bins": self.n_bins,
            "seed": self.seed,
            "metrics": {name: iv.to_json() for name, iv in self.metrics().items()},
        }


def bootstrap_ci(
    metric: str | Callable[..., float],
    *arrays: np.ndarray,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    n_bins: int = 10,
) -> Interval:
    """Percentile bootstrap interval of one metric.

    Args:
        metric: a name from :data:`METRICS` — top-label names take
            ``(confidence, correct)``: ``"ece"``, ``"rms_ce"``, ``"mce"``,
            ``"ece_quantile"`` (equal-mass bins: Kadavath et al.'s ECE),
            ``"ece_bin_mean"`` (unweighted mean of the equal-width bins'
            gaps), ``"debiased_l2"``, ``"smooth_ece"``,
            ``"auroc"``, ``"aurc"``, ``"prr"`` (the same values as
            :func:`calibkit.stats.signals.metrics.prr` on every resample, ties
            included); option names take ``(probs, labels)``:
            ``"accuracy"``, ``"brier"``, ``"nll"``, ``"classwise_ece"``,
            ``"pooled_ece"``, ``"brier_reliability"``; ``"mean"`` takes
            ``(values,)``, finite per-item values (e.g. 0/1 right answers):
            the same number as ``np.mean``, on all resamples at once. Or any
            callable ``metric(*arrays) -> float``
            (bind options with ``functools.partial``); callables are
            evaluated resample by resample, so they are slow, and a resample
            on which the callable raises ``ValueError`` counts as undefined.
        *arrays: the metric's arrays; all share the first dimension ``n``,
            which is what is resampled.
        n_resamples: number of bootstrap resamples.
        level: nominal coverage of the interval, in (0, 1).
        seed: seed for ``numpy.random.default_rng``.
        n_bins: bins for the binned named metrics (ignored by callables).

    Returns:
        :class:`Interval`; ``n_resamples`` counts resamples where the metric
        was defined. Below :data:`MIN_ITEMS` items only the estimate, with
        the note of :func:`too_few` (the small-n rule). The named ``"auroc"`` of data whose items are all right
        (or all wrong) is undefined: an all-NaN interval with
        ``n_resamples=0``, as in :func:`option_intervals`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> conf = rng.uniform(0.5, 1.0, 2000); correct = rng.uniform(size=2000) < conf
        >>> iv = bootstrap_ci("ece", conf, correct, n_resamples=200, seed=1)
        >>> iv.low <= iv.estimate <= iv.high
        True
    """
    level, n_resamples, seed = check_resampling(level, n_resamples, seed)
    if callable(metric):
        arrays = check_same_length(arrays, "arrays")
        estimate, n = float(metric(*arrays)), arrays[0].shape[0]
        values = callable_values(metric, arrays, n_resamples=n_resamples, seed=seed) if n >= MIN_ITEMS else None
    elif is_undefined(metric, arrays):
        return undefined_interval(level, len(arrays[1]))
    else:
        prepared = prepare_metric(metric, arrays, n_bins=n_bins)
        estimate, n = prepared.estimate, prepared.n
        values = None
        if n >= MIN_ITEMS:
            values = np.concatenate([prepared.evaluate(r) for r in prepared.chunks(n_resamples, seed)])
    return percentile_interval(estimate, values, level, n=n)


def cluster_ci(
    metric: str,
    *arrays: np.ndarray,
    clusters: np.ndarray,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    n_bins: int = 10,
) -> Interval:
    """Percentile bootstrap interval of a named metric, resampling whole clusters of items.

    For items that are not independent, such as the options of one question:
    each resample draws clusters with replacement (the same draws as
    :func:`resample_indices` over the clusters) and weighs every item by how
    often its cluster was drawn.

    Args:
        metric: a name from :data:`METRICS`, as in :func:`bootstrap_ci`.
        arrays: the metric's arrays, ``(n, ...)`` each.
        clusters: ``(n,)`` the cluster of each item (any hashable labels).

    Example:
        >>> conf = np.array([0.9, 0.2, 0.8, 0.3, 0.6, 0.5]); right = np.array([1, 0, 1, 0, 0, 1])
        >>> iv = cluster_ci("auroc", conf, right, clusters=np.array([0, 0, 1, 1, 2, 2]), n_resamples=50)
        >>> iv.estimate, iv.note  # 3 questions: the small-n rule counts clusters
        (0.8888888888888888, 'n too small for an interval (n=3 < 20)')
    """
    level, n_resamples, seed = check_resampling(level, n_resamples, seed)
    if is_undefined(metric, arrays):
        return undefined_interval(level, int(np.unique(np.asarray(clusters)).shape[0]))
    prepared = prepare_metric(metric, arrays, n_bins=n_bins)
    labels, index = np.unique(np.asarray(clusters), return_inverse=True)
    if index.shape[0] != prepared.n:
        raise ValueError(f"clusters must have one label per item ({index.shape[0]} != {prepared.n})")
    m = labels.shape[0]
    values = None
    if m >= MIN_ITEMS:  # the small-n rule counts clusters: they are what is resampled
        values = np.concatenate([prepared.kernel(w[:, index]) for w in count_chunks(m, n_resamples, seed)])
    return percentile_interval(prepared.estimate, values, level, n=m)


def paired_bootstrap(
    metric: str | Callable[..., float],
    arrays_a: Sequence[np.ndarray],
    arrays_b: Sequence[np.ndarray],
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    n_bins: int = 10,
) -> PairedDifference:
    """Bootstrap the difference of a metric between two models on the same items.

    Both models are evaluated on the *same* resampled items in every
    resample (item ``i`` of ``arrays_a`` and of ``arrays_b`` must be the same
    question), which removes the between-item variance the two share.

    The interval is the percentile interval of the resampled differences
    ``d*`` and the p-value is :func:`paired_p_value` of them (see
    :func:`paired_difference`). Where the named metric is undefined for
    either model (``"auroc"`` with every item right, or every item wrong)
    the difference is NaN throughout, with ``n_resamples=0``.

    Args:
        metric: a name from :data:`METRICS` or a callable, as in
            :func:`bootstrap_ci`.
        arrays_a, arrays_b: each model's arrays for ``metric``, all of the
            same length ``n``.
        n_resamples, level, seed, n_bins: as in :func:`bootstrap_ci`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> labels = rng.integers(0, 2, 500)
        >>> good = np.where(labels[:, None] == [0, 1], 0.8, 0.2)
        >>> bad = np.full((500, 2), 0.5)
        >>> paired_bootstrap("brier", (good, labels), (bad, labels), n_resamples=200).p_value < 0.01
        True
    """
    level, n_resamples, seed = check_resampling(level, n_resamples, seed)
    if not callable(metric) and (is_undefined(metric, tuple(arrays_a)) or is_undefined(metric, tuple(arrays_b))):
        return PairedDifference(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, 0, level,
                                n=len(arrays_a[1]), note=too_few(len(arrays_a[1])))
    est_a, est_b, n, draws = paired_draws(metric, arrays_a, arrays_b, n_resamples=n_resamples, seed=seed,
                                          n_bins=n_bins)
    return paired_difference(est_a, est_b, draws, level=level, n=n)


def paired_draws(
    metric: str | Callable[..., float],
    arrays_a: Sequence[np.ndarray],
    arrays_b: Sequence[np.ndarray],
    *,
    n_resamples: int,
    seed: int,
    n_bins: int = 10,
) -> tuple[float, float, int, np.ndarray]:
    """``(estimate_a, estimate_b, n, draws)``: each model's metric and the ``(B,)`` paired resampled differences.

    Below :data:`MIN_ITEMS` items there are no draws (an empty array). The
    named AUROC of one-class data is not checked here (see
    :func:`paired_bootstrap`).
    """
    if callable(metric):
        a = check_same_length(tuple(arrays_a), "arrays_a")
        b = check_same_length(tuple(arrays_b), "arrays_b")
        if a[0].shape[0] != b[0].shape[0]:
            raise ValueError(f"arrays_b must have as many items as arrays_a ({b[0].shape[0]} != {a[0].shape[0]})")
        n = a[0].shape[0]
        if n < MIN_ITEMS:
            return float(metric(*a)), float(metric(*b)), n, np.empty(0)
        va = callable_values(metric, a, n_resamples=n_resamples, seed=seed)
        vb = callable_values(metric, b, n_resamples=n_resamples, seed=seed)
        return float(metric(*a)), float(metric(*b)), n, va - vb
    pa = prepare_metric(metric, tuple(arrays_a), n_bins=n_bins)
    pb = prepare_metric(metric, tuple(arrays_b), n_bins=n_bins)
    if pa.n != pb.n:
        raise ValueError(f"arrays_b must have as many items as arrays_a ({pb.n} != {pa.n})")
    parts = [np.empty(0)]
    for r in pa.chunks(n_resamples, seed) if pa.n >= MIN_ITEMS else ():
        parts.append(pa.evaluate(r) - pb.evaluate(r))
    return pa.estimate, pb.estimate, pa.n, np.concatenate(parts)


def option_intervals(
    probs: np.ndarray,
    labels: np.ndarray,
    *,
    metrics: Sequence[str] = SUMMARY_METRICS,
    n_bins: int = 10,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Intervals for several named metrics of option probabilities, on shared resamples.

    Top-label metrics are computed on :func:`calibkit.stats.metrics.top_label` of
    ``probs``. AUROC is reported as an all-NaN interval (``n_resamples=0``)
    when every item is right or every item is wrong, instead of raising, so
    a summary of a tiny run still works.

    Args:
        probs: ``(n, k)`` option probabilities; labels: ``(n,)`` ints.
        metrics: names from :data:`TOP_LABEL_METRICS` and :data:`OPTION_METRICS`.

    Example:
        >>> p = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]])
        >>> option_intervals(p, np.array([0, 1, 1, 1]), metrics=("accuracy",), n_resamples=50)["accuracy"].estimate
        0.75
    """
    level, n_resamples, seed = check_resampling(level, n_resamples, seed)
    p, y = check_probs_labels(probs, labels)
    top = _m.top_label(p, y)
    shared: dict[Any, Any] = {}
    prepared: dict[str, Prepared] = {}
    undefined: list[str] = []
    for name in metrics:
        check_choice("metrics", name, TOP_LABEL_METRICS + OPTION_METRICS)
        arrays = (top.confidence, top.correct) if name in TOP_LABEL_METRICS else (p, y)
        if is_undefined(name, arrays):
            undefined.append(name)
            continue
        prepared[name] = prepare_metric(name, arrays, n_bins=n_bins, shared=shared)
    n = p.shape[0]
    values: dict[str, list[np.ndarray]] = {name: [np.empty(0)] for name in prepared}
    for w in count_chunks(n, n_resamples, seed) if n >= MIN_ITEMS else ():
        for name, prep in prepared.items():
            values[name].append(prep.kernel(w))
    out: dict[str, Interval] = {}
    for name in metrics:
        if name in undefined:
            out[name] = undefined_interval(level, n)
        else:
            out[name] = percentile_interval(prepared[name].estimate, np.concatenate(values[name]), level, n=n)
    return out


def summarize(
    probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 10, n_resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> Summary:
    """The standard summary (:data:`SUMMARY_METRICS`) with bootstrap CIs.

    Args:
        probs: ``(n, k)`` option probabilities (rows sum to 1).
        labels: ``(n,)`` index of the right option.

    Example:
        >>> p = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]])
        >>> s = summarize(p, np.array([0, 1, 1, 1]), n_resamples=50)
        >>> s.accuracy.estimate, sorted(s.to_json()["metrics"])[:3]
        (0.75, ['accuracy', 'aurc', 'auroc'])
    """
    intervals = option_intervals(
        probs, labels, metrics=SUMMARY_METRICS, n_bins=n_bins,
        n_resamples=n_resamples, level=level, seed=seed,
    )
    return Summary(**intervals, n_items=int(np.shape(probs)[0]), n_bins=int(n_bins), seed=int(seed))
