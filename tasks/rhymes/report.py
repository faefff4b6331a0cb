"""A rhymes run's page and terminal lines, and `calibkit compare` of rhymes runs (the one paired comparison)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.errors import UserError
from calibkit.runs.store import REPORT_FILE, RunStore
from calibkit.tasks.base import Outcome
from calibkit.stats.bootstrap import MIN_ITEMS
from calibkit.stats.paired import MIN_TEST_ITEMS
from calibkit.tasks.reporting import (
    ci_columns,
    comparison_caption,
    comparison_outcome,
    interval_text,
    iv_text,
    p_text,
    page_table,
    run_header,
    run_labels,
)

from .classify import CLASSES
from .study import COLLAPSE, SLOT, summarize_store

HEADER_KEYS = ("data", "limit", "samples", "temperature", "max_new_tokens", "chat_max_new_tokens", "forced_words",
               "forced_samples", "seed", "data_source", "unknown_end_words")
CLASS_NAMES = {"rhyme": "rhymes", "non_rhyme": "non-rhyming line", "poem_end": "poem ends",
               "commentary": "commentary", "new_poem": "new poem", "unjudged": "unjudged (word not in CMU)"}


def _who(summary: Mapping[str, Any], role: str) -> str:
    return f"{role} ({summary.get('models', {}).get(role, role)})"


def measure_frame(summary: Mapping[str, Any], part: str, names: Sequence[str]) -> pd.DataFrame:
    """One row per (model, measure) of ``part`` ("classes", "collapse", "slot") with its interval."""
    return pd.DataFrame([{"model": _who(summary, role), "measure": CLASS_NAMES.get(name, name),
                          **ci_columns(summary["per_role"][role][part][name])}
                         for role in summary["roles"] for name in names])


def forced_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for role in summary["roles"]:
        for f in summary["per_role"][role]["forced"]:
            rows.append({"model": _who(summary, role), "forced words k": f["k"], **ci_columns(f["rhyme"]),
                         "rhyme mass at the slot": f["rhyme_mass"]["estimate"],
                         "forced words' log-prob per token": f["prefix_logprob_per_token"]["estimate"]})
    return pd.DataFrame(rows)


def paired_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Chat minus base per measure: both estimates, the difference, its interval, p with its test, or the note."""
    roles = summary["roles"]
    return pd.DataFrame([{"measure": p["measure"], roles[0]: p.get("estimate_b"), roles[-1]: p.get("estimate_a"),
                          "difference": p.get("difference"), "diff_low": p.get("low"), "diff_high": p.get("high"),
                          "p_value": p.get("p_value"), "test": p.get("test") if p.get("p_value") is not None else None,
                          "n": p.get("n"), "note": p.get("note")} for p in summary["paired"]])


def layer_frame(summary: Mapping[str, Any], role: str) -> pd.DataFrame:
    p = summary["per_role"][role]["planning"]
    ranks = {r["layer"]: r for r in p.get("lens_word_ranks", [])}
    rows = []
    for f in p.get("per_layer", []):
        rows.append({"layer": f["layer"], "probe top-1": f["test"]["top1"], "control top-1": f["control_test"]["top1"],
                     "lens top-1": f["lens_test"]["top1"], "chance": f["test"]["chance"], "probe MRR": f["test"]["mrr"],
                     "validation top-1": f["validation"]["top1"], "C": f["C"], "test samples": f["test"]["n"],
                     "lens median rank (vocabulary)": ranks.get(f["layer"], {}).get("median_rank")})
    if not rows:
        rows = [{"layer": r["layer"], "lens median rank (vocabulary)": r["median_rank"], "lens top-10 share": r["top10"]}
                for r in ranks.values()]
    return pd.DataFrame(rows)


def summary_text(summary: Mapping[str, Any]) -> str:
    lines = [f"couplets {summary['n_items']}, {summary['n_samples']} samples each"]
    for role in summary["roles"]:
        r = summary["per_role"][role]
        lines.append(f"{_who(summary, role)}:")
        lines.append("  line 2: " + ", ".join(f"{CLASS_NAMES[c]} {iv_text(r['classes'][c])}" for c in CLASSES))
        lines.append("  collapse (couplets with 2+ rhymes): " + ", ".join(f"{k} {iv_text(r['collapse'][k])}"
                                                                          for k in COLLAPSE))
        lines.append("  rhyme slot: " + ", ".join(f"{k} {iv_text(r['slot'][k])}" for k in SLOT))
        lines.append("  half-written lines, greedy rhyme share: " + ", ".join(
            f"k={f['k']} {iv_text(f['rhyme'])}" for f in r["forced"]))
        plan = r.get("planning", {})
        if plan.get("error"):
            lines.append(f"  planning probe: none ({plan['error']})")
        elif "test" in plan:
            t, c = plan["test"], plan["control_test"]
            lines.append(f"  planning probe: layer {plan['chosen_layer']} (chosen on validation): test top-1 "
                         f"{t['top1']:.3f} (control {c['top1']:.3f}, chance {t['chance']:.3f}, n={t['n']} samples)")
    for p in summary["paired"]:
        roles = summary["roles"]
        text = interval_text(p.get("difference"), p.get("low"), p.get("high"), n=p.get("n"), note=p.get("note"),
                             signed=True)
        lines.append(f"{roles[-1]} - {roles[0]} {p['measure']:<28} {text} {p_text(p.get('p_value'), p.get('test'))}"
                     .rstrip())
    return "\n".join(lines)


def _bars(frame: pd.DataFrame, *, metric: str, x: str, title: str) -> Any:
    """A bar per (``x``, model) with its interval; a bar below the small-n rule is labelled with its n and the
    chart says why it has no whiskers (``frame``: :func:`calibkit.tasks.reporting.ci_columns`'s columns)."""
    from calibkit.draw import plots

    table = pd.DataFrame({"benchmark": frame[x].astype(str), "model": frame["model"],
                          "estimate": frame["estimate"].astype(float),
                          "low": frame["95% CI low"].astype(float), "high": frame["95% CI high"].astype(float),
                          "n": frame["n"], "note": frame["note"]})
    return plots.benchmark_chart(table, metric=metric, x_title=x, title=title)


def _table_and_bars(report: Any, name: str, frame: pd.DataFrame, *, caption: str, metric: str, x: str,
                    title: str) -> None:
    """A page's table of intervals, then the same numbers as bars."""
    report.add_table(name, page_table(frame), caption=caption)
    report.add_figure(f"{name}, plotted", _bars(frame, metric=metric, x=x, title=title))


def layer_figure(table: pd.DataFrame, *, title: str) -> Any:
    """Probe, control, lens and chance top-1 by layer: one line each."""
    import plotly.graph_objects as go

    from calibkit.draw.plots import PALETTE

    fig = go.Figure()
    for i, name in enumerate(c for c in ("probe top-1", "control top-1", "lens top-1", "chance") if c in table):
        fig.add_trace(go.Scatter(x=table["layer"], y=table[name], mode="lines+markers", name=name,
                                 line=dict(color=PALETTE[i], dash="dot" if name == "chance" else "solid")))
    fig.update_layout(title=title, xaxis_title="layer (0: embeddings)", yaxis_title="top-1 on test couplets",
                      height=380, template="simple_white")
    return fig


def write_run_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    from calibkit.draw.page import Report

    summary = summarize_store(store, n_resamples=n_resamples, seed=seed)
    roles = summary["roles"]
    report = Report("calibkit: rhyme planning and mode collapse",
                    subtitle=" vs ".join(_who(summary, r) for r in roles))
    report.add_header(run_header(store, summary["n_items"], keys=HEADER_KEYS), title="Run")
    report.add_text(summary_text(summary).replace("\n", "\n\n"), title="Summary")  # one paragraph per line
    _table_and_bars(report, "What line 2 does (sampled lines)", measure_frame(summary, "classes", CLASSES),
                    caption="Share of sampled lines per class; 95% percentile bootstrap over couplets (a couplet's "
                            f"lines resampled together). Below {MIN_ITEMS} couplets the note replaces the interval.",
                    metric="share of lines", x="measure", title="Rhymes and the other continuations")
    collapse = measure_frame(summary, "collapse", COLLAPSE)
    report.add_table("Mode collapse among the rhymes", collapse,
                     caption="Per couplet with at least two rhyming samples: distinct rhyme words, entropy of the "
                             "rhyme-word distribution (nats) and the share of the most frequent rhyme; mean over "
                             "couplets.")
    _table_and_bars(report, "Log-probs at the rhyme slot", measure_frame(summary, "slot", SLOT),
                    caption="Given the rest of each sampled line: the mass on the dictionary's one-token rhymes of "
                            "the end word (the candidates), their entropy renormalised among them (nats), the share "
                            "of lines whose written word no candidate beats, and the written word's log-prob.",
                    metric="value", x="measure", title="Mass, entropy and rank at the rhyme slot")
    _planning_sections(report, summary)
    _table_and_bars(report, "Half-written lines", forced_frame(summary),
                    caption="The other model's first k words of line 2 forced; the share of greedy lines that still "
                            "rhyme (k = 0: the model's own greedy line), the rhyme mass at the slot and the forced "
                            "words' log-prob per token under the model.",
                    metric="rhyme share", x="forced words k", title="Rhyme share after k forced words")
    if summary["paired"]:
        report.add_table(f"{roles[-1]} minus {roles[0]}, paired over couplets", page_table(paired_frame(summary)),
                         caption="Paired bootstrap interval of the difference; p by the test named (the paired "
                                 f"permutation test). Below {MIN_ITEMS} couplets: the estimates and the note, no "
                                 f"interval; below {MIN_TEST_ITEMS} no p-value either.")
    for role in roles:
        r = summary["per_role"][role]
        report.add_table(f"Most frequent rhyme words, {_who(summary, role)}",
                         pd.DataFrame(r["rhyme_words"], columns=["word", "samples"]))
        if r["unjudged_words"]:
            report.add_table(f"Last words the CMU dictionary lacks (not judged), {_who(summary, role)}",
                             pd.DataFrame(r["unjudged_words"], columns=["word", "lines"]))
    return report.save(store.path / REPORT_FILE)


def _planning_sections(report: Any, summary: Mapping[str, Any]) -> None:
    for role in summary["roles"]:
        plan = summary["per_role"][role]["planning"]
        table = layer_frame(summary, role)
        if plan.get("error"):
            report.add_text(f"No planning probe for {_who(summary, role)}: {plan['error']}.",
                            title=f"Planning, {_who(summary, role)}")
        else:
            report.add_figure(f"Planning by layer, {_who(summary, role)}",
                              layer_figure(table, title=f"Is the rhyme decodable at the line break? {role}"),
                              caption=f"Chosen layer {plan['chosen_layer']} (validation top-1). Probe: logistic on "
                                      "(state x candidate unembedding); control: the same on each couplet's labels "
                                      "shuffled among its candidates; lens: candidates ranked by the logit lens.")
        if not table.empty:
            report.add_table(f"Planning per layer, {_who(summary, role)}", table)


def compare_runs(stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
    """Each run's rhyme share and rhyme-slot mass per model on the couplets all runs share, each later run paired
    with the first (:func:`comparison_frame`), as a page, terminal text and JSON."""
    labels, n_items, frame = comparison_frame(stores, n_resamples=n_resamples)
    return comparison_outcome(frame, labels, n_items, out=out, title="calibkit: rhymes runs compared",
                              heading=f"On {n_items} shared couplets, paired with the first run",
                              caption=comparison_caption(what="couplets") + " Rhyme mass at the slot: over the "
                                      "couplets whose sampled lines have a slot in every run.",
                              what="shared couplets")


def comparison_frame(stores: Sequence[RunStore], *, n_resamples: int = 1000) -> tuple[list[str], int, pd.DataFrame]:
    """(run labels, shared couplets, table): :func:`calibkit.stats.comparison.paired_comparison` of
    :func:`comparison_measures` (each run's interval and n, the difference's paired interval, the paired
    permutation test; below the small-n rule the note)."""
    from calibkit.stats.comparison import paired_comparison, shared

    labels = run_labels(stores)
    aligned = shared({label: s.rows() for label, s in zip(labels, stores)}, key=lambda r: r["id"], what="couplets",
                     fix="compare rhymes runs of the same data")
    frame = paired_comparison(aligned, comparison_measures(aligned), n_resamples=n_resamples)
    return labels, len(aligned[labels[0]]), frame


def paper_parts(stores: Sequence[RunStore]) -> list[Any]:
    """The write-up's rhymes table: rhyme share and rhyme-slot mass per model and run, paired with the first."""
    from calibkit.paper import PaperPart, comparison_table
    from calibkit.paper.parts import folders, relabel

    labels, n_items, frame = comparison_frame(stores)
    return [PaperPart("rhymes-comparison", comparison_table(
        relabel(frame, labels, stores), name="rhymes-comparison",
        caption=f"Rhyme share of sampled lines and rhyme mass at the slot on {n_items} shared couplets."),
        folders(stores))]


def comparison_measures(aligned: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Any]:
    """Per model (role) that every run holds: the rhyme share of its sampled lines (rhyming lines / lines) and
    the mean rhyme-slot mass per couplet, the latter over the couplets with a slot in every run (so that the
    runs stay paired item by item).

    Raises:
        UserError: the runs share no role (a one-model run against a two-model run).
    """
    from calibkit.stats.comparison import Measure
    from calibkit.stats.metrics import ratio_of_sums

    from .study import class_counts, mean, slot_table

    runs = list(aligned.values())
    roles = [role for role in runs[0][0]["models"] if all(role in rows[0]["models"] for rows in runs)]
    if not roles:
        raise UserError("the rhymes runs share no model role (base, chat, or model alone); compare runs made "
                        "with the same number of models")
    measures = []
    for role in roles:
        slotted = np.all([np.isfinite(slot_table(rows, role)["rhyme_mass"]) for rows in runs], axis=0)
        measures += [
            Measure({"model": role, "measure": "rhyme share"}, ratio_of_sums,
                    lambda rows, role=role: _rhymed_and_lines(class_counts(rows, role))),
            Measure({"model": role, "measure": "rhyme mass at the slot"}, mean,
                    lambda rows, role=role, keep=slotted: (slot_table(rows, role)["rhyme_mass"][keep],)),
        ]
    return measures


def _rhymed_and_lines(counts: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(n_couplets,) rhyming sampled lines and (n_couplets,) sampled lines: the rhyme share's two arrays."""
    return counts["rhyme"], counts["lines"]
