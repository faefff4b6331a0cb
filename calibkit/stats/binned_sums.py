"""Per-resample bin sums of one (confidence, correct) pair: the binned calibration errors, vectorized.

Each row of a weight matrix ``w`` (shape ``(b, n)``, bootstrap
multiplicities or 0/1 picks) is one data set; :class:`BinnedSums` gives every
row's per-bin count, confidence sum and correct count at once, and the
binned errors (ECE's norms and weightings, Brier's reliability term, Kumar
et al.'s debiased L2) from them. The definitions they reproduce are in
:mod:`calibkit.stats.metrics`; the table that names them is
:mod:`calibkit.stats.resampled_metrics`.

This module must never import torch or plotting code.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from calibkit.stats.binning import assign_bins, lerp, quantile_positions


class BinnedSums:
    """Per-resample bin sums of one (confidence, correct) pair.

    Equal-width bins: item bins are fixed, so the sums are one matrix
    product. Equal-mass bins: items are sorted by confidence once; each
    resample's edges give a contiguous range ``[pos_j, pos_{j+1})`` of sorted
    items per bin (those with ``e_j <= c < e_{j+1}``, the last bin closed),
    whose sums are differences of cumulative sums. The last multiplicity
    matrix's sums are cached, so ECE, RMS and MCE of one call share the work.
    """

    def __init__(self, c: np.ndarray, y: np.ndarray, n_bins: int, strategy: str, total: int | None = None) -> None:
        self.n_bins = n_bins
        self.strategy = strategy
        n = c.shape[0]
        if strategy == "uniform":
            # Fixed edges: one matrix product with per-item bin indicators
            # (scaled by 1, confidence, correct) gives all sums at once.
            ids = assign_bins(c, np.linspace(0.0, 1.0, n_bins + 1))
            onehot = np.zeros((n, n_bins))
            onehot[np.arange(n), ids] = 1.0
            self.design = np.hstack([onehot, onehot * c[:, None], onehot * y[:, None]])
        else:
            self.order = np.argsort(c, kind="stable")
            self.xs = c[self.order]
            self.ys = y[self.order].astype(np.float64)
            # a weight row sums to ``total`` items (n in a bootstrap; fewer than the pooled items in a
            # permutation test), so its equal-mass edges sit at ranks of a sample of that size
            m = n if total is None else int(total)
            q = quantile_positions(m, n_bins=n_bins)
            self.q_lo = np.floor(q).astype(np.int64)
            self.q_hi = np.minimum(self.q_lo + 1, m - 1)
            self.q_t = q - self.q_lo
        self._cache: tuple[np.ndarray, tuple[np.ndarray, ...]] | None = None

    def sums(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-bin (count, confidence sum, correct count), each ``(b, n_bins)``."""
        if self._cache is not None and self._cache[0] is w:
            return self._cache[1]  # type: ignore[return-value]
        if self.strategy == "uniform":
            out = tuple(np.split(w @ self.design, 3, axis=1))
        else:
            ws = np.take(w, self.order, axis=1)
            b, n = ws.shape
            cw = np.zeros((b, n + 1))
            np.cumsum(ws, axis=1, out=cw[:, 1:])
            pos = self._quantile_pos(cw)
            cx = np.zeros((b, n + 1))
            cy = np.zeros((b, n + 1))
            np.cumsum(ws * self.xs, axis=1, out=cx[:, 1:])
            np.cumsum(ws * self.ys, axis=1, out=cy[:, 1:])
            out = tuple(np.diff(np.take_along_axis(cum, pos, axis=1), axis=1) for cum in (cw, cx, cy))
        self._cache = (w, out)
        return out  # type: ignore[return-value]

    def _quantile_pos(self, cw: np.ndarray) -> np.ndarray:
        """Bin boundaries from each resample's own equal-mass edges.

        The resample's sorted value of rank ``r`` is ``xs[i]`` for the first
        ``i`` whose cumulative count exceeds ``r``; rows are searched at once
        by offsetting each row's (non-decreasing, <= n) counts by
        ``row * (n + 1)``. Edges are interpolated exactly as
        :func:`calibkit.stats.binning.quantile_edges` does on a sorted sample.
        """
        b, n1 = cw.shape
        n = n1 - 1
        offset = (np.arange(b, dtype=np.float64) * n1)[:, None]
        flat = (cw[:, 1:] + offset).ravel()
        lo = np.searchsorted(flat, (self.q_lo[None, :] + offset).ravel(), side="right").reshape(b, -1)
        hi = np.searchsorted(flat, (self.q_hi[None, :] + offset).ravel(), side="right").reshape(b, -1)
        row0 = (np.arange(b) * n)[:, None]
        edges = lerp(self.xs[lo - row0], self.xs[hi - row0], self.q_t[None, :])
        pos = np.searchsorted(self.xs, edges, side="left")
        pos[:, 0], pos[:, -1] = 0, n
        return pos

    def reducer(self, norm: str, weighting: str) -> Callable[[np.ndarray], np.ndarray]:
        """Kernel ``(b, n) -> (b,)`` for one norm and bin weighting (see metrics.ece)."""

        def kernel(w: np.ndarray) -> np.ndarray:
            count, sx, sy = self.sums(w)
            full = count > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                gap = np.where(full, np.abs(sy / count - sx / count), 0.0)
            if norm == "max":
                return gap.max(axis=1)
            if weighting == "mass":
                weight = count / count.sum(axis=1, keepdims=True)
            else:
                weight = full / full.sum(axis=1, keepdims=True)
            if norm == "l1":
                return np.sum(weight * gap, axis=1)
            return np.sqrt(np.sum(weight * gap * gap, axis=1))

        return kernel

    def reliability(self, w: np.ndarray) -> np.ndarray:
        """The reliability term of Murphy's Brier decomposition per row: mass-weighted squared bin gaps."""
        count, sx, sy = self.sums(w)
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = np.where(count > 0, (sy - sx) / count, 0.0)
        return np.sum(count * gap * gap, axis=1) / count.sum(axis=1)

    def debiased_l2(self, w: np.ndarray) -> np.ndarray:
        """Kumar et al.'s debiased L2 error per resample (see metrics.debiased_l2_ce)."""
        count, sx, sy = self.sums(w)
        keep = count >= 2
        with np.errstate(invalid="ignore", divide="ignore"):
            a = sy / count
            per_bin = np.where(keep, (a - sx / count) ** 2 - a * (1.0 - a) / (count - 1.0), 0.0)
        square = np.sum(count / count.sum(axis=1, keepdims=True) * per_bin, axis=1)
        return np.sqrt(np.maximum(square, 0.0))
