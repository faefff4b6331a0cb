"""What a free-answer row keeps for the confidence signals, and how a row becomes their inputs.

A run stores, per question (:func:`signal_fields`; floats rounded to
:data:`DIGITS` decimals, as other rows are):

* ``greedy_token_logprobs`` ``(T,)``: untempered ln p of each kept greedy
  token (the terminator excluded); ``greedy_entropies`` ``(T,)``: the
  entropy (nats) of the untempered next-token distribution at each;
  ``greedy_terminator_logprob``: ln p of the EOS / stop token that ended
  the answer (LM-Polygraph counts it; calibkit's signals do not), ``None``
  when cut by length;
* ``sample_token_logprobs`` ``N x (T_i,)`` and
  ``sample_terminator_logprobs`` ``(N,)``: the same for each sample;
* ``sample_clusters`` ``(N,)``: a cluster id per sample, by the source's
  matcher (:func:`answer_clusters`: discrete semantic sets; the greedy
  answer is not a sample);
* only in runs that select ``mean_pmi``: ``greedy_unconditional_logprobs``
  ``(T,)``, each greedy token's ln p after the start token alone;
* only in runs with an NLI model: ``sample_clusters_nli``,
  ``sample_nli_entail`` and ``sample_nli_contra`` (:mod:`.nli_fields`).

:func:`item_inputs` reads them back into
:class:`calibkit.stats.signals.ItemInputs` (no model, no torch).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from calibkit.stats.signals import ItemInputs

from .answers import Matcher

if TYPE_CHECKING:
    from calibkit.engine.generation import ContextGenerations, Generation

DIGITS = 5  # stored floats are rounded to this many decimals (as rhymes rows are)
#: the row field of the unconditional log-probs (PMI), written only when a run selects mean_pmi
UNCONDITIONAL = "greedy_unconditional_logprobs"
#: the row fields :func:`signal_fields` writes
FIELDS = ("greedy_token_logprobs", "greedy_entropies", "greedy_terminator_logprob", "sample_token_logprobs",
          "sample_terminator_logprobs", "sample_clusters")


def _rounded(values: Sequence[float]) -> list[float]:
    return [round(float(v), DIGITS) for v in values]


def _term(g: Generation) -> float | None:
    return None if g.terminator_logprob is None else round(float(g.terminator_logprob), DIGITS)


def same_answer(a: str, b: str, matcher: Matcher) -> bool:
    """Whether the matcher calls two cleaned answers the same: ``a`` judged right with ``b`` as the only alias.

    Two empty answers are the same (no answer); an empty and a non-empty one are not.

    Example:
        >>> from .answers import MATCHERS
        >>> same_answer("Paris.", "the paris", MATCHERS["triviaqa"]), same_answer("Paris", "Lyon", MATCHERS["triviaqa"])
        (True, False)
    """
    if not a.strip() or not b.strip():
        return not a.strip() and not b.strip()
    return bool(matcher.match(a, [b]).exact)


def answer_clusters(answers: Sequence[str], matcher: Matcher) -> tuple[int, ...]:
    """A cluster id per answer, 0..K-1 in order of first appearance: discrete semantic sets by the matcher.

    Each answer joins the first cluster whose first answer it matches
    (:func:`same_answer`), else opens a new one; for the equality matchers
    (TriviaQA's and NQ-open's normalised exact match) that is the partition
    into equal normalised answers, the same rule as
    :func:`~.answers.sample_agreement`.

    Example:
        >>> from .answers import MATCHERS
        >>> answer_clusters(["Paris", "Lyon", "paris.", "", "Lyon", ""], MATCHERS["triviaqa"])
        (0, 1, 0, 2, 1, 2)
    """
    heads: list[str] = []
    out = []
    for a in answers:
        k = next((i for i, h in enumerate(heads) if same_answer(a, h, matcher)), None)
        if k is None:
            heads.append(a)
            k = len(heads) - 1
        out.append(k)
    return tuple(out)


def signal_fields(gens: ContextGenerations, sample_answers: Sequence[str], matcher: Matcher, *,
                  unconditional: Sequence[float] | None = None) -> dict[str, Any]:
    """The row fields of one question that the signals read (see the module docstring)."""
    g = gens.greedy
    return {
        **({UNCONDITIONAL: _rounded(unconditional)} if unconditional is not None else {}),
        "greedy_token_logprobs": _rounded(g.logprobs),
        "greedy_entropies": _rounded(g.entropies),
        "greedy_terminator_logprob": _term(g),
        "sample_token_logprobs": [_rounded(s.logprobs) for s in gens.samples],
        "sample_terminator_logprobs": [_term(s) for s in gens.samples],
        "sample_clusters": list(answer_clusters(sample_answers, matcher)),
    }


def has_signal_fields(row: Mapping[str, Any]) -> bool:
    """Whether a row keeps the signals' inputs (rows written before they were stored do not)."""
    return all(f in row for f in FIELDS)


def item_inputs(row: Mapping[str, Any], *, terminator: bool = False) -> ItemInputs:
    """A stored row as the signals' inputs (:class:`calibkit.stats.signals.ItemInputs`).

    ``terminator=True`` appends each answer's terminator log-prob to its
    token log-probs where there is one (LM-Polygraph's convention; the
    entropies have none to append). Samples are the raw sampled texts; the
    similarity between samples is 1 where the matcher put two in one
    cluster, else 0 (the discrete reading; an NLI model's clusters and
    entailment probabilities are fields of their own, ``nli_*``). No
    samples: the sample fields are None.
    The unconditional log-probs (PMI) are read where the row has them, and
    never with ``terminator=True`` (there is no unconditional terminator);
    the NLI clusters and matrices (:mod:`.nli_fields`) where the row has them.
    """
    def tokens(lp: Sequence[float], term: float | None) -> np.ndarray:
        return np.asarray([*lp, term] if terminator and term is not None else lp, dtype=np.float64)

    samples = list(row["sample_token_logprobs"])
    clusters = np.asarray(row["sample_clusters"], dtype=np.int64)
    has = bool(samples)
    return ItemInputs(
        greedy_log_probs=tokens(row["greedy_token_logprobs"], row["greedy_terminator_logprob"]),
        greedy_entropies=np.asarray(row["greedy_entropies"], dtype=np.float64),
        unconditional_log_probs=None if terminator or UNCONDITIONAL not in row
        else np.asarray(row[UNCONDITIONAL], dtype=np.float64),
        sample_log_probs=tuple(tokens(s, t) for s, t in zip(samples, row["sample_terminator_logprobs"]))
        if has else None,
        sample_texts=tuple(row.get("samples_raw", ())) if has else None,
        cluster_ids=clusters if has else None,
        similarity=(clusters[:, None] == clusters[None, :]).astype(np.float64) if has else None,
        **nli_inputs(row),
    )


def nli_inputs(row: Mapping[str, Any]) -> dict[str, np.ndarray | None]:
    """The row's NLI fields as ItemInputs keywords; None where the row has none (no NLI model, or no samples)."""
    has = bool(row.get("sample_clusters_nli"))
    return {
        "nli_cluster_ids": np.asarray(row["sample_clusters_nli"], dtype=np.int64) if has else None,
        "nli_entail": np.asarray(row["sample_nli_entail"], dtype=np.float64) if has else None,
        "nli_contra": np.asarray(row["sample_nli_contra"], dtype=np.float64) if has else None,
    }
