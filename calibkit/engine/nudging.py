"""Nudging (Fei et al. 2024): a base model decodes, and a small chat model writes the words it is unsure of.

Contract:

* The base model decodes greedily from its context. At the start of each
  word (the answer's first token, a token that opens with whitespace, or the
  token after a nudged word), if the base model's top-1 probability is below
  ``gamma``, the **nudger** writes the next word instead: it continues its own
  context (the question in its chat template) followed by the answer so far
  (leading whitespace dropped), greedily, until its text holds a whole word
  (a whitespace run, then non-whitespace characters up to the next
  whitespace, a stop string or its end-of-sequence). The word is appended to
  the answer as text and the base model goes on from there. The hand-over
  is by text, so the two tokenizers may differ. A first word that the base
  context would separate by a space gets one.
* ``gamma = 0`` never nudges: the answer is the base model's greedy answer.
  ``gamma = 1`` nudges every word: the answer is the nudger's, word by word.
* Stop strings (after the answer's leading whitespace) and ``max_new_tokens``
  (base tokens plus nudged words' tokens) end an answer, as for generation.
* Batched across questions: the base model keeps one left-padded KV cache
  for all of them and each step feeds every question its new tokens (one
  base token, or the tokens of a nudged word); where re-tokenizing the
  answer with a nudged word changes the base model's last tokens, those
  cache slots are masked out and the new tokens fed. The nudger runs a fresh
  batched prefill for the questions it nudges at that step.

This module must never compute metrics or write files.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from calibkit.engine.generation import encode_context, end_token_ids
from calibkit.engine.models import LoadedModel
from calibkit.progress import ProgressBar


@dataclass(frozen=True)
class NudgeConfig:
    """How to nudge."""

    gamma: float = 0.4  # nudge a word when the base model's top-1 probability at its start is below this
    max_new_tokens: int = 32  # bound on base tokens plus nudged words' tokens per answer
    stop: tuple[str, ...] = ("\n",)  # an answer ends before the first of these after its leading whitespace
    max_word_tokens: int = 8  # bound on the nudger's tokens for one word
    batch_size: int = 32  # questions decoded together
    progress: bool = True

    def __post_init__(self) -> None:
        if not (isinstance(self.gamma, (int, float)) and 0.0 <= self.gamma <= 1.0):
            raise ValueError(f"gamma must be in [0, 1]; got {self.gamma!r}")
        for name in ("max_new_tokens", "max_word_tokens", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")


@dataclass(frozen=True)
class NudgedWord:
    """One word of a nudged answer."""

    text: str  # the word with its leading whitespace
    by: str  # "base" or "nudger"
    base_top1: float  # the base model's top-1 probability where the word starts
    index: int  # its position among the answer's words (0: first)


@dataclass(frozen=True)
class NudgedAnswer:
    """A nudged answer and who wrote which word."""

    text: str  # the answer, cut before a stop string
    words: tuple[NudgedWord, ...]
    finish_reason: str  # "stop", "eos" or "length"
    n_base_tokens: int  # tokens the base model wrote
    n_nudger_tokens: int  # tokens the nudger wrote (of kept words)

    @property
    def nudged_share(self) -> float:
        """Share of the answer's words the nudger wrote; NaN without words."""
        return sum(w.by == "nudger" for w in self.words) / len(self.words) if self.words else math.nan


class _Stream:
    """One model's batched KV cache that rows can extend by several tokens, or shorten, at each call."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        self.device = torch.device(loaded.device)
        pad = self.tokenizer.pad_token_id
        self.pad = pad if pad is not None else 0
        params = inspect.signature(self.model.forward).parameters
        self.cache_arg = "cache" if "cache" in params else "past_key_values"

    @torch.inference_mode()
    def start(self, seqs: list[list[int]]) -> torch.Tensor:
        """Prefill left-padded sequences; (B, V) next-token logits."""
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad, dtype=torch.long)
        self.mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for b, s in enumerate(seqs):
            ids[b, width - len(s):] = torch.tensor(s, dtype=torch.long)
            self.mask[b, width - len(s):] = 1
        self.ids = [list(s) for s in seqs]
        self.slots = [list(range(width - len(s), width)) for s in seqs]
        positions = (self.mask.cumsum(-1) - 1).clamp(min=0)
        self.cache = None
        self.last = self._forward(ids, positions, keep=1)[:, -1, :].float()
        return self.last

    @torch.inference_mode()
    def feed(self, add: list[list[int]], drop: list[int]) -> torch.Tensor:
        """Mask out each row's last ``drop[b]`` tokens, append ``add[b]``; (B, V) logits after each row's last token."""
        for b, n in enumerate(drop):
            for _ in range(n):
                self.mask[b, self.slots[b].pop()] = 0
                self.ids[b].pop()
        width = max(len(a) for a in add)
        if width == 0:
            return self.last
        start = self.mask.shape[1]
        ids = torch.full((len(add), width), self.pad, dtype=torch.long)
        new_mask = torch.zeros((len(add), width), dtype=torch.long)
        positions = torch.zeros((len(add), width), dtype=torch.long)
        for b, a in enumerate(add):
            n = len(self.ids[b])
            positions[b] = torch.arange(n, n + width)
            if a:
                ids[b, :len(a)] = torch.tensor(a, dtype=torch.long)
                new_mask[b, :len(a)] = 1
                self.ids[b].extend(a)
                self.slots[b].extend(range(start, start + len(a)))
        self.mask = torch.cat([self.mask, new_mask], dim=1)
        logits = self._forward(ids, positions, keep=width)
        for b, a in enumerate(add):
            if a:
                self.last[b] = logits[b, len(a) - 1].float()
        return self.last

    def keep(self, rows: list[int]) -> None:
        """Drop every row but ``rows`` (finished questions leave the batch)."""
        index = torch.tensor(rows, dtype=torch.long)
        self.cache.batch_select_indices(index.to(self.device))
        self.mask, self.last = self.mask[index], self.last[index]
        self.ids = [self.ids[i] for i in rows]
        self.slots = [self.slots[i] for i in rows]

    def _forward(self, ids: torch.Tensor, positions: torch.Tensor, *, keep: int) -> torch.Tensor:
        kwargs: dict[str, Any] = {} if self.cache is None else {self.cache_arg: self.cache}
        out = self.model(input_ids=ids.to(self.device), attention_mask=self.mask.to(self.device),
                         position_ids=positions.to(self.device), use_cache=True, logits_to_keep=keep, **kwargs)
        self.cache = getattr(out, "cache", None) or out.past_key_values
        return out.logits


def _decode_tail(tokenizer: Any, anchor: list[int], ids: list[int]) -> str:
    """The text of ``ids`` as it reads after ``anchor`` (keeps a first token's leading space)."""
    base = tokenizer.decode(anchor, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    full = tokenizer.decode(anchor + ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    return full[len(base):] if full.startswith(base) else tokenizer.decode(ids, skip_special_tokens=False)


def _first_stop(text: str, stops: Sequence[str]) -> int:
    start = len(text) - len(text.lstrip())
    hits = [i for i in (text.find(s, start) for s in stops) if i >= 0] if start < len(text) else []
    return min(hits) if hits else -1


def _whole_word(text: str) -> str | None:
    """The first whole word of ``text`` (leading whitespace kept) when a whitespace after it shows it ended."""
    body = text.lstrip()
    lead = text[: len(text) - len(body)]
    for i, ch in enumerate(body):
        if ch.isspace():
            return lead + body[:i] if i else None
    return None


def _cut_words(words: list[NudgedWord], length: int) -> list[NudgedWord]:
    """The words that make up the first ``length`` characters (the last one cut), dropping empty ones."""
    out, at = [], 0
    for w in words:
        if at >= length:
            break
        text = w.text[: length - at]
        at += len(w.text)
        if text.strip():
            out.append(NudgedWord(text, w.by, w.base_top1, len(out)))
    return out


@dataclass
class _Answer:
    """Decoding state of one question."""

    text: str = ""
    words: list = None  # NudgedWord list
    base_tokens: int = 0
    nudger_tokens: int = 0
    after_nudge: bool = False
    finish: str | None = None

    def __post_init__(self) -> None:
        self.words = []


class _Nudger:
    """Writes one word per asked question, with a fresh batched prefill of its context plus the answer so far."""

    def __init__(self, loaded: LoadedModel, config: NudgeConfig) -> None:
        self.loaded, self.config = loaded, config
        self.eos = end_token_ids(loaded)

    def words(self, contexts: list[str], answers: list[str]) -> list[tuple[str, int, bool]]:
        """(word, tokens used, ended by end-of-sequence) per question."""
        tok = self.loaded.tokenizer
        seqs = [encode_context(tok, c + a.lstrip()) for c, a in zip(contexts, answers)]
        stream = _Stream(self.loaded)
        logits = stream.start(seqs)
        made: list[list[int]] = [[] for _ in seqs]
        done: list[tuple[str, int, bool] | None] = [None] * len(seqs)
        for _ in range(self.config.max_word_tokens):
            picks = logits.argmax(dim=-1).tolist()
            for b, t in enumerate(picks):
                if done[b] is None:
                    done[b] = self._step(tok, seqs[b], made[b], t)
            if all(d is not None for d in done):
                break
            logits = stream.feed([[t] if done[b] is None else [] for b, t in enumerate(picks)], [0] * len(seqs))
        return [d if d is not None else (_decode_tail(tok, s, m), len(m), False) for d, s, m in zip(done, seqs, made)]

    def _step(self, tok: Any, seq: list[int], made: list[int], t: int) -> tuple[str, int, bool] | None:
        if t in self.eos:
            return _decode_tail(tok, seq, made), len(made), True
        made.append(t)
        text = _decode_tail(tok, seq, made)
        word = _whole_word(text)
        if word is not None:
            return word, len(made), False
        at = _first_stop(text, self.config.stop)
        return (text[:at], len(made), False) if at >= 0 else None


def nudge(
    base: LoadedModel, nudger: LoadedModel, base_contexts: Sequence[str], nudger_contexts: Sequence[str], *,
    config: NudgeConfig = NudgeConfig(),
) -> list[NudgedAnswer]:
    """Nudged greedy answers, one per context pair, in order (see the module docstring)."""
    if len(base_contexts) != len(nudger_contexts):
        raise ValueError("base_contexts and nudger_contexts must pair up (one of each per question)")
    out: list[NudgedAnswer] = []
    progress = ProgressBar(len(base_contexts), enabled=config.progress, unit="question", desc="nudging")
    try:
        for start in range(0, len(base_contexts), config.batch_size):
            stop = start + config.batch_size
            out.extend(_Batch(base, nudger, config).run(list(base_contexts[start:stop]),
                                                        list(nudger_contexts[start:stop])))
            progress.update(min(stop, len(base_contexts)) - start)
    finally:
        progress.close()
    return out


class _Batch:
    """Nudged decoding of one batch of questions."""

    def __init__(self, base: LoadedModel, nudger: LoadedModel, config: NudgeConfig) -> None:
        self.base, self.config = base, config
        self.nudger = _Nudger(nudger, config)
        self.eos = end_token_ids(base)
        self.tok = base.tokenizer

    def run(self, contexts: list[str], nudger_contexts: list[str]) -> list[NudgedAnswer]:
        stream = _Stream(self.base)
        ctx_ids = [encode_context(self.tok, c) for c in contexts]
        logits = stream.start(ctx_ids)
        answers = [_Answer() for _ in contexts]
        active = list(range(len(contexts)))  # question index of each stream row
        while active:
            add, drop, nudge_rows = self._base_step(logits, stream, active, answers, contexts, ctx_ids)
            if nudge_rows:
                self._nudge(nudge_rows, active, answers, contexts, nudger_contexts, stream, add, drop)
            keep = [r for r, q in enumerate(active) if answers[q].finish is None]
            if not keep:
                break
            if len(keep) < len(active):
                stream.keep(keep)
                add, drop = [add[r] for r in keep], [drop[r] for r in keep]
                active = [active[r] for r in keep]
            logits = stream.feed(add, drop)
        return [NudgedAnswer(a.text, tuple(a.words), a.finish or "length", a.base_tokens, a.nudger_tokens)
                for a in answers]

    def _base_step(self, logits, stream, active, answers, contexts, ctx_ids):
        probs = torch.softmax(logits.float(), dim=-1)
        top1, picks = probs.max(dim=-1)
        add: list[list[int]] = [[] for _ in active]
        drop = [0] * len(active)
        nudge_rows = []
        for r, q in enumerate(active):
            a, t, p = answers[q], int(picks[r]), float(top1[r])
            piece = _decode_tail(self.tok, stream.ids[r], [t])
            starts = not a.text or a.text[-1].isspace() or a.after_nudge or piece[:1].isspace()
            if starts and p < self.config.gamma:
                nudge_rows.append((r, p))
                continue
            if t in self.eos:
                a.finish = "eos"
                continue
            a.after_nudge = False
            self._append(a, piece, "base", p, starts, n_tokens=1)
            add[r] = [t]
        return add, drop, nudge_rows

    def _append(self, a: _Answer, piece: str, by: str, top1: float, starts: bool, *, n_tokens: int) -> None:
        """Add a base token's text (or a nudged word) to the answer; finish it at a stop string or the length."""
        if starts or not a.words:
            a.words.append(NudgedWord(piece, by, top1, len(a.words)))
        else:
            last = a.words[-1]
            a.words[-1] = NudgedWord(last.text + piece, last.by, last.base_top1, last.index)
        if by == "base":
            a.base_tokens += n_tokens
        else:
            a.nudger_tokens += n_tokens
        a.text += piece
        at = _first_stop(a.text, self.config.stop)
        if at >= 0:
            a.text, a.finish = a.text[:at], "stop"
            a.words = _cut_words(a.words, len(a.text))
        elif a.base_tokens + a.nudger_tokens >= self.config.max_new_tokens:
            a.finish = "length"

    def _nudge(self, rows, active, answers, contexts, nudger_contexts, stream, add, drop) -> None:
        qs = [active[r] for r, _ in rows]
        written = self.nudger.words([nudger_contexts[q] for q in qs], [answers[q].text for q in qs])
        for (r, p), q, (word, n_tokens, eos) in zip(rows, qs, written):
            a = answers[q]
            if not a.text and contexts[q][-1:] and not contexts[q][-1].isspace() and word[:1] != " ":
                word = " " + word.lstrip()
            if not word.strip():
                a.finish = "eos" if eos else "stop"
                continue
            self._append(a, word, "nudger", p, True, n_tokens=n_tokens)
            a.after_nudge = True
            if eos and a.finish is None:
                a.finish = "eos"
            add[r], drop[r] = self._resync(stream.ids[r], contexts[q] + a.text)

    def _resync(self, current: list[int], text: str) -> tuple[list[int], int]:
        """The tokens to append and how many of the current ones to mask so the cache reads ``text``."""
        target = encode_context(self.tok, text)
        k = 0
        while k < min(len(target), len(current)) and target[k] == current[k]:
            k += 1
        return target[k:], len(current) - k
