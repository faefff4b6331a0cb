"""Curves of a metric against something swept: temperature, coverage, model size, layer.

:func:`temperature_curve` (a metric against the softmax temperature, with its
band), :func:`risk_coverage_curve` (selective accuracy against coverage),
:func:`size_curve` (a metric against parameters, log axis) and
:func:`layer_curve` (a metric per layer). Each takes tables or results
computed elsewhere and returns a ``plotly.graph_objects.Figure``; nothing
here computes a metric.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from calibkit.draw.inputs import arg_name, as_runs, check_marks, only, per_run, rc_arrays, sweep_arrays
from calibkit.draw.labels import (
    SWEEP_LABELS,
    AXIS_LABELS,
    float_column,
    hover_label,
    interval_labels,
    small_n_marks,
    small_n_note,
    with_number,
)
from calibkit.draw.style import MARK_LINE, PALETTE, axis, error_bars, layout, log_axis, rgba
from calibkit.stats.checks import check_choice

if TYPE_CHECKING:
    import pandas as pd

    from calibkit.stats.metrics import RiskCoverage

X_SCALES = ("linear", "log")
SWEEP_METRICS = ("ece", "nll", "brier")
SWEEP_COLUMNS = (
    "temperature", "accuracy",
    "ece", "ece_low", "ece_high",
    "brier", "brier_low", "brier_high",
    "nll", "nll_low", "nll_high",
)
SIZE_COLUMNS = ("n_parameters", "estimate", "low", "high")


def temperature_curve(
    sweep: pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    metric: str = "ece",
    fitted_temperature: float | Mapping[str, float] | None = None,
    marks: Sequence[float] | Mapping[str, float] = (2.5,),
    title: str | None = None,
    x_scale: str = "linear",
) -> go.Figure:
    """A calibration metric against the softmax temperature T, with its 95% band.

    Args:
        sweep: a table with one row per temperature and the columns
            ``temperature, accuracy, ece, ece_low, ece_high, brier,
            brier_low, brier_high, nll, nll_low, nll_high`` and optionally
            ``n, note`` (as :mod:`calibkit.stats.temperature` writes it), or
            ``{label: table}`` to overlay runs. Rows are drawn in order of
            temperature; rows whose metric is NaN are skipped, and the band
            only where both ends are finite (a small-n note is said under the
            title).
        metric: ``"ece"``, ``"nll"`` or ``"brier"``.
        fitted_temperature: the fitted T, drawn as a dashed vertical line: a
            number for one run, or ``{label: T}`` for several (labels may be
            left out).
        marks: temperatures to mark with dotted vertical lines; the default
            is Kadavath et al.'s T = 2.5 for RLHF models. A mapping
            ``{legend text: T}`` names the lines.
        title: figure title; default ``"<metric> vs temperature"``.
        x_scale: ``"linear"`` or ``"log"``.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"temperature": [1.0, 2.0], "accuracy": [0.5, 0.5],
        ...     "ece": [0.2, 0.1], "ece_low": [0.15, 0.05], "ece_high": [0.25, 0.15],
        ...     "brier": [0.4, 0.3], "brier_low": [0.3, 0.2], "brier_high": [0.5, 0.4],
        ...     "nll": [0.8, 0.7], "nll_low": [0.7, 0.6], "nll_high": [0.9, 0.8]})
        >>> fig = temperature_curve(t, fitted_temperature=1.8)
        >>> [t.name for t in fig.data], [s.x0 for s in fig.layout.shapes]
        (['95% interval', 'ece'], [1.8, 2.5])
    """
    runs, single = as_runs("sweep", sweep)
    metric = check_choice("metric", metric, SWEEP_METRICS)
    x_scale = check_choice("x_scale", x_scale, X_SCALES)
    tables = {label: sweep_arrays(arg_name("sweep", label, single), t, metric) for label, t in runs.items()}
    fitted = per_run("fitted_temperature", fitted_temperature, runs, single)
    for label, t in fitted.items():
        if t is not None and t <= 0:
            raise ValueError(f"{arg_name('fitted_temperature', label, single)} must be positive, got {t!r}")
    named_marks = check_marks(marks)

    fig = go.Figure()
    for i, (label, arrays) in enumerate(tables.items()):
        fig.add_traces(_metric_curve(arrays, metric=metric, color=PALETTE[i % len(PALETTE)], label=label,
                                     single=single))
    for i, (label, t) in enumerate(fitted.items()):
        if t is None:
            continue
        color = "#333" if single else PALETTE[i % len(PALETTE)]
        fig.add_shape(
            type="line", x0=t, x1=t, xref="x", y0=0, y1=1, yref="paper",
            line=dict(color=color, width=1.6, dash="dash"),
            name=f"fitted T = {t:.2f}" if single else f"{label}: fitted T = {t:.2f}",
            legendgroup=label or metric, showlegend=True,
        )
    for text, t in named_marks.items():
        fig.add_shape(
            type="line", x0=t, x1=t, xref="x", y0=0, y1=1, yref="paper",
            line=MARK_LINE, name=text, showlegend=True,
        )

    small_n_note(fig, [arrays[-1] for arrays in tables.values()])
    label = SWEEP_LABELS[metric]
    fig.update_layout(**layout(title=title if title is not None else f"{label.split(' ')[0]} vs temperature", height=460))
    swept = np.unique(np.concatenate([temp for temp, *_ in tables.values()]))
    fig.update_xaxes(**axis(), type=x_scale, title_text="temperature T (logits divided by T)",
                     **_temperature_ticks(swept, x_scale))
    fig.update_yaxes(**axis(), title_text=label, rangemode="tozero")
    return fig


def _metric_curve(arrays: tuple[np.ndarray, ...], *, metric: str, color: str, label: str,
                  single: bool) -> list[go.Scatter]:
    """One run's metric against T: the 95% band (where both ends are finite), then the line."""
    temp, value, low, high, labels = arrays
    group = label or metric
    banded = np.isfinite(low) & np.isfinite(high)
    band = go.Scatter(
        x=np.concatenate([temp[banded], temp[banded][::-1]]),
        y=np.concatenate([high[banded], low[banded][::-1]]),
        fill="toself", fillcolor=rgba(color, 0.18), line=dict(width=0), mode="lines",
        name="95% interval" if single else f"{label} 95% interval", legendgroup=group, showlegend=False,
        hoverinfo="skip",
    )
    line = go.Scatter(
        x=temp, y=value, mode="lines+markers", name=metric if single else label, legendgroup=group,
        line=dict(color=color, width=2), marker=dict(color=color, size=6),
        customdata=labels,
        hovertemplate="T = %{x:.3g}<br>" + metric + " %{y:.4f} %{customdata}"
        + f"<extra>{hover_label(label, single)}</extra>",
    )
    return [band, line]


def _temperature_ticks(swept: np.ndarray, x_scale: str) -> dict:
    """plotly labels a log axis's in-between ticks with bare digits (0.5 reads "5"): label the swept Ts instead.

    Beyond 15 temperatures their labels would overlap: 1-2-5 ticks from one at or below the lowest T.
    """
    if x_scale == "log" and swept.size <= 15:
        return dict(tickvals=swept, ticktext=[f"{t:g}" for t in swept])
    if x_scale == "log":
        return {k: v for k, v in log_axis(swept).items() if k != "type"}
    return {}


def risk_coverage_curve(
    rc: RiskCoverage | Mapping[str, RiskCoverage],
    *,
    title: str | None = None,
) -> go.Figure:
    """Selective accuracy against coverage, with AURC in the legend.

    Answering only the most confident items gives, at each coverage (share of
    items answered), the accuracy among the answered ones; a model whose
    confidence ranks its answers well has a curve that falls slowly.

    Args:
        rc: one :class:`~calibkit.stats.metrics.RiskCoverage` or ``{label: rc}``.
        title: figure title; default ``"Selective accuracy vs coverage"``
            (one run: its AURC is appended).

    Example:
        >>> from calibkit.stats.metrics import risk_coverage
        >>> fig = risk_coverage_curve({"m": risk_coverage([0.9, 0.8, 0.7], [1, 0, 1])})
        >>> fig.data[0].name
        'm (AURC = 0.278)'
    """
    runs, single = as_runs("rc", rc)
    curves = {label: rc_arrays(arg_name("rc", label, single), r) for label, r in runs.items()}
    fig = go.Figure()
    for i, (label, (coverage, accuracy, area)) in enumerate(curves.items()):
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=coverage,
                y=accuracy,
                mode="lines",
                name=with_number("selective accuracy" if single else label, "AURC", area),
                line=dict(color=color, width=2),
                hovertemplate="coverage %{x:.3f}<br>selective accuracy %{y:.3f}"
                + f"<extra>{hover_label(label, single)}</extra>",
            )
        )
    head = title if title is not None else "Selective accuracy vs coverage"
    if single:
        head = f"{head} (AURC = {curves[only(runs)][2]:.3f})"
    fig.update_layout(**layout(title=head, height=460))
    fig.update_xaxes(**axis(), title_text="coverage (share of items answered)", range=[0, 1.01])
    fig.update_yaxes(**axis(), title_text="selective accuracy")
    return fig


def size_curve(
    lines: Mapping[str, pd.DataFrame],
    *,
    metric: str,
    title: str | None = None,
) -> go.Figure:
    """A metric against model size (log axis), one line per model family and variant, with 95% error bars.

    Args:
        lines: ``{line label: table}``, each table with the columns
            ``n_parameters, estimate, low, high`` (one row per model), and
            optionally ``n`` and ``note``; rows are drawn in order of size, a
            NaN bound draws no bar, and a row with a note (the small-n rule)
            is marked with its n and the note is said under the title.
        metric: the metric's name, for the axis (``"ece"``, ``"accuracy"``, ...).
        title: figure title; default ``"<metric> vs parameters"``.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"n_parameters": [13e9, 7e9], "estimate": [0.1, 0.2], "low": [0.05, 0.1],
        ...                   "high": [0.15, 0.3]})
        >>> fig = size_curve({"llama-2 chat": t}, metric="ece")
        >>> fig.data[0].x.tolist(), fig.layout.xaxis.type
        ([7000000000.0, 13000000000.0], 'log')
    """
    if not isinstance(lines, Mapping) or not lines:
        raise ValueError("lines must be a non-empty mapping {line label: table}")
    fig = go.Figure()
    shown: list[np.ndarray] = []
    for i, (label, table) in enumerate(lines.items()):
        missing = [c for c in SIZE_COLUMNS if c not in getattr(table, "columns", ())]
        if missing:
            raise ValueError(f"lines[{label!r}] lacks the columns {', '.join(missing)}")
        t = table.sort_values("n_parameters")
        x, y = t["n_parameters"].to_numpy(float), float_column(t["estimate"])
        lo, hi = float_column(t["low"]), float_column(t["high"])
        color = PALETTE[i % len(PALETTE)]
        texts = interval_labels(t)
        shown.append(texts)
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines+markers+text", name=label, line=dict(color=color, width=2),
            marker=dict(color=color, size=8),
            error_y=error_bars(y, lo, hi, color=color, width=4),
            text=small_n_marks(t), textposition="top center", customdata=texts,
            hovertemplate="%{x:.3s} parameters<br>" + metric + " %{y:.4f} %{customdata}" + f"<extra>{label}</extra>",
        ))
    small_n_note(fig, shown)
    name = AXIS_LABELS.get(metric, metric)
    fig.update_layout(**layout(title=title if title is not None else f"{name.split(' (')[0]} vs parameters",
                                height=420))
    fig.update_xaxes(**axis(), title_text="parameters",
                     **log_axis(np.concatenate([tr.x for tr in fig.data]), unit_labels=True))
    fig.update_yaxes(**axis(), title_text=name)
    return fig


def layer_curve(table: pd.DataFrame, *, metric: str, chosen: int | None = None, title: str | None = None) -> go.Figure:
    """A metric per layer of a model (e.g. a probe's validation AUROC), the chosen layer marked.

    Args:
        table: the columns ``layer`` and ``metric``, one row per layer (NaN or
            None values are left out of the line).
        metric: the column to draw.
        chosen: a layer to mark with a dashed vertical line.
        title: figure title; default ``"<metric> by layer"``.

    Example:
        >>> import pandas as pd
        >>> fig = layer_curve(pd.DataFrame({"layer": [0, 1, 2], "auroc": [0.5, 0.7, 0.6]}), metric="auroc", chosen=1)
        >>> fig.data[0].y.tolist(), fig.layout.shapes[0].x0
        ([0.5, 0.7, 0.6], 1)
    """
    for column in ("layer", metric):
        if column not in getattr(table, "columns", ()):
            raise ValueError(f"table lacks the column {column!r}")
    t = table.sort_values("layer")
    y = float_column(t[metric])
    fig = go.Figure(go.Scatter(x=t["layer"].to_numpy(), y=y, mode="lines+markers", name=metric,
                               line=dict(color=PALETTE[0], width=2), marker=dict(size=6),
                               hovertemplate="layer %{x}<br>" + metric + " %{y:.4f}<extra></extra>"))
    if chosen is not None:
        fig.add_shape(type="line", x0=chosen, x1=chosen, xref="x", y0=0, y1=1, yref="paper",
                      line=dict(color="#333", width=1.4, dash="dash"), name=f"chosen layer {chosen}",
                      showlegend=True)
    fig.update_layout(**layout(title=title if title is not None else f"{metric} by layer", height=380))
    fig.update_xaxes(**axis(), title_text="layer (0: embeddings)")
    fig.update_yaxes(**axis(), title_text=metric)
    return fig
