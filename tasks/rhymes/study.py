"""A rhymes run read from disk: what line 2 does, mode collapse, the rhyme slot, planning, half-written lines.

Per model (role), over the sampled lines (the greedy line apart):

* the share of each class (:data:`.classify.CLASSES`), pooled over lines with
  a bootstrap over couplets (the lines of a couplet are resampled together);
* mode collapse per couplet, over its rhyming samples: distinct rhyme words,
  the entropy (nats) of the rhyme-word distribution and the share of the most
  frequent rhyme, on couplets with at least two rhyming samples;
* the rhyme slot (:mod:`.slot`): per couplet the mean over its lines of the
  candidates' mass, their entropy, the share of lines whose word no
  candidate beats (rank 1) and the word's log-prob;
* planning (:mod:`.planning`): the probe, its control and the lens per layer;
* half-written lines: the share of greedy lines that rhyme with the other
  model's first k words forced (k = 0: the model's own greedy line), and the
  forced words' mean log-prob per token under the model.

Intervals are percentile bootstraps over couplets; base vs chat differences
are paired over the couplets both have, by :func:`calibkit.stats.paired.paired_test`
(below 20 couplets: the estimate and a note, no interval; the exact
permutation test's p-value from 6 couplets on, and ``test`` names it where
there is one). Pure numpy; never a model.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from calibkit.runs.store import RunStore
from calibkit.stats import bootstrap
from calibkit.stats.metrics import ratio_of_sums
from calibkit.stats.multiple_choice import AnalysisError
from calibkit.stats.paired import paired_test

from .classify import CLASSES

COLLAPSE = ("distinct", "entropy", "top_share")
SLOT = ("rhyme_mass", "rhyme_entropy", "rank1", "word_logprob")


def mean(x: np.ndarray) -> float:
    """The mean as a float (the statistic of a per-couplet measure)."""
    return float(np.mean(x))


def _iv(values: np.ndarray, *, n_resamples: int, seed: int) -> dict[str, Any]:
    """A per-couplet measure's mean with its bootstrap interval over couplets (NaN couplets left out)."""
    v = values[np.isfinite(values)]
    if not v.size:
        return {"estimate": None, "low": None, "high": None, "n": 0, "note": "no couplet has this measure"}
    return bootstrap.bootstrap_ci(mean, v, n_resamples=n_resamples, seed=seed).to_json()


def _share_iv(k: np.ndarray, n: np.ndarray, *, n_resamples: int, seed: int) -> dict[str, Any]:
    keep = n > 0
    if not keep.any():
        return {"estimate": None, "low": None, "high": None, "n": 0, "note": "no lines"}
    return bootstrap.bootstrap_ci(ratio_of_sums, k[keep], n[keep], n_resamples=n_resamples, seed=seed).to_json()


def sampled(row: Mapping[str, Any], role: str) -> list[Mapping[str, Any]]:
    return [ln for ln in row["models"][role]["lines"] if not ln["greedy"]]


def class_counts(rows: Sequence[Mapping[str, Any]], role: str) -> dict[str, np.ndarray]:
    """Per class, per couplet: how many sampled lines fall in it; ``"lines"``: how many lines in all."""
    out = {c: np.array([sum(ln["kind"] == c for ln in sampled(r, role)) for r in rows], float) for c in CLASSES}
    out["lines"] = np.array([len(sampled(r, role)) for r in rows], float)
    return out


def collapse(words: Sequence[str]) -> dict[str, float]:
    """Distinct words, the entropy (nats) of their distribution and the share of the most frequent; NaN below two.

    >>> collapse(["day", "day", "way", "day"])
    {'distinct': 2.0, 'entropy': 0.5623351446188083, 'top_share': 0.75}
    """
    if len(words) < 2:
        return {k: math.nan for k in COLLAPSE}
    counts = np.array(list(Counter(words).values()), dtype=np.float64)
    p = counts / counts.sum()
    return {"distinct": float(len(counts)), "entropy": float(-(p * np.log(p)).sum()), "top_share": float(p.max())}


def collapse_table(rows: Sequence[Mapping[str, Any]], role: str) -> dict[str, np.ndarray]:
    """Per couplet, the :func:`collapse` measures of its rhyming samples' words (lower-cased)."""
    per = [collapse([(ln["word"] or "").lower() for ln in sampled(r, role) if ln["kind"] == "rhyme"]) for r in rows]
    return {k: np.array([p[k] for p in per]) for k in COLLAPSE}


def slot_table(rows: Sequence[Mapping[str, Any]], role: str) -> dict[str, np.ndarray]:
    """Per couplet, the mean over its sampled lines' slots of each :data:`SLOT` measure (NaN without a slot)."""
    out: dict[str, list[float]] = {k: [] for k in SLOT}
    for r in rows:
        slots = [ln["slot"] for ln in sampled(r, role) if ln.get("slot")]
        values = {"rhyme_mass": [s["rhyme_mass"] for s in slots],
                  "rhyme_entropy": [s["rhyme_entropy"] for s in slots if s["rhyme_entropy"] is not None],
                  "rank1": [float(s["rank"] == 1) for s in slots],
                  "word_logprob": [s["word_logprob"] for s in slots if s["word_logprob"] is not None]}
        for k in SLOT:
            out[k].append(float(np.mean(values[k])) if values[k] else math.nan)
    return {k: np.array(v) for k, v in out.items()}


def forced_table(rows: Sequence[Mapping[str, Any]], role: str) -> dict[int, dict[str, np.ndarray]]:
    """Per k (0: the model's own greedy line), per couplet: whether the greedy line rhymes, its slot's rhyme mass,
    and (k > 0) the forced words' mean log-prob per token; NaN where the couplet has no such line."""
    out: dict[int, dict[str, list[float]]] = {}
    for r in rows:
        own = next(ln for ln in r["models"][role]["lines"] if ln["greedy"])
        entries = [(0, own, math.nan)] + [
            (f["k"], next(ln for ln in f["lines"] if ln["greedy"]), f["prefix_logprob"] / max(f["prefix_tokens"], 1))
            for f in r["models"][role]["forced"]]
        seen = set()
        for k, line, lp in entries:
            seen.add(k)
            t = out.setdefault(k, {"rhyme": [], "mass": [], "prefix_logprob": [], "_ids": []})
            t["rhyme"].append(float(line["kind"] == "rhyme"))
            t["mass"].append(line["slot"]["rhyme_mass"] if line.get("slot") else math.nan)
            t["prefix_logprob"].append(lp)
            t["_ids"].append(r["id"])
    return {k: {name: np.array(v) if name != "_ids" else v for name, v in t.items()} for k, t in sorted(out.items())}


def summarize_role(rows: Sequence[Mapping[str, Any]], role: str, *, n_resamples: int, seed: int) -> dict[str, Any]:
    """Everything of one model that needs no probe."""
    counts = class_counts(rows, role)
    greedy = [next(ln for ln in r["models"][role]["lines"] if ln["greedy"])["kind"] for r in rows]
    coll, slot = collapse_table(rows, role), slot_table(rows, role)
    forced = forced_table(rows, role)
    unjudged = Counter((ln["word"] or "").lower() for r in rows for ln in r["models"][role]["lines"]
                       if ln["kind"] == "unjudged" and ln["word"])
    return {
        "classes": {c: _share_iv(counts[c], counts["lines"], n_resamples=n_resamples, seed=seed) for c in CLASSES},
        "greedy_classes": {c: greedy.count(c) / len(greedy) for c in CLASSES},
        "collapse": {k: _iv(v, n_resamples=n_resamples, seed=seed) for k, v in coll.items()},
        "slot": {k: _iv(v, n_resamples=n_resamples, seed=seed) for k, v in slot.items()},
        "forced": [{"k": k, "rhyme": _iv(t["rhyme"], n_resamples=n_resamples, seed=seed),
                    "rhyme_mass": _iv(t["mass"], n_resamples=n_resamples, seed=seed),
                    "prefix_logprob_per_token": _iv(t["prefix_logprob"], n_resamples=n_resamples, seed=seed)}
                   for k, t in forced.items()],
        "unjudged_words": unjudged.most_common(20),
        "rhyme_words": Counter((ln["word"] or "").lower() for r in rows for ln in sampled(r, role)
                               if ln["kind"] == "rhyme").most_common(20),
    }


def paired_rows(rows: Sequence[Mapping[str, Any]], a: str, b: str, *, n_resamples: int, seed: int
                ) -> list[dict[str, Any]]:
    """``b`` minus ``a`` per measure, paired over the couplets where both have it."""
    out = []
    ca, cb = class_counts(rows, a), class_counts(rows, b)
    for c in CLASSES:
        out.append(_paired(f"share {c}", ratio_of_sums, (cb[c], cb["lines"]), (ca[c], ca["lines"]),
                           n_resamples=n_resamples, seed=seed))
    for name, ta, tb in (("collapse", collapse_table(rows, a), collapse_table(rows, b)),
                         ("slot", slot_table(rows, a), slot_table(rows, b))):
        for k in ta:
            out.append(_paired(f"{name} {k}", mean, (tb[k],), (ta[k],), n_resamples=n_resamples, seed=seed))
    fa, fb = forced_table(rows, a), forced_table(rows, b)
    for k in sorted(set(fa) & set(fb)):
        ia, ib = fa[k]["_ids"], fb[k]["_ids"]
        both = sorted(set(ia) & set(ib))
        ya = np.array([fa[k]["rhyme"][ia.index(i)] for i in both])
        yb = np.array([fb[k]["rhyme"][ib.index(i)] for i in both])
        out.append(_paired(f"forced k={k} rhyme", mean, (yb,), (ya,), n_resamples=n_resamples, seed=seed))
    return out


def _paired(measure: str, fn: Callable[..., float], b: tuple[np.ndarray, ...], a: tuple[np.ndarray, ...], *,
            n_resamples: int, seed: int) -> dict[str, Any]:
    keep = np.all([np.isfinite(x) for x in (*a, *b)], axis=0)
    if len(a) == 2:  # shares: a couplet without lines on either side carries nothing
        keep &= (a[1] > 0) & (b[1] > 0)
    if keep.sum() == 0:
        return {"measure": measure, "n": 0, "p_value": None, "test": None,
                "note": "no couplet has this measure for both models"}
    d = paired_test(fn, tuple(x[keep] for x in b), tuple(x[keep] for x in a), n_resamples=n_resamples, seed=seed)
    out = {"measure": measure, **d.to_json()}
    if out["p_value"] is None:  # below MIN_TEST_ITEMS no test ran: the default label ("bootstrap") names nothing
        out["test"] = None
    return out


def summarize_rows(rows: Sequence[Mapping[str, Any]], *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The summary of a run's rows, without the probe (see :func:`summarize_store`)."""
    if not rows:
        raise AnalysisError("the rhymes run has no couplets yet; run it (rerunning its command resumes) first")
    rows = sorted(rows, key=lambda r: r["id"])
    roles = list(rows[0]["models"])
    summary: dict[str, Any] = {"task": "rhymes", "n_items": len(rows), "roles": roles,
                               "n_samples": len(sampled(rows[0], roles[0])), "n_resamples": n_resamples, "seed": seed,
                               "per_role": {role: summarize_role(rows, role, n_resamples=n_resamples, seed=seed)
                                            for role in roles}}
    summary["paired"] = paired_rows(rows, roles[0], roles[1], n_resamples=n_resamples, seed=seed) \
        if len(roles) == 2 else []
    return summary


def summarize_store(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """:func:`summarize_rows` plus planning (the probe from the run's arrays); writes summary.json."""
    from .planning import PlanningError, couplets_of, lens_word_ranks, probe_layers

    rows = sorted(store.rows(), key=lambda r: r["id"])
    summary = summarize_rows(rows, n_resamples=n_resamples, seed=seed)
    models = store.config.get("models", {})
    summary["models"] = {role: models.get(role, {}).get("model", role) for role in summary["roles"]}
    for role in summary["roles"]:
        planning: dict[str, Any] = {"lens_word_ranks": lens_word_ranks(rows, role)}
        try:
            planning.update(probe_layers(couplets_of(store, rows, role, seed=seed), seed=seed), error=None)
        except PlanningError as exc:
            planning["error"] = str(exc)
        summary["per_role"][role]["planning"] = planning
    store.write_summary(summary)
    return summary
