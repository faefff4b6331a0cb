"""How well a signal ranks answers: the prediction rejection ratio (PRR), after LM-Polygraph.

AUROC, AURC, ECE and Spearman live in :mod:`calibkit.stats` already; PRR
is the one the uncertainty literature adds (Malinin et al. 2017; LM-Polygraph
0.7.0's ``PredictionRejectionArea`` normalised as its ``UEManager`` does).
Pure numpy, one item per row.
"""
from __future__ import annotations

import numpy as np


def prediction_rejection_area(uncertainty: object, quality: object) -> float:
    """Area under the prediction-rejection curve, LM-Polygraph's ``PredictionRejectionArea()(uncertainty, quality)``.

    Items are kept most certain first; at each number kept k = 1..n the
    mean quality of the kept items is a point of the curve, and the area is
    the mean of those n points. ``quality`` is min-max scaled first (a
    constant one becomes 0.5 everywhere, as LM-Polygraph's ``normalize``).
    Ties in ``uncertainty`` are broken as ``np.argsort`` breaks them, as there.

    Args:
        uncertainty: ``(n,)`` higher = more uncertain.
        quality: ``(n,)`` higher = better (1/0 for right/wrong).

    Example:
        >>> round(prediction_rejection_area([0.1, 0.9], [1, 0]), 6)  # keep 1: 1.0; keep 2: 0.5
        0.75
    """
    u = np.asarray(uncertainty, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    if u.ndim != 1 or u.shape != q.shape or u.size == 0:
        raise ValueError(f"uncertainty and quality must be 1-D of the same non-zero length, got {u.shape}, {q.shape}")
    low, high = q.min(), q.max()
    if np.isclose(low, high):
        low, high = low - 1, high + 1
    q = (q - low) / (high - low)
    kept_means = np.cumsum(q[np.argsort(u)]) / np.arange(1, u.size + 1)
    return float(kept_means.sum() / u.size)


def prr(confidence: object, correct: object) -> float:
    """Prediction rejection ratio of a confidence for correctness; 1 = oracle, 0 = random, higher = better.

    ``(PRA(signal) - PRA(random)) / (PRA(oracle) - PRA(random))`` with
    :func:`prediction_rejection_area`, the oracle ranking by correctness
    itself (LM-Polygraph: ``ue_metric(-metric, metric)``). The random
    area is its expectation, the mean quality (every kept set of a random
    order has the overall mean in expectation); LM-Polygraph estimates it by
    1000 seeded shuffles instead, which differs by Monte-Carlo noise. NaN
    when every answer is right or every one is wrong (no ranking to judge;
    LM-Polygraph then returns the unnormalised area).

    Args:
        confidence: ``(n,)`` higher = more confident (any scale: only the order counts).
        correct: ``(n,)`` bool or 0/1.

    Example:
        >>> prr([0.9, 0.8, 0.1], [1, 1, 0]), round(prr([0.1, 0.8, 0.9], [1, 1, 0]), 6)  # oracle; worst order
        (1.0, -1.25)
    """
    c = np.asarray(confidence, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if c.shape != y.shape or c.ndim != 1:
        raise ValueError(f"confidence and correct must be 1-D of the same length, got {c.shape}, {y.shape}")
    if y.size == 0 or y.min() == y.max():
        return float("nan")
    signal = prediction_rejection_area(-c, y)
    oracle = prediction_rejection_area(-y, y)
    random = float(y.mean())  # y is 0/1, so min-max scaling leaves it as it is
    return float((signal - random) / (oracle - random))


def prr_rows(confidence: np.ndarray, correct: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``(b,)`` :func:`prr` of ``(confidence[row], correct[row])`` for every row of ``index``, all at once.

    The same floating-point operations as :func:`prr` on each row, batched:
    ``np.argsort`` along the rows orders each row exactly as it orders the
    row alone, so ties keep the order in which the row lists its items (a
    bootstrap resample's draws, a permutation test's items) and the values
    are bit-for-bit :func:`prr`'s (tested). The oracle needs no sort: its
    kept items are the right ones first, whatever the tie order. NaN on a row
    whose items are all right or all wrong. No checks: the caller's.

    Args:
        confidence: ``(n,)`` float64, higher = more confident.
        correct: ``(n,)`` bool or 0/1.
        index: ``(b, m)`` int item indices, one data set per row.

    Example:
        >>> prr_rows(np.array([0.9, 0.8, 0.1]), np.array([1, 1, 0]), np.array([[2, 1, 0], [0, 0, 1]])).tolist()
        [1.0, nan]
    """
    b, m = index.shape
    order = np.argsort(-np.asarray(confidence, dtype=np.float64)[index], axis=1)
    order += (np.arange(b) * m)[:, None]  # flat positions: one gather instead of take_along_axis
    right_kept = np.cumsum(np.asarray(correct, dtype=bool)[index].ravel()[order], axis=1, dtype=np.int64)
    kept = np.arange(1, m + 1)
    signal = (right_kept / kept).sum(axis=1) / m  # whole counts, so the same floats as prr's cumsum of 0/1
    right = right_kept[:, -1]
    levels, which = np.unique(right, return_inverse=True)  # the oracle depends on the count of right items only
    oracle = (np.minimum(kept, levels[:, None]) / kept).sum(axis=1)[which.ravel()] / m
    random = right / m
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (signal - random) / (oracle - random)
    return np.where((right == 0) | (right == m), np.nan, out)
