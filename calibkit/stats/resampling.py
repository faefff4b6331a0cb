"""The resamples every bootstrap interval in calibkit is computed on.

Resampling items with replacement is the same as giving each item an
integer multiplicity (how often it was drawn). The index matrix of
``n_resamples`` resamples depends only on ``(n, n_resamples, seed)``
(``numpy.random.default_rng(seed).integers(0, n, ...)``, drawn in chunks to
bound memory), so intervals for different metrics, temperatures or
callables are computed on the same resamples. The named metrics read the
resamples as a count matrix of shape ``(b, n)`` (:func:`count_chunks`);
callables are evaluated resample by resample (:func:`callable_values`).

This module must never import torch or plotting code.
"""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np

from calibkit.stats.checks import check_count, check_seed

#: Resamples are evaluated in chunks of about this many (resample, item) cells
#: (16 MB of float64 per array), which bounds memory at any n.
CHUNK_CELLS = 1 << 21


def resample_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """``(n_resamples, n)`` item indices drawn with replacement: the resamples every interval here uses.

    The same ``(n, n_resamples, seed)`` gives the same rows as the named
    metrics' resamples, so statistics computed elsewhere (a task's own
    vectorized statistic) are resampled identically.

    Example:
        >>> resample_indices(3, 2, 0).shape
        (2, 3)
    """
    return np.concatenate(list(index_chunks(n, check_count("n_resamples", n_resamples), check_seed(seed))))


def index_chunks(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Resample index matrices, shape ``(b, n)``; the draws depend only on (n, n_resamples, seed)."""
    rng = np.random.default_rng(seed)
    step = max(1, min(n_resamples, CHUNK_CELLS // n))
    for start in range(0, n_resamples, step):
        yield rng.integers(0, n, size=(min(step, n_resamples - start), n))


def count_chunks(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Multiplicity matrices, shape ``(b, n)`` float64, of successive chunks of the resamples of :func:`index_chunks`."""
    for idx in index_chunks(n, n_resamples, seed):
        b = idx.shape[0]
        flat = (idx + (np.arange(b, dtype=np.int64) * n)[:, None]).ravel()
        yield np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def callable_values(
    metric: Callable[..., float], arrays: tuple[np.ndarray, ...], *, n_resamples: int, seed: int
) -> np.ndarray:
    """``(n_resamples,)`` values of ``metric(*arrays)`` on each resample; NaN where it raised ``ValueError``.

    Raises:
        ValueError: the metric raised on every resample (its first message is kept).
    """
    out: list[float] = []
    first_error: ValueError | None = None
    for idx in index_chunks(arrays[0].shape[0], n_resamples, seed):
        for row in idx:
            try:
                out.append(float(metric(*(a[row] for a in arrays))))
            except ValueError as err:  # e.g. AUROC on a one-class resample
                first_error = first_error or err
                out.append(math.nan)
    values = np.asarray(out)
    if first_error is not None and not np.isfinite(values).any():
        raise ValueError(f"metric failed on every resample: {first_error}")
    return values
