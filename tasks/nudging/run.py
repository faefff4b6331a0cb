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
from calibkit.tasks.free_answer.answers import MATCHERS
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.specs import QuestionSet
from calibkit.tasks.freeform.batches import QuestionRun, answers_alone, read_answers
from calibkit.tasks.freeform.pair import Reader, answer_separator, context_for
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


def _batch_rows(batch: Sequence[Question], qs: QuestionSet, readers: Mapping[str, Reader],
                settings: NudgingSettings, system_prompt: str | None, store: RunStore) -> list[dict[str, Any]]:
    from calibkit.engine.nudging import NudgeConfig, nudge

    base, nudger = readers["base"], readers["nudger"]
    base_ctx = [context_for(qs, q, base, system_prompt) for q in batch]
    nudger_ctx = [context_for(qs, q, nudger, system_prompt) for q in batch]
    separators = [answer_separator(qs, q, nudger, system_prompt) for q in batch]
    alone = {role: answers_alone(reader, qs, batch, contexts, max_new_tokens=settings.max_new_tokens, role=role,
                                 answer_field=f"{role}.raw", system_prompt=system_prompt, store=store)
             for role, reader, contexts in (("base", base, base_ctx), ("nudger", nudger, nudger_ctx))}
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


#: run_nudging(store, questions, readers, settings, *, system_prompt=None, progress=True) -> how many done now:
#: the questions not stored yet, in this process; nudge_into(questions, readers, settings, *, system_prompt=None):
#: the work :func:`calibkit.tasks.freeform.pair.run_pair` hands them to
NUDGING = QuestionRun(_batch_rows, desc="nudging")
run_nudging, nudge_into = NUDGING.run_here, NUDGING.into


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
