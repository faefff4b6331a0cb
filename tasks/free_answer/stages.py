"""The optional stages of a free-answer run: after the answers, each asks something more about a batch.

A stage maps a batch (its questions, generation contexts and generations)
to one dict of row fields per question. :func:`extra_stages` builds the
ones a run's settings ask for, in a fixed order; each is off by default, so
a default run's rows and folder are those of a run made before it existed:

* ``verbal`` (``--verbal``, :mod:`.verbal`): the model states a probability
  (Tian et al. 2023), one-stage (its own guess) or two-stage (about the
  greedy answer);
* ``words`` (``--words``, :mod:`.words`): the model rates its greedy answer
  with Herbstritt & Franke's expressions, chosen by log-prob or generated;
* ``nli_model`` (``--nli-model``, :mod:`.nli_fields`): an NLI model
  clusters the samples by bidirectional entailment (Kuhn et al. 2023), one
  batched pass over every question's answer pairs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from .answering import Answerer
from .layouts import GenerationContext
from .nli_fields import nli_fields
from .question import Question
from .verbal import VerbalAnswerer, one_stage_ask, two_stage_ask, verbal_decoding, verbal_fields
from .words import word_fields

if TYPE_CHECKING:
    from calibkit.engine.generation import ContextGenerations
    from calibkit.runs.runner import ActiveRun

    from .run import TriviaSettings

Stage = Callable[[Sequence[Question], Sequence[GenerationContext], Sequence["ContextGenerations"]],
                 list[dict[str, Any]]]


def extra_stages(run: ActiveRun, answerer: Answerer, settings: TriviaSettings) -> list[Stage]:
    """The stages the run's settings ask for (none by default)."""
    stages = []
    if settings.verbal is not None:
        stages.append(verbal_stage(run, settings))
    if settings.words is not None:
        stages.append(words_stage(answerer, settings))
    if settings.nli_model is not None:
        stages.append(nli_stage(run, settings))
    return stages


def verbal_stage(run: ActiveRun, settings: TriviaSettings) -> Stage:
    """One greedy reply per question stating a probability (:mod:`.verbal`)."""
    asker = VerbalAnswerer(run, verbal_decoding(settings.layout, stop_rule=settings.stop_rule, seed=settings.seed))

    def ask(batch: Sequence[Question], contexts: Sequence[GenerationContext],
            outs: Sequence[ContextGenerations]) -> list[dict[str, Any]]:
        asks = ([one_stage_ask(q) for q in batch] if settings.verbal == "one-stage"
                else [two_stage_ask(c, o.greedy.text) for c, o in zip(contexts, outs)])
        replies = asker.reply(asks)
        return [verbal_fields(settings.verbal, g.text, q, settings.answers) for q, g in zip(batch, replies)]

    return ask


def words_stage(answerer: Answerer, settings: TriviaSettings) -> Stage:
    """The greedy answer rated in Herbstritt & Franke's expressions (:mod:`.words`)."""

    def ask(batch: Sequence[Question], contexts: Sequence[GenerationContext],
            outs: Sequence[ContextGenerations]) -> list[dict[str, Any]]:
        return word_fields(answerer, batch, [settings.answers.extract(o.greedy.text) for o in outs],
                           mode=settings.words, expression_set=settings.words_set)

    return ask


def nli_stage(run: ActiveRun, settings: TriviaSettings) -> Stage:
    """The samples' NLI clusters and entailment matrices (:mod:`.nli_fields`); the model is loaded once, here."""
    from calibkit.engine.nli import load_nli

    nli = load_nli(settings.nli_model, device=run.model.device)

    def ask(batch: Sequence[Question], contexts: Sequence[GenerationContext],
            outs: Sequence[ContextGenerations]) -> list[dict[str, Any]]:
        answers = [[settings.answers.extract(s.text) for s in o.samples] for o in outs]
        return nli_fields(nli, [q.question for q in batch], answers, nli_input=settings.nli_input)

    return ask
