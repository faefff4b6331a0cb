"""A rhymes run: per couplet and model, the second lines it writes, their rhyme slots, its states and half-written lines.

Per batch of couplets, for each model (its base form, or its chat template
if it has one):

1. the greedy line 2 and ``samples`` lines at temperature T
   (:func:`calibkit.engine.generation.generate`, one batched pass, seeded per
   couplet), with every layer's hidden state at the last prompt token: the
   line break before line 2 in base form (Lindsey et al. 2025's position),
   the opened assistant turn in chat form;
2. each line found in the reply and classified (:mod:`.classify`, judged by
   :mod:`.judge`);
3. each line's rhyme slot read (:mod:`.slot`: the candidates' and the
   written word's log-probs given the rest of the line);
4. the logit lens at the line break (:func:`calibkit.engine.lens.logit_lens`):
   each candidate's and each written rhyme word's log-prob and rank per layer;
5. half-written lines: the first k words of a sample of the other model
   (its first sample with more than k words; a one-model run uses its own),
   forced as the start of line 2; their log-prob under this model
   (:func:`calibkit.engine.scoring.profile_tokens`), and the greedy line (and
   ``forced_samples`` samples) it writes on from there, classified, the
   greedy one's slot read.

The batch's arrays go to ``arrays/<n>.npz`` (:mod:`.arrays`), then one row
per couplet is appended, so a rerun resumes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from calibkit.engine.chat import render_chat, render_context
from calibkit.records import Prompt
from calibkit.runs.prompts import conversation, generation_reading
from calibkit.runs.runner import append_in_batches
from calibkit.runs.store import RunStore

from . import arrays
from .classify import SecondLine, classify, second_line
from .data import Couplet, CoupletSet
from .judge import RhymeJudge, default_judge, first_words
from .slot import DIGITS, SingleTokens, read_slot, single_token_words, slot_request

TASK = "rhymes"
BASE_STOP = ("\n",)  # a base model's line 2 ends at the line break


@dataclass(frozen=True)
class RhymeSettings:
    """What a rhymes run decodes and reads."""

    samples: int = 10  # lines sampled per couplet and model, besides the greedy one
    temperature: float = 1.0  # of the samples
    max_new_tokens: int = 24  # base form: one line
    chat_max_new_tokens: int = 48  # chat form: room for a preface before the line
    forced_words: tuple[int, ...] = (1, 2, 4)  # k: words of the other model's line forced before this one writes on
    forced_samples: int = 0  # sampled lines per forced prefix, besides the greedy one
    batch_size: int = 16  # couplets per stored batch
    seed: int = 0  # sampling seed (combined with each context's text)

    def config(self) -> dict[str, Any]:
        return {"samples": self.samples, "temperature": self.temperature, "max_new_tokens": self.max_new_tokens,
                "chat_max_new_tokens": self.chat_max_new_tokens, "forced_words": list(self.forced_words),
                "forced_samples": self.forced_samples, "seed": self.seed, "base_stop": list(BASE_STOP),
                "hidden_states": "last prompt token, every layer, float16",
                "candidates": "CMU rhymes of the end word, 3+ letters, read as one token after a space by every model"}


@dataclass(frozen=True)
class _Form:
    """How one model reads a couplet: its generation context and, in chat form, the template's separator."""

    context: str  # what the model continues
    separator: str  # chat form: what the template puts before the assistant's text ("" in base form)


def run_rhymes(store: RunStore, couplets: CoupletSet, readers: Mapping[str, Any], settings: RhymeSettings, *,
               system_prompt: str | None = None, progress: bool = True) -> int:
    """Do the couplets not stored yet, batch by batch, in this process; returns how many were done now."""
    from calibkit.tasks.freeform.pair import run_here

    work = rhymes_into(couplets, readers, settings, system_prompt=system_prompt)
    return run_here(store, couplets.questions, work, progress=progress)


def rhymes_into(couplets: CoupletSet, readers: Mapping[str, Any], settings: RhymeSettings, *,
                system_prompt: str | None = None) -> Callable[[RunStore, Sequence[Couplet], bool], None]:
    """``work(store, some_couplets, bars)``: their rows appended batch by batch (one process, or one rank's share)."""
    judge = default_judge()
    single = {role: SingleTokens(r.model.tokenizer) for role, r in readers.items()}

    def work(store: RunStore, items: Sequence[Couplet], bars: bool) -> None:
        append_in_batches(store, items, lambda chunk: batch_rows(store, chunk, readers, settings, judge, single,
                                                                 system_prompt),
                          batch_size=settings.batch_size, progress=bars, unit="couplet", desc=TASK)
    return work


def batch_rows(store: RunStore, batch: Sequence[Couplet], readers: Mapping[str, Any], settings: RhymeSettings,
               judge: RhymeJudge, single: Mapping[str, SingleTokens], system_prompt: str | None
               ) -> list[dict[str, Any]]:
    """The rows of one batch of couplets (their arrays written first)."""
    candidates = [single_token_words(judge.rhymes_of(c.end_word), list(single.values())) for c in batch]
    forms = {role: [_form(c, r, system_prompt) for c in batch] for role, r in readers.items()}
    store.keep_texts(_readings(batch, forms, readers, system_prompt))  # before the rows, as every run does
    written = {role: _write(r, [f.context for f in forms[role]], settings) for role, r in readers.items()}
    lines = {role: [_lines(c, g, judge) for c, g in zip(batch, written[role])] for role in readers}
    per_role, stored = {}, {}
    for role, r in readers.items():
        _read_slots(r, role, batch, forms[role], lines[role], candidates, system_prompt)
        lens, arrays_of_role = _lens(r, single[role], batch, written[role], lines[role], candidates)
        stored.update({f"{role}.{k}": v for k, v in arrays_of_role.items()})
        source = next((o for o in readers if o != role), role)
        forced = _forced(r, role, batch, forms[role], lines[source], source, settings, judge, candidates,
                         system_prompt)
        per_role[role] = (lens, forced)
    name = arrays.write_batch(store, stored)  # before the rows that point to it
    rows, starts = [], {role: 0 for role in readers}
    for i, (c, cands) in enumerate(zip(batch, candidates)):
        models = {}
        for role in readers:
            lens, forced = per_role[role]
            models[role] = {"lines": lines[role][i], "lens": lens[i], "forced": forced[i],
                            "arrays": {"file": name, "index": i, "lens_start": starts[role]}}
            starts[role] += len(cands)
        rows.append({"id": c.id, "task": TASK, "line": c.line, "end_word": c.end_word, "candidates": list(cands),
                     "models": models})
    return rows


def _readings(batch: Sequence[Couplet], forms: Mapping[str, Sequence[_Form]], readers: Mapping[str, Any],
              system_prompt: str | None) -> list[tuple[str, Any]]:
    """What each model read to write line 2 (its rendered context; the chat turns before the template)."""
    return [(c.id, generation_reading(form.context, label=f"answer/{role}",
                                      turns=conversation(c.turns(), system_prompt=system_prompt) if r.chat else (),
                                      answer_fields=[f"models.{role}.lines"]))
            for role, r in readers.items() for c, form in zip(batch, forms[role])]


def _form(c: Couplet, reader: Any, system_prompt: str | None) -> _Form:
    if not reader.chat:
        return _Form(c.base_context(), "")
    tok = reader.model.tokenizer
    opened = render_chat(tok, c.turns(), system_prompt=system_prompt)
    probe = Prompt(id=c.id, task=TASK, text=c.line, options=(" x",), turns=c.turns())
    text, _ = render_context(probe, tok, chat=True, system_prompt=system_prompt)
    return _Form(opened, text[len(opened):] if text.startswith(opened) else "")


def _write(reader: Any, contexts: list[str], settings: RhymeSettings, *, greedy_only: bool = False,
           samples: int | None = None, one_line: bool = False) -> list[Any]:
    """Each context's greedy line and samples. A chat reply runs on past line breaks (a preface may come before
    line 2), except with ``one_line``: a half-written line is read up to its first line break (``"first"``: a
    leading one too), so decoding stops there in either form; the line read is the same, with fewer steps."""
    from calibkit.engine.generation import GenerationConfig, generate

    n = settings.samples if samples is None else samples
    config = GenerationConfig(
        max_new_tokens=settings.chat_max_new_tokens if reader.chat else settings.max_new_tokens,
        samples=n, temperature=settings.temperature, stop=BASE_STOP if one_line or not reader.chat else (),
        stop_rule="first" if one_line else "after_leading_whitespace", seed=settings.seed,
        hidden_states=not greedy_only, progress=False)
    return generate(reader.model, contexts, config=config)


def _lines(c: Couplet, generations: Any, judge: RhymeJudge) -> list[dict[str, Any]]:
    """The greedy line, then each sample: the reply, line 2 found in it and its class."""
    out = []
    for g in (generations.greedy, *generations.samples):
        found = second_line(g.text, c.line)
        verdict = classify(found, c.end_word, judge)
        mean = g.mean_logprob
        out.append({"greedy": g.greedy, "text": g.text, "line": found.text, "kind": verdict.kind,
                    "word": verdict.word, "word_start": verdict.word_start, "finish": g.finish_reason,
                    "mean_logprob": round(mean, DIGITS) if math.isfinite(mean) else None, "slot": None})
    return out


def _before(reply: str, at: int, separator: str) -> str:
    """The reply up to a word, without the template separator the reply itself opens with (it is context)."""
    text = reply[:at]
    return text[len(separator):] if separator and text.startswith(separator) else text


def _read_slots(reader: Any, role: str, batch: Sequence[Couplet], forms: Sequence[_Form],
                lines: list[list[dict[str, Any]]], candidates: Sequence[tuple[str, ...]],
                system_prompt: str | None, *, forced: bool = False) -> None:
    """Fill each line's ``slot`` (lines without a word, or with nothing before it, keep None)."""
    requests = {}
    for i, (c, form, cands) in enumerate(zip(batch, forms, candidates)):
        for j, line in enumerate(lines[i]):
            if line["word"] is None or (forced and not line["greedy"]):
                continue
            req = slot_request(f"{role}/{c.id}/{'forced' if forced else 'own'}/{i}/{j}", text=c.base_context(),
                               turns=c.turns(), chat=reader.chat, before=_before(line["text"], line["word_start"],
                                                                                 form.separator),
                               word=line["word"], candidates=cands)
            if req is not None:
                requests[(i, j)] = req
    logprobs = _score(reader, [p for r in requests.values() for p in r.prompts], system_prompt)
    for (i, j), req in requests.items():
        lines[i][j]["slot"] = read_slot(req, logprobs)


def _score(reader: Any, prompts: list[Prompt], system_prompt: str | None) -> dict[str, tuple[float, ...]]:
    from calibkit.engine.scoring import ScoreConfig, score

    if not prompts:
        return {}
    config = ScoreConfig(chat=reader.chat, system_prompt=system_prompt, progress=False)
    return {item.id: item.logprobs for item in score(reader.model, prompts, config=config)}


def _lens(reader: Any, single: SingleTokens, batch: Sequence[Couplet], written: Sequence[Any],
          lines: list[list[dict[str, Any]]], candidates: Sequence[tuple[str, ...]]
          ) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Per couplet the logit lens of its written rhyme words (ranks per layer); the batch's arrays."""
    from calibkit.engine.lens import logit_lens, unembedding_rows

    states = [g.hidden_states for g in written]
    words = [sorted({ln["word"].lower() for ln in ls if ln["kind"] == "rhyme"}) for ls in lines]
    cand_ids = [single.first_token(list(c)) if c else [] for c in candidates]
    word_ids = [single.first_token(w) if w else [] for w in words]
    readings = logit_lens(reader.model, states, [c + w for c, w in zip(cand_ids, word_ids)])
    out = []
    for cids, ws, wids, r in zip(cand_ids, words, word_ids, readings):
        n = len(cids)
        out.append({"candidate_ids": cids, "words": ws, "word_ids": wids,
                    "rank": r.ranks[:, n:].T.tolist(), "logprob": np.round(r.logprobs[:, n:].T, 3).tolist()})
    vocab = sorted({t for ids in cand_ids for t in ids})
    d = states[0].shape[-1]
    lens = [r.logprobs[:, :len(c)].T for r, c in zip(readings, cand_ids)]
    return out, {
        "states": np.stack(states).astype(np.float16),
        "lens": np.concatenate(lens).astype(np.float32) if vocab else np.zeros((0, states[0].shape[0]), np.float32),
        "vocab_ids": np.asarray(vocab, dtype=np.int64),
        "vocab_rows": unembedding_rows(reader.model, vocab).astype(np.float16) if vocab else np.zeros((0, d),
                                                                                                      np.float16)}


def _forced(reader: Any, role: str, batch: Sequence[Couplet], forms: Sequence[_Form],
            source_lines: list[list[dict[str, Any]]], source: str, settings: RhymeSettings, judge: RhymeJudge,
            candidates: Sequence[tuple[str, ...]], system_prompt: str | None) -> list[list[dict[str, Any]]]:
    """Per couplet, per k: the other model's first k words forced, and the lines this model writes on from there."""
    jobs = []  # (couplet index, k, sample index, prefix)
    for i, ls in enumerate(source_lines):
        for k in settings.forced_words:
            j, prefix = next(((j, p) for j, ln in enumerate(ls) if not ln["greedy"]
                              and (p := first_words(ln["line"], k)) is not None), (None, None))
            if prefix is not None:
                jobs.append((i, k, j, prefix))
    out: list[list[dict[str, Any]]] = [[] for _ in batch]
    if not jobs:
        return out
    contexts = [forms[i].context + forms[i].separator + prefix for i, _, _, prefix in jobs]
    written = _write(reader, contexts, settings, greedy_only=True, samples=settings.forced_samples, one_line=True)
    prefix_reads = _prefix_logprobs(reader, [(batch[i], prefix) for i, _, _, prefix in jobs], system_prompt)
    forced_lines = []
    for (i, k, j, prefix), g in zip(jobs, written):
        ls = []
        for gen in (g.greedy, *g.samples):
            line = (prefix + gen.text).split("\n")[0]
            v = classify(SecondLine(line, 0), batch[i].end_word, judge)
            ls.append({"greedy": gen.greedy, "text": line, "line": line, "kind": v.kind, "word": v.word,
                       "word_start": v.word_start, "slot": None})
        forced_lines.append(ls)
    _read_slots(reader, role, [batch[i] for i, *_ in jobs], [_Form("", "") for _ in jobs], forced_lines,
                [candidates[i] for i, *_ in jobs], system_prompt, forced=True)
    for (i, k, j, prefix), ls, (total, n) in zip(jobs, forced_lines, prefix_reads):
        out[i].append({"k": k, "from": f"{source}/{j}", "prefix": prefix, "prefix_logprob": round(total, DIGITS),
                       "prefix_tokens": n, "lines": ls})
    return out


def _prefix_logprobs(reader: Any, pairs: Sequence[tuple[Couplet, str]], system_prompt: str | None
                     ) -> list[tuple[float, int]]:
    """ln P(prefix | couplet) under this model, as it would open line 2, and the prefix's token count."""
    from calibkit.engine.scoring import ScoreConfig, profile_tokens

    prompts = [Prompt(id=f"{c.id}/forced/{n}", task="rhyme_prefix", text=c.base_context(), options=(prefix,),
                      turns=c.turns()) for n, (c, prefix) in enumerate(pairs)]
    config = ScoreConfig(chat=reader.chat, system_prompt=system_prompt, progress=False)
    return [(float(p.logprobs.sum()), len(p.token_ids)) for p in profile_tokens(reader.model, prompts, config=config)]
