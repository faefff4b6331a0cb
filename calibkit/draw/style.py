"""The look every calibkit figure shares: palette, fonts, layout and axis defaults, error bars, log axes.

These are the primitives a figure is built from, calibkit's own
(:mod:`calibkit.draw.reliability`, :mod:`calibkit.draw.curves`,
:mod:`calibkit.draw.bars`) and a task's own figures (in its ``report.py``):
start from :func:`layout`, give every axis :func:`axis`, colour runs from
:data:`PALETTE` in order, draw intervals with :func:`error_bars` and log axes
with :func:`log_axis`. Nothing here touches plotly's global settings: each
figure carries an empty template and an explicit layout, so a
``plotly.io.templates.default`` set elsewhere cannot change how it looks.
This module never computes a statistic.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

# Okabe & Ito's colour-blind-safe qualitative palette, strongest hues first;
# yellow is last because it is hard to see on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

FONT_SIZE = 13  # px, tick labels and axis titles
TITLE_SIZE = 17  # px, the figure's title
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif", size=FONT_SIZE,
            color="#222")
GRID = "#e5e5e5"
DIAGONAL = dict(color="#888", width=1.2, dash="dash")
MARK_LINE = dict(color="#666", width=1.2, dash="dot")
TICK_LENGTH = 5  # px, ticks drawn outside the axes
TITLE_STANDOFF = 8  # px between the tick labels and the axis title

#: px of room for an axis's ticks, tick labels and title at the default font sizes, so that no axis title
#: is cut off even where plotly's automargin does not run (it still grows a margin for longer labels):
#: left = tick + 7 characters of tick label (about 0.5 em each) + standoff + a title line (1.6 em) = 80
#: (70 before, which left room for 5 characters only); the top holds the title and the small-n note
MARGIN = dict(
    l=TICK_LENGTH + round(7 * 0.5 * FONT_SIZE) + TITLE_STANDOFF + round(1.6 * FONT_SIZE),
    r=20,
    t=60,
    b=max(60, TICK_LENGTH + round(1.3 * FONT_SIZE) + TITLE_STANDOFF + round(1.6 * FONT_SIZE)),
)


def layout(*, title: str, height: int) -> dict:
    """The explicit layout every figure starts from (no template is consulted); ``height`` in px."""
    return dict(
        template=go.layout.Template(),
        title=dict(text=title, x=0.0, xanchor="left", xref="paper", font=dict(size=TITLE_SIZE)),
        font=FONT,
        height=height,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin=dict(MARGIN),
        legend=dict(
            x=1.02, xanchor="left", y=1.0, yanchor="top", bgcolor="rgba(255,255,255,0.9)",
            bordercolor="#ddd", borderwidth=1, font=dict(size=12),
        ),
        hoverlabel=dict(font=dict(size=12)),
        hovermode="closest",
    )


def axis() -> dict:
    """The axis style every figure uses: a box, outside ticks, a light grid, the title clear of the labels."""
    return dict(
        showline=True, linecolor="#444", linewidth=1, mirror=True, ticks="outside", tickcolor="#444",
        ticklen=TICK_LENGTH, showgrid=True, gridcolor=GRID, zeroline=False, automargin=True,
        title_standoff=TITLE_STANDOFF,
    )


def rgba(hex_color: str, alpha: float) -> str:
    """``"#0072B2"`` with opacity ``alpha`` in [0, 1] -> ``"rgba(0,114,178,alpha)"``."""
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def error_bars(y: np.ndarray, low: np.ndarray, high: np.ndarray, *, color: str, width: int = 4,
               thickness: float = 1.2) -> dict:
    """plotly ``error_y`` for per-point intervals ``[low, high]`` around ``y`` (arrays ``(m,)``, data units).

    A point whose interval (or estimate) is not finite gets NaN on both
    sides, which plotly draws as nothing: no whisker and no cap, rather than
    a zero-length bar whose cap would look like a very tight interval.
    """
    y, low, high = (np.asarray(a, dtype=np.float64) for a in (y, low, high))
    ok = np.isfinite(y) & np.isfinite(low) & np.isfinite(high)
    return dict(type="data", symmetric=False, array=np.where(ok, high - y, np.nan),
                arrayminus=np.where(ok, y - low, np.nan), color=color, thickness=thickness, width=width)


def log_axis(values: np.ndarray, *, unit_labels: bool = False) -> dict:
    """Axis settings for a log axis over positive ``values`` whose first labelled tick is never missing.

    plotly starts a log axis a little below the smallest value and labels
    only the decades inside it, so data from 160M to 2.8B parameters got a
    first tick "2" (meaning 200M) with no decade label before it. Here the
    range starts at a labelled tick at or below the smallest value: ticks at
    1, 2 and 5 times each power of ten (only the powers themselves beyond
    three decades), labelled in full (``unit_labels``: ``"100M"``, ``"2B"``;
    otherwise ``"0.01"``, ``"5"``).

    Example:
        >>> log_axis(np.array([1.6e8, 2.8e9]), unit_labels=True)["ticktext"]
        ['100M', '200M', '500M', '1B', '2B', '5B']
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return dict(type="log")
    lo, hi = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
    steps = (1.0, 2.0, 5.0) if hi - lo <= 3 else (1.0,)
    every = [m * 10.0**e for e in range(lo, hi + 1) for m in steps]
    first = max(t for t in every if t <= v.min() * (1 + 1e-12))
    last = min(t for t in every if t >= v.max() * (1 - 1e-12))
    ticks = [t for t in every if first <= t <= last]
    pad = 0.03 * max(math.log10(last / first), 0.3)  # markers at the first and last tick stay whole
    text = [_unit_label(t) if unit_labels else f"{t:g}" for t in ticks]
    return dict(type="log", range=[math.log10(first) - pad, math.log10(last) + pad], tickvals=ticks, ticktext=text)


def _unit_label(x: float) -> str:
    """``2e8 -> "200M"``, ``1e9 -> "1B"``: parameter counts as people write them."""
    for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if x >= scale:
            return f"{x / scale:g}{unit}"
    return f"{x:g}"
