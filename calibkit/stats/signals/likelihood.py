"""Likelihood signals of the greedy answer: pure numpy on one item's token arrays.

Each function takes the greedy answer's per-token natural-log probabilities
(terminator excluded) and returns one float. The sign each one follows
(higher = more confident, or higher = more uncertain) is stated in its
docstring and in the signal table (:mod:`.table`).
"""
from __future__ import annotations

import numpy as np

from .inputs import log_prob_array, token_array


def max_sequence_probability(greedy_log_probs: object) -> float:
    """p(y | x) = exp(sum_t log p(y_t | y_<t, x)); higher = more confident; a probability.

    LM-Polygraph's MaximumSequenceProbability returns -sum_t log p (its log,
    negated). An empty answer has probability 1 (the empty product).

    >>> round(max_sequence_probability([np.log(0.5), np.log(0.5)]), 6)
    0.25
    """
    return float(np.exp(log_prob_array("greedy_log_probs", greedy_log_probs).sum()))


def mean_nll(greedy_log_probs: object) -> float:
    """Mean negative log-likelihood per token, -mean_t log p(y_t | ...), in nats; higher = more uncertain.

    This is what LM-Polygraph's estimator named ``Perplexity`` returns (the
    log of the perplexity). NaN for an empty answer.

    >>> round(mean_nll([np.log(0.5), np.log(0.25)]), 6)  # 1.5 ln 2
    1.039721
    """
    lp = log_prob_array("greedy_log_probs", greedy_log_probs)
    return float(-lp.mean()) if lp.size else float("nan")


def perplexity(greedy_log_probs: object) -> float:
    """exp(mean NLL): the perplexity of the greedy answer, >= 1; higher = more uncertain.

    >>> round(perplexity([np.log(0.5), np.log(0.125)]), 6)
    4.0
    """
    return float(np.exp(mean_nll(greedy_log_probs)))


def mean_token_entropy(greedy_entropies: object) -> float:
    """Mean over the answer's tokens of the next-token entropy (nats); higher = more uncertain.

    NaN for an empty answer.

    >>> mean_token_entropy([0.0, 1.0])
    0.5
    """
    h = token_array("greedy_entropies", greedy_entropies)
    if np.any(h < -1e-9):
        raise ValueError("greedy_entropies must be >= 0 (entropies in nats)")
    return float(h.mean()) if h.size else float("nan")


def token_nll(greedy_log_probs: object) -> np.ndarray:
    """(T,) -log p(y_t | y_<t, x) per token: LM-Polygraph's token-level MaximumTokenProbability.

    LM-Polygraph drops the last token (its terminator); calibkit's arrays
    already exclude the terminator, so nothing is dropped here.
    """
    return -log_prob_array("greedy_log_probs", greedy_log_probs)


def max_token_probability(greedy_log_probs: object) -> float:
    """min_t p(y_t | y_<t, x): the chosen-token probability of the answer's weakest token; higher = more confident.

    LM-Polygraph's MaximumTokenProbability is token-level (one -log p per
    token, :func:`token_nll`); an item needs one number, so calibkit reduces
    it by its worst token (max of the token NLLs, reported as a probability).
    An empty answer gives 1.0.

    >>> round(max_token_probability([np.log(0.9), np.log(0.4)]), 6)
    0.4
    """
    nll = token_nll(greedy_log_probs)
    return float(np.exp(-nll.max())) if nll.size else 1.0


def mean_pmi(greedy_log_probs: object, unconditional_log_probs: object) -> float:
    """Mean PMI per token, mean_t [log p(y_t | y_<t, x) - log p(y_t | y_<t)]; higher = more confident.

    Takayama & Arase (2019)'s PMI of the answer with the question, averaged
    over tokens as LM-Polygraph's MeanPointwiseMutualInformation does (which
    returns it negated). The caller supplies the unconditional log-probs of
    every token, the first included (given only the BOS token); LM-Polygraph
    sets the first token's unconditional term to 0, which a caller reproduces
    by passing 0 there. NaN for an empty answer.

    >>> round(mean_pmi([np.log(0.5), np.log(0.5)], [np.log(0.25), np.log(0.5)]), 6)  # ln(2) / 2
    0.346574
    """
    lp = log_prob_array("greedy_log_probs", greedy_log_probs)
    ulp = log_prob_array("unconditional_log_probs", unconditional_log_probs)
    if ulp.shape != lp.shape:
        raise ValueError(f"unconditional_log_probs has {ulp.size} tokens but greedy_log_probs has {lp.size}")
    return float((lp - ulp).mean()) if lp.size else float("nan")
