"""Distances between distributions and correlations between tables: pure numpy.

Jensen-Shannon divergence (bits), total variation, the multinomial
log-likelihood ratio against a uniform speaker, and Pearson / Spearman r
(row-wise, so a whole bootstrap is one call). Used to compare a model's
distribution over expressions with people's; knows nothing of any task.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def probability_rows(name: str, p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim < 1 or p.shape[-1] < 1:
        raise ValueError(f"{name} must have a last axis of outcomes, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    if not np.allclose(p.sum(axis=-1), 1.0, atol=1e-6):
        raise ValueError(f"{name} must sum to 1 along the last axis")
    return p


def _kl_to_mixture(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Terms of KL(p || (p+q)/2) in bits: p * log2(2p / (p + q)), with 0 log 0 = 0."""
    # Written with p + q rather than m = (p + q) / 2 so subnormal inputs cannot
    # underflow m to 0 (or overflow p / m); where p > 0 the ratio lies in (0, 2].
    p, q = np.broadcast_arrays(p, q)
    ratio = np.divide(2 * p, p + q, out=np.ones(p.shape), where=p > 0)
    return p * np.log2(ratio)


def jensen_shannon_bits(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits along the last axis; in [0, 1], symmetric.

    ``p`` and ``q`` broadcast, shape (..., E), each summing to 1.

    >>> float(jensen_shannon_bits([1.0, 0.0], [0.0, 1.0]))
    1.0
    """
    p, q = probability_rows("p", p), probability_rows("q", q)
    js = 0.5 * _kl_to_mixture(p, q).sum(axis=-1) + 0.5 * _kl_to_mixture(q, p).sum(axis=-1)
    return np.clip(js, 0.0, 1.0)  # float round-off can step a hair outside


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Total variation distance ``0.5 * sum|p - q|`` along the last axis; in [0, 1].

    >>> float(total_variation([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]))
    0.5
    """
    p, q = probability_rows("p", p), probability_rows("q", q)
    return 0.5 * np.abs(p - q).sum(axis=-1)


def smooth(q: np.ndarray, *, smoothing: float) -> np.ndarray:
    """Additive smoothing ``(q + eps) / (1 + E * eps)`` along the last axis.

    Keeps a model that gives an expression probability 0 from scoring
    ``-inf`` when someone chose it; equivalent to mixing ``q`` with the
    uniform distribution at weight ``E*eps / (1 + E*eps)``.
    """
    if not smoothing >= 0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing}")
    q = np.asarray(q, dtype=np.float64)
    return (q + smoothing) / (1.0 + q.shape[-1] * smoothing)


def log_likelihood_ratio_bits(counts: np.ndarray, q: np.ndarray, *, smoothing: float = 1e-3) -> np.ndarray:
    """Multinomial log-likelihood of ``counts`` under ``q`` minus under a uniform speaker, in bits.

    Per row: ``sum_e counts_e * log2(q~_e * E)`` where ``q~`` is ``q`` after
    :func:`smooth`; the multinomial coefficient cancels. Divide by the row's
    trials for bits per trial. Positive = the model beats a speaker who picks
    expressions at random. Shapes: counts (..., E) ints, q (..., E).

    >>> float(log_likelihood_ratio_bits([2, 0], [1.0, 0.0], smoothing=0))
    2.0
    """
    counts = np.asarray(counts, dtype=np.float64)
    q = probability_rows("q", q)
    if np.any(counts < 0):
        raise ValueError("counts must be non-negative")
    qs = smooth(q, smoothing=smoothing)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 * log(0) cells are dropped below
        terms = np.where(counts > 0, counts * np.log2(qs * q.shape[-1]), 0.0)
    return terms.sum(axis=-1)


def pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r along the last axis (broadcasting); nan where either side is constant."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    num = (xc * yc).sum(axis=-1)
    den = np.sqrt((xc * xc).sum(axis=-1) * (yc * yc).sum(axis=-1))
    # Test constancy exactly (ptp), not via den: the mean of a constant float
    # vector can differ from its entries in the last bit, leaving den ~ 1e-17.
    constant = (np.ptp(x, axis=-1) == 0) | (np.ptp(y, axis=-1) == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(constant, np.nan, num / np.where(constant, 1.0, den))
    return np.clip(r, -1.0, 1.0)


def pearson_r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two equal-length vectors (nan if either is constant)."""
    x, y = _paired_vectors(x, y)
    return float(pearson_rows(x, y))


def spearman_r(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties), as ``scipy.stats.spearmanr``."""
    x, y = _paired_vectors(x, y)
    return float(pearson_rows(rankdata(x), rankdata(y)))


def _paired_vectors(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"x and y must have the same length >= 2, got {x.size} and {y.size}")
    return x, y


