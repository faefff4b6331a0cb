"""Per-step token bookkeeping of one decoded row: its kept tokens, their log-probs and entropies, its terminator.

:mod:`calibkit.engine.generation` steps a batch of rows together; this
module holds what one row accumulates at each step and how the step's
logits become its untempered log-prob and entropy. The contract (what is
kept, what the terminator is) is in :mod:`calibkit.engine.generation`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from calibkit.engine.detokenize import TextSoFar, find_stop


@dataclass
class RowState:
    """Mutable decoding state of one row (one continuation)."""

    context: int  # index of the context in the batch
    sample: int  # sample index, -1 for the greedy row
    text: TextSoFar  # incremental decoded text
    tokens: list  # generated token ids (EOS excluded)
    logprobs: list  # untempered log-probs of `tokens`
    sampling_logprobs: list  # sampling-distribution log-probs of `tokens`
    entropies: list = field(default_factory=list)  # untempered next-token entropies at `tokens` (nats)
    terminator: float | None = None  # untempered log-prob of the EOS token that ended the row
    finish: str | None = None  # finish reason once done
    cut: str | None = None  # the final text once done

    def extend(self, token: int, logprob: float, sampling_logprob: float, entropy: float, *,
               eos: set[int] | frozenset[int], stop: tuple[str, ...], stop_rule: str, max_new_tokens: int) -> bool:
        """Add a token to the row; False once the row is finished (end token, stop string, length)."""
        if token in eos:
            self.finish, self.cut, self.terminator = "eos", self.text.texts[-1], logprob
            return False
        self.tokens.append(token)
        self.logprobs.append(logprob)
        self.sampling_logprobs.append(sampling_logprob)
        self.entropies.append(entropy)
        text = self.text.push(self.tokens)
        at = find_stop(text, stop, stop_rule)
        if at >= 0:
            self.finish, self.cut = "stop", text[:at]
        elif len(self.tokens) >= max_new_tokens:
            self.finish, self.cut = "length", text
        else:
            return True
        return False

    def terminator_logprob(self, kept: int) -> float | None:
        """The untempered log-prob of the token that ended the finished row, ``kept`` tokens kept."""
        if self.finish == "eos":
            return None if self.terminator is None else float(self.terminator)
        if self.finish == "stop" and kept < len(self.tokens):
            return float(self.logprobs[kept])
        return None


def chosen_logp_and_entropy(logits: torch.Tensor, chosen: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per row, ln p(chosen token) and the entropy (nats) of the untempered next-token distribution.

    ``logits``: ``(rows, vocab)`` fp32; ``chosen``: ``(rows,)``. One
    log-softmax serves both; a token the model rules out (logit -inf) adds
    0 to the entropy (``p log p -> 0``), not NaN.
    """
    logp = torch.log_softmax(logits, dim=-1)
    picked = logp.gather(-1, chosen.unsqueeze(-1)).squeeze(-1)
    # in place, no extra pass: this runs every decoding step over (rows, vocab)
    entropy = -logp.exp().mul_(logp).sum(-1)
    if not bool(torch.isfinite(entropy).all()):  # a ruled-out token: 0 * -inf; redo those rows with 0 for it
        entropy = -(logp.exp() * logp.nan_to_num(neginf=0.0)).sum(-1)
    both = torch.stack([picked, entropy.clamp(min=0.0)]).tolist()  # one copy to the host
    return both[0], both[1]
