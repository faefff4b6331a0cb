"""Top-label recalibration through netcal, fitted on one set and applied to another.

A recalibrator maps a model's top-label confidence to a new confidence that
should match the probability of being right. It is fitted on held-out
items ``(confidence, correct)`` — a *binary* problem: confidence of the
predicted option versus whether that prediction was correct — and applied
to the confidences of other items. The predicted option never changes, so
accuracy is unchanged and the recalibrated confidence is scored against the
same ``correct`` array (e.g. ``calibkit.stats.metrics.ece(new_conf, correct)``).
A recalibrated confidence may fall below ``1 / k``: it is a probability of
being right, no longer the largest of ``k`` option probabilities.

Methods (all from netcal, binary mode):

* ``"histogram"``: ``netcal.binning.HistogramBinning(bins=n_bins)`` —
  equal-width bins on [0, 1], each mapped to its training accuracy
  (Zadrozny & Elkan 2001); netcal maps a bin that saw no training items to
  the bin's mid-point.
* ``"isotonic"``: ``netcal.binning.IsotonicRegression()`` — monotone
  step function (Zadrozny & Elkan 2002; sklearn underneath).
* ``"beta"``: ``netcal.scaling.BetaCalibration(method="mle")`` —
  ``sigmoid(a ln c - b ln(1 - c) + m)`` (Kull et al. 2017).

Temperature scaling acts on all option logits, not on the top-label
confidence, and lives in :mod:`calibkit.stats.temperature`; it shares
:func:`fold_ids` for cross-fitting.

netcal is imported inside the functions that need it: it imports torch and
pyro and takes seconds to load. This module itself must never import torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from calibkit.stats.checks import check_choice, check_confidence, check_confidence_correct, check_n_bins, frozen

METHODS = ("histogram", "isotonic", "beta")


@dataclass(frozen=True)
class Recalibrator:
    """A fitted top-label recalibrator; apply it to new confidences.

    Example:
        >>> conf = np.array([0.6, 0.6, 0.9, 0.9, 0.9, 0.9])
        >>> r = fit_recalibrator(conf, np.array([1, 0, 1, 1, 1, 0]), method="histogram", n_bins=4)
        >>> r.apply(np.array([0.6, 0.95])).round(3).tolist()
        [0.5, 0.75]
    """

    method: str  # "histogram", "isotonic" or "beta"
    n_fit: int  # items it was fitted on
    model: Any  # the fitted netcal calibrator (binary mode)

    def apply(self, confidence: np.ndarray) -> np.ndarray:
        """Recalibrated confidences, shape ``(n,)``, in [0, 1]."""
        c = check_confidence(confidence)
        out = np.asarray(self.model.transform(c), dtype=np.float64).reshape(c.shape)
        return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class CrossFitRecalibration:
    """Cross-fitted recalibration: every item mapped by a recalibrator fitted without it."""

    method: str  # the recalibration method
    confidence: np.ndarray  # (n,) recalibrated confidences (read-only)
    folds: np.ndarray  # (n,) int, the fold of each item (read-only)


def fit_recalibrator(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    method: str = "isotonic",
    n_bins: int = 10,
) -> Recalibrator:
    """Fit a top-label recalibrator on held-out ``(confidence, correct)``.

    Args:
        confidence: ``(n,)`` top-label confidences in [0, 1].
        correct: ``(n,)`` bool or 0/1.
        method: one of :data:`METHODS`.
        n_bins: bins for ``"histogram"`` (ignored otherwise).

    Returns:
        A :class:`Recalibrator`; call ``.apply`` on other items.
    """
    c, y = check_confidence_correct(confidence, correct)
    method = check_choice("method", method, METHODS)
    n_bins = check_n_bins(n_bins)
    model = _new_model(method, n_bins)
    model.fit(c, y.astype(np.int64))
    return Recalibrator(method=method, n_fit=int(c.shape[0]), model=model)


def recalibrate(
    fit_confidence: np.ndarray,
    fit_correct: np.ndarray,
    confidence: np.ndarray,
    *,
    method: str = "isotonic",
    n_bins: int = 10,
) -> np.ndarray:
    """Fit on one set, return the recalibrated ``confidence`` of another, shape ``(n,)``.

    Example:
        >>> recalibrate([0.6, 0.6, 0.9, 0.9], [1, 0, 1, 1], [0.6, 0.9], method="histogram", n_bins=4).tolist()
        [0.5, 1.0]
    """
    return fit_recalibrator(fit_confidence, fit_correct, method=method, n_bins=n_bins).apply(confidence)


def cross_fit_recalibration(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    method: str = "isotonic",
    n_folds: int = 5,
    seed: int = 0,
    n_bins: int = 10,
) -> CrossFitRecalibration:
    """K-fold cross-fitted recalibration of one set's confidences.

    Each fold's items are recalibrated by a recalibrator fitted on the other
    folds, so the result can be scored on the same items without leakage.
    """
    c, y = check_confidence_correct(confidence, correct)
    folds = fold_ids(c.shape[0], n_folds=n_folds, seed=seed)
    out = np.empty_like(c)
    for f in range(n_folds):
        held = folds == f
        out[held] = fit_recalibrator(c[~held], y[~held], method=method, n_bins=n_bins).apply(c[held])
    return CrossFitRecalibration(method=method, confidence=frozen(out), folds=frozen(folds))


def fold_ids(n_items: int, *, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Random, balanced fold assignment, shape ``(n_items,)``, ints in ``[0, n_folds)``.

    Fold sizes differ by at most one. Deterministic given the seed.

    Example:
        >>> np.bincount(fold_ids(11, n_folds=3)).tolist()
        [4, 4, 3]
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ValueError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)) or n_items < n_folds:
        raise ValueError(f"n_items must be an integer >= n_folds ({n_folds}), got {n_items!r}")
    perm = np.random.default_rng(seed).permutation(int(n_items))
    folds = np.empty(int(n_items), dtype=np.int64)
    folds[perm] = np.arange(int(n_items)) % int(n_folds)
    return folds


def _new_model(method: str, n_bins: int) -> Any:
    # Lazy imports: netcal pulls in torch and pyro (seconds to import).
    if method == "histogram":
        from netcal.binning import HistogramBinning

        return HistogramBinning(bins=n_bins)
    if method == "isotonic":
        from netcal.binning import IsotonicRegression

        return IsotonicRegression()
    from netcal.scaling import BetaCalibration

    return BetaCalibration(method="mle")
