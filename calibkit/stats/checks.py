"""Input checks of the statistics layer: one copy, public, each raising ``ValueError`` that names the argument.

Every public function of :mod:`calibkit.stats` checks its inputs here at
its boundary (scikit-learn's rule); the checks return the validated arrays
so a caller never converts twice.
"""
from __future__ import annotations

import numpy as np


def frozen(a: np.ndarray) -> np.ndarray:
    """A read-only copy: arrays inside frozen dataclasses must not change under them."""
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


PROB_SUM_TOL = 1e-6  # how far an option-probability row may stray from summing to 1


def check_n_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    return int(n_bins)


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def as_float_array(name: str, x: object, ndim: int) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array ({err})") from None
    if a.ndim != ndim:
        want = "(n,)" if ndim == 1 else "(n, k)"
        raise ValueError(f"{name} must have shape {want}, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} must not be empty")
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN")
    return a


def check_confidence(confidence: object, name: str = "confidence") -> np.ndarray:
    c = as_float_array(name, confidence, 1)
    if c.min() < 0.0 or c.max() > 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got values in [{c.min():.6g}, {c.max():.6g}]")
    return c


def check_confidence_correct(confidence: object, correct: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate a top-label pair; returns float64 confidence and bool correct."""
    c = check_confidence(confidence)
    y = as_float_array("correct", correct, 1)
    if y.shape[0] != c.shape[0]:
        raise ValueError(
            f"correct must have the same length as confidence ({y.shape[0]} != {c.shape[0]})"
        )
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("correct must hold only booleans or 0/1 values")
    return c, y.astype(bool)


def check_probs(probs: object, name: str = "probs") -> np.ndarray:
    p = as_float_array(name, probs, 2)
    if p.shape[1] == 0:
        raise ValueError(f"{name} must have at least one option (column), got shape {p.shape}")
    if p.min() < 0.0 or p.max() > 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got values in [{p.min():.6g}, {p.max():.6g}]")
    worst = float(np.abs(p.sum(axis=1) - 1.0).max())
    if worst > PROB_SUM_TOL:
        raise ValueError(f"{name} rows must sum to 1 (tolerance {PROB_SUM_TOL:g}); worst row is off by {worst:.3g}")
    return p


def check_labels(labels: object, *, n_items: int, n_classes: int, name: str = "labels") -> np.ndarray:
    """Validate integer class labels in ``[0, n_classes)``; returns int64."""
    y = as_float_array(name, labels, 1)
    if y.shape[0] != n_items:
        raise ValueError(f"{name} must have one entry per row ({y.shape[0]} != {n_items})")
    if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
        raise ValueError(f"{name} must hold integer class indices")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"{name} must lie in [0, {n_classes}) for {n_classes} options, "
            f"got values in [{int(y.min())}, {int(y.max())}]"
        )
    return y.astype(np.int64)


def check_probs_labels(probs: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate an option-probability matrix and its labels."""
    p = check_probs(probs)
    return p, check_labels(labels, n_items=p.shape[0], n_classes=p.shape[1])


def check_level(level: float) -> float:
    # "not 0 < level < 1" is also true for NaN
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    return float(level)


def check_count(name: str, value: int) -> int:
    """A positive integer such as a number of resamples."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_seed(seed: int) -> int:
    """A seed for ``numpy.random.default_rng``: a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_resampling(level: float, n_resamples: int, seed: int) -> tuple[float, int, int]:
    """The options every resampling procedure takes: (level, n_resamples, seed), checked."""
    return check_level(level), check_count("n_resamples", n_resamples), check_seed(seed)


def check_values(values: object, name: str = "values") -> np.ndarray:
    """Per-item values ``(n,)`` (bool or numeric), finite; returns float64."""
    v = as_float_array(name, values, 1)
    if not np.isfinite(v).all():
        raise ValueError(f"{name} must be finite (no inf)")
    return v


def check_same_length(arrays: tuple[object, ...], name: str) -> tuple[np.ndarray, ...]:
    """One or more arrays with one row per item, all of one non-zero length; returns them as arrays."""
    if len(arrays) == 0:
        raise ValueError(f"{name} must hold at least one array")
    out = tuple(np.asarray(a) for a in arrays)
    if any(a.ndim == 0 for a in out):
        raise ValueError(f"{name} must be arrays with one row per item, not scalars")
    n = out[0].shape[0]
    if n == 0:
        raise ValueError(f"{name} must not be empty")
    if any(a.shape[0] != n for a in out):
        raise ValueError(f"{name} must all have the same length, got {[a.shape[0] for a in out]}")
    return out
