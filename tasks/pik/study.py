"""A P(IK) run read from disk: the probe fit, both predictors judged on held-out questions, comparisons.

The headline numbers are Kadavath et al.'s per-question definitions
(:mod:`.metrics`): AUROC and Brier of P(IK) against ``1{label > 0.5}``,
ECE in 10 equal-mass bins of questions (mean P(IK) against mean label).
calibkit's sample-level AUROC, ECE (10 equal-width bins) and Brier sit
beside them under names that say so. Every interval resamples questions,
each with all its samples, so it respects that a question's samples are
not independent. The reliability diagram draws the headline ECE's own bins
(:func:`reliability`).

Pure numpy on stored rows and states; it never touches a model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.runs.store import RunStore
from calibkit.stats import bootstrap
from calibkit.stats.binning import BinStats
from calibkit.stats.comparison import Measure, paired_comparison, shared
from calibkit.stats.smooth import SmoothECE
from calibkit.stats.multiple_choice import AnalysisError
from calibkit.tasks.free_answer.signal_tables import SAMPLE_INPUTS, judged_table, readable
from calibkit.tasks.reporting import frame_records, run_labels

from .hidden import read_states
from .metrics import METRIC_FNS, METRIC_LABELS, METRICS, N_BINS, SAMPLE_METRICS, knows, question_bins
from .probe import ProbeResult, check_labels, fit_probe, split_of

PREDICTORS = {"probe": "probe on the hidden state", "prompt": "prompted P(IK) (few-shot, no training)"}
ALL_METRICS = METRICS + SAMPLE_METRICS  # the headline first, then the sample-level ones


@dataclass(frozen=True)
class PikArrays:
    """A run's rows as arrays, sorted by id."""

    ids: tuple[str, ...]
    labels: np.ndarray  # (n,) share of right samples
    n_correct: np.ndarray  # (n,)
    n_samples: np.ndarray  # (n,)
    prompt: np.ndarray  # (n,) prompted P(IK)
    correct: np.ndarray  # (n,) bool: the greedy answer is right
    splits: np.ndarray  # (n,) "train", "validation" or "test"
    rows: tuple[Mapping[str, Any], ...]  # the rows, same order


def pik_arrays(rows: Sequence[Mapping[str, Any]], *, split_seed: int = 0) -> PikArrays:
    if not rows:
        raise AnalysisError("the P(IK) run has no results yet; run it (rerunning its command resumes) first")
    rows = tuple(sorted(rows, key=lambda r: r["id"]))
    return PikArrays(
        ids=tuple(r["id"] for r in rows), labels=np.array([r["label"] for r in rows], dtype=float),
        n_correct=np.array([r["n_correct"] for r in rows], dtype=float),
        n_samples=np.array([r["n_samples"] for r in rows], dtype=float),
        prompt=np.array([r["p_ik_prompt"] for r in rows], dtype=float),
        correct=np.array([bool(r["correct"]) for r in rows]),
        splits=np.array([split_of(r["id"], seed=split_seed) for r in rows]), rows=rows,
    )


def predictor_intervals(p: np.ndarray, n_correct: np.ndarray, n_samples: np.ndarray, *,
                        n_resamples: int = 1000, seed: int = 0) -> dict[str, bootstrap.Interval]:
    """One predictor's paper metrics and sample-level metrics (:data:`ALL_METRICS`), question-level bootstrap CIs.

    Args:
        p: ``(n,)`` P(IK) of n questions; n_correct, n_samples: ``(n,)`` their T=1 samples, right and in all
            (the label is ``n_correct / n_samples``). No questions: every interval NaN.
    """
    if np.asarray(p).size == 0:  # a run too small to hold a test question still gets a summary
        return {m: bootstrap.Interval(math.nan, math.nan, math.nan, 0.95, 0, n=0, note=bootstrap.too_few(0))
                for m in ALL_METRICS}
    return {m: bootstrap.bootstrap_ci(METRIC_FNS[m], p, n_correct, n_samples, n_resamples=n_resamples, seed=seed)
            for m in ALL_METRICS}


@dataclass(frozen=True)
class PikStudy:
    """The probe (when one can be fit) and the predictors' held-out numbers."""

    arrays: PikArrays
    probe: ProbeResult | None  # None when the stored questions cannot train a probe (see probe_error)
    probe_error: str | None  # why no probe was fit, as the one-line message says it
    test: np.ndarray  # (n,) bool: the held-out questions the predictors are judged on
    predictions: Mapping[str, np.ndarray]  # predictor -> (n_test,) P(IK) of the test questions


def study(store: RunStore, *, split_seed: int = 0) -> PikStudy:
    """Fit the probe from the stored states (none, with the reason, when the labels cannot train one)."""
    arr = pik_arrays(store.rows(), split_seed=split_seed)
    test = arr.splits == "test"
    predictions = {"prompt": arr.prompt[test]}
    try:
        check_labels(arr.labels, "stored")
        probe = fit_probe(read_states(store, arr.rows), arr.labels, arr.n_correct, arr.n_samples, arr.splits,
                          seed=split_seed)
    except AnalysisError as exc:
        return PikStudy(arr, None, str(exc), test, predictions)
    return PikStudy(arr, probe, None, test, {"probe": probe.test_predictions, **predictions})


def summarize_store(store: RunStore, *, n_resamples: int = 1000, seed: int = 0,
                    fitted: PikStudy | None = None) -> dict[str, Any]:
    """summary.json of a P(IK) run: labels, the probe's layer curve and the predictors on test; written and returned.

    ``fitted``: the run's :func:`study` when the caller has it already (the probe is fit once, not twice).
    """
    s = fitted if fitted is not None else study(store)
    arr, test = s.arrays, s.test
    k, n = arr.n_correct[test], arr.n_samples[test]
    predictors = {}
    for name, p in s.predictions.items():
        ivs = predictor_intervals(p, k, n, n_resamples=n_resamples, seed=seed)
        predictors[name] = {"label": PREDICTORS[name], "mean": float(p.mean()) if p.size else None,
                            **{m: iv.to_json() for m, iv in ivs.items()}}
    summary = {
        "task": "pik", "source": store.config.get("source"), "n_items": len(arr.ids),
        "n_train": int((arr.splits == "train").sum()), "n_validation": int((arr.splits == "validation").sum()),
        "n_test": int(test.sum()), "n_test_ik": int(knows(k / n).sum()),
        "samples_per_question": float(arr.n_samples.mean()), "metric_definitions": dict(METRIC_LABELS),
        "mean_label": float(arr.labels.mean()), "greedy_accuracy": float(arr.correct.mean()),
        "probe_error": s.probe_error, "layer": None, "C": None, "per_layer": [],
        "predictors": predictors, "n_resamples": n_resamples, "seed": seed,
        "signal_table": signal_table(s, n_resamples=n_resamples, seed=seed),
    }
    if s.probe is not None:
        summary.update(layer=s.probe.layer.layer, C=s.probe.layer.C, per_layer=[
            {"layer": f.layer, "C": f.C, "validation_auroc": _finite(f.validation_auroc),
             "validation_brier": f.validation_brier, "validation_sample_auroc": _finite(f.validation_sample_auroc)}
            for f in s.probe.per_layer])
    store.write_summary(summary)
    return summary


#: the free-answer signals a P(IK) run's rows give (greedy answer and samples), and the others with what they need
SIGNAL_NAMES, NOT_COMPUTED = readable(SAMPLE_INPUTS, run="a P(IK) run")


def signal_table(s: PikStudy, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The predictors and the free-answer signals (:data:`SIGNAL_NAMES`) on the held-out questions, each
    judged against the paper's target ``1{label > 0.5}`` (:func:`calibkit.tasks.free_answer.signal_tables.judged_table`).

    The signals read the greedy answer and the same T=1 samples that make the label, so the sample-based ones
    see the label's own samples: they are measured after answering, P(IK) before. Rows written before pik
    rows kept the signals' inputs: the predictors alone, and ``not_stored`` says why.
    """
    rows = [{**r, "empty_answer": not str(r["prediction"]).strip()}
            for r, t in zip(s.arrays.rows, s.test) if t]
    labels = s.arrays.n_correct[s.test] / s.arrays.n_samples[s.test]
    own = {name: (PREDICTORS[name], p) for name, p in s.predictions.items()}
    return judged_table(rows, knows(labels), SIGNAL_NAMES, own=own, not_computed=NOT_COMPUTED,
                        n_resamples=n_resamples, seed=seed)


def _finite(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


def reliability(s: PikStudy, *, n_bins: int = N_BINS) -> dict[str, BinStats]:
    """Each predictor's bins over the test questions: the headline ECE's own (:func:`.metrics.question_bins`)."""
    labels = s.arrays.n_correct[s.test] / s.arrays.n_samples[s.test]  # as METRIC_FNS read them
    return {PREDICTORS[name]: question_bins(p, labels, n_bins=n_bins) for name, p in s.predictions.items()}


#: the headline of a comparison of P(IK) predictors: smooth ECE with every T=1 sample one outcome at its
#: question's P(IK) (calibkit.stats.comparison.HEADLINE says why smooth ECE); with the same samples per
#: question it is the per-question smooth ECE of P(IK) against the label
SMOOTH_ECE = ("smooth_ece", "smooth ECE (sample-level; Błasiok & Nakkiran 2023)")


def sample_smooth_ece(p: np.ndarray, n_correct: np.ndarray, n_samples: np.ndarray) -> float:
    """Smooth ECE over samples: each question two weighted points, (P(IK), right) x k and (P(IK), wrong) x (n - k).

    Smooth ECE is linear in the items' weights (:class:`calibkit.stats.smooth.SmoothECE`), so this equals
    :func:`calibkit.stats.smooth.smooth_ece` of the samples written out one by one.

    Example:
        >>> round(sample_smooth_ece(np.array([0.9]), np.array([3]), np.array([4])), 4)  # 0.9 said, 0.75 right
        0.15
    """
    p = np.asarray(p, dtype=np.float64)
    k, n = np.asarray(n_correct, dtype=np.float64), np.asarray(n_samples, dtype=np.float64)
    right = np.tile([True, False], p.size)
    weights = np.column_stack([k, n - k]).ravel()[None, :]
    return float(SmoothECE(np.repeat(p, 2), right).values(weights)[0])


@dataclass(frozen=True)
class PikComparison:
    labels: tuple[str, ...]
    n_items: int  # test questions all runs share
    table: pd.DataFrame  # calibkit.stats.comparison.paired_comparison's table; each predictor's smooth ECE first

    @property
    def headline(self) -> bool:
        """Whether the table leads with smooth ECE (calibkit.stats.comparison.HEADLINE says why)."""
        return bool(len(self.table)) and self.table["metric"].iloc[0] == SMOOTH_ECE[0]

    def to_json(self) -> dict[str, Any]:
        return {"runs": list(self.labels), "n_items": self.n_items, "metrics": frame_records(self.table)}


def comparison_measures(predictors: Sequence[str]) -> list[Measure]:
    """Per predictor: smooth ECE (the headline), the paper's per-question metrics, then the sample-level ones;
    each reads (P(IK), right samples, samples) of the shared test questions."""
    out = []
    for name in predictors:
        def arrays(run: tuple, name: str = name) -> tuple[np.ndarray, ...]:
            preds, k, n = run
            return preds[name], k, n

        out.append(Measure({"predictor": PREDICTORS[name], "metric": SMOOTH_ECE[0], "definition": SMOOTH_ECE[1]},
                           sample_smooth_ece, arrays))
        out += [Measure({"predictor": PREDICTORS[name], "metric": m, "definition": METRIC_LABELS[m]}, METRIC_FNS[m],
                        arrays) for m in ALL_METRICS]
    return out


def compare_runs(stores: Sequence[RunStore], *, n_resamples: int = 1000, seed: int = 0) -> PikComparison:
    """Both predictors' smooth ECE, the paper's metrics, then sample-level ones per run on the shared test
    questions, paired with the first run (:func:`calibkit.stats.comparison.paired_comparison`)."""
    labels = run_labels(stores)
    studies = [study(s) for s in stores]
    tests = {label: [i for i, t in zip(x.arrays.ids, x.test) if t] for label, x in zip(labels, studies)}
    common = next(iter(shared(tests, key=lambda i: i, what="test questions",
                              fix="compare runs of the same source and split").values()))
    names = [p for p in PREDICTORS if all(p in x.predictions for x in studies)]
    runs = {label: _aligned(x, common) for label, x in zip(labels, studies)}
    table = paired_comparison(runs, comparison_measures(names), n_resamples=n_resamples, seed=seed)
    return PikComparison(tuple(labels), len(common), table)


def _aligned(s: PikStudy, ids: list[str]):
    test_ids = [i for i, t in zip(s.arrays.ids, s.test) if t]
    index = [test_ids.index(i) for i in ids]
    where = {i: j for j, i in enumerate(s.arrays.ids)}
    rows = [where[i] for i in ids]
    return ({k: v[index] for k, v in s.predictions.items()}, s.arrays.n_correct[rows], s.arrays.n_samples[rows])
