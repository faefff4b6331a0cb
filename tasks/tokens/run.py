"""A token-profile run: answers written by one model (or each), every answer read by every model.

Per batch of questions: each writer's greedy answer (its base-form prompt,
or its chat template if it has one), judged by the source's matcher; then
each model reads every answer in its own form
(:func:`calibkit.engine.scoring.profile_tokens`: one batched,
prefix-cached forward pass per model), giving per token the log-prob,
the entropy of the next-token distribution, the top-1 probability, the
rank and the character span; and per word (:mod:`.align`) each model's
reading at the word's first token. One row per question, appended batch
by batch, so a rerun resumes; what each model read is recorded first in
the run's prompt records (labels ``answer/<writer>`` and
``read/<reader>/<writer>``; see `calibkit show`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from calibkit.runs.store import RunStore
from calibkit.tasks.free_answer.answers import MATCHERS
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.specs import QuestionSet
from calibkit.tasks.freeform.batches import QuestionRun, answers_alone, read_answers
from calibkit.tasks.freeform.pair import Reader, context_for

from .align import word_readings, words_of

TASK = "tokens"
DIGITS = 6  # stored floats are rounded to this many decimals


@dataclass(frozen=True)
class TokenSettings:
    """What a token-profile run writes and reads."""

    writers: tuple[str, ...]  # roles whose answers are read ("base", "chat", or the one "model")
    max_new_tokens: int  # per answer
    batch_size: int = 16  # questions per stored batch

    def config(self) -> dict[str, Any]:
        return {"writers": list(self.writers), "max_new_tokens": self.max_new_tokens}


def _batch_rows(batch: Sequence[Question], qs: QuestionSet, readers: Mapping[str, Reader],
                settings: TokenSettings, system_prompt: str | None, store: RunStore) -> list[dict[str, Any]]:
    judge = MATCHERS[qs.matcher]
    written: dict[str, list[str]] = {}
    for role in settings.writers:
        w = readers[role]
        alone = answers_alone(w, qs, batch, [context_for(qs, q, w, system_prompt) for q in batch],
                              max_new_tokens=settings.max_new_tokens, role=role, answer_field=f"answers.{role}.text",
                              system_prompt=system_prompt, store=store)
        written[role] = [text.strip() for text in alone]
    reads = {role: read_answers(r, qs, batch, written, system_prompt=system_prompt, store=store, role=role)
             for role, r in readers.items()}
    rows = []
    for i, q in enumerate(batch):
        answers = {}
        for writer, texts in written.items():
            text = texts[i]
            correct = None if not qs.has_answers else bool(text) and judge.match(judge.extract(text), q.aliases).exact
            answers[writer] = {"text": text, "correct": correct,
                               **_profiles(text, {role: reads[role][writer][i] for role in readers})}
        rows.append({"id": q.id, "question": q.question, "aliases": list(q.aliases), "task": TASK,
                     "answers": answers})
    return rows


#: run_tokens(store, questions, readers, settings, *, system_prompt=None, progress=True) -> how many done now: the
#: questions not stored yet, in this process; profile_into(questions, readers, settings, *, system_prompt=None):
#: the work :func:`calibkit.tasks.freeform.pair.run_pair` hands them to
PROFILES = QuestionRun(_batch_rows, desc="token profiles")
run_tokens, profile_into = PROFILES.run_here, PROFILES.into


def _profiles(text: str, profiles: Mapping[str, Any]) -> dict[str, Any]:
    """The stored readings of one answer: per model its tokens, and per word every model's reading."""
    reads, per_word, words = {}, {}, None
    for role, prof in profiles.items():
        if prof is None:
            continue
        if prof.text != text:  # profile_tokens reads the answer's own tokens, never the joining whitespace
            raise ValueError(f"{role} read {prof.text!r} as the answer {text!r}")
        spans = prof.spans
        tokens = [text[a:b] for a, b in spans]
        values = {"logprob": prof.logprobs, "entropy": prof.entropy, "top1": prof.top1}
        reads[role] = {"tokens": tokens, "spans": spans.tolist(),
                       **{name: [round(float(x), DIGITS) for x in v] for name, v in values.items()},
                       "rank": [int(x) for x in prof.rank]}
        words = words_of(text, spans)
        per_word[role] = word_readings(words, prof.logprobs, prof.entropy, prof.top1, prof.rank)
    word_rows = [{"text": w.text, "start": w.start, "end": w.end, "class": w.kind,
                  **{role: _rounded(per_word[role][j]) for role in per_word}} for j, w in enumerate(words or [])]
    return {"reads": reads, "words": word_rows}


def _rounded(reading: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {k: round(v, DIGITS) if isinstance(v, float) else v for k, v in reading.items()}
