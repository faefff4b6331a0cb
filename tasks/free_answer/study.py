"""Free-answer runs as arrays and numbers: correctness, confidence signals, their quality.

Reads stored rows (no model, no torch, no drawing): :func:`signal_arrays`
aligns correctness and the confidence signals, :func:`summarize_rows` makes
summary.json (accuracy per matcher; each signal's AUROC and, for
probabilities, ECE and Brier, with bootstrap CIs; accuracy by hedge class;
the words' readings). :mod:`.comparison` pairs runs on their shared
questions; :mod:`.departures` says where a run departs from its method.

ECE comes twice, each named by its binning: ``ece_equal_mass`` (10 bins
holding equal numbers of answers: Kadavath et al. 2022, appendix A.1-A.2,
the headline) and ``ece_equal_width`` (10 bins of width 0.1 on [0, 1]).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from calibkit.runs.store import RunStore
from calibkit.stats import bootstrap
from calibkit.stats.metrics import binary_brier
from calibkit.stats.multiple_choice import AnalysisError
from calibkit.stats.signals.hedges import CLASSES as HEDGE_CLASSES
from calibkit.stats.signals.hedges import hedge_class

from . import signals as free
from .departures import departures
from .signal_pairs import signal_comparison
from .words_report import words_summary

TASK = "triviaqa"
CORRECTNESS = ("exact", "contains")
#: the probability-valued signals: (row field, label in reports)
PROBABILITY_SIGNALS = {
    "p_true": "P(True)",
    "seq_prob": "sequence likelihood (exp mean token log-prob)",
    "agreement": "sample agreement",
    "verbal_confidence": "verbalized confidence (stated probability)",
}
#: the hedge classes of a greedy answer (calibkit.stats.signals.hedges), in report order, with their labels
HEDGE_LABELS = {"dont_know": "says it does not know", "hedged": "hedged", "certain": "certainty-marked",
                "plain": "plain (no marker)"}
EMPTY = "empty"  # the hedge "class" of an empty greedy answer: in none of HEDGE_LABELS' classes
HEDGE_METRIC = "hedge-class accuracy"  # the comparison's metric of the hedge-class rows (n: the class's answers)
VERBAL = "verbal_confidence"  # the stated probability's signal name (asked with --verbal)
#: every signal whose AUROC is reported; seq_logprob is the total log-prob (ranked, not a probability)
SIGNALS = {**PROBABILITY_SIGNALS, "seq_logprob": "sequence log-likelihood (total)"}
#: the two ECEs, headline first: summary key -> (calibkit.stats.bootstrap metric, binning in words)
ECES = {
    "ece_equal_mass": ("ece_quantile", "10 equal-mass bins, Kadavath et al.'s"),
    "ece_equal_width": ("ece", "10 equal-width bins"),
}
#: the binning of the reliability diagrams: the headline ECE's (calibkit.stats.binning strategy)
DIAGRAM_STRATEGY = "quantile"


@dataclass(frozen=True)
class SignalArrays:
    """A run's rows as aligned arrays, sorted by id; row i is ``ids[i]``."""

    ids: tuple[str, ...]  # question ids, (n,)
    correct: np.ndarray  # (n,) bool: the greedy answer is right under the chosen rule
    correct_exact: np.ndarray  # (n,) bool
    correct_contains: np.ndarray  # (n,) bool
    f1: np.ndarray  # (n,) token F1 in [0, 1]
    empty: np.ndarray  # (n,) bool: empty greedy answer
    proposed_correct: np.ndarray  # (n,) bool: the answer P(True) evaluated is right under the chosen rule
    signals: Mapping[str, np.ndarray] = field(default_factory=dict)  # name -> (n,) confidence in [0, 1]; see signal_arrays
    # name -> (n,) confidence in [0, 1], NaN where the item has none (verbal_confidence: no readable probability);
    # read them with judged(), which leaves those items out
    partial: Mapping[str, np.ndarray] = field(default_factory=dict)
    # name -> (n,) bool: the answer a signal is judged against where it is neither the greedy nor P(True)'s
    # (verbal_confidence in a one-stage run: the reply's own guess)
    targets: Mapping[str, np.ndarray] = field(default_factory=dict)
    hedge: np.ndarray | None = None  # (n,) str: the greedy answer's hedge class (HEDGE_LABELS); None without raw text

    def target(self, signal: str) -> np.ndarray:
        """(n,) bool: what a signal is a confidence in (P(True): its proposed answer; a one-stage verbal
        confidence: its own guess; others: the greedy answer)."""
        if signal in self.targets:
            return self.targets[signal]
        return self.proposed_correct if signal == "p_true" else self.correct

    @property
    def names(self) -> tuple[str, ...]:
        """Every signal the arrays hold: those defined for every item, then the partial ones."""
        return (*self.signals, *self.partial)

    def judged(self, signal: str) -> tuple[np.ndarray, np.ndarray]:
        """``(confidence (m,), right (m,) bool)`` of the m items where the signal has a value, against its target."""
        if signal in self.signals:
            return self.signals[signal], self.target(signal)
        conf = self.partial[signal]
        keep = np.isfinite(conf)
        return conf[keep], self.target(signal)[keep]


def proposed_correct(row: Mapping[str, Any], rule: str) -> bool:
    # Rows written before the proposed answer was recorded evaluated the greedy one.
    return bool(row.get(f"proposed_correct_{rule}", row[f"correct_{rule}"]))


def signal_arrays(rows: Sequence[Mapping[str, Any]], *, correct_by: str = "exact") -> SignalArrays:
    """Correctness and confidence arrays of TriviaQA rows, sorted by id.

    Signals (each ``(n,)`` in [0, 1]; judge each against :meth:`SignalArrays.target`):

    * ``p_true``: as stored, a confidence in the proposed answer
      (``proposed_correct``);
    * ``seq_prob``, ``agreement``: as stored, confidences in the greedy
      answer; an empty greedy answer has no tokens, so its ``seq_prob`` is
      taken as 0 (no claim). ``agreement`` is present only when every row
      has samples.
    * ``seq_logprob``: the total log-likelihood, turned into dense ranks in
      [0, 1] (an empty answer ranks lowest). Only its AUROC is meaningful.

    Raises:
        ValueError: no rows, or an unknown ``correct_by``.

    Example:
        >>> a = signal_arrays([{"id": "b", "correct_exact": True, "correct_contains": True, "f1": 1.0,
        ...     "empty_answer": False, "p_true": 0.9, "seq_prob": 0.5, "seq_logprob": -1.0, "agreement": 1.0},
        ...    {"id": "a", "correct_exact": False, "correct_contains": True, "f1": 0.5, "empty_answer": False,
        ...     "p_true": 0.2, "seq_prob": 0.1, "seq_logprob": -4.0, "agreement": 0.3}])
        >>> a.ids, a.correct.tolist(), a.signals["seq_logprob"].tolist()
        (('a', 'b'), [False, True], [0.0, 1.0])
    """
    if correct_by not in CORRECTNESS:
        raise ValueError(f"correct_by must be one of {', '.join(CORRECTNESS)}; got {correct_by!r}")
    if not rows:
        raise AnalysisError("the run has no results yet; run it (rerunning its command resumes) before reporting")
    rows = sorted(rows, key=lambda r: r["id"])
    empty = np.array([bool(r.get("empty_answer", False)) for r in rows])
    signals: dict[str, np.ndarray] = {
        "p_true": np.array([float(r["p_true"]) for r in rows]),
        "seq_prob": np.array([0.0 if r.get("seq_prob") is None else float(r["seq_prob"]) for r in rows]),
    }
    if all(r.get("agreement") is not None for r in rows):
        signals["agreement"] = np.array([float(r["agreement"]) for r in rows])
    total = np.array([-np.inf if r.get("seq_logprob") is None else float(r["seq_logprob"]) for r in rows])
    signals["seq_logprob"] = free.rank01(total)
    exact = np.array([bool(r["correct_exact"]) for r in rows])
    contains = np.array([bool(r["correct_contains"]) for r in rows])
    partial, targets = verbal_arrays(rows, correct_by)
    return SignalArrays(
        ids=tuple(r["id"] for r in rows),
        correct=exact if correct_by == "exact" else contains,
        correct_exact=exact,
        correct_contains=contains,
        f1=np.array([float(r["f1"]) for r in rows]),
        empty=empty,
        proposed_correct=np.array([proposed_correct(r, correct_by) for r in rows]),
        signals=signals,
        partial=partial,
        targets=targets,
        # an empty greedy answer makes no claim to hedge: it is in no class (EMPTY), and counted beside them
        hedge=np.array([EMPTY if r.get("empty_answer") else hedge_class(str(r.get("greedy_raw", r.get("prediction", ""))))
                        for r in rows]),
    )


def verbal_arrays(rows: Sequence[Mapping[str, Any]], correct_by: str) -> tuple[dict[str, np.ndarray],
                                                                              dict[str, np.ndarray]]:
    """The stated probabilities of rows sorted by id (NaN where unreadable) and, for a one-stage run, whether
    each reply's own guess is right; empty when the run did not ask (no --verbal)."""
    if not rows or not all("verbal_probability" in r for r in rows):
        return {}, {}
    stated = np.array([np.nan if r["verbal_probability"] is None else float(r["verbal_probability"]) for r in rows])
    targets = {}
    if all(f"verbal_correct_{correct_by}" in r for r in rows):  # one-stage: judged against its own guess
        targets[VERBAL] = np.array([bool(r[f"verbal_correct_{correct_by}"]) for r in rows])
    return {VERBAL: stated}, targets


def mean_value(x: np.ndarray) -> float:
    """The mean of per-item values (a bootstrap metric)."""
    return float(np.mean(x))




def signal_intervals(
    confidence: np.ndarray, correct: np.ndarray, *, probability: bool, n_bins: int = 10,
    n_resamples: int = 1000, seed: int = 0,
) -> dict[str, bootstrap.Interval]:
    """AUROC (and for a probability: two ECEs and Brier) of one signal with bootstrap CIs.

    Args:
        confidence: ``(n,)`` in [0, 1]; correct: ``(n,)`` bool.
        probability: whether ``confidence`` is a probability (then
            ``ece_equal_mass`` with ``n_bins`` equal-mass bins, Kadavath et
            al.'s, ``ece_equal_width`` with ``n_bins`` equal-width bins, and
            the binary Brier score ``mean((c - y)^2)`` are added; see :data:`ECES`).

    AUROC is an all-NaN interval when every answer is right or every one is
    wrong. All intervals use the same resamples (same ``seed`` and ``n``).
    """
    out: dict[str, bootstrap.Interval] = {}
    y = np.asarray(correct, dtype=bool)
    c = np.asarray(confidence, dtype=np.float64)
    out["auroc"] = bootstrap.bootstrap_ci("auroc", c, y, n_resamples=n_resamples, seed=seed)
    if probability:
        for key, (metric, _) in ECES.items():
            out[key] = bootstrap.bootstrap_ci(metric, c, y, n_resamples=n_resamples, seed=seed, n_bins=n_bins)
        out["brier"] = bootstrap.bootstrap_ci(binary_brier, c, y.astype(np.float64), n_resamples=n_resamples, seed=seed)
    return out


def summarize_rows(
    rows: Sequence[Mapping[str, Any]], *, correct_by: str = "exact", n_bins: int = 10,
    n_resamples: int = 1000, seed: int = 0, config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary.json of a TriviaQA run: accuracy per matcher and each signal's quality.

    Deterministic in ``rows`` (sorted by id first), so recomputing it from
    disk reproduces summary.json exactly. With the run's ``config``, the
    summary also holds its ``departures`` (:func:`departures`).

    Returns:
        ``{"n_items", "correctness", "n_bins", "n_resamples", "seed",
        "accuracy": {"exact", "contains", "f1"} (intervals, of the greedy
        answer), "ptrue_answer" ("sample" or "greedy"), "proposed_accuracy"
        (interval: the answers P(True) evaluated), "n_empty" (greedy),
        "n_empty_proposed", "n_empty_samples" (over all samples),
        "n_truncated", "p_true_mass_mean", "samples_accuracy",
        "signals": {name: {"label", "mean", "auroc", "ece_equal_mass"?,
        "ece_equal_width"?, "brier"?}}, "signal_table", "hedging", "signal_comparison"?
        (:func:`.signal_pairs.signal_comparison`; absent for rows without the signals' inputs),
        "verbal"? (--verbal), "words"? (--words), "departures"?}``;
        intervals are ``{"estimate", "low", "high", "level", "n_resamples"}``.
    """
    arr = signal_arrays(rows, correct_by=correct_by)
    names = free.selected(config or {})
    computed = free.confidences(rows, names)  # every signal's confidences, once for the table and the pairs
    by_id = {r["id"]: r for r in rows}
    ordered = [by_id[i] for i in arr.ids]
    accuracy = {
        "exact": bootstrap.bootstrap_ci(mean_value, arr.correct_exact.astype(np.float64), n_resamples=n_resamples, seed=seed),
        "contains": bootstrap.bootstrap_ci(mean_value, arr.correct_contains.astype(np.float64),
                                           n_resamples=n_resamples, seed=seed),
        "f1": bootstrap.bootstrap_ci(mean_value, arr.f1, n_resamples=n_resamples, seed=seed),
    }
    signals: dict[str, Any] = {}
    for name in arr.names:
        conf, target = arr.judged(name)
        ivs = signal_intervals(conf, target, probability=name in PROBABILITY_SIGNALS, n_bins=n_bins,
                               n_resamples=n_resamples, seed=seed) if conf.size else {}  # no readable reply
        entry: dict[str, Any] = {"label": SIGNALS[name], **{k: iv.to_json() for k, iv in ivs.items()}}
        if name in PROBABILITY_SIGNALS:
            entry["mean"] = float(conf.mean()) if conf.size else None
        signals[name] = {**entry, **_coverage(arr, name)}
    sample_acc = [r.get("samples_correct_exact") for r in ordered]
    return {
        "task": TASK,
        "n_items": len(arr.ids),
        "correctness": correct_by,
        "n_bins": n_bins,
        "n_resamples": n_resamples,
        "seed": seed,
        "accuracy": {k: iv.to_json() for k, iv in accuracy.items()},
        "ptrue_answer": _ptrue_source(ordered),
        "proposed_accuracy": bootstrap.bootstrap_ci(mean_value, arr.proposed_correct.astype(np.float64),
                                                    n_resamples=n_resamples, seed=seed).to_json(),
        "n_empty": int(arr.empty.sum()),
        "n_empty_proposed": int(sum(not r["proposed"].strip() if "proposed" in r else bool(r.get("empty_answer"))
                                    for r in ordered)),
        "n_empty_samples": int(sum(not str(x).strip() for r in ordered for x in r.get("samples", ()))),
        "n_truncated": int(sum(bool(r.get("shots_truncated")) for r in ordered)),
        "finish_reasons": {k: int(sum(r.get("finish_reason") == k for r in ordered)) for k in ("stop", "eos", "length")},
        "p_true_mass_mean": float(np.mean([float(r["p_true_mass"]) for r in ordered])),
        "samples_accuracy": (float(np.mean(sample_acc)) if all(v is not None for v in sample_acc) else None),
        "signals": signals,
        "signal_table": signal_table(rows, arr, names, n_bins=n_bins, n_resamples=n_resamples, seed=seed,
                                     computed=computed),
        **({"signal_comparison": pairs} if (pairs := signal_comparison(
            rows, arr, names, ptrue_answer=_ptrue_source(ordered), correct_by=correct_by, n_resamples=n_resamples,
            seed=seed, computed=computed)) else {}),
        "hedging": hedging(arr, n_resamples=n_resamples, seed=seed),
        **({"words": w} if (w := words_summary(ordered, n_resamples=n_resamples, seed=seed)) else {}),
        **({"verbal": verbal_summary(ordered, arr, correct_by=correct_by, n_resamples=n_resamples, seed=seed)}
           if VERBAL in arr.partial else {}),
        **({"departures": departures(config)} if config is not None else {}),
    }


def signal_table(rows: Sequence[Mapping[str, Any]], arr: SignalArrays, names: Sequence[str], *, n_bins: int = 10,
                 n_resamples: int = 1000, seed: int = 0,
                 computed: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Every signal's AUROC, AURC, PRR, Spearman and (probabilities) ECEs, with CIs: the run's own first.

    Returns ``{"selected": names, "not_computed": {name: how to get it},
    "not_stored": why the selected signals are missing, or None,
    "signals": {name: {"label", "sign", "probability", "source", "auroc",
    "aurc", "prr", "spearman", "ece_equal_mass"?, "ece_equal_width"?}}}``
    (:func:`.signals.signal_quality`; P(True) judged against the answer it
    evaluated, every other signal against the greedy answer).
    """
    table: dict[str, Any] = {}
    kw = dict(n_bins=n_bins, n_resamples=n_resamples, seed=seed)
    for name in arr.names:
        conf, target = arr.judged(name)
        ivs = free.signal_quality(conf, target, probability=name in PROBABILITY_SIGNALS, **kw) if conf.size else {}
        table[name] = {**free.signal_entry(name, SIGNALS[name]), **{k: iv.to_json() for k, iv in ivs.items()},
                       **_coverage(arr, name)}
    computed = free.confidences(rows, names) if computed is None else computed
    for name, conf in computed.items():
        ivs = free.signal_quality(conf, arr.correct, probability=free.TABLE[name].probability, **kw)
        table[name] = {**free.signal_entry(name, name), **{k: iv.to_json() for k, iv in ivs.items()}}
    missing = ("the rows do not keep the signals' inputs (a run made before they were stored); rerun it in a new "
               "folder" if names and not computed else None)
    return {"selected": list(names), "not_computed": free.not_computed(names, asked=tuple(arr.partial)),
            "not_stored": missing, "signals": table}


def _coverage(arr: SignalArrays, name: str) -> dict[str, Any]:
    """A partial signal's counts: items judged, and the unreadable ones left out (nothing for the others);
    and, where it is judged against an answer of its own, which one."""
    out: dict[str, Any] = {}
    if name in arr.partial:
        judged = int(np.isfinite(arr.partial[name]).sum())
        out.update(n=judged, n_unreadable=len(arr.ids) - judged)
    if name in arr.targets:
        out["judged_against"] = "its own answer"
    return out


def verbal_summary(rows: Sequence[Mapping[str, Any]], arr: SignalArrays, *, correct_by: str = "exact",
                   n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """What the verbal stage gave (rows sorted by id): the method, replies with no readable probability (left
    out of the verbal signal's metrics, counted here), the mean stated probability and, for one-stage, the
    accuracy of the replies' own guesses (the answers that signal is judged against), with its interval."""
    stated = arr.partial[VERBAL]
    readable = stated[np.isfinite(stated)]
    one_stage = VERBAL in arr.targets
    out: dict[str, Any] = {
        "method": "one-stage" if one_stage else "two-stage",
        "judged_against": "its own answer (the reply's guess)" if one_stage else "the greedy answer",
        "n_replies": int(stated.size), "n_unreadable": int(stated.size - readable.size),
        "mean_probability": float(readable.mean()) if readable.size else None,
        "n_empty_answers": int(sum(not str(r.get("verbal_answer", "")).strip() for r in rows)) if one_stage else None,
    }
    if one_stage:
        out["accuracy"] = bootstrap.bootstrap_ci(mean_value, arr.targets[VERBAL].astype(np.float64),
                                                 n_resamples=n_resamples, seed=seed).to_json()
    return out


def hedging(arr: SignalArrays, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Accuracy of the greedy answers by hedge class (Mielke et al. 2022), each with its bootstrap interval.

    Classes (:func:`calibkit.stats.signals.hedges.hedge_class` of the raw greedy
    text): dont_know, hedged, certain, plain. Per class ``{"label", "n",
    "accuracy"}``: the interval over that class's answers (below 20 of them
    only the estimate and the small-n note), None when no answer is in the class.
    Empty greedy answers (no claim, always wrong) are in no class; ``n_empty`` counts them.
    """
    classes = {}
    for name in HEDGE_CLASSES:
        right = arr.correct[arr.hedge == name].astype(np.float64)
        iv = bootstrap.bootstrap_ci(mean_value, right, n_resamples=n_resamples, seed=seed).to_json() if right.size else None
        classes[name] = {"label": HEDGE_LABELS[name], "n": int(right.size), "accuracy": iv}
    return {"text": "greedy_raw", "lexicon": "calibkit.stats.signals.hedges (Hyland 2005 hedges and boosters)",
            "classes": classes, "n_empty": int((arr.hedge == EMPTY).sum())}


def _ptrue_source(rows: Sequence[Mapping[str, Any]]) -> str:
    """``"sample"`` or ``"greedy"``: which answer the rows' P(True) evaluated."""
    sources = {r.get("proposed_from", "greedy") for r in rows}
    return "greedy" if sources == {"greedy"} else "sample"


def summarize_store(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Recompute summary.json of a TriviaQA (or NQ-open) run folder from its rows; returns it."""
    summary = summarize_rows(store.rows(), n_resamples=n_resamples, seed=seed, config=store.config)
    summary["task"] = store.config.get("task", TASK)
    store.write_summary(summary)
    return summary
