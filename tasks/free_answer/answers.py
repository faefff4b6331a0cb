"""Free-answer matching (TriviaQA, NQ-open, numbers, letters): normalise, compare, agree.

Correctness of a generated answer is decided here and nowhere else, so every
number that depends on it (accuracy, the P(True) labels, the calibration of
sample agreement) uses one rule:

* :func:`normalize_answer` is the official TriviaQA normalisation
  (``mandarjoshi90/triviaqa``, ``evaluation/triviaqa_evaluation.py``), byte for
  byte: underscores to spaces, lower-case, every ASCII punctuation character
  and the four marks ``‘ ’ ´ ``` to a space, the whole words a/an/the to a
  space, whitespace collapsed. Other unicode punctuation (curly double
  quotes, dashes, ``ʻ``) is kept, exactly as the official script keeps it.
* The default correctness rule is **exact match against the normalised
  aliases** (:attr:`AnswerMatch.correct`): it is the official TriviaQA exact
  match (``is_exact_match``: normalised prediction equals a normalised alias)
  and what Kadavath et al. (2022) use ("correctness on TriviaQA questions is
  judged based on a string comparison", section 5.1).
  :attr:`AnswerMatch.f1` (the official/SQuAD token F1, max over aliases) and
  :attr:`AnswerMatch.contains` (an alias occurs as whole tokens inside the
  answer; useful for chatty chat-model replies) are reported beside it.
* Aliases that normalise to the empty string (e.g. ``"+-*/"``) are dropped,
  as the hub's ``normalized_aliases`` field drops them, so an empty answer
  never counts as correct.

This module is pure Python: it must never import torch or touch a model.
"""
from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

# The official script's exclude set: ASCII punctuation plus four quote marks
# (the backtick is already ASCII punctuation; the set keeps it once).
_PUNCTUATION = frozenset(string.punctuation + "\u2018\u2019\u00b4`")
_PUNCTUATION_TO_SPACE = str.maketrans({ch: " " for ch in _PUNCTUATION})
_ARTICLES = re.compile(r"\b(a|an|the)\b")
# Where a base model starts its next few-shot block on the same line.
_NEXT_BLOCK = re.compile(r"\n|(?<!\w)(?:Question|Q):")


@dataclass(frozen=True)
class AnswerMatch:
    """How one predicted answer compares with a question's aliases.

    Example:
        >>> m = match_answer("The Eiffel Tower!", ["Eiffel Tower", "Tour Eiffel"])
        >>> m.exact, m.f1, m.contains, m.correct
        (True, 1.0, True, True)
    """

    exact: bool  # normalised prediction equals a normalised alias (official exact match)
    f1: float  # token F1 in [0, 1], max over aliases (official/SQuAD definition)
    contains: bool  # a normalised alias occurs as whole tokens in the normalised prediction

    @property
    def correct(self) -> bool:
        """The default correctness rule: exact match on normalised aliases."""
        return self.exact


def normalize_answer(text: str) -> str:
    """The official TriviaQA normalisation of one answer string.

    Example:
        >>> normalize_answer("  The_Beatles' \\"Abbey Road\\"  ")
        'beatles abbey road'
        >>> normalize_answer("Campbell-Bannerman")
        'campbell bannerman'
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    text = text.replace("_", " ").lower()
    text = text.translate(_PUNCTUATION_TO_SPACE)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def normalize_aliases(aliases: Iterable[str]) -> tuple[str, ...]:
    """Distinct non-empty normalised aliases, sorted.

    This reproduces the dataset's ``normalized_aliases`` field (as a set).

    Example:
        >>> normalize_aliases(["Scorpio", "Scorpio (disambiguation)", "SCORPIO", "+-*/"])
        ('scorpio', 'scorpio disambiguation')
    """
    return tuple(sorted({n for n in map(normalize_answer, _check_aliases(aliases)) if n}))


def exact_match(prediction: str, aliases: Sequence[str]) -> bool:
    """Whether the normalised prediction equals any normalised alias.

    Example:
        >>> exact_match("an apple", ["Apple", "Apples"])
        True
    """
    pred = normalize_answer(_check_prediction(prediction))
    return bool(pred) and pred in normalize_aliases(aliases)


def token_f1(prediction: str, aliases: Sequence[str]) -> float:
    """Token-overlap F1 of the normalised prediction, max over aliases.

    Tokens are the whitespace-separated words after normalisation; overlap
    counts repeated tokens with multiplicity; no overlap gives 0.0 (the
    official script's rule, also for an empty prediction).

    Example:
        >>> token_f1("George Washington Carver", ["George Washington"])
        0.8
    """
    pred_tokens = normalize_answer(_check_prediction(prediction)).split()
    return max((_f1(pred_tokens, alias.split()) for alias in normalize_aliases(aliases)), default=0.0)


def contains_alias(prediction: str, aliases: Sequence[str]) -> bool:
    """Whether a normalised alias occurs as whole tokens in the normalised prediction.

    Example:
        >>> contains_alias("I think it is Paris, France", ["Paris"])
        True
        >>> contains_alias("Parisian", ["Paris"])
        False
    """
    padded = f" {normalize_answer(_check_prediction(prediction))} "
    return any(f" {alias} " in padded for alias in normalize_aliases(aliases))


def match_answer(prediction: str, aliases: Sequence[str]) -> AnswerMatch:
    """Exact match, token F1 and alias containment of one prediction.

    ``aliases`` are the raw answer aliases (already-normalised ones work too:
    the normalisation is idempotent). Pass the cleaned answer, not the raw
    generation: see :func:`extract_answer`.

    Example:
        >>> match_answer("Sunset Blvd.", ["Sunset Boulevard", "Sunset Blvd"])
        AnswerMatch(exact=True, f1=1.0, contains=True)
    """
    _check_prediction(prediction)
    norm_aliases = normalize_aliases(aliases)
    pred = normalize_answer(prediction)
    pred_tokens = pred.split()
    padded = f" {pred} "
    return AnswerMatch(
        exact=bool(pred) and pred in norm_aliases,
        f1=max((_f1(pred_tokens, a.split()) for a in norm_aliases), default=0.0),
        contains=any(f" {a} " in padded for a in norm_aliases),
    )


#: lm-evaluation-harness's nq_open metric (lm_eval/tasks/nq_open/nq_open.yaml): exact_match with these
#: regexes removed, then ignore_case and ignore_punctuation (lm_eval/api/metrics.py, exact_match_hf_evaluate)
NQ_OPEN_REGEXES = (r"\b(?:The |the |An |A |The |a |an )",)
_ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)


def lm_eval_normalize(text: str, *, regexes: Sequence[str] = NQ_OPEN_REGEXES) -> str:
    """lm-eval's exact_match normalisation: regexes removed, lower-case, ASCII punctuation removed.

    Unlike TriviaQA's official rule, whitespace is not collapsed and articles
    are removed only with their following space.

    Example:
        >>> lm_eval_normalize("The Beatles, U.K.")
        'beatles uk'
    """
    for pattern in regexes:
        text = re.sub(pattern, "", text)
    return text.lower().translate(_ASCII_PUNCTUATION)


def match_nq_open(prediction: str, aliases: Sequence[str]) -> AnswerMatch:
    """lm-eval's nq_open correctness as ``exact``: the normalised prediction equals any normalised answer.

    ``f1`` and ``contains`` are TriviaQA's (:func:`match_answer`), reported beside it.

    Example:
        >>> match_nq_open("the Beatles", ["The Beatles"]).exact, match_nq_open("Beatles!", ["beatles"]).exact
        (True, True)
    """
    _check_prediction(prediction)
    golds = _check_aliases(aliases)
    pred = lm_eval_normalize(prediction)
    other = match_answer(prediction, aliases)
    return AnswerMatch(exact=any(pred == lm_eval_normalize(g) for g in golds), f1=other.f1, contains=other.contains)


def strip_answer(generation: str) -> str:
    """lm-eval's remove_whitespace filter: the generation (already cut at its stop strings), stripped."""
    if not isinstance(generation, str):
        raise ValueError(f"generation must be a str, got {type(generation).__name__}")
    return generation.strip()


def extract_answer(generation: str) -> str:
    """The short answer inside a raw generation.

    Drops leading whitespace, cuts at the first newline or at the start of a
    next few-shot block (``Q:`` or ``Question:`` not preceded by a word
    character), and strips whitespace. A base model prompted with
    ``...Answer:`` writes ``" Paris\\nQuestion: ..."``; this returns ``"Paris"``.

    Example:
        >>> extract_answer(" Paris\\nQuestion: What is the capital of Italy?")
        'Paris'
        >>> extract_answer("\\n  George Washington Q: next")
        'George Washington'
    """
    if not isinstance(generation, str):
        raise ValueError(f"generation must be a str, got {type(generation).__name__}")
    return _NEXT_BLOCK.split(generation.lstrip(), maxsplit=1)[0].strip()


def sample_agreement(greedy: str, samples: Sequence[str]) -> float:
    """Fraction of samples whose normalised form equals the greedy answer's.

    A confidence signal for open-ended answers that needs no answer key:
    with ``n`` samples it takes values ``k / n``. Pass cleaned answers
    (:func:`extract_answer`).

    Example:
        >>> sample_agreement("Paris", ["paris", "Paris.", "Lyon", "the Paris"])
        0.75
    """
    _check_prediction(greedy, name="greedy")
    if isinstance(samples, str) or not isinstance(samples, Sequence):
        raise ValueError("samples must be a sequence of strings, not a single str")
    if len(samples) == 0:
        raise ValueError("samples must not be empty")
    for s in samples:
        _check_prediction(s, name="samples")
    target = normalize_answer(greedy)
    return sum(normalize_answer(s) == target for s in samples) / len(samples)


def _f1(pred_tokens: list[str], truth_tokens: list[str]) -> float:
    num_same = sum((Counter(pred_tokens) & Counter(truth_tokens)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def _check_prediction(prediction: object, *, name: str = "prediction") -> str:
    if not isinstance(prediction, str):
        raise ValueError(f"{name} must be a str, got {type(prediction).__name__}")
    return prediction


def _check_aliases(aliases: object) -> list[str]:
    # A bare string is a sequence of characters: reject it rather than match letters.
    if isinstance(aliases, str):
        raise ValueError("aliases must be a sequence of strings, not a single str")
    try:
        items = list(aliases)  # type: ignore[call-overload]
    except TypeError:
        raise ValueError(f"aliases must be a sequence of strings, got {type(aliases).__name__}") from None
    if not items:
        raise ValueError("aliases must not be empty")
    bad = [a for a in items if not isinstance(a, str)]
    if bad:
        raise ValueError(f"aliases must all be str, got {type(bad[0]).__name__}")
    return items


@dataclass(frozen=True)
class Matcher:
    """How a task reads an answer out of a generation and decides whether it is right."""

    name: str  # recorded in config.json
    extract: Callable[[str], str]  # raw generation (cut at the stop strings) -> the answer
    match: Callable[[str, Sequence[str]], AnswerMatch]  # (answer, aliases) -> exact (the rule), f1, contains


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def parse_number(text: str) -> float | None:
    """A number written with optional thousands commas, or None.

    Example:
        >>> parse_number("1,234.50"), parse_number("seven")
        (1234.5, None)
    """
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _number_match(found: str | None, aliases: Sequence[str]) -> AnswerMatch:
    value = None if found is None else parse_number(found)
    golds = [parse_number(a) for a in aliases]
    exact = value is not None and any(g is not None and abs(g - value) < 1e-9 for g in golds)
    return AnswerMatch(exact=exact, f1=float(exact), contains=exact)


def match_first_number(prediction: str, aliases: Sequence[str]) -> AnswerMatch:
    """Right when the first number in the answer equals an accepted one (``"Calculate 5 + 91 ="`` -> ``"96"``).

    Example:
        >>> match_first_number("96, I think", ["96"]).exact, match_first_number("It is 95", ["96"]).exact
        (True, False)
    """
    _check_prediction(prediction)
    m = _NUMBER.search(prediction)
    return _number_match(m.group(0) if m else None, aliases)


def match_final_number(prediction: str, aliases: Sequence[str]) -> AnswerMatch:
    """GSM8K's rule: the number after the last ``####``, else the last number of the answer, equals the gold one.

    Example:
        >>> match_final_number("3 + 4 = 7 apples. #### 7", ["7"]).exact
        True
        >>> match_final_number("so 12 in all", ["12"]).exact
        True
    """
    _check_prediction(prediction)
    tail = prediction.rsplit("####", 1)[1] if "####" in prediction else prediction
    found = _NUMBER.findall(tail)
    if "####" in prediction and found:
        return _number_match(found[0], aliases)
    return _number_match(found[-1] if found else None, aliases)


_LETTER = re.compile(r"^\W*(?:the answer is\s*)?\(?([A-J])(?![A-Za-z])", re.IGNORECASE)


def match_letter(prediction: str, aliases: Sequence[str]) -> AnswerMatch:
    """Multiple choice answered in words: the answer's leading choice letter equals the first alias.

    The letter may stand in brackets or before ``.``/``)``/``:``, or after
    "The answer is"; a leading word that merely starts with a letter
    ("Apples") is no letter.

    Example:
        >>> [match_letter(p, ["B", "B. 4"]).exact for p in ("B", "(B) 4", "b. four", "The answer is B.", "Because")]
        [True, True, True, True, False]
    """
    _check_prediction(prediction)
    m = _LETTER.match(prediction.strip())
    exact = bool(m) and bool(aliases) and m.group(1).upper() == aliases[0].strip().upper()
    return AnswerMatch(exact=exact, f1=float(exact), contains=exact)


#: TriviaQA's official rule (the default), lm-eval's nq_open rule, numeric answers and choice letters
MATCHERS = {
    "triviaqa": Matcher("triviaqa", extract_answer, match_answer),
    "nq_open": Matcher("nq_open", strip_answer, match_nq_open),
    "first_number": Matcher("first_number", strip_answer, match_first_number),
    "final_number": Matcher("final_number", strip_answer, match_final_number),
    "letter": Matcher("letter", strip_answer, match_letter),
}
