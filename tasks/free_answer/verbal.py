"""The verbal stage of a free-answer run: ask the model for the probability that an answer is right (Tian et al. 2023).

``--verbal one-stage`` is Tian et al.'s "Verb. 1S top-1": a separate
generation from their prompt alone (no shots, no calibkit instruction), in
which the model writes a guess and the probability that it is correct; the
guess is read out of the reply and judged by the run's matcher on its own.
``--verbal two-stage`` is "Verb. 2S top-1": after the run's greedy answer,
a second turn asks for the probability that this answer is correct, so it
is a confidence in the greedy answer. The prompt texts are
:mod:`calibkit.stats.signals.verbal`'s transcription of the paper's Table 6,
and the probability is read by its parser (None when unreadable: counted,
never dropped). The paper evaluates chat models only; the base form here
(the same texts continued as plain text) is calibkit's. Decoding is greedy,
at most :data:`MAX_NEW_TOKENS` tokens (the paper does not say; its models
were APIs). Must never compute a statistic.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from calibkit.records import Turn
from calibkit.stats.signals.verbal import ONE_STAGE_PROMPT, TWO_STAGE_PROBABILITY_PROMPT, parse_stated_probability

from .answering import Answerer, Decoding
from .answers import Matcher
from .layouts import GenerationContext
from .question import Question

if TYPE_CHECKING:
    from calibkit.engine.generation import Generation
    from calibkit.runs.runner import ActiveRun

    from .layouts import QALayout

#: --verbal's choices: Tian et al.'s Verb. 1S top-1 and Verb. 2S top-1
METHODS = ("one-stage", "two-stage")
MAX_NEW_TOKENS = 64  # the reply's bound: "Guess: ...\n Probability: 0.x" and room for a chat model's extra words
#: base form only: a blank line ends the reply (the chat form ends at the end of the model's turn)
BASE_STOP = ("\n\n",)
LABEL = "verbal"  # the prompt records' label of the verbal stage
_GUESS = re.compile(r"^\s*(?:guess|answer)\s*:\s*(.*)$", re.IGNORECASE | re.MULTILINE)
_PROBABILITY_LABEL = re.compile(r"[\s,;(]*\b(?:probability|confidence)\b\s*[:=]", re.IGNORECASE)
_PROBABILITY_LINE = re.compile(r"^\s*(?:probability|confidence)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Ask:
    """One verbal prompt: the conversation (chat form) and the plain text (base form) for one question."""

    id: str  # the question's id (its prompt records are kept under it)
    turns: tuple[Turn, ...]  # chat form: the conversation before the reply
    text: str  # base form: the text the model continues


def one_stage_ask(question: Question) -> Ask:
    """Verb. 1S top-1: the paper's prompt with the question; the base form ends it with a newline (calibkit's)."""
    prompt = ONE_STAGE_PROMPT.format(question=question.question)
    return Ask(question.id, (Turn("user", prompt),), prompt + "\n")


def two_stage_ask(context: GenerationContext, greedy_raw: str) -> Ask:
    """Verb. 2S top-1 about the run's greedy answer.

    Chat form: the run's own answer turn (the user turn it answered, its
    answer as the assistant's turn), then the paper's second-stage prompt as
    a new user turn. Base form: the run's context, the answer as it was
    written, a blank line, then the same prompt.
    """
    turns = (*context.turns, Turn("assistant", greedy_raw.strip()), Turn("user", TWO_STAGE_PROBABILITY_PROMPT))
    return Ask(context.id, turns, context.text + greedy_raw + "\n\n" + TWO_STAGE_PROBABILITY_PROMPT)


def one_stage_guess(reply: str) -> str:
    """The guess of a one-stage reply: its "Guess:" line, else its first line that does not state the probability.

    >>> one_stage_guess("Guess: Paris\\n Probability: 0.9"), one_stage_guess("Paris (0.9)"), one_stage_guess("")
    ('Paris', 'Paris (0.9)', '')
    """
    m = _GUESS.search(reply)
    if m:  # the guess ends where a stated probability starts on its line ("Guess: Paris Probability: 0.9")
        return _PROBABILITY_LABEL.split(m.group(1), maxsplit=1)[0].strip()
    return next((line.strip() for line in reply.splitlines()
                 if line.strip() and not _PROBABILITY_LINE.match(line)), "")


def verbal_fields(method: str, reply: str, question: Question, matcher: Matcher) -> dict[str, Any]:
    """The row fields of one reply: the raw reply, the stated probability (None: unreadable) and, for
    one-stage, the guess read out of it (cleaned by the matcher) and whether it is right."""
    fields: dict[str, Any] = {"verbal_raw": reply, "verbal_probability": parse_stated_probability(reply)}
    if method == "one-stage":
        answer = matcher.extract(one_stage_guess(reply))
        match = matcher.match(answer, question.aliases)
        fields.update(verbal_answer=answer, verbal_correct_exact=bool(match.exact),
                      verbal_correct_contains=bool(match.contains))
    return fields


def verbal_decoding(layout: QALayout, *, stop_rule: str, seed: int) -> Decoding:
    """Greedy, no samples, :data:`MAX_NEW_TOKENS`; chat replies end at the end of turn, base ones at a blank line."""
    from dataclasses import replace

    return Decoding(layout=replace(layout, stop=BASE_STOP), max_new_tokens=MAX_NEW_TOKENS, stop_rule=stop_rule,
                    samples=0, seed=seed, stop_in_chat=False)


class VerbalAnswerer(Answerer):
    """The run's answering routine asked a conversation of several turns (the two-stage follow-up)."""

    def __init__(self, run: ActiveRun, decoding: Decoding) -> None:
        super().__init__(run, decoding, answer_fields=("verbal_raw",))

    def reply(self, asks: Sequence[Ask]) -> list[Generation]:
        """Each ask's greedy reply (its reading recorded first, labelled :data:`LABEL`)."""
        contexts = [GenerationContext(id=a.id, text=a.text, turns=a.turns, n_shots=0, layout=LABEL, stop=BASE_STOP)
                    for a in asks]
        return [g.greedy for g in self.generate(contexts, label=LABEL)]
