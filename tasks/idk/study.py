"""The abstention benchmark's numbers: when the model says "I don't know", and when it should have.

From stored rows (no model): over the answerable rows (``kind="answer"``)
the **over-abstention** rate (abstained although the model knew) and the
accuracy of the replies it gave; over the unanswerable rows
(``kind="abstain"``) the **abstention** rate and its complement, the
**under-abstention** rate (answered although it should not have); overall
the share of **appropriate** replies (a right answer to an answer row, an
abstention to an abstain row), its risk-coverage curve against the model's
confidence in its reply (sequence probability), per kind, reason and
source. Percentile bootstrap over rows, 95% CIs.

**Evasiveness, paired** (:func:`evasiveness`): each constructed abstention
row and its answerable twin (same topic) form a pair. Per category and
over all pairs: abstention on the unanswerable rows, **over-abstention on
their twins** (declining a question it should answer), the twins answered
right, and the four pair outcomes: *discerning* (declines the unanswerable
one, answers the twin), *evasive* (declines both), *hallucinating* (answers
both), *inverted*. The difference abstention minus twin over-abstention is
a paired comparison over pairs (:func:`calibkit.stats.paired.paired_test`:
paired-bootstrap interval, paired permutation p-value; below 20 pairs the
estimate and a note). Comparisons pair runs on the rows they share, and
compare these rates per category too (base vs chat).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.runs.store import RunStore
from calibkit.stats import bootstrap, metrics
from calibkit.stats.comparison import Measure, paired_comparison, shared
from calibkit.stats.multiple_choice import AnalysisError
from calibkit.stats.paired import paired_test
from calibkit.tasks.free_answer.signal_tables import GREEDY_INPUTS, judged_table, readable
from calibkit.tasks.reporting import frame_records, run_labels

from .constructed import REASONS

#: the constructed categories, in the card's order; "all" pools them
CATEGORIES = tuple(REASONS)
#: a pair's outcome: (declined the unanswerable row, declined the twin) -> name
PAIR_OUTCOMES = {"discerning": (True, False), "evasive": (True, True), "hallucinating": (False, False),
                 "inverted": (False, True)}


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x))


def _rate(values: np.ndarray, *, n_resamples: int, seed: int) -> dict[str, Any]:
    if values.size == 0:
        return {"estimate": None, "low": None, "high": None, "n": 0, "note": bootstrap.too_few(0)}
    iv = bootstrap.bootstrap_ci(_mean, values.astype(float), n_resamples=n_resamples, seed=seed)
    return {**iv.to_json(), "n": int(values.size)}


@dataclass(frozen=True)
class IdkArrays:
    """Rows as arrays, sorted by id."""

    ids: tuple[str, ...]
    kind: np.ndarray  # (n,) "answer" / "abstain"
    reason: np.ndarray  # (n,)
    source: np.ndarray  # (n,)
    abstained: np.ndarray  # (n,) bool, by the phrase list
    correct: np.ndarray  # (n,) bool: the reply holds an accepted answer (answer rows)
    appropriate: np.ndarray  # (n,) bool
    confidence: np.ndarray  # (n,) sequence probability of the reply, 0 when empty
    by_likelihood: np.ndarray | None  # (n,) bool, when the run scored " I don't know."
    hedged: np.ndarray  # (n,) bool: the judge read an answer given with a hedge


def idk_arrays(rows: Sequence[Mapping[str, Any]]) -> IdkArrays:
    if not rows:
        raise AnalysisError("the run has no replies yet; run it (rerunning its command resumes) first")
    rows = sorted(rows, key=lambda r: r["id"])
    likely = [r.get("abstained_by_likelihood") for r in rows]
    return IdkArrays(
        ids=tuple(r["id"] for r in rows), kind=np.array([r["kind"] for r in rows]),
        reason=np.array([r["reason"] for r in rows]), source=np.array([r.get("source", "") for r in rows]),
        abstained=np.array([bool(r["abstained"]) for r in rows]), correct=np.array([bool(r["correct"]) for r in rows]),
        appropriate=np.array([bool(r["appropriate"]) for r in rows]),
        confidence=np.array([0.0 if r.get("seq_prob") is None else float(r["seq_prob"]) for r in rows]),
        by_likelihood=None if any(v is None for v in likely) else np.array(likely, dtype=bool),
        hedged=np.array([bool(r.get("hedged")) for r in rows], dtype=bool),
    )


@dataclass(frozen=True)
class TwinPairs:
    """A run's constructed pairs (an unanswerable row and its answerable twin, both replied to), as arrays,
    sorted by the unanswerable row's id."""

    ids: tuple[str, ...]  # (p,) the unanswerable row of each pair
    category: np.ndarray  # (p,) its reason: after_cutoff, false_premise, unknowable, private, polite_evasion
    declined: np.ndarray  # (p,) bool: abstained on the unanswerable row
    declined_twin: np.ndarray  # (p,) bool: abstained on the twin (over-abstention)
    twin_right: np.ndarray  # (p,) bool: answered the twin, and right

    def where(self, category: str) -> np.ndarray:
        """(p,) bool: the pairs of ``category`` ("all": every pair)."""
        return np.ones(len(self.ids), bool) if category == "all" else self.category == category


def twin_pairs(rows: Sequence[Mapping[str, Any]]) -> TwinPairs:
    """The pairs whose two rows are both in ``rows`` (a row without ``pair`` belongs to none).

    Example:
        >>> rows = [{"id": "a", "kind": "abstain", "reason": "private", "pair": "b", "abstained": True},
        ...         {"id": "b", "kind": "answer", "reason": "public_fact", "pair": "a", "abstained": False,
        ...          "correct": True}, {"id": "c", "kind": "answer", "reason": "known", "abstained": True}]
        >>> p = twin_pairs(rows)
        >>> p.ids, p.declined.tolist(), p.declined_twin.tolist(), p.twin_right.tolist()
        (('a',), [True], [False], [True])
    """
    by_id = {r["id"]: r for r in rows}
    heads = sorted((r for r in rows if r["kind"] == "abstain" and r.get("pair") in by_id), key=lambda r: r["id"])
    twins = [by_id[r["pair"]] for r in heads]
    return TwinPairs(
        ids=tuple(r["id"] for r in heads), category=np.array([r["reason"] for r in heads], dtype=object),
        declined=np.array([bool(r["abstained"]) for r in heads], dtype=bool),
        declined_twin=np.array([bool(t["abstained"]) for t in twins], dtype=bool),
        twin_right=np.array([bool(t.get("correct")) and not t["abstained"] for t in twins], dtype=bool),
    )


def _discrimination(declined: np.ndarray, declined_twin: np.ndarray) -> float:
    """Abstention on the unanswerable rows minus over-abstention on their twins (pairs resampled together)."""
    return float(np.mean(declined) - np.mean(declined_twin))


def evasiveness(p: TwinPairs, *, n_resamples: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """Per category present (and "all"): the paired rates with CIs over pairs, and the paired difference.

    ``difference``: abstention minus twin over-abstention, the paired-bootstrap
    interval and the paired permutation p-value of
    :func:`calibkit.stats.paired.paired_test` (both rates on the same pairs);
    below 20 pairs the estimate and the note only. Near 0 with both rates
    high: evasive; with both low: answers everything.
    """
    out = []
    for category in ("all", *(c for c in CATEGORIES if (p.category == c).any())):
        m = p.where(category)
        u, t = p.declined[m], p.declined_twin[m]
        row: dict[str, Any] = {"category": category, "pairs": int(m.sum()),
                               "abstention": _rate(u, n_resamples=n_resamples, seed=seed),
                               "over_abstention_twins": _rate(t, n_resamples=n_resamples, seed=seed),
                               "twin_accuracy": _rate(p.twin_right[m], n_resamples=n_resamples, seed=seed)}
        for name, (du, dt) in PAIR_OUTCOMES.items():
            row[name] = _rate((u == du) & (t == dt), n_resamples=n_resamples, seed=seed)
        if m.any():
            d = paired_test(_mean, (u.astype(float),), (t.astype(float),), n_resamples=n_resamples, seed=seed)
            row["difference"] = d.to_json()
        else:
            row["difference"] = None
        out.append(row)
    return out


def headline(a: IdkArrays, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The benchmark's rates with CIs."""
    ans, abst = a.kind == "answer", a.kind == "abstain"
    answered = ans & ~a.abstained
    out = {
        "appropriate": _rate(a.appropriate, n_resamples=n_resamples, seed=seed),
        "over_abstention": _rate(a.abstained[ans], n_resamples=n_resamples, seed=seed),
        "accuracy_when_answering": _rate(a.correct[answered], n_resamples=n_resamples, seed=seed),
        "accuracy": _rate(a.correct[ans] & ~a.abstained[ans], n_resamples=n_resamples, seed=seed),
        "hedged": _rate(a.hedged[~a.abstained], n_resamples=n_resamples, seed=seed),
        "abstention": _rate(a.abstained[abst], n_resamples=n_resamples, seed=seed),
        "under_abstention": _rate(~a.abstained[abst], n_resamples=n_resamples, seed=seed),
    }
    if a.by_likelihood is not None:
        out["over_abstention_likelihood"] = _rate(a.by_likelihood[ans], n_resamples=n_resamples, seed=seed)
        out["abstention_likelihood"] = _rate(a.by_likelihood[abst], n_resamples=n_resamples, seed=seed)
    return out


def breakdown(a: IdkArrays, by: str) -> pd.DataFrame:
    """Per value of ``by`` ("reason" or "source") and kind: n, abstention rate, appropriate rate."""
    key = getattr(a, by)
    rows = []
    for value in sorted(set(key)):
        for kind in ("answer", "abstain"):
            m = (key == value) & (a.kind == kind)
            if m.any():
                rows.append({by: value, "kind": kind, "n": int(m.sum()), "abstained": float(a.abstained[m].mean()),
                             "appropriate": float(a.appropriate[m].mean())})
    return pd.DataFrame(rows, columns=[by, "kind", "n", "abstained", "appropriate"])


def summarize_rows(rows: Sequence[Mapping[str, Any]], *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    a = idk_arrays(rows)
    pairs = twin_pairs(rows)
    return {
        "task": "idk", "n_items": len(a.ids), "n_answer": int((a.kind == "answer").sum()),
        "n_abstain": int((a.kind == "abstain").sum()), "n_pairs": len(pairs.ids),
        "rates": headline(a, n_resamples=n_resamples, seed=seed),
        "evasiveness": evasiveness(pairs, n_resamples=n_resamples, seed=seed),
        "auroc_confidence": _nan_none(metrics.auroc(a.confidence, a.appropriate)
                                      if a.appropriate.any() and not a.appropriate.all() else math.nan),
        "aurc": float(metrics.aurc(a.confidence, a.appropriate)),
        "by_reason": frame_records(breakdown(a, "reason")), "by_source": frame_records(breakdown(a, "source")),
        "signal_table": signal_table(rows, n_resamples=n_resamples, seed=seed),
        "n_resamples": n_resamples, "seed": seed,
    }


#: the free-answer signals an idk run's rows give (the greedy reply alone), and the others with what they need
SIGNAL_NAMES, NOT_COMPUTED = readable(GREEDY_INPUTS, run="an idk run (one greedy reply, no samples)")


def signal_table(rows: Sequence[Mapping[str, Any]], *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The greedy-reply signals over the replies that answer (the judge read no abstention), each judged
    against an appropriate reply: a right answer to an answerable row; any answer to an unanswerable one is
    inappropriate (:func:`calibkit.tasks.free_answer.signal_tables.judged_table`).

    Abstentions are left out: a signal of the reply "I don't know" measures the model's confidence in
    declining, not in an answer, so mixing them would rank two different things on one scale. What is left is
    selective answering: would the signal have told the model to decline where its answer was wrong or due
    to decline? Rows written before idk rows kept the signals' inputs: ``not_stored`` says why.
    """
    answered = sorted((r for r in rows if not r["abstained"]), key=lambda r: r["id"])
    kept = [{**r, "empty_answer": not str(r.get("reply", "")).strip()} for r in answered]
    return judged_table(kept, np.array([bool(r["appropriate"]) for r in answered], dtype=bool), SIGNAL_NAMES,
                        not_computed=NOT_COMPUTED, n_resamples=n_resamples, seed=seed)


def _nan_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def summarize_store(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    summary = summarize_rows(store.rows(), n_resamples=n_resamples, seed=seed)
    store.write_summary(summary)
    return summary


COMPARED = {  # name: (subset of rows, per-row outcome)
    "appropriate": (lambda a: np.ones(len(a.ids), bool), lambda a: a.appropriate),
    "over_abstention": (lambda a: a.kind == "answer", lambda a: a.abstained),
    "abstention": (lambda a: a.kind == "abstain", lambda a: a.abstained),
}
#: the paired rates compared per category: name -> per-pair arrays (means of one array; discrimination of two)
PAIR_COMPARED: Mapping[str, Callable[[TwinPairs, np.ndarray], tuple[np.ndarray, ...]]] = {
    "abstention_paired": lambda p, m: (p.declined[m].astype(float),),
    "over_abstention_twins": lambda p, m: (p.declined_twin[m].astype(float),),
    "evasive_pairs": lambda p, m: ((p.declined[m] & p.declined_twin[m]).astype(float),),
    "discrimination": lambda p, m: (p.declined[m].astype(float), p.declined_twin[m].astype(float)),
}


@dataclass(frozen=True)
class IdkRun:
    """One run's aligned rows and pairs, what a comparison's measures read."""

    rows: IdkArrays
    pairs: TwinPairs


@dataclass(frozen=True)
class IdkComparison:
    labels: tuple[str, ...]
    n_items: int
    table: pd.DataFrame

    def to_json(self) -> dict[str, Any]:
        return {"runs": list(self.labels), "n_items": self.n_items, "metrics": frame_records(self.table)}


def comparison_measures(categories: Sequence[str] = ()) -> list[Measure]:
    """The compared rates (:data:`COMPARED`), each the mean of its per-row outcome over its subset of rows;
    then, per category in ``categories`` ("all" pools the pairs), the paired rates of :data:`PAIR_COMPARED`
    over that category's pairs (``discrimination``: abstention minus twin over-abstention)."""
    def arrays(name: str) -> Callable[[IdkRun], tuple[np.ndarray, ...]]:
        subset, outcome = COMPARED[name]
        return lambda run: (outcome(run.rows)[subset(run.rows)].astype(float),)

    def pair_arrays(name: str, category: str) -> Callable[[IdkRun], tuple[np.ndarray, ...]]:
        return lambda run: PAIR_COMPARED[name](run.pairs, run.pairs.where(category))

    measures = [Measure({"metric": name, "category": None}, _mean, arrays(name)) for name in COMPARED]
    for category in categories:
        measures += [Measure({"metric": name, "category": category},
                             _discrimination if name == "discrimination" else _mean, pair_arrays(name, category))
                     for name in PAIR_COMPARED]
    return measures


def compare_runs(stores: Sequence[RunStore], *, n_resamples: int = 1000, seed: int = 0) -> IdkComparison:
    """The rates per run on the rows all runs share, each paired with the first run's
    (:func:`calibkit.stats.comparison.paired_comparison`; ``n``: the rows behind each rate).

    A rate's subset (answerable or unanswerable rows, a category's pairs) is
    a property of the shared rows, so it is the same in every run and the
    rows pair up; the twin-paired rates are compared per category present.
    """
    labels = run_labels(stores)
    aligned = shared({label: s.rows() for label, s in zip(labels, stores)}, key=lambda r: r["id"], what="rows",
                     fix="compare runs of the same dataset split")
    runs = {label: IdkRun(idk_arrays(rows), twin_pairs(rows)) for label, rows in aligned.items()}
    first = next(iter(runs.values())).pairs  # the pairs are a property of the shared rows: the same in every run
    categories = ["all", *(c for c in CATEGORIES if (first.category == c).any())] if first.ids else []
    table = paired_comparison(runs, comparison_measures(categories), n_resamples=n_resamples, seed=seed)
    return IdkComparison(tuple(labels), len(next(iter(aligned.values()))), table)
