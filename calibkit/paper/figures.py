"""Paper figures with matplotlib: the same computed inputs as the plotly figures, drawn at ACL sizes.

Each function takes what its plotly twin in :mod:`calibkit.draw` takes (a
``BinStats`` or ``{run label: BinStats}``, a temperature-sweep table, a
``RiskCoverage``, tables with intervals; checked by the same views,
:mod:`calibkit.draw.inputs`) plus ``roles`` (``{run label: "base" | "chat"}``:
the two fixed colours, :func:`calibkit.paper.style.run_looks`) and ``width``
(``"column"`` 7.7 cm or ``"page"`` 16 cm), and returns a
``matplotlib.figure.Figure`` without a title (the caption says it) and with
every interval the input carries drawn. :func:`save_figure` writes it as a
vector PDF and a 300-dpi PNG at exactly that size.

* :func:`reliability_figure` — reliability diagram, one run or several overlaid, counts beneath;
* :func:`pooled_figure` — Kadavath et al.'s chart over all options;
* :func:`temperature_figure` — a metric against the softmax temperature, with its band;
* :func:`size_figure` — a metric against parameters (log axis);
* :func:`rejection_figure` — selective accuracy against coverage (risk-coverage), AURC in the legend;
* :func:`people_figure` — Herbstritt & Franke: model probability vs share of people, a panel per model;
* :func:`words_figure` — the model's accuracy when it says an expression vs people's reading of it;
* :func:`grouped_bars` — a metric per group, a bar per model (the token-shift bars, benchmarks).

Drawing only: nothing here computes a statistic; pyplot is never imported.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from calibkit.draw.inputs import (
    Bins,
    arg_name,
    as_runs,
    check_marks,
    per_run,
    rc_arrays,
    sweep_arrays,
    visible_bins,
)
from calibkit.draw.labels import AXIS_LABELS, SWEEP_LABELS, float_column, missing
from calibkit.draw.style import log_axis
from calibkit.paper.numbers import Cell, cell_text, fixed
from calibkit.paper.style import DPI, GREY, INTERVAL_ALPHA, figure_size, paper_style, run_looks

MAX_SIZE_TICKS = 5  # labelled ticks a size axis holds at column width (7.7 cm at 9 pt)
INSIDE_LEGEND_ENTRIES = 3  # a legend with more entries goes below the axes ...
LEGEND_ROW_INCHES = 0.16  # one 8 pt legend row with its spacing
INSIDE_LEGEND_CHARACTERS = 24  # ... and so does one with a longer entry (it would cover a third of a column)


def new_figure(width: str, height_ratio: float, **subplots: Any):
    """A constrained-layout figure of the paper size and its axes (no pyplot: no backend is chosen)."""
    from matplotlib.figure import Figure

    with paper_style():
        fig = Figure(figsize=figure_size(width, height_ratio), layout="constrained")
        axes = fig.subplots(**subplots) if subplots else fig.subplots()
    return fig, axes


def save_figure(fig, stem: str | Path) -> list[Path]:
    """Write ``<stem>.pdf`` (vector, fonts embedded) and ``<stem>.png`` (300 dpi) at the figure's own size.

    Never crops (no ``bbox_inches="tight"``), so the files are exactly the
    width the figure was made for; the PDF carries no creation date, so the
    same figure gives the same bytes. Returns the two paths.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".pdf"), stem.with_suffix(".png")]
    with paper_style():
        fig.savefig(paths[0], format="pdf", metadata={"CreationDate": None, "Creator": "calibkit"})
        fig.savefig(paths[1], format="png", dpi=DPI, metadata={"Software": "calibkit"})
    return paths


# --------------------------------------------------------------------------- calibration


def reliability_figure(stats: Any, *, ece: Any = None, roles: Mapping[str, str] | None = None,
                       width: str = "column", show_histogram: bool = True):
    """Per-bin accuracy against mean confidence with 95% Wilson intervals; one run or several overlaid.

    Args:
        stats: a :class:`~calibkit.stats.binning.BinStats` or ``{run label: BinStats}``
            (as :func:`calibkit.draw.reliability.reliability_diagram`).
        ece: the ECE per run (a number, or ``{label: ece}``), printed in the legend.
        roles: ``{label: "base" | "chat"}``: the fixed colours.
        width: ``"column"`` or ``"page"``.
        show_histogram: the items per bin beneath, each run in its slot of the bin.

    One run also gets its gap to the diagonal shaded (the ECE's terms); empty bins are never drawn.
    """
    runs, single = as_runs("stats", stats)
    bins = {label: visible_bins(arg_name("stats", label, single), s) for label, s in runs.items()}
    eces = per_run("ece", ece, runs, single)
    looks = run_looks(list(bins), roles)
    if show_histogram:
        fig, (ax, hist) = new_figure(width, 1.05 if width == "column" else 0.5, nrows=2, sharex=True,
                                     gridspec_kw={"height_ratios": [3, 1]})
    else:
        fig, ax = new_figure(width, 0.9 if width == "column" else 0.45)
    with paper_style():
        _diagonal(ax, np.array([0.0, 1.0]))
        for i, (label, b) in enumerate(bins.items()):
            color, marker = looks[label]
            if single:
                _gaps(ax, b, color)
            _points(ax, b, color=color, marker=marker, label=_legend(label or "accuracy", "ECE", eces[label]))
            if show_histogram:
                slot = (b.hi - b.lo) / len(bins)
                hist.bar(b.lo + (i + 0.5) * slot, b.count, width=slot, color=color, alpha=0.6, linewidth=0)
        _unit_axes(ax, xlabel=None if show_histogram else "confidence", ylabel="accuracy")
        _place_legend(fig, ax, loc="upper left")
        if show_histogram:
            hist.set(xlabel="confidence", ylabel="items", xlim=(0, 1))
            hist.grid(axis="x", visible=False)
    return fig


def pooled_figure(stats: Any, *, ece: Any = None, roles: Mapping[str, str] | None = None, width: str = "column",
                  x_scale: str = "linear"):
    """Kadavath et al.'s chart: each option's probability vs how often it is right, all options pooled.

    ``stats``: equal-count bins over every option of every item (as
    :func:`calibkit.stats.metrics.pooled_option_stats` makes them), one
    ``BinStats`` or ``{label: BinStats}``; ``x_scale="log"`` spreads the many
    improbable options (bins at probability 0 cannot be placed and are left out).
    """
    if x_scale not in ("linear", "log"):
        raise ValueError(f"x_scale must be 'linear' or 'log'; got {x_scale!r}")
    runs, single = as_runs("stats", stats)
    bins = {label: visible_bins(arg_name("stats", label, single), s) for label, s in runs.items()}
    if x_scale == "log":
        bins = {label: b.where(b.conf > 0) for label, b in bins.items()}
    eces = per_run("ece", ece, runs, single)
    looks = run_looks(list(bins), roles)
    fig, ax = new_figure(width, 0.9 if width == "column" else 0.45)
    with paper_style():
        lowest = min([float(b.conf.min()) for b in bins.values() if b.conf.size] + [0.01])
        x = np.geomspace(10.0 ** math.floor(math.log10(lowest)), 1.0, 60) if x_scale == "log" else np.array([0, 1.0])
        _diagonal(ax, x)
        for label, b in bins.items():
            color, marker = looks[label]
            _points(ax, b, color=color, marker=marker, label=_legend(label or "options", "ECE", eces[label]))
        _unit_axes(ax, xlabel="probability of the option", ylabel="share of options that are right")
        if x_scale == "log":
            ax.set_xscale("log")
            ax.set_xlim(x[0] * 0.8, 1.1)
        _place_legend(fig, ax, loc="upper left")
    return fig


# --------------------------------------------------------------------------- curves


def temperature_figure(sweep: Any, *, metric: str = "ece", fitted_temperature: Any = None,
                       marks: Any = (2.5,), roles: Mapping[str, str] | None = None, width: str = "column",
                       x_scale: str = "linear"):
    """A calibration metric against the softmax temperature T, with its 95% band (as
    :func:`calibkit.draw.curves.temperature_curve`): one table or ``{label: table}``.

    ``fitted_temperature``: a dashed line per run; ``marks``: dotted lines (Kadavath et al.'s T = 2.5).
    """
    if metric not in SWEEP_LABELS:
        raise ValueError(f"metric must be one of {', '.join(SWEEP_LABELS)}; got {metric!r}")
    runs, single = as_runs("sweep", sweep)
    tables = {label: sweep_arrays(arg_name("sweep", label, single), t, metric) for label, t in runs.items()}
    fitted = per_run("fitted_temperature", fitted_temperature, runs, single)
    looks = run_looks(list(tables), roles)
    fig, ax = new_figure(width, 0.75 if width == "column" else 0.4)
    with paper_style():
        for label, (temp, value, low, high, _) in tables.items():
            color, marker = looks[label]
            banded = np.isfinite(low) & np.isfinite(high)
            ax.fill_between(temp[banded], low[banded], high[banded], color=color, alpha=INTERVAL_ALPHA, linewidth=0)
            ax.plot(temp, value, color=color, marker=marker, label=label or SWEEP_LABELS[metric])
            if fitted[label] is not None:
                ax.axvline(fitted[label], color=color, linestyle="--", linewidth=0.9,
                           label=f"fitted T = {fitted[label]:.2f}" if single else f"{label}: fitted T = {fitted[label]:.2f}")
        for text, t in check_marks(marks).items():
            ax.axvline(t, color=GREY, linestyle=":", linewidth=0.9, label=text)
        ax.set(xlabel="temperature T", ylabel=SWEEP_LABELS[metric], xscale=x_scale)
        ax.set_ylim(bottom=0)
        _place_legend(fig, ax)
    return fig


def size_figure(lines: Mapping[str, Any], *, metric: str, roles: Mapping[str, str] | None = None,
                width: str = "column"):
    """A metric against model size (log axis), a line per family and variant, 95% error bars (as
    :func:`calibkit.draw.curves.size_curve`: ``{label: table}`` with ``n_parameters, estimate, low, high``)."""
    if not isinstance(lines, Mapping) or not lines:
        raise ValueError("lines must be a non-empty mapping {line label: table}")
    looks = run_looks(list(lines), roles)
    fig, ax = new_figure(width, 0.75 if width == "column" else 0.4)
    with paper_style():
        for label, table in lines.items():
            missing_columns = [c for c in ("n_parameters", "estimate", "low", "high") if c not in table.columns]
            if missing_columns:
                raise ValueError(f"lines[{label!r}] lacks the columns {', '.join(missing_columns)}")
            t = table.sort_values("n_parameters")
            x, y = t["n_parameters"].to_numpy(float), float_column(t["estimate"])
            color, marker = looks[label]
            _error_points(ax, x, y, *_bounds(t), color=color, marker=marker, label=label, line=True)
            _small_n_marks(ax, x, y, t)
        ax.set_xscale("log")
        _size_ticks(ax, np.concatenate([t["n_parameters"].to_numpy(float) for t in lines.values()]))
        ax.set(xlabel="parameters", ylabel=AXIS_LABELS.get(metric, metric))
        _place_legend(fig, ax)
    return fig


def rejection_figure(rc: Any, *, roles: Mapping[str, str] | None = None, width: str = "column"):
    """Selective accuracy against coverage (answer only the most confident items), AURC in the legend.

    ``rc``: a :class:`~calibkit.stats.discrimination.RiskCoverage` or
    ``{label: RiskCoverage}`` (as :func:`calibkit.draw.curves.risk_coverage_curve`),
    e.g. one per signal (P(True), sequence probability) or per model.
    """
    runs, single = as_runs("rc", rc)
    curves = {label: rc_arrays(arg_name("rc", label, single), r) for label, r in runs.items()}
    looks = run_looks(list(curves), roles)
    fig, ax = new_figure(width, 0.75 if width == "column" else 0.4)
    with paper_style():
        for label, (coverage, accuracy, area) in curves.items():
            color, _ = looks[label]
            ax.plot(coverage, accuracy, color=color, label=_legend(label or "selective accuracy", "AURC", area),
                    drawstyle="steps-post")
        ax.set(xlabel="coverage (share of items answered)", ylabel="selective accuracy", xlim=(0, 1.0),
               ylim=(-0.02, 1.02))  # an accuracy: the whole [0, 1] range, so runs and papers compare at a glance
        _place_legend(fig, ax)
    return fig


# --------------------------------------------------------------------------- panels and bars


def people_figure(comparisons: Mapping[str, Any], *, roles: Mapping[str, str] | None = None, width: str = "page"):
    """Herbstritt & Franke: per context x expression cell, the model's probability vs the share of people.

    ``comparisons``: ``{model label: comparison}``, each with ``model_probs``
    and ``human_probs`` ``(C, E)``, ``expressions`` ``(E,)`` and ``pearson``
    (an ``Interval``), as the task's ``HumanComparison`` has them; one
    panel per model, side by side, Pearson r with its interval in the panel.
    Points are coloured by expression (ordered, "certainly not" to "certainly").
    """
    if not isinstance(comparisons, Mapping) or not comparisons:
        raise ValueError("comparisons must be a non-empty mapping {model label: comparison}")
    first = next(iter(comparisons.values()))
    expressions = tuple(first.expressions)
    fig, axes = new_figure(width, 0.42 if width == "page" else 0.55 * len(comparisons), ncols=len(comparisons),
                           sharey=True, squeeze=False)
    import matplotlib

    colors = matplotlib.colormaps["RdYlBu_r"](np.linspace(0.05, 0.95, len(expressions)))
    looks = run_looks(list(comparisons), roles)
    with paper_style():
        for ax, (label, comp) in zip(axes[0], comparisons.items()):
            model, people = (np.asarray(a, dtype=np.float64) for a in (comp.model_probs, comp.human_probs))
            _diagonal(ax, np.array([0.0, 1.0]))
            for j, expression in enumerate(expressions):
                ax.scatter(model[:, j], people[:, j], s=9, color=colors[j], edgecolors="#333", linewidths=0.3,
                           label=expression, zorder=3, clip_on=False)  # cells at 0 or 1 stay whole
            _unit_axes(ax, xlabel=f"{label}: probability", ylabel="share of people" if ax is axes[0][0] else None)
            ax.set_title(f"r = {cell_text(Cell.of(comp.pearson))}", color=looks[label][0], loc="left")
        axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title=None)
    return fig


def words_figure(tables: Mapping[str, Any], *, roles: Mapping[str, str] | None = None, width: str = "column"):
    """The model's accuracy when it says an expression against people's reading of it, a point per expression
    used, per run (the plotly twin: ``tasks/free_answer/words_report.words_figure``).

    ``tables``: ``{run label: table}``, one row per expression the run used, columns ``expression``,
    ``reading``, ``reading_low``, ``reading_high`` (people's reading and its 95% interval: x) and
    ``estimate``, ``low``, ``high``, ``n``, ``note`` (the model's accuracy when it says it and its 95%
    interval: y; ``note`` where the small-n rule withheld the interval). Both intervals are drawn; each
    expression is named once, beside its highest point, and a point whose accuracy has no interval
    carries its n. The dashed diagonal: the model is right as often as people take the word to promise.
    """
    if not isinstance(tables, Mapping) or not tables:
        raise ValueError("tables must be a non-empty mapping {run label: table}")
    needed = ("expression", "reading", "reading_low", "reading_high", "estimate", "low", "high", "n", "note")
    looks = run_looks(list(tables), roles)
    fig, ax = new_figure(width, 0.9 if width == "column" else 0.45)
    with paper_style():
        _diagonal(ax, np.array([0.0, 1.0]))
        for label, table in tables.items():
            absent = [c for c in needed if c not in getattr(table, "columns", ())]
            if absent:
                raise ValueError(f"tables[{label!r}] lacks the columns {', '.join(absent)}")
            color, marker = looks[label]
            x, y = float_column(table["reading"]), float_column(table["estimate"])
            _x_whiskers(ax, x, y, float_column(table["reading_low"]), float_column(table["reading_high"]), color)
            _error_points(ax, x, y, *_bounds(table), color=color, marker=marker, label=label, line=False)
            _small_n_marks(ax, x, y, table)
        _expression_names(ax, tables)
        _unit_axes(ax, xlabel="people's reading of the expression", ylabel="accuracy when the model says it")
        _place_legend(fig, ax, below=True)  # the expressions' names fill the middle of the axes
    return fig


def grouped_bars(table: Any, *, metric: str, x_title: str = "", roles: Mapping[str, str] | None = None,
                 width: str = "column"):
    """One metric per group, a bar per model side by side, 95% error bars (as
    :func:`calibkit.draw.bars.benchmark_chart`: columns ``benchmark, model, estimate, low, high``, optionally
    ``n, note``). The token-shift bars: groups are URIAL's classes or positions in the answer.

    A bar the small-n rule left without interval is marked with its n.
    """
    needed = ("benchmark", "model", "estimate", "low", "high")
    absent = [c for c in needed if c not in getattr(table, "columns", ())]
    if absent:
        raise ValueError(f"table lacks the columns {', '.join(absent)}")
    groups = list(dict.fromkeys(table["benchmark"]))
    models = list(dict.fromkeys(table["model"]))
    looks = run_looks([str(m) for m in models], roles)
    fig, ax = new_figure(width, 0.7 if width == "column" else 0.35)
    slot = 0.8 / len(models)
    with paper_style():
        for i, model in enumerate(models):
            t = table[table["model"] == model]
            x = np.array([groups.index(g) for g in t["benchmark"]]) - 0.4 + (i + 0.5) * slot
            y, (lo, hi) = float_column(t["estimate"]), _bounds(t)
            ax.bar(x, y, width=slot, color=looks[str(model)][0], label=str(model), linewidth=0)
            _error_points(ax, x, y, lo, hi, color="#222", marker=None, label=None, line=False)
            _small_n_marks(ax, x, y, t)
        ax.set_xticks(range(len(groups)), [str(g) for g in groups])
        ax.set(xlabel=x_title, ylabel=AXIS_LABELS.get(metric, metric))
        ax.set_ylim(bottom=0)
        ax.grid(axis="x", visible=False)
        _place_legend(fig, ax, below=True)  # bars fill the axes up to their top: a legend inside covers one
    return fig


# --------------------------------------------------------------------------- pieces


def _place_legend(fig, ax, *, loc: str = "best", below: bool = False) -> None:
    """Inside the axes where it is small; below the figure where it would cover the data (many or long entries,
    or ``below``)."""
    handles, labels = ax.get_legend_handles_labels()
    small = len(handles) <= INSIDE_LEGEND_ENTRIES and max(map(len, labels), default=0) <= INSIDE_LEGEND_CHARACTERS
    if small and not below:
        ax.legend(loc=loc)
    else:
        columns = 1 if max(map(len, labels), default=0) > INSIDE_LEGEND_CHARACTERS else 2
        fig.legend(handles, labels, loc="outside lower center", ncols=columns)
        # the legend's rows are added to the figure's height, so the axes keep the size they were made with
        fig.set_figheight(fig.get_figheight() + -(-len(labels) // columns) * LEGEND_ROW_INCHES)


def _legend(label: str, what: str, value: float | None) -> str:
    return label if value is None else f"{label} ({what} {fixed(value)})"


def _diagonal(ax, x: np.ndarray) -> None:
    ax.plot(x, x, color=GREY, linestyle="--", linewidth=0.8, zorder=1)


def _unit_axes(ax, *, xlabel: str | None, ylabel: str | None) -> None:
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel=xlabel, ylabel=ylabel)
    ax.set_aspect("auto")


def _gaps(ax, b: Bins, color: str) -> None:
    """One run's gap between accuracy and confidence, shaded over each bin's width (the ECE's terms)."""
    for lo, hi, acc, conf in zip(b.lo, b.hi, b.acc, b.conf):
        ax.fill_between([lo, hi], [acc, acc], [conf, conf], color=color, alpha=0.15, linewidth=0)


def _points(ax, b: Bins, *, color: str, marker: str, label: str) -> None:
    _error_points(ax, b.conf, b.acc, b.low, b.high, color=color, marker=marker, label=label, line=True)


def _error_points(ax, x, y, low, high, *, color: str, marker: str | None, label: str | None, line: bool) -> None:
    """Points (joined by a line) with their intervals as error bars; no whisker where an end is not finite."""
    ok = np.isfinite(y) & np.isfinite(low) & np.isfinite(high)
    if ok.any():
        # a Wilson end equal to the estimate can land an ulp past it (0 - 1e-17): no whisker there, not an error
        below, above = np.maximum(y[ok] - low[ok], 0.0), np.maximum(high[ok] - y[ok], 0.0)
        ax.errorbar(x[ok], y[ok], yerr=[below, above], fmt="none", ecolor=color,
                    elinewidth=0.8, zorder=2)
    if line or marker:
        ax.plot(x, y, color=color, marker=marker, linestyle="-" if line else "none", label=label, zorder=3,
                markeredgecolor="white", markeredgewidth=0.4, clip_on=False)  # a point at 1.0 stays whole


def _x_whiskers(ax, x, y, low, high, color: str) -> None:
    """Horizontal 95% intervals (people's reading); none where an end is not finite."""
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(low) & np.isfinite(high)
    if ok.any():
        ax.errorbar(x[ok], y[ok], xerr=[np.maximum(x[ok] - low[ok], 0.0), np.maximum(high[ok] - x[ok], 0.0)],
                    fmt="none", ecolor=color, elinewidth=0.8, zorder=2)


def _expression_names(ax, tables: Mapping[str, Any]) -> None:
    """Each expression's name once, beside its highest point over the runs (every run's point of an expression
    sits at the same x, people's reading of it); below-right of the point (above it near 0), to the left in the
    right third so that it stays inside the axes, and clear of the ``n=`` marks above the points."""
    top: dict[str, tuple[float, float]] = {}
    for table in tables.values():
        for name, x, y in zip(map(str, table["expression"]), float_column(table["reading"]),
                              float_column(table["estimate"])):
            if np.isfinite(x) and np.isfinite(y) and (name not in top or y > top[name][1]):
                top[name] = (x, y)
    for name, (x, y) in top.items():
        left, low = x > 2 / 3, y < 0.15  # near 0 below the point is the tick labels: above it, past the n= mark
        ax.annotate(name, (x, y), textcoords="offset points", xytext=((-1 if left else 1) * (8 if low else 4),
                                                                      2 if low else -2),
                    va="bottom" if low else "top", ha="right" if left else "left", fontsize=7, color=GREY, zorder=4)


def _bounds(table) -> tuple[np.ndarray, np.ndarray]:
    """A table's interval ends, NaN (no whisker) where the small-n rule's note says there is no interval."""
    low, high = float_column(table["low"]), float_column(table["high"])
    if "note" in table:
        withheld = np.array([isinstance(x, str) and bool(x) for x in table["note"]], dtype=bool)
        low, high = np.where(withheld, np.nan, low), np.where(withheld, np.nan, high)
    return low, high


def _small_n_marks(ax, x, y, table) -> None:
    """``n=5`` over each estimate the small-n rule left without an interval."""
    if "note" not in table:
        return
    ns = table["n"].tolist() if "n" in table else [None] * len(table)
    for xi, yi, note, n in zip(x, y, table["note"].tolist(), ns):
        if isinstance(note, str) and note and not missing(n) and np.isfinite(yi):
            ax.annotate(f"n={int(n)}", (xi, yi), textcoords="offset points", xytext=(0, 3), ha="center",
                        fontsize=7, color=GREY)



def _size_ticks(ax, x: np.ndarray) -> None:
    """Labelled ticks at 1, 2, 5 x each power of ten ("100M", "2B"), the first at or below the smallest model
    (the plotly figures' rule, :func:`calibkit.draw.style.log_axis`)."""
    axis = log_axis(x, unit_labels=True)
    if "tickvals" in axis:
        ticks = list(zip(axis["tickvals"], axis["ticktext"]))
        if len(ticks) > MAX_SIZE_TICKS:  # 1-2-5 labels collide at column width: keep the powers of ten
            ticks = [(v, t) for v, t in ticks if math.isclose(10 ** round(math.log10(v)), v)]
        ax.set_xticks([v for v, _ in ticks], [t for _, t in ticks])
        ax.minorticks_off()
        ax.set_xlim(*(10.0 ** r for r in axis["range"]))
