"""Lexical overlap between sampled answers: ROUGE-L F and Jaccard, as matrices.

ROUGE-L follows Google's ``rouge_score`` package (the one LM-Polygraph
calls) step by step: lower-case, every run of characters outside [a-z0-9]
becomes a space, split on whitespace; then the longest common subsequence of
the two token lists gives precision (LCS / prediction length), recall
(LCS / target length) and their harmonic mean. ``rouge_score`` is not a
dependency; its optional Porter stemmer (LM-Polygraph turns it on) is a
``stem`` callable here, off by default.
"""
from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

_NON_ALPHANUM = re.compile(r"[^a-z0-9]+")
_VALID_TOKEN = re.compile(r"^[a-z0-9]+$")


def rouge_tokens(text: str, *, stem: Callable[[str], str] | None = None) -> list[str]:
    """``rouge_score``'s default tokenizer: lower-case alphanumeric runs; stems words longer than 3 characters.

    >>> rouge_tokens("The Eiffel-Tower, in 1889!")
    ['the', 'eiffel', 'tower', 'in', '1889']
    """
    tokens = re.split(r"\s+", _NON_ALPHANUM.sub(" ", text.lower()))
    if stem is not None:
        tokens = [stem(t) if len(t) > 3 else t for t in tokens]
    return [t for t in tokens if _VALID_TOKEN.match(t)]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (dynamic programming, one row at a time)."""
    prev = [0] * (len(b) + 1)
    for x in a:
        row = [0]
        for j, y in enumerate(b):
            row.append(prev[j] + 1 if x == y else max(prev[j + 1], row[j]))
        prev = row
    return prev[-1]


def rouge_l_f(target: str, prediction: str, *, stem: Callable[[str], str] | None = None) -> float:
    """ROUGE-L F-measure between two texts, in [0, 1]; symmetric; 0 when either has no tokens.

    >>> round(rouge_l_f("the cat sat on the mat", "the cat lay on a mat"), 6)
    0.666667
    """
    t, p = rouge_tokens(target, stem=stem), rouge_tokens(prediction, stem=stem)
    if not t or not p:
        return 0.0
    lcs = lcs_length(t, p)
    precision, recall = lcs / len(p), lcs / len(t)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def rouge_l_matrix(texts: Sequence[str], *, stem: Callable[[str], str] | None = None) -> np.ndarray:
    """(N, N) pairwise ROUGE-L F between texts; the diagonal is 1 (a text matches itself, even an empty one)."""
    n = len(texts)
    w = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            w[i, j] = w[j, i] = rouge_l_f(texts[i], texts[j], stem=stem)
    return w


def jaccard_matrix(texts: Sequence[str]) -> np.ndarray:
    """(N, N) Jaccard similarity of lower-cased whitespace word sets; diagonal 1; 0 when both are empty.

    LM-Polygraph's ``Jaccard_score`` similarity for the graph signals.

    >>> round(float(jaccard_matrix(["a b", "b c"])[0, 1]), 6)
    0.333333
    """
    sets = [set(t.lower().split()) for t in texts]
    n = len(sets)
    w = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            union = len(sets[i] | sets[j])
            w[i, j] = w[j, i] = len(sets[i] & sets[j]) / union if union else 0.0
    return w


def lexical_similarity(sample_texts: Sequence[str], *, stem: Callable[[str], str] | None = None) -> float:
    """Mean ROUGE-L F over the N(N-1)/2 pairs of samples; higher = more confident (the samples agree).

    Fomicheva et al. (2020)'s lexical similarity with ROUGE-L, as LM-Polygraph's
    LexicalSimilarity (which returns it negated). NaN for a single sample.

    >>> round(lexical_similarity(["Paris", "paris", "Lyon"]), 6)
    0.333333
    """
    texts = list(sample_texts)
    n = len(texts)
    if n < 2:
        return float("nan")
    w = rouge_l_matrix(texts, stem=stem)
    return float(w[np.triu_indices(n, k=1)].mean())
