"""ROUGE-L F and lexical similarity: against a transcription of rouge_score 0.1.2 and, when installed, rouge_score itself."""
from __future__ import annotations

import re

import numpy as np
import pytest

from calibkit.stats.signals import lexical

PAIRS = [
    ("The Eiffel Tower", "eiffel tower"),
    ("the cat sat on the mat", "the cat lay on a mat"),
    ("George Washington, 1789!", "Washington (1789)"),
    ("", "Paris"),
    ("!!!", "???"),
    ("a b c d e", "e d c b a"),
    ("New York City", "New York"),
]


def rouge_score_tokenize(text):  # rouge_score/tokenize.py, stemmer off
    text = text.lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    tokens = re.split(r"\s+", text)
    return [x for x in tokens if re.match(r"^[a-z0-9]+$", x)]


def rouge_score_lcs_f(target, prediction):  # rouge_scorer._score_lcs, _lcs_table and scoring.fmeasure
    t, p = rouge_score_tokenize(target), rouge_score_tokenize(prediction)
    if not t or not p:
        return 0.0
    table = [[0] * (len(p) + 1) for _ in range(len(t) + 1)]
    for i in range(1, len(t) + 1):
        for j in range(1, len(p) + 1):
            table[i][j] = table[i - 1][j - 1] + 1 if t[i - 1] == p[j - 1] else max(table[i - 1][j], table[i][j - 1])
    precision, recall = table[-1][-1] / len(p), table[-1][-1] / len(t)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


@pytest.mark.parametrize("target,prediction", PAIRS)
def test_rouge_l_f_matches_rouge_score_transcription(target, prediction):
    assert lexical.rouge_l_f(target, prediction) == pytest.approx(rouge_score_lcs_f(target, prediction), abs=1e-15)


def test_rouge_l_f_hand_computed():
    # LCS(the cat sat on the mat, the cat lay on a mat) = the cat on mat: P = R = 4/6
    assert lexical.rouge_l_f("the cat sat on the mat", "the cat lay on a mat") == pytest.approx(2 / 3)
    assert lexical.rouge_l_f("New York City", "New York") == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_rouge_l_f_matches_installed_rouge_score(use_stemmer):
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")  # not a dependency: checked where installed
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=use_stemmer)
    stem = None
    if use_stemmer:
        from nltk.stem import porter  # rouge_score depends on nltk

        stem = porter.PorterStemmer().stem
    for target, prediction in PAIRS + [("running quickly", "he runs quickly")]:
        expected = scorer.score(target, prediction)["rougeL"].fmeasure
        assert lexical.rouge_l_f(target, prediction, stem=stem) == pytest.approx(expected, abs=1e-15)


def test_lexical_similarity_is_mean_over_pairs_as_polygraph():
    texts = ["Paris", "paris, France", "Lyon", "Paris"]
    sims = [rouge_score_lcs_f(texts[i], texts[j]) for i in range(4) for j in range(i + 1, 4)]
    assert lexical.lexical_similarity(texts) == pytest.approx(-(-np.mean(sims)), rel=1e-12)  # LexicalSimilarity = -mean
    assert np.isnan(lexical.lexical_similarity(["only one"]))


def polygraph_jaccard(lst):  # estimators/common.py _compute_Jaccard_score
    mat = np.eye(len(lst))
    for i in range(len(lst)):
        for j in range(i + 1, len(lst)):
            set1, set2 = set(lst[i].lower().split()), set(lst[j].lower().split())
            union = len(set1 | set2)
            mat[i, j] = mat[j, i] = 0 if union == 0 else len(set1 & set2) / union
    return mat


def test_jaccard_matrix_matches_polygraph():
    texts = ["The Eiffel Tower", "eiffel tower", "", "Tower of London", ""]
    np.testing.assert_allclose(lexical.jaccard_matrix(texts), polygraph_jaccard(texts), rtol=0, atol=1e-15)


def test_rouge_l_matrix_is_symmetric_with_unit_diagonal():
    w = lexical.rouge_l_matrix(["a b", "b c", ""])
    np.testing.assert_allclose(w, w.T)
    np.testing.assert_allclose(np.diag(w), 1.0)
    assert w[0, 1] == pytest.approx(0.5) and w[0, 2] == 0.0
