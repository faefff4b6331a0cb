"""Free-answer runs compared on the questions they share: every signal, paired, plus accuracy by hedge class.

:func:`compare_runs` pairs runs through the one paired comparison
(:func:`calibkit.stats.comparison.paired_comparison`: paired-bootstrap
intervals, permutation p-values, the small-n rule), smooth ECE first.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.runs.store import RunStore
from calibkit.stats.comparison import Measure, paired_comparison, shared
from calibkit.stats.intervals import MIN_ITEMS, too_few
from calibkit.stats.metrics import binary_brier
from calibkit.stats.multiple_choice import AnalysisError
from calibkit.stats.signals.hedges import CLASSES as HEDGE_CLASSES
from calibkit.tasks.reporting import frame_records, run_labels

from . import signals as free
from .study import (ECES, HEDGE_LABELS, HEDGE_METRIC, PROBABILITY_SIGNALS, SIGNALS, VERBAL, SignalArrays, mean_value,
                    signal_arrays)
from .words_report import words_comparison, words_summary


@dataclass(frozen=True)
class TriviaComparison:
    """Free-answer runs compared on the questions they share."""

    labels: tuple[str, ...]  # run labels, the first is the reference
    n_items: int  # questions all runs share
    # one row per (run, signal, metric): calibkit.stats.comparison.paired_comparison's columns; the smooth ECE of
    # each probability signal first (the headline), then each signal's ECEs, Brier, AUROC, then accuracy, then
    # every signal's AURC and PRR (and the table's signals' AUROC), then accuracy by hedge class
    table: pd.DataFrame
    # --words runs: (the words' paired table, questions every run worded), else None
    words: tuple[pd.DataFrame, int] | None = None
    # --words runs: each run's words summary on the shared questions (words_report.words_summary), for the figure
    words_summaries: Mapping[str, Mapping[str, Any]] | None = None

    @property
    def headline(self) -> bool:
        """Whether the table leads with smooth ECE (calibkit.stats.comparison.HEADLINE says why)."""
        return bool(len(self.table)) and self.table["metric"].iloc[0] == "smooth_ece"

    def to_json(self) -> dict[str, Any]:
        words = ({"words": {"n_items": self.words[1], "metrics": frame_records(self.words[0])}} if self.words else {})
        return {"runs": list(self.labels), "n_items": self.n_items, "metrics": frame_records(self.table), **words}


def shared_rows(stores: Sequence[RunStore]) -> list[list[dict[str, Any]]]:
    """Each run's rows restricted to the ids all runs have, sorted by id."""
    aligned = shared({str(i): s.rows() for i, s in enumerate(stores)}, key=lambda r: r["id"], what="questions",
                     fix="compare TriviaQA runs of the same config and split")
    return list(aligned.values())


def _getter(name: str, *, as_float: bool = False) -> Callable[[SignalArrays], tuple[np.ndarray, ...]]:
    """A signal's (confidence, whether its answer is right) from a run's arrays; float 0/1 for callables."""
    def arrays(a: SignalArrays) -> tuple[np.ndarray, ...]:
        conf, target = a.judged(name)
        return conf, target.astype(np.float64) if as_float else target

    return arrays


def comparison_measures(signals: Sequence[str]) -> list[Measure]:
    """What a TriviaQA comparison reports, headline first: each probability signal's smooth ECE; then per signal
    its two binned ECEs (:data:`ECES`), binary Brier and AUROC; then the greedy answer's accuracy."""
    probabilities = [name for name in signals if name in PROBABILITY_SIGNALS]
    spec = [Measure({"signal": SIGNALS[n], "metric": "smooth_ece"}, "smooth_ece", _getter(n)) for n in probabilities]
    for name in signals:
        if name in PROBABILITY_SIGNALS:
            spec += [Measure({"signal": SIGNALS[name], "metric": key}, metric, _getter(name))
                     for key, (metric, _) in ECES.items()]
            spec.append(Measure({"signal": SIGNALS[name], "metric": "brier"}, binary_brier, _getter(name, as_float=True)))
        spec.append(Measure({"signal": SIGNALS[name], "metric": "auroc"}, "auroc", _getter(name)))
    spec.append(Measure({"signal": "accuracy (exact)", "metric": "accuracy"}, mean_value,
                        lambda a: (a.correct_exact.astype(np.float64),)))
    return spec


def compare_runs(stores: Sequence[RunStore], *, n_resamples: int = 1000, seed: int = 0) -> TriviaComparison:
    """Each probability signal's smooth ECE (the headline), ECEs, Brier, each signal's AUROC, AURC and PRR, the
    accuracy and the accuracy by hedge class per run, paired with the first run on the questions all runs share
    (and, for --words runs, the words against people's reading).

    Signals every run has are compared; the table is
    :func:`calibkit.stats.comparison.paired_comparison`'s (paired-bootstrap
    intervals, permutation p-values, the small-n rule).
    """
    if len(stores) < 2:
        raise AnalysisError("compare needs at least two runs")
    labels = run_labels(stores)
    rows = shared_rows(stores)
    aligned = [signal_arrays(r) for r in rows]
    common = [k for k in aligned[0].signals if all(k in a.signals for a in aligned)]
    partial = shared_partial(aligned)
    if len({s.config.get("verbal") for s in stores}) > 1:  # a stated probability about different answers: not paired
        partial = [{k: v for k, v in p.items() if k != VERBAL} for p in partial]
    names = [n for n in free.selected(stores[0].config) if all(n in free.selected(s.config) for s in stores[1:])]
    computed = [free.confidences(r, names) for r in rows]
    extra = [n for n in names if all(n in c for c in computed)]
    runs = {label: replace(a, signals={**{k: a.signals[k] for k in common}, **{k: c[k] for k in extra}},
                           partial=p)
            for label, a, c, p in zip(labels, aligned, computed, partial)}
    own = [*common, *partial[0]]
    measures = comparison_measures(own) + signal_table_measures(own, extra) + hedging_measures()
    table = paired_comparison(runs, measures, n_resamples=n_resamples, seed=seed)
    words = words_comparison(dict(zip(labels, rows)), n_resamples=n_resamples, seed=seed)
    summaries = ({lab: words_summary(r, n_resamples=n_resamples, seed=seed) for lab, r in zip(labels, rows)}
                 if words else None)
    return TriviaComparison(tuple(labels), len(aligned[0].ids), class_small_n(table, runs), words, summaries)


def shared_partial(aligned: Sequence[SignalArrays]) -> list[dict[str, np.ndarray]]:
    """Each run's partial signals that every run has, NaN wherever any run's is (so that a paired measure
    reads the same items in every run: those where all runs have a value)."""
    names = [k for k in aligned[0].partial if all(k in a.partial for a in aligned)]
    both = {k: np.logical_and.reduce([np.isfinite(a.partial[k]) for a in aligned]) for k in names}
    return [{k: np.where(both[k], a.partial[k], np.nan) for k in names} for a in aligned]


def class_accuracy(right: np.ndarray, in_class: np.ndarray) -> float:
    """Mean of ``right`` over the items ``in_class`` (both ``(n,)``); NaN when the class is empty."""
    in_class = np.asarray(in_class, dtype=bool)
    return float(np.mean(right[in_class])) if in_class.any() else float("nan")


def hedging_measures() -> list[Measure]:
    """Accuracy of the greedy answers by hedge class: a class's accuracy is a function of every shared item
    (right, in the class), so the resamples and swaps of the paired comparison pair runs item by item."""
    def arrays(name: str) -> Callable[[SignalArrays], tuple[np.ndarray, ...]]:
        return lambda a: (a.correct.astype(np.float64), a.hedge == name)

    return [Measure({"signal": f"greedy answers, {HEDGE_LABELS[name]}", "metric": HEDGE_METRIC}, class_accuracy,
                    arrays(name)) for name in HEDGE_CLASSES]


def class_small_n(table: pd.DataFrame, runs: Mapping[str, SignalArrays]) -> pd.DataFrame:
    """The small-n rule by class: a hedge class's rows count that run's answers in the class (``n``), and where
    it (or the first run's) holds fewer than :data:`calibkit.stats.intervals.MIN_ITEMS` they keep the
    estimate and difference but no interval and no p-value, with the note saying why."""
    table = table.copy()
    first = next(iter(runs.values()))
    for name in HEDGE_CLASSES:
        rows = (table["signal"] == f"greedy answers, {HEDGE_LABELS[name]}") & (table["metric"] == HEDGE_METRIC)
        for i in table.index[rows]:
            n, n0 = (int((a.hedge == name).sum()) for a in (runs[table.at[i, "run"]], first))
            table.at[i, "n"] = n
            if n < MIN_ITEMS:
                table.loc[i, ["low", "high"]] = np.nan
                table.at[i, "note"] = too_few(n)
            if min(n, n0) < MIN_ITEMS and table.at[i, "test"] is not None:
                table.loc[i, ["diff_low", "diff_high", "p_value"]] = np.nan
                table.at[i, "test"] = None
                table.at[i, "note"] = too_few(min(n, n0))
    return table


def signal_table_measures(own: Sequence[str], computed: Sequence[str]) -> list[Measure]:
    """The signal table in a comparison, after the run's own measures: AURC and PRR of the run's own signals
    (``own``), AUROC, AURC and PRR of each computed free-answer signal (:mod:`.signals`)."""
    spec = []
    for name in (*own, *computed):
        label = SIGNALS.get(name, name)
        if name in computed:
            spec.append(Measure({"signal": label, "metric": "auroc"}, "auroc", _getter(name)))
        spec += [Measure({"signal": label, "metric": "aurc"}, "aurc", _getter(name)),
                 Measure({"signal": label, "metric": "prr"}, "prr", _getter(name))]
    return spec
