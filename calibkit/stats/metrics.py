"""Calibration and proper-scoring metrics on plain numpy arrays.

Two input shapes, checked at the boundary with the same messages everywhere:

* top-label pairs ``(confidence, correct)``: ``confidence`` shape ``(n,)``,
  floats in [0, 1], the probability of the predicted option; ``correct``
  shape ``(n,)``, bool or 0/1.
* option probabilities ``(probs, labels)``: ``probs`` shape ``(n, k)``, rows
  in [0, 1] summing to 1 (tolerance 1e-6); ``labels`` shape ``(n,)``,
  integers in ``[0, k)``. :func:`top_label` turns these into a pair.

Every function returns a float (or a small frozen dataclass) and takes its
options by keyword. AUROC, AURC and the risk-coverage curve live in
:mod:`calibkit.stats.discrimination` and are exported here too, so every
metric can be reached as ``metrics.<name>``. The bootstrap's table
(:mod:`calibkit.stats.resampled_metrics`) re-implements the hot ones in
vectorized form and is tested against these definitions.
This module must never import torch, netcal or plotting code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibkit.stats.binning import STRATEGIES, BinStats, bin_stats
from calibkit.stats.checks import check_choice, check_confidence_correct, check_n_bins, check_probs_labels, frozen
from calibkit.stats.discrimination import RiskCoverage, aurc, auroc, risk_coverage  # noqa: F401 (their home was here)
from calibkit.stats.kernels import brier_per_item, hits, nll_per_item

NORMS = ("l1", "l2", "max")
WEIGHTINGS = ("mass", "uniform")


@dataclass(frozen=True, eq=False)
class TopLabel:
    """Top-label view of option probabilities (arrays are read-only)."""

    confidence: np.ndarray  # (n,) float, probability of the predicted option
    correct: np.ndarray  # (n,) bool, whether the predicted option is the label
    predicted: np.ndarray  # (n,) int, argmax of the row (first option on ties)


def top_label(probs: np.ndarray, labels: np.ndarray) -> TopLabel:
    """Confidence (max probability) and correctness of the argmax option.

    Args:
        probs: ``(n, k)`` option probabilities, rows summing to 1.
        labels: ``(n,)`` index of the right option.

    Example:
        >>> t = top_label(np.array([[0.7, 0.3], [0.4, 0.6]]), np.array([0, 0]))
        >>> t.confidence.tolist(), t.correct.tolist()
        ([0.7, 0.6], [True, False])
    """
    p, y = check_probs_labels(probs, labels)
    pred = np.argmax(p, axis=1)
    return TopLabel(
        confidence=frozen(p[np.arange(p.shape[0]), pred]),
        correct=frozen(pred == y),
        predicted=frozen(pred),
    )


# ---------------------------------------------------------------------------
# ECE family


def ece(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
    norm: str = "l1",
    weighting: str = "mass",
) -> float:
    """Top-label expected calibration error and its relatives, in [0, 1].

    With ``d_j = |accuracy_j - mean_confidence_j|`` over the non-empty bins
    of :func:`calibkit.stats.binning.bin_stats` and ``w_j`` the bin weights:

    * ``norm="l1"`` (default): ECE, ``sum_j w_j d_j`` (Naeini et al. 2015;
      Guo et al. 2017). Equals netcal ``ECE(bins=n_bins).measure``.
    * ``norm="l2"``: RMS calibration error, ``sqrt(sum_j w_j d_j^2)``.
    * ``norm="max"``: MCE, ``max_j d_j`` (weights ignored); netcal ``MCE``.

    ``weighting="mass"`` weights bins by their share of items;
    ``weighting="uniform"`` gives every non-empty bin the same weight (the
    unweighted mean of the bins' gaps; netcal's ``ACE`` for l1).

    Kadavath et al. (2022, "Language Models (Mostly) Know What They Know")
    report the top-label ECE with 10 equal-mass bins: ``strategy="quantile"``
    with the default mass weighting (bootstrap name ``"ece_quantile"``).

    Args:
        confidence: ``(n,)`` floats in [0, 1].
        correct: ``(n,)`` bool or 0/1.
        n_bins: number of bins. strategy: ``"uniform"`` or ``"quantile"``.
        norm: ``"l1"``, ``"l2"`` or ``"max"``. weighting: ``"mass"`` or ``"uniform"``.

    Example:
        >>> round(ece([0.3, 0.9, 1.0], [0, 1, 1], n_bins=2), 6)  # (1 * 0.3 + 2 * 0.05) / 3
        0.133333
    """
    norm = check_choice("norm", norm, NORMS)
    weighting = check_choice("weighting", weighting, WEIGHTINGS)
    stats = bin_stats(confidence, correct, n_bins=n_bins, strategy=strategy)
    return calibration_error(stats, norm=norm, weighting=weighting)


def calibration_error(stats: BinStats, *, norm: str = "l1", weighting: str = "mass") -> float:
    """Reduce :class:`BinStats` to ECE (l1), RMS (l2) or MCE (max); see :func:`ece`.

    Example:
        >>> from calibkit.stats.binning import bin_stats
        >>> calibration_error(bin_stats([0.3, 0.9, 1.0], [0, 1, 1], n_bins=2), norm="max")
        0.3
    """
    norm = check_choice("norm", norm, NORMS)
    weighting = check_choice("weighting", weighting, WEIGHTINGS)
    full = stats.count > 0
    gap = np.abs(stats.accuracy[full] - stats.mean_confidence[full])
    if norm == "max":
        return float(gap.max())
    w = stats.weight[full] if weighting == "mass" else np.full(gap.shape, 1.0 / gap.shape[0])
    if norm == "l1":
        return float(np.dot(w, gap))
    return float(np.sqrt(np.dot(w, gap * gap)))


def rms_ce(confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = 10, strategy: str = "uniform") -> float:
    """RMS calibration error: :func:`ece` with ``norm="l2"``.

    Example:
        >>> round(rms_ce([0.3, 0.9, 1.0], [0, 1, 1], n_bins=2), 6)  # sqrt((0.3**2 + 2 * 0.05**2) / 3)
        0.177951
    """
    return ece(confidence, correct, n_bins=n_bins, strategy=strategy, norm="l2")


def mce(confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = 10, strategy: str = "uniform") -> float:
    """Maximum calibration error: :func:`ece` with ``norm="max"``.

    Example:
        >>> mce([0.3, 0.9, 1.0], [0, 1, 1], n_bins=2)
        0.3
    """
    return ece(confidence, correct, n_bins=n_bins, strategy=strategy, norm="max")


def debiased_l2_ce(confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = 10, strategy: str = "uniform") -> float:
    """Debiased L2 calibration error of Kumar, Liang & Ma (2019).

    Kumar, Liang & Ma, "Verified Uncertainty Calibration", NeurIPS 2019,
    Section 5 (their reference code: ``unbiased_l2_ce``). What it estimates:
    the L2 calibration error of the *binned* model,
    ``sqrt(sum_j P(B_j) (E[Y | B_j] - E[conf | B_j])^2)`` — a lower bound on
    the model's true L2 calibration error. The plug-in estimate
    (:func:`rms_ce`) is biased upward because each bin's accuracy is noisy;
    this estimator subtracts, in each bin with ``n_j >= 2`` items, the
    unbiased estimate of that noise, ``a_j (1 - a_j) / (n_j - 1)`` from the
    squared gap ``(a_j - c_j)^2`` (bins with fewer than 2 items contribute 0),
    weights bins by ``n_j / n``, clips the sum at 0 and takes the square
    root. It needs far fewer samples than the plug-in estimate for the same
    accuracy. Kumar et al. recommend equal-mass bins
    (``strategy="quantile"``); the default here matches :func:`ece`.

    Args and shapes as in :func:`ece`.

    Example:
        >>> debiased_l2_ce([0.6, 0.6, 0.6, 0.6], [1, 1, 0, 0], n_bins=1)  # 0.01 - 0.25 / 3 < 0
        0.0
    """
    stats = bin_stats(confidence, correct, n_bins=n_bins, strategy=strategy)
    n = stats.count.astype(np.float64)
    keep = n >= 2
    a = stats.accuracy[keep]
    c = stats.mean_confidence[keep]
    per_bin = (a - c) ** 2 - a * (1.0 - a) / (n[keep] - 1.0)
    square = float(np.dot(n[keep] / stats.n_items, per_bin))
    return float(np.sqrt(max(square, 0.0)))


def classwise_ece(probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 10, strategy: str = "uniform") -> float:
    """Classwise (marginal) ECE: the mean over options of a one-vs-rest ECE.

    For each option ``c``, bins ``probs[:, c]`` and compares it with whether
    ``labels == c`` (Kull et al. 2019, "Beyond temperature scaling",
    classwise-ECE; Kumar et al. 2019's marginal calibration error with
    ``p = 1``). Every option's probability counts, not only the top one.

    Args:
        probs: ``(n, k)``; labels: ``(n,)`` ints in ``[0, k)``.

    Example:
        >>> round(classwise_ece(np.array([[0.8, 0.2], [0.3, 0.7]]), np.array([0, 0]), n_bins=2), 6)
        0.45
    """
    p, y = check_probs_labels(probs, labels)
    n_bins = check_n_bins(n_bins)
    strategy = check_choice("strategy", strategy, STRATEGIES)
    per_class = [
        calibration_error(bin_stats(p[:, c], y == c, n_bins=n_bins, strategy=strategy))
        for c in range(p.shape[1])
    ]
    return float(np.mean(per_class))


def pooled_option_stats(
    probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 10, option_mask: np.ndarray | None = None
) -> BinStats:
    """The all-options pooled calibration chart's bins.

    Every option of every item is one point: its probability versus whether
    it is the right option (so ``n * k`` points, of which ``n`` are correct),
    in equal-count (``"quantile"``) bins, as Kadavath et al. (2022,
    Section 3) draw their multiple-choice calibration charts. Their ECE is
    the top-label one (``ece(..., strategy="quantile")``), not this.

    Args:
        option_mask: ``(n, k)`` bool, True where an item has that option;
            items with fewer options are padded with probability 0, and the
            padding must not count as points. None: every cell is an option.

    Example:
        >>> s = pooled_option_stats(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]), n_bins=2)
        >>> s.n_items, s.accuracy.tolist()
        (4, [0.5, 0.5])
    """
    p, y = check_probs_labels(probs, labels)
    hit = np.arange(p.shape[1])[None, :] == y[:, None]
    if option_mask is None:
        return bin_stats(p.ravel(), hit.ravel(), n_bins=n_bins, strategy="quantile")
    mask = np.asarray(option_mask, dtype=bool)
    if mask.shape != p.shape or not mask[np.arange(p.shape[0]), y].all():
        raise ValueError(f"option_mask must have shape {p.shape} and include every label's option")
    return bin_stats(p[mask], hit[mask], n_bins=n_bins, strategy="quantile")


def pooled_ece(
    probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 10, option_mask: np.ndarray | None = None
) -> float:
    """Mass-weighted l1 calibration error of :func:`pooled_option_stats` (all options pooled).

    Example:
        >>> round(pooled_ece(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]), n_bins=2), 6)  # |0.5 - 0.15|, |0.5 - 0.85|
        0.35
    """
    return calibration_error(pooled_option_stats(probs, labels, n_bins=n_bins, option_mask=option_mask))


@dataclass(frozen=True)
class BrierDecomposition:
    """Murphy's (1973) decomposition of the multiclass Brier score over binned forecasts.

    ``reliability - resolution + uncertainty`` equals ``brier`` exactly when
    every option's probability is the same for all items of a bin (binned
    forecasts); otherwise they differ by the within-bin terms of Stephenson,
    Coelho & Jolliffe (2008).
    """

    reliability: float  # calibration term: sum over options of sum_j w_j (mean prob_j - share right_j)^2, >= 0
    resolution: float  # sum over options of sum_j w_j (share right_j - base rate)^2, >= 0
    uncertainty: float  # sum over options of base rate (1 - base rate)
    brier: float  # the multiclass Brier score itself (brier_score)


def murphy_decomposition(probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 10) -> BrierDecomposition:
    """Reliability, resolution and uncertainty of the multiclass Brier score (Murphy 1973).

    The multiclass Brier score is the sum over options ``c`` of the binary
    Brier score of the forecast ``probs[:, c]`` for the event ``labels == c``;
    each is decomposed over ``n_bins`` equal-width bins of its forecast
    (:func:`calibkit.stats.binning.bin_stats`, bins weighted by their share
    ``w_j`` of items), and the terms are summed over options. For two options
    every term is twice the binary decomposition of the second option's
    probability, as :func:`brier_score` is twice scikit-learn's binary Brier.

    Example:
        >>> d = murphy_decomposition(np.array([[0.8, 0.2], [0.8, 0.2], [0.3, 0.7]]), np.array([0, 1, 1]), n_bins=10)
        >>> round(d.reliability, 6), round(d.resolution, 6), round(d.uncertainty, 6), round(d.brier, 6)
        (0.18, 0.111111, 0.444444, 0.513333)
    """
    p, y = check_probs_labels(probs, labels)
    terms = np.zeros(3)
    for c in range(p.shape[1]):
        stats = bin_stats(p[:, c], y == c, n_bins=n_bins)
        full = stats.count > 0
        w, acc, conf = stats.weight[full], stats.accuracy[full], stats.mean_confidence[full]
        base = float(np.mean(y == c))
        terms += [np.dot(w, (conf - acc) ** 2), np.dot(w, (acc - base) ** 2), base * (1.0 - base)]
    return BrierDecomposition(*(float(t) for t in terms), brier=float(np.mean(brier_per_item(p, y))))


def brier_reliability(probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 10) -> float:
    """The reliability (calibration) term of :func:`murphy_decomposition`; 0 for a calibrated binned forecast.

    Example:
        >>> p = np.array([[0.8, 0.2], [0.8, 0.2], [0.3, 0.7]])
        >>> round(brier_reliability(p, np.array([0, 1, 1])), 6)  # 2 x (2/3 x 0.3^2 + 1/3 x 0.3^2)
        0.18
    """
    return murphy_decomposition(probs, labels, n_bins=n_bins).reliability


# ---------------------------------------------------------------------------
# Proper scores and accuracy (means of per-item losses)


def ratio_of_sums(counts: np.ndarray, totals: np.ndarray) -> float:
    """``sum(counts) / sum(totals)``: a share pooled over items, NaN when the totals sum to 0.

    ``counts`` and ``totals`` are ``(n_items,)``, e.g. the shifted tokens and
    all tokens of each answer; resampling items in a bootstrap keeps each
    item's count with its total.

    Example:
        >>> ratio_of_sums(np.array([1, 0, 2]), np.array([2, 1, 5]))
        0.375
    """
    total = float(np.sum(totals))
    return float(np.sum(counts)) / total if total else float("nan")


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Share of items whose argmax option (first on ties) is the label.

    Example:
        >>> accuracy(np.array([[0.7, 0.3], [0.4, 0.6]]), np.array([0, 0]))
        0.5
    """
    p, y = check_probs_labels(probs, labels)
    return float(np.mean(hits(p, y)))


def binary_brier(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Binary Brier score of a confidence for correctness: mean of ``(c - y)^2`` over items, in [0, 1].

    ``confidence``: ``(n,)`` probabilities of being right; ``correct``: ``(n,)``
    0/1 (or bool). It is scikit-learn's ``brier_score_loss(correct, confidence)``
    and half :func:`brier_score` of the two options ``(1 - c, c)``.

    >>> binary_brier(np.array([0.9, 0.2]), np.array([1, 0]))
    0.025
    """
    c = np.asarray(confidence, dtype=np.float64)
    return float(np.mean((c - np.asarray(correct, dtype=np.float64)) ** 2))


def brier_score(probs: np.ndarray, labels: np.ndarray) -> float:
    """Multiclass Brier score: mean over items of ``sum_c (p_c - [y = c])^2``.

    This is Brier's (1950) original multiclass form, in [0, 2]. For two
    options it is twice scikit-learn's binary ``brier_score_loss(y, p_1)``
    (which scores only the positive class); it equals
    ``brier_score_loss(labels, probs, scale_by_half=False)`` in
    scikit-learn >= 1.7.

    Example:
        >>> round(brier_score(np.array([[0.7, 0.3], [0.4, 0.6]]), np.array([0, 0])), 6)  # (0.18 + 0.72) / 2
        0.45
    """
    p, y = check_probs_labels(probs, labels)
    return float(np.mean(brier_per_item(p, y)))


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the labels, in nats (natural log).

    ``-mean(ln max(p[i, labels[i]], eps))`` with ``eps`` = float64 machine
    epsilon (:data:`NLL_CLIP`), scikit-learn ``log_loss``'s clip.

    Example:
        >>> round(nll(np.array([[0.5, 0.5], [0.25, 0.75]]), np.array([0, 1])), 6)  # (ln 2 + ln 4/3) / 2
        0.490415
    """
    p, y = check_probs_labels(probs, labels)
    return float(np.mean(nll_per_item(p, y)))
