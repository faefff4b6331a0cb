"""A P(IK) run's page: the layer curve, both predictors' reliability on held-out questions, the numbers.

The table leads with Kadavath et al.'s per-question metrics and keeps the
sample-level ones beside them, each named by its definition; the
reliability diagram draws the bins the table's ECE is computed from and
prints that same ECE.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from calibkit.runs.store import REPORT_FILE, RunStore
from calibkit.tasks.free_answer.report import signal_table_frame, signal_table_text
from calibkit.tasks.reporting import ci_columns, interval_text, page_table, run_header

from .metrics import METRIC_LABELS, METRICS, SAMPLE_METRICS
from .study import ALL_METRICS, PREDICTORS, PikStudy, reliability, study, summarize_store

HEADER_KEYS = ("source", "split", "shots", "samples", "sample_temperature", "pik_prompt_shots", "data_source", "dtype",
               "chat_template")
LEVELS = {**{m: "per question (paper)" for m in METRICS}, **{m: "sample-level" for m in SAMPLE_METRICS}}
PROTOCOL = (
    "Label of a question: the share of its {samples:g} temperature-1 samples that are right, its ground-truth "
    "P(IK) (Kadavath et al. 2022, section 5); IK when the label is above 0.5, IDK otherwise (a label of exactly "
    "0.5 is IDK). The probe is a logistic regression on the hidden state at the last prompt token, trained on 60% "
    "of the questions; its layer is the one with the highest per-question AUROC on 20% (validation); both "
    "predictors are judged on the remaining 20% (split by a hash of the question id).\n\n"
    "Headline, per question as in the paper: AUROC and Brier of P(IK) against 1{{label > 0.5}} (Table 1, appendix "
    "A.3); ECE with the questions in 10 equal-mass bins of P(IK), each bin's mean label against its mean P(IK) "
    "(appendix A.1-A.2), the bins the reliability diagram draws. Beside them, calibkit's sample-level numbers: "
    "every sample one outcome at its question's P(IK) (ECE in 10 equal-width bins). Intervals resample questions; "
    "n: the test questions behind them (below 20: no interval, and the note says so)."
)

SIGNAL_CAPTION = (
    "The same held-out questions, every row judged against 1{label > 0.5} with the free-answer run's metrics "
    "(AUROC, AURC, PRR, Spearman, and ECE where the row is a probability; percentile bootstrap over questions, 95% "
    "CIs). The two P(IK) predictors are read before answering; the free-answer signals read the greedy answer and "
    "the same T=1 samples that make the label (the sample-based ones share the label's samples), as "
    "`calibkit run triviaqa` computes them; an empty greedy answer ranks lowest on the greedy-answer signals."
)


def predictors_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The page's table: per predictor, the paper's metrics then the sample-level ones, each with its 95% CI."""
    rows = []
    for entry in summary["predictors"].values():
        for metric in ALL_METRICS:
            iv = entry[metric]
            rows.append({"predictor": entry["label"], "level": LEVELS[metric], "metric": METRIC_LABELS[metric],
                         **ci_columns(iv)})
    return pd.DataFrame(rows)


def summary_text(summary: Mapping[str, Any]) -> str:
    """Terminal lines: the labels, the chosen layer, each predictor's paper metrics, then its sample-level ones."""
    def metrics(e: Mapping[str, Any], names: tuple[str, ...]) -> str:
        # one n or one small-n marker per line: every interval of a line resamples the same test questions
        notes = sorted({e[m].get("note") for m in names} - {None})
        cells = "  ".join(f"{m.removeprefix('sample_')} "
                          + interval_text(e[m]["estimate"], *((None, None) if notes else (e[m]["low"], e[m]["high"])))
                          for m in names)
        n = e[names[0]].get("n")
        return cells + (f"  [{'; '.join(notes)}]" if notes else "" if n is None else f"  n={n}")

    lines = [f"questions {summary['n_items']} (train {summary['n_train']}, validation {summary['n_validation']}, "
             f"test {summary['n_test']}, of which {summary['n_test_ik']} IK: label > 0.5); "
             f"{summary['samples_per_question']:g} samples each",
             f"mean P(right sample) {summary['mean_label']:.3f}; greedy accuracy {summary['greedy_accuracy']:.3f}",
             (f"probe layer {summary['layer']} (highest per-question validation AUROC), C={summary['C']:g}"
              if summary["layer"] is not None else f"probe not fit: {summary['probe_error']}"),
             "per question (the paper): AUROC and Brier vs 1{label > 0.5}, ECE in 10 equal-mass bins; "
             "sample-level: every sample one outcome, ECE in 10 equal-width bins"]
    for name, e in summary["predictors"].items():
        lines.append(f"{name:<7} per question  {metrics(e, METRICS)}")
        lines.append(f"{'':<7} sample-level  {metrics(e, SAMPLE_METRICS)}")
    if summary.get("signal_table"):  # absent in summaries written before pik rows kept the signals' inputs
        lines.append("the free-answer signals beside them, same held-out questions, vs 1{label > 0.5}:")
    return "\n".join(lines + signal_table_text(summary))


def reliability_figure(s: PikStudy, summary: Mapping[str, Any]) -> Any:
    """The test questions' reliability diagram: the table's ECE bins, labelled with the table's ECE."""
    from calibkit.draw import plots

    eces = {PREDICTORS[name]: e["ece"]["estimate"] for name, e in summary["predictors"].items()}
    fig = plots.reliability_diagram(reliability(s), ece=eces,
                                    title="P(IK) vs mean label, 10 equal-mass bins of held-out questions")
    fig.update_yaxes(title_text="mean label (ground-truth P(IK))", row=1, col=1)
    fig.update_yaxes(title_text="questions", row=2, col=1)
    return fig.update_xaxes(title_text="P(IK)", row=2, col=1)


def write_run_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    from calibkit.draw import plots
    from calibkit.draw.page import Report

    s = study(store)
    summary = summarize_store(store, n_resamples=n_resamples, seed=seed, fitted=s)
    label = str(store.config.get("model", "model"))
    report = Report(f"calibkit: P(IK) of {label} on {store.config.get('source')}",
                    subtitle="Does the model know, before answering, whether it knows the answer?")
    report.add_header(run_header(store, summary["n_items"], keys=HEADER_KEYS), title="Run")
    report.add_text(PROTOCOL.format(samples=summary["samples_per_question"]), title="Protocol")
    caption = (f"{summary['n_test']} held-out questions, {summary['n_test_ik']} of them IK (label > 0.5)."
               + ("" if summary["probe_error"] is None else f" No probe: {summary['probe_error']}"))
    report.add_table("Held-out questions: probe vs prompted P(IK)", page_table(predictors_frame(summary)),
                     caption=caption)
    if summary.get("signal_table"):
        report.add_table("Held-out questions: P(IK) beside the free-answer signals", signal_table_frame(summary),
                         caption=SIGNAL_CAPTION)
    if summary["per_layer"]:
        curve = pd.DataFrame(summary["per_layer"])
        report.add_figure("Validation AUROC by layer (per question, vs 1{label > 0.5})", plots.layer_curve(
            curve, metric="validation_auroc", chosen=summary["layer"]))
    if s.test.any():
        report.add_figure("Reliability on held-out questions", reliability_figure(s, summary))
    return report.save(store.path / REPORT_FILE)
