"""Scores token sequences after the start token alone (no context, no template): PMI's unconditional term."""
from __future__ import annotations

from typing import Sequence

import torch

from calibkit.engine.encoding import start_id
from calibkit.engine.generation import GenerationError
from calibkit.engine.models import LoadedModel


@torch.inference_mode()
def unconditional_logprobs(loaded: LoadedModel, continuations: Sequence[Sequence[int]], *,
                           batch_size: int = 16) -> list[tuple[float, ...]]:
    """ln p(y_t | start, y_<t) of each token sequence scored after the start token alone: no context, no template.

    The unconditional term of PMI (Takayama & Arase 2019): the same token
    ids a continuation kept (``Generation.token_ids``), read after the BOS
    (else EOS) token by one right-padded forward per batch; fp32
    log-softmax of the raw logits, full vocabulary.

    Args:
        continuations: ``(n,)`` token-id sequences (may be empty).

    Returns:
        ``(n,)`` tuples, one natural-log probability per token.
    """
    start = start_id(loaded.tokenizer)
    if start is None:
        raise GenerationError("the tokenizer has no BOS or EOS token to score an answer after; PMI needs one")
    out: list[tuple[float, ...]] = []
    device = torch.device(loaded.device)
    for lo in range(0, len(continuations), batch_size):
        part = [[start, *map(int, c)] for c in continuations[lo: lo + batch_size]]
        width = max(len(p) for p in part)
        ids = torch.full((len(part), width), start, dtype=torch.long)
        mask = torch.zeros((len(part), width), dtype=torch.long)
        for b, p in enumerate(part):  # right padding: a causal model's earlier positions never see the pad
            ids[b, :len(p)], mask[b, :len(p)] = torch.tensor(p, dtype=torch.long), 1
        logits = loaded.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        picked = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:].to(device).unsqueeze(-1))
        rows = picked.squeeze(-1).cpu().tolist()
        out += [tuple(float(x) for x in rows[b][:len(p) - 1]) for b, p in enumerate(part)]
    return out
