"""The signal table: one row per signal, every row callable on one item; hand-computed values and properties."""
from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

from calibkit.stats.signals import ItemInputs, SIGNALS, as_confidence, compute_signals, graph, sampling, select

ITEM = ItemInputs(
    greedy_log_probs=np.log([0.5, 0.8]),
    greedy_entropies=np.array([0.7, 0.1]),
    unconditional_log_probs=np.log([0.1, 0.4]),
    sample_log_probs=(np.log([0.5, 0.8]), np.log([0.1]), np.log([0.5, 0.8])),
    sample_texts=("Paris", "Lyon", "paris"),
    cluster_ids=np.array([0, 1, 0]),
    similarity=np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]),
    nli_cluster_ids=np.array([0, 1, 0]),
    nli_entail=np.array([[0.9, 0.1, 0.8], [0.1, 0.9, 0.1], [0.8, 0.1, 0.9]]),
    nli_contra=np.array([[0.05, 0.8, 0.1], [0.8, 0.05, 0.8], [0.1, 0.8, 0.05]]),
)


def test_every_row_is_complete_and_its_inputs_are_fields_and_parameters():
    fields = {f.name for f in dataclasses.fields(ItemInputs)}
    for name, s in SIGNALS.items():
        assert s.name == name and s.sign in ("confidence", "uncertainty") and s.source
        assert set(s.inputs) <= fields, name
        assert list(inspect.signature(s.compute).parameters)[: len(s.inputs)] == list(s.inputs), name


def test_hand_computed_values_for_one_item():
    v = compute_signals(ITEM)
    assert set(v) == set(SIGNALS)
    assert v["max_sequence_probability"] == pytest.approx(0.4)
    assert v["mean_nll"] == pytest.approx(-(np.log(0.5) + np.log(0.8)) / 2)
    assert v["perplexity"] == pytest.approx(0.4 ** -0.5)
    assert v["mean_token_entropy"] == pytest.approx(0.4)
    assert v["max_token_probability"] == pytest.approx(0.5)
    assert v["mean_pmi"] == pytest.approx((np.log(5) + np.log(2)) / 2)
    assert v["mc_sequence_entropy"] == pytest.approx(-(2 * np.log(0.4) + np.log(0.1)) / 3)
    assert v["num_semantic_sets"] == 2.0
    p = np.array([2 / 3, 1 / 3])
    assert v["discrete_semantic_entropy"] == pytest.approx(-(p * np.log(p)).sum())
    # Kuhn / LM-Polygraph: class log-probs log(0.8) and log(0.1), averaged over the 3 samples
    assert v["semantic_entropy"] == pytest.approx(-(2 * np.log(0.8) + np.log(0.1)) / 3)
    assert v["lexical_similarity"] == pytest.approx(1 / 3)
    # two exact meanings: W is block-diagonal, L has eigenvalue 0 twice and 1 once
    assert v["eig_val_laplacian"] == pytest.approx(2.0)
    assert v["degree"] == pytest.approx(1 - 5 / 9)
    # the NLI rows: the same clusters give the same entropies; "Paris" and "paris" entail each other, not "Lyon"
    assert v["semantic_entropy_nli"] == v["semantic_entropy"]
    assert v["discrete_semantic_entropy_nli"] == v["discrete_semantic_entropy"]
    assert v["num_semantic_sets_nli"] == 2.0
    assert v["degree_nli"] == pytest.approx(1 - (3 * 0.9 + 2 * (0.1 + 0.8 + 0.1)) / 9)


def test_semantic_entropy_normalized_hand_computed():
    # mean token log-liks log(0.5), log(0.5), log(0.25) -> weights 0.4, 0.4, 0.2; clusters {0,1} and {2}
    samples = (np.log([0.5]), np.log([0.5, 0.5]), np.log([0.25]))
    p = np.array([0.8, 0.2])
    assert sampling.semantic_entropy_normalized(samples, [7, 7, 3]) == pytest.approx(-(p * np.log(p)).sum())


def test_one_meaning_means_no_semantic_uncertainty():
    samples = (np.log([0.5]), np.log([0.3, 0.9]))
    assert sampling.discrete_semantic_entropy([4, 4]) == 0.0
    assert sampling.semantic_entropy_normalized(samples, [4, 4]) == pytest.approx(0.0, abs=1e-15)
    assert graph.eig_val_laplacian(np.ones((2, 2))) == pytest.approx(1.0)
    assert graph.eccentricity(np.ones((2, 2))) == pytest.approx(0.0, abs=1e-12)


def test_cluster_ids_are_labels_not_numbers():
    assert sampling.discrete_semantic_entropy(["b", "a", "b"]) == sampling.discrete_semantic_entropy([5, 9, 5])


def test_select_and_orientation():
    assert [s.name for s in select(["degree", "mean_nll"])] == ["mean_nll", "degree"]  # table order
    with pytest.raises(ValueError, match="unknown signal.*nope"):
        select(["nope"])
    np.testing.assert_allclose(as_confidence("mean_nll", [0.1, 2.0]), [-0.1, -2.0])
    np.testing.assert_allclose(as_confidence("max_sequence_probability", [0.3]), [0.3])


def test_missing_input_names_the_signal_and_field():
    with pytest.raises(ValueError, match="signal mean_pmi needs unconditional_log_probs"):
        compute_signals(ItemInputs(greedy_log_probs=np.log([0.5])), ["mean_pmi"])


@pytest.mark.parametrize("bad,match", [
    (dict(greedy_log_probs=[0.5]), "must be <= 0"),
    (dict(greedy_log_probs=[[-0.5]]), "must be 1-D"),
    (dict(greedy_log_probs=[-np.inf]), "must be finite"),
])
def test_bad_log_probs_are_named_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        compute_signals(ItemInputs(**bad), ["max_sequence_probability"])


def test_bad_similarity_and_clusters_are_named_errors():
    with pytest.raises(ValueError, match="square"):
        graph.degree(np.ones((2, 3)))
    with pytest.raises(ValueError, match="zero similarity"):
        graph.eig_val_laplacian(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="cluster_ids has 2 entries but there are 3 samples"):
        sampling.semantic_entropy([[-1.0], [-1.0], [-1.0]], [0, 1])


def test_empty_greedy_answer():
    empty = np.array([])
    assert compute_signals(ItemInputs(greedy_log_probs=empty), ["max_sequence_probability"]) == {"max_sequence_probability": 1.0}
    assert np.isnan(compute_signals(ItemInputs(greedy_log_probs=empty), ["mean_nll"])["mean_nll"])


def test_item_inputs_are_read_only_copies():
    lp = np.log([0.5, 0.8])
    item = ItemInputs(greedy_log_probs=lp, sample_log_probs=[lp], sample_texts=["a"])
    lp[0] = 0.0  # the caller's array changes; the item's copy does not
    assert item.greedy_log_probs[0] == pytest.approx(np.log(0.5))
    with pytest.raises(ValueError, match="read-only"):
        item.sample_log_probs[0][0] = 0.0
    assert item.sample_texts == ("a",)
