"""The computational kernels of :mod:`.metrics`, :mod:`.discrimination` and :mod:`.resampled_metrics`: no checks.

Per-item losses (one value per item) and weighted discrimination measures:
each row of ``weights`` (shape ``(b, n)``, non-negative item multiplicities
such as bootstrap counts) defines one data set. The metrics call these with
a single row of ones, the bootstrap with resample counts, so both share one
definition. Callers pass arrays already validated by :mod:`.checks`:
``p`` ``(n, k)`` float64 probabilities, ``y`` ``(n,)`` int labels (or bool
correctness for the weighted ones), ``c`` ``(n,)`` float64 confidences.
"""
from __future__ import annotations

import numpy as np


def softmax(z: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``, stable for any finite maximum; ``-inf`` entries get probability 0.

    >>> softmax(np.array([0.0, np.log(3.0), -np.inf])).round(6).tolist()
    [0.25, 0.75, 0.0]
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# Probabilities below this are raised to it before the log, as
# scikit-learn's log_loss does (float64 machine epsilon, about 2.2e-16), so a
# zero on the right answer costs -ln(eps) = 36.04 nats, not infinity.
NLL_CLIP = float(np.finfo(np.float64).eps)


def hits(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n,) 1.0 where the argmax option (first on ties) is the label."""
    return (np.argmax(p, axis=1) == y).astype(np.float64)


def brier_per_item(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n,) multiclass Brier score of each item, in [0, 2]."""
    onehot = np.zeros_like(p)
    onehot[np.arange(p.shape[0]), y] = 1.0
    return np.sum((p - onehot) ** 2, axis=1)


def nll_per_item(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n,) negative log-probability of each item's label, nats, probabilities clipped at :data:`NLL_CLIP`."""
    return -np.log(np.maximum(p[np.arange(p.shape[0]), y], NLL_CLIP))


def auroc_weighted(c: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUROC per weight row, ties counting 1/2; NaN if a class is absent."""
    order = np.argsort(c, kind="stable")
    cs, ys = c[order], y[order]
    w = np.take(weights, order, axis=1)  # np.take: much faster than w[:, order]
    starts, ends = tie_runs(cs)
    # Cumulative weight of wrong items; for a correct item in a tie run
    # [s, e), wrong items strictly below weigh neg[s] and those tied weigh
    # neg[e] - neg[s], so its credit is (neg[s] + neg[e]) / 2.
    neg = np.zeros((w.shape[0], w.shape[1] + 1))
    np.cumsum(w * ~ys, axis=1, out=neg[:, 1:])
    pos_idx = np.flatnonzero(ys)
    credit = 0.5 * (np.take(neg, starts[pos_idx], axis=1) + np.take(neg, ends[pos_idx], axis=1))
    w_pos = np.take(w, pos_idx, axis=1)
    num = np.einsum("bi,bi->b", w_pos, credit)
    n_pos = w_pos.sum(axis=1)
    n_neg = neg[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), out, np.nan)


def aurc_weighted(c: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AURC per weight row (integer weights), tie runs averaged over orders.

    Sorted by confidence (highest first), a tie run holding ``m`` items with
    ``e`` errors after ``a`` items with ``E`` errors contributes
    ``sum_{t=1..m} (E + t e / m) / (a + t) = e + (E - e a / m) dH`` with
    ``dH = H(a + m) - H(a)`` (harmonic numbers), so the area is a sum over
    runs, never over resampled items.
    """
    order = np.argsort(-c, kind="stable")
    cs, err = c[order], ~y[order]
    w = np.take(weights, order, axis=1)
    b, n = w.shape
    ends = np.flatnonzero(np.r_[cs[1:] != cs[:-1], True])  # last index of each run
    # cum_w[:, g + 1], cum_e[:, g + 1]: weight and errors up to the end of run g
    cum_w = np.zeros((b, ends.shape[0] + 1))
    cum_e = np.zeros((b, ends.shape[0] + 1))
    no_ties = ends.shape[0] == n
    if no_ties:  # every item is its own run
        np.cumsum(w, axis=1, out=cum_w[:, 1:])
        np.cumsum(w * err, axis=1, out=cum_e[:, 1:])
    else:
        cum_w[:, 1:] = np.take(np.cumsum(w, axis=1), ends, axis=1)
        cum_e[:, 1:] = np.take(np.cumsum(w * err, axis=1), ends, axis=1)
    total = cum_w[:, -1]
    harmonic = np.r_[0.0, np.cumsum(1.0 / np.arange(1, int(total.max()) + 1))]
    h = harmonic[cum_w.astype(np.int64)]  # weights are integers, so cum_w is exact
    d_h = h[:, 1:] - h[:, :-1]
    a, e_before = cum_w[:, :-1], cum_e[:, :-1]
    if no_ties:  # a run's error share e / m is the item's own error
        share = err.astype(np.float64)
    else:  # runs of weight 0 have e = 0 and d_h = 0; max(m, 1) only avoids 0/0 there
        share = (cum_e[:, 1:] - e_before) / np.maximum(cum_w[:, 1:] - a, 1.0)
    inner = (e_before - share * a) * d_h
    return (cum_e[:, -1] + inner.sum(axis=1)) / total


def tie_runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position of a sorted array, the start and exclusive end of its run of equal values."""
    n = sorted_values.shape[0]
    new = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    run_id = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    last = np.r_[first[1:], n]
    return first[run_id], last[run_id]
