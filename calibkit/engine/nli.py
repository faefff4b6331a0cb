"""Natural-language inference for semantic clustering: load an NLI classifier, score premise/hypothesis pairs.

Semantic entropy (Kuhn et al. 2023; Farquhar et al. 2024) and the graph
signals (Lin, Trivedi & Sun 2023) ask an NLI model whether one sampled
answer entails another. This module only loads any Hugging Face
sequence-classification NLI model (``microsoft/deberta-large-mnli`` is the
one Kuhn et al. and LM-Polygraph use) and returns its class probabilities
as numpy, columns in :data:`LABELS` order whatever the model's own label
order (read from its config's ``id2label``). Which texts are compared and
what the probabilities mean for clusters is the caller's business
(:mod:`calibkit.stats.signals.nli`); nothing here knows a task.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from calibkit.engine.models import ModelError, first_line

#: the probability columns :func:`nli_probabilities` returns, in this order
LABELS = ("entailment", "neutral", "contradiction")


@dataclass(frozen=True)
class NLIModel:
    """A loaded NLI classifier."""

    name: str  # the name or folder it was loaded from
    model: Any  # the transformers AutoModelForSequenceClassification, in eval mode
    tokenizer: Any  # its tokenizer (pairs are encoded as the model was trained: premise, hypothesis)
    device: str  # where the weights are, e.g. "cpu" or "cuda:0"
    columns: tuple[int, int, int]  # the model's logit index of entailment, neutral and contradiction
    batch_size: int = 64  # pairs per forward pass


def label_columns(id2label: Mapping[Any, str]) -> tuple[int, int, int]:
    """The logit index of entailment, neutral and contradiction, found by name in a config's ``id2label``.

    Names are matched case-insensitively by prefix ("ENTAILMENT",
    "entailment", "contradiction", "CONTRADICTION", "neutral").

    Example:
        >>> label_columns({0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"})
        (2, 1, 0)

    Raises:
        ModelError: a label is missing (not a three-way NLI model).
    """
    found = {}
    for index, name in id2label.items():
        for label in LABELS:
            if str(name).strip().lower().startswith(label[:6]):
                found[label] = int(index)
    missing = [label for label in LABELS if label not in found]
    if missing or len(id2label) != 3:
        raise ModelError(f"the NLI model's labels {dict(id2label)} lack {', '.join(missing) or 'a three-way split'}; "
                         "use a three-way NLI model (entailment / neutral / contradiction) such as "
                         "microsoft/deberta-large-mnli")
    return found["entailment"], found["neutral"], found["contradiction"]


def load_nli(name: str, *, device: str | None = None, batch_size: int = 64) -> NLIModel:
    """Load an NLI model and its tokenizer on ``device`` (None: cuda if present, else cpu), fp32, eval mode.

    Raises:
        ModelError: the model cannot be loaded, or its labels are not entailment / neutral / contradiction.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForSequenceClassification.from_pretrained(name)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the NLI model {name!r} ({first_line(exc)}); pass a Hugging Face "
                         "sequence-classification NLI model or its local folder to --nli-model") from None
    columns = label_columns(model.config.id2label)
    return NLIModel(name=name, model=model.to(device).eval(), tokenizer=tokenizer, device=str(device),
                    columns=columns, batch_size=batch_size)


def nli_probabilities(nli: NLIModel, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
    """``(n_pairs, 3)`` float64 probabilities that premise i entails / is neutral to / contradicts hypothesis i.

    Columns in :data:`LABELS` order; each row sums to 1 (softmax in float64).
    Pairs are encoded as the tokenizer's sentence pair (premise first) and
    run ``nli.batch_size`` at a time, longest first so that a batch pads
    little; padding is masked, so a pair's numbers do not depend on its
    batch (up to float round-off). Pairs longer than the model's window are
    truncated (longest text first).
    """
    if len(premises) != len(hypotheses):
        raise ValueError(f"premises ({len(premises)}) and hypotheses ({len(hypotheses)}) must pair up one to one")
    out = np.zeros((len(premises), 3), dtype=np.float64)
    if not len(premises):
        return out
    lengths = [len(ids) for ids in nli.tokenizer(list(premises), list(hypotheses), truncation=True)["input_ids"]]
    order = np.argsort(-np.asarray(lengths), kind="stable")
    with torch.inference_mode():
        for start in range(0, len(order), nli.batch_size):
            chunk = order[start:start + nli.batch_size]
            out[chunk] = _forward(nli, [premises[i] for i in chunk], [hypotheses[i] for i in chunk])
    return out


def _forward(nli: NLIModel, premises: list[str], hypotheses: list[str]) -> np.ndarray:
    encoded = nli.tokenizer(premises, hypotheses, padding=True, truncation=True, return_tensors="pt").to(nli.device)
    # softmax in float64 on the CPU: the rows sum to 1 to round-off, whatever the model's dtype
    probs = torch.softmax(nli.model(**encoded).logits.detach().cpu().double(), dim=-1)
    return probs[:, list(nli.columns)].numpy()
