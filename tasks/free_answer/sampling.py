"""The sampling-temperature study: TriviaQA runs that differ only in the samples' temperature.

Each temperature is an ordinary, resumable run; :func:`sampling_table`
reads the runs side by side on their shared questions (signal quality
against T) and :func:`write_sampling_report` draws it. ("Sweep" in calibkit
is the post-hoc logit-temperature study of multiple-choice runs; this is
not that.)
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.draw.page import Report
from calibkit.runs.runner import Job, RunSettings, run_jobs
from calibkit.runs.store import RunStore
from calibkit.stats.bootstrap import MIN_ITEMS, too_few
from calibkit.stats.multiple_choice import AnalysisError
from calibkit.tasks.free_answer.question import Question

from .run import TriviaSettings, triviaqa_job
from .comparison import shared_rows
from .study import ECES, PROBABILITY_SIGNALS, SIGNALS, signal_arrays, signal_intervals

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from calibkit.engine.models import LoadedModel

#: the columns of a sampling table, each with _low and _high: AUROC, the two ECEs, Brier
METRICS = ("auroc", *ECES, "brier")


def run_sampling_temperatures(
    questions: Sequence[Question],
    task_config: Mapping[str, Any],
    run_settings: RunSettings,
    *,
    temperatures: Sequence[float],
    settings: TriviaSettings = TriviaSettings(),
    loaded: LoadedModel | None = None,
) -> list[RunStore]:
    """One run per sampling temperature, the model loaded once; each run's report is written too.

    Each temperature is an ordinary (resumable) run whose config differs
    only in ``sample_temperature``. The greedy answer and its likelihood do
    not depend on T (agreement and P(True) of a sample do), so they are
    recomputed but identical. With ``run_settings.run_dir`` set, run T goes
    to ``run_dir/T=<T>``. Read the runs together with :func:`sampling_table`.
    """
    from .report import write_run_report
    from .run import QuestionRunner

    outcomes = run_jobs(QuestionRunner(settings.batch_questions), temperature_jobs(questions, task_config, settings,
                                                                              temperatures=temperatures),
                          run_settings, loaded=loaded)
    for o in outcomes:
        write_run_report(o.store)
    return [o.store for o in outcomes]


def temperature_jobs(questions: Sequence[Question], task_config: Mapping[str, Any], settings: TriviaSettings,
                     *, temperatures: Sequence[float]) -> list[Job]:
    """The runs of a sampling-temperature study: one per T, otherwise the same settings."""
    temps = [float(t) for t in temperatures]
    if not temps or any(not (math.isfinite(t) and t > 0) for t in temps):
        raise ValueError(f"temperatures must be positive finite numbers; got {list(temperatures)!r}")
    return [triviaqa_job(questions, task_config, replace(settings, sample_temperature=t), subfolder=f"T={t:g}")
            for t in temps]


def sampling_table(stores: Sequence[RunStore], *, n_resamples: int = 200, seed: int = 0) -> pd.DataFrame:
    """Signal quality against sampling temperature, one row per (run, signal).

    Columns: ``temperature, signal, auroc, auroc_low, auroc_high,
    ece_equal_mass, ece_equal_mass_low, ece_equal_mass_high,
    ece_equal_width (and its _low, _high), brier, brier_low, brier_high,
    samples_accuracy, n, note`` (n: the shared questions; note: why there
    are no bounds below the small-n rule, else None; ECEs/Brier NaN for the ranked total
    log-likelihood; ``ece_equal_mass`` is Kadavath et al.'s binning, see
    :data:`.study.ECES`). Runs are
    restricted to their shared questions so every T is measured on the same
    items.
    """
    temps = [s.config.get("sample_temperature") for s in stores]
    if any(t is None for t in temps):
        raise AnalysisError("every run must be a TriviaQA run with a sample_temperature in its config.json")
    aligned_rows = shared_rows(stores) if len(stores) > 1 else [sorted(stores[0].rows(), key=lambda r: r["id"])]
    out = []
    for t, rows in zip(temps, aligned_rows):
        arr = signal_arrays(rows)
        samples_acc = [r.get("samples_correct_exact") for r in rows]
        for name, conf in arr.signals.items():
            ivs = signal_intervals(conf, arr.target(name), probability=name in PROBABILITY_SIGNALS,
                                   n_resamples=n_resamples, seed=seed)
            row: dict[str, Any] = {"temperature": float(t), "signal": name}
            for metric in METRICS:  # ECE and Brier only for probabilities
                iv = ivs.get(metric)
                row.update({metric: iv.estimate if iv else math.nan, f"{metric}_low": iv.low if iv else math.nan,
                            f"{metric}_high": iv.high if iv else math.nan})
            row["samples_accuracy"] = (float(np.mean(samples_acc)) if all(v is not None for v in samples_acc)
                                       else math.nan)
            row["n"], row["note"] = len(rows), too_few(len(rows))  # below the small-n rule: no bounds, and why
            out.append(row)
    return pd.DataFrame(out).sort_values(["signal", "temperature"], ignore_index=True)


def signal_temperature_figure(table: pd.DataFrame, *, metric: str) -> "go.Figure":
    """``metric`` (one of :data:`METRICS`) of each signal against sampling temperature, with 95% bands.

    Render only (a :func:`sampling_table` in, a figure out); it lives here
    until :mod:`calibkit.draw.plots` has a generic metric-vs-T curve.
    """
    import plotly.graph_objects as go

    from calibkit.draw.plots import PALETTE

    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    fig = go.Figure()
    for i, (name, part) in enumerate(table.groupby("signal", sort=False)):
        part = part.sort_values("temperature")
        if part[metric].isna().all():
            continue
        color = PALETTE[i % len(PALETTE)]
        ok = part[f"{metric}_low"].notna() & part[f"{metric}_high"].notna()
        band = part[ok]
        fig.add_trace(go.Scatter(
            x=list(band.temperature) + list(band.temperature[::-1]),
            y=list(band[f"{metric}_high"]) + list(band[f"{metric}_low"][::-1]),
            fill="toself", fillcolor=color, opacity=0.15, line=dict(width=0), mode="lines",
            showlegend=False, hoverinfo="skip", legendgroup=name,
        ))
        fig.add_trace(go.Scatter(x=part.temperature, y=part[metric], mode="lines+markers", name=SIGNALS.get(name, name),
                                 line=dict(color=color, width=2), legendgroup=name))
    label = {"auroc": "AUROC (right vs wrong)", "brier": "Brier",
             **{key: f"ECE ({words})" for key, (_, words) in ECES.items()}}[metric]
    fig.update_layout(template=None, title=f"{label} vs sampling temperature", height=460,
                      paper_bgcolor="white", plot_bgcolor="white",
                      xaxis=dict(title="sampling temperature T", gridcolor="#e5e5e5"),
                      yaxis=dict(title=label, gridcolor="#e5e5e5"))
    return fig


def write_sampling_report(table: pd.DataFrame, path: Path, *, title: str = "calibkit: TriviaQA sampling-temperature study") -> Path:
    """A self-contained HTML page of a :func:`sampling_table`; returns ``path``."""
    report = Report(title, subtitle="Signal quality of the greedy answer's confidence vs the temperature of the samples")
    report.add_text("Each temperature is its own run; the greedy answer is the same in all of them, so only "
                    "sample agreement and P(True) of a sampled answer can move with T. At T other than 1, "
                    "P(True) evaluates a sample the paper did not draw (its samples are drawn at T = 1). "
                    f"Bands: 95% percentile bootstrap over the {int(table['n'].iloc[0])} shared questions"
                    + (f" (none here: {table['note'].iloc[0]})." if int(table["n"].iloc[0]) < MIN_ITEMS else "."))
    report.add_figure("AUROC vs sampling temperature", signal_temperature_figure(table, metric="auroc"))
    for key, (_, words) in ECES.items():
        report.add_figure(f"ECE ({words}) vs sampling temperature", signal_temperature_figure(table, metric=key))
    report.add_table("Signal quality per temperature", table)
    return report.save(path)
