"""A Nudging run's page and terminal lines."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.runs.store import REPORT_FILE, RunStore
from calibkit.runs.task import Outcome
from calibkit.stats.bootstrap import MIN_ITEMS
from calibkit.stats.paired import MIN_TEST_ITEMS
from calibkit.paper.numbers import Cell, cell_text, fixed
from calibkit.tasks.reporting import ci_columns, interval_text, iv_text, p_text, page_table, run_header, run_labels
from calibkit.tasks.reporting import comparison_caption, comparison_outcome

from .study import conditions, summarize_store

HEADER_KEYS = ("source", "limit", "shots", "gammas", "rule", "max_new_tokens", "data_source")


def accuracy_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per condition: accuracy with its 95% CI and n (the small-n note in their place below the rule),
    the paired differences to the base model and to the nudger (one cell each: difference [interval], p) and
    the test that gave p, and the calibration of the base model's likelihood."""
    rows = []
    for r in summary["accuracy"]:
        row = {"condition": r["condition"], **ci_columns(r["accuracy"])}
        for other in ("base", "nudger"):  # one cell each: difference [interval], p (the paper's format)
            d = r.get(f"minus_{other}")
            row[f"minus {other}"] = cell_text(Cell.of_difference(d, with_p=True)) if d else None
        row["test"] = next((d["test"] for d in (r.get("minus_base"), r.get("minus_nudger")) if d and d.get("test")),
                           None)
        cal = summary["calibration"][r["condition"]]
        row.update({"ECE (base likelihood)": fixed(cal["ece"]), "AUROC (base likelihood)": fixed(cal["auroc"])})
        rows.append(row)
    return pd.DataFrame(rows)


def words_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for cond, w in summary["words"].items():
        row = {"condition": cond, "nudged share of words": w["nudged_share"]["estimate"]}
        for cls, v in w["by_class"].items():
            row[f"{cls}: nudged"], row[f"{cls}: base"] = v["nudged"]["estimate"], v["base"]["estimate"]
        row.update({f"nudged share, {k}": v for k, v in w["by_position"].items()})
        rows.append(row)
    return pd.DataFrame(rows)


def summary_text(summary: Mapping[str, Any]) -> str:
    """One line per condition: accuracy with its interval and n; for nudged conditions the paired differences to
    the base model and the nudger (interval, p and its test), and the share of words nudged. Below the small-n
    rule the estimates stand with the note in place of the interval (the exact permutation test's p stays from 6
    questions on)."""
    def cell(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}"

    def versus(d: Mapping[str, Any]) -> str:
        p = p_text(d.get("p_value"), d.get("test"))
        return interval_text(d["difference"], d.get("low"), d.get("high"), note=d.get("note"), signed=True) + (
            f" {p}" if p else "")

    lines = [f"questions {summary['n_items']}"]
    for r in summary["accuracy"]:
        extra = ""
        if "minus_base" in r:
            extra = f"  vs base {versus(r['minus_base'])}  vs nudger {versus(r['minus_nudger'])}"
            extra += f"  words nudged {cell(summary['words'][r['condition']]['nudged_share']['estimate'])}"
        lines.append(f"{r['condition']:<20} accuracy {iv_text(r['accuracy'])}{extra}")
    return "\n".join(lines)


def write_run_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    from calibkit.draw import plots
    from calibkit.draw.page import Report

    summary = summarize_store(store, n_resamples=n_resamples, seed=seed)
    models = store.config.get("models", {})
    base, nudger = (models.get(k, {}).get("model", k) for k in ("base", "nudger"))
    rule = store.config.get("rule", "word-start")
    subtitle = ("The authors' rule: the chat model writes, and the base model takes over at a word it predicts or is "
                "sure of, until it is unsure." if rule == "reference" else
                "calibkit's word-start rule: where the base model is unsure at a word's start, the chat model writes "
                "the word.")
    report = Report(f"calibkit: Nudging {base} with {nudger}", subtitle=subtitle)
    report.add_header(run_header(store, summary["n_items"], keys=HEADER_KEYS), title="Run")
    report.add_table("Accuracy per condition", page_table(accuracy_frame(summary)),
                     caption=f"Percentile bootstrap over questions, 95% CIs; n: questions (below {MIN_ITEMS} no "
                             "interval, and note says so). Differences are paired on the same questions; p: "
                             "two-sided, by the test named in 'test' (the paired permutation test, exact at any n; "
                             f"none below {MIN_TEST_ITEMS} questions, where it cannot reach 0.05). ECE and AUROC: "
                             "the base model's sequence likelihood of each answer as its confidence.")
    curve = pd.DataFrame([{"benchmark": r["condition"], "model": "accuracy", "estimate": r["accuracy"]["estimate"],
                           "low": r["accuracy"]["low"], "high": r["accuracy"]["high"], "n": r["accuracy"]["n"],
                           "note": r["accuracy"]["note"]} for r in summary["accuracy"]])
    report.add_figure("Accuracy, plotted", plots.benchmark_chart(curve, metric="accuracy", x_title="condition",
                                                                 title="Accuracy: base, nudger, nudged"))
    first = " By the authors' rule the nudger always writes the first word." if rule == "reference" else ""
    report.add_table("Which words were nudged", words_frame(summary),
                     caption="Words: the answer's whitespace-separated words, each the nudger's when it wrote its "
                             "first character. Class shares among the words the nudger wrote, beside those among the "
                             "base model's own words in the same answers; position: share of words nudged by "
                             f"position.{first}")
    where = pd.DataFrame([{"benchmark": position, "model": cond, "estimate": share, "low": float("nan"),
                           "high": float("nan")} for cond, w in summary["words"].items()
                          for position, share in w["by_position"].items()])
    report.add_figure("Where in the answer the nudger writes", plots.benchmark_chart(
        where, metric="share of words nudged", x_title="position in the answer",
        title="Share of words nudged, by position"))
    for cond, w in summary["words"].items():
        if w["most_nudged"]:
            report.add_table(f"Most nudged words ({cond})", pd.DataFrame(w["most_nudged"], columns=["word", "count"]))
    return report.save(store.path / REPORT_FILE)


def comparison_frame(stores: Sequence[RunStore], *, n_resamples: int = 1000) -> tuple[list[str], int, Any]:
    """(run labels, shared questions, table): each condition's accuracy per run, paired with the first run
    (:func:`calibkit.stats.comparison.paired_comparison`: bootstrap intervals, the paired permutation test, n,
    and below the small-n rule the note in place of the interval).

    Conditions every run holds are compared (runs made with other gammas share base and nudger).
    """
    from calibkit.stats.comparison import Measure, paired_comparison, shared

    labels = run_labels(stores)
    aligned = shared({label: s.rows() for label, s in zip(labels, stores)}, key=lambda r: r["id"], what="questions",
                     fix="compare Nudging runs of the same task and data")
    conds = {label: conditions(rows) for label, rows in aligned.items()}
    names = [c for c in conds[labels[0]] if all(c in x for x in conds.values())]
    measures = [Measure({"condition": c, "metric": "accuracy"}, np.mean, functools.partial(_right, c))
                for c in names]
    return labels, len(aligned[labels[0]]), paired_comparison(conds, measures, n_resamples=n_resamples)


def compare_runs(stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
    """Each condition's accuracy per run on the questions all runs share, paired with the first run
    (:func:`comparison_frame`), as a page, terminal text and JSON."""
    labels, n_items, frame = comparison_frame(stores, n_resamples=n_resamples)
    return comparison_outcome(frame, labels, n_items, out=out, title="calibkit: Nudging comparison",
                              heading=f"Accuracy on {n_items} shared questions, paired with the first run",
                              caption=comparison_caption(what="questions") + " Correct: the task's matcher.",
                              what="shared questions")


def paper_parts(stores: Sequence[RunStore]) -> list[Any]:
    """The write-up's Nudging table: each condition's accuracy per run, later runs' paired differences."""
    from calibkit.paper import PaperPart, comparison_table
    from calibkit.paper.parts import folders, relabel

    labels, n_items, frame = comparison_frame(stores)
    return [PaperPart("nudging-accuracy", comparison_table(
        relabel(frame, labels, stores).drop(columns="metric"), name="nudging-accuracy",
        caption=f"Accuracy per condition on {n_items} shared questions (correct: the task's matcher)."),
        folders(stores))]


def _right(condition: str, conds: dict[str, list[dict[str, Any]]]) -> tuple[np.ndarray]:
    """A run's per-question correctness (0/1) under one condition, in the aligned order."""
    return (np.array([bool(a["correct"]) for a in conds[condition]], float),)
