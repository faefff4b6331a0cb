"""Batched free generation with per-token log-probs: greedy answers and samples.

Contract:

* A context is a string the model continues (a base-model prompt, or a chat
  conversation already rendered with its template). It is encoded with the
  tokenizer's default special tokens, except that a context that already
  begins with the BOS text (a rendered chat template) gets no second BOS;
  the scorer (:mod:`calibkit.engine.scoring`) follows the same rule.
* Per context, one **greedy** (argmax) continuation and/or ``samples``
  continuations drawn from ``softmax(logits / temperature)``, optionally
  restricted to the top-``p`` nucleus (renormalized). Greedy and samples
  are decoded in **one** batched pass: the context is run once (prefill), its
  KV cache is repeated over the ``greedy + samples`` rows of that context,
  and all rows of all contexts in a batch step together. There is no Python
  loop over samples.
* ``Generation.logprobs`` are natural-log probabilities of the kept tokens
  under the **untempered** model distribution (log-softmax of the raw logits
  in fp32, full vocabulary, no top-p), whatever the sampling temperature:
  they are what the sequence-likelihood signal needs.
  ``Generation.entropies`` are the entropies (nats) of that same untempered
  next-token distribution at each kept token (fp32 log-softmax), what the
  mean-token-entropy signal reads. ``Generation.terminator_logprob`` is the
  untempered log-prob of the token that ended the continuation and is not
  kept: the EOS token, or the first token after the kept ones when a stop
  string ends it (LM-Polygraph counts that token in its likelihoods; the
  kept ``logprobs`` never do). ``None`` when cut by length, or when the
  last kept token holds the whole stop string (e.g. one token for ``".\\n"``).
  ``Generation.sampling_logprobs`` are the log-probabilities under the
  distribution each token was actually drawn from (tempered, top-p
  renormalized); ``None`` for greedy continuations.
* A continuation ends at an end-of-sequence or other special token
  (:func:`~calibkit.engine.detokenize.end_token_ids`; ``finish_reason="eos"``),
  at a stop string (``"stop"``), or after ``max_new_tokens`` tokens
  (``"length"``). Where a stop string counts is ``stop_rule``
  (:data:`STOP_RULES`, :func:`~calibkit.engine.detokenize.find_stop`):
  ``"after_leading_whitespace"`` (the default) looks for it only after the
  continuation's leading whitespace, so a reply that opens with ``"\n"`` is
  not cut there; ``"first"`` cuts at its first occurrence anywhere, as
  lm-eval's ``generate_until`` does, so ``"\nParis"`` becomes ``""``. ``text``
  is the decoded continuation cut right before the stop string (the EOS
  token is never part of it). ``token_ids`` / ``logprobs`` are the
  *shortest* prefix of the generated tokens whose decoded text begins with
  ``text``: a token that straddles the start of a stop string (e.g. one
  token for ``".\\n"``) is kept, because part of it is answer text; the
  terminator itself (EOS, or a token that is all stop string) is not.
  A continuation may be empty (``text == ""``, no tokens) when it starts with
  a stop string (under ``"after_leading_whitespace"``, a non-whitespace one)
  or an EOS, or hold only whitespace.
* Left padding with an explicit attention mask and explicit position ids
  (``cumsum(mask) - 1``), so a batched context gives the same tokens as the
  context alone (up to float round-off in near-ties).
* Deterministic under ``seed``: a context's samples are drawn from a
  generator seeded by ``sha256(seed, context text)`` (:mod:`calibkit.engine.sampling`),
  so they do not depend on which other contexts share its batch, on their
  order, or on resuming a run; the global torch RNG is never used.

Not done: contexts are not grouped by a shared token prefix across
contexts (TriviaQA draws different few-shot examples per question, so
contexts share only the chat-template header); the prefix that matters —
one context shared by its greedy and sampled rows — is run once.

With ``hidden_states=True`` the prefill also returns the residual stream
at each context's last token, every layer (``output_hidden_states``: the
embeddings, then each decoder layer's output, the last after the final
norm), as float16 ``(n_layers + 1, d)`` per context: what a P(IK) probe
reads, from the same forward pass that starts the decoding.

Speed: contexts are sorted by length and packed by a token budget
(``rows x (context + max_new_tokens)``); rows that finish are dropped from
the batch (and from the KV cache) as they finish; out of memory halves the
batch and retries.

Each row's per-step bookkeeping (kept tokens, log-probs, entropies,
terminator) is :mod:`calibkit.engine.decode_rows`; scoring a text after the
start token alone (PMI) is :mod:`calibkit.engine.unconditional`.

This module must never compute metrics or write files.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from calibkit.engine.backoff import split_on_oom
from calibkit.engine.chat import starts_with_bos
from calibkit.engine.decode_rows import RowState, chosen_logp_and_entropy
from calibkit.engine.detokenize import TextSoFar, end_token_ids
from calibkit.engine.encoding import start_id
from calibkit.engine.models import LoadedModel
from calibkit.engine.sampling import context_seed, next_tokens
from calibkit.errors import UserError
from calibkit.progress import ProgressBar

FINISH_REASONS = ("stop", "eos", "length")
#: where a stop string ends a continuation: calibkit's rule (after the leading whitespace) or lm-eval's (anywhere)
STOP_RULES = ("after_leading_whitespace", "first")


class GenerationError(UserError):
    """Generation cannot go on; the message says what to change."""


@dataclass(frozen=True)
class GenerationConfig:
    """How to decode. The tokens do not depend on the speed options.

    Example:
        >>> GenerationConfig(samples=10, temperature=1.0).rows_per_context
        11
    """

    max_new_tokens: int = 32  # upper bound on generated tokens per continuation
    greedy: bool = True  # decode one greedy (argmax) continuation per context
    samples: int = 0  # sampled continuations per context, decoded in the same pass as the greedy one
    temperature: float = 1.0  # samples are drawn from softmax(logits / temperature); must be > 0 when samples > 0
    top_p: float = 1.0  # nucleus sampling: keep the smallest top set of tokens with this much mass; 1 keeps all
    stop: tuple[str, ...] = ("\n", "Q:")  # a continuation ends before the first of these (where: stop_rule)
    stop_rule: str = "after_leading_whitespace"  # STOP_RULES: after the leading whitespace, or "first" (lm-eval)
    seed: int = 0  # sampling seed (combined with each context's text)
    token_budget: int | None = None  # max rows x (context + max_new_tokens) tokens per batch; None: 8192 on CPU, 131072 on GPU
    max_batch_contexts: int = 64  # max contexts per batch
    progress: bool = True  # a progress bar on stderr (only when stderr is a terminal)
    hidden_states: bool = False  # also return each context's residual stream at its last token, every layer (float16)

    def __post_init__(self) -> None:
        if isinstance(self.max_new_tokens, bool) or not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive int; got {self.max_new_tokens!r}")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 0:
            raise ValueError(f"samples must be a non-negative int; got {self.samples!r}")
        if not self.greedy and self.samples == 0:
            raise ValueError("nothing to generate: set greedy=True or samples >= 1")
        if self.samples and not (isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature)
                                 and self.temperature > 0):
            raise ValueError(
                f"temperature must be a positive finite number when samples > 0; got {self.temperature!r} "
                "(greedy decoding is greedy=True, not temperature 0)"
            )
        if not (isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1):
            raise ValueError(f"top_p must be in (0, 1]; got {self.top_p!r}")
        if isinstance(self.stop, str) or not all(isinstance(s, str) and s for s in self.stop):
            raise ValueError(f"stop must be a tuple of non-empty strings; got {self.stop!r}")
        if self.stop_rule not in STOP_RULES:
            raise ValueError(f"stop_rule must be one of {', '.join(STOP_RULES)}; got {self.stop_rule!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int; got {self.seed!r}")
        if self.token_budget is not None and (not isinstance(self.token_budget, int) or self.token_budget < 1):
            raise ValueError(f"token_budget must be a positive int or None; got {self.token_budget!r}")
        if not isinstance(self.max_batch_contexts, int) or self.max_batch_contexts < 1:
            raise ValueError(f"max_batch_contexts must be a positive int; got {self.max_batch_contexts!r}")

    @property
    def rows_per_context(self) -> int:
        """Continuations decoded per context: the greedy one plus the samples."""
        return int(self.greedy) + self.samples


@dataclass(frozen=True)
class Generation:
    """One continuation of one context.

    Example (values illustrative):
        >>> g = Generation(text=" Paris", token_ids=(3681,), logprobs=(-0.25,),
        ...                sampling_logprobs=None, finish_reason="stop", greedy=True)
        >>> g.total_logprob, g.mean_logprob
        (-0.25, -0.25)
    """

    text: str  # decoded continuation, cut before a stop string (GenerationConfig.stop_rule); never holds EOS
    token_ids: tuple[int, ...]  # shortest prefix of the generated tokens whose text begins with `text`
    logprobs: tuple[float, ...]  # ln P(token | context, earlier tokens), UNTEMPERED model (T = 1, full vocabulary), one per token
    sampling_logprobs: tuple[float, ...] | None  # ln prob under the tempered, top-p distribution it was drawn from; None when greedy
    finish_reason: str  # "stop" (a stop string), "eos" (end-of-sequence token) or "length" (max_new_tokens reached)
    greedy: bool  # True for the argmax continuation, False for a sample
    entropies: tuple[float, ...] = ()  # nats: entropy of the UNTEMPERED next-token distribution at each kept token
    terminator_logprob: float | None = None  # ln P(the EOS / stop token that ended it), untempered; None: cut by length

    @property
    def total_logprob(self) -> float:
        """Sum of ``logprobs`` (nats): the untempered log-likelihood of the kept tokens; 0.0 when empty."""
        return float(sum(self.logprobs))

    @property
    def mean_logprob(self) -> float:
        """Mean of ``logprobs`` per token (nats); NaN when there are no tokens."""
        return float(sum(self.logprobs) / len(self.logprobs)) if self.logprobs else math.nan


@dataclass(frozen=True)
class ContextGenerations:
    """What one context produced: its greedy continuation and its samples."""

    greedy: Generation | None  # the argmax continuation; None when config.greedy is False
    samples: tuple[Generation, ...]  # config.samples sampled continuations, in sample order
    n_context_tokens: int  # tokens the context encoded to (BOS included)
    hidden_states: np.ndarray | None = field(default=None, compare=False)  # (n_layers + 1, d) float16 at the last context token; see GenerationConfig.hidden_states


# ------------------------------------------------------------ tokenization


def encode_context(tokenizer: Any, text: str) -> list[int]:
    """Token ids of a context: default special tokens unless it already starts with BOS text.

    An empty context becomes the BOS (or EOS) token alone, so there is a
    position to predict the first token from.
    """
    add_special = not starts_with_bos(text, tokenizer)
    ids = list(tokenizer(text, add_special_tokens=add_special)["input_ids"])
    if not ids:
        start = start_id(tokenizer)
        if start is None:
            raise GenerationError("empty context and a tokenizer without BOS/EOS token; pass a non-empty context")
        ids = [start]
    return ids


# ------------------------------------------------------------------ running


class _Decoder:
    """Decodes batches of contexts on one model."""

    def __init__(self, loaded: LoadedModel, config: GenerationConfig) -> None:
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.config = config
        self.device = torch.device(loaded.device)
        self.eos = end_token_ids(loaded)
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (min(self.eos) if self.eos else 0)
        params = inspect.signature(self.model.forward).parameters
        # transformers 5 renamed `past_key_values` to `cache`; speak whichever this version knows.
        self.cache_arg = "cache" if "cache" in params else "past_key_values"

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache, *,
                 hidden: bool = False):
        """Last-position logits and the cache; with ``hidden``, also every layer's last-position state."""
        kwargs: dict[str, Any] = {}
        if cache is not None:
            kwargs[self.cache_arg] = cache
        out = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
            use_cache=True,
            logits_to_keep=1,
            output_hidden_states=hidden,
            **kwargs,
        )
        new_cache = getattr(out, "cache", None)
        if new_cache is None:
            new_cache = out.past_key_values
        states = None
        if hidden:  # left padding: position -1 is every context's last token
            states = torch.stack([h[:, -1, :] for h in out.hidden_states], dim=1).to(torch.float16).cpu().numpy()
        return out.logits[:, -1, :].float(), new_cache, states

    @torch.inference_mode()
    def run(self, contexts: list[list[int]], texts: list[str]) -> list[ContextGenerations]:
        cfg = self.config
        logits, cache, mask, positions, states = self._prefill(contexts)
        per = cfg.rows_per_context
        kinds = ([-1] if cfg.greedy else []) + list(range(cfg.samples))
        rows = [RowState(b, k, TextSoFar(self.tokenizer, c), [], [], []) for b, c in enumerate(contexts) for k in kinds]
        if per > 1:
            cache.batch_repeat_interleave(per)
        logits = logits.repeat_interleave(per, dim=0)
        mask = mask.repeat_interleave(per, dim=0)
        next_pos = positions[:, -1].repeat_interleave(per) + 1
        generators = [torch.Generator().manual_seed(context_seed(cfg.seed, t)) for t in texts] if cfg.samples else []

        active = list(range(len(rows)))  # row indices, in cache order
        for step in range(cfg.max_new_tokens):
            live = [rows[r] for r in active]
            chosen, sampled_logp = next_tokens(logits, [r.context for r in live], [r.sample for r in live], generators,
                                               n_samples=cfg.samples, temperature=cfg.temperature, top_p=cfg.top_p)
            token_logp, entropy = chosen_logp_and_entropy(logits, chosen)
            tokens = chosen.tolist()  # one copy to the host per step
            keep = [i for i, r in enumerate(active)
                    if rows[r].extend(tokens[i], token_logp[i], sampled_logp[i], entropy[i], eos=self.eos,
                                      stop=cfg.stop, stop_rule=cfg.stop_rule, max_new_tokens=cfg.max_new_tokens)]
            if not keep or step == cfg.max_new_tokens - 1:
                break
            if len(keep) < len(active):
                index = torch.tensor(keep, dtype=torch.long)
                cache.batch_select_indices(index.to(self.device))
                mask, next_pos, chosen = mask[index], next_pos[index], chosen[index.to(chosen.device)]
                active = [active[i] for i in keep]
            mask = torch.cat([mask, torch.ones((len(active), 1), dtype=torch.long)], dim=1)
            logits, cache, _ = self._forward(chosen.unsqueeze(-1), mask, next_pos.unsqueeze(-1), cache)
            next_pos = next_pos + 1

        out: list[ContextGenerations] = []
        for b, context in enumerate(contexts):
            mine = [self._finish(r) for r in rows if r.context == b]
            out.append(ContextGenerations(greedy=mine[0] if cfg.greedy else None,
                                          samples=tuple(mine[int(cfg.greedy):]), n_context_tokens=len(context),
                                          hidden_states=None if states is None else states[b]))
        return out

    def _prefill(self, contexts: list[list[int]]):
        """Run the left-padded contexts once: last-position logits, the cache, the mask and the positions."""
        width = max(len(c) for c in contexts)
        ids = torch.full((len(contexts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(contexts), width), dtype=torch.long)
        for b, c in enumerate(contexts):
            ids[b, width - len(c):] = torch.tensor(c, dtype=torch.long)
            mask[b, width - len(c):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        logits, cache, states = self._forward(ids, mask, positions, None, hidden=self.config.hidden_states)
        return logits, cache, mask, positions, states

    @staticmethod
    def _finish(row: RowState) -> Generation:
        assert row.finish is not None and row.cut is not None
        k = row.text.shortest_prefix(row.cut)
        return Generation(
            text=row.cut,
            token_ids=tuple(row.tokens[:k]),
            logprobs=tuple(float(x) for x in row.logprobs[:k]),
            sampling_logprobs=None if row.sample == -1 else tuple(float(x) for x in row.sampling_logprobs[:k]),
            finish_reason=row.finish,
            greedy=row.sample == -1,
            entropies=tuple(float(x) for x in row.entropies[:k]),
            terminator_logprob=row.terminator_logprob(k),
        )

    def run_with_backoff(self, contexts: list[list[int]], texts: list[str]) -> list[ContextGenerations]:
        """Run a batch; on out-of-memory split it in half and run each half."""

        def too_big(context: tuple[list[int], str]) -> GenerationError:
            return GenerationError(
                f"out of memory generating {self.config.rows_per_context} continuations of one "
                f"{len(context[0])}-token context; use fewer samples, fewer shots, or --load-in-4bit"
            )

        pairs = list(zip(contexts, texts))
        parts = split_on_oom(pairs, lambda part: self.run([c for c, _ in part], [t for _, t in part]), too_big=too_big)
        return [out for _, outs in parts for out in outs]


def _batches(lengths: list[int], order: list[int], *, budget: int, per: int, new: int, cap: int) -> list[list[int]]:
    """Consecutive groups of ``order`` whose rows x (longest + new) fits ``budget`` (at least one each)."""
    out: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = max([lengths[j] for j in current] + [lengths[i]])
        if current and (len(current) >= cap or (len(current) + 1) * per * (longest + new) > budget):
            out.append(current)
            current = []
        current.append(i)
    if current:
        out.append(current)
    return out


def generate(
    loaded: LoadedModel, contexts: Sequence[str], *, config: GenerationConfig = GenerationConfig()
) -> list[ContextGenerations]:
    """Greedy and sampled continuations of each context, in the contexts' order.

    Args:
        loaded: the model and tokenizer.
        contexts: ``(n,)`` strings to continue (already rendered: a chat
            template is not applied here).
        config: decoding settings; see :class:`GenerationConfig`.

    Returns:
        ``list[ContextGenerations]`` of length ``n``: ``[i].greedy`` (when
        ``config.greedy``) and ``[i].samples`` (``config.samples`` of them).

    Raises:
        ValueError: a context is not a str.
        GenerationError: a context plus ``max_new_tokens`` exceeds the
            model's context length (fit it first, e.g. with
            ``tasks.free_answer.layouts.fit_context``), or out of memory on one context.

    Example:
        >>> outs = generate(loaded, ["Question: Capital of France?\\nAnswer:"],
        ...                 config=GenerationConfig(samples=5, temperature=1.0))   # doctest: +SKIP
        >>> outs[0].greedy.text, len(outs[0].samples)                             # doctest: +SKIP
        (' Paris', 5)
    """
    if isinstance(contexts, str):
        raise ValueError("contexts must be a sequence of strings, not a single str")
    for i, c in enumerate(contexts):
        if not isinstance(c, str):
            raise ValueError(f"contexts[{i}] must be a str, got {type(c).__name__}")
    if not isinstance(config, GenerationConfig):
        raise ValueError(f"config must be a GenerationConfig, got {type(config).__name__}")
    if not contexts:
        return []
    encoded = [encode_context(loaded.tokenizer, c) for c in contexts]
    limit = loaded.max_length
    for i, ids in enumerate(encoded):
        if len(ids) + config.max_new_tokens > limit:
            raise GenerationError(
                f"context {i} has {len(ids)} tokens; with max_new_tokens={config.max_new_tokens} it exceeds "
                f"the model's {limit}-token window: use fewer shots or fewer new tokens"
            )
    on_gpu = torch.device(loaded.device).type == "cuda"
    budget = config.token_budget or (131072 if on_gpu else 8192)
    lengths = [len(e) for e in encoded]
    # Longest first, so an out-of-memory shows on the first batch.
    order = sorted(range(len(encoded)), key=lambda i: (-lengths[i], i))
    batches = _batches(lengths, order, budget=budget, per=config.rows_per_context, new=config.max_new_tokens,
                       cap=config.max_batch_contexts)
    decoder = _Decoder(loaded, config)
    results: list[ContextGenerations | None] = [None] * len(encoded)
    progress = ProgressBar(len(encoded), enabled=config.progress, unit="ctx", desc="generate")
    try:
        for batch in batches:
            outs = decoder.run_with_backoff([encoded[i] for i in batch], [contexts[i] for i in batch])
            for i, o in zip(batch, outs):
                results[i] = o
            progress.update(len(batch))
    finally:
        progress.close()
    return results  # type: ignore[return-value]
