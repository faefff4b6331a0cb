"""A Nudging run: per question, the base model alone, the nudger alone, and the nudged answer at each gamma.

Per batch of questions (Fei et al. 2024): greedy answers of the base model
(its base-form prompt, or its chat template if it has one) and of the
nudger (its chat template), then :func:`calibkit.engine.nudging.nudge` at
every ``gamma`` by the run's rule (``"reference"``: the authors' code;
``"word-start"``: calibkit's variant), the nudger reading the answer after
its template's separator; each answer judged by the source's matcher; each answer's
sequence likelihood under the base model (exp of the mean token log-prob,
read by :func:`calibkit.engine.scoring.profile_tokens`), the confidence
whose calibration the report reads. One row per question, appended batch
by batch, so a rerun resumes; what each model read is recorded first in
the run's prompt records (labels ``answer/base``, ``answer/nudger`` and
``read/base/<answer>``; see `calibkit show`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from calibkit.runs.store import RunStore
from calibkit.tasks.free_answer.answering import context_reading
from calibkit.tasks.free_answer.answers import MATCHERS
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.specs import QuestionSet
from calibkit.tasks.freeform.batches import Work, read_answers, rows_into
from calibkit.tasks.freeform.pair import Reader, answer_separator, context_for, run_here
from calibkit.tasks.freeform.words import word_class

TASK = "nudging"


@dataclass(frozen=True)
class NudgingSettings:
    """What a Nudging run decodes."""

    gammas: tuple[float, ...]  # nudging thresholds, each a condition
    max_new_tokens: int  # per answer
    batch_size: int = 16  # questions per stored batch
    rule: str = "reference"  # "reference" (the authors' code) or "word-start" (calibkit's variant)

    def config(self) -> dict[str, Any]:
        from calibkit.engine.nudging import NudgeConfig

        rule = NudgeConfig(rule=self.rule)
        fixed = {"nudger_tokens": rule.nudger_tokens, "base_tokens": rule.base_tokens, "max_rounds": rule.max_rounds} \
            if self.rule == "reference" else {"max_word_tokens": rule.max_word_tokens}
        return {"gammas": list(self.gammas), "max_new_tokens": self.max_new_tokens, "rule": self.rule, **fixed}


def run_nudging(store: RunStore, questions: QuestionSet, readers: Mapping[str, Reader], settings: NudgingSettings,
                *, system_prompt: str | None = None, progress: bool = True) -> int:
    """Decode the questions not stored yet, batch by batch, in this process; returns how many now."""
    work = nudge_into(questions, readers, settings, system_prompt=system_prompt)
    return run_here(store, questions.questions, work, progress=progress)


def nudge_into(questions: QuestionSet, readers: Mapping[str, Reader], settings: NudgingSettings, *,
               system_prompt: str | None = None) -> Work:
    """``work(store, some_questions, bars)``: their rows appended batch by batch (one process, or one rank's share)."""
    return rows_into(lambda batch, store: _batch_rows(batch, questions, readers, settings, system_prompt, store),
                     batch_size=settings.batch_size, desc="nudging")


def _batch_rows(batch: Sequence[Question], qs: QuestionSet, readers: Mapping[str, Reader],
                settings: NudgingSettings, system_prompt: str | None, store: RunStore) -> list[dict[str, Any]]:
    from calibkit.engine.generation import GenerationConfig, generate
    from calibkit.engine.nudging import NudgeConfig, nudge

    base, nudger = readers["base"], readers["nudger"]
    base_ctx = [context_for(qs, q, base, system_prompt) for q in batch]
    nudger_ctx = [context_for(qs, q, nudger, system_prompt) for q in batch]
    separators = [answer_separator(qs, q, nudger, system_prompt) for q in batch]
    gen = GenerationConfig(max_new_tokens=settings.max_new_tokens, stop=qs.layout.stop, progress=False)
    for role, reader, contexts in (("base", base, base_ctx), ("nudger", nudger, nudger_ctx)):
        store.keep_texts((q.id, context_reading(qs, q, text, chat=reader.chat, system_prompt=system_prompt,
                                                answer_fields=[f"{role}.raw"], label=f"answer/{role}"))
                         for q, text in zip(batch, contexts))
    alone = {"base": [g.greedy.text for g in generate(base.model, base_ctx, config=gen)],
             "nudger": [g.greedy.text for g in generate(nudger.model, nudger_ctx, config=gen)]}
    nudged = {}
    for gamma in settings.gammas:
        config = NudgeConfig(gamma=gamma, rule=settings.rule, max_new_tokens=settings.max_new_tokens,
                             stop=qs.layout.stop, batch_size=len(batch), progress=False)
        nudged[gamma] = nudge(base.model, nudger.model, base_ctx, nudger_ctx, config=config,
                              nudger_separators=separators)
    texts = {**alone, **{f"gamma={g}": [a.text for a in answers] for g, answers in nudged.items()}}
    likelihood = _base_likelihoods(base, qs, batch, texts, system_prompt, store)
    answers = MATCHERS[qs.matcher]
    rows = []
    for i, q in enumerate(batch):
        row = {"id": q.id, "question": q.question, "aliases": list(q.aliases), "task": TASK}
        for name, values in alone.items():
            row[name] = _judged(values[i], q, answers, likelihood[name][i], qs.has_answers)
        row["nudged"] = {str(g): {**_judged(a[i].text, q, answers, likelihood[f"gamma={g}"][i], qs.has_answers),
                                  **_words(a[i])} for g, a in nudged.items()}
        rows.append(row)
    return rows


def _judged(text: str, q: Question, answers: Any, seq_prob: float | None, has_answers: bool) -> dict[str, Any]:
    answer = answers.extract(text)
    return {"raw": text, "answer": answer,
            "correct": bool(answers.match(answer, q.aliases).exact) if has_answers else None, "seq_prob": seq_prob}


def _words(a: Any) -> dict[str, Any]:
    """The answer's whitespace-separated words (who wrote each, its class) and its text by writer."""
    return {"words": [{"text": w.text, "by": w.by, "base_top1": None if math.isnan(w.base_top1) else w.base_top1,
                       "class": word_class(w.text)} for w in a.words],
            "spans": [list(span) for span in a.spans],
            "nudged_share": None if math.isnan(a.nudged_share) else a.nudged_share,
            "finish_reason": a.finish_reason, "n_base_tokens": a.n_base_tokens, "n_nudger_tokens": a.n_nudger_tokens}


def _base_likelihoods(base: Reader, qs: QuestionSet, batch: Sequence[Question], texts: Mapping[str, list[str]],
                      system_prompt: str | None, store: RunStore | None = None) -> dict[str, list[float | None]]:
    """exp(mean token log-prob) of every answer under the base model, in its own form; None when empty."""
    profiles = read_answers(base, qs, batch, texts, system_prompt=system_prompt, store=store, role="base",
                            task="nudging_likelihood")
    return {name: [float(math.exp(prof.logprobs.mean())) if prof is not None and len(prof.logprobs) else None
                   for prof in column] for name, column in profiles.items()}
