"""Per-item inputs of the confidence signals, checked once at the boundary.

Every signal reads plain arrays about one item: the greedy answer's token
log-probs and entropies, the N samples' token log-probs and texts, a cluster
id per sample, a sample-by-sample similarity matrix, and the unconditional
log-probs of the greedy answer; with an NLI model, the samples' entailment
clusters and their entailment / contradiction probabilities. The runs compute these; nothing here knows a
model or a task.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import frozen


def token_array(name: str, x: object) -> np.ndarray:
    """A finite 1-D float64 array of per-token values; may be empty (an empty answer)."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a 1-D numeric array ({err})") from None
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per token), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (a -inf log-prob means a token the model ruled out)")
    return a


def log_prob_array(name: str, x: object) -> np.ndarray:
    a = token_array(name, x)
    if np.any(a > 1e-9):  # round-off can put a certain token a hair above 0
        raise ValueError(f"{name} holds natural-log probabilities, so every value must be <= 0")
    return np.minimum(a, 0.0)


def ragged_log_probs(name: str, x: object) -> tuple[np.ndarray, ...]:
    """The samples' token log-probs: a list of N 1-D arrays of any lengths, N >= 1."""
    if isinstance(x, np.ndarray) and x.dtype != object:
        x = list(x)  # a rectangular (N, T) array is N samples of T tokens
    rows = tuple(log_prob_array(f"{name}[{i}]", row) for i, row in enumerate(x))
    if not rows:
        raise ValueError(f"{name} must hold at least one sample")
    return rows


def cluster_array(x: object, *, n: int | None = None) -> np.ndarray:
    """Cluster ids, one int per sample, relabelled 0..K-1 in order of first appearance."""
    a = np.asarray(x)
    if a.ndim != 1 or a.shape[0] == 0:
        raise ValueError(f"cluster_ids must be a non-empty 1-D array, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"cluster_ids has {a.shape[0]} entries but there are {n} samples")
    _, first, inverse = np.unique(a, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # rank of each unique id by first appearance
    return order[inverse.ravel()]


def similarity_array(x: object) -> np.ndarray:
    """A square (N, N) similarity matrix with finite entries in [0, 1], N >= 1."""
    w = np.asarray(x, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] == 0:
        raise ValueError(f"similarity must be a square (N, N) matrix, got shape {w.shape}")
    if not np.all(np.isfinite(w)) or w.min() < 0.0 or w.max() > 1.0 + 1e-9:
        raise ValueError("similarity must hold finite values in [0, 1]")
    return w


@dataclass(frozen=True)
class ItemInputs:
    """Everything the signals may read about one item; a signal reads only its own fields.

    Token arrays exclude the terminator (EOS or the stop string's tokens):
    calibkit scores the answer's own tokens. LM-Polygraph counts the
    terminator token; see docs/METHODS.md for what that moves.
    """

    #: (T,) natural-log p(y_t | y_<t, x) of the greedy answer's tokens
    greedy_log_probs: np.ndarray | None = None
    #: (T,) entropy in nats of the next-token distribution at each greedy token
    greedy_entropies: np.ndarray | None = None
    #: (T,) natural-log p(y_t | y_<t) of the same tokens with no question (for PMI)
    unconditional_log_probs: np.ndarray | None = None
    #: N arrays, sample i's token log-probs (ragged; terminator excluded)
    sample_log_probs: tuple[np.ndarray, ...] | None = None
    #: N sample texts, as answered (before normalisation)
    sample_texts: tuple[str, ...] | None = None
    #: (N,) int cluster id per sample by the task's matcher (NLI clusters: nli_cluster_ids)
    cluster_ids: np.ndarray | None = None
    #: (N, N) similarity between samples in [0, 1]: 1 where the matcher put two in one cluster (NLI: nli_entail)
    similarity: np.ndarray | None = None
    #: (N,) int cluster id per sample by bidirectional entailment with an NLI model (Kuhn et al. 2023)
    nli_cluster_ids: np.ndarray | None = None
    #: (N, N) P(sample i entails sample j) by the NLI model (premise i, hypothesis j)
    nli_entail: np.ndarray | None = None
    #: (N, N) P(sample i contradicts sample j) by the same model
    nli_contra: np.ndarray | None = None

    def __post_init__(self) -> None:
        # read-only copies: the values a run stored must not change under the signals
        for name in ("greedy_log_probs", "greedy_entropies", "unconditional_log_probs", "cluster_ids", "similarity",
                     "nli_cluster_ids", "nli_entail", "nli_contra"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, frozen(np.asarray(getattr(self, name))))
        if self.sample_log_probs is not None:
            object.__setattr__(self, "sample_log_probs", tuple(frozen(np.asarray(r)) for r in self.sample_log_probs))
        if self.sample_texts is not None:
            object.__setattr__(self, "sample_texts", tuple(self.sample_texts))
