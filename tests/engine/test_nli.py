"""The NLI engine and the free-answer NLI fields, on a tiny seeded BERT NLI model (tests/tiny_models.py).

The engine's batched, length-sorted, padded pass must give what a plain
per-pair transformers forward gives; the row fields must be Kuhn et al.
(2023)'s Algorithm 1 (LM-Polygraph's SemanticClassesCalculator, transcribed
in tests/stats/test_signals_nli.py) on that plain forward's most probable
classes, with LM-Polygraph's entailment / contradiction matrices.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from calibkit.engine.models import ModelError
from calibkit.engine.nli import label_columns, load_nli, nli_probabilities
from calibkit.stats.signals import NLI_SIGNALS, compute_signals
from calibkit.tasks.free_answer.nli_fields import NLI_FIELDS, nli_fields, nli_text
from calibkit.tasks.free_answer.signal_inputs import item_inputs

QUESTIONS = ["who wrote hamlet?", "capital of france?", "largest planet?"]
ANSWERS = [
    ["shakespeare", "william shakespeare", "marlowe", "shakespeare", "bacon", "", ""],
    ["paris", "paris", "paris"],
    [],
]


@pytest.fixture(scope="module")
def nli(tmp_path_factory, one_thread):
    from tiny_models import tiny_nli

    return load_nli(str(tiny_nli(tmp_path_factory.mktemp("tiny-nli"))), device="cpu", batch_size=3)


def plain_probs(nli, premise: str, hypothesis: str) -> np.ndarray:
    """One pair, alone, through transformers: softmax of the logits, reordered to (entail, neutral, contra) by name."""
    with torch.no_grad():
        logits = nli.model(**nli.tokenizer(premise, hypothesis, return_tensors="pt")).logits[0].double()
    probs = torch.softmax(logits, dim=-1).numpy()
    by_name = {nli.model.config.id2label[i].lower(): p for i, p in enumerate(probs)}
    return np.array([by_name["entailment"], by_name["neutral"], by_name["contradiction"]])


def test_label_columns_are_found_by_name_in_any_order():
    assert label_columns({0: "entailment", 1: "neutral", 2: "contradiction"}) == (0, 1, 2)
    assert label_columns({"0": "CONTRADICTION", "1": "NEUTRAL", "2": "ENTAILMENT"}) == (2, 1, 0)
    with pytest.raises(ModelError, match="lack neutral.*three-way NLI model"):
        label_columns({0: "entailment", 1: "not_entailment"})


def test_batched_probabilities_equal_a_plain_forward_per_pair(nli):
    premises = ["who wrote hamlet? shakespeare", "a", "who wrote hamlet? william shakespeare", "", "b c d"]
    hypotheses = ["who wrote hamlet? marlowe", "a much longer hypothesis, padded in its batch", "x", "y", "b c d"]
    got = nli_probabilities(nli, premises, hypotheses)
    want = np.array([plain_probs(nli, p, h) for p, h in zip(premises, hypotheses)])
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert nli_probabilities(nli, [], []).shape == (0, 3)


def reference_fields(nli, question: str, answers: list[str]) -> dict:
    """Per pair, plain forwards on question + answer; Algorithm 1 with identical texts one meaning."""
    texts = [nli_text(question, a) for a in answers]
    probs = np.array([[plain_probs(nli, a, b) for b in texts] for a in texts]).reshape(len(texts), len(texts), 3)
    entails = [[texts[i] == texts[j] or probs[i, j].argmax() == 0 for j in range(len(texts))]
               for i in range(len(texts))]
    representatives, ids = [], []
    for m in range(len(texts)):
        k = next((c for c, r in enumerate(representatives) if entails[r][m] and entails[m][r]), None)
        if k is None:
            representatives.append(m)
            k = len(representatives) - 1
        ids.append(k)
    return {"ids": ids, "entail": probs[..., 0] if texts else [], "contra": probs[..., 2] if texts else []}


def test_nli_fields_are_algorithm_1_on_plain_forwards(nli):
    rows = nli_fields(nli, QUESTIONS, ANSWERS)
    assert len(rows) == 3 and all(set(r) == set(NLI_FIELDS) for r in rows)
    for question, answers, row in zip(QUESTIONS, ANSWERS, rows):
        ref = reference_fields(nli, question, answers)
        assert row["sample_clusters_nli"] == ref["ids"]
        np.testing.assert_allclose(np.asarray(row["sample_nli_entail"]).reshape(np.shape(ref["entail"])),
                                   ref["entail"], rtol=0, atol=6e-6)
        np.testing.assert_allclose(np.asarray(row["sample_nli_contra"]).reshape(np.shape(ref["contra"])),
                                   ref["contra"], rtol=0, atol=6e-6)
    assert rows[0]["sample_clusters_nli"][3] == rows[0]["sample_clusters_nli"][0]  # the same text twice
    assert rows[1]["sample_clusters_nli"] == [0, 0, 0] and rows[2]["sample_clusters_nli"] == []


def test_nli_signals_read_from_a_stored_row(nli):
    """A row with the NLI fields gives every NLI signal; one without (no samples) leaves them out."""
    (fields,) = nli_fields(nli, QUESTIONS[:1], ANSWERS[:1])
    n = len(ANSWERS[0])
    row = {"greedy_token_logprobs": [-0.1], "greedy_entropies": [0.2], "greedy_terminator_logprob": None,
           "sample_token_logprobs": [[-0.5 - i / 10] for i in range(n)], "sample_terminator_logprobs": [None] * n,
           "sample_clusters": list(range(n)), **fields}
    values = compute_signals(item_inputs(row), NLI_SIGNALS)
    assert values["discrete_semantic_entropy_nli"] >= 0 and 1 <= values["num_semantic_sets_nli"] <= n
    assert all(np.isfinite(v) for v in values.values())
    empty = item_inputs({**row, "sample_token_logprobs": [], "sample_terminator_logprobs": [], "sample_clusters": [],
                         **nli_fields(nli, ["q"], [[]])[0]})
    assert empty.nli_cluster_ids is None and empty.nli_entail is None


def test_an_unloadable_nli_model_is_one_user_error(tmp_path):
    with pytest.raises(ModelError, match="cannot load the NLI model.*--nli-model"):
        load_nli(str(tmp_path / "nowhere"), device="cpu")
