"""The model as listener: a run's scores -> P(red balls in the urn | expression), compared with people.

After each expression of a set (5 simple, or the authors' 12 merged
complex ones) the model rates the eleven answers "0 red balls." ... "10 red
balls."; renormalized over the answers they give an (M, 11) table per
template. :func:`compare_listener` sets the template mean, or the authors'
pragmatic RSA listener (:func:`rsa_listener`), beside the interpretation
study's answers (:func:`human_interpretation`): per expression
Jensen-Shannon divergence and mean guess, over all cells Pearson r.

Works from disk without a model; never imports torch or draws.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from calibkit.records import ScoredItem
from calibkit.stats import divergences
from calibkit.stats.bootstrap import Interval
from calibkit.stats.kernels import softmax

from . import human, rsa
from .agreement import Bootstrap
from .design import N_BALLS, expression_sets, listener_expressions
from .human import InterpretationTable
from .items import StudyError, select_items, template_order


@dataclass(frozen=True)
class ListenerDistributions:
    """A model's P(red balls in the urn = s | expression), s = 0..10."""

    expression_set: str  # "simple" or "complex"
    expressions: tuple[str, ...]  # the M expressions, row order (interpretation-table order)
    templates: tuple[str, ...]  # the T templates
    per_template: np.ndarray  # (T, M, 11) float64: distributions per template, rows sum to 1
    option_mass: np.ndarray  # (T, M) float64: raw probability on the eleven answers

    @property
    def probs(self) -> np.ndarray:
        """(M, 11) mean over templates."""
        return self.per_template.mean(axis=0)


@dataclass(frozen=True)
class ListenerComparison:
    """Model vs people on "how many red balls?" after each expression."""

    expressions: tuple[str, ...]  # the M expressions
    jsd_bits: np.ndarray  # (M,) Jensen-Shannon divergence per expression, bits
    human_mean: np.ndarray  # (M,) people's mean guess of red balls
    model_mean: np.ndarray  # (M,) the model's expected number of red balls
    mean_jsd_bits: Interval  # mean of jsd_bits, bootstrap over listeners' answers
    pearson: Interval  # r over the M x 11 cells
    mean_r: float  # Pearson r of human_mean vs model_mean over expressions (nan if constant)

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for k in ("jsd_bits", "human_mean", "model_mean"):
            out[k] = getattr(self, k).tolist()
        return out


def listener_distributions(items: Sequence[ScoredItem], *, expression_set: str) -> ListenerDistributions:
    """The model's (T, M, 11) red-ball distributions from a run's listener items.

    Each item's eleven answer log-probs are renormalized over the answers.
    """
    expressions = listener_expressions(expression_set)
    chosen = select_items(items, expression_set, "listener")
    if not chosen:
        raise StudyError(f"no {expression_set}/listener items in this run")
    templates = template_order(it.meta["template"] for it in chosen)
    T, M = len(templates), len(expressions)
    probs = np.full((T, M, N_BALLS + 1), np.nan)
    mass = np.full((T, M), np.nan)
    for it in chosen:
        if len(it.options) != N_BALLS + 1:
            raise StudyError(f"item {it.id!r} has {len(it.options)} options, expected {N_BALLS + 1}")
        t, m = templates.index(it.meta["template"]), expressions.index(it.meta["expression"])
        probs[t, m] = softmax(np.asarray(it.logprobs, dtype=np.float64))
        mass[t, m] = it.option_mass
    if np.isnan(mass).any():
        t, m = map(int, np.argwhere(np.isnan(mass))[0])
        raise StudyError(f"{expression_set}/listener: no item for {templates[t]} {expressions[m]!r}; "
                         "finish the run first")
    return ListenerDistributions(expression_set=expression_set, expressions=expressions, templates=templates,
                                 per_template=probs, option_mass=mass)


def compare_listener(
    model_state: np.ndarray, human_table: InterpretationTable, *, n_resamples: int = 1000, seed: int = 0,
    level: float = 0.95,
) -> ListenerComparison:
    """Model vs people on the red-ball question, per expression and over all (M, 11) cells.

    Intervals: each resample redraws every expression's answers from people's
    observed proportions (multinomial), ``numpy.random.default_rng(seed)``;
    ``bootstrap``: the :class:`.agreement.Bootstrap` options ``n_resamples``,
    ``seed`` and ``level``.

    >>> h = human.load_simple_interpretation()
    >>> c = compare_listener(h.state_proportions, h, n_resamples=20)
    >>> float(c.mean_jsd_bits.estimate), round(c.pearson.estimate, 6)
    (0.0, 1.0)
    """
    if not isinstance(human_table, InterpretationTable):
        raise ValueError(f"human_table must be an InterpretationTable, got {type(human_table).__name__}")
    q = np.asarray(model_state, dtype=np.float64)
    if q.shape != human_table.state_counts.shape:
        raise ValueError(f"model_state must have shape {human_table.state_counts.shape}, got {q.shape}")
    resampling = Bootstrap(n_resamples, seed, level)
    p = human_table.state_proportions
    states = np.arange(N_BALLS + 1)
    jsd = divergences.jensen_shannon_bits(p, q)
    n = human_table.state_n
    boot = resampling.people(n, p)
    boot_jsd = divergences.jensen_shannon_bits(boot, q[None]).mean(axis=1)
    boot_r = np.array([divergences.pearson_r(b, q) for b in boot])
    hm, mm = p @ states, q @ states
    mean_r = divergences.pearson_r(hm, mm) if len(hm) > 1 else math.nan
    return ListenerComparison(
        expressions=human_table.expressions,
        jsd_bits=jsd,
        human_mean=hm,
        model_mean=mm,
        mean_jsd_bits=resampling.interval(float(jsd.mean()), boot_jsd, n=int(n.sum())),  # n: answers resampled
        pearson=resampling.interval(divergences.pearson_r(p, q), boot_r, n=int(n.sum())),
        mean_r=float(mean_r),
    )


def human_interpretation(expression_set: str) -> InterpretationTable:
    """The interpretation table for a set (5 simple or 12 merged complex expressions)."""
    if expression_sets(expression_set) == ("simple",):
        return human.load_simple_interpretation()
    return human.load_complex_interpretation()


def rsa_listener(expression_set: str) -> np.ndarray:
    """(M, 11) the authors' pragmatic listener's P(red balls | expression), published parameters."""
    if expression_sets(expression_set) == ("simple",):
        return rsa.simple_listener().state
    return rsa.complex_listener().state
