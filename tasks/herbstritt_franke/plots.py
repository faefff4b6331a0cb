"""Figures for the model-vs-human comparison on Herbstritt & Franke's urn data.

Render only: every function takes tables or results computed elsewhere
(:mod:`calibkit.tasks.herbstritt_franke.human`, :mod:`calibkit.tasks.herbstritt_franke.rsa`) and returns a
``plotly.graph_objects.Figure``. Nothing here computes a statistic beyond
turning counts into shares, and nothing touches plotly's global settings
(templates, renderers).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative, sample_colorscale
from plotly.subplots import make_subplots

from calibkit.tasks.reporting import interval_text

from .agreement import HumanComparison
from .design import N_BALLS, SIMPLE_EXPRESSIONS
from .human import InterpretationTable, ProductionTable


def _expression_colors(expressions: tuple[str, ...]) -> list[str]:
    if expressions == SIMPLE_EXPRESSIONS:
        # An ordered scale from "certainly not" (blue) to "certainly" (red), like the balls.
        return sample_colorscale("RdBu_r", [i / (len(expressions) - 1) for i in range(len(expressions))])
    palette = qualitative.Dark24
    return [palette[i % len(palette)] for i in range(len(expressions))]


def _check_table(name: str, probs, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(probs, dtype=np.float64)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return a


def production_bars(
    human: ProductionTable,
    models: Mapping[str, np.ndarray] | None = None,
    *,
    title: str = "Expression choice per context",
) -> go.Figure:
    """Per-context stacked bars: people, then each model, side by side.

    ``models`` maps a label (e.g. ``"RSA"``, ``"Llama-2-7b"``) to a (C, E)
    probability table in ``human``'s order; bars keep the mapping's order.

    >>> from calibkit.tasks.herbstritt_franke.human import load_simple_production
    >>> fig = production_bars(load_simple_production())
    >>> len(fig.data)   # one trace per expression
    5
    """
    if not isinstance(human, ProductionTable):
        raise ValueError(f"human must be a ProductionTable, got {type(human).__name__}")
    models = dict(models or {})
    sources = {"people": human.proportions}
    for label, probs in models.items():
        if label == "people":
            raise ValueError("models: the label 'people' is reserved for the human data")
        sources[label] = _check_table(f"models[{label!r}]", probs, human.counts.shape)
    contexts = human.context_labels
    x = [
        [c for c in contexts for _ in sources],
        [s for _ in contexts for s in sources],
    ]
    fig = go.Figure()
    for j, (expression, color) in enumerate(zip(human.expressions, _expression_colors(human.expressions))):
        y = [sources[s][i, j] for i in range(len(contexts)) for s in sources]
        fig.add_trace(
            go.Bar(
                x=x,
                y=y,
                name=expression,
                marker_color=color,
                hovertemplate="%{x}<br>" + expression + ": %{y:.1%}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        title=title,
        yaxis=dict(title="share of choices", range=[0, 1], tickformat=".0%"),
        legend=dict(title="expression", traceorder="normal"),
        bargap=0.15,
    )
    return fig


def cell_scatter(comparison: HumanComparison, *, name: str = "model") -> go.Figure:
    """Human proportion vs model probability for every context x expression cell.

    The title carries Pearson and Spearman r with their bootstrap intervals
    from ``comparison`` (made by :func:`calibkit.tasks.herbstritt_franke.human.compare_to_humans`).
    """
    if not isinstance(comparison, HumanComparison):
        raise ValueError(f"comparison must be a HumanComparison, got {type(comparison).__name__}")
    model = comparison.model_probs
    people = comparison.human_probs
    labels = [f"{row.observation}/{row.access} red ({row.uncertainty})" for row in comparison.contexts]
    fig = go.Figure()
    colors = _expression_colors(comparison.expressions)
    for j, expression in enumerate(comparison.expressions):
        fig.add_trace(
            go.Scatter(
                x=model[:, j],
                y=people[:, j],
                mode="markers",
                name=expression,
                marker=dict(color=colors[j], size=9, line=dict(width=0.5, color="black")),
                text=labels,
                hovertemplate="%{text}<br>" + expression + "<br>model %{x:.2f}, people %{y:.2f}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"), showlegend=False,
                   hoverinfo="skip")
    )
    r, rho = comparison.pearson, comparison.spearman
    fig.update_layout(
        title=(
            f"{name} vs people: Pearson r = {interval_text(r.estimate, r.low, r.high, note=r.note)}, "
            f"Spearman ρ = {interval_text(rho.estimate, rho.low, rho.high, n=rho.n, note=rho.note)} (n: trials)"
        ),
        xaxis=dict(title=f"{name} probability", range=[-0.02, 1.02]),
        yaxis=dict(title="share of people", range=[-0.02, 1.02], scaleanchor="x"),
        legend=dict(title="expression"),
    )
    return fig


def listener_chart(
    human: InterpretationTable,
    models: Mapping[str, np.ndarray] | None = None,
    *,
    columns: int = 5,
    title: str = "How many red balls? Listeners' guesses per expression",
) -> go.Figure:
    """One panel per expression: people's red-ball guesses (bars) vs model distributions (lines).

    ``models`` maps a label to an (M, 11) table of P(red balls = s |
    expression) in ``human``'s expression order, e.g.
    ``{"RSA listener": calibkit.tasks.herbstritt_franke.rsa.simple_listener().state}``.
    """
    if not isinstance(human, InterpretationTable):
        raise ValueError(f"human must be an InterpretationTable, got {type(human).__name__}")
    if not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be a positive integer, got {columns!r}")
    m = len(human.expressions)
    models = {label: _check_table(f"models[{label!r}]", p, (m, N_BALLS + 1)) for label, p in (models or {}).items()}
    rows = -(-m // columns)
    fig = make_subplots(rows=rows, cols=min(columns, m), subplot_titles=human.expressions, shared_yaxes=True)
    states = np.arange(N_BALLS + 1)
    palette = qualitative.Plotly
    for k, expression in enumerate(human.expressions):
        r, c = divmod(k, columns)
        fig.add_trace(
            go.Bar(
                x=states,
                y=human.state_proportions[k],
                name="people",
                legendgroup="people",
                showlegend=k == 0,
                marker_color="lightgrey",
                hovertemplate="%{x} red: %{y:.1%}<extra>people</extra>",
            ),
            row=r + 1,
            col=c + 1,
        )
        for i, (label, probs) in enumerate(models.items()):
            fig.add_trace(
                go.Scatter(
                    x=states,
                    y=probs[k],
                    mode="lines+markers",
                    name=label,
                    legendgroup=label,
                    showlegend=k == 0,
                    line=dict(color=palette[i % len(palette)]),
                    hovertemplate="%{x} red: %{y:.1%}<extra>" + label + "</extra>",
                ),
                row=r + 1,
                col=c + 1,
            )
    fig.update_xaxes(title_text="red balls in the urn", dtick=2)
    fig.update_yaxes(tickformat=".0%")
    fig.update_layout(title=title, bargap=0.1)
    return fig
