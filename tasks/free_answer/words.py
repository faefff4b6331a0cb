"""Reflexive confidence in words: the model says how sure it is of its answer with a Herbstritt & Franke expression.

After the model has answered a question, it reads the question and its own
(greedy) answer and says how likely the answer is to be right, in the
sentence frames of Herbstritt & Franke's (2019) production experiments,
with "the next ball will be red" replaced by "the proposed answer is
correct":

    simple   The proposed answer is [certainly not | probably not | possibly | probably | certainly] correct.
    complex  It [is | is probably | might be | is certainly] [possible | unlikely | likely]
             that the proposed answer is correct.                   (the 12 expressions people interpreted)

Two ways to read the model's expression (``mode``):

``"choose"``: the log-probs of the sentence continuations from the
    expression slot to the full stop (H&F's speaker reading by sentence,
    scored by :meth:`.answering.Answerer.score`, the scoring P(True) uses);
    the model's expression is the most probable one.
``"generate"``: the model writes the rest of the sentence
    (:meth:`.answering.Answerer.generate`, greedy, one line) and the
    expression is parsed from the reply (:func:`parse_expression`); a reply
    with none is kept with ``words_choice = None`` and counted, never dropped.

The expressions are read from the Herbstritt & Franke listener tables in
``calibkit.human_data`` (:func:`expressions`), so the words the model
chooses from are exactly the words people interpreted. The prompt
(:func:`words_prompt`, stated exactly there) is the same in both modes.
This module builds strings and calls the answerer; it never imports torch.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

from calibkit.human_data import read_table
from calibkit.records import Prompt, Turn

from .answering import Answerer
from .layouts import GenerationContext, flat
from .question import Question

WORDS_TASK = "free_answer_words"  # the scored prompts' task (their prompt records' label)
WORDS_MODES = ("choose", "generate")
WORDS_SETS = ("simple", "complex")
WORDS_MAX_NEW_TOKENS = 16  # a generated reply needs only the rest of one sentence
#: the listener tables of calibkit.human_data, per expression set
LISTENER_TABLES = {"simple": "simple_interpretation_state.csv", "complex": "complex_interpretation_state.csv"}

_HEAD = {"simple": "The proposed answer is", "complex": "It"}
_FRAME = {"simple": '"The proposed answer is ... correct."', "complex": '"It ... that the proposed answer is correct."'}


def listener_rows(expression_set: str) -> list[dict[str, str]]:
    """The rows of one H&F listener table (state question), with ``expression`` set for the complex rows too."""
    if expression_set not in WORDS_SETS:
        raise ValueError(f"expression_set must be one of {', '.join(WORDS_SETS)}; got {expression_set!r}")
    rows = [dict(r) for r in read_table(LISTENER_TABLES[expression_set])]
    for row in rows:
        row.setdefault("expression", f"{row.get('outer')} {row.get('inner')}")
    return rows


def expressions(expression_set: str) -> tuple[str, ...]:
    """The set's expressions, in the listener table's order (the scale order for the simple set).

    >>> expressions("simple")
    ('certainly not', 'probably not', 'possibly', 'probably', 'certainly')
    """
    return tuple(dict.fromkeys(r["expression"] for r in listener_rows(expression_set)))


def sentence_tail(expression: str, expression_set: str) -> str:
    """The scored continuation for one expression, from its word-boundary space to the full stop.

    >>> sentence_tail("might be likely", "complex")
    ' might be likely that the proposed answer is correct.'
    """
    if expression_set == "simple":
        return f" {expression} correct."
    return f" {expression} that the proposed answer is correct."


def words_user_text(question: str, proposed: str, expression_set: str) -> str:
    """The user turn (base form: every line but the last) of the words prompt.

    Exactly::

        Question: <question>
        Proposed Answer: <proposed answer>
        How likely is it that the proposed answer is correct? Answer with one sentence of the form
        "The proposed answer is ... correct.", using one of these expressions: "certainly not",
        "probably not", "possibly", "probably", "certainly".

    (the last three lines are one line; the complex set's frame is
    ``"It ... that the proposed answer is correct."`` and its 12 expressions).
    """
    listing = ", ".join(f'"{e}"' for e in expressions(expression_set))
    return (f"Question: {flat(question)}\nProposed Answer: {flat(proposed)}\n"
            f"How likely is it that the proposed answer is correct? Answer with one sentence of the form "
            f"{_FRAME[expression_set]}, using one of these expressions: {listing}.")


def words_prompt(question: Question, proposed: str, *, expression_set: str = "simple") -> Prompt:
    """The words prompt about one proposed answer, as a scorable Prompt (the choose mode's options).

    Base form: :func:`words_user_text`, a newline, then the sentence head
    (``"The proposed answer is"`` or ``"It"``); chat form: the user turn is
    :func:`words_user_text` and the assistant turn opens with the head, as
    H&F's sentence reading opens it. Options: :func:`sentence_tail` of each
    expression.
    """
    user = words_user_text(question.question, proposed, expression_set)
    head = _HEAD[expression_set]
    _, rest = question.id.split("/", 1) if "/" in question.id else ("", question.id)
    return Prompt(id=f"{WORDS_TASK}/{rest}", task=WORDS_TASK, text=f"{user}\n{head}",
                  options=tuple(sentence_tail(e, expression_set) for e in expressions(expression_set)),
                  turns=(Turn("user", user),), assistant_prefix=head,
                  meta={"question_id": question.id, "proposed": proposed, "set": expression_set})


def parse_expression(reply: str, choices: Sequence[str]) -> str | None:
    """The expression a generated reply uses: the earliest whole-word match, the longest at that place; else None.

    Case is ignored; "probably not" wins over "probably" where both match.

    >>> parse_expression(" probably not correct.", ("probably not", "probably"))
    'probably not'
    >>> parse_expression(" I am sure.", ("probably",)) is None
    True
    """
    best: tuple[int, int, str] | None = None
    for choice in choices:
        m = re.search(rf"(?<![a-z]){re.escape(choice.lower())}(?![a-z])", reply.lower())
        if m and (best is None or (m.start(), -len(choice)) < (best[0], -best[1])):
            best = (m.start(), len(choice), choice)
    return None if best is None else best[2]


@dataclass(frozen=True)
class _Asked:
    """One words prompt and the question it is about."""

    question: Question
    prompt: Prompt


def word_fields(answerer: Answerer, questions: Sequence[Question], greedy_answers: Sequence[str], *, mode: str,
                expression_set: str = "simple") -> list[dict[str, Any]]:
    """The row fields of the words stage for each question, about its greedy answer.

    Args:
        answerer: the run's answerer (its model, chat form and store).
        questions, greedy_answers: the questions and the model's cleaned greedy answers, aligned.
        mode: ``"choose"`` (log-probs over the expressions) or ``"generate"`` (a reply, parsed).
        expression_set: ``"simple"`` (5 expressions) or ``"complex"`` (12).

    Returns:
        One dict per question: ``words_mode``, ``words_set``, ``words_choice``
        (the expression, or None when a reply has none); choose adds
        ``words_logprobs`` (ln P(sentence tail | prompt), full vocabulary, one
        per expression in :func:`expressions` order) and ``words_mass`` (the
        probability on the tails together); generate adds ``words_reply``
        (the continuation after the sentence head, up to the line's end).
    """
    if mode not in WORDS_MODES:
        raise ValueError(f"mode must be one of {', '.join(WORDS_MODES)}; got {mode!r}")
    if len(questions) != len(greedy_answers):
        raise ValueError(f"questions and greedy_answers must align; got {len(questions)} and {len(greedy_answers)}")
    choices = expressions(expression_set)
    asked = [_Asked(q, words_prompt(q, a, expression_set=expression_set)) for q, a in zip(questions, greedy_answers)]
    common = {"words_mode": mode, "words_set": expression_set}
    words = _words_answerer(answerer)
    if mode == "choose":
        scored = words.score([x.prompt for x in asked])
        return [{**common, "words_choice": choices[int(s.probs().argmax())],
                 "words_logprobs": [float(v) for v in s.logprobs], "words_mass": float(s.option_mass)}
                for s in scored]
    gens = words.generate([_context(x) for x in asked], label=WORDS_TASK)
    return [{**common, "words_choice": parse_expression(g.greedy.text, choices), "words_reply": g.greedy.text}
            for g in gens]


def _words_answerer(answerer: Answerer) -> Answerer:
    """The run's answerer for the words stage: one greedy line per prompt (no samples, no hidden states, a short
    bound), its prompt records pointing at the words fields."""
    decoding = replace(answerer.decoding, samples=0, hidden_states=False, max_new_tokens=WORDS_MAX_NEW_TOKENS,
                       stop_in_chat=True, layout=replace(answerer.decoding.layout, stop=("\n",)))
    return Answerer(answerer.run, decoding, answer_fields=("words_reply",),
                    logprobs_fields={WORDS_TASK: "words_logprobs"})


def _context(asked: _Asked) -> GenerationContext:
    p = asked.prompt
    return GenerationContext(id=asked.question.id, text=p.text, turns=p.turns, n_shots=0, layout="words",
                             assistant_prefix=p.assistant_prefix, stop=("\n",))
