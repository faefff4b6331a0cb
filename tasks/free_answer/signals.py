"""The free-answer signal table of a run: which signals (``--signals``), their values per question, their quality.

Every signal of :data:`calibkit.stats.signals.SIGNALS` whose inputs a run
stores (:mod:`calibkit.tasks.free_answer.signal_inputs`) is computed per
question from the rows (:func:`calibkit.stats.signals.compute_signals`) and
judged against the greedy answer's correctness, beside the run's own
P(True), sequence likelihood and sample agreement, by the same metrics:
AUROC, AURC, PRR (:func:`calibkit.stats.signals.metrics.prr`), Spearman
with correctness and, for probabilities, the two ECEs; each with a
percentile-bootstrap interval and the small-n rule
(:func:`calibkit.stats.bootstrap.bootstrap_ci`). No model, no torch.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from calibkit.errors import UserError
from calibkit.stats import bootstrap
from calibkit.stats.divergences import spearman_r
from calibkit.stats.signals import NLI_SIGNALS
from calibkit.stats.signals import SIGNALS as TABLE
from calibkit.stats.signals import as_confidence, compute_signals
from calibkit.tasks.free_answer.signal_inputs import UNCONDITIONAL, has_signal_fields, item_inputs

#: signals a run computes only when --signals names them (they cost a forward pass more), with what they cost
ON_REQUEST = {
    "mean_pmi": "needs the greedy answer scored after the start token alone (the unconditional log-probs, one "
                "extra forward per question): name it in --signals",
}
#: signals a run computes only with --nli-model (all of them, then), with how to get them
BY_NLI_MODEL = {name: "asked with --nli-model NAME (an NLI model clusters the samples by bidirectional entailment, "
                      "Kuhn et al. 2023), e.g. microsoft/deberta-large-mnli" for name in NLI_SIGNALS}
#: signals a run option asks for, not --signals, with how (the run's own signals: .study.SIGNALS)
BY_OPTION = {
    "verbal_confidence": "asked with --verbal one-stage|two-stage (the model states a probability, Tian et al. "
                         "2023; parsed by calibkit.stats.signals.verbal)",
}
#: the signals a run computes, in table order; ``--signals all`` selects those not ON_REQUEST
COMPUTED = tuple(TABLE)
DEFAULT = tuple(name for name in COMPUTED if name not in ON_REQUEST and name not in BY_NLI_MODEL)
#: the greedy-answer signals: an empty greedy answer makes no claim, so it gets the least confidence
_GREEDY_INPUTS = ("greedy_log_probs", "greedy_entropies", "unconditional_log_probs")
ECES = {"ece_equal_mass": "ece_quantile", "ece_equal_width": "ece"}


def parse_signals(text: str) -> tuple[str, ...] | None:
    """``--signals``: ``"all"`` (None: :data:`DEFAULT`) or a comma list of names, in table order; ``all`` in a
    list stands for :data:`DEFAULT` (``all,mean_pmi``: every signal).

    Raises:
        UserError: an unknown name, or one a run cannot compute (with how to get it).

    Example:
        >>> parse_signals("all") is None, parse_signals("perplexity,max_sequence_probability")
        (True, ('max_sequence_probability', 'perplexity'))
    """
    names = [n.strip() for n in str(text).split(",") if n.strip()]
    if names == ["all"]:
        return None
    if "all" in names:
        names = [*DEFAULT, *(n for n in names if n != "all")]
    for name in names:
        if name in BY_OPTION or name in BY_NLI_MODEL:
            how = BY_OPTION.get(name) or BY_NLI_MODEL[name]
            raise UserError(f"--signals {name}: {how}, not --signals; drop it from --signals")
        if name not in TABLE:
            raise UserError(f"--signals: unknown signal {name!r}; choose from all, {', '.join(COMPUTED)}")
    if not names:
        raise UserError("--signals is empty; use all or a comma list of signal names")
    return tuple(n for n in COMPUTED if n in names)


def selected(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The signals a run's config.json selects (:data:`DEFAULT` when it names none), and with an NLI model every
    NLI signal (the run stores what they all read)."""
    names = DEFAULT if config.get("signals") is None else config["signals"]
    return tuple(n for n in COMPUTED if n in names or (config.get("nli_model") and n in BY_NLI_MODEL))


def not_computed(names: Sequence[str], *, asked: Sequence[str] = ()) -> dict[str, str]:
    """The signals a run with this selection leaves out, each with how to get it (``asked``: the
    :data:`BY_OPTION` signals its options asked for)."""
    return {**{n: how for n, how in ON_REQUEST.items() if n not in names},
            **{n: how for n, how in BY_OPTION.items() if n not in asked},
            **{n: how for n, how in BY_NLI_MODEL.items() if n not in names}}


def rank01(x: np.ndarray) -> np.ndarray:
    """Dense ranks scaled to [0, 1]: same order and ties, so the same AUROC, AURC, PRR and Spearman."""
    values, inverse = np.unique(x, return_inverse=True)
    return inverse.astype(np.float64) / max(1, values.size - 1)


def confidences(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, np.ndarray]:
    """``{name: (n,) confidence}`` of rows sorted by id: higher = more confident, in [0, 1].

    A probability signal keeps its value (an empty greedy answer: 0, as
    the run's seq_prob); any other is oriented (:func:`calibkit.stats.signals.as_confidence`)
    and turned into dense ranks (an empty greedy answer, or a value the
    signal leaves undefined, ranks lowest). Empty when the rows do not keep
    the signals' inputs (runs made before they were stored).
    """
    rows = sorted(rows, key=lambda r: r["id"])
    if not names or not all(has_signal_fields(r) for r in rows):
        return {}
    if "mean_pmi" in names and not all(UNCONDITIONAL in r for r in rows):
        names = [n for n in names if n != "mean_pmi"]  # a run resumed under another selection: left out, not invented
    values = [compute_signals(item_inputs(r), names) for r in rows]
    out = {}
    for name in names:
        signal = TABLE[name]
        conf = as_confidence(signal, [v[name] for v in values])
        empty = np.array([bool(r.get("empty_answer")) and bool(set(signal.inputs) & set(_GREEDY_INPUTS))
                          for r in rows])
        bad = empty | ~np.isfinite(conf)
        if signal.probability:
            out[name] = np.clip(np.where(bad, 0.0, conf), 0.0, 1.0)
        else:
            out[name] = rank01(np.where(bad, -np.inf, conf))
    return out


def spearman(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Spearman of a confidence with 0/1 correctness; NaN when either is constant or there is one question."""
    return spearman_r(confidence, correct) if len(confidence) >= 2 else float("nan")


def signal_quality(confidence: np.ndarray, correct: np.ndarray, *, probability: bool, n_bins: int = 10,
                   n_resamples: int = 1000, seed: int = 0) -> dict[str, bootstrap.Interval]:
    """AUROC, AURC, PRR, Spearman (and for a probability the two ECEs) of one signal, with bootstrap CIs.

    All from the same resamples (same ``seed``); below the small-n rule the
    estimates alone, with its note; AUROC, PRR and Spearman are NaN when every
    answer is right or every one is wrong.
    """
    c = np.asarray(confidence, dtype=np.float64)
    y = np.asarray(correct, dtype=bool)
    kw = dict(n_resamples=n_resamples, seed=seed)
    out = {"auroc": bootstrap.bootstrap_ci("auroc", c, y, **kw), "aurc": bootstrap.bootstrap_ci("aurc", c, y, **kw),
           "prr": bootstrap.bootstrap_ci("prr", c, y, **kw),
           "spearman": bootstrap.bootstrap_ci(spearman, c, y.astype(np.float64), **kw)}
    if probability:
        out.update({key: bootstrap.bootstrap_ci(metric, c, y, n_bins=n_bins, **kw) for key, metric in ECES.items()})
    return out


#: the run's own signals that are not Kadavath et al.'s: their sources
RUN_SOURCES = {"verbal_confidence": "Tian et al. 2023 (Verb. 1S / 2S top-1, Table 6 prompts)"}


def signal_entry(name: str, label: str) -> dict[str, Any]:
    """The description of a table row: label, sign, whether a probability, source."""
    if name in TABLE:
        s = TABLE[name]
        return {"label": label, "sign": s.sign, "probability": s.probability, "source": s.source}
    return {"label": label, "sign": "confidence", "probability": label != "sequence log-likelihood (total)",
            "source": RUN_SOURCES.get(name, "calibkit run (Kadavath et al. 2022)")}
