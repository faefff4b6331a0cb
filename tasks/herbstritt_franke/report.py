"""HTML pages for Herbstritt-Franke runs: one run vs people, and runs vs each other.

Lays out what :mod:`calibkit.tasks.herbstritt_franke.study` computed (:class:`~calibkit.tasks.herbstritt_franke.study.StudyResults`,
also written as ``summary.json``) with :class:`calibkit.draw.page.Report` and
the figures of :mod:`calibkit.tasks.herbstritt_franke.plots`. Works from run folders on disk,
without a model. It never computes a comparison statistic: the tables here
only reshape results.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from calibkit.draw.page import Report
from calibkit.runs.store import REPORT_FILE, RunStore
from calibkit.stats.bootstrap import Interval
from calibkit.tasks.reporting import comparison_caption, interval_cells, interval_text

from . import plots
from .contexts import LETTERS
from .human import ProductionTable
from .listener import human_interpretation
from .speaker import TABLES, baselines, comparison_views, human_production, speaker_analyses
from .study import COMPARED, SpeakerResult, StudyComparison, StudyResults, summarize_store
from .wording import TEMPLATES

TABLE_LABELS = {"simple": "simple (5)", "complex": "complex, unmerged (16)", "complex_merged": "complex, merged (12)"}

_INTRO = (
    "Does the model use uncertainty expressions the way people do? In each of 15 urn contexts (a speaker "
    "drew some of 10 balls and saw some red) people chose how to say how likely the next ball is red "
    "(Herbstritt & Franke 2016, 2019). The model's distribution over the same expressions is read in two "
    "ways: sentence scoring (log P(sentence | context), renormalized over the set; 'sum' is the default, "
    "'mean' divides by the sentence's token count) and forced choice (lettered options, orders permuted and "
    "averaged). Distributions are averaged over the paraphrase templates.\n\n"
    "Pearson r runs over all context x expression cells (the authors' fit statistic); intervals resample "
    "people's trials within each context (95%, percentile). JSD: Jensen-Shannon divergence per context, in "
    "bits (0 = identical). LLR: log-likelihood of people's choices under the model minus under a uniform "
    "speaker, bits per trial (> 0 beats uniform). RSA: the authors' rational-speech-act model with their "
    "published parameters. Option mass: the raw probability the model put on the scored options."
)


def _reading(result: SpeakerResult) -> str:
    d = result.distributions
    return d.reading if d.reading == "choice" else f"{d.reading} ({d.normalization})"


def _row(human_data: str, speaker: str, c: Mapping[str, Any], r_range: str, mass: float | None) -> dict[str, Any]:
    def num(x: Any) -> float:
        return math.nan if x is None else float(x)

    return {
        "human data": human_data, "speaker": speaker,
        "Pearson r": num(c["pearson"]["estimate"]), "r low": num(c["pearson"]["low"]),
        "r high": num(c["pearson"]["high"]), "trials": c["pearson"].get("n"),
        "Spearman": num(c["spearman"]["estimate"]),
        "mean JSD (bits)": num(c["mean_jsd_bits"]["estimate"]), "mean TV": num(c["mean_total_variation"]),
        "LLR bits/trial": num(c["llr_bits_per_trial"]), "r range over templates": r_range, "option mass": num(mass),
        **({"note": c["pearson"]["note"]} if c["pearson"].get("note") else {}),
    }


def summary_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per model reading and baseline: the headline comparison with people.

    ``summary``: the ``summary.json`` dict (:meth:`calibkit.tasks.herbstritt_franke.study.StudyResults.to_json`),
    so the CLI can print it from a run folder without recomputing.
    """
    rows = []
    for r in summary["speaker"]:
        sp = r["template_spread"]
        lo, hi = sp["pearson_min"], sp["pearson_max"]
        reading = r["reading"] if r["reading"] == "choice" else f"{r['reading']} ({r['normalization']})"
        rows.append(_row(TABLE_LABELS[r["table"]], f"model: {reading}", r["comparison"],
                         "" if lo is None else f"{lo:.3f} to {hi:.3f}", r["option_mass_mean"]))
    for b in summary["baselines"]:
        rows.append(_row(TABLE_LABELS[b["table"]], b["name"], b["comparison"], "", None))
    frame = pd.DataFrame(rows)
    if len(frame):
        order = {TABLE_LABELS[t]: k for k, t in enumerate(TABLES)}
        frame = frame.sort_values("human data", key=lambda col: col.map(order), kind="stable").reset_index(drop=True)
    return frame


def level_frame(result: SpeakerResult) -> pd.DataFrame:
    """By uncertainty level (none / low / high) for one speaker result."""
    return pd.DataFrame([
        {"uncertainty": lv.uncertainty, "contexts": lv.n_contexts, "human trials": lv.n_trials,
         "mean JSD (bits)": lv.mean_jsd_bits.estimate, "JSD low": lv.mean_jsd_bits.low,
         "JSD high": lv.mean_jsd_bits.high, "mean TV": lv.mean_total_variation,
         "Pearson r": lv.pearson.estimate, "LLR bits/trial": lv.llr_bits_per_trial, "note": lv.mean_jsd_bits.note}
        for lv in result.comparison.levels
    ])


def context_frame(result: SpeakerResult) -> pd.DataFrame:
    """One row per urn context for one speaker result."""
    return pd.DataFrame([
        {"context": f"{r.observation}/{r.access} red", "uncertainty": r.uncertainty, "trials": r.n,
         "people's mode": r.human_mode, "model's mode": r.model_mode, "JSD (bits)": r.jsd_bits,
         "TV": r.total_variation, "LLR bits/trial": r.llr_bits_per_trial}
        for r in result.comparison.contexts
    ])


def template_frame(results: StudyResults) -> pd.DataFrame:
    """Per template: Pearson r and mean JSD of every speaker result (prompt sensitivity)."""
    rows = []
    for r in results.speaker:
        sp = r.spread
        for t, pr, j in zip(sp.templates, sp.pearson, sp.mean_jsd_bits):
            rows.append({"human data": TABLE_LABELS[r.table], "reading": _reading(r), "template": t,
                         "description": TEMPLATES[t].description if t in TEMPLATES else "",
                         "Pearson r": float(pr), "mean JSD (bits)": float(j),
                         "JSD between templates": sp.between_templates_jsd_bits})
    return pd.DataFrame(rows)


def heatmaps(human_table: ProductionTable, model: np.ndarray, *, name: str) -> go.Figure:
    """Three panels, one row per context: people's shares, the model's, and model minus people."""
    from plotly.subplots import make_subplots

    p = human_table.proportions
    model = np.asarray(model, dtype=np.float64)
    if model.shape != p.shape:
        raise ValueError(f"model must have shape {p.shape}, got {model.shape}")
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=("people", name, f"{name} - people"))
    y, x = list(human_table.context_labels), list(human_table.expressions)
    # One colour bar per scale, stacked at the right: shares (0..1) above, differences (-1..1) below.
    share_bar = dict(x=1.02, y=0.78, len=0.45, title=dict(text="share"))
    diff_bar = dict(x=1.02, y=0.22, len=0.45, title=dict(text="diff"))
    panels = ((p, "Blues", 0, 1, None), (model, "Blues", 0, 1, share_bar), (model - p, "RdBu_r", -1, 1, diff_bar))
    for col, (z, scale, zmin, zmax, bar) in enumerate(panels, start=1):
        fig.add_trace(go.Heatmap(z=z, x=x, y=y, colorscale=scale, zmin=zmin, zmax=zmax, showscale=bar is not None,
                                 colorbar=bar, hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>"), row=1, col=col)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-45)
    fig.update_layout(height=520 + 6 * len(x), title=f"Expression choice per context: people vs {name}")
    return fig


def _header(store: RunStore, results: StudyResults) -> dict[str, Any]:
    cfg = store.config
    fields: dict[str, Any] = {"task": cfg.get("task"), "model": cfg.get("model"),
                              "chat template": cfg.get("chat_template"), "items": results.n_items}
    for key in ("expression_set", "readings", "templates", "permutations", "listener", "seed", "dtype",
                "quantization", "system_prompt"):
        if key in cfg:
            v = cfg[key]
            fields[key.replace("_", " ")] = ", ".join(map(str, v)) if isinstance(v, list) else v
    fields["bootstrap resamples"] = results.n_resamples
    fields["run folder"] = str(store.path)
    for name, v in (cfg.get("versions") or {}).items():
        fields[name] = v
    return fields


def _fmt(e: Interval) -> str:
    return interval_text(e.estimate, e.low, e.high, n=e.n, note=e.note)


def write_run_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    """Write ``summary.json`` and a self-contained ``report.html`` for a Herbstritt-Franke run; returns the page."""
    results = summarize_store(store, n_resamples=n_resamples, seed=seed)
    summary = results.to_json()
    label = str(store.config.get("model", "model"))
    report = Report(f"calibkit: uncertainty expressions of {label} vs people",
                    subtitle="Herbstritt & Franke urn contexts")
    report.add_header(_header(store, results), title="Run")
    report.add_text(_INTRO, title="What is measured")
    if results.incomplete:
        report.add_text("Left out (incomplete in this run folder):\n\n" + "\n\n".join(results.incomplete),
                        title="Incomplete parts")
    report.add_table("Model vs people", interval_cells(summary_frame(summary), ends={"Pearson r": ("r low", "r high")}),
                     digits=3,
                     caption="Pearson r [its 95% bootstrap interval over people's trials] (trials: how many). "
                             "r range over templates: each template's own r (prompt sensitivity).")
    rsa = {table: models.get("RSA") for table, models in baselines().items()}
    for table in TABLES:
        shown = [r for r in results.speaker if r.table == table and r.default]
        if not shown:
            continue
        h = human_production(table)
        models = {"RSA": rsa[table]} if rsa[table] is not None else {}
        models.update({r.distributions.reading: r.comparison.model_probs for r in shown})
        report.add_figure(f"{TABLE_LABELS[table]}: expression choice per context",
                          plots.production_bars(h, models, title=f"people | {' | '.join(models)} ({label})"))
        for r in shown:
            name = f"{label} {r.distributions.reading}"
            where = f"{TABLE_LABELS[table]}, {r.distributions.reading}"
            report.add_figure(f"{where}: people vs model per cell", plots.cell_scatter(r.comparison, name=name))
            report.add_figure(None, heatmaps(h, r.comparison.model_probs, name=name))
            report.add_table(f"{where}: by uncertainty level", level_frame(r), digits=3)
            report.add_table(f"{where}: per context", context_frame(r), digits=3)
    if results.speaker:
        report.add_table("Prompt sensitivity: each template on its own", template_frame(results), digits=3,
                         caption="JSD between templates: mean JSD between two templates' distributions "
                                 "(over contexts and template pairs); 0 means the wording does not matter.")
    if results.position_profiles:
        rows = [{"set": s, **{LETTERS[j]: float(v) for j, v in enumerate(prof)}}
                for s, prof in results.position_profiles.items()]
        report.add_table("Forced choice: mean probability per letter position", rows, digits=3,
                         caption="Averaged over every order; a slope across letters is position bias, "
                                 "which the balanced orders cancel in the expression distributions.")
    for r in results.listener:
        s, c, rc = r.distributions.expression_set, r.comparison, r.rsa
        rows = [{"expression": e, "people: mean red balls": hm, f"{label}: mean": mm, "RSA: mean": rm,
                 f"JSD {label} (bits)": j, "JSD RSA (bits)": rj}
                for e, hm, mm, rm, j, rj in zip(c.expressions, c.human_mean, c.model_mean, rc.model_mean,
                                                c.jsd_bits, rc.jsd_bits)]
        report.add_table(
            f"Listener ({s}): how many red balls after each expression", rows, digits=3,
            caption=(f"{label}: mean JSD {_fmt(c.mean_jsd_bits)}, Pearson r over cells {_fmt(c.pearson)}; "
                     f"RSA listener: mean JSD {_fmt(rc.mean_jsd_bits)}, r {_fmt(rc.pearson)}. "
                     f"Raw mass on the answers: {r.distributions.option_mass.mean():.3f}."))
        report.add_figure(f"Listener ({s}): distributions",
                          plots.listener_chart(human_interpretation(s),
                                                             {label: r.distributions.probs, "RSA listener": r.rsa_state},
                                                             columns=4 if s == "complex" else 5))
    return report.save(store.path / REPORT_FILE)


# --------------------------------------------------------------------------- runs vs runs


def comparison_frame(comparison: StudyComparison) -> pd.DataFrame:
    """One row per (reading, human table, later run b): each run's mean JSD and Pearson r against people, b - a
    with its interval and p-value (and the test behind it), n contexts and the small-n note; a is the first run."""
    t = comparison.table
    first = comparison.labels[0]
    rows = []
    for (key, table, run), part in t[t.run != first].groupby(["key", "table", "run"], sort=False):
        jsd, r = (part[part.metric == label].iloc[0] for label, _, _ in COMPARED)
        base = {label: t[(t.run == first) & (t.key == key) & (t.table == table) & (t.metric == label)].iloc[0]
                for label, _, _ in COMPARED}
        rows.append({
            "reading": key, "human data": TABLE_LABELS[table], "a": first, "b": run,
            "JSD a": base["mean JSD (bits)"].estimate, "JSD b": jsd.estimate, "JSD b-a": jsd.difference,
            "JSD low": jsd.diff_low, "JSD high": jsd.diff_high, "JSD p": jsd.p_value,
            "r a": base["Pearson r"].estimate, "r b": r.estimate, "r b-a": r.difference, "r low": r.diff_low,
            "r high": r.diff_high, "r p": r.p_value, "test": jsd.test if isinstance(jsd.test, str) else None,
            "contexts": int(jsd.n), "note": jsd.note if isinstance(jsd.note, str) else None,
            "closer to people (JSD)": run if jsd.difference < 0 else first,
        })
    return pd.DataFrame(rows)


def write_comparison_report(stores: Sequence[RunStore], comparison: StudyComparison, path: Path) -> Path:
    """An HTML page for :func:`calibkit.tasks.herbstritt_franke.study.compare_runs`: differences and side-by-side bars."""
    report = Report("calibkit: uncertainty expressions, runs vs people", subtitle=" vs ".join(comparison.labels))
    report.add_header({f"run {i + 1}": f"{lab}: {s.path}" for i, (lab, s) in enumerate(zip(comparison.labels,
                                                                                          stores))}, title="Runs")
    shown = interval_cells(comparison_frame(comparison), ends={"JSD b-a": ("JSD low", "JSD high"),
                                                               "r b-a": ("r low", "r high")},
                           signed=("JSD b-a", "r b-a"))
    report.add_table("Which run is closer to people", shown, digits=3,
                     caption=f"a is the first run, b a later one; JSD b-a < 0 or r b-a > 0: b is closer to people. "
                             f"Paired over the {comparison.n_contexts} urn contexts: "
                             + comparison_caption(what="contexts"))
    dists: list[Mapping[str, Any]] = [{d.key: d for d in speaker_analyses(s.items())} for s in stores]
    shared = [k for k in dists[0] if all(k in d for d in dists[1:]) and not k.endswith("/mean")]
    rsa = {table: models.get("RSA") for table, models in baselines().items()}
    for key in shared:
        for table, _, _ in comparison_views(dists[0][key]):
            models = {"RSA": rsa[table]} if rsa[table] is not None else {}
            for lab, d in zip(comparison.labels, dists):
                models[lab] = next(p for t, p, _ in comparison_views(d[key]) if t == table)
            report.add_figure(f"{key}, {TABLE_LABELS[table]}",
                              plots.production_bars(human_production(table), models))
    return report.save(path)


def paper_parts(stores: Sequence[RunStore], *, n_resamples: int = 1000) -> list[Any]:
    """The write-up's Herbstritt-Franke parts: model vs people per run (each run's default speaker reading on the
    first human table), its agreement table, and with several runs their paired comparison."""
    from calibkit.paper import Cell, PaperPart, Table, comparison_table
    from calibkit.paper.figures import people_figure
    from calibkit.paper.parts import folders, role_of, run_labels

    from .study import analyze_study, compare_runs

    labels = run_labels(stores)
    chosen = {}
    for label, store in zip(labels, stores):
        results = analyze_study(store.items(), n_resamples=n_resamples)
        chosen[label] = next((r for r in results.speaker if r.default), None) or results.speaker[0]
    rows = tuple((label, TABLE_LABELS[r.table], _reading(r), Cell.of(r.comparison.pearson),
                  Cell.of(r.comparison.mean_jsd_bits)) for label, r in chosen.items())
    runs = folders(stores)
    parts = [
        PaperPart("herbstritt-franke-people", people_figure(
            {label: r.comparison for label, r in chosen.items()},
            roles={label: role_of(s.config) for label, s in zip(labels, stores)}), runs,
            caption="Each context x expression cell: the model's probability against the share of people who chose "
                    "the expression (Herbstritt & Franke, 2019); Pearson r over the cells with its 95% interval "
                    "(people's trials resampled within each context)."),
        PaperPart("herbstritt-franke-agreement", Table(
            "herbstritt-franke-agreement", ("model", "human data", "speaker", "Pearson r", "mean JSD (bits)"),
            rows, caption="Agreement with people: Pearson r over the context x expression cells (the authors' fit "
                    "statistic), mean "
                    "Jensen-Shannon divergence per context (bits; 0: identical); 95% intervals.", wide=True), runs),
    ]
    if len(stores) > 1:
        comparison = compare_runs(stores, labels=labels, n_resamples=n_resamples)
        frame = comparison.table.assign(table=comparison.table["table"].map(TABLE_LABELS))
        parts.append(PaperPart("herbstritt-franke-comparison", comparison_table(
            frame, name="herbstritt-franke-comparison",
            caption=f"Which model is closer to people, paired over the {comparison.n_contexts} urn contexts."), runs))
    return parts
