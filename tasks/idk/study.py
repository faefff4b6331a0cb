"""The abstention benchmark's numbers: when the model says "I don't know", and when it should have.

From stored rows (no model): over the answerable rows (``kind="answer"``)
the **over-abstention** rate (abstained although the model knew) and the
accuracy of the replies it gave; over the unanswerable rows
(``kind="abstain"``) the **abstention** rate and its complement, the
**under-abstention** rate (answered although it should not have); overall
the share of **appropriate** replies (a right answer to an answer row, an
abstention to an abstain row), its risk-coverage curve against the model's
confidence in its reply (sequence probability), per kind, reason and
source. Percentile bootstrap over rows, 95% CIs; comparisons pair runs on
the rows they share.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.runs.store import RunStore
from calibkit.stats import bootstrap, metrics
from calibkit.stats.multiple_choice import AnalysisError
from calibkit.tasks.reporting import frame_records, run_labels


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x))


def _rate(values: np.ndarray, *, n_resamples: int, seed: int) -> dict[str, Any]:
    if values.size == 0:
        return {"estimate": None, "low": None, "high": None, "n": 0}
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
    )


def headline(a: IdkArrays, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The benchmark's rates with CIs."""
    ans, abst = a.kind == "answer", a.kind == "abstain"
    answered = ans & ~a.abstained
    out = {
        "appropriate": _rate(a.appropriate, n_resamples=n_resamples, seed=seed),
        "over_abstention": _rate(a.abstained[ans], n_resamples=n_resamples, seed=seed),
        "accuracy_when_answering": _rate(a.correct[answered], n_resamples=n_resamples, seed=seed),
        "accuracy": _rate(a.correct[ans] & ~a.abstained[ans], n_resamples=n_resamples, seed=seed),
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
    return {
        "task": "idk", "n_items": len(a.ids), "n_answer": int((a.kind == "answer").sum()),
        "n_abstain": int((a.kind == "abstain").sum()), "rates": headline(a, n_resamples=n_resamples, seed=seed),
        "auroc_confidence": _nan_none(metrics.auroc(a.confidence, a.appropriate)
                                      if a.appropriate.any() and not a.appropriate.all() else math.nan),
        "aurc": float(metrics.aurc(a.confidence, a.appropriate)),
        "by_reason": frame_records(breakdown(a, "reason")), "by_source": frame_records(breakdown(a, "source")),
        "n_resamples": n_resamples, "seed": seed,
    }


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


@dataclass(frozen=True)
class IdkComparison:
    labels: tuple[str, ...]
    n_items: int
    table: pd.DataFrame

    def to_json(self) -> dict[str, Any]:
        return {"runs": list(self.labels), "n_items": self.n_items, "metrics": frame_records(self.table)}


def compare_runs(stores: Sequence[RunStore], *, n_resamples: int = 1000, seed: int = 0) -> IdkComparison:
    """The rates per run on the rows all runs share, each paired with the first run's."""
    labels = run_labels(stores)
    all_rows = [s.rows() for s in stores]
    common = set.intersection(*({r["id"] for r in rows} for rows in all_rows))
    if not common:
        raise AnalysisError("the runs share no rows; compare runs of the same dataset split")
    arrays = [idk_arrays([r for r in rows if r["id"] in common]) for rows in all_rows]
    out = []
    for label, a in zip(labels, arrays):
        for name, (subset, outcome) in COMPARED.items():
            m = subset(a)
            x, base = outcome(a)[m].astype(float), outcome(arrays[0])[m].astype(float)
            iv = (bootstrap.bootstrap_ci(_mean, x, n_resamples=n_resamples, seed=seed) if m.any()
                  else bootstrap.Interval(math.nan, math.nan, math.nan, 0.95, 0))
            row = {"run": label, "metric": name, "n": int(m.sum()), "estimate": iv.estimate, "low": iv.low,
                   "high": iv.high, "difference": math.nan, "diff_low": math.nan, "diff_high": math.nan,
                   "p_value": math.nan}
            if a is not arrays[0] and m.any():
                d = bootstrap.paired_bootstrap(_mean, (x,), (base,), n_resamples=n_resamples, seed=seed)
                row.update(difference=d.difference, diff_low=d.low, diff_high=d.high, p_value=d.p_value)
            out.append(row)
    return IdkComparison(tuple(labels), len(common), pd.DataFrame(out))
