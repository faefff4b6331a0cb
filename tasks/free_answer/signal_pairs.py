"""Signals of one run compared with each other: each signal's AUROC, AURC and PRR minus a reference signal's.

The signal table (:func:`.study.signal_table`) gives each signal's quality
with its own interval; two overlapping intervals do not say whether one
signal beats another on the same questions. :func:`signal_comparison`
pairs them: every signal judged against the greedy answer is a "run" over
the run's questions, and :func:`calibkit.stats.comparison.paired_comparison`
gives, for AUROC, AURC and PRR, the signal minus the reference on the same
questions, with its paired-bootstrap percentile interval (the same
resamples of questions for both), the paired permutation test's p-value and
the small-n rule. The reference is :data:`DEFAULT_REFERENCE`, the greedy
answer's own likelihood, so each row answers "does this signal separate
right from wrong greedy answers better than the plain likelihood?".

Only signals judged against the same correctness can be paired (a
difference of AUROCs against two different sets of right answers measures
the answers as much as the signals): P(True) is paired only when it
evaluated the greedy answer (``--ptrue-answer greedy``), a one-stage
verbalized confidence never (it is judged against its own guess); both are
listed in ``left_out`` with the reason. Many signals are compared with one
reference, so beside each raw p-value stands Holm's step-down adjustment
over the signals compared on that metric (:func:`holm`).

Also the terminal lines (:func:`pairs_text`) and the page table
(:func:`pairs_frame`, :func:`pairs_caption`) of the summary block. No model,
no torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from calibkit.paper.numbers import finite
from calibkit.paper.numbers import p_text as p_cell
from calibkit.stats.comparison import Measure, paired_comparison
from calibkit.stats.intervals import MIN_ITEMS
from calibkit.stats.paired import EXACT_MAX_ITEMS, MIN_TEST_ITEMS
from calibkit.tasks.reporting import frame_records, interval_cells, interval_text

from . import signals as free

if TYPE_CHECKING:
    from .study import SignalArrays

#: the reference of every difference: the greedy answer's sequence probability, exp(total token log-prob)
#: (LM-Polygraph's MaximumSequenceProbability), the plain-likelihood baseline of the uncertainty literature
DEFAULT_REFERENCE = "max_sequence_probability"
#: the paired metrics, in table order: summary key -> label (AURC: lower is better)
METRICS = {"auroc": "AUROC", "aurc": "AURC", "prr": "PRR"}
#: the record columns, after signal and metric (paired_comparison's, with the reference's estimate and Holm's p)
COLUMNS = ("n", "estimate", "low", "high", "reference_estimate", "difference", "diff_low", "diff_high", "p_value",
           "p_holm", "test", "note")
#: how many signals the terminal block shows (the largest |AUROC difference| first)
TEXT_ROWS = 5


def _conf_right(data: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return data


#: the measures of every pairing: a "run" is a signal's (confidence (m,), greedy answer right (m,) bool)
MEASURES = (Measure({"metric": "auroc"}, "auroc", _conf_right), Measure({"metric": "aurc"}, "aurc", _conf_right),
            Measure({"metric": "prr"}, "prr", _conf_right))


def left_out(arr: SignalArrays, *, ptrue_answer: str) -> dict[str, str]:
    """The run's signals judged against another answer than the greedy one, each with why it is not paired.

    Example:
        >>> from types import SimpleNamespace
        >>> left_out(SimpleNamespace(names=("p_true", "seq_prob"), targets={}), ptrue_answer="sample")["p_true"][:40]
        'judged against the answer it evaluated ('
    """
    out = {}
    if "p_true" in arr.names and ptrue_answer != "greedy":
        out["p_true"] = ("judged against the answer it evaluated (the first sample), not the greedy answer; "
                         "--ptrue-answer greedy pairs it")
    out.update({name: "judged against its own answer (a one-stage reply's guess), not the greedy answer"
                for name in arr.targets})
    return out


def paired_signals(rows: Sequence[Mapping[str, Any]], arr: SignalArrays, names: Sequence[str], *,
                   ptrue_answer: str, computed: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """``{name: (n,) confidence}`` of every signal judged against the greedy answer, in the signal table's
    order (the run's own, then the computed ones); NaN where a partial signal has no value. Empty when the
    rows do not keep the signals' inputs. ``computed``: :func:`.signals.confidences` of ``rows`` and ``names``
    where the caller has it already."""
    computed = free.confidences(rows, names) if computed is None else computed
    if not computed:
        return {}
    skip = left_out(arr, ptrue_answer=ptrue_answer)
    own = {name: np.asarray({**arr.signals, **arr.partial}[name], dtype=np.float64)
           for name in arr.names if name not in skip}
    return {**own, **computed}


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values of one family; NaN entries stay NaN and are not counted.

    The i-th smallest of m p-values becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))`` (Holm 1979): it
    controls the family-wise error at any dependence between the tests (here they share the reference).

    Example:
        >>> holm([0.01, float("nan"), 0.04, 0.03]).round(3).tolist()
        [0.03, nan, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    at = np.flatnonzero(np.isfinite(p))
    order = at[np.argsort(p[at], kind="stable")]
    m = order.size
    out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


def percentile_ranks(x: np.ndarray) -> np.ndarray:
    """``(m,)`` each value's average rank over ``m`` (ties share theirs): the empirical CDF, in (0, 1].

    AUROC, AURC and PRR read only the order, so they are unchanged; but two signals on different scales (a
    probability, a rank, an entropy's rank) become comparable values, so that swapping a question's two values
    (the permutation test) swaps like for like (Venkatraman & Begg 1996 permute ranks the same way).

    Example:
        >>> percentile_ranks(np.array([0.9, 0.1, 0.5, 0.5])).tolist()
        [1.0, 0.25, 0.625, 0.625]
    """
    return rankdata(x, method="average") / max(1, x.size)


def _pair_frames(conf: Mapping[str, np.ndarray], right: np.ndarray, reference: str, *, n_resamples: int,
                 seed: int) -> list[pd.DataFrame]:
    """paired_comparison tables, one per set of questions: signals defined on the same questions as the
    reference share one call (one estimate of the reference, the same resamples); each signal as its
    percentile ranks on those questions (:func:`percentile_ranks`)."""
    groups: dict[bytes, list[str]] = {}
    for name, c in conf.items():
        if name != reference:
            both = np.isfinite(c) & np.isfinite(conf[reference])
            groups.setdefault(both.tobytes(), []).append(name)
    frames = []
    for key, names in groups.items():
        keep = np.frombuffer(key, dtype=bool)
        runs = {name: (percentile_ranks(conf[name][keep]), right[keep]) for name in (reference, *names)}
        frames.append(paired_comparison(runs, MEASURES, n_resamples=n_resamples, seed=seed))
    return frames


def pair_table(conf: Mapping[str, np.ndarray], right: np.ndarray, *, reference: str, n_resamples: int = 1000,
               seed: int = 0) -> pd.DataFrame:
    """Each signal of ``conf`` but the reference minus the reference, per metric of :data:`METRICS`.

    Args:
        conf: ``{name: (n,) confidence}``, higher = more confident, NaN where undefined; every signal is
            judged against the same ``right``.
        right: ``(n,)`` bool, the greedy answer is right.
        reference: the name in ``conf`` every other is paired with, on the questions where both have a value.

    Returns:
        One row per (signal, metric), signals in ``conf`` order: ``signal``, ``metric``, then
        :data:`COLUMNS` (paired_comparison's columns; ``reference_estimate`` the reference on the same
        questions; ``p_holm`` Holm's adjustment over the signals of that metric).
    """
    frames = _pair_frames(conf, np.asarray(right, dtype=bool), reference, n_resamples=n_resamples, seed=seed)
    parts = []
    for t in frames:
        ref = t[t["run"] == reference].set_index("metric")["estimate"]
        t = t[t["run"] != reference].rename(columns={"run": "signal"})
        parts.append(t.assign(reference_estimate=t["metric"].map(ref)))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["signal", "metric", "p_value"])
    order = {name: i for i, name in enumerate(conf)}
    table = table.sort_values(by=["signal", "metric"], key=lambda s: s.map(order) if s.name == "signal"
                              else s.map({m: i for i, m in enumerate(METRICS)}), kind="stable")
    table = table.reset_index(drop=True).assign(p_holm=np.nan)
    for metric in METRICS:
        at = table["metric"] == metric
        table.loc[at, "p_holm"] = holm(table.loc[at, "p_value"].to_numpy(dtype=np.float64))
    return table.reindex(columns=["signal", "metric", *COLUMNS])


def signal_comparison(rows: Sequence[Mapping[str, Any]], arr: SignalArrays, names: Sequence[str], *,
                      ptrue_answer: str, correct_by: str = "exact", reference: str | None = None,
                      n_resamples: int = 1000, seed: int = 0,
                      computed: Mapping[str, np.ndarray] | None = None) -> dict[str, Any] | None:
    """summary.json's ``signal_comparison``: every signal judged against the greedy answer minus the reference.

    Args:
        rows, arr: the run's rows and their :func:`.study.signal_arrays`.
        names: the selected free-answer signals (:func:`.signals.selected`).
        ptrue_answer: ``"sample"`` or ``"greedy"``, the answer P(True) evaluated (paired only when greedy).
        reference: the signal every other is paired with; None: :data:`DEFAULT_REFERENCE`, and no comparison
            when the run did not compute it.

    Returns:
        ``{"reference", "target", "n_items", "adjustment", "left_out": {name: why}, "metrics": records}``
        (records: :func:`pair_table`'s rows); None when the rows do not keep the signals' inputs (runs made
        before they were stored) or the default reference is not computed.

    Raises:
        ValueError: ``reference`` names no signal judged against the greedy answer (the message lists them).
    """
    conf = paired_signals(rows, arr, names, ptrue_answer=ptrue_answer, computed=computed)
    if reference not in conf:
        if reference is None and DEFAULT_REFERENCE in conf:
            reference = DEFAULT_REFERENCE
        elif reference is None or not conf:
            return None
        else:
            raise ValueError(f"reference {reference!r} is not a signal of this run judged against the greedy "
                             f"answer; choose one of {', '.join(conf)}")
    table = pair_table(conf, arr.correct, reference=reference, n_resamples=n_resamples, seed=seed)
    return {"reference": reference, "target": f"the greedy answer's correctness ({correct_by})",
            "n_items": len(arr.ids), "adjustment": "Holm over the signals compared, per metric",
            "left_out": left_out(arr, ptrue_answer=ptrue_answer), "metrics": frame_records(table)}


# ------------------------------------------------------------------ terminal and page


def pairs_text(summary: Mapping[str, Any], *, k: int = TEXT_ROWS) -> list[str]:
    """The terminal block: the ``k`` signals whose AUROC differs most from the reference's, with intervals,
    raw and Holm p-values; then the signals left out and why. Empty without a comparison."""
    block = summary.get("signal_comparison")
    if not block:
        return []
    rows = [r for r in block["metrics"] if r["metric"] == "auroc"]
    shown = sorted((r for r in rows if finite(r["difference"]) is not None), key=lambda r: -abs(r["difference"]))[:k]
    width = max([len(r["signal"]) for r in shown] + [6])
    lines = [f"signal pairs: AUROC minus {block['reference']}'s on the same questions, judged against {block['target']}",
             f"  the {len(shown)} largest of {len(rows)} differences (all on the page); p: paired permutation test, "
             f"raw and Holm-adjusted over the {len(rows)} signals" if shown else
             "  no AUROC difference: every greedy answer is right, or every one wrong (AUROC needs both)"]
    for r in shown:
        diff = interval_text(r["difference"], r["diff_low"], r["diff_high"], n=r["n"], note=r["note"], signed=True)
        p = "" if finite(r["p_value"]) is None else f"  p={r['p_value']:.3g} Holm p={r['p_holm']:.3g}"
        lines.append(f"  {r['signal']:<{width}}  {diff}{p}")
    lines += [f"  not paired: {name}: {why}" for name, why in block.get("left_out", {}).items()]
    return lines


def pairs_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The page table: one row per signal, each metric's difference from the reference with its 95% CI in one
    cell, its raw and Holm p; n and the small-n note."""
    block = summary["signal_comparison"]
    if not block["metrics"]:
        return pd.DataFrame(columns=["signal"])
    labels = {name: s.get("label", name) for name, s in summary.get("signal_table", {}).get("signals", {}).items()}
    out: dict[str, dict[str, Any]] = {}
    for r in block["metrics"]:
        row = out.setdefault(r["signal"], {"signal": labels.get(r["signal"], r["signal"]), "n": r["n"]})
        head = f"{METRICS[r['metric']]} - reference [95% CI]"
        row.update({head: r["difference"], f"{head} low": r["diff_low"], f"{head} high": r["diff_high"],
                    f"{METRICS[r['metric']]} p": p_cell(r["p_value"], bare=True) or None,
                    f"{METRICS[r['metric']]} p (Holm)": p_cell(r["p_holm"], bare=True) or None})
        row["note"] = row.get("note") or r["note"]
    frame = pd.DataFrame(list(out.values()))
    frame = interval_cells(frame, signed=[f"{m} - reference [95% CI]" for m in METRICS.values()])
    note = frame.pop("note")
    return frame if note.isna().all() else frame.assign(note=note)


def pairs_caption(summary: Mapping[str, Any]) -> str:
    """What the page table shows: the reference (with its own estimates), the target, the test, the adjustment."""
    block = summary["signal_comparison"]
    ref = summary.get("signal_table", {}).get("signals", {}).get(block["reference"], {})
    own = ", ".join(f"{label} {v:.3f}" for key, label in METRICS.items()
                    if (v := finite((ref.get(key) or {}).get("estimate"))) is not None)
    left = "; ".join(f"{name}: {why}" for name, why in block.get("left_out", {}).items())
    return (f"Each signal minus the reference {block['reference']} ({own or 'no estimate'} on all questions), both "
            f"judged against {block['target']}, on the same questions (a partial signal: those where it has a "
            "value; n). [95% paired-bootstrap percentile interval over questions, the same resamples for both]. "
            "AUROC and PRR: higher is better, so a positive difference favours the signal; AURC: lower is better, "
            "so a negative one does. p: two-sided paired permutation test (each question's two signals swapped "
            f"at random; up to {EXACT_MAX_ITEMS} questions every swap); p (Holm): Holm's step-down adjustment over "
            f"the signals compared on that metric. Below {MIN_ITEMS} questions no interval (note), below "
            f"{MIN_TEST_ITEMS} no p-value." + (f" Not paired: {left}." if left else ""))
