"""The Herbstritt & Franke study: a run's stored scores compared with people, and runs compared with each other.

From a run folder written by :mod:`.run` (prompts from :mod:`.contexts`),
:func:`analyze_study` gathers every comparison the items support: the
model as speaker (:mod:`.speaker`: P(expression | context) tables vs the
human production tables, scored by :mod:`.agreement`, beside the RSA and
uniform baselines) and as listener (:mod:`.listener`: P(red balls |
expression) vs the interpretation data, beside the RSA listener), and
:func:`summarize_store` writes them as the run's summary.json.
:func:`compare_runs` pairs runs (e.g. base vs chat) over the 15 contexts:
which one is closer to people.

Everything here works from disk without a model, and never imports torch
or draws; the pages are drawn by :mod:`.report` from the summary made here.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.records import ScoredItem
from calibkit.runs.store import RunStore
from calibkit.stats import divergences
from calibkit.stats.comparison import Measure, paired_comparison
from calibkit.tasks.reporting import frame_records

from .agreement import HumanComparison, cell_pearson, compare_to_humans, mean_jsd_bits
from .design import EXPRESSION_SETS, TASK
from .items import StudyError, select_items
from .listener import (
    ListenerComparison,
    ListenerDistributions,
    compare_listener,
    human_interpretation,
    listener_distributions,
    rsa_listener,
)
from .speaker import (
    DEFAULT_NORMALIZATION,
    LETTER_READING,
    TABLES,
    SpeakerDistributions,
    TemplateSpread,
    baselines,
    comparison_views,
    human_production,
    position_profile,
    speaker_analyses,
    speaker_attempts,
    template_spread,
)

# --------------------------------------------------------------------------- the whole study


@dataclass(frozen=True)
class SpeakerResult:
    """One speaker distribution compared with one human production table."""

    distributions: SpeakerDistributions  # the model's tables (the complex set stays unmerged here)
    table: str  # the human table: "simple", "complex" (16) or "complex_merged" (12)
    comparison: HumanComparison  # vs people, the template mean in that table's columns
    spread: TemplateSpread  # each template on its own

    @property
    def default(self) -> bool:
        """Whether this is a reading's default variant (sentence "sum", or forced choice)."""
        return self.distributions.normalization in (DEFAULT_NORMALIZATION, LETTER_READING)

    def to_json(self) -> dict[str, Any]:
        d = self.distributions
        _, _, per_template = next(v for v in comparison_views(d) if v[0] == self.table)
        return {
            "key": d.key, "set": d.expression_set, "reading": d.reading, "normalization": d.normalization,
            "table": self.table, "default": self.default, "templates": list(d.templates), "n_orders": d.n_orders,
            "option_mass_mean": float(d.option_mass.mean()),
            "comparison": self.comparison.to_json(),
            "template_spread": self.spread.to_json(),
            "per_template_probs": per_template.tolist(),
        }


@dataclass(frozen=True)
class BaselineResult:
    """A reference speaker (RSA, uniform) compared with one human table."""

    name: str  # "RSA" or "uniform"
    table: str  # the human table it was compared with
    comparison: HumanComparison  # vs people


@dataclass(frozen=True)
class ListenerResult:
    """The model's and the RSA listener's red-ball guesses vs people's, for one set."""

    distributions: ListenerDistributions  # the model's (T, M, 11) tables
    comparison: ListenerComparison  # the template mean vs people
    per_template_mean_jsd_bits: np.ndarray  # (T,) each template's mean JSD vs people
    rsa_state: np.ndarray  # (M, 11) the authors' pragmatic listener
    rsa: ListenerComparison  # the RSA listener vs people

    def to_json(self) -> dict[str, Any]:
        d = self.distributions
        return {
            "set": d.expression_set, "expressions": list(d.expressions), "templates": list(d.templates),
            "probs": d.probs.tolist(), "per_template_probs": d.per_template.tolist(),
            "option_mass_mean": float(d.option_mass.mean()),
            "comparison": self.comparison.to_json(),
            "per_template_mean_jsd_bits": self.per_template_mean_jsd_bits.tolist(),
            "rsa": self.rsa.to_json(),
        }


@dataclass(frozen=True)
class StudyResults:
    """Everything :func:`analyze_study` found in one run; ``to_json()`` is summary.json."""

    n_items: int  # the run's Herbstritt-Franke items
    speaker: tuple[SpeakerResult, ...]  # per distribution x human table, set / reading / variant order
    baselines: tuple[BaselineResult, ...]  # RSA and uniform on the tables the speaker results use
    listener: tuple[ListenerResult, ...]  # per expression set with listener items
    position_profiles: Mapping[str, np.ndarray]  # set -> (E,) mean probability per letter (forced choice)
    incomplete: tuple[str, ...]  # parts left out because the run folder lacks items, with the reason
    n_resamples: int  # bootstrap resamples behind every interval
    seed: int  # bootstrap seed

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (nan as None)."""
        return _json_ready({
            "task": TASK,
            "n_items": self.n_items,
            "default_normalization": DEFAULT_NORMALIZATION,
            "speaker": [r.to_json() for r in self.speaker],
            "baselines": [{"name": b.name, "table": b.table, "comparison": b.comparison.to_json()}
                          for b in self.baselines],
            "listener": [r.to_json() for r in self.listener],
            "choice_position_profile": {s: p.tolist() for s, p in self.position_profiles.items()},
            "incomplete": list(self.incomplete),
            "n_resamples": self.n_resamples,
            "seed": self.seed,
        })


def analyze_study(items: Sequence[ScoredItem], *, n_resamples: int = 1000, seed: int = 0) -> StudyResults:
    """Every comparison a run's items support.

    Speaker: each distribution (set x reading x sentence variant) vs its
    human production table(s) with :func:`.agreement.compare_to_humans`
    (JSD, TV, log-likelihood ratio vs uniform, Pearson/Spearman with
    bootstrap intervals over people's trials, uncertainty levels); the
    complex set is compared both merged (12, the authors' view, beside RSA)
    and unmerged (16). Baselines: RSA and uniform on the same tables.
    Listener: the template mean and the RSA listener vs the interpretation data.
    """
    speaker, incomplete = [], []
    for d in speaker_attempts(items):
        if isinstance(d, str):
            incomplete.append(d)
            continue
        for table, probs, per_template in comparison_views(d):
            h = human_production(table)
            speaker.append(SpeakerResult(
                distributions=d,
                table=table,
                comparison=compare_to_humans(probs, h, n_resamples=n_resamples, seed=seed),
                spread=template_spread(per_template, h, templates=d.templates),
            ))
    used = {r.table for r in speaker}
    base = tuple(
        BaselineResult(name, table, compare_to_humans(probs, human_production(table),
                                                            n_resamples=n_resamples, seed=seed))
        for table, models in baselines().items() if table in used for name, probs in models.items()
    )
    listener = []
    for s in EXPRESSION_SETS:
        if not select_items(items, s, "listener"):
            continue
        try:
            ld = listener_distributions(items, expression_set=s)
        except StudyError as exc:
            incomplete.append(f"{s}/listener: {exc}")
            continue
        h = human_interpretation(s)
        rsa_state = rsa_listener(s)
        listener.append(ListenerResult(
            distributions=ld,
            comparison=compare_listener(ld.probs, h, n_resamples=n_resamples, seed=seed),
            per_template_mean_jsd_bits=np.array([divergences.jensen_shannon_bits(h.state_proportions, q).mean()
                                                 for q in ld.per_template]),
            rsa_state=rsa_state,
            rsa=compare_listener(rsa_state, h, n_resamples=n_resamples, seed=seed),
        ))
    profiles = {s: position_profile(items, expression_set=s)
                for s in EXPRESSION_SETS if select_items(items, s, "choice")}
    return StudyResults(
        n_items=sum(1 for it in items if it.task == TASK),
        speaker=tuple(speaker),
        baselines=base,
        listener=tuple(listener),
        position_profiles=profiles,
        incomplete=tuple(incomplete),
        n_resamples=int(n_resamples),
        seed=int(seed),
    )


def _json_ready(x: Any) -> Any:
    if isinstance(x, float):
        return None if not math.isfinite(x) else x
    if isinstance(x, (np.floating, np.integer)):
        return _json_ready(x.item())
    if isinstance(x, np.ndarray):
        return _json_ready(x.tolist())
    if isinstance(x, Mapping):
        return {str(k): _json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_ready(v) for v in x]
    return x


def summarize_store(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> StudyResults:
    """Analyse a run folder's items and write its summary.json (:meth:`StudyResults.to_json`)."""
    results = analyze_study(store.items(), n_resamples=n_resamples, seed=seed)
    store.write_summary(results.to_json())
    return results


# --------------------------------------------------------------------------- comparing runs


def is_study_run(store: RunStore) -> bool:
    """Whether a run folder holds a Herbstritt-Franke run."""
    return store.config.get("task") == TASK


#: what a comparison of runs measures against people, per speaker reading and human table: (label, metric,
#: which way is closer to people)
COMPARED = (("mean JSD (bits)", mean_jsd_bits, "lower is closer"),
            ("Pearson r", cell_pearson, "higher is closer"))


@dataclass(frozen=True)
class StudyComparison:
    """Runs compared with people, each later run against the first (e.g. base vs chat), on the 15 contexts."""

    labels: tuple[str, ...]  # run labels; the first is the reference
    n_contexts: int  # the urn contexts every comparison pairs over
    # calibkit.stats.comparison.paired_comparison's table: per run, reading ("key"), human table and measure
    # (COMPARED) the estimate, and for later runs the difference from the first
    table: pd.DataFrame

    def to_json(self) -> dict[str, Any]:
        return {"runs": list(self.labels), "n_contexts": self.n_contexts, "metrics": frame_records(self.table)}


def _view(dists: Mapping[str, SpeakerDistributions], key: str, table: str) -> tuple[np.ndarray, np.ndarray]:
    """(people's proportions, the run's distribution) of one reading in one human table, each (C, E)."""
    probs = next(p for t, p, _ in comparison_views(dists[key]) if t == table)
    return human_production(table).proportions, probs


def comparison_measures(dists: Mapping[str, SpeakerDistributions], keys: Sequence[str]) -> list[Measure]:
    """Per shared speaker reading and each of its human tables: mean JSD and Pearson r against people."""
    out = []
    for key in keys:
        for table, _, _ in comparison_views(dists[key]):
            out += [Measure({"key": key, "table": table, "metric": label, "closer": closer}, fn,
                            functools.partial(_view, key=key, table=table)) for label, fn, closer in COMPARED]
    return out


def compare_runs(
    stores: Sequence[RunStore], *, labels: Sequence[str] | None = None, n_resamples: int = 1000, seed: int = 0
) -> StudyComparison:
    """Which run is closer to people? Every later run paired with the first over contexts, on every shared reading.

    Readings all runs hold (same set, reading, normalization), in every
    human table: mean JSD (:func:`mean_jsd_bits`; a - b < 0 means the
    later run is closer) and Pearson r (:func:`cell_pearson`; > 0: the
    later run is closer), by :func:`calibkit.stats.comparison.paired_comparison`
    (paired bootstrap and permutation test over contexts). The small-n rule
    counts contexts: on the 15 urn contexts a comparison gives the estimates
    and differences with the note, no interval and no p-value.
    """
    if len(stores) < 2:
        raise ValueError(f"stores: need at least two runs to compare, got {len(stores)}")
    for s in stores:
        if not is_study_run(s):
            raise ValueError(f"stores: {s.path} is not a {TASK} run (task {s.config.get('task')!r})")
    if labels is None:
        labels = [str(s.config.get("model", s.path.name)) + (" (chat)" if s.config.get("chat_template") else "")
                  for s in stores]
        if len(set(labels)) < len(labels):
            labels = [f"{lab} [{s.path.name}]" for lab, s in zip(labels, stores)]
    labels = tuple(labels)
    if len(labels) != len(stores):
        raise ValueError(f"labels: {len(labels)} labels for {len(stores)} runs")
    dists = {lab: {d.key: d for d in speaker_analyses(s.items())} for lab, s in zip(labels, stores)}
    keys = [k for k in dists[labels[0]] if all(k in d for d in dists.values())]
    if not keys:
        raise StudyError("the runs share no complete speaker reading; run them with the same --experiment/--method")
    table = paired_comparison(dists, comparison_measures(dists[labels[0]], keys), n_resamples=n_resamples, seed=seed)
    return StudyComparison(labels=labels, n_contexts=len(human_production(TABLES[0]).counts), table=table)
