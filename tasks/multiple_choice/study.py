"""Kadavath et al.'s variants of a multiple-choice run, read from disk: True/False self-evaluation and "none of the above".

* A **self-evaluation** run holds one P(True) item per (question, option)
  pair (:func:`.variants.self_eval_prompts`). :func:`self_eval_summary`
  reads P(True) as a probability that the proposed option is right:
  ECE, Brier and AUROC over all pairs, and the accuracy of choosing, per
  question, the option with the highest P(True); intervals resample whole
  questions (a question's pairs are not independent).
* :func:`letter_vs_true_false` puts that next to the same questions'
  letter-format calibration (the paper's figure: the letter format is better
  calibrated than True/False).
* A **none-of-the-above** run is compared with the unmodified run on the
  same items by the paired test every comparison uses.

Pure numpy and pandas; never draws, never imports the engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from calibkit.records import ScoredItem
from calibkit.stats import bootstrap, metrics
from calibkit.stats.multiple_choice import AnalysisError, option_arrays

VARIANTS = ("plain", "none_of_the_above", "self_eval")  # config["variant"]; plain runs do not record it


def variant_of(config: dict[str, Any]) -> str:
    """Which of :data:`VARIANTS` a run's config.json describes."""
    return str(config.get("variant", "plain"))


@dataclass(frozen=True)
class SelfEvalArrays:
    """A self-evaluation run's pairs as aligned arrays; pair i belongs to question ``question[i]``."""

    question_ids: tuple[str, ...]  # (q,) the multiple-choice items, sorted
    p_true: np.ndarray  # (n,) P(True) of each (question, option) pair, renormalized over " (A)"/" (B)"
    right: np.ndarray  # (n,) bool: the proposed option is the right one
    question: np.ndarray  # (n,) int index into question_ids
    proposed: np.ndarray  # (n,) int index of the proposed option within its question


def self_eval_arrays(items: Sequence[ScoredItem]) -> SelfEvalArrays:
    """The pairs of a self-evaluation run, sorted by question then option.

    Example:
        >>> from calibkit.records import ScoredItem
        >>> pair = lambda q, j, lp, a: ScoredItem(id=f"{q}/self_eval/{j}", task="t", options=(" (A)", " (B)"),
        ...     logprobs=lp, answer=a, meta={"question_id": q, "proposed": j})
        >>> a = self_eval_arrays([pair("q", 1, (-2.0, -2.0), 1), pair("q", 0, (0.0, -9.0), 0)])
        >>> a.proposed.tolist(), a.right.tolist(), round(float(a.p_true[1]), 3)
        ([0, 1], [True, False], 0.5)
    """
    pairs = sorted((it for it in items if it.answer is not None),
                   key=lambda it: (str(it.meta.get("question_id")), int(it.meta.get("proposed", -1))))
    if not pairs:
        raise AnalysisError("the self-evaluation run has no scored pairs yet; run it first")
    if any("question_id" not in it.meta or "proposed" not in it.meta for it in pairs):
        raise AnalysisError("items lack meta question_id/proposed: this is not a self-evaluation run")
    ids = tuple(sorted({str(it.meta["question_id"]) for it in pairs}))
    where = {q: i for i, q in enumerate(ids)}
    return SelfEvalArrays(
        question_ids=ids,
        p_true=np.array([it.probs()[0] for it in pairs]),
        right=np.array([it.answer == 0 for it in pairs]),
        question=np.array([where[str(it.meta["question_id"])] for it in pairs], dtype=np.int64),
        proposed=np.array([int(it.meta["proposed"]) for it in pairs], dtype=np.int64),
    )


def choice_by_p_true(arr: SelfEvalArrays) -> np.ndarray:
    """(q,) bool: for each question, whether the option with the highest P(True) is right (first on ties)."""
    order = np.lexsort((arr.proposed, -arr.p_true, arr.question))  # best pair of each question first
    first = np.r_[True, arr.question[order][1:] != arr.question[order][:-1]]
    return arr.right[order][first]


def self_eval_summary(items: Sequence[ScoredItem], *, n_bins: int = 10, n_resamples: int = 1000,
                      seed: int = 0) -> dict[str, Any]:
    """summary.json of a self-evaluation run: P(True) over all pairs and the choice it implies.

    Intervals resample questions (all of a question's pairs together), with
    the same draws for every metric.
    """
    arr = self_eval_arrays(items)
    chosen = choice_by_p_true(arr)
    pair_metrics = {
        name: bootstrap.cluster_ci(name, arr.p_true, arr.right, clusters=arr.question, n_resamples=n_resamples,
                                   seed=seed, n_bins=n_bins).to_json()
        for name in ("ece", "ece_quantile", "auroc")
    }
    return {
        "variant": "self_eval",
        "n_pairs": int(arr.p_true.shape[0]),
        "n_questions": len(arr.question_ids),
        "mean_p_true": float(arr.p_true.mean()),
        "pairs": {**pair_metrics, "brier": _binary_brier_ci(arr, n_resamples=n_resamples, seed=seed)},
        "choice_accuracy": bootstrap.bootstrap_ci(np.mean, chosen.astype(np.float64), n_resamples=n_resamples,
                                                  seed=seed).to_json(),
    }


def _binary_brier_ci(arr: SelfEvalArrays, *, n_resamples: int, seed: int) -> dict[str, Any]:
    """Mean (P(True) - right)^2 over pairs; the multiclass Brier of (1 - p, p) is twice it."""
    probs = np.column_stack([1 - arr.p_true, arr.p_true])
    iv = bootstrap.cluster_ci("brier", probs, arr.right.astype(int), clusters=arr.question,
                              n_resamples=n_resamples, seed=seed)
    half = bootstrap.Interval(iv.estimate / 2, iv.low / 2, iv.high / 2, iv.level, iv.n_resamples,
                              iv.bootstrap_mean / 2)
    return half.to_json()


def letter_vs_true_false(letter: Sequence[ScoredItem], self_eval: Sequence[ScoredItem], *, n_bins: int = 10,
                         n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The same questions in the letter format and as True/False pairs, one row per format.

    Letter format: top-label confidence of the chosen letter. True/False:
    P(True) of every (question, option) pair; its accuracy is that of the
    option with the highest P(True).
    """
    tf = self_eval_arrays(self_eval)
    shared = sorted(set(tf.question_ids) & {it.id for it in letter})
    if not shared:
        raise AnalysisError("the letter-format and self-evaluation runs share no question; run them on the same items")
    keep = set(shared)
    letter_arr = option_arrays([it for it in letter if it.id in keep])
    top = metrics.top_label(letter_arr.probs(), letter_arr.labels)
    tf_rows = self_eval_arrays([it for it in self_eval if str(it.meta.get("question_id")) in keep])
    rows = [
        _format_row("letter (A)-(D)", top.confidence, top.correct, top.correct, n_bins=n_bins),
        _format_row("True/False per option", tf_rows.p_true, tf_rows.right, choice_by_p_true(tf_rows), n_bins=n_bins),
    ]
    frame = pd.DataFrame(rows)
    frame.insert(1, "questions", len(shared))
    return frame


def _format_row(name: str, confidence: np.ndarray, correct: np.ndarray, chosen_right: np.ndarray, *,
                n_bins: int) -> dict[str, Any]:
    return {
        "format": name,
        "accuracy": float(np.mean(chosen_right)),
        "ECE (10 bins)": metrics.ece(confidence, correct, n_bins=n_bins),
        "ECE equal-mass": metrics.ece(confidence, correct, n_bins=n_bins, strategy="quantile"),
        "Brier (binary)": float(np.mean((confidence - correct) ** 2)),
        "AUROC": metrics.auroc(confidence, correct) if correct.any() and not correct.all() else float("nan"),
        "mean confidence": float(np.mean(confidence)),
    }
