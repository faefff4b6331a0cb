"""The model as speaker: a run's scores -> P(expression | context) tables, and their views against people.

Per expression set x reading, a (C, E) table of P(expression | context),
one row per urn context, averaged over the paraphrase templates (and, for
forced choice, over the option orders), with the per-template tables kept
for the prompt-sensitivity spread (:func:`template_spread`). Each table is
compared with the human production table(s) of its set
(:func:`comparison_views`: the complex set both unmerged and in the
authors' merged 12-expression view), beside the reference speakers of
:func:`baselines` (the authors' RSA model and uniform).

Sentence scores are turned into a distribution by renormalizing over the
expression set. Two variants: ``"sum"`` (the default) uses log P(sentence |
context), the sum over the sentence's tokens; ``"mean"`` uses the per-token
mean log-prob. The sum is the default because it is the model's probability
of saying that sentence, which is what the human proportions estimate; the
mean is not the probability of anything, but it removes the penalty longer
sentences pay (in the complex set "It is probably unlikely that ..." has
more tokens than "It is likely that ..."), so it is reported beside it.
Forced choice reads the letters' probabilities, renormalized over the
letters, mapped back to expressions and averaged over the orders.

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
from calibkit.stats.kernels import softmax

from . import human, rsa
from .design import COMPLEX_EXPRESSIONS, CONTEXTS, EXPRESSION_SETS, MERGED_COMPLEX_EXPRESSIONS, READINGS, TASK
from .design import speaker_expressions
from .human import ProductionTable, merge_complex
from .items import StudyError, select_items, template_order

NORMALIZATIONS = ("sum", "mean")  # sentence reading: summed or per-token mean log-prob
DEFAULT_NORMALIZATION = "sum"  # log P(sentence | context): see the module docstring
LETTER_READING = "letter"  # the normalization label of the forced-choice reading
TABLES = ("simple", "complex_merged", "complex")  # human production views a model is compared with, report order


@dataclass(frozen=True)
class SpeakerDistributions:
    """A model's P(expression | context) for one expression set and reading.

    ``per_template[t, c, e]``: template ``t``'s distribution in context ``c``
    (rows sum to 1); :attr:`probs` is their mean over templates.
    """

    expression_set: str  # "simple" or "complex"
    reading: str  # "sentence" or "choice"
    normalization: str  # "sum" or "mean" (sentence), "letter" (choice)
    expressions: tuple[str, ...]  # the E expressions, column order (.human tables' order)
    contexts: np.ndarray  # (C, 2) int: (access, observation), .design.CONTEXTS order
    templates: tuple[str, ...]  # the T templates, first axis of per_template
    per_template: np.ndarray  # (T, C, E) float64: distributions per template, rows sum to 1
    option_mass: np.ndarray  # (T, C) float64: raw probability on the options (mean over orders), in [0, 1]
    n_orders: int  # option orders averaged per template and context (1 for sentences)

    @property
    def probs(self) -> np.ndarray:
        """(C, E) mean over templates; rows sum to 1."""
        return self.per_template.mean(axis=0)

    @property
    def key(self) -> str:
        """``"<set>/<reading>/<normalization>"``, e.g. ``"simple/sentence/sum"``."""
        return f"{self.expression_set}/{self.reading}/{self.normalization}"

    def merged(self) -> SpeakerDistributions:
        """The complex set in the authors' 12-expression view ("probable" counted as "likely")."""
        if self.expressions != COMPLEX_EXPRESSIONS:
            raise StudyError("merged() needs the 16 complex expressions")
        return dataclasses.replace(self, expressions=MERGED_COMPLEX_EXPRESSIONS,
                                   per_template=merge_complex(self.per_template))


def speaker_distributions(
    items: Sequence[ScoredItem], *, expression_set: str, reading: str, normalization: str = DEFAULT_NORMALIZATION
) -> SpeakerDistributions:
    """The model's (T, C, E) expression distributions from a run's scored items.

    ``reading="sentence"``: per item, softmax over the options of the summed
    log-probs (``normalization="sum"``) or of the per-token means
    (``"mean"``; needs ``meta["option_tokens"]``, which
    :func:`run_herbstritt_franke` records). ``reading="choice"``: per item,
    the letter probabilities renormalized over the letters and moved back to
    expression order with ``meta["order"]``, then averaged over orders.
    Every template present must cover all 15 contexts (and the same number
    of orders each), else :class:`StudyError` names what is missing.

    Example (hand-made items, one template, every context alike)::

        >>> its = [ScoredItem(id=f"x{a}{o}", task=TASK, options=(" a", " b", " c", " d", " e"),
        ...                   logprobs=(0.0, 0.0, 0.0, 0.0, math.log(4.0)),
        ...                   meta={"set": "simple", "reading": "sentence", "template": "t1",
        ...                         "access": a, "observation": o}) for a, o in CONTEXTS]
        >>> speaker_distributions(its, expression_set="simple", reading="sentence").probs[0].round(3).tolist()
        [0.125, 0.125, 0.125, 0.125, 0.5]
    """
    expressions = speaker_expressions(expression_set)
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {READINGS}, got {reading!r}")
    if reading == "sentence" and normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    if reading == "choice":
        normalization = LETTER_READING
    chosen = select_items(items, expression_set, reading)
    if not chosen:
        raise StudyError(f"no {expression_set}/{reading} items in this run")
    templates = template_order(it.meta["template"] for it in chosen)
    where = {c: i for i, c in enumerate(CONTEXTS)}
    E, C, T = len(expressions), len(CONTEXTS), len(templates)
    sums = np.zeros((T, C, E))
    mass = np.zeros((T, C))
    counts = np.zeros((T, C), dtype=np.int64)
    for it in chosen:
        if len(it.options) != E:
            raise StudyError(f"item {it.id!r} has {len(it.options)} options; the {expression_set} set has {E}")
        t = templates.index(it.meta["template"])
        c = where.get((int(it.meta["access"]), int(it.meta["observation"])))
        if c is None:
            raise StudyError(f"item {it.id!r}: context ({it.meta['access']}, {it.meta['observation']}) "
                             "is not one of the 15 production contexts")
        p = _item_distribution(it, normalization=normalization, n_expressions=E)
        sums[t, c] += p
        mass[t, c] += it.option_mass
        counts[t, c] += 1
    missing = [(templates[t], CONTEXTS[c]) for t in range(T) for c in range(C) if counts[t, c] == 0]
    if missing:
        shown = ", ".join(f"{t} a{a}o{o}" for t, (a, o) in missing[:5])
        raise StudyError(f"{expression_set}/{reading}: {len(missing)} template x context cells have no item "
                         f"(e.g. {shown}); finish the run first")
    if counts.min() != counts.max():
        raise StudyError(f"{expression_set}/{reading}: unequal numbers of option orders per cell "
                         f"({counts.min()}..{counts.max()}); finish the run first")
    return SpeakerDistributions(
        expression_set=expression_set,
        reading=reading,
        normalization=normalization,
        expressions=expressions,
        contexts=np.array(CONTEXTS, dtype=np.int64),
        templates=templates,
        per_template=sums / counts[..., None],
        option_mass=mass / counts,
        n_orders=int(counts[0, 0]),
    )


def _item_distribution(it: ScoredItem, *, normalization: str, n_expressions: int) -> np.ndarray:
    """(E,) one item's distribution over the expressions, in the set's order.

    Sentence reading: softmax of the summed (``"sum"``) or per-token mean
    (``"mean"``) option log-probs. Forced choice (``LETTER_READING``): the
    letters' probabilities moved back to expression order with ``meta["order"]``.
    """
    lp = np.asarray(it.logprobs, dtype=np.float64)
    if normalization == "mean":
        if "option_tokens" not in it.meta:
            raise StudyError(f"item {it.id!r} has no meta['option_tokens']; the per-token mean "
                             "needs runs made by run_herbstritt_franke")
        lp = lp / np.asarray(it.meta["option_tokens"], dtype=np.float64)
    p = softmax(lp)
    if normalization != LETTER_READING:
        return p
    order = np.asarray(it.meta["order"], dtype=np.int64)
    if sorted(order.tolist()) != list(range(n_expressions)):
        raise StudyError(f"item {it.id!r}: meta['order'] is not a permutation of 0..{n_expressions - 1}")
    back = np.empty(n_expressions)
    back[order] = p  # letter j showed expression order[j]
    return back


def position_profile(items: Sequence[ScoredItem], *, expression_set: str) -> np.ndarray:
    """(E,) mean renormalized probability per letter position in the forced-choice items.

    A model without position bias, averaged over balanced orders, gives the
    mean probability of each expression, not a slope towards "A".
    """
    chosen = select_items(items, expression_set, "choice")
    if not chosen:
        raise StudyError(f"no {expression_set}/choice items in this run")
    return np.mean([it.probs() for it in chosen], axis=0)


def speaker_analyses(items: Sequence[ScoredItem]) -> list[SpeakerDistributions]:
    """Every speaker distribution a run's items support, in set / reading / normalization order.

    Incomplete parts (an interrupted run) are left out; :func:`.study.analyze_study` lists them.
    """
    return [d for d in speaker_attempts(items) if isinstance(d, SpeakerDistributions)]


def speaker_attempts(items: Sequence[ScoredItem]) -> list[SpeakerDistributions | str]:
    """Per set x reading x normalization the run holds: its distributions, or why they are incomplete."""
    present = {(it.meta.get("set"), it.meta.get("reading")) for it in items if it.task == TASK}
    out: list[SpeakerDistributions | str] = []
    for s in EXPRESSION_SETS:
        for reading in READINGS:
            if (s, reading) not in present:
                continue
            for norm in (NORMALIZATIONS if reading == "sentence" else (LETTER_READING,)):
                try:
                    out.append(speaker_distributions(items, expression_set=s, reading=reading,
                                                     normalization=norm if reading == "sentence" else "sum"))
                except StudyError as exc:
                    out.append(f"{s}/{reading}/{norm}: {exc}")
    return out


# --------------------------------------------------------------------------- against people


def human_production(table: str) -> ProductionTable:
    """The human production table for a view: "simple", "complex" (16) or "complex_merged" (12)."""
    if table == "simple":
        return human.load_simple_production()
    if table == "complex":
        return human.load_complex_production()
    if table == "complex_merged":
        return human.merged_complex_production()
    raise ValueError(f"table must be one of {TABLES}, got {table!r}")


def comparison_views(d: SpeakerDistributions) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(human table, (C, E) mean, (T, C, E) per template) pairs to compare."""
    if d.expression_set == "simple":
        return [("simple", d.probs, d.per_template)]
    merged = d.merged()
    return [("complex_merged", merged.probs, merged.per_template), ("complex", d.probs, d.per_template)]


@dataclass(frozen=True)
class TemplateSpread:
    """Prompt sensitivity: each template's own fit to people, and how far templates disagree."""

    templates: tuple[str, ...]  # the T templates
    pearson: np.ndarray  # (T,) Pearson r of each template's (C, E) table vs people (nan if constant)
    mean_jsd_bits: np.ndarray  # (T,) each template's mean per-context JSD vs people, bits
    between_templates_jsd_bits: float  # mean JSD between two templates' tables (contexts x pairs); nan for T=1

    def to_json(self) -> dict[str, Any]:
        r = self.pearson[np.isfinite(self.pearson)]
        return {
            "templates": list(self.templates),
            "pearson": self.pearson.tolist(),
            "mean_jsd_bits": self.mean_jsd_bits.tolist(),
            "pearson_min": float(r.min()) if r.size else math.nan,
            "pearson_max": float(r.max()) if r.size else math.nan,
            "pearson_sd": float(r.std(ddof=1)) if r.size > 1 else math.nan,
            "between_templates_jsd_bits": self.between_templates_jsd_bits,
        }


def template_spread(per_template: np.ndarray, human_table: ProductionTable,
                    *, templates: Sequence[str] | None = None) -> TemplateSpread:
    """Each template's point r and mean JSD vs people, and the mean JSD between templates.

    ``per_template``: (T, C, E) in ``human_table``'s order. The between-template
    JSD is 0 when the wording does not matter and nan with one template.
    """
    q = np.asarray(per_template, dtype=np.float64)
    if q.ndim != 3 or q.shape[1:] != human_table.counts.shape:
        raise ValueError(f"per_template must have shape (T, {human_table.counts.shape[0]}, "
                         f"{human_table.counts.shape[1]}), got {q.shape}")
    templates = tuple(templates) if templates is not None else tuple(f"t{k + 1}" for k in range(len(q)))
    p = human_table.proportions
    pairs = [(a, b) for a in range(len(q)) for b in range(a + 1, len(q))]
    return TemplateSpread(
        templates=templates,
        pearson=np.array([divergences.pearson_r(p, qt) for qt in q]),
        mean_jsd_bits=np.array([float(divergences.jensen_shannon_bits(p, qt).mean()) for qt in q]),
        between_templates_jsd_bits=float(np.mean([divergences.jensen_shannon_bits(q[a], q[b]).mean() for a, b in pairs]))
        if pairs else math.nan,
    )


def baselines() -> dict[str, dict[str, np.ndarray]]:
    """Reference speakers per human table: the authors' RSA model (published parameters) and uniform."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for table in TABLES:
        shape = human_production(table).counts.shape
        out[table] = {"uniform": np.full(shape, 1.0 / shape[1])}
    out["simple"]["RSA"] = rsa.simple_speaker()
    out["complex_merged"]["RSA"] = rsa.complex_speaker()
    return out
