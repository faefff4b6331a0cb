"""TriviaQA runs as arrays and numbers: correctness, confidence signals, their quality, comparisons.

Reads stored rows (no model, no torch, no drawing): :func:`signal_arrays`
aligns correctness and the confidence signals, :func:`summarize_rows` makes
summary.json (accuracy per matcher; each signal's AUROC and, for
probabilities, ECE and Brier, with bootstrap CIs), and :func:`compare_runs`
pairs runs on their shared questions (:mod:`calibkit.stats.comparison`, smooth
ECE first).

ECE comes twice, each named by its binning: ``ece_equal_mass`` (10 bins
holding equal numbers of answers: Kadavath et al. 2022, appendix A.1-A.2,
the headline) and ``ece_equal_width`` (10 bins of width 0.1 on [0, 1]).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.runs.store import RunStore
from calibkit.stats import bootstrap
from calibkit.stats.comparison import Measure, paired_comparison, shared
from calibkit.stats.multiple_choice import AnalysisError
from calibkit.tasks.reporting import frame_records, run_labels

from calibkit.stats.intervals import MIN_ITEMS, too_few
from calibkit.stats.signals.hedges import CLASSES as HEDGE_CLASSES
from calibkit.stats.signals.hedges import hedge_class

from . import signals as free

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
        hedge=np.array([hedge_class(str(r.get("greedy_raw", r.get("prediction", "")))) for r in rows]),
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


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x))


def _brier(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Binary Brier score of a confidence for correctness: mean (c - y)^2, in [0, 1]."""
    return float(np.mean((confidence - correct) ** 2))


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
        out["brier"] = bootstrap.bootstrap_ci(_brier, c, y.astype(np.float64), n_resamples=n_resamples, seed=seed)
    return out


LM_EVAL_MAX_GEN_TOKS = 256  # lm-eval 0.4.13's HFLM.max_gen_toks, the bound its nq_open runs under


def departures(config: Mapping[str, Any]) -> list[str]:
    """Where a run departs from the method its numbers are named after, one sentence each, from its config.json.

    Only what this run's settings decide; docs/METHODS.md lists every
    departure. TriviaQA runs are measured against Kadavath et al. (2022),
    NQ-open runs (``matcher="nq_open"``) against lm-evaluation-harness's
    nq_open as well.

    Example:
        >>> departures({"ptrue_examples": 0, "ptrue_prompt": "none", "brainstorm": 0})[0][:40]
        'P(True) shows no example (--ptrue-prompt'
    """
    notes = _ptrue_departures(config) + _verbal_departures(config)
    if config.get("matcher") == "nq_open":
        notes += _lm_eval_departures(config)
    elif config.get("chat_template"):
        notes.append("Chat form: the question sits in one user turn after calibkit's instruction; Kadavath et al. "
                     "prompted pretrained models in base form.")
    return notes


def _ptrue_departures(config: Mapping[str, Any]) -> list[str]:
    shots, notes = int(config.get("ptrue_examples", 0)), []
    if shots:
        notes.append(f"P(True) shows {shots} few-shot examples: the model's own answers to other questions of this "
                     "run, labelled by exact match (the paper does not say where its examples came from).")
    elif config.get("ptrue_prompt", "none") == "none":
        notes.append("P(True) shows no example (--ptrue-prompt none, calibkit's variant); Kadavath et al.'s "
                     "non-few-shot P(True) shows six hand-written examples first (appendix A.5).")
    elif not config.get("brainstorm"):
        notes.append("P(True) shows the six examples of Kadavath et al.'s appendix A.5 without their brainstormed "
                     "ideas, worded as the section 4.1 prompt; the paper prints only the brainstorm version.")
    temperature = float(config.get("sample_temperature", 1.0))
    if temperature != 1.0 and config.get("ptrue_answer") == "sample":
        notes.append(f"P(True) evaluates a sample drawn at T = {temperature:g}; the paper's are drawn at T = 1.")
    return notes


def _verbal_departures(config: Mapping[str, Any]) -> list[str]:
    """Where --verbal departs from Tian et al. (2023), who asked chat models through their APIs."""
    method = config.get("verbal")
    if not method:
        return []
    notes = [f"Verbalized confidence replies are greedy and at most {config.get('verbal_max_new_tokens')} tokens "
             "long; Tian et al. do not state their decoding."]
    if method == "two-stage":
        notes.append("Verbalized confidence (two-stage) asks about the run's own greedy answer, given to the run's "
                     "answer prompt; Tian et al.'s first stage is their 'Provide your best guess' prompt.")
    if not config.get("chat_template"):
        notes.append("Verbalized confidence in base form: Tian et al. ask chat models only; here the same prompt "
                     "text is continued as plain text (a blank line ends the reply).")
    return notes


def _lm_eval_departures(config: Mapping[str, Any]) -> list[str]:
    notes = []
    if config.get("stop_rule", "after_leading_whitespace") != "first":
        notes.append("Answers are cut at a stop string only after their leading whitespace (--stop-rule "
                     "after_leading_whitespace); lm-eval cuts at its first occurrence anywhere.")
    if config.get("max_new_tokens") != LM_EVAL_MAX_GEN_TOKS:
        notes.append(f"At most {config.get('max_new_tokens')} new tokens per answer; lm-eval generates up to "
                     f"{LM_EVAL_MAX_GEN_TOKS}.")
    if config.get("chat_template"):
        notes.append("Chat form: calibkit's instruction and lm-eval's description share one user turn; lm-eval's "
                     "--apply_chat_template puts the description in a system message and adds no instruction.")
    if config.get("shots"):
        notes.append(f"Few-shot examples come from the {config.get('fewshot_split') or 'evaluated'} split itself; "
                     "lm-eval draws them from train.")
    return notes


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
        "ece_equal_width"?, "brier"?}}}``;
        intervals are ``{"estimate", "low", "high", "level", "n_resamples"}``.
    """
    arr = signal_arrays(rows, correct_by=correct_by)
    by_id = {r["id"]: r for r in rows}
    ordered = [by_id[i] for i in arr.ids]
    accuracy = {
        "exact": bootstrap.bootstrap_ci(_mean, arr.correct_exact.astype(np.float64), n_resamples=n_resamples, seed=seed),
        "contains": bootstrap.bootstrap_ci(_mean, arr.correct_contains.astype(np.float64),
                                           n_resamples=n_resamples, seed=seed),
        "f1": bootstrap.bootstrap_ci(_mean, arr.f1, n_resamples=n_resamples, seed=seed),
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
        "proposed_accuracy": bootstrap.bootstrap_ci(_mean, arr.proposed_correct.astype(np.float64),
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
        "signal_table": signal_table(rows, arr, free.selected(config or {}), n_bins=n_bins, n_resamples=n_resamples,
                                     seed=seed),
        "hedging": hedging(arr, n_resamples=n_resamples, seed=seed),
        **({"verbal": verbal_summary(ordered, arr, correct_by=correct_by, n_resamples=n_resamples, seed=seed)}
           if VERBAL in arr.partial else {}),
        **({"departures": departures(config)} if config is not None else {}),
    }


def signal_table(rows: Sequence[Mapping[str, Any]], arr: SignalArrays, names: Sequence[str], *, n_bins: int = 10,
                 n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
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
    computed = free.confidences(rows, names)
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
        out["accuracy"] = bootstrap.bootstrap_ci(_mean, arr.targets[VERBAL].astype(np.float64),
                                                 n_resamples=n_resamples, seed=seed).to_json()
    return out


def hedging(arr: SignalArrays, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Accuracy of the greedy answers by hedge class (Mielke et al. 2022), each with its bootstrap interval.

    Classes (:func:`calibkit.stats.signals.hedges.hedge_class` of the raw greedy
    text): dont_know, hedged, certain, plain. Per class ``{"label", "n",
    "accuracy"}``: the interval over that class's answers (below 20 of them
    only the estimate and the small-n note), None when no answer is in the class.
    """
    classes = {}
    for name in HEDGE_CLASSES:
        right = arr.correct[arr.hedge == name].astype(np.float64)
        iv = bootstrap.bootstrap_ci(_mean, right, n_resamples=n_resamples, seed=seed).to_json() if right.size else None
        classes[name] = {"label": HEDGE_LABELS[name], "n": int(right.size), "accuracy": iv}
    return {"text": "greedy_raw", "lexicon": "calibkit.stats.signals.hedges (Hyland 2005 hedges and boosters)",
            "classes": classes}


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


@dataclass(frozen=True)
class TriviaComparison:
    """TriviaQA runs compared on the questions they share."""

    labels: tuple[str, ...]  # run labels, the first is the reference
    n_items: int  # questions all runs share
    # one row per (run, signal, metric): calibkit.stats.comparison.paired_comparison's columns; the smooth ECE of
    # each probability signal first (the headline), then each signal's ECEs, Brier, AUROC, then accuracy
    table: pd.DataFrame

    @property
    def headline(self) -> bool:
        """Whether the table leads with smooth ECE (calibkit.stats.comparison.HEADLINE says why)."""
        return bool(len(self.table)) and self.table["metric"].iloc[0] == "smooth_ece"

    def to_json(self) -> dict[str, Any]:
        return {"runs": list(self.labels), "n_items": self.n_items, "metrics": frame_records(self.table)}


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
            spec.append(Measure({"signal": SIGNALS[name], "metric": "brier"}, _brier, _getter(name, as_float=True)))
        spec.append(Measure({"signal": SIGNALS[name], "metric": "auroc"}, "auroc", _getter(name)))
    spec.append(Measure({"signal": "accuracy (exact)", "metric": "accuracy"}, _mean,
                        lambda a: (a.correct_exact.astype(np.float64),)))
    return spec


def compare_runs(stores: Sequence[RunStore], *, n_resamples: int = 1000, seed: int = 0) -> TriviaComparison:
    """Each probability signal's smooth ECE (the headline), ECEs, Brier, each signal's AUROC and the accuracy per
    run, paired with the first run on the questions all runs share.

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
    names = [n for n in free.selected(stores[0].config) if all(n in free.selected(s.config) for s in stores[1:])]
    computed = [free.confidences(r, names) for r in rows]
    extra = [n for n in names if all(n in c for c in computed)]
    runs = {label: replace(a, signals={**{k: a.signals[k] for k in common}, **{k: c[k] for k in extra}},
                           partial=p)
            for label, a, c, p in zip(labels, aligned, computed, partial)}
    own = [*common, *partial[0]]
    measures = comparison_measures(own) + signal_table_measures(own, extra) + hedging_measures()
    table = paired_comparison(runs, measures, n_resamples=n_resamples, seed=seed)
    return TriviaComparison(tuple(labels), len(aligned[0].ids), class_small_n(table, runs))


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
                 Measure({"signal": label, "metric": "prr"}, free.prr, _getter(name, as_float=True))]
    return spec
