"""The table of named metrics that calibkit resamples, each with its vectorized kernel.

One entry per named metric (:data:`TABLE`): which arrays it takes, whether
it can be undefined on some data, and how to prepare it: its estimate on
all items (from :mod:`calibkit.stats.metrics`, the definition) and a kernel
that evaluates it on many weighted data sets at once. A weight row ``w``
(shape ``(n,)`` of a ``(b, n)`` matrix) counts item ``i`` ``w[i]`` times:
bootstrap multiplicities, or 0/1 picks from a pooled sample in a
permutation test. Adding a metric is one entry.

* means of per-item values (accuracy, Brier score, NLL, ``"mean"``) are
  ``w @ values / w.sum()``;
* binned calibration errors sort or bin the items once and read each row's
  per-bin sums off one matrix product or cumulative sums
  (:class:`calibkit.stats.binned_sums.BinnedSums`); equal-mass
  (``"quantile"``) edges are recomputed for every row, so the binning is
  part of the bootstrap as it should be;
* AUROC and AURC use cumulative sums over sorted confidences
  (:mod:`calibkit.stats.kernels`), smooth ECE its own weighted kernel;
* PRR (:func:`calibkit.stats.signals.metrics.prr`) breaks confidence ties
  in the order its data set lists the items (``np.argsort``'s), which
  multiplicities do not keep: its kernel lists each row's items in item
  order, and :attr:`Prepared.by_index` evaluates the draws themselves, in
  the order drawn, so that a bootstrap or permutation test by name gives
  the callable's values bit for bit (:meth:`Prepared.chunks`).

The kernels are tested against the definitions on every resample
(``tests/stats/test_bootstrap.py``). This module must never import torch or
plotting code.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from calibkit.stats import kernels
from calibkit.stats import metrics as _m
from calibkit.stats.binned_sums import BinnedSums
from calibkit.stats.checks import check_confidence_correct, check_n_bins, check_probs_labels, check_values
from calibkit.stats.resampling import CHUNK_CELLS, count_chunks, index_chunks
from calibkit.stats.signals.metrics import prr, prr_rows
from calibkit.stats.smooth import SmoothECE, smooth_ece

Kernel = Callable[[np.ndarray], np.ndarray]  # (b, n) item weights -> (b,) metric values
IndexKernel = Callable[[np.ndarray], np.ndarray]  # (b, m) item indices, one data set per row -> (b,) metric values

#: what each kind of metric takes, in the words of the error messages
ARRAYS = {"top_label": "(confidence, correct)", "options": "(probs, labels)", "values": "(values,)"}


@dataclass(frozen=True)
class Prepared:
    """A named metric made ready for resampling on one set of arrays."""

    estimate: float  # metric on the full data, from calibkit.stats.metrics
    kernel: Kernel  # (b, n) multiplicities -> (b,) metric values
    n: int  # items
    # (b, m) item indices -> (b,): set where the value depends on the order a data set lists its items in
    # (PRR's ties), so that a caller holding the draws evaluates them as drawn, as a callable would
    by_index: IndexKernel | None = None

    def chunks(self, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
        """The resamples of :func:`calibkit.stats.resampling.index_chunks` in chunks, in the form
        :meth:`evaluate` reads: the draws where :attr:`by_index` is set, else ``(b, n)`` multiplicities."""
        return (count_chunks if self.by_index is None else index_chunks)(self.n, n_resamples, seed)

    def evaluate(self, chunk: np.ndarray) -> np.ndarray:
        """``(b,)`` values of the metric on one chunk of :meth:`chunks`."""
        return self.kernel(chunk) if self.by_index is None else self.by_index(chunk)


@dataclass(frozen=True)
class Inputs:
    """The checked arrays and options an entry's ``prepare`` reads."""

    x: np.ndarray  # confidence (n,) float | probs (n, k) float | values (n,) float
    y: np.ndarray | None  # correct (n,) bool | labels (n,) int | None for values
    n_bins: int  # bins of the binned metrics
    total: int | None  # every weight row's sum, where it is not n (a permutation test's pooled items)
    shared: dict[Any, Any] = field(default_factory=dict)  # binned sums shared by the metrics of one call

    def binned(self, strategy: str) -> BinnedSums:
        """The per-bin sums of (x, y) with ``strategy`` bins, built once per call and shared."""
        key = ("binned", id(self.x), id(self.y), self.n_bins, strategy, self.total)
        if key not in self.shared:
            self.shared[key] = BinnedSums(self.x, self.y, self.n_bins, strategy, self.total)
        return self.shared[key]


@dataclass(frozen=True)
class ResampledMetric:
    """One named metric of the table."""

    name: str  # what callers pass as ``metric``
    takes: str  # a key of ARRAYS: "top_label", "options" or "values"
    prepare: Callable[[Inputs], tuple[float, Kernel]]  # checked inputs -> (estimate, kernel)
    undefined_on_one_class: bool = False  # no value when every item is right or every item wrong (AUROC)
    by_index: Callable[[Inputs], IndexKernel] | None = None  # checked inputs -> Prepared.by_index


# ---------------------------------------------------------------------------
# How each kind of metric is prepared


def _mean_kernel(per_item: np.ndarray) -> Kernel:
    return lambda w: (w @ per_item) / w.sum(axis=1)


def _item_mean(definition: Callable[..., float], per_item: Callable[..., np.ndarray]):
    """A mean of per-item losses of (probs, labels): accuracy, Brier score, NLL."""
    return lambda i: (definition(i.x, i.y), _mean_kernel(per_item(i.x, i.y)))


def _mean(i: Inputs) -> tuple[float, Kernel]:
    """The mean of per-item values (e.g. 0/1 right answers): a permutation test's sign-flip in matrix form."""
    return float(np.mean(i.x)), _mean_kernel(i.x)


def _binned(definition: Callable[..., float], strategy: str, norm: str, weighting: str):
    """A binned calibration error of (confidence, correct), as :func:`calibkit.stats.metrics.ece` defines it."""
    return lambda i: (definition(i.x, i.y, n_bins=i.n_bins), i.binned(strategy).reducer(norm, weighting))


def _debiased_l2(i: Inputs) -> tuple[float, Kernel]:
    return _m.debiased_l2_ce(i.x, i.y, n_bins=i.n_bins), i.binned("uniform").debiased_l2


def _smooth_ece(i: Inputs) -> tuple[float, Kernel]:
    return smooth_ece(i.x, i.y), SmoothECE(i.x, i.y).values


def _weighted(definition: Callable[..., float], weighted: Callable[..., np.ndarray]):
    """A ranking measure of (confidence, correct) with a weighted kernel: AUROC, AURC."""
    return lambda i: (definition(i.x, i.y), functools.partial(weighted, i.x, i.y))


def _prr(i: Inputs) -> tuple[float, Kernel]:
    """PRR: each weight row's items in item order, each as often as it is counted (see :func:`_listed`)."""
    return prr(i.x, i.y), functools.partial(_listed, _prr_by_index(i))


def _prr_by_index(i: Inputs) -> IndexKernel:
    return functools.partial(prr_rows, i.x, i.y)


def _listed(by_index: IndexKernel, w: np.ndarray) -> np.ndarray:
    """An order-dependent metric on multiplicity rows: row r lists item i ``w[r, i]`` times, in item order.

    Rows of different sums (a cluster bootstrap's) are evaluated in groups of
    equal sum; an all-zero row is NaN.
    """
    counts = w.astype(np.int64)
    if (counts != w).any() or (counts < 0).any():
        raise ValueError("weights of an order-dependent metric (prr) must be whole multiplicities")
    totals = counts.sum(axis=1)
    out = np.full(w.shape[0], np.nan)
    items = np.arange(w.shape[1])
    for total in np.unique(totals[totals > 0]):
        rows = np.flatnonzero(totals == total)
        index = np.repeat(np.tile(items, rows.size), counts[rows].ravel()).reshape(rows.size, int(total))
        out[rows] = by_index(index)
    return out


def _per_option(i: Inputs) -> list[BinnedSums]:
    """Each option's probability against whether it is the label, equal-width bins."""
    return [BinnedSums(i.x[:, j], i.y == j, i.n_bins, "uniform") for j in range(i.x.shape[1])]


def _brier_reliability(i: Inputs) -> tuple[float, Kernel]:
    per_option = _per_option(i)
    kern = lambda w: np.sum([b.reliability(w) for b in per_option], axis=0)  # noqa: E731
    return _m.brier_reliability(i.x, i.y, n_bins=i.n_bins), kern


def _classwise_ece(i: Inputs) -> tuple[float, Kernel]:
    per_class = [b.reducer("l1", "mass") for b in _per_option(i)]
    kern = lambda w: np.mean([f(w) for f in per_class], axis=0)  # noqa: E731
    return _m.classwise_ece(i.x, i.y, n_bins=i.n_bins), kern


def _pooled_ece(i: Inputs) -> tuple[float, Kernel]:
    """Every option is a point; an item's multiplicity applies to all its options."""
    p, y = i.x, i.y
    n, k = p.shape
    hit = np.arange(k)[None, :] == y[:, None]
    pooled_total = None if i.total is None else i.total * k
    pooled = BinnedSums(p.ravel(), hit.ravel(), i.n_bins, "quantile", pooled_total).reducer("l1", "mass")
    rows = max(1, CHUNK_CELLS // (n * k))  # the pooled matrix is k times wider: keep memory bounded

    def kern(w: np.ndarray) -> np.ndarray:
        return np.concatenate([pooled(np.repeat(w[r : r + rows], k, axis=1)) for r in range(0, w.shape[0], rows)])

    return _m.pooled_ece(p, y, n_bins=i.n_bins), kern


# ---------------------------------------------------------------------------
# The table

_ENTRIES = (
    ResampledMetric("ece", "top_label", _binned(_m.ece, "uniform", "l1", "mass")),
    ResampledMetric("rms_ce", "top_label", _binned(_m.rms_ce, "uniform", "l2", "mass")),
    ResampledMetric("mce", "top_label", _binned(_m.mce, "uniform", "max", "mass")),
    # equal-mass bins: Kadavath et al.'s ECE
    ResampledMetric("ece_quantile", "top_label",
                    _binned(functools.partial(_m.ece, strategy="quantile"), "quantile", "l1", "mass")),
    # unweighted mean of the equal-width bins' gaps
    ResampledMetric("ece_bin_mean", "top_label",
                    _binned(functools.partial(_m.ece, weighting="uniform"), "uniform", "l1", "uniform")),
    ResampledMetric("debiased_l2", "top_label", _debiased_l2),
    ResampledMetric("smooth_ece", "top_label", _smooth_ece),
    ResampledMetric("auroc", "top_label", _weighted(_m.auroc, kernels.auroc_weighted), undefined_on_one_class=True),
    ResampledMetric("aurc", "top_label", _weighted(_m.aurc, kernels.aurc_weighted)),
    # NaN (not undefined) on one-class data, as the callable, so that both paths give the same intervals
    ResampledMetric("prr", "top_label", _prr, by_index=_prr_by_index),
    ResampledMetric("accuracy", "options", _item_mean(_m.accuracy, kernels.hits)),
    ResampledMetric("brier", "options", _item_mean(_m.brier_score, kernels.brier_per_item)),
    ResampledMetric("nll", "options", _item_mean(_m.nll, kernels.nll_per_item)),
    ResampledMetric("classwise_ece", "options", _classwise_ece),
    ResampledMetric("pooled_ece", "options", _pooled_ece),
    ResampledMetric("brier_reliability", "options", _brier_reliability),
    ResampledMetric("mean", "values", _mean),
)
#: every named metric by name, in the order of the error messages
TABLE: dict[str, ResampledMetric] = {e.name: e for e in _ENTRIES}
TOP_LABEL_METRICS = tuple(e.name for e in _ENTRIES if e.takes == "top_label")
OPTION_METRICS = tuple(e.name for e in _ENTRIES if e.takes == "options")
VALUE_METRICS = tuple(e.name for e in _ENTRIES if e.takes == "values")
METRICS = TOP_LABEL_METRICS + OPTION_METRICS + VALUE_METRICS


def prepare_metric(
    name: str,
    arrays: tuple[np.ndarray, ...],
    *,
    n_bins: int = 10,
    total: int | None = None,
    shared: dict[Any, Any] | None = None,
) -> Prepared:
    """A named metric's estimate on ``arrays`` and its kernel ``(b, n) weights -> (b,)`` values.

    Each weight row is one data set: item ``i`` counted ``w[i]`` times
    (bootstrap multiplicities, or 0/1 picks from a pooled sample in a
    permutation test). ``total`` is every row's weight sum (default ``n``),
    which equal-mass bins need to place their edges; the estimate is the
    metric on all of ``arrays``. ``shared``: a dict kept across the metrics
    of one call, so that ECE, RMS and MCE of the same arrays share their
    bin sums.

    Example:
        >>> prep = prepare_metric("accuracy", (np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0])))
        >>> prep.estimate, prep.kernel(np.array([[2.0, 0.0], [0.0, 2.0]])).tolist()
        (0.5, [1.0, 0.0])
    """
    if not isinstance(name, str) or name not in TABLE:
        raise ValueError(f"metric must be a callable or one of {', '.join(map(repr, METRICS))}; got {name!r}")
    entry = TABLE[name]
    want = 1 if entry.takes == "values" else 2
    if len(arrays) != want:
        raise ValueError(f"arrays for metric {name!r} must be {ARRAYS[entry.takes]}; got {len(arrays)} arrays")
    n_bins = check_n_bins(n_bins)
    if entry.takes == "top_label":
        x, y = check_confidence_correct(*arrays)
    elif entry.takes == "options":
        x, y = check_probs_labels(*arrays)
    else:
        x, y = check_values(arrays[0]), None
    inputs = Inputs(x, y, n_bins, total, {} if shared is None else shared)
    estimate, kernel = entry.prepare(inputs)
    by_index = None if entry.by_index is None else entry.by_index(inputs)
    return Prepared(float(estimate), kernel, x.shape[0], by_index)


def is_undefined(name: str, arrays: tuple[np.ndarray, ...]) -> bool:
    """Whether a named metric has no value on these data (AUROC with one class only); False for unknown names."""
    entry = TABLE.get(name) if isinstance(name, str) else None
    if entry is None or not entry.undefined_on_one_class or len(arrays) != 2:
        return False
    correct = np.asarray(arrays[1], dtype=bool)
    return correct.size > 0 and bool(correct.all() == correct.any())
