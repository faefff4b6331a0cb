"""The one table of free-answer signals: name -> function, inputs, sign, whether a probability, source.

Adding a signal is one function and one row here. Every function takes the
fields of :class:`~.inputs.ItemInputs` it names as keyword arguments and
returns one float for the item. ``sign`` says which way it points:
``"confidence"`` (higher = more confident) or ``"uncertainty"`` (higher =
more uncertain); :func:`as_confidence` turns either into higher = more
confident for AUROC/AURC/PRR. Only ``probability=True`` signals get an ECE.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import numpy as np

from . import graph, lexical, likelihood, nli, sampling
from .inputs import ItemInputs

SIGNS = ("confidence", "uncertainty")


@dataclass(frozen=True)
class Signal:
    """One row of the table."""

    #: the name runs and reports use (``--signals``)
    name: str
    #: f(**inputs) -> float for one item
    compute: Callable[..., float]
    #: the ItemInputs fields it reads, in the function's keyword names
    inputs: tuple[str, ...]
    #: "confidence" (higher = more confident) or "uncertainty" (higher = more uncertain)
    sign: str
    #: True when the value is a probability of being right, so ECE applies
    probability: bool
    #: the paper (and section) that defines it
    source: str
    #: the peer implementation it is checked against and how calibkit departs; "" when none
    peer: str


def _row(name, compute, inputs, sign, probability, source, peer) -> Signal:
    assert sign in SIGNS, sign
    return Signal(name, compute, tuple(inputs), sign, probability, source, peer)


#: Lin, Trivedi & Sun 2023's graph signals: (name, the paper's symbol, LM-Polygraph's estimator, its extra argument)
_GRAPH = (("eig_val_laplacian", "U_EigV", "EigValLaplacian", ""), ("degree", "U_Deg", "DegMat", ""),
          ("eccentricity", "U_Ecc", "Eccentricity", "thres=0.9"))


def _graph_rows(module, suffix: str, similarity: str, peer_args: str) -> tuple[Signal, ...]:
    """The three graph signals on one similarity matrix (``similarity``: the ItemInputs field it reads)."""
    return tuple(_row(name + suffix, getattr(module, name + suffix), (similarity,), "uncertainty", False,
                      f"Lin, Trivedi & Sun 2023 ({symbol})",
                      f"{peer}({', '.join(a for a in (peer_args, extra) if a)})" if peer_args or extra else peer)
                 for name, symbol, peer, extra in _GRAPH)


_LP = ("greedy_log_probs",)
_TERM = "; LM-Polygraph counts the terminator token, calibkit does not"
_SAMPLES = ("sample_log_probs",)
_NLI_IDS = ("sample_log_probs", "nli_cluster_ids")
_ROWS = (
    _row("max_sequence_probability", likelihood.max_sequence_probability, _LP, "confidence", True,
         "Fadeeva et al. 2023 (LM-Polygraph) MSP", "MaximumSequenceProbability = -log of ours" + _TERM),
    _row("perplexity", likelihood.perplexity, _LP, "uncertainty", False,
         "Fomicheva et al. 2020", "exp of LM-Polygraph's Perplexity" + _TERM),
    _row("mean_nll", likelihood.mean_nll, _LP, "uncertainty", False,
         "Fomicheva et al. 2020", "LM-Polygraph's Perplexity (which is the mean NLL)" + _TERM),
    _row("mean_token_entropy", likelihood.mean_token_entropy, ("greedy_entropies",), "uncertainty", False,
         "Fomicheva et al. 2020; Malinin & Gales 2021", "MeanTokenEntropy" + _TERM),
    _row("max_token_probability", likelihood.max_token_probability, _LP, "confidence", True,
         "Fadeeva et al. 2023 (token-level MaximumTokenProbability)",
         "MaximumTokenProbability is per token (-log p, last token dropped); ours = exp(-max of those)"),
    _row("mean_pmi", likelihood.mean_pmi, ("greedy_log_probs", "unconditional_log_probs"), "confidence", False,
         "Takayama & Arase 2019",
         "MeanPointwiseMutualInformation = -ours; it zeroes the first token's unconditional term"),
    _row("mc_sequence_entropy", sampling.mc_sequence_entropy, _SAMPLES, "uncertainty", False,
         "Kuhn et al. 2023 (predictive entropy)", "MonteCarloSequenceEntropy" + _TERM),
    _row("mc_normalized_sequence_entropy", sampling.mc_normalized_sequence_entropy, _SAMPLES, "uncertainty",
         False, "Kuhn et al. 2023; Malinin & Gales 2021", "MonteCarloNormalizedSequenceEntropy" + _TERM),
    _row("lexical_similarity", lexical.lexical_similarity, ("sample_texts",), "confidence", False,
         "Fomicheva et al. 2020 (ROUGE-L, Lin 2004)",
         "LexicalSimilarity(rougeL) = -ours; it stems with Porter, calibkit does not by default"),
    _row("num_semantic_sets", sampling.num_semantic_sets, ("cluster_ids",), "uncertainty", False,
         "Lin, Trivedi & Sun 2023 (NumSemSets)", "NumSemSets, given the same clusters"),
    _row("semantic_entropy", sampling.semantic_entropy, ("sample_log_probs", "cluster_ids"), "uncertainty",
         False, "Kuhn et al. 2023 via LM-Polygraph's SemanticEntropy", "SemanticEntropy (class sums, mean estimator)" + _TERM),
    _row("semantic_entropy_normalized", sampling.semantic_entropy_normalized,
         ("sample_log_probs", "cluster_ids"), "uncertainty", False,
         "Farquhar et al. 2024 (code: sum_normalized + Rao entropy)", ""),
    _row("discrete_semantic_entropy", sampling.discrete_semantic_entropy, ("cluster_ids",), "uncertainty",
         False, "Farquhar et al. 2024 (discrete SE)", "SemanticEntropy(class_probability_estimation='frequency')"),
    *_graph_rows(graph, "", "similarity", ""),
    _row("semantic_entropy_nli", nli.semantic_entropy_nli, _NLI_IDS, "uncertainty", False,
         "Kuhn et al. 2023 (Algorithm 1 clusters) via LM-Polygraph's SemanticEntropy",
         "SemanticEntropy on SemanticClassesCalculator's classes" + _TERM),
    _row("semantic_entropy_normalized_nli", nli.semantic_entropy_normalized_nli, _NLI_IDS, "uncertainty", False,
         "Farquhar et al. 2024 (code: sum_normalized + Rao entropy), on Algorithm 1 clusters", ""),
    _row("discrete_semantic_entropy_nli", nli.discrete_semantic_entropy_nli, ("nli_cluster_ids",), "uncertainty",
         False, "Farquhar et al. 2024 (discrete SE)", "SemanticEntropy(class_probability_estimation='frequency')"),
    _row("num_semantic_sets_nli", nli.num_semantic_sets_nli, ("nli_entail", "nli_contra"), "uncertainty", False,
         "Lin, Trivedi & Sun 2023 (NumSemSets)", "NumSemSets (entail > contra both ways, connected components)"),
    *_graph_rows(nli, "_nli", "nli_entail", "NLI_score, affinity='entail'"),
)
SIGNALS: Mapping[str, Signal] = MappingProxyType({s.name: s for s in _ROWS})
#: the signals that read an NLI model's judgements (the ItemInputs fields nli_*): runs compute them only with one
NLI_SIGNALS = tuple(s.name for s in _ROWS if any(f.startswith("nli_") for f in s.inputs))


def select(names: Sequence[str] | str) -> tuple[Signal, ...]:
    """The signals named (``"all"`` for every one), in table order; ValueError naming an unknown one."""
    if names == "all":
        return tuple(SIGNALS.values())
    unknown = [n for n in names if n not in SIGNALS]
    if unknown:
        raise ValueError(f"unknown signal(s) {', '.join(unknown)}; choose from {', '.join(SIGNALS)} or 'all'")
    return tuple(s for s in _ROWS if s.name in set(names))


def compute_signals(item: ItemInputs, names: Sequence[str] | str = "all") -> dict[str, float]:
    """Each selected signal's value for one item; ValueError naming a signal whose input the item lacks."""
    values = {}
    for signal in select(names):
        missing = [f for f in signal.inputs if getattr(item, f) is None]
        if missing:
            raise ValueError(f"signal {signal.name} needs {', '.join(missing)}, which this item does not have")
        values[signal.name] = signal.compute(**{f: getattr(item, f) for f in signal.inputs})
    return values


def as_confidence(signal: Signal | str, values: object) -> np.ndarray:
    """Values oriented so higher = more confident: uncertainties are negated, confidences kept."""
    row = SIGNALS[signal] if isinstance(signal, str) else signal
    v = np.asarray(values, dtype=np.float64)
    return -v if row.sign == "uncertainty" else v

