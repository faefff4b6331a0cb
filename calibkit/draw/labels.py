"""What figures write beside their numbers: interval labels, the small-n marks and note, legend names.

A table with intervals (columns ``estimate, low, high`` and optionally
``n, note``, as every calibkit table with intervals has them) gives each
point a label ``"[low, high] n=..."`` or, where the small-n rule left the
estimate alone, its note; :func:`small_n_marks` writes ``"n=5"`` over those
estimates and :func:`small_n_note` says once, under the title, why they have
no whiskers. Text only: nothing here draws a trace or computes a statistic.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import plotly.graph_objects as go

if TYPE_CHECKING:
    import pandas as pd

#: the y-axis titles of the temperature curves, by sweep metric (plotly pages and paper figures alike)
SWEEP_LABELS = {"ece": "ECE", "nll": "NLL (nats per item)", "brier": "Brier score"}

#: axis titles of the metrics that tables of intervals hold, by metric name (others: the name itself)
AXIS_LABELS = {"accuracy": "accuracy", "ece": "ECE (10 equal-width bins)", "brier": "Brier score",
                       "auroc": "AUROC (confidence vs correct)", "nll": "NLL (nats per item)",
                       "ece_quantile": "ECE (10 equal-mass bins)"}


def interval_labels(table: pd.DataFrame, *, estimate: str = "estimate", low: str = "low",
                    high: str = "high") -> np.ndarray:
    """Per row, what a chart says about the interval: ``"[low, high] n=..."``, or the small-n note in its place.

    Reads the optional columns ``n`` and ``note`` (as every calibkit table with intervals has them); a row
    with a note (the small-n rule) is drawn without whiskers, and its label says why.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"estimate": [0.4, 0.5], "low": [0.3, np.nan], "high": [0.5, np.nan], "n": [40, 5],
        ...                   "note": [None, "n too small for an interval (n=5 < 20)"]})
        >>> interval_labels(t).tolist()
        ['[0.3000, 0.5000] n=40', 'n too small for an interval (n=5 < 20)']
    """
    rows = len(table)
    ns = table["n"].tolist() if "n" in table else [None] * rows
    notes = table["note"].tolist() if "note" in table else [None] * rows
    out = []
    for lo, hi, n, note in zip(float_column(table[low]), float_column(table[high]), ns, notes):
        if isinstance(note, str) and note:
            out.append(note)
            continue
        text = f"[{lo:.4f}, {hi:.4f}]" if np.isfinite(lo) and np.isfinite(hi) else "no interval"
        out.append(text if missing(n) else f"{text} n={int(n)}")
    return np.array(out, dtype=object)


def missing(x: object) -> bool:
    """None, NaN or pandas' NA (pandas writes a missing n as NaN, a nullable column as NA)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return True
    return type(x).__name__ in ("NAType", "NaTType")


def small_n_marks(table: pd.DataFrame) -> list[str]:
    """``"n=5"`` over each estimate the small-n rule left without an interval; empty elsewhere."""
    if "note" not in table:
        return [""] * len(table)
    ns = table["n"].tolist() if "n" in table else [None] * len(table)
    return [f"n={int(n)}" if isinstance(note, str) and note and not missing(n) else ""
            for note, n in zip(table["note"].tolist(), ns)]


def small_n_note(fig: go.Figure, labels: Sequence[np.ndarray]) -> None:
    """Say under the title why some estimates stand without whiskers or band (the small-n rule)."""
    notes = sorted({str(x) for arr in labels for x in arr if str(x).startswith("n too small")})
    if notes:
        fig.add_annotation(text="no interval drawn: " + "; ".join(notes), xref="paper", yref="paper", x=0, y=1.02,
                           xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=11, color="#555"))


def float_column(column: object) -> np.ndarray:
    """A column as float64; None, NaN and pandas' NA (a nullable ``Float64`` column) as NaN."""
    return np.array([np.nan if missing(v) else float(v) for v in column], dtype=np.float64)


def with_number(label: str, what: str, value: float | None) -> str:
    return label if value is None else f"{label} ({what} = {value:.3f})"


def hover_label(label: str, single: bool) -> str:
    return "" if single else label
