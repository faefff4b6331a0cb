"""How close a model's expression choices come to people's (Herbstritt & Franke production data).

Compares a model's per-context distribution over expressions with a
:class:`.human.ProductionTable`: per context Jensen-Shannon divergence
(bits), total variation and the multinomial log-likelihood ratio of the
human counts against a uniform speaker; over all context x expression cells
Pearson and Spearman r (the authors' fit statistic) with bootstrap CIs; a
breakdown by the authors' higher-order uncertainty level; and a paired
comparison over contexts (:func:`calibkit.stats.paired.paired_test`) that
says which of two models is closer to people. The divergences and
correlations themselves are :mod:`calibkit.stats.divergences`.

Pure numpy; never imports torch and never draws (figures: :mod:`.plots`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from calibkit.stats.bootstrap import Interval, PairedDifference, interval
from calibkit.stats.divergences import (
    jensen_shannon_bits,
    log_likelihood_ratio_bits,
    pearson_rows,
    probability_rows,
    total_variation,
)
from calibkit.stats.paired import paired_test

from .design import UNCERTAINTY_LEVELS
from .human import ProductionTable, read_only

@dataclass(frozen=True)
class ContextRow:
    """Model vs people in one urn context."""

    access: int  # balls the speaker drew
    observation: int  # red balls among them
    uncertainty: str  # the authors' level: none / low / high
    n: int  # human trials in this context
    jsd_bits: float  # Jensen-Shannon divergence, human proportions vs model, bits in [0, 1]
    total_variation: float  # 0.5 * L1 distance, in [0, 1]
    llr_bits_per_trial: float  # (log-lik model - log-lik uniform) / n, bits; > 0 beats uniform
    human_mode: str  # the expression people chose most (first in order on ties)
    model_mode: str  # the expression the model rates highest


@dataclass(frozen=True)
class LevelRow:
    """Model vs people within one uncertainty level (5 contexts)."""

    uncertainty: str  # none / low / high
    n_contexts: int  # contexts at this level
    n_trials: int  # human trials at this level
    mean_jsd_bits: Interval  # mean of the contexts' JSD, with bootstrap interval
    mean_total_variation: float  # mean of the contexts' TV
    pearson: Interval  # r over this level's context x expression cells
    llr_bits_per_trial: float  # pooled over this level's trials


@dataclass(frozen=True)
class HumanComparison:
    """Everything :func:`compare_to_humans` measured; ``.to_json()`` for storage."""

    expressions: tuple[str, ...]  # the E expressions, column order
    contexts: tuple[ContextRow, ...]  # one row per context, table order
    levels: tuple[LevelRow, ...]  # none, low, high (levels present only)
    pearson: Interval  # r over all C x E cells, human proportions vs model probabilities
    spearman: Interval  # rank r over the same cells
    mean_jsd_bits: Interval  # mean over contexts of the per-context JSD
    mean_total_variation: float  # mean over contexts of the per-context TV
    llr_bits_per_trial: float  # pooled over all trials, bits; > 0 beats a uniform speaker
    model_probs: np.ndarray  # (C, E) the model's distributions that were compared
    human_counts: np.ndarray  # (C, E) the human counts they were compared with
    n_resamples: int  # bootstrap resamples behind every interval
    seed: int  # seed of the bootstrap generator
    level: float  # interval coverage, e.g. 0.95
    smoothing: float  # additive smoothing of model probabilities in the log-likelihood

    @property
    def human_probs(self) -> np.ndarray:
        """(C, E) human proportions per context."""
        return self.human_counts / self.human_counts.sum(axis=1, keepdims=True)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types: arrays become nested lists, NaN becomes null."""
        out = dataclasses.asdict(self)
        out["model_probs"] = self.model_probs.tolist()
        out["human_counts"] = self.human_counts.tolist()
        return _nan_to_none(out)


def _nan_to_none(x: Any) -> Any:
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nan_to_none(v) for v in x]
    return x


def _check_model(model_probs: np.ndarray, human: ProductionTable, name: str = "model_probs") -> np.ndarray:
    if not isinstance(human, ProductionTable):
        raise ValueError(f"human must be a ProductionTable, got {type(human).__name__}")
    q = np.asarray(model_probs, dtype=np.float64)
    if q.shape != human.counts.shape:
        raise ValueError(f"{name} must have shape {human.counts.shape} (contexts x expressions), got {q.shape}")
    return probability_rows(name, q)


@dataclass(frozen=True)
class Bootstrap:
    """The resampling behind every interval of a comparison with people; checked on construction.

    The keyword options ``n_resamples``, ``seed`` and ``level`` of
    :func:`compare_to_humans`, :func:`compare_models` and
    :func:`.listener.compare_listener`, checked in this one place. ValueError naming the bad one unless
    n_resamples >= 1, seed an integer and 0 < level < 1.
    """

    n_resamples: int = 1000  # bootstrap resamples behind every interval
    seed: int = 0  # seed of numpy.random.default_rng
    level: float = 0.95  # interval coverage

    def __post_init__(self) -> None:
        if not isinstance(self.n_resamples, (int, np.integer)) or self.n_resamples < 1:
            raise ValueError(f"n_resamples must be a positive integer, got {self.n_resamples!r}")
        if not isinstance(self.seed, (int, np.integer)):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        # Stored as plain Python numbers: they go into the results' JSON.
        object.__setattr__(self, "n_resamples", int(self.n_resamples))
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "level", float(self.level))

    def people(self, n: np.ndarray, p: np.ndarray) -> np.ndarray:
        """(B, R, K) resampled proportions: each of the R rows' ``n[r]`` answers redrawn from its observed
        proportions ``p`` (R, K) (multinomial; people resampled within a row), B = n_resamples."""
        return np.random.default_rng(self.seed).multinomial(n, p, size=(self.n_resamples, len(n))) / n[None, :, None]

    def interval(self, estimate: float, resampled: np.ndarray, *, n: int) -> Interval:
        """The percentile interval at this coverage; ``n``: what was resampled (the small-n rule counts it)."""
        return interval(estimate, resampled, level=self.level, n=n)


def _mode(row: np.ndarray, expressions: tuple[str, ...]) -> str:
    return expressions[int(np.argmax(row))]


def compare_to_humans(
    model_probs: np.ndarray, human: ProductionTable, *, smoothing: float = 1e-3, n_resamples: int = 1000,
    seed: int = 0, level: float = 0.95,
) -> HumanComparison:
    """Compare a model's per-context expression distributions with people's.

    ``model_probs``: (C, E) probabilities, rows summing to 1, in ``human``'s
    context and expression order. Per context: JSD in bits and total
    variation between the human proportions and the model, and the
    multinomial log-likelihood ratio of the human counts, model vs a uniform
    speaker, in bits per trial (model probabilities smoothed additively with
    ``smoothing``, see :func:`smooth`). Over all C*E cells: Pearson and
    Spearman r of human proportions vs model probabilities.

    Intervals are percentile bootstraps over trials: each resample redraws
    every context's ``n`` trials from its observed proportions (multinomial
    resampling of the counts; each person contributes at most one trial per
    context, so this is resampling people within a context), vectorized,
    with ``numpy.random.default_rng(seed)``. ``bootstrap``: the
    :class:`Bootstrap` options ``n_resamples`` (1000), ``seed`` (0) and
    ``level`` (0.95).

    >>> from calibkit.tasks.herbstritt_franke.human import load_simple_production
    >>> h = load_simple_production()
    >>> round(compare_to_humans(h.proportions, h, n_resamples=10).pearson.estimate, 3)
    1.0
    """
    q = _check_model(model_probs, human)
    boot = Bootstrap(n_resamples, seed, level)
    if not smoothing >= 0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing}")
    n, p = human.n, human.proportions
    per_context = _PerContext(jensen_shannon_bits(p, q), total_variation(p, q),
                              log_likelihood_ratio_bits(human.counts, q, smoothing=smoothing))
    boot_p = boot.people(n, p)  # (B, C, E)
    boot_jsd = jensen_shannon_bits(boot_p, q[None])  # (B, C)
    boot_r = pearson_rows(boot_p.reshape(boot.n_resamples, -1), q.reshape(1, -1))
    # Ranks treat probabilities equal to 12 decimals as ties: the model's exact ties (symmetric
    # states) come out of float arithmetic a few ulps apart, differently on different CPUs.
    q_ranks = rankdata(np.round(q.ravel(), 12))
    boot_rho = pearson_rows(rankdata(boot_p.reshape(boot.n_resamples, -1), axis=1), q_ranks[None])
    trials = int(n.sum())  # what is resampled: people's trials (the small-n rule counts them)
    return HumanComparison(
        expressions=human.expressions,
        contexts=_context_rows(human, q, per_context),
        levels=_level_rows(human, q, per_context, boot_p, boot_jsd, boot=boot),
        pearson=boot.interval(pearson_rows(p.ravel(), q.ravel()), boot_r, n=trials),
        spearman=boot.interval(pearson_rows(rankdata(p.ravel()), q_ranks), boot_rho, n=trials),
        mean_jsd_bits=boot.interval(per_context.jsd.mean(), boot_jsd.mean(axis=1), n=trials),
        mean_total_variation=float(per_context.tv.mean()),
        llr_bits_per_trial=float(per_context.llr.sum() / n.sum()),
        model_probs=read_only(q, np.float64),
        human_counts=human.counts,
        n_resamples=boot.n_resamples,
        seed=boot.seed,
        level=boot.level,
        smoothing=float(smoothing),
    )


@dataclass(frozen=True)
class _PerContext:
    """Per-context statistics of one comparison, each (C,)."""

    jsd: np.ndarray  # Jensen-Shannon divergence, bits
    tv: np.ndarray  # total variation
    llr: np.ndarray  # log-likelihood ratio of the context's counts, model vs uniform, bits


def _context_rows(human: ProductionTable, q: np.ndarray, stats: _PerContext) -> tuple[ContextRow, ...]:
    levels = human.uncertainty
    return tuple(
        ContextRow(
            access=int(a), observation=int(o), uncertainty=levels[i], n=int(human.n[i]),
            jsd_bits=float(stats.jsd[i]), total_variation=float(stats.tv[i]),
            llr_bits_per_trial=float(stats.llr[i] / human.n[i]),
            human_mode=_mode(human.counts[i], human.expressions), model_mode=_mode(q[i], human.expressions),
        )
        for i, (a, o) in enumerate(human.contexts)
    )


def _level_rows(human: ProductionTable, q: np.ndarray, stats: _PerContext, boot_p: np.ndarray,
                boot_jsd: np.ndarray, *, boot: Bootstrap) -> tuple[LevelRow, ...]:
    """The comparison within each uncertainty level present, on the same resamples."""
    levels, n, p, b = np.array(human.uncertainty), human.n, human.proportions, boot_p.shape[0]
    rows = []
    for uncertainty in UNCERTAINTY_LEVELS:
        sel = levels == uncertainty
        if not sel.any():
            continue
        rows.append(LevelRow(
            uncertainty=uncertainty,
            n_contexts=int(sel.sum()),
            n_trials=int(n[sel].sum()),
            mean_jsd_bits=boot.interval(stats.jsd[sel].mean(), boot_jsd[:, sel].mean(axis=1), n=int(n[sel].sum())),
            mean_total_variation=float(stats.tv[sel].mean()),
            pearson=boot.interval(pearson_rows(p[sel].ravel(), q[sel].ravel()),
                                  pearson_rows(boot_p[:, sel].reshape(b, -1), q[sel].reshape(1, -1)),
                                  n=int(n[sel].sum())),
            llr_bits_per_trial=float(stats.llr[sel].sum() / n[sel].sum()),
        ))
    return tuple(rows)


@dataclass(frozen=True)
class ModelDifference:
    """Which of two models is closer to people (:func:`compare_models`)."""

    names: tuple[str, str]  # labels of model a and model b
    mean_jsd_bits: PairedDifference  # mean JSD (bits), a - b < 0: a is closer
    pearson: PairedDifference  # Pearson r, a - b > 0: a is closer
    n_resamples: int  # bootstrap resamples (of contexts), and random swaps of the permutation test
    seed: int  # seed of the bootstrap generator
    level: float  # interval coverage

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types, NaN as null."""
        return _nan_to_none(dataclasses.asdict(self))


def mean_jsd_bits(human_p: np.ndarray, model_q: np.ndarray) -> float:
    """Mean over contexts of the Jensen-Shannon divergence (bits) between people's and a model's (C, E) rows.

    Example:
        >>> mean_jsd_bits(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
        1.0
    """
    return float(jensen_shannon_bits(human_p, model_q).mean())


def cell_pearson(human_p: np.ndarray, model_q: np.ndarray) -> float:
    """Pearson r over all context x expression cells: the authors' fit statistic.

    Example:
        >>> round(cell_pearson(np.array([[0.2, 0.8], [0.6, 0.4]]), np.array([[0.35, 0.65], [0.55, 0.45]])), 6)
        1.0
    """
    return float(pearson_rows(np.asarray(human_p).ravel(), np.asarray(model_q).ravel()))


def compare_models(
    model_a: np.ndarray,
    model_b: np.ndarray,
    human: ProductionTable,
    *,
    names: tuple[str, str] = ("a", "b"),
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> ModelDifference:
    """Paired over contexts: is model a or model b closer to people?

    Both models are (C, E) probability tables for ``human``'s contexts. The
    mean per-context JSD (bits, :func:`mean_jsd_bits`) and the Pearson r over
    the cells (:func:`cell_pearson`) of a minus b, each by
    :func:`calibkit.stats.paired.paired_test`, the test every calibkit
    comparison uses: the paired-bootstrap percentile interval (C contexts
    drawn with replacement, the same draw for both models; the resamples of
    :func:`calibkit.stats.bootstrap.resample_indices`) and the p-value of the
    paired permutation test (each context's two tables swapped at random).
    The small-n rule counts contexts: the 15 urn contexts are fewer than
    :data:`calibkit.stats.bootstrap.MIN_ITEMS`, so a comparison on them gives
    the differences with the note and no interval or p-value. ``bootstrap``:
    the :class:`Bootstrap` options, as for :func:`compare_to_humans`.

    >>> from calibkit.tasks.herbstritt_franke.human import load_simple_production
    >>> h = load_simple_production()
    >>> d = compare_models(h.proportions, np.full((15, 5), 0.2), h, n_resamples=200)
    >>> d.mean_jsd_bits.difference < 0, d.mean_jsd_bits.note
    (True, 'n too small for an interval (n=15 < 20)')
    """
    qa = _check_model(model_a, human, "model_a")
    qb = _check_model(model_b, human, "model_b")
    options = dataclasses.asdict(Bootstrap(n_resamples, seed, level))
    if len(names) != 2:
        raise ValueError(f"names must hold two labels, got {names!r}")
    p = human.proportions
    return ModelDifference(
        names=(str(names[0]), str(names[1])),
        mean_jsd_bits=paired_test(mean_jsd_bits, (p, qa), (p, qb), **options),
        pearson=paired_test(cell_pearson, (p, qa), (p, qb), **options),
        **options,
    )
