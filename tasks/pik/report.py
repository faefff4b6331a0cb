"""A P(IK) run's page: the layer curve, both predictors' reliability on held-out questions, the numbers."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from calibkit.runs.store import REPORT_FILE, RunStore
from calibkit.tasks.reporting import run_header

from .study import METRICS, reliability, study, summarize_store

HEADER_KEYS = ("source", "split", "shots", "samples", "sample_temperature", "pik_prompt_shots", "data_source", "dtype",
               "chat_template")


def predictors_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for name, entry in summary["predictors"].items():
        for metric in METRICS:
            iv = entry[metric]
            rows.append({"predictor": entry["label"], "metric": metric, "estimate": iv["estimate"],
                         "95% CI low": iv["low"], "95% CI high": iv["high"]})
    return pd.DataFrame(rows)


def summary_text(summary: Mapping[str, Any]) -> str:
    """Terminal lines: the labels, the chosen layer, each predictor's test AUROC, ECE and Brier."""
    def cell(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}"

    lines = [f"questions {summary['n_items']} (train {summary['n_train']}, validation {summary['n_validation']}, "
             f"test {summary['n_test']}); {summary['samples_per_question']:g} samples each",
             f"mean P(right sample) {summary['mean_label']:.3f}; greedy accuracy {summary['greedy_accuracy']:.3f}",
             (f"probe layer {summary['layer']} (chosen on validation), C={summary['C']:g}"
              if summary["layer"] is not None else f"probe not fit: {summary['probe_error']}")]
    for name, e in summary["predictors"].items():
        lines.append(f"{name:<7} " + "  ".join(
            f"{m} {cell(e[m]['estimate'])} [{cell(e[m]['low'])}, {cell(e[m]['high'])}]" for m in METRICS))
    return "\n".join(lines)


def write_run_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    from calibkit.draw import plots
    from calibkit.draw.page import Report

    summary = summarize_store(store, n_resamples=n_resamples, seed=seed)
    s = study(store)
    label = str(store.config.get("model", "model"))
    report = Report(f"calibkit: P(IK) of {label} on {store.config.get('source')}",
                    subtitle="Does the model know, before answering, whether it knows the answer?")
    report.add_header(run_header(store, summary["n_items"], keys=HEADER_KEYS), title="Run")
    report.add_text(f"Label of a question: the share of its {summary['samples_per_question']:g} temperature-1 "
                    "samples that are right (Kadavath et al. 2022, section 5). The probe is a logistic regression on the hidden "
                    "state at the last prompt token, trained on 60% of the questions, its layer chosen on 20%, and "
                    "both predictors are judged on the remaining 20% (split by a hash of the question id). Metrics "
                    "count every sample as one outcome; intervals resample questions.", title="Protocol")
    report.add_table("Held-out questions: probe vs prompted P(IK)", predictors_frame(summary),
                     caption=None if summary["probe_error"] is None else f"No probe: {summary['probe_error']}")
    if summary["per_layer"]:
        curve = pd.DataFrame(summary["per_layer"])
        report.add_figure("Validation AUROC by layer", plots.layer_curve(curve, metric="validation_auroc",
                                                                         chosen=summary["layer"]))
    if s.test.any():
        report.add_figure("Reliability on held-out questions", plots.reliability_diagram(
            reliability(s), title="P(IK) vs share of right samples"))
    return report.save(store.path / REPORT_FILE)
