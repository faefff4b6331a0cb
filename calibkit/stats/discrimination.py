"""Discrimination and selective prediction: how well confidence ranks right answers above wrong ones.

AUROC of confidence as a score for correctness, and the risk-coverage curve
with its area (AURC), on top-label pairs ``(confidence, correct)`` checked
as in :mod:`calibkit.stats.metrics` (which also exports these names). The
weighted kernels they share with the bootstrap are in
:mod:`calibkit.stats.kernels`. This module must never import torch or
plotting code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibkit.stats.checks import check_confidence_correct, frozen
from calibkit.stats.kernels import aurc_weighted, auroc_weighted


@dataclass(frozen=True, eq=False)
class RiskCoverage:
    """Selective-prediction curve: answer only when confidence >= a threshold.

    One point per distinct confidence value, from the most confident
    threshold down to the least (coverage increasing to 1).
    """

    threshold: np.ndarray  # (m,) distinct confidences, decreasing
    coverage: np.ndarray  # (m,) share of items with confidence >= threshold, increasing to 1
    selective_accuracy: np.ndarray  # (m,) accuracy among those items
    selective_risk: np.ndarray  # (m,) 1 - selective_accuracy
    aurc: float  # area under the risk-coverage curve (see risk_coverage), lower is better


def auroc(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Area under the ROC curve of confidence as a score for correctness.

    The probability that a random correct item has higher confidence than a
    random wrong one, ties counting one half — equal to scikit-learn's
    ``roc_auc_score(correct, confidence)``, whose ROC joins tied scores by
    one straight segment.

    Raises:
        ValueError: if ``correct`` holds only one class (AUROC undefined).

    Example:
        >>> auroc([0.9, 0.8, 0.8, 0.6], [1, 1, 0, 0])  # (1 + 1) + (1 + 0.5) over 4 pairs
        0.875
    """
    c, y = check_confidence_correct(confidence, correct)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.shape[0]:
        raise ValueError("correct holds only one class; AUROC needs both correct and wrong items")
    return float(auroc_weighted(c, y, np.ones((1, c.shape[0])))[0])


def risk_coverage(confidence: np.ndarray, correct: np.ndarray) -> RiskCoverage:
    """Risk-coverage curve and its area (AURC) for selective prediction.

    Sort items by confidence, highest first; answering only the top ``m``
    items gives coverage ``m / n`` and selective risk = error rate among
    them. ``aurc`` is Geifman & El-Yaniv's area,
    ``(1 / n) sum_{m=1..n} risk(m)`` (Geifman, Uniyal & El-Yaniv 2019,
    "Bias-reduced uncertainty estimation for deep neural classifiers"), with
    one refinement: within a run of tied confidences the order of items is
    undefined, so ``risk(m)`` there is its expectation over random tie
    orders (the error count rises linearly through the run). Without ties
    this is the textbook value; with ties the result no longer depends on
    item order. In [0, 1]; lower is better; a perfect ranking of a model
    with error rate ``r`` scores about ``r + (1 - r) ln(1 - r)``.

    The returned curve has one point per distinct confidence (thresholds).

    Example:
        >>> rc = risk_coverage([0.9, 0.8, 0.7], [1, 0, 1])
        >>> rc.coverage.round(4).tolist(), rc.selective_risk.round(4).tolist(), round(rc.aurc, 6)  # (0 + 1/2 + 1/3) / 3
        ([0.3333, 0.6667, 1.0], [0.0, 0.5, 0.3333], 0.277778)
    """
    c, y = check_confidence_correct(confidence, correct)
    n = c.shape[0]
    order = np.argsort(-c, kind="stable")
    cs, ys = c[order], y[order].astype(np.float64)
    ends = np.flatnonzero(np.r_[cs[1:] != cs[:-1], True])  # last index of each tie run
    covered = (ends + 1).astype(np.float64)
    sel_acc = np.cumsum(ys)[ends] / covered
    return RiskCoverage(
        threshold=frozen(cs[ends]),
        coverage=frozen(covered / n),
        selective_accuracy=frozen(sel_acc),
        selective_risk=frozen(1.0 - sel_acc),
        aurc=float(aurc_weighted(c, y, np.ones((1, n)))[0]),
    )


def aurc(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Area under the risk-coverage curve; see :func:`risk_coverage`.

    Example:
        >>> round(aurc([0.9, 0.9, 0.7], [1, 0, 1]), 6)  # tie: risk(1) = 0.5, risk(2) = 0.5, risk(3) = 1/3
        0.444444
    """
    c, y = check_confidence_correct(confidence, correct)
    return float(aurc_weighted(c, y, np.ones((1, c.shape[0])))[0])
