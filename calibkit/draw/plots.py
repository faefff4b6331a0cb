"""calibkit's figures, in one namespace: ``from calibkit.draw import plots; plots.reliability_diagram(...)``.

Render only: every figure takes statistics computed elsewhere
(:class:`calibkit.stats.binning.BinStats`, :class:`calibkit.stats.metrics.RiskCoverage`,
tables with intervals) and returns a ``plotly.graph_objects.Figure``; nothing
touches plotly's global settings. The figures live by kind:

* :mod:`calibkit.draw.reliability` — reliability diagram, Kadavath et al.'s pooled all-options chart;
* :mod:`calibkit.draw.curves` — metric vs temperature, risk-coverage, metric vs model size, metric per layer;
* :mod:`calibkit.draw.bars` — one metric per benchmark, a bar per model;
* :mod:`calibkit.draw.export` — :func:`save_figure` (self-contained ``.html``, or ``.png``/``.svg``/``.pdf``
  through kaleido, which never fetches a browser);
* :mod:`calibkit.draw.style` — the primitives they share: palette, layout and axis defaults, error bars,
  log axes; :mod:`calibkit.draw.labels` — interval labels and the small-n note.

Where figures live (the one rule): a figure that more than one task draws is
a function here, in one of the modules above; a figure only one task draws
lives in that task's ``report.py``, built from calibkit.draw's primitives
(:func:`calibkit.draw.style.layout`, :func:`~calibkit.draw.style.axis`,
:data:`~calibkit.draw.style.PALETTE`, :func:`~calibkit.draw.style.error_bars`,
:func:`~calibkit.draw.style.log_axis`), so every page looks the same.
"""
from __future__ import annotations

from calibkit.draw.bars import BENCHMARK_COLUMNS, benchmark_chart
from calibkit.draw.curves import (
    SIZE_COLUMNS,
    SWEEP_COLUMNS,
    SWEEP_METRICS,
    X_SCALES,
    layer_curve,
    risk_coverage_curve,
    size_curve,
    temperature_curve,
)
from calibkit.draw.export import STATIC_FORMATS, StaticExportError, save_figure
from calibkit.draw.labels import interval_labels
from calibkit.draw.reliability import BANDS, pooled_calibration_chart, reliability_diagram
from calibkit.draw.style import PALETTE

__all__ = [
    # figures
    "reliability_diagram", "pooled_calibration_chart", "temperature_curve", "risk_coverage_curve", "size_curve",
    "layer_curve", "benchmark_chart",
    # writing them, and what their inputs and options are
    "save_figure", "StaticExportError", "interval_labels", "PALETTE", "BANDS", "X_SCALES", "SWEEP_METRICS",
    "SWEEP_COLUMNS", "SIZE_COLUMNS", "BENCHMARK_COLUMNS", "STATIC_FORMATS",
]
