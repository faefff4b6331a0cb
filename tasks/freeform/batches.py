"""What the question-answering two-model runs (tokens, nudging) do alike per batch of questions.

:func:`rows_into` turns a task's batch function into the ``work`` that
:func:`calibkit.tasks.freeform.pair.run_pair` hands its questions to, and
:func:`read_answers` has one model read every answer the batch wrote, in its
own form, its prompt records kept first. The tasks differ in what they write
and what they keep of a reading; that stays in their own ``run.py``.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from calibkit.records import Prompt
from calibkit.runs.store import RunStore
from calibkit.tasks.free_answer.answering import read_reading
from calibkit.tasks.free_answer.layouts import generation_context
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.specs import QuestionSet

from .pair import Reader, batches_into

Work = Callable[[RunStore, Sequence[Question], bool], None]


def rows_into(batch_rows: Callable[[Sequence[Question], RunStore], list[dict[str, Any]]], *, batch_size: int,
              desc: str) -> Work:
    """``work(store, some_questions, bars)``: ``batch_rows(batch, store)`` appended batch by batch.

    One process, or one rank's share; ``batch_rows`` gets the store so that
    a batch's texts go to it before its rows.
    """
    return lambda store, some, bars: batches_into(lambda batch: batch_rows(batch, store), batch_size=batch_size,
                                                  desc=desc)(store, some, bars)


def read_answers(reader: Reader, qs: QuestionSet, batch: Sequence[Question], answers: Mapping[str, Sequence[str]],
                 *, system_prompt: str | None, store: RunStore | None = None, role: str = "model",
                 task: str = "token_profile") -> dict[str, list[Any]]:
    """Every answer read by one model in its own form: per name, per question a TokenProfile or None.

    ``answers``: name (a writer, a condition) -> one text per question of
    ``batch``. An answer empty after stripping is not read (None). The
    answer, stripped, follows the prompt as the writer's did: after the base
    form's ``"Answer:"`` with a space, in chat form where the template puts
    the assistant's text. That joining whitespace is read as context
    (:func:`calibkit.engine.scoring.read_tokens`), so the tokens read are the
    answer's own. With ``store``, what was read is kept first as prompt
    records labelled ``read/<role>/<name>``; ``task`` names the prompts.
    """
    from calibkit.engine.scoring import ScoreConfig, profile_tokens

    prompts, where = [], []
    for name, texts in answers.items():
        for i, (q, text) in enumerate(zip(batch, texts)):
            if text.strip():
                ctx = generation_context(q, layout=qs.layout, instruction=qs.instruction)
                prompts.append(Prompt(id=f"{name}/{q.id}", task=task, text=ctx.text, options=(" " + text.strip(),),
                                      turns=ctx.turns))
                where.append((name, i))
    out: dict[str, list[Any]] = {name: [None] * len(batch) for name in answers}
    if store is not None:
        store.keep_texts((batch[i].id, read_reading(p, reader.model.tokenizer, chat=reader.chat,
                                                    system_prompt=system_prompt, label=f"read/{role}/{name}"))
                         for p, (name, i) in zip(prompts, where))
    config = ScoreConfig(chat=reader.chat, system_prompt=system_prompt, progress=False)
    for (name, i), profile in zip(where, profile_tokens(reader.model, prompts, config=config)):
        out[name][i] = profile
    return out
