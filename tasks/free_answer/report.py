"""TriviaQA pages and terminal text: a run's report, a comparison's report, their tables.

Renders what :mod:`.study` computed (:mod:`calibkit.draw.plots` figures on
a :class:`calibkit.draw.page.Report`); computes no statistic of its own.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from calibkit.draw.page import Report
from calibkit.runs.store import REPORT_FILE, RunStore
from calibkit.stats import metrics
from calibkit.stats.binning import bin_stats
from calibkit.tasks import reporting
from calibkit.tasks.reporting import ci_columns, comparison_caption, iv_text, page_table, run_header

from . import signals as free_signals
from .comparison import TriviaComparison, shared_rows
from .signal_pairs import pairs_caption, pairs_frame, pairs_text
from .words_report import add_words_section, words_figure, words_lines
from .study import (
    DIAGRAM_STRATEGY,
    ECES,
    PROBABILITY_SIGNALS,
    SIGNALS,
    SignalArrays,
    proposed_correct,
    signal_arrays,
    summarize_store,
)


def signals_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per signal: AUROC, the two ECEs (equal-mass, equal-width), Brier with 95% CIs, n, mean confidence.

    ``note`` says why a row has no bounds (the small-n rule)."""
    rows = []
    for name, s in summary["signals"].items():
        row = {"signal": s["label"]}
        for metric in ("auroc", *ECES, "brier"):
            iv = s.get(metric) or {}
            row[metric] = iv.get("estimate")
            row[f"{metric} low"] = iv.get("low")
            row[f"{metric} high"] = iv.get("high")
        row["mean confidence"] = s.get("mean")
        row["n"] = s.get("n", summary["n_items"])
        row["note"] = next((iv["note"] for iv in s.values() if isinstance(iv, dict) and iv.get("note")), None)
        rows.append(row)
    return pd.DataFrame(rows)


#: the signal table's metrics, in column order: summary key -> column label
TABLE_METRICS = {"auroc": "AUROC", "aurc": "AURC", "prr": "PRR", "spearman": "Spearman",
                 "ece_equal_mass": "ECE (equal-mass)", "ece_equal_width": "ECE (equal-width)"}


def _table_rows(summary: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The signal table's (name, entry) pairs: the run's own signals, then the library's table order
    (summary.json is written with sorted keys, so its order is not the table's)."""
    order = {name: i for i, name in enumerate((*SIGNALS, *free_signals.COMPUTED))}
    signals = summary.get("signal_table", {}).get("signals", {})
    return sorted(signals.items(), key=lambda kv: order.get(kv[0], len(order)))


def signal_table_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The signal table: one row per signal (the run's own first), each metric with its 95% CI, sign and source."""
    rows = []
    for name, s in _table_rows(summary):
        row: dict[str, Any] = {"signal": s["label"], "sign": s["sign"]}
        for key, label in TABLE_METRICS.items():
            iv = s.get(key) or {}
            row.update({label: iv.get("estimate"), f"{label} low": iv.get("low"), f"{label} high": iv.get("high")})
        row["n"] = s.get("n", summary["n_items"])
        row["note"] = next((iv["note"] for iv in s.values() if isinstance(iv, dict) and iv.get("note")), None)
        row["source"] = s["source"]
        rows.append(row)
    return pd.DataFrame(rows)


def signal_table_text(summary: Mapping[str, Any]) -> list[str]:
    """The signal table for a terminal: a line per signal (AUROC and PRR with CIs, AURC, Spearman, ECE), then
    the signals not computed and why."""
    table = summary.get("signal_table")
    if not table:
        return []
    def short(iv: Mapping[str, Any] | None) -> str:
        value = (iv or {}).get("estimate")
        return "-" if value is None or value != value else f"{value:.3f}"

    width = max([len(n) for n in table["signals"]] + [6])
    lines = [f"{'signal':<{width}}  AUROC [95% CI] | PRR [95% CI] | AURC | Spearman | ECE equal-mass"]
    for name, s in _table_rows(summary):
        lines.append(f"{name:<{width}}  {iv_text(s.get('auroc'))} | {iv_text(s.get('prr'))} | {short(s.get('aurc'))}"
                     f" | {short(s.get('spearman'))} | {short(s.get('ece_equal_mass'))}")
    lines += [f"{name}: {s['n_unreadable']} replies with no readable probability (left out; judged on {s['n']})"
              for name, s in _table_rows(summary) if "n_unreadable" in s]
    if table.get("not_stored"):
        lines.append(f"signals not reported: {table['not_stored']}")
    lines += [f"not computed: {names}: {how}" for names, how in not_computed_by_reason(table)]
    return lines


def not_computed_by_reason(table: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The signals a table leaves out, those left out for one reason together: ``[(names, how to get them)]``."""
    by_reason: dict[str, list[str]] = {}
    for name, how in table.get("not_computed", {}).items():
        by_reason.setdefault(how, []).append(name)
    return [(", ".join(names), how) for how, names in by_reason.items()]


def accuracy_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Accuracy of the greedy answer under each matcher, and of the answer P(True) evaluated, with 95% CIs and n."""
    labels = {"exact": "exact match (default)", "contains": "alias containment", "f1": "mean token F1"}
    rows = [{"answer": "greedy", "matcher": labels[k], **ci_columns(iv)} for k, iv in summary["accuracy"].items()]
    if "proposed_accuracy" in summary:
        source = "first sample" if summary.get("ptrue_answer") == "sample" else "greedy"
        rows.append({"answer": f"evaluated by P(True) ({source})", "matcher": labels["exact"],
                     **ci_columns(summary["proposed_accuracy"])})
    return pd.DataFrame(rows)


def confidently_wrong(rows: Sequence[Mapping[str, Any]], *, k: int = 10, signal: str = "p_true") -> pd.DataFrame:
    """The k wrong (exact match) answers with the highest ``signal``, most confident first.

    For P(True) the answer is the one it evaluated; for the other signals the greedy one.
    """
    def judged(r: Mapping[str, Any]) -> tuple[str, bool]:
        if signal == "p_true":
            return str(r.get("proposed", r["prediction"])), proposed_correct(r, "exact")
        return str(r["prediction"]), bool(r["correct_exact"])

    wrong = [r for r in rows if not judged(r)[1] and r.get(signal) is not None]
    wrong.sort(key=lambda r: (-float(r[signal]), r["id"]))
    out = []
    for r in wrong[:k]:
        q = str(r["question"])
        answer = judged(r)[0]
        out.append({
            "id": r["id"],
            "question": q if len(q) <= 160 else q[:157] + "...",
            "answer": answer if answer else "(empty)",
            "aliases": ", ".join(list(r["aliases"])[:3]) + (" ..." if len(r["aliases"]) > 3 else ""),
            "P(True)": r["p_true"],
            "seq prob": r.get("seq_prob"),
            "agreement": r.get("agreement"),
        })
    return pd.DataFrame(out, columns=["id", "question", "answer", "aliases", "P(True)", "seq prob", "agreement"])


def summary_text(summary: Mapping[str, Any]) -> str:
    """A few aligned lines for a terminal: n, accuracy per matcher, each signal's AUROC and ECE.

    Example:
        >>> print(summary_text(triviaqa_summary(rows)))          # doctest: +SKIP
        n                      100
        accuracy (exact)       0.120 [0.060, 0.190] n=100
        ...
    """
    lines = [("n", str(summary["n_items"])), ("empty answers", str(summary["n_empty"]))]
    lines += [(f"accuracy ({k})", iv_text(iv)) for k, iv in summary["accuracy"].items()]
    if "proposed_accuracy" in summary:
        lines.append((f"accuracy (P(True)'s {summary['ptrue_answer']})", iv_text(summary["proposed_accuracy"])))
    for name, sig in summary["signals"].items():
        lines.append((f"{name} AUROC", iv_text(sig.get("auroc"))))
        lines += [(f"{name} {key.replace('_', ' ').replace('ece', 'ECE')}", iv_text(sig[key]))
                  for key in ECES if key in sig]
    lines += verbal_lines(summary) + hedging_lines(summary)
    width = max(len(k) for k, _ in lines)
    notes = [f"departure: {d}" for d in summary.get("departures", ())]
    return "\n".join([f"{k:<{width}}  {v}" for k, v in lines] + signal_table_text(summary)
                     + pairs_text(summary) + words_lines(summary.get("words")) + notes)


def verbal_lines(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The verbal stage for a terminal: its method, the unreadable replies and (one-stage) its answers' accuracy."""
    v = summary.get("verbal")
    if not v:
        return []
    mean = "-" if v["mean_probability"] is None else f"{v['mean_probability']:.3f}"
    lines = [(f"verbal ({v['method']})", f"{v['n_replies'] - v['n_unreadable']} of {v['n_replies']} replies state a "
                                         f"probability, mean {mean}; judged against {v['judged_against']}"),
             ("verbal unreadable", f"{v['n_unreadable']} replies with no readable probability")]
    if "accuracy" in v:
        lines.append(("accuracy (verbal guesses)", iv_text(v["accuracy"])))
    return lines


def verbal_text(v: Mapping[str, Any]) -> str:
    """The verbal stage in words for the page: method, what it is judged against, the unreadable replies."""
    stage = ("Verb. 1S top-1: a separate reply giving a guess and the probability that it is correct"
             if v["method"] == "one-stage" else
             "Verb. 2S top-1: a follow-up turn asking for the probability that the greedy answer is correct")
    text = (f"{stage} (prompts: Tian et al. 2023, Table 6); judged against {v['judged_against']}. "
            f"{v['n_unreadable']} replies with no readable probability, of {v['n_replies']}: they are left out of "
            "the verbalized confidence's metrics (its n says how many are judged), not dropped from the run.")
    if "accuracy" in v:
        text += f" Accuracy of the one-stage guesses: {iv_text(v['accuracy'])}."
    return text


def hedging_lines(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Accuracy of the greedy answers per hedge class, one line each ("no answers" for an empty class)."""
    hedging = summary.get("hedging") or {}
    lines = [(f"accuracy ({c['label']})", iv_text(c["accuracy"]) if c["n"] else "no answers (n=0)")
             for c in hedging.get("classes", {}).values()]
    return lines + ([("empty answers (no hedge class)", str(hedging["n_empty"]))] if hedging.get("n_empty") else [])


def hedging_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per hedge class: answers in it, their accuracy with its 95% CI (empty when no answer is)."""
    classes = (summary.get("hedging") or {}).get("classes", {})
    rows = [{"class": c["label"], **(ci_columns(c["accuracy"]) if c["accuracy"] else
                                    {**ci_columns(None), "n": 0, "note": "no answers"})}
            for c in classes.values()]
    return pd.DataFrame(rows)


HEADER_KEYS = ("config", "split", "shots", "layout", "samples", "sample_temperature", "top_p", "brainstorm",
               "ptrue_answer", "ptrue_examples", "ptrue_example_mix", "ptrue_examples_true", "ptrue_prompt",
               "max_new_tokens", "stop", "stop_rule", "chat_template", "dtype", "quantization", "contexts_truncated",
               "data_source")


def _reliability(arr: SignalArrays, *, n_bins: int = 10):
    # the headline ECE's bins, so the diagram shows the gaps that ECE averages
    return {PROBABILITY_SIGNALS[name]: bin_stats(*arr.judged(name), n_bins=n_bins, strategy=DIAGRAM_STRATEGY)
            for name in PROBABILITY_SIGNALS if name in arr.names and arr.judged(name)[0].size}


#: matcher -> (dataset name, the exact-match rule in words)
_DATASETS = {
    "triviaqa": ("TriviaQA", "Exact match against the normalised aliases is the default (the official TriviaQA "
                             "metric, as in Kadavath et al. 2022)"),
    "nq_open": ("NQ-open", "Exact match as lm-evaluation-harness's nq_open scores it (articles, case and ASCII "
                           "punctuation ignored, any listed answer)"),
}


def write_run_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    """summary.json and a self-contained report.html for one TriviaQA run; returns the report path."""
    from calibkit.draw import plots

    rows = store.rows()
    summary = summarize_store(store, n_resamples=n_resamples, seed=seed)
    arr = signal_arrays(rows)
    label = str(store.config.get("model", "model"))
    dataset, rule = _DATASETS.get(store.config.get("matcher", "triviaqa"), _DATASETS["triviaqa"])
    report = Report(f"calibkit: {dataset} self-evaluation of {label}",
                    subtitle="Does the model know when its own free-form answer is right?")
    report.add_header(run_header(store, summary["n_items"], keys=HEADER_KEYS), title="Run")
    if summary.get("departures"):
        report.add_text("\n\n".join(summary["departures"]),
                        title="Where this run departs from the method its numbers are named after")
    report.add_table("Accuracy of the greedy answer", accuracy_frame(summary),
                     caption=f"{rule}; containment credits answers that hold an alias, "
                             "F1 partial overlap. P(True) is judged against the answer it evaluated (last row). "
                             f"Empty answers (counted wrong): greedy {summary['n_empty']}, evaluated "
                             f"{summary.get('n_empty_proposed', summary['n_empty'])}, samples "
                             f"{summary.get('n_empty_samples', 0)}. Contexts "
                             f"with few-shot examples cut to fit: {summary['n_truncated']}. Mean probability mass "
                             f"on ' (A)'/' (B)': {summary['p_true_mass_mean']:.3f}.")
    report.add_table("Confidence signals: discrimination and calibration", signals_frame(summary),
                     caption="AUROC: how well the signal separates right from wrong answers (0.5 = chance). "
                             "ECE and binary Brier only for signals that are probabilities: ece_equal_mass uses 10 "
                             "bins holding equal numbers of answers (Kadavath et al.'s ECE, appendix A.1-A.2), "
                             "ece_equal_width 10 bins of width 0.1. "
                             "Percentile bootstrap over questions, 95% CIs; n: questions (below 20 no interval, "
                             "and note says so).")
    if summary.get("verbal"):
        report.add_text(verbal_text(summary["verbal"]), title="Verbalized confidence (Tian et al. 2023)")
    if summary.get("signal_table"):
        report.add_table("Every confidence signal: AUROC, AURC, PRR, Spearman, ECE", signal_table_frame(summary),
                         caption=_signal_table_caption(summary["signal_table"]))
    if summary.get("signal_comparison"):
        report.add_table(f"Each signal against {summary['signal_comparison']['reference']}: paired differences",
                         pairs_frame(summary),
                         caption=pairs_caption(summary))
    eces = {PROBABILITY_SIGNALS[n]: summary["signals"][n]["ece_equal_mass"]["estimate"]
            for n in PROBABILITY_SIGNALS if "ece_equal_mass" in summary["signals"].get(n, {})}
    report.add_figure("Reliability diagrams", plots.reliability_diagram(_reliability(arr), ece=eces,
                                                                        title="Confidence vs accuracy"),
                      caption="10 equal-mass bins (Kadavath et al.'s); the ECE shown is ece_equal_mass. "
                              "P(True): renormalized over (A)/(B), against the correctness of the answer it "
                              "evaluated. Sequence likelihood: exp of the mean token "
                              "log-prob of the greedy answer (0 for an empty answer). Agreement: share of samples "
                              "equal to the greedy answer.")
    curves = {SIGNALS[n]: metrics.risk_coverage(*arr.judged(n)) for n in arr.names if arr.judged(n)[0].size}
    report.add_figure("Selective accuracy", plots.risk_coverage_curve(curves))
    report.add_table("Accuracy by hedging (Mielke et al. 2022)", hedging_frame(summary),
                     caption="Each greedy answer's raw text classed by calibkit's hedge lexicon (Hyland 2005's hedges "
                             "and boosters, whole words; first class that applies: says it does not know, hedged, "
                             "certainty-marked, plain); empty answers are in no class "
                             f"({(summary.get('hedging') or {}).get('n_empty', 0)} here). n: answers in the class; "
                             "below 20 no interval and note says so; an empty class has no accuracy (base models "
                             "rarely hedge a short answer).")
    add_words_section(report, summary.get("words"), label=label, chat=bool(store.config.get("chat_template")))
    report.add_table("The 10 most confidently wrong answers (by P(True))", confidently_wrong(rows, k=10))
    return report.save(store.path / REPORT_FILE)


def _signal_table_caption(table: Mapping[str, Any]) -> str:
    not_computed = "; ".join(f"{names}: {how}" for names, how in not_computed_by_reason(table))
    return ("P(True) is judged against the answer it evaluated, a one-stage verbalized confidence against its own "
            "guess (judged_against), every other signal against the greedy answer. Signals "
            "that are not probabilities are ranked (higher = more confident, an empty answer lowest), so only their "
            "order counts. AURC: area under the risk-coverage curve, lower is better. PRR: prediction rejection "
            "ratio, (area - random) / (oracle - random) as LM-Polygraph normalises it, 1 = oracle, 0 = random. "
            "Spearman: rank correlation with correctness. ECE only for probabilities. Percentile bootstrap over "
            "questions, 95% CIs (below 20 questions no interval, and note says so). Semantic sets are the "
            "matcher's (discrete), those of the *_nli signals an NLI model's (bidirectional entailment, "
            "--nli-model); token log-probs exclude the terminator. "
            + (f"Not reported: {table['not_stored']}. " if table.get("not_stored") else "")
            + (f"Not computed: {not_computed}." if not_computed else ""))


def write_comparison_report(stores: Sequence[RunStore], comparison: TriviaComparison, path: Path) -> Path:
    """A self-contained HTML page comparing TriviaQA runs; returns ``path``."""
    from calibkit.draw import plots

    labels = comparison.labels
    aligned = [signal_arrays(rows) for rows in shared_rows(stores)]
    report = Report("calibkit: TriviaQA comparison", subtitle=" vs ".join(labels))
    report.add_header({"runs": len(labels), "shared questions": comparison.n_items,
                       **{f"run {i + 1}": str(s.path) for i, s in enumerate(stores)}}, title="Runs")
    report.add_table("Metrics and paired differences (vs the first run)", page_table(comparison.table),
                     caption=comparison_caption(what="questions", headline=comparison.headline)
                     + " Correctness: exact match; P(True) is judged against the answer it evaluated, a one-stage "
                       "verbalized confidence against its own guess (on the questions where every run's reply "
                       "states a probability). Hedge classes: n counts each run's greedy answers in the class; the "
                       "class accuracies are paired over all shared questions.")
    for name, title in PROBABILITY_SIGNALS.items():
        if not all(name in a.names and a.judged(name)[0].size for a in aligned):
            continue
        stats = {lab: bin_stats(*a.judged(name), strategy=DIAGRAM_STRATEGY) for lab, a in zip(labels, aligned)}
        eces = {lab: float(metrics.ece(*a.judged(name), strategy=DIAGRAM_STRATEGY)) for lab, a in zip(labels, aligned)}
        report.add_figure(f"Reliability: {title}", plots.reliability_diagram(stats, ece=eces, title=title),
                          caption="10 equal-mass bins; the ECE shown is ece_equal_mass (Kadavath et al.'s).")
    if comparison.words:
        table, n = comparison.words
        report.add_table("Confidence in words: paired (vs the first run)", page_table(table),
                         caption=comparison_caption(what="questions every run worded") + f" n = {n}.")
        report.add_figure("Accuracy when each model says X vs people's reading of X",
                          words_figure(comparison.words_summaries,
                                       chat={lab: bool(s.config.get("chat_template")) for lab, s in zip(labels, stores)}))
    return report.save(path)


def comparison_text(comparison: TriviaComparison) -> str:
    """Each signal's metrics per run, with the paired difference to the first run; smooth ECE first, and why."""
    text = reporting.comparison_text(comparison.table, n_items=comparison.n_items, what="shared questions",
                                     headline=comparison.headline)
    if comparison.words:
        text += "\n\nconfidence in words\n" + reporting.comparison_text(comparison.words[0], n_items=comparison.words[1],
                                                                        what="questions every run worded")
    return text
