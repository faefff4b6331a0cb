"""The checks of what a figure is given, and the plain arrays it draws from.

Every figure accepts one statistic or ``{run label: statistic}`` (:func:`as_runs`)
and reads it through these views, which raise ``ValueError`` naming the
argument when it is not what the figure needs: the non-empty bins of a
``BinStats`` (:class:`Bins`), a temperature-sweep table, a ``RiskCoverage``,
per-run numbers and marks. Nothing here draws or computes a metric.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from calibkit.draw.labels import interval_labels


@dataclass(frozen=True)
class Bins:
    """The non-empty bins of a BinStats, in bin order, shape ``(m,)`` each."""

    lo: np.ndarray  # lower bin edge
    hi: np.ndarray  # upper bin edge
    conf: np.ndarray  # mean confidence
    acc: np.ndarray  # accuracy
    low: np.ndarray  # Wilson lower end
    high: np.ndarray  # Wilson upper end
    count: np.ndarray  # items, int

    def where(self, keep: np.ndarray) -> Bins:
        return Bins(*(getattr(self, f)[keep] for f in ("lo", "hi", "conf", "acc", "low", "high", "count")))


def visible_bins(name: str, s: object) -> Bins:
    try:
        edges = np.asarray(s.edges, dtype=np.float64)
        count = np.asarray(s.count)
        conf = np.asarray(s.mean_confidence, dtype=np.float64)
        acc = np.asarray(s.accuracy, dtype=np.float64)
        low = np.asarray(s.accuracy_low, dtype=np.float64)
        high = np.asarray(s.accuracy_high, dtype=np.float64)
    except AttributeError:
        raise ValueError(f"{name} must be a BinStats, got {type(s).__name__}") from None
    n = count.shape[0] if count.ndim == 1 else -1
    if n < 1 or edges.shape != (n + 1,) or any(a.shape != (n,) for a in (conf, acc, low, high)):
        raise ValueError(
            f"{name} is inconsistent: edges {edges.shape}, count {count.shape}, mean_confidence {conf.shape}, "
            f"accuracy {acc.shape}, accuracy_low {low.shape}, accuracy_high {high.shape}; "
            "want (n_bins + 1,) edges and (n_bins,) for the rest"
        )
    # A bin is drawn only when it holds items; an empty bin's NaNs must never become a point at 0.
    keep = (count > 0) & np.isfinite(conf) & np.isfinite(acc)
    return Bins(
        lo=edges[:-1][keep], hi=edges[1:][keep], conf=conf[keep], acc=acc[keep],
        low=low[keep], high=high[keep], count=count[keep].astype(np.int64),
    )


def sweep_arrays(name: str, table: object, metric: str) -> tuple[np.ndarray, ...]:
    """(temperature, value, low, high, interval labels) sorted by temperature, NaN-metric rows dropped."""
    columns = getattr(table, "columns", None)
    if columns is None:
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(table).__name__}")
    needed = ("temperature", metric, f"{metric}_low", f"{metric}_high")
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ValueError(f"{name} is missing the column(s) {', '.join(missing)}")
    try:
        temp, value, low, high = (np.asarray(table[c], dtype=np.float64) for c in needed)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} columns {', '.join(needed)} must be numeric ({err})") from None
    if temp.size == 0:
        raise ValueError(f"{name} has no rows")
    if not np.all(np.isfinite(temp)) or np.any(temp <= 0):
        raise ValueError(f"{name}: temperature must be finite and positive")
    labels = interval_labels(table, estimate=metric, low=f"{metric}_low", high=f"{metric}_high")
    keep = np.isfinite(value)
    order = np.argsort(temp[keep], kind="stable")
    return tuple(a[keep][order] for a in (temp, value, low, high, labels))  # type: ignore[return-value]


def rc_arrays(name: str, rc: object) -> tuple[np.ndarray, np.ndarray, float]:
    try:
        coverage = np.asarray(rc.coverage, dtype=np.float64)
        accuracy = np.asarray(rc.selective_accuracy, dtype=np.float64)
        area = rc.aurc
    except AttributeError:
        raise ValueError(f"{name} must be a RiskCoverage, got {type(rc).__name__}") from None
    if coverage.ndim != 1 or coverage.size == 0 or accuracy.shape != coverage.shape:
        raise ValueError(
            f"{name}: coverage and selective_accuracy must be non-empty 1-d arrays of one length, "
            f"got {coverage.shape} and {accuracy.shape}"
        )
    order = np.argsort(coverage, kind="stable")
    return coverage[order], accuracy[order], check_number(f"{name}.aurc", area)


def as_runs(name: str, value: object) -> tuple[dict[str, object], bool]:
    """``({label: value}, single)``; one bare value gets the label ``""``."""
    if isinstance(value, Mapping):
        if not value:
            raise ValueError(f"{name} must not be an empty mapping")
        for key in value:
            if not isinstance(key, str) or not key:
                raise ValueError(f"{name} keys must be non-empty strings (run labels), got {key!r}")
        return dict(value), False
    return {"": value}, True


def per_run(name: str, value: object, runs: Mapping[str, object], single: bool) -> dict[str, float | None]:
    """One optional number per run, from a number (one run) or a mapping (several)."""
    if value is None:
        return {label: None for label in runs}
    if single:
        if isinstance(value, Mapping):
            raise ValueError(f"{name} must be a number when one run is drawn, got a mapping")
        return {"": check_number(name, value)}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping {{run label: number}} when several runs are drawn")
    unknown = [k for k in value if k not in runs]
    if unknown:
        raise ValueError(f"{name} has labels that are not among the runs: {', '.join(map(repr, unknown))}")
    return {
        label: check_number(f"{name}[{label!r}]", value[label]) if value.get(label) is not None else None
        for label in runs
    }


def check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_marks(marks: object) -> dict[str, float]:
    if isinstance(marks, Mapping):
        pairs = [(str(k), v) for k, v in marks.items()]
    elif isinstance(marks, (str, bytes)) or not isinstance(marks, Sequence):
        raise ValueError(f"marks must be a sequence of temperatures or a mapping {{text: T}}, got {marks!r}")
    else:
        pairs = [(None, v) for v in marks]
    out: dict[str, float] = {}
    for text, v in pairs:
        t = check_number("marks", v)
        if t <= 0:
            raise ValueError(f"marks must be positive temperatures, got {v!r}")
        out[text if text is not None else f"T = {t:g}"] = t
    return out


def arg_name(name: str, label: str, single: bool) -> str:
    return name if single else f"{name}[{label!r}]"


def only(runs: Mapping[str, object]) -> str:
    return next(iter(runs))
