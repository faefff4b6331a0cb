"""Bar charts of one metric per group: a bar per model side by side, with 95% error bars.

:func:`benchmark_chart` takes a table computed elsewhere (one row per
(benchmark, model), with its interval) and returns a
``plotly.graph_objects.Figure``; a bar whose interval is missing draws no
whisker, and an estimate the small-n rule left alone is marked with its n.
Nothing here computes a metric.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from calibkit.draw.labels import AXIS_LABELS, float_column, interval_labels, small_n_marks, small_n_note
from calibkit.draw.style import PALETTE, axis, error_bars, layout

if TYPE_CHECKING:
    import pandas as pd

BENCHMARK_COLUMNS = ("benchmark", "model", "estimate", "low", "high")


def benchmark_chart(table: pd.DataFrame, *, metric: str, title: str | None = None,
                    x_title: str = "benchmark") -> go.Figure:
    """One metric per benchmark, a bar per model side by side, with 95% error bars.

    Args:
        table: the columns ``benchmark, model, estimate, low, high``, one row
            per (benchmark, model), and optionally ``n`` and ``note``;
            benchmarks and models keep their order of first appearance; a NaN
            bound draws no bar, and a row with a note (the small-n rule) is
            labelled with its n and the note is said under the title.
        metric: the metric's name, for the axis.
        title: figure title; default ``"<metric> per benchmark"``.
        x_title: the x axis's title (what the ``benchmark`` column holds).

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"benchmark": ["arc", "arc"], "model": ["base", "chat"], "estimate": [0.1, 0.2],
        ...                   "low": [0.05, 0.1], "high": [0.15, 0.3]})
        >>> [tr.name for tr in benchmark_chart(t, metric="ece").data]
        ['base', 'chat']
    """
    missing = [c for c in BENCHMARK_COLUMNS if c not in getattr(table, "columns", ())]
    if missing:
        raise ValueError(f"table lacks the columns {', '.join(missing)}")
    fig = go.Figure()
    shown: list[np.ndarray] = []
    for i, model in enumerate(dict.fromkeys(table["model"])):
        t = table[table["model"] == model]
        y, lo, hi = (float_column(t[c]) for c in ("estimate", "low", "high"))
        color = PALETTE[i % len(PALETTE)]
        texts = interval_labels(t)
        shown.append(texts)
        fig.add_trace(go.Bar(
            x=t["benchmark"].tolist(), y=y, name=str(model), marker_color=color,
            error_y=error_bars(y, lo, hi, color="#333", width=3),
            text=small_n_marks(t), textposition="outside", customdata=texts,
            hovertemplate="%{x}<br>" + metric + " %{y:.4f} %{customdata}" + f"<extra>{model}</extra>",
        ))
    small_n_note(fig, shown)
    name = AXIS_LABELS.get(metric, metric)
    fig.update_layout(**layout(title=title if title is not None else f"{name.split(' (')[0]} per benchmark",
                                height=420), barmode="group")
    fig.update_xaxes(**axis(), title_text=x_title)
    fig.update_yaxes(**axis(), title_text=name, rangemode="tozero")
    return fig
