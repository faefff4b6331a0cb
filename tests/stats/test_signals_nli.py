"""NLI clustering and the NLI signals, against step-by-step transcriptions of the references on hand-made tables.

Transcribed: Kuhn et al. (2023) Algorithm 1; LM-Polygraph v0.7.0's
SemanticClassesCalculator (stat_calculators/semantic_classes.py) and its
estimators on ``semantic_matrix_entail`` / ``_contra`` (the estimator
transcriptions are those of test_signals_polygraph_reference.py); Farquhar
et al. (2024)'s ``get_semantic_ids`` (jlko/semantic_uncertainty,
uncertainty_measures/semantic_entropy.py), whose loop departs on one table.
"""
from __future__ import annotations

import numpy as np
import pytest
from test_signals_polygraph_reference import (
    polygraph_deg_mat,
    polygraph_eccentricity,
    polygraph_eig_val_laplacian,
    polygraph_num_sem_sets,
    polygraph_semantic_entropy,
)

from calibkit.stats.signals import NLI_SIGNALS, ItemInputs, compute_signals, sampling
from calibkit.stats.signals.nli import bidirectional_entailment_clusters, entailment_table

E, N, C = [0.8, 0.1, 0.1], [0.2, 0.6, 0.2], [0.1, 0.2, 0.7]  # an entailing, a neutral, a contradicting judgement
#: five samples: 0, 2 and 3 one meaning (3 entails 2 only one way but both ways with representative 0), 1 and 4 others
PROBS = np.array([
    [E, C, E, E, C],
    [C, E, N, C, E],
    [E, N, E, N, C],
    [E, C, E, E, N],
    [C, E, C, N, E],
])
SAMPLES = [np.log([0.9, 0.35]), np.log([0.2]), np.log([0.9, 0.3, 0.5]), np.log([0.25]), np.log([0.1, 0.5])]


def kuhn_algorithm_1(entails):
    """Kuhn et al. (2023) Algorithm 1: C = {{s_1}}; each s_m joins the first class C whose s^(c) is equivalent."""
    classes = [[0]]
    for m in range(1, len(entails)):
        for c in classes:
            if entails[c[0]][m] and entails[m][c[0]]:
                c.append(m)
                break
        else:
            classes.append([m])
    return [next(k for k, c in enumerate(classes) if m in c) for m in range(len(entails))]


def polygraph_semantic_classes(classes, entailment_id):
    """SemanticClassesCalculator.get_classes / _determine_class for one item."""
    is_entailment = classes == entailment_id
    sample_to_class, class_to_sample = {0: 0}, [[0]]
    for i in range(1, len(classes)):
        for class_id in range(len(class_to_sample)):
            class_text_id = class_to_sample[class_id][0]
            if is_entailment[class_text_id, i] and is_entailment[i, class_text_id]:
                class_to_sample[class_id].append(i)
                sample_to_class[i] = class_id
                break
        else:
            sample_to_class[i] = len(class_to_sample)
            class_to_sample.append([i])
    return class_to_sample, sample_to_class


def farquhar_semantic_ids(implication, strict_entailment=True):
    """get_semantic_ids with check_implication(i, j) = implication[i][j] (0 contradiction, 1 neutral, 2 entailment)."""
    def are_equivalent(i, j):
        implications = [implication[i][j], implication[j][i]]
        if strict_entailment:
            return implications == [2, 2]
        return (0 not in implications) and ([1, 1] != implications)

    ids, next_id = [-1] * len(implication), 0
    for i in range(len(implication)):
        if ids[i] == -1:
            ids[i] = next_id
            for j in range(i + 1, len(implication)):
                if are_equivalent(i, j):
                    ids[j] = next_id
            next_id += 1
    return ids


def test_clusters_match_kuhn_polygraph_and_farquhar_on_a_hand_made_table():
    entails = entailment_table(PROBS)
    ours = bidirectional_entailment_clusters(entails)
    assert ours.tolist() == [0, 1, 0, 0, 1] == kuhn_algorithm_1(entails.tolist())
    # LM-Polygraph argmaxes deberta's own logit order (CONTRADICTION 0, NEUTRAL 1, ENTAILMENT 2)
    deberta_classes = 2 - PROBS.argmax(axis=2)
    _, sample_to_class = polygraph_semantic_classes(deberta_classes, entailment_id=2)
    assert [sample_to_class[i] for i in range(5)] == ours.tolist()
    assert farquhar_semantic_ids(deberta_classes.tolist()) == ours.tolist()


def test_a_later_representative_does_not_take_members_farquhar_code_departs():
    """0~2 and 1~2 but 0!~1: Algorithm 1 and LM-Polygraph keep 2 with 0; Farquhar's loop moves it to 1's set."""
    entails = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=bool)
    assert bidirectional_entailment_clusters(entails).tolist() == [0, 1, 0] == kuhn_algorithm_1(entails.tolist())
    _, sample_to_class = polygraph_semantic_classes(np.where(entails, 2, 0), entailment_id=2)
    assert [sample_to_class[i] for i in range(3)] == [0, 1, 0]
    assert farquhar_semantic_ids(np.where(entails, 2, 0).tolist()) == [0, 1, 1]


def test_entailment_is_the_most_probable_class_and_shapes_are_checked():
    assert entailment_table([[[0.4, 0.35, 0.25]]]).tolist() == [[True]]
    assert entailment_table([[[0.3, 0.4, 0.3]]]).tolist() == [[False]]
    with pytest.raises(ValueError, match=r"shape \(N, N, 3\)"):
        entailment_table(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="square"):
        bidirectional_entailment_clusters(np.ones((2, 3)))


def test_nli_signals_match_polygraph_on_the_same_nli_matrices():
    """Every NLI row through the table, against LM-Polygraph's estimators fed its semantic matrices and classes."""
    entail, contra = PROBS[..., 0], PROBS[..., 2]
    ids = bidirectional_entailment_clusters(entailment_table(PROBS))
    item = ItemInputs(sample_log_probs=tuple(SAMPLES), nli_cluster_ids=ids, nli_entail=entail, nli_contra=contra)
    v = compute_signals(item, NLI_SIGNALS)
    assert set(v) == set(NLI_SIGNALS) == {"semantic_entropy_nli", "semantic_entropy_normalized_nli",
                                          "discrete_semantic_entropy_nli", "num_semantic_sets_nli",
                                          "eig_val_laplacian_nli", "degree_nli", "eccentricity_nli"}
    class_to_sample, sample_to_class = polygraph_semantic_classes(2 - PROBS.argmax(axis=2), entailment_id=2)
    sums = [s.sum() for s in SAMPLES]
    assert v["semantic_entropy_nli"] == pytest.approx(polygraph_semantic_entropy(sums, class_to_sample, sample_to_class))
    assert v["discrete_semantic_entropy_nli"] == pytest.approx(
        polygraph_semantic_entropy(None, class_to_sample, sample_to_class, frequency=True)) == pytest.approx(
        -(0.6 * np.log(0.6) + 0.4 * np.log(0.4)))
    assert v["semantic_entropy_normalized_nli"] == sampling.semantic_entropy_normalized(SAMPLES, ids)
    assert v["num_semantic_sets_nli"] == polygraph_num_sem_sets(entail, contra) == 2.0
    assert v["eig_val_laplacian_nli"] == pytest.approx(polygraph_eig_val_laplacian(entail), rel=1e-9)
    assert v["degree_nli"] == pytest.approx(polygraph_deg_mat(entail), rel=1e-12)
    assert v["eccentricity_nli"] == pytest.approx(polygraph_eccentricity(entail), rel=1e-9)


def test_num_semantic_sets_nli_chains_links_unlike_the_clusters():
    """0-1 and 1-2 linked, 0-2 not: NumSemSets chains them into one set; Algorithm 1 makes two clusters."""
    entail = np.array([[0.9, 0.8, 0.1], [0.8, 0.9, 0.8], [0.1, 0.8, 0.9]])
    contra = np.full((3, 3), 0.15)
    item = ItemInputs(nli_entail=entail, nli_contra=contra)
    assert compute_signals(item, ["num_semantic_sets_nli"])["num_semantic_sets_nli"] == 1.0
    assert bidirectional_entailment_clusters(entail > 0.5).max() + 1 == 2
