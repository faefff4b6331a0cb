"""Signals from N sampled answers: sequence entropy, semantic sets and semantic entropy.

Inputs are one item's samples: their token log-probs (ragged, terminator
excluded) and a cluster id per sample. Who clusters is the caller's choice
(the task's answer matcher by default, "discrete" semantic entropy for short
answers; bidirectional entailment with an NLI model otherwise); this module
only counts and weighs the clusters.
"""
from __future__ import annotations

import numpy as np

from .inputs import cluster_array, ragged_log_probs


def _sequence_log_probs(sample_log_probs: object) -> tuple[np.ndarray, np.ndarray]:
    """(N,) summed log-prob of each sample and (N,) its token count."""
    rows = ragged_log_probs("sample_log_probs", sample_log_probs)
    return np.array([r.sum() for r in rows]), np.array([r.size for r in rows])


def mc_sequence_entropy(sample_log_probs: object) -> float:
    """Monte-Carlo sequence entropy -1/N sum_i log p(s_i | x), nats; higher = more uncertain.

    Kuhn et al. (2023)'s "predictive entropy" estimate, as LM-Polygraph's
    MonteCarloSequenceEntropy.

    >>> round(mc_sequence_entropy([[np.log(0.5)], [np.log(0.25), 0.0]]), 6)  # 1.5 ln 2
    1.039721
    """
    seq, _ = _sequence_log_probs(sample_log_probs)
    return float(-seq.mean())


def mc_normalized_sequence_entropy(sample_log_probs: object) -> float:
    """Length-normalised MC entropy -1/N sum_i log p(s_i | x) / len(s_i); higher = more uncertain.

    Kuhn et al. (2023)'s length-normalised predictive entropy, as
    LM-Polygraph's MonteCarloNormalizedSequenceEntropy: samples with no
    tokens are left out of the mean (NaN if all are empty).
    """
    seq, length = _sequence_log_probs(sample_log_probs)
    keep = length > 0
    return float(-(seq[keep] / length[keep]).mean()) if keep.any() else float("nan")


def num_semantic_sets(cluster_ids: object) -> float:
    """Number of distinct clusters among the samples (Lin, Trivedi & Sun 2023); higher = more uncertain.

    >>> num_semantic_sets(["paris", "lyon", "paris"])
    2.0
    """
    return float(cluster_array(cluster_ids).max() + 1)


def discrete_semantic_entropy(cluster_ids: object) -> float:
    """Entropy (nats) of the cluster frequencies, -sum_c (n_c/N) log(n_c/N); higher = more uncertain.

    Farquhar et al. (2024)'s discrete semantic entropy (their code's
    ``cluster_assignment_entropy``); LM-Polygraph's SemanticEntropy with
    ``class_probability_estimation="frequency"`` gives the same number.

    >>> round(discrete_semantic_entropy([0, 0, 1, 1]), 6)  # ln 2
    0.693147
    """
    p = np.bincount(cluster_array(cluster_ids)) / len(np.asarray(cluster_ids))
    return float(-(p * np.log(p)).sum())


def semantic_entropy(sample_log_probs: object, cluster_ids: object) -> float:
    """Kuhn et al. (2023)'s semantic entropy from sample likelihoods, as in LM-Polygraph; higher = more uncertain.

    Each cluster's log-probability is the log of the summed sequence
    probabilities of its samples (not renormalised over the clusters); the
    entropy is the Monte-Carlo average -1/N sum_i log p(C(s_i) | x) over the
    samples (LM-Polygraph's default ``entropy_estimation="mean"``).
    """
    seq, _ = _sequence_log_probs(sample_log_probs)
    ids = cluster_array(cluster_ids, n=seq.size)
    class_lp = np.array([np.logaddexp.reduce(seq[ids == c]) for c in range(ids.max() + 1)])
    return float(-class_lp[ids].mean())


def semantic_entropy_normalized(sample_log_probs: object, cluster_ids: object) -> float:
    """Farquhar et al. (2024)'s likelihood semantic entropy: -sum_c p_c log p_c; higher = more uncertain.

    As their released code: each sample weighs by its mean token log-prob
    (length-normalised), weights are normalised over the N samples, a
    cluster's probability p_c is the sum over its samples, and the entropy
    runs over the clusters ("Rao" form). Samples with no tokens weigh as log 1.
    """
    rows = ragged_log_probs("sample_log_probs", sample_log_probs)
    mean_lp = np.array([r.mean() if r.size else 0.0 for r in rows])
    ids = cluster_array(cluster_ids, n=mean_lp.size)
    normalised = mean_lp - np.logaddexp.reduce(mean_lp)
    log_p = np.array([np.logaddexp.reduce(normalised[ids == c]) for c in range(ids.max() + 1)])
    return float(-(np.exp(log_p) * log_p).sum())


def connected_components(adjacency: object) -> np.ndarray:
    """(N,) component id per node of an undirected graph given by an (N, N) boolean adjacency.

    Turns a pairwise "same meaning" relation into cluster ids, as
    LM-Polygraph's NumSemSets does with bidirectional entailment
    (``entail > contra`` both ways); only the upper triangle is read after
    symmetrising with AND, as there.
    """
    a = np.asarray(adjacency, dtype=bool)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"adjacency must be a square (N, N) matrix, got shape {a.shape}")
    a = a & a.T
    ids = -np.ones(a.shape[0], dtype=int)
    for start in range(a.shape[0]):
        if ids[start] >= 0:
            continue
        stack, ids[start] = [start], ids.max() + 1
        while stack:
            node = stack.pop()
            for nxt in np.flatnonzero(a[node] & (ids < 0)):
                ids[nxt] = ids[start]
                stack.append(nxt)
    return ids
