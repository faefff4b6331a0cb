"""Semantic sets from an NLI model's judgements, and the signals that read them (pure numpy, no model).

Kuhn et al. (2023, Algorithm 1) cluster the N samples by bidirectional
entailment: in sample order, each answer joins the first cluster whose
first member (its representative) entails it and is entailed by it, else
opens a new cluster; "entails" is the NLI model's most probable class
(strict entailment, as Farquhar et al. 2024's code default
``strict_entailment=True`` and LM-Polygraph's SemanticClassesCalculator).
The probabilities come as an ``(N, N, 3)`` array, ``[i, j]`` = P(sample i,
as premise, entails / is neutral to / contradicts sample j), columns in
:data:`ENTAILMENT`, :data:`NEUTRAL`, :data:`CONTRADICTION` order.

The signals here take the NLI fields of :class:`~.inputs.ItemInputs`:
``nli_cluster_ids`` (the clusters above) and ``nli_entail`` /
``nli_contra`` (the ``(N, N)`` entailment and contradiction probabilities,
LM-Polygraph's ``semantic_matrix_entail`` / ``semantic_matrix_contra``).
"""
from __future__ import annotations

import numpy as np

from . import graph, sampling
from .inputs import similarity_array

ENTAILMENT, NEUTRAL, CONTRADICTION = 0, 1, 2  # the columns of the NLI probabilities


def entailment_table(probs: object) -> np.ndarray:
    """``(N, N)`` bool: sample i entails sample j, i.e. entailment is the most probable of the three classes.

    Ties go to the first column in (entailment, neutral, contradiction)
    order, as ``argmax`` does.

    >>> entailment_table([[[0.9, 0.05, 0.05], [0.2, 0.5, 0.3]], [[0.6, 0.3, 0.1], [0.8, 0.1, 0.1]]]).tolist()
    [[True, False], [True, True]]
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] != p.shape[1] or p.shape[2] != 3 or p.shape[0] == 0:
        raise ValueError(f"NLI probabilities must have shape (N, N, 3), got {p.shape}")
    return p.argmax(axis=2) == ENTAILMENT


def bidirectional_entailment_clusters(entails: object) -> np.ndarray:
    """``(N,)`` cluster ids 0..K-1 by Kuhn et al. (2023)'s Algorithm 1 on a boolean entailment table.

    ``entails[i, j]``: sample i entails sample j. Sample m joins the first
    existing cluster whose representative r (its first member) satisfies
    ``entails[r, m] and entails[m, r]``, else opens a new cluster.

    >>> bidirectional_entailment_clusters([[1, 1, 0], [1, 1, 1], [0, 1, 1]]).tolist()  # 2~1 but 2 !~ rep 0
    [0, 0, 1]
    """
    e = np.asarray(entails, dtype=bool)
    if e.ndim != 2 or e.shape[0] != e.shape[1] or e.shape[0] == 0:
        raise ValueError(f"the entailment table must be a square (N, N) matrix, got shape {e.shape}")
    representatives: list[int] = []
    ids = np.zeros(e.shape[0], dtype=np.int64)
    for m in range(e.shape[0]):
        k = next((c for c, r in enumerate(representatives) if e[r, m] and e[m, r]), None)
        if k is None:
            representatives.append(m)
            k = len(representatives) - 1
        ids[m] = k
    return ids


def semantic_entropy_nli(sample_log_probs: object, nli_cluster_ids: object) -> float:
    """Kuhn et al. (2023)'s semantic entropy (:func:`.sampling.semantic_entropy`) on the NLI clusters (Algorithm 1)."""
    return sampling.semantic_entropy(sample_log_probs, nli_cluster_ids)


def semantic_entropy_normalized_nli(sample_log_probs: object, nli_cluster_ids: object) -> float:
    """Farquhar et al. (2024)'s likelihood semantic entropy (:func:`.sampling.semantic_entropy_normalized`) on them."""
    return sampling.semantic_entropy_normalized(sample_log_probs, nli_cluster_ids)


def discrete_semantic_entropy_nli(nli_cluster_ids: object) -> float:
    """Farquhar et al. (2024)'s discrete semantic entropy (:func:`.sampling.discrete_semantic_entropy`) on them."""
    return sampling.discrete_semantic_entropy(nli_cluster_ids)


def num_semantic_sets_nli(nli_entail: object, nli_contra: object) -> float:
    """LM-Polygraph's NumSemSets (Lin, Trivedi & Sun 2023): connected components of "entail > contra both ways".

    Not the count of :func:`bidirectional_entailment_clusters` (that is
    ``discrete`` via the ids): two samples are linked when P(entail) >
    P(contradict) in both directions, and linked samples chain into one set.

    >>> num_semantic_sets_nli([[0.9, 0.8, 0.1], [0.7, 0.9, 0.1], [0.1, 0.2, 0.9]], np.full((3, 3), 0.15))
    2.0
    """
    entail, contra = similarity_array(nli_entail), similarity_array(nli_contra)
    if entail.shape != contra.shape:
        raise ValueError(f"nli_entail {entail.shape} and nli_contra {contra.shape} must have the same shape")
    linked = entail > contra
    return sampling.num_semantic_sets(sampling.connected_components(linked & linked.T))


def eig_val_laplacian_nli(nli_entail: object) -> float:
    """U_EigV on the entailment probabilities (LM-Polygraph's EigValLaplacian, NLI_score, affinity "entail")."""
    return graph.eig_val_laplacian(nli_entail)


def degree_nli(nli_entail: object) -> float:
    """U_Deg on the entailment probabilities (LM-Polygraph's DegMat, NLI_score, affinity "entail")."""
    return graph.degree(nli_entail)


def eccentricity_nli(nli_entail: object) -> float:
    """U_Ecc on the entailment probabilities (LM-Polygraph's Eccentricity, NLI_score, "entail", thres 0.9)."""
    return graph.eccentricity(nli_entail)
