"""What the question-answering two-model runs (tokens, nudging) do alike per batch of questions.

:class:`QuestionRun` turns a task's batch function into the ``work`` that
:func:`calibkit.tasks.freeform.pair.run_pair` hands its questions to (and
into a run in this process); :func:`answers_alone` is one model's greedy
answers, decoded as :class:`~calibkit.tasks.free_answer.answering.Decoding`
decodes them; :func:`read_answers` has one model read every answer the batch
wrote, in its own form, its prompt records kept first. The tasks differ in
what they write and what they keep of a reading; that stays in their own
``run.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from calibkit.records import Prompt
from calibkit.runs.store import RunStore
from calibkit.tasks.free_answer.answering import Decoding, context_reading, read_reading
from calibkit.tasks.free_answer.layouts import generation_context
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.specs import QuestionSet

from .pair import Reader, batches_into, run_here

if TYPE_CHECKING:
    from calibkit.engine.generation import GenerationConfig

Work = Callable[[RunStore, Sequence[Question], bool], None]
#: (batch, questions, readers, settings, system prompt, store) -> the batch's rows (its texts kept in the store first)
BatchRows = Callable[[Sequence[Question], QuestionSet, Mapping[str, Reader], Any, "str | None", RunStore],
                     list[dict[str, Any]]]


def rows_into(batch_rows: Callable[[Sequence[Question], RunStore], list[dict[str, Any]]], *, batch_size: int,
              desc: str) -> Work:
    """``work(store, some_questions, bars)``: ``batch_rows(batch, store)`` appended batch by batch.

    One process, or one rank's share; ``batch_rows`` gets the store so that
    a batch's texts go to it before its rows.
    """
    return lambda store, some, bars: batches_into(lambda batch: batch_rows(batch, store), batch_size=batch_size,
                                                  desc=desc)(store, some, bars)


@dataclass(frozen=True)
class QuestionRun:
    """A question-answering two-model run (tokens, nudging): its batch function as :func:`.pair.run_pair`'s work
    (:meth:`into`) and as a run in this process (:meth:`run_here`); ``settings.batch_size`` questions a batch."""

    batch_rows: BatchRows  # the task's rows of one batch
    desc: str  # the progress bar's label

    def into(self, questions: QuestionSet, readers: Mapping[str, Reader], settings: Any, *,
             system_prompt: str | None = None) -> Work:
        """``work(store, some_questions, bars)``: their rows appended batch by batch (one process, or one rank's
        share)."""
        return rows_into(lambda batch, store: self.batch_rows(batch, questions, readers, settings, system_prompt,
                                                              store),
                         batch_size=settings.batch_size, desc=self.desc)

    def run_here(self, store: RunStore, questions: QuestionSet, readers: Mapping[str, Reader], settings: Any, *,
                 system_prompt: str | None = None, progress: bool = True) -> int:
        """The questions not stored yet, batch by batch, in this process (a notebook's call); returns how many now."""
        work = self.into(questions, readers, settings, system_prompt=system_prompt)
        return run_here(store, questions.questions, work, progress=progress)


def answer_config(qs: QuestionSet, max_new_tokens: int) -> GenerationConfig:
    """How a two-model run decodes one model's own answers: :class:`Decoding`'s greedy answer (the source's layout,
    its stop strings in both forms) with the run's token bound.

    As these runs always have: the stop rule is the engine's default (not the
    source's row: nq_open's ``"first"`` is not applied) and the batches are
    the engine's default token budget.
    """
    return Decoding(layout=qs.layout, max_new_tokens=max_new_tokens, instruction=qs.instruction).generation(
        token_budget=None)


def answers_alone(reader: Reader, qs: QuestionSet, batch: Sequence[Question], contexts: Sequence[str], *,
                  max_new_tokens: int, role: str, answer_field: str, system_prompt: str | None,
                  store: RunStore) -> list[str]:
    """One model's greedy answer (unstripped) to each question of ``batch`` after its ``contexts``
    (:func:`.pair.context_for`), decoded by :func:`answer_config`.

    The contexts are kept first as prompt records labelled ``answer/<role>``,
    the answer at ``answer_field`` of the row.
    """
    from calibkit.engine.generation import generate

    store.keep_texts((q.id, context_reading(qs, q, text, chat=reader.chat, system_prompt=system_prompt,
                                            answer_fields=[answer_field], label=f"answer/{role}"))
                     for q, text in zip(batch, contexts))
    return [g.greedy.text for g in generate(reader.model, contexts, config=answer_config(qs, max_new_tokens))]


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
