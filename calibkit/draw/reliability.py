"""Calibration figures: the reliability diagram and Kadavath et al.'s pooled all-options chart.

Both draw binned statistics computed elsewhere
(:func:`calibkit.stats.binning.bin_stats`): per non-empty bin the mean
confidence against the share right, with Wilson intervals and the diagonal
of perfect calibration. Several runs are overlaid by passing
``{label: BinStats}``; a run keeps its colour (:data:`calibkit.draw.style.PALETTE`,
in the mapping's order) in every panel. Nothing here computes a metric.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from calibkit.draw.inputs import Bins, arg_name, as_runs, only, per_run, visible_bins
from calibkit.draw.labels import hover_label, with_number
from calibkit.draw.style import DIAGONAL, PALETTE, axis, error_bars, layout, rgba
from calibkit.stats.checks import check_choice

if TYPE_CHECKING:
    from calibkit.stats.binning import BinStats

BANDS = ("wilson", "none")
X_SCALES = ("linear", "log")


def reliability_diagram(
    stats: BinStats | Mapping[str, BinStats],
    *,
    ece: float | Mapping[str, float] | None = None,
    title: str | None = None,
    band: str = "wilson",
    show_histogram: bool = True,
) -> go.Figure:
    """Per-bin accuracy against mean confidence, with a confidence histogram.

    Draws, for each run, a point per non-empty bin at ``(mean_confidence,
    accuracy)``, its 95% Wilson interval as an error bar (``band="wilson"``),
    and a shaded bar over the bin's width from the accuracy to the mean
    confidence: the gap whose count-weighted mean is the ECE. The diagonal
    ``y = x`` is perfect calibration. Beneath, sharing the x axis, bars give
    the number of items per bin. Empty bins are absent, never drawn at 0.
    When runs are overlaid, each bin's width is split into one slot per run
    (in the mapping's order) for its gap shading and count bar, so no run's
    shading or bars hide another's; points stay at their mean confidence.

    Args:
        stats: one :class:`~calibkit.stats.binning.BinStats`, or ``{label: BinStats}``
            to overlay runs (drawn and coloured in the mapping's order).
        ece: the ECE to print (a fraction in [0, 1], shown to 3 decimals): a
            number for one run (goes in the title), or ``{label: ece}`` for
            several (goes in the legend; labels may be left out).
        title: figure title; default ``"Reliability diagram"``.
        band: ``"wilson"`` draws the Wilson intervals, ``"none"`` omits them.
        show_histogram: add the per-bin count panel beneath.

    Example:
        >>> from calibkit.stats.binning import bin_stats
        >>> s = bin_stats([0.2, 0.9, 0.95, 1.0], [0, 1, 0, 1], n_bins=5)
        >>> fig = reliability_diagram(s, ece=0.21)
        >>> [t.name for t in fig.data]
        ['perfect calibration', 'accuracy gap', 'accuracy', 'count']
    """
    runs, single = as_runs("stats", stats)
    bins = {label: visible_bins(arg_name("stats", label, single), s) for label, s in runs.items()}
    eces = per_run("ece", ece, runs, single)
    band = check_choice("band", band, BANDS)
    if not isinstance(show_histogram, bool):
        raise ValueError(f"show_histogram must be True or False, got {show_histogram!r}")

    rows = 2 if show_histogram else 1
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
        row_heights=[0.74, 0.26] if show_histogram else None,
    )
    fig.add_trace(_diagonal_trace(np.array([0.0, 1.0])), row=1, col=1)
    for i, (label, b) in enumerate(bins.items()):
        color = PALETTE[i % len(PALETTE)]
        name = "accuracy" if single else with_number(label, "ECE", eces[label])
        group = label or "accuracy"
        # Overlaid runs share each bin's width side by side, so gaps and bars never hide each other.
        width = (b.hi - b.lo) / len(bins)
        lo, hi = b.lo + i * width, b.lo + (i + 1) * width
        gap_name = "accuracy gap" if single else f"{label} gap"
        fig.add_trace(_gap_trace(b, lo=lo, hi=hi, color=color, name=gap_name, group=group), row=1, col=1)
        fig.add_trace(_accuracy_trace(b, color=color, name=name, group=group, band=band), row=1, col=1)
        if show_histogram:
            fig.add_trace(_count_trace(b, lo=lo, hi=hi, color=color, label=label, single=single, group=group),
                          row=2, col=1)

    head = title if title is not None else "Reliability diagram"
    if single and eces[only(runs)] is not None:
        head = f"{head} (ECE = {eces[only(runs)]:.3f})"
    _reliability_layout(fig, title=head, show_histogram=show_histogram)
    return fig


def _count_trace(b: Bins, *, lo: np.ndarray, hi: np.ndarray, color: str, label: str, single: bool,
                 group: str) -> go.Bar:
    """The items of each bin, as bars over the run's slot of the bin."""
    return go.Bar(
        x=(lo + hi) / 2.0,
        width=hi - lo,
        y=b.count,
        name="count" if single else f"{label} count",
        legendgroup=group,
        showlegend=False,
        marker=dict(color=rgba(color, 0.55), line=dict(color=color, width=1)),
        customdata=np.column_stack([b.lo, b.hi]),
        hovertemplate="bin [%{customdata[0]:.3f}, %{customdata[1]:.3f}]<br>n = %{y:,}"
        + f"<extra>{hover_label(label, single)}</extra>",
    )


def _reliability_layout(fig: go.Figure, *, title: str, show_histogram: bool) -> None:
    fig.update_layout(**layout(title=title, height=640 if show_histogram else 520))
    fig.update_layout(barmode="overlay", bargap=0.0)
    axis_range = [-0.02, 1.02]
    fig.update_xaxes(**axis(), range=axis_range)
    fig.update_yaxes(**axis())
    fig.update_yaxes(title_text="accuracy", range=axis_range, row=1, col=1)
    if show_histogram:
        fig.update_xaxes(title_text="confidence", row=2, col=1)
        fig.update_yaxes(title_text="items", rangemode="tozero", row=2, col=1)
    else:
        fig.update_xaxes(title_text="confidence", row=1, col=1)


def pooled_calibration_chart(
    stats: BinStats | Mapping[str, BinStats],
    *,
    ece: float | Mapping[str, float] | None = None,
    title: str | None = None,
    band: str = "wilson",
    x_scale: str = "linear",
) -> go.Figure:
    """Kadavath et al.'s pooled chart: each option's probability vs how often it is right.

    Takes statistics binned over every option of every item (equal-count
    bins, as :func:`calibkit.stats.metrics.pooled_option_stats` makes them) and
    draws per non-empty bin the mean option probability against the share of
    those options that are the correct one, with Wilson intervals and the
    diagonal. ``x_scale="log"`` spreads out the many low-probability options;
    bins with a mean probability of 0 cannot be placed on it and are left out.

    Args:
        stats: one ``BinStats`` or ``{label: BinStats}`` to overlay runs.
        ece: the pooled calibration error to print, as in
            :func:`reliability_diagram`.
        title: figure title; default ``"Calibration over all options"``.
        band: ``"wilson"`` or ``"none"``.
        x_scale: ``"linear"`` or ``"log"``.

    Example:
        >>> from calibkit.stats.binning import bin_stats
        >>> s = bin_stats([0.05, 0.1, 0.6, 0.9], [0, 0, 1, 1], n_bins=2, strategy="quantile")
        >>> [t.name for t in pooled_calibration_chart(s).data]
        ['perfect calibration', 'options']
    """
    runs, single = as_runs("stats", stats)
    bins = {label: visible_bins(arg_name("stats", label, single), s) for label, s in runs.items()}
    eces = per_run("ece", ece, runs, single)
    band = check_choice("band", band, BANDS)
    x_scale = check_choice("x_scale", x_scale, X_SCALES)
    if x_scale == "log":
        bins = {label: b.where(b.conf > 0) for label, b in bins.items()}

    if x_scale == "log":
        lowest = min([float(b.conf.min()) for b in bins.values() if b.conf.size] + [0.01])
        lowest = 10.0 ** math.floor(math.log10(lowest))  # the axis starts at a labelled decade (see below)
        diagonal_x = np.geomspace(lowest, 1.0, 60)
    else:
        diagonal_x = np.array([0.0, 1.0])
    fig = go.Figure()
    fig.add_trace(_diagonal_trace(diagonal_x))
    for i, (label, b) in enumerate(bins.items()):
        color = PALETTE[i % len(PALETTE)]
        name = "options" if single else with_number(label, "ECE", eces[label])
        fig.add_trace(_accuracy_trace(b, color=color, name=name, group=label or "options", band=band))

    head = title if title is not None else "Calibration over all options"
    if single and eces[only(runs)] is not None:
        head = f"{head} (ECE = {eces[only(runs)]:.3f})"
    fig.update_layout(**layout(title=head, height=520))
    # One labelled tick per decade (10^-3, 10^-2, ...): probabilities read badly with SI prefixes. The axis
    # starts at the decade at or below the lowest bin, so that decade is labelled too (plotly's own range
    # began just below the lowest point, leaving it no tick to its left).
    scale_options = {"range": [-0.02, 1.02]} if x_scale == "linear" else {
        "dtick": 1, "exponentformat": "power", "range": [math.log10(lowest) - 0.05, 0.05]}
    fig.update_xaxes(**axis(), type=x_scale, title_text="probability the model gives the option", **scale_options)
    fig.update_yaxes(**axis(), title_text="frequency the option is correct", range=[-0.02, 1.02])
    return fig


def _diagonal_trace(x: np.ndarray) -> go.Scatter:
    return go.Scatter(
        x=x, y=x, mode="lines", name="perfect calibration", line=DIAGONAL, hoverinfo="skip",
    )


def _gap_trace(b: Bins, *, lo: np.ndarray, hi: np.ndarray, color: str, name: str, group: str) -> go.Scatter:
    """One shaded rectangle per bin over ``[lo, hi]``, from the accuracy to the mean confidence."""
    # Rectangles are polygons separated by NaN; fill="toself" fills each piece on its own.
    x = np.column_stack([lo, hi, hi, lo, lo, np.full(lo.shape, np.nan)]).ravel()
    y = np.column_stack([b.acc, b.acc, b.conf, b.conf, b.acc, np.full(b.lo.shape, np.nan)]).ravel()
    return go.Scatter(
        x=x[:-1], y=y[:-1], mode="lines", fill="toself", fillcolor=rgba(color, 0.16),
        line=dict(width=0, color=color), name=name, legendgroup=group, showlegend=False,
        hoverinfo="skip", connectgaps=False,
    )


def _accuracy_trace(b: Bins, *, color: str, name: str, group: str, band: str) -> go.Scatter:
    error = None
    if band == "wilson":
        error = error_bars(b.acc, b.low, b.high, color=color, width=4, thickness=1.3)
    return go.Scatter(
        x=b.conf,
        y=b.acc,
        mode="lines+markers",
        name=name,
        legendgroup=group,
        line=dict(color=color, width=1.8),
        marker=dict(color=color, size=7, line=dict(color="white", width=1)),
        error_y=error,
        customdata=np.column_stack([b.count, b.low, b.high, b.lo, b.hi]),
        hovertemplate="confidence %{x:.3f}<br>accuracy %{y:.3f} [%{customdata[1]:.3f}, %{customdata[2]:.3f}]"
        "<br>n = %{customdata[0]:,}<br>bin [%{customdata[3]:.3f}, %{customdata[4]:.3f}]"
        + f"<extra>{hover_label(name, False)}</extra>",
    )
