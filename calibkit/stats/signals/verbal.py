"""Verbalized confidence (Tian et al. 2023): the prompts, and reading a stated probability from a reply.

The prompt texts are Table 6 of Tian et al., "Just Ask for Calibration"
(EMNLP 2023), with the paper's ``\\n`` as newlines and ``${THE_QUESTION}``
as ``{question}``. The paper asks for a probability between 0.0 and 1.0;
models also answer "70%", "70 percent" or "Probability: 70", so the parser
reads all of these. A reply with no readable probability is None
(unparsed), never dropped: :func:`parse_stated_probabilities` counts them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..checks import frozen

#: Verb. 1S top-1: answer and probability in one reply (Table 6; the space before "Probability" is the paper's)
ONE_STAGE_PROMPT = (
    "Provide your best guess and the probability that it is correct (0.0 to 1.0) for the following question. "
    "Give ONLY the guess and probability, no other words or explanation. For example:\n\n"
    "Guess: <most likely guess, as short as possible; not a complete sentence, just the guess!>\n"
    " Probability: <the probability between 0.0 and 1.0 that your guess is correct, without any extra "
    "commentary whatsoever; just the probability!>\n\nThe question is: {question}"
)
#: Verb. 2S top-1, first turn: the guess alone
TWO_STAGE_GUESS_PROMPT = (
    "Provide your best guess for the following question. Give ONLY the guess, no other words or explanation."
    "\n\nFor example:\n\nGuess: <most likely guess, as short as possible; not a complete sentence, just the guess!>"
    "\nThe question is: {question}"
)
#: Verb. 2S top-1, second turn (after the model's guess): the probability that the guess is correct
TWO_STAGE_PROBABILITY_PROMPT = (
    "Provide the probability that your guess is correct. Give ONLY the probability, no other words or explanation."
    "\n\nFor example:\n\nProbability: <the probability between 0.0 and 1.0 that your guess is correct, without any "
    "extra commentary whatsoever; just the probability!>\n"
)

_NUMBER = r"(\d+(?:[.,]\d+)?|[.,]\d+)"
_PERCENT = r"\s*(?:%|percent\b|per\s*cent\b)"
_LABELLED = re.compile(r"\b(?:probability|confidence|likelihood|chance)\s*"
                       r"(?:of\s+being\s+correct\s*)?(?:is\s*)?[:=]?\s*"
                       + _NUMBER + r"(" + _PERCENT + r")?", re.IGNORECASE)
_RANGE = re.compile(_NUMBER + r"\s*(?:%|percent)?\s*(?:-|–|to)\s*" + _NUMBER + _PERCENT, re.IGNORECASE)
_WITH_PERCENT = re.compile(_NUMBER + _PERCENT, re.IGNORECASE)
_FRACTION = re.compile(r"(?<![\d.,])(0?[.,]\d+|1[.,]0+)(?![\d.,]*\d)")
# what a reply copied from the prompt's template: an <...> slot, or the prompt's own range "between 0.0 and 1.0"
_TEMPLATE = re.compile(r"<[^<>]*>|between\s+0(?:\.0)?\s+and\s+1(?:\.0)?", re.IGNORECASE)
# the answer's own line: a number there ("Guess: 0.5 kg", "Answer: 71%") is the answer, not a confidence
_GUESS_LINE = re.compile(r"^\s*(?:guess|answer|g1)\s*:.*$", re.IGNORECASE | re.MULTILINE)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _as_probability(value: float, *, percent: bool) -> float | None:
    """A percentage is divided by 100; a labelled bare number above 1 is read as a percentage."""
    if percent or value > 1.0:
        value /= 100.0
    return value if 0.0 <= value <= 1.0 else None


def parse_stated_probability(reply: str) -> float | None:
    """The probability a reply states, in [0, 1], or None when it states none.

    Read in this order: a labelled number ("Probability: 0.7", "Confidence:
    70%", "Probability: 70"); then, outside any "Guess:" / "Answer:" line
    (a number there is the answer), a range of percentages (its midpoint),
    the first percentage ("70%", "70 percent"), the first decimal in [0, 1]
    ("0.7", ".7", "1.0"). Bare integers ("1", "70") count only after a
    label. A value outside [0, 1] (150%) is None. Text copied from the
    prompt's template (an ``<...>`` slot, "between 0.0 and 1.0") is not read.

    >>> [parse_stated_probability(r) for r in ["Guess: 1945\\nProbability: 0.8", "I'm 70 percent sure", "Paris"]]
    [0.8, 0.7, None]
    """
    if not isinstance(reply, str):
        raise ValueError(f"reply must be a string, got {type(reply).__name__}")
    # a copied template ("<the probability between 0.0 and 1.0 ...>") states nothing: its numbers are not read
    reply = _TEMPLATE.sub(" ", reply)
    m = _LABELLED.search(reply)
    if m:
        return _as_probability(_number(m.group(1)), percent=bool(m.group(2)))
    reply = _GUESS_LINE.sub(" ", reply)
    m = _RANGE.search(reply)
    if m:
        return _as_probability((_number(m.group(1)) + _number(m.group(2))) / 2, percent=True)
    m = _WITH_PERCENT.search(reply)
    if m:
        return _as_probability(_number(m.group(1)), percent=True)
    m = _FRACTION.search(reply)
    return _as_probability(_number(m.group(1)), percent=False) if m else None


@dataclass(frozen=True)
class StatedProbabilities:
    """Stated probabilities of a batch of replies; unparsed replies stay in place as NaN."""

    #: (n,) the stated probability of each reply, NaN where none was read
    values: np.ndarray
    #: (n,) bool, True where a probability was read
    parsed: np.ndarray

    @property
    def n_unparsed(self) -> int:
        return int((~self.parsed).sum())


def parse_stated_probabilities(replies: Sequence[str]) -> StatedProbabilities:
    """Parse every reply; the result keeps one entry per reply, in order."""
    read = [parse_stated_probability(r) for r in replies]
    values = np.array([np.nan if v is None else v for v in read], dtype=np.float64)
    return StatedProbabilities(values=frozen(values), parsed=frozen(~np.isnan(values)))
