"""Free-answer confidence signals: pure numpy on one item's arrays, no model, no task.

``table.SIGNALS`` is the one table (name -> function, inputs, sign,
probability or not, source); ``likelihood``, ``sampling``, ``lexical`` and
``graph`` hold the functions; ``nli`` clusters samples by bidirectional
entailment (Kuhn et al. 2023) and holds the signals on an NLI model's
judgements; ``verbal`` parses stated probabilities (Tian et al. 2023) and
``hedges`` finds hedges and certainty markers (Mielke et al. 2022 classes,
Hyland 2005 lexicon).
"""
from .inputs import ItemInputs
from .table import NLI_SIGNALS, SIGNALS, Signal, as_confidence, compute_signals, select

__all__ = ["ItemInputs", "NLI_SIGNALS", "SIGNALS", "Signal", "as_confidence", "compute_signals", "select"]
