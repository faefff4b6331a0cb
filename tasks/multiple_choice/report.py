"""Summaries and HTML pages for option runs, comparisons and temperature sweeps.

Everything here works from run folders on disk (no model): it computes with
:mod:`calibkit.stats.multiple_choice`, draws with :mod:`calibkit.draw.plots` and lays out with
:class:`calibkit.draw.page.Report`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.draw import plots
from calibkit.draw.page import Report
from calibkit.files import write_atomic
from calibkit.runs.store import REPORT_FILE, RunStore
from calibkit.stats import metrics, multiple_choice, temperature
from calibkit.stats.binning import bin_stats
from calibkit.stats.bootstrap import MIN_ITEMS
from calibkit.stats.paired import HEADLINE_METRIC
from calibkit.tasks.base import Outcome
from calibkit.tasks.reporting import (
    ci_columns,
    comparison_caption,
    frame_records,
    page_table,
    run_header,
    run_labels,
)

from . import nota_text
from .study import letter_vs_true_false, nota_arrays, nota_summary, self_eval_arrays, self_eval_summary, variant_of

HEADER_KEYS = ("split", "lm_eval_split", "format", "shots", "fewshot_split", "data_source", "dtype", "quantization",
               "chat_template")
CROSS_FIT_FOLDS = 5  # folds of the cross-fitted temperature in sweeps

#: what a comparison of option runs reports, the headline first: smooth ECE with the permutation test
#: (calibkit.stats.comparison.HEADLINE says why), the two binned ECEs beside it, then the rest
COMPARE_METRICS = ("smooth_ece", "ece", "ece_quantile", "accuracy", "brier", "nll", "auroc")
METRIC_LABELS = {
    "smooth_ece": "smooth ECE (top-label; Błasiok & Nakkiran 2023)",
    "accuracy": "accuracy",
    "ece": "ECE (top-label, 10 equal-width bins)",
    "rms_ce": "RMS calibration error",
    "mce": "max calibration error",
    "ece_quantile": "ECE as Kadavath et al. (top-label, 10 equal-mass bins)",
    "brier": "Brier (multiclass)",
    "nll": "NLL (nats)",
    "auroc": "AUROC (confidence vs correct)",
    "aurc": "area under risk-coverage",
}


def summarize_store(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Recompute and write summary.json for a run folder (a self-evaluation run's own kind); returns it.

    A none-of-the-above run's summary also holds ``"none_of_the_above"``
    (:func:`.study.nota_summary`); the config's ``"departures"`` (where the run
    departs from the method it names) are copied in, for the summary text.
    """
    variant = variant_of(store.config)
    if variant == "self_eval":
        summary = self_eval_summary(store.items(), n_resamples=n_resamples, seed=seed)
    else:
        summary = multiple_choice.run_summary(store.items(), n_resamples=n_resamples, seed=seed)
    if variant == "none_of_the_above":
        summary["none_of_the_above"] = nota_summary(store.items(), n_resamples=n_resamples, seed=seed)
    if store.config.get("departures"):
        summary["departures"] = list(store.config["departures"])
    store.write_summary(summary)
    return summary


def with_departures(caption: str, summary: Mapping[str, Any]) -> str:
    """A table's caption followed by the run's departures (one sentence each, beside the numbers)."""
    return " ".join([caption, *(f"Departure: {d}" for d in summary.get("departures", ()))])


def nota_frame(nota: Mapping[str, Any]) -> pd.DataFrame:
    """The replaced option's calibration (:func:`.study.nota_summary`) as a table; n and the small-n note beside
    the interval."""
    plain = {"estimate": None, "95% CI low": None, "95% CI high": None, "n": None, "note": None}
    rows = [
        {**plain, "metric": label, "estimate": value} for label, value in (
            ("share of items where 'None of the above' is right", nota["share_right"]),
            ("mean P('None of the above')", nota["mean_p"]))
    ]
    rows.append({"metric": "ECE of P('None of the above') vs right (10 equal-width bins)", **ci_columns(nota["ece"])})
    rows += [{**plain, "metric": label, "estimate": value} for label, value in (
        ("the same, 10 equal-mass bins", nota["ece_quantile"]),
        ("Brier of P('None of the above') (binary)", nota["brier"]),
        ("items where the model picks it", nota["n_picked"]),
        ("how often it is right when picked", nota["right_when_picked"]),
        ("mean P when picked", nota["mean_p_when_picked"]),
        ("accuracy where it is the answer", nota["accuracy_when_right"]),
        ("accuracy where it is not", nota["accuracy_when_not"]))]
    return pd.DataFrame(rows, columns=["metric", *plain], dtype=object)  # the count stays a count, not 12.0


def add_nota_section(report: Report, items: Sequence[Any], nota: Mapping[str, Any], *, label: str) -> None:
    """The replaced option's table and reliability diagram (Kadavath et al. 3.1)."""
    report.add_table("'None of the above' itself", page_table(nota_frame(nota)),
                     caption="Kadavath et al. 3.1: the calibration of the replaced option itself, every item; "
                             "95% CI: percentile bootstrap over items.")
    arr = nota_arrays(items)
    report.add_figure("Reliability of P('None of the above')", plots.reliability_diagram(
        {label: bin_stats(arr.p, arr.right, n_bins=10)}, ece={label: nota["ece"]["estimate"]},
        title="P('None of the above') vs how often it is right"))


def metrics_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The summary's metrics as a table: metric, estimate, 95% CI, n, and the small-n note where there is no CI."""
    rows = [{"metric": METRIC_LABELS.get(name, name), **ci_columns(iv)} for name, iv in summary["metrics"].items()]
    if "accuracy_norm" in summary:
        rows.insert(1, {"metric": "accuracy, length-normalised (lm-eval's acc_norm)",
                        **ci_columns(summary["accuracy_norm"])})
    for label, value in (
        ("mean option mass", summary["option_mass_mean"]),
        ("all-options pooled ECE (every option's probability, equal-mass bins)", summary["pooled_ece"]),
        (f"ECE at T={multiple_choice.KADAVATH_TEMPERATURE}", summary["ece_at_kadavath_t"]),
    ):
        rows.append({"metric": label, **ci_columns({"estimate": value})})
    return pd.DataFrame(rows)


def write_run_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    """summary.json and report.html for one option run."""
    if variant_of(store.config) == "self_eval":
        return write_self_eval_report(store, n_resamples=n_resamples, seed=seed)
    items = store.items()
    summary = summarize_store(store, n_resamples=n_resamples, seed=seed)
    ece = summary["metrics"]["ece"]["estimate"]
    label = str(store.config.get("model", "model"))
    report = Report(f"calibkit: {store.config.get('task', 'run')} calibration of {label}")
    report.add_header(run_header(store, summary["n_items"], keys=HEADER_KEYS), title="Run")
    report.add_table("Metrics", page_table(metrics_frame(summary)),
                     caption=with_departures(f"Percentile bootstrap over items, 1,000 resamples unless stated; n: the items "
                                        f"behind each interval (below {MIN_ITEMS} no interval, and the note says so).",
                                        summary))
    report.add_figure("Reliability diagram", plots.reliability_diagram({label: multiple_choice.reliability_stats(items)},
                                                                       ece={label: ece}))
    if "none_of_the_above" in summary:
        add_nota_section(report, items, summary["none_of_the_above"], label=label)
    report.add_figure("Kadavath et al. pooled calibration (every option)",
                      plots.pooled_calibration_chart({label: multiple_choice.pooled_stats(items)},
                                                     ece={label: summary["pooled_ece"]}))
    arr = multiple_choice.option_arrays(items)
    top = metrics.top_label(arr.probs(), arr.labels)
    report.add_figure("Risk-coverage",
                      plots.risk_coverage_curve({label: metrics.risk_coverage(top.confidence, top.correct)}))
    cats = multiple_choice.category_table(items)
    if len(cats):
        report.add_table("By category", cats)
    subjects = multiple_choice.category_table(items, key="subject")
    if len(subjects) > 1:
        report.add_table("By subject", subjects)
    report.add_table("The 10 most confidently wrong items", multiple_choice.confidently_wrong(items, k=10))
    return report.save(store.path / REPORT_FILE)


@dataclass(frozen=True)
class Comparison:
    """Runs compared on the items they share."""

    labels: tuple[str, ...]  # run labels, first is the reference
    n_items: int  # items all runs share
    table: pd.DataFrame  # paired metrics table (multiple_choice.paired_table), smooth ECE first
    categories: pd.DataFrame  # per-category accuracy/ECE per run

    @property
    def headline(self) -> bool:
        """Whether the table leads with smooth ECE (calibkit.stats.comparison.HEADLINE says why)."""
        return bool(len(self.table)) and self.table["metric"].iloc[0] == HEADLINE_METRIC

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": list(self.labels),
            "n_items": self.n_items,
            "metrics": frame_records(self.table),
            "categories": frame_records(self.categories),
        }


def compare_runs(stores: Sequence[RunStore], *, n_resamples: int = 1000, seed: int = 0,
                 labels: Sequence[str] | None = None) -> Comparison:
    """Paired comparison of option runs on their shared items (``labels``: the runs' names; default their models)."""
    labels = list(labels) if labels is not None else run_labels(stores)
    aligned = multiple_choice.shared_items({lab: s.items() for lab, s in zip(labels, stores)})
    table = multiple_choice.paired_table(aligned, metrics_=COMPARE_METRICS, n_resamples=n_resamples, seed=seed)
    table.insert(2, "measure", table["metric"].map(METRIC_LABELS))  # each metric named by what it computes
    cats = []
    for lab, items in aligned.items():
        frame = multiple_choice.category_table(items)
        if len(frame):
            frame.insert(0, "run", lab)
            cats.append(frame)
    categories = pd.concat(cats, ignore_index=True) if cats else pd.DataFrame()
    return Comparison(tuple(labels), len(next(iter(aligned.values()))), table, categories)


def write_comparison_report(stores: Sequence[RunStore], comparison: Comparison, path: Path) -> Path:
    labels = comparison.labels
    aligned = multiple_choice.shared_items({lab: s.items() for lab, s in zip(labels, stores)})
    report = Report("calibkit: comparison", subtitle=" vs ".join(labels))
    report.add_header({"runs": len(labels), "shared items": comparison.n_items,
                       **{f"run {i + 1}": str(s.path) for i, s in enumerate(stores)}}, title="Runs")
    report.add_table("Metrics and paired differences (vs the first run)", page_table(comparison.table, drop=["metric"]),
                     caption=comparison_caption(headline=comparison.headline))
    stats = {lab: multiple_choice.reliability_stats(items) for lab, items in aligned.items()}
    eces = comparison.table[comparison.table.metric == "ece"].set_index("run")["estimate"].to_dict()
    report.add_figure("Reliability diagrams", plots.reliability_diagram(stats, ece=eces))
    report.add_figure("Pooled calibration (every option)",
                      plots.pooled_calibration_chart({lab: multiple_choice.pooled_stats(it) for lab, it in aligned.items()}))
    if len(comparison.categories):
        report.add_table("By category", comparison.categories)
    return report.save(path)


@dataclass(frozen=True)
class SweepResult:
    """A temperature study of one run."""

    label: str  # run label
    table: pd.DataFrame  # temperature_sweep output
    fitted_temperature: float  # mean cross-fitted T (5 folds)
    fold_temperatures: tuple[float, ...]  # T of each fold
    cross_fitted_ece: float  # ECE of the cross-fitted probabilities
    ece_at_kadavath_t: float  # ECE at T = 2.5

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.label,
            "fitted_temperature": self.fitted_temperature,
            "fold_temperatures": list(self.fold_temperatures),
            "cross_fitted_ece": self.cross_fitted_ece,
            "ece_at_kadavath_t": self.ece_at_kadavath_t,
        }


def sweep_run(store: RunStore, temps: np.ndarray, *, label: str, n_resamples: int = 200, seed: int = 0) -> SweepResult:
    """One run's temperature study: metrics against T, the cross-fitted T, and the ECE at T = 2.5."""
    arr = multiple_choice.option_arrays(store.items())
    if arr.labels.size < 2 * CROSS_FIT_FOLDS:
        raise multiple_choice.AnalysisError(
            f"run {store.path} has {arr.labels.size} items; the cross-fitted temperature needs at least "
            f"{2 * CROSS_FIT_FOLDS} ({CROSS_FIT_FOLDS} folds); score more items (raise --limit)"
        )
    table = temperature.temperature_sweep(arr.logprobs, arr.labels, list(temps), n_resamples=n_resamples, seed=seed)
    table.insert(0, "run", label)
    fit = temperature.cross_fit_temperature(arr.logprobs, arr.labels, n_folds=CROSS_FIT_FOLDS, seed=seed)
    fitted = metrics.top_label(fit.probs, arr.labels)
    at_t = metrics.top_label(arr.probs(temperature=multiple_choice.KADAVATH_TEMPERATURE), arr.labels)
    return SweepResult(
        label=label,
        table=table,
        fitted_temperature=float(fit.mean_temperature),
        fold_temperatures=tuple(float(t) for t in fit.temperatures),
        cross_fitted_ece=float(metrics.ece(fitted.confidence, fitted.correct)),
        ece_at_kadavath_t=float(metrics.ece(at_t.confidence, at_t.correct)),
    )


def write_sweep_report(results: Sequence[SweepResult], path: Path) -> Path:
    report = Report("calibkit: temperature sweep", subtitle=", ".join(r.label for r in results))
    report.add_table("Cross-fitted temperature (5 folds) and Kadavath's T = 2.5",
                     pd.DataFrame([r.to_json() | {"fold_temperatures": ", ".join(f"{t:.3f}" for t in r.fold_temperatures)}
                                   for r in results]))
    sweeps = {r.label: r.table for r in results}
    fitted = {r.label: r.fitted_temperature for r in results}
    for metric in ("ece", "nll", "brier"):
        report.add_figure(f"{metric.upper()} vs temperature",
                          plots.temperature_curve(sweeps, metric=metric, fitted_temperature=fitted))
    return report.save(path)


def sweep_runs(stores: Sequence[RunStore], temperatures: Sequence[float], *, out: Path,
               n_resamples: int = 200) -> Outcome:
    """Temperature study of each run: ``out/sweep.csv`` (every run's table) and ``out/sweep.html``."""
    temps = np.asarray(temperatures, dtype=np.float64)
    results = [sweep_run(s, temps, label=lab, n_resamples=n_resamples) for s, lab in zip(stores, run_labels(stores))]
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "sweep.csv", pd.concat([r.table for r in results]).to_csv(index=False))
    page = write_sweep_report(results, out / "sweep.html")
    lines = [f"{r.label}: fitted T = {r.fitted_temperature:.3f} (cross-fitted ECE {r.cross_fitted_ece:.3f}); "
             f"ECE at T=2.5: {r.ece_at_kadavath_t:.3f}" for r in results]
    lines.append(f"table: {out / 'sweep.csv'}")
    return Outcome(json=[r.to_json() for r in results] + [{"report": str(page)}], text="\n".join(lines), report=page)


# --------------------------------------------------------------------------- Kadavath et al.'s variants


def write_self_eval_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    """summary.json and report.html of a True/False self-evaluation run."""
    summary = summarize_store(store, n_resamples=n_resamples, seed=seed)
    arr = self_eval_arrays(store.items())
    label = str(store.config.get("model", "model"))
    report = Report(f"calibkit: {store.config.get('task', 'run')} True/False self-evaluation of {label}",
                    subtitle="P(True) that each option is the right answer (Kadavath et al. 2022, section 3.2)")
    report.add_header(run_header(store, summary["n_questions"], keys=HEADER_KEYS), title="Run")
    rows = [{"metric": name, **ci_columns(iv, low="low", high="high")}
            for name, iv in (("accuracy of the option with the highest P(True)", summary["choice_accuracy"]),
                             *((f"P(True) {k}", v) for k, v in summary["pairs"].items()))]
    rows.insert(0, {"metric": "share of true pairs", **ci_columns({"estimate": summary["share_true"]}, low="low",
                                                                   high="high")})
    report.add_table("P(True) over the (question, proposed answer) pairs", page_table(pd.DataFrame(rows)),
                     caption=with_departures("95% intervals resample whole questions (n: questions; below 20 no "
                                        "interval). Brier is binary: mean (P(True) - "
                                        "right)^2; ECE and Brier depend on the share of true pairs.", summary))
    stats = bin_stats(arr.p_true, arr.right, n_bins=10)
    report.add_figure("Reliability of P(True)", plots.reliability_diagram(
        {label: stats}, ece={label: summary["pairs"]["ece"]["estimate"]}, title="P(True) vs how often the option is right"))
    return report.save(store.path / REPORT_FILE)


def write_variants_report(stores: Sequence[RunStore], out: Path) -> Outcome:
    """The study page of one command's runs: the unmodified run beside its none-of-the-above and self-evaluation runs."""
    by_variant = {variant_of(s.config): s for s in stores}
    plain = by_variant["plain"]
    for store in stores:
        write_run_report(store)
    label = str(plain.config.get("model", "model"))
    page = Report(f"calibkit: {plain.config.get('task', 'run')} variants of {label}",
                  subtitle="Kadavath et al. 2022, section 3: none of the above; True/False self-evaluation")
    page.add_header({"runs": len(stores), **{variant: str(s.path) for variant, s in by_variant.items()}}, title="Runs")
    out_json: dict[str, Any] = {"runs": [str(s.path) for s in stores]}
    lines = [f"{variant}: {s.path}" for variant, s in by_variant.items()]
    if "none_of_the_above" in by_variant:
        nota_store = by_variant["none_of_the_above"]
        comparison = compare_runs([plain, nota_store], labels=("unmodified", "none of the above"))
        nota_json = nota_store.read_summary()  # written just above by write_run_report
        page.add_table("None of the above vs unmodified, same items", page_table(comparison.table, drop=["metric"]),
                       caption=with_departures("First run: unmodified; second: none of the above. "
                                          + comparison_caption(headline=comparison.headline), nota_json))
        add_nota_section(page, nota_store.items(), nota_json["none_of_the_above"], label=label)
        out_json["none_of_the_above"] = {**comparison.to_json(), "replaced_option": nota_json["none_of_the_above"]}
        lines.append(nota_text(nota_json["none_of_the_above"]))
    if "self_eval" in by_variant:
        self_eval_store = by_variant["self_eval"]
        table = letter_vs_true_false(plain.items(), self_eval_store.items())
        share = float(table["share right"].iloc[-1])
        page.add_table("Letter format vs True/False, same questions", table,
                       caption=with_departures("Letter: confidence of the chosen answer. True/False: P(True) of each "
                                          "(question, proposed answer) pair, no choices shown (Kadavath et al. 3.2); "
                                          f"{share:.3f} of the pairs are true, and ECE and Brier depend on it; its "
                                          "accuracy is that of the proposed answer with the highest P(True).",
                                          {"departures": self_eval_store.config.get("departures", ())}))
        arr = self_eval_arrays(by_variant["self_eval"].items())
        letter = multiple_choice.reliability_stats(plain.items())
        page.add_figure("Calibration: letter format vs True/False", plots.reliability_diagram(
            {"letter format": letter, "True/False (P(True))": bin_stats(arr.p_true, arr.right, n_bins=10)}))
        out_json["self_eval"] = frame_records(table)
    folder = out / f"{plain.config.get('task', 'run')}-variants"
    path = page.save(folder / f"{plain.path.parent.name}-{plain.path.name}.html")
    out_json["report"] = str(path)
    return Outcome(json=out_json, text="\n".join(lines), report=path)
