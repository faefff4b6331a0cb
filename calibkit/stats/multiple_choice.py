"""From stored option items to the numbers a study reports.

Reads :class:`~calibkit.records.ScoredItem` lists (as loaded from a run
folder), turns them into arrays, and computes the run summary and per-category
tables with :mod:`calibkit.stats.metrics` and :mod:`calibkit.stats.bootstrap`,
and comparisons with :mod:`calibkit.stats.comparison`. Pure numpy/pandas: never imports torch and never
draws (figures live in :mod:`calibkit.draw.plots`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.errors import UserError
from calibkit.records import ScoredItem
from calibkit.stats import bootstrap, metrics
from calibkit.stats.resampled_metrics import TOP_LABEL_METRICS
from calibkit.stats.binning import BinStats, bin_stats
from calibkit.stats.comparison import Measure, paired_comparison, shared
from calibkit.stats.kernels import softmax
from calibkit.stats.paired import DEFAULT_TEST

KADAVATH_TEMPERATURE = 2.5  # the T at which Kadavath et al. (2022) report RLHF models are best calibrated


class AnalysisError(UserError, ValueError):
    """The items cannot be analysed as asked (e.g. no answers, mixed option counts)."""


MISSING_OPTION_LOGPROB = -1e6  # pads items with fewer options: probability exactly 0 in float64 at any T < 1,000


@dataclass(frozen=True)
class OptionArrays:
    """Items as aligned arrays; row i is ``ids[i]``.

    Items may have different numbers of options (ARC has 3 to 5): rows are
    padded to the largest count with :data:`MISSING_OPTION_LOGPROB`, so a
    missing option gets probability 0 at any temperature, never wins the
    argmax and adds nothing to Brier or NLL. Metrics over single options
    (pooled ECE) skip the padding through :attr:`option_mask`.
    """

    ids: tuple[str, ...]  # item ids, (n,)
    logprobs: np.ndarray  # (n, k) ln P(option | context), full vocabulary; k = the most options of any item
    labels: np.ndarray  # (n,) index of the right option
    option_mass: np.ndarray  # (n,) total probability on the item's option strings, in [0, 1]
    n_options: np.ndarray  # (n,) options of each item, <= k

    @property
    def option_mask(self) -> np.ndarray:
        """(n, k) bool: True where the item has that option."""
        return np.arange(self.logprobs.shape[1])[None, :] < self.n_options[:, None]

    @property
    def mixed(self) -> bool:
        """Whether the items have different numbers of options."""
        return bool(self.n_options.size) and int(self.n_options.min()) != int(self.n_options.max())

    def probs(self, *, temperature: float = 1.0) -> np.ndarray:
        """(n, k) softmax of logprobs / T, renormalized over the options (0 on padding)."""
        return softmax(self.logprobs / temperature, axis=1)


def option_arrays(items: Sequence[ScoredItem]) -> OptionArrays:
    """Stack the items that have answers; fewer options are padded (see :class:`OptionArrays`).

    Example:
        >>> a = option_arrays([ScoredItem(id="q1", task="t", options=(" A", " B", " C"), logprobs=(-1.0, -2.0, -3.0), answer=0),
        ...                    ScoredItem(id="q2", task="t", options=(" A", " B"), logprobs=(-0.5, -1.5), answer=1)])
        >>> a.logprobs.shape, a.n_options.tolist(), a.mixed, float(a.probs()[1, 2])
        ((2, 3), [3, 2], True, 0.0)
    """
    usable = [it for it in items if it.answer is not None]
    if not usable:
        raise AnalysisError("no scored item has an answer; nothing to calibrate against")
    n_options = np.array([len(it.options) for it in usable], dtype=np.int64)
    logprobs = np.full((len(usable), int(n_options.max())), MISSING_OPTION_LOGPROB, dtype=np.float64)
    for row, it in zip(logprobs, usable):
        row[: len(it.logprobs)] = it.logprobs
    return OptionArrays(
        ids=tuple(it.id for it in usable),
        logprobs=logprobs,
        labels=np.array([it.answer for it in usable], dtype=np.int64),
        option_mass=np.exp(logprobs).sum(axis=1),
        n_options=n_options,
    )


def run_summary(
    items: Sequence[ScoredItem], *, n_bins: int = 10, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The summary.json content of an option run: metrics with 95% CIs and more.

    Deterministic in ``items`` (order-independent: items are sorted by id
    first), so re-analysing a stored run reproduces its summary exactly.
    """
    arr = option_arrays(sorted(items, key=lambda it: it.id))
    probs = arr.probs()
    summary = bootstrap.summarize(probs, arr.labels, n_bins=n_bins, n_resamples=n_resamples, seed=seed)
    out = summary.to_json()
    out["option_mass_mean"] = float(arr.option_mass.mean())
    out["pooled_ece"] = float(metrics.pooled_ece(probs, arr.labels, n_bins=n_bins, option_mask=arr.option_mask))
    counts = np.unique(arr.n_options, return_counts=True)
    out["options_per_item"] = {str(int(k)): int(c) for k, c in zip(*counts)}
    out["debiased_l2_ce"] = float(
        metrics.debiased_l2_ce(probs.max(axis=1), probs.argmax(axis=1) == arr.labels, n_bins=n_bins)
    )
    at_t = metrics.top_label(arr.probs(temperature=KADAVATH_TEMPERATURE), arr.labels)
    out["ece_at_kadavath_t"] = float(metrics.ece(at_t.confidence, at_t.correct, n_bins=n_bins))
    normalised = length_normalised(sorted(items, key=lambda it: it.id))
    if normalised is not None:
        out["accuracy_norm"] = bootstrap.bootstrap_ci(
            "accuracy", normalised.probs(), normalised.labels, n_resamples=n_resamples, seed=seed
        ).to_json()
    out["categories"] = category_table(items, n_bins=n_bins).to_dict(orient="records")
    return out


def length_normalised(items: Sequence[ScoredItem]) -> OptionArrays | None:
    """The option arrays with each log-prob divided by its option's length, or None without lengths.

    lm-eval's ``acc_norm``: the argmax of ``logprob / len(option)`` where the
    length (characters, ``meta["norm_lengths"]``, one per option) is the
    task's to define (lm-eval counts the answer text without its leading
    delimiter). Only the argmax of these scores means anything: they are not
    probabilities. None unless every item with an answer has the lengths.

    Example:
        >>> its = [ScoredItem(id="q", task="t", options=(" a", " bbbb"), logprobs=(-2.0, -3.0), answer=1,
        ...                   meta={"norm_lengths": [1, 4]})]
        >>> int(length_normalised(its).logprobs.argmax()), int(option_arrays(its).logprobs.argmax())
        (1, 0)
    """
    arr = option_arrays(items)
    usable = [it for it in items if it.answer is not None]
    if not all(len(it.meta.get("norm_lengths") or ()) == len(it.options) for it in usable):
        return None
    lengths = np.ones_like(arr.logprobs)
    for row, it in zip(lengths, usable):
        row[: len(it.options)] = np.maximum(np.asarray(it.meta["norm_lengths"], dtype=np.float64), 1.0)
    scaled = np.where(arr.option_mask, arr.logprobs / lengths, MISSING_OPTION_LOGPROB)
    return OptionArrays(ids=arr.ids, logprobs=scaled, labels=arr.labels, option_mass=arr.option_mass,
                        n_options=arr.n_options)


def reliability_stats(items: Sequence[ScoredItem], *, n_bins: int = 10, strategy: str = "uniform",
                      temperature: float = 1.0) -> BinStats:
    """Top-label bins of a run, ready for :func:`calibkit.draw.plots.reliability_diagram`."""
    arr = option_arrays(items)
    top = metrics.top_label(arr.probs(temperature=temperature), arr.labels)
    return bin_stats(top.confidence, top.correct, n_bins=n_bins, strategy=strategy)


def pooled_stats(items: Sequence[ScoredItem], *, n_bins: int = 10) -> BinStats:
    """Kadavath et al.'s pooled all-options bins (every option's probability)."""
    arr = option_arrays(items)
    return metrics.pooled_option_stats(arr.probs(), arr.labels, n_bins=n_bins, option_mask=arr.option_mask)


def category_table(items: Sequence[ScoredItem], *, key: str = "category", n_bins: int = 10) -> pd.DataFrame:
    """One row per value of ``meta[key]`` (e.g. MMLU category): n, accuracy, ECE, mean confidence.

    Empty when no item carries ``key``.
    """
    groups: dict[str, list[ScoredItem]] = {}
    for it in items:
        if it.answer is not None and key in it.meta:
            groups.setdefault(str(it.meta[key]), []).append(it)
    rows = []
    for name in sorted(groups):
        arr = option_arrays(groups[name])
        top = metrics.top_label(arr.probs(), arr.labels)
        conf, correct = top.confidence, top.correct
        rows.append({
            key: name,
            "n": len(groups[name]),
            "accuracy": float(correct.mean()),
            "mean_confidence": float(conf.mean()),
            "ece": float(metrics.ece(conf, correct, n_bins=n_bins)),
            "option_mass": float(arr.option_mass.mean()),
        })
    return pd.DataFrame(rows, columns=[key, "n", "accuracy", "mean_confidence", "ece", "option_mass"])


def confidently_wrong(items: Sequence[ScoredItem], *, k: int = 10) -> pd.DataFrame:
    """The k wrong items with the highest confidence, most confident first."""
    wrong = [it for it in items if it.correct is False]
    wrong.sort(key=lambda it: (-it.confidence, it.id))
    rows = []
    for it in wrong[:k]:
        question = str(it.meta.get("question", ""))
        rows.append({
            "id": it.id,
            "question": question if len(question) <= 160 else question[:157] + "...",
            "predicted": it.options[it.predicted].strip(),
            "answer": it.options[it.answer].strip() if it.answer is not None else "",
            "confidence": it.confidence,
        })
    return pd.DataFrame(rows, columns=["id", "question", "predicted", "answer", "confidence"])


def shared_items(runs: Mapping[str, Sequence[ScoredItem]]) -> dict[str, list[ScoredItem]]:
    """Each run restricted to the item ids all runs have, in one order (:func:`calibkit.stats.comparison.shared`)."""
    return shared(runs, key=lambda it: it.id)


def paired_table(
    runs: Mapping[str, Sequence[ScoredItem]],
    *,
    metrics_: Sequence[str] = ("accuracy", "ece", "brier", "nll", "auroc"),
    n_bins: int = 10,
    n_resamples: int = 1000,
    seed: int = 0,
    test: str = DEFAULT_TEST,
) -> pd.DataFrame:
    """Metrics per run and paired differences against the first run: the one paired comparison on option items.

    ``runs`` must already be aligned (see :func:`shared_items`). One row per
    (run, metric), the columns of
    :func:`calibkit.stats.comparison.paired_comparison`: estimate, its CI,
    n, the small-n note and, for runs after the first, the difference to the
    first run with its paired-bootstrap CI and the p-value of ``test`` (the
    paired permutation test by default), named in ``test``.
    """
    arrays = {name: option_arrays(items) for name, items in runs.items()}
    per_option = sorted({"classwise_ece", "pooled_ece"} & set(metrics_))
    if per_option and any(arr.mixed for arr in arrays.values()):
        raise AnalysisError(
            f"{', '.join(per_option)} need the same number of options for every item; "
            "these items have different numbers; compare top-label metrics (ece, brier, nll...)"
        )
    return paired_comparison(arrays, option_measures(metrics_, n_bins=n_bins), test=test, n_resamples=n_resamples,
                             seed=seed)


def option_measures(metrics_: Sequence[str], *, n_bins: int = 10) -> list[Measure]:
    """One :class:`~calibkit.stats.comparison.Measure` per named metric, read from a run's :class:`OptionArrays`.

    Top-label metrics read (confidence, correct) of the argmax option; the others (probs, labels).

    Example:
        >>> [m.labels["metric"] for m in option_measures(("smooth_ece", "accuracy"))]
        ['smooth_ece', 'accuracy']
    """
    return [Measure({"metric": name}, name, partial(metric_arrays, name), n_bins=n_bins) for name in metrics_]


def metric_arrays(metric: str, arr: OptionArrays) -> tuple[np.ndarray, ...]:
    """The arrays a named metric takes, from option items: top-label (confidence, correct) or (probs, labels)."""
    probs = arr.probs()
    if metric in TOP_LABEL_METRICS:
        top = metrics.top_label(probs, arr.labels)
        return top.confidence, top.correct
    return probs, arr.labels
