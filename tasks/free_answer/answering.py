"""The one answering routine: decode free answers for a run (greedy, samples, stop strings, hidden states).

:class:`Decoding` is how answers are decoded (the source row's layout, stop
strings and stop rule, the token bound, the samples); :class:`Answerer` is
the model side of a run: the context that fits the model's window
(:func:`.layouts.fit_context`), the batched generation
(:func:`calibkit.engine.generation.generate`: the greedy answer and the
samples in one pass, the hidden states on request) and the scoring of
prompts about the answers (P(True), P(IK)). What the model reads is
recorded in the run's prompt records (:meth:`calibkit.runs.store.RunStore.keep_texts`)
under the question's id: each generation context (label ``"answer"``) and
each scored prompt (label: the prompt's task). Used by triviaqa, nq_open,
pik and idk. The two-model runs (tokens, nudging) decode their own answers
with :class:`Decoding`'s settings (:func:`calibkit.tasks.freeform.batches.answer_config`),
not through :class:`Answerer` (their prompt records are labelled per model,
their contexts keep every shot, and nudging's decode is two models
handing over words), and record their texts with :func:`context_reading`
and :func:`read_reading`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from calibkit.records import Prompt, Turn
from calibkit.runs.prompts import Reading, conversation, generation_reading, scored_reading
from calibkit.runs.runner import ActiveRun, scored_reading_of

from .layouts import CHAT_INSTRUCTION, KADAVATH_LAYOUT, GenerationContext, QALayout, fit_context, generation_context
from .question import Question
from .specs import QuestionSet

if TYPE_CHECKING:
    from calibkit.engine.generation import ContextGenerations, GenerationConfig
    from calibkit.records import ScoredItem

#: the decoders' stop rules (calibkit.engine.generation.STOP_RULES; named here so that settings need no torch)
STOP_RULES = ("after_leading_whitespace", "first")


@dataclass(frozen=True)
class Decoding:
    """How a run decodes answers: one greedy answer per question, plus ``samples`` at ``temperature``."""

    layout: QALayout = KADAVATH_LAYOUT  # the prompt layout; its stop strings end an answer
    max_new_tokens: int = 32  # bound on each answer's tokens
    stop_rule: str = "after_leading_whitespace"  # where a stop string ends an answer; "first": anywhere (lm-eval)
    samples: int = 0  # sampled answers per question, decoded in the greedy answer's pass
    temperature: float = 1.0  # their temperature (> 0)
    top_p: float = 1.0  # nucleus sampling for the samples, in (0, 1]
    seed: int = 0  # sampling seed: a question's samples depend only on it and the question's context
    hidden_states: bool = False  # also return the residual stream at the last context token, every layer
    instruction: str | None = CHAT_INSTRUCTION  # the chat form's instruction; None: the question alone
    stop_in_chat: bool = True  # False: a chat reply ends at the end of its turn only (the stop strings are base-form)

    def generation(self, *, token_budget: int | None, chat: bool = False) -> GenerationConfig:
        """The engine's decoding settings for a run in base (``chat=False``) or chat form."""
        from calibkit.engine.generation import GenerationConfig

        return GenerationConfig(
            max_new_tokens=self.max_new_tokens, greedy=True, samples=self.samples, temperature=self.temperature,
            top_p=self.top_p, stop=self.layout.stop if self.stop_in_chat or not chat else (),
            stop_rule=self.stop_rule, seed=self.seed, progress=False, hidden_states=self.hidden_states,
            **({"token_budget": token_budget} if token_budget else {}),
        )


class Answerer:
    """The model side of one run: contexts that fit its window, generation, scores of prompts about the answers.

    ``answer_fields``: the row fields that keep what the model wrote;
    ``logprobs_fields``: per scored prompt task, the row field holding its
    options' log-probs (both for the prompt records).
    """

    def __init__(self, run: ActiveRun, decoding: Decoding, *, answer_fields: Sequence[str] = (),
                 logprobs_fields: Mapping[str, str] | None = None) -> None:
        self.run, self.decoding = run, decoding
        self.gen = decoding.generation(token_budget=run.settings.token_budget, chat=run.chat)
        self.answer_fields = tuple(answer_fields)
        self.logprobs_fields = dict(logprobs_fields or {})

    def _render(self, content_or_text: str) -> str:
        from calibkit.engine.chat import render_chat

        if not self.run.chat:
            return content_or_text
        return render_chat(self.run.model.tokenizer, (Turn("user", content_or_text),),
                           system_prompt=self.run.settings.system_prompt)

    def context(self, question: Question) -> GenerationContext:
        """The question's k-shot context, with as many leading shots as fit the model's window."""
        from calibkit.engine.generation import encode_context

        tok = self.run.model.tokenizer
        d = self.decoding
        return fit_context(question, max_tokens=self.run.model.max_length - d.max_new_tokens,
                           count_tokens=lambda s: len(encode_context(tok, self._render(s))),
                           chat=self.run.chat, layout=d.layout, instruction=d.instruction)

    def generate(self, contexts: Sequence[GenerationContext], *, label: str = "answer") -> list[ContextGenerations]:
        """Each context's greedy answer and samples (the contexts' readings recorded first, under ``label``).

        Chat form renders every turn of a context (one user turn for an
        answer; a follow-up conversation for a stage that asks about it).
        """
        from calibkit.engine.chat import render_reply_context
        from calibkit.engine.generation import generate

        system = self.run.settings.system_prompt
        texts = [render_reply_context(self.run.model.tokenizer, c.turns, system_prompt=system,
                                      assistant_prefix=c.assistant_prefix) if self.run.chat else c.text
                 for c in contexts]
        self.run.store.keep_texts((c.id, self._generation_reading(c, text, label)) for c, text in zip(contexts, texts))
        return generate(self.run.model, texts, config=self.gen)

    def _generation_reading(self, context: GenerationContext, text: str, label: str) -> Reading:
        turns = conversation(context.turns, system_prompt=self.run.settings.system_prompt,
                             assistant_prefix=context.assistant_prefix) if self.run.chat else ()
        return generation_reading(text, turns=turns, answer_fields=self.answer_fields, label=label)

    def unconditional(self, gens: Sequence[ContextGenerations]) -> list[tuple[float, ...]]:
        """Each greedy answer's token log-probs after the start token alone (PMI's unconditional term)."""
        from calibkit.engine.unconditional import unconditional_logprobs

        return unconditional_logprobs(self.run.model, [g.greedy.token_ids for g in gens])

    def score(self, prompts: Sequence[Any]) -> list[ScoredItem]:
        """The options' log-probs of each prompt (readings recorded under ``meta["question_id"]``, else its id)."""
        from calibkit.engine.scoring import ScoreConfig, score

        s = self.run.settings
        self.run.store.keep_texts(
            (p.meta.get("question_id", p.id),
             scored_reading_of(self.run, p, label=p.task, logprobs_field=self.logprobs_fields.get(p.task)))
            for p in prompts)
        return score(self.run.model, prompts, config=ScoreConfig(
            chat=self.run.chat, system_prompt=s.system_prompt, token_budget=s.token_budget,
            prefix_caching=s.prefix_caching, progress=False))


def context_reading(questions: QuestionSet, question: Question, text: str, *, chat: bool, system_prompt: str | None,
                    answer_fields: Sequence[str], label: str) -> Reading:
    """The prompt record of a generation outside an :class:`Answerer` (two-model runs): the rendered ``text``
    the model continued, its chat turns (``chat``), and the row fields that keep what it wrote."""
    turns = generation_context(question, layout=questions.layout, instruction=questions.instruction).turns
    return generation_reading(text, turns=conversation(turns, system_prompt=system_prompt) if chat else (),
                              answer_fields=answer_fields, label=label)


def read_reading(prompt: Prompt, tokenizer: Any, *, chat: bool, system_prompt: str | None, label: str) -> Reading:
    """The prompt record of an answer read (scored token by token) after its context, as the scorer renders it."""
    from calibkit.engine.chat import render_pairs

    pairs = render_pairs(prompt, tokenizer, chat=chat, system_prompt=system_prompt)
    return scored_reading(prompt, pairs, chat=chat, system_prompt=system_prompt, label=label, logprobs_field=None)
