"""calibkit.tasks.free_answer.answers: official TriviaQA normalisation, matching, extraction, agreement.

Reference values are worked out by hand from the official script's rules
(underscores and ASCII punctuation plus ‘ ’ ´ ` to spaces, a/an/the dropped,
whitespace collapsed); the real-data checks live in test_triviaqa.py.
"""
from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibkit.tasks.free_answer.answers import (
    AnswerMatch,
    contains_alias,
    exact_match,
    extract_answer,
    match_answer,
    normalize_aliases,
    normalize_answer,
    sample_agreement,
    token_f1,
)

# ---------------------------------------------------------------- normalisation

NORMALIZE_CASES = [
    ("The Beatles", "beatles"),
    ("A Tale of Two Cities", "tale of two cities"),
    ("an apple", "apple"),
    ("AN APPLE A DAY", "apple day"),
    ("Theatre", "theatre"),  # an article inside a word stays
    ("Anne", "anne"),
    ("the the the", ""),
    ("U.S.A.", "u s"),  # punctuation becomes a space, so the lone "a" is an article and goes
    ("Campbell-Bannerman", "campbell bannerman"),
    ("rock_and_roll", "rock and roll"),  # underscores are spaces
    ("O\u2019Neill", "o neill"),  # right single quote is excluded
    ("\u2018Quoted\u2019", "quoted"),  # left single quote too
    ("\u00b4acute", "acute"),  # acute accent mark
    ("`tick`", "tick"),
    ("\u201cQuoted\u201d", "\u201cquoted\u201d"),  # curly double quotes are kept, as officially
    ("1930\u20131939", "1930\u20131939"),  # en dash is kept
    ("1,000,000", "1 000 000"),
    ("3.14", "3 14"),
    ("$85,000", "85 000"),
    ("A&P", "p"),  # "a & p" -> the article a goes
    ("  multiple   spaces\tand\nnewlines ", "multiple spaces and newlines"),
    ("\u00c9COLE", "\u00e9cole"),  # unicode lower-casing
    ("Caf\u00e9  Society", "caf\u00e9 society"),
    ("\u03a3\u03b5\u03af\u03c1\u03b9\u03bf\u03c2", "\u03c3\u03b5\u03af\u03c1\u03b9\u03bf\u03c2"),
    ("\u02bbA\u02bb\u0101", "\u02bba\u02bb\u0101"),  # the okina is a letter modifier, not excluded
    ("Mt. Kilimanjaro", "mt kilimanjaro"),
    ("27", "27"),
    ("'30s", "30s"),
    ("Adolf Hitler's", "adolf hitler s"),
    ("(a", ""),
    ("+-*/", ""),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZE_CASES)
def test_normalize_answer_hand_cases(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def _official_normalize(s: str) -> str:
    # The official triviaqa_evaluation.py normalize_answer, transcribed as a
    # second, independent implementation to compare against.
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def handle_punc(text):
        exclude = set(string.punctuation + "".join(["\u2018", "\u2019", "\u00b4", "`"]))
        return "".join(ch if ch not in exclude else " " for ch in text)

    return white_space_fix(remove_articles(handle_punc(s.replace("_", " ").lower()))).strip()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_normalize_answer_equals_official_transcription(text: str) -> None:
    assert normalize_answer(text) == _official_normalize(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aAnNtThHeE _-.,'\u2019\u201c\u00e9x1 \t"), max_size=30))
def test_normalize_answer_is_idempotent(text: str) -> None:
    once = normalize_answer(text)
    assert normalize_answer(once) == once


def test_normalize_aliases_drops_empty_and_duplicates() -> None:
    assert normalize_aliases(["Scorpio", "SCORPIO", "Scorpio (disambiguation)", "+-*/", "The"]) == (
        "scorpio",
        "scorpio disambiguation",
    )


# ---------------------------------------------------------------- matching

# (prediction, aliases, exact, f1, contains), worked out by hand.
MATCH_CASES = [
    ("George Washington", ["George Washington"], True, 1.0, True),
    ("george washington.", ["George Washington"], True, 1.0, True),
    ("Washington", ["George Washington"], False, 2 / 3, False),  # P=1, R=1/2
    ("President George Washington", ["George Washington"], False, 0.8, True),  # P=2/3, R=1
    ("The Eiffel Tower", ["Eiffel Tower"], True, 1.0, True),
    ("Sunset Blvd.", ["Sunset Boulevard", "Sunset Blvd"], True, 1.0, True),
    ("Sunset Boulevard (film)", ["Sunset Boulevard"], False, 0.8, True),
    ("Paris", ["London"], False, 0.0, False),
    ("", ["Paris"], False, 0.0, False),
    ("", ["+-*/", "Arithmetic"], False, 0.0, False),  # the empty alias is dropped
    ("a", ["A"], False, 0.0, False),  # both normalise to ""
    ("Parisian", ["Paris"], False, 0.0, False),  # containment is whole tokens
    ("27", ["27", "twenty-seven"], True, 1.0, True),
    ("twenty seven", ["27", "twenty-seven"], True, 1.0, True),
    ("28", ["27"], False, 0.0, False),
    ("1930s", ["1930\u2019s", "1930s"], True, 1.0, True),
    ("1930\u2019s", ["1930s"], False, 0.0, False),  # "1930 s" vs "1930s"
    ("O\u2019Neill", ["O'Neill"], True, 1.0, True),
    ("\u201cHamlet\u201d", ["Hamlet"], False, 0.0, False),  # curly double quotes survive normalisation
    ("Caf\u00e9", ["Cafe"], False, 0.0, False),  # accents are not stripped
    ("rock_and_roll", ["Rock and Roll"], True, 1.0, True),
    ("the rock and roll", ["Rock & Roll"], False, 0.8, False),  # "rock and roll" vs "rock roll"
    ("Abbey Road by the Beatles", ["Abbey Road"], False, 2 / 3, True),  # P=2/4, R=1
    ("New York New York", ["New York"], False, 2 / 3, True),  # repeated tokens count once each
    ("York", ["New York", "York"], True, 1.0, True),
    ("An apple", ["apple", "Apples"], True, 1.0, True),
    ("apples", ["apple"], False, 0.0, False),
    ("U.S.A.", ["USA"], False, 0.0, False),
    # vs "sir henry campbell bannerman": P=1, R=3/4 -> 6/7; vs "campbell bannerman": 0.8
    ("Henry Campbell-Bannerman", ["Sir Henry Campbell-Bannerman", "Campbell-Bannerman"], False, 6 / 7, True),
    # vs "kilimanjaro": P=1/3, R=1 -> 0.5; vs "mt kilimanjaro": P=1/3, R=1/2 -> 0.4
    ("Mount Kilimanjaro, Tanzania", ["Kilimanjaro", "Mt. Kilimanjaro"], False, 0.5, True),
    ("$85,000", ["$85,000", "85000 distance"], True, 1.0, True),
    ("\u03a3\u03b5\u03af\u03c1\u03b9\u03bf\u03c2", ["Sirius", "\u03a3\u03b5\u03af\u03c1\u03b9\u03bf\u03c2"], True, 1.0, True),
    ("Sirius B", ["Sirius"], False, 2 / 3, True),
    ("sirius", ["SIRIUS"], True, 1.0, True),
]


@pytest.mark.parametrize(("prediction", "aliases", "exact", "f1", "contains"), MATCH_CASES)
def test_match_answer_hand_cases(prediction, aliases, exact, f1, contains) -> None:
    m = match_answer(prediction, aliases)
    assert m == AnswerMatch(exact=exact, f1=pytest.approx(f1, abs=1e-12), contains=contains)
    assert m.correct is exact  # the default rule is exact match
    # the single-purpose functions agree with the combined one
    assert exact_match(prediction, aliases) is exact
    assert token_f1(prediction, aliases) == pytest.approx(f1, abs=1e-12)
    assert contains_alias(prediction, aliases) is contains


def test_match_answer_accepts_normalized_aliases() -> None:
    raw = ["Sir Henry Campbell-Bannerman", "Campbell-Bannerman"]
    assert match_answer("campbell bannerman", raw) == match_answer("campbell bannerman", normalize_aliases(raw))


_words = st.text(alphabet=st.sampled_from("abcdeTh .,-'"), max_size=20)


@settings(max_examples=200, deadline=None)
@given(_words, st.lists(_words, min_size=1, max_size=5))
def test_match_answer_properties(prediction: str, aliases: list[str]) -> None:
    m = match_answer(prediction, aliases)
    assert 0.0 <= m.f1 <= 1.0
    if m.exact:
        assert m.f1 == 1.0 and m.contains
    if m.contains:
        assert m.f1 > 0.0
    # order and repetition of aliases do not matter
    assert match_answer(prediction, list(reversed(aliases)) + aliases) == m


@settings(max_examples=100, deadline=None)
@given(st.lists(_words, min_size=1, max_size=5))
def test_every_nonempty_alias_matches_itself(aliases: list[str]) -> None:
    for alias in aliases:
        assert match_answer(alias, aliases).exact is bool(normalize_answer(alias))


@pytest.mark.parametrize(
    ("prediction", "aliases", "message"),
    [
        ("Paris", "Paris", "aliases must be a sequence of strings, not a single str"),
        ("Paris", [], "aliases must not be empty"),
        ("Paris", ["Paris", 3], "aliases must all be str"),
        ("Paris", None, "aliases must be a sequence of strings"),
        (None, ["Paris"], "prediction must be a str"),
    ],
)
def test_match_answer_bad_input(prediction, aliases, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        match_answer(prediction, aliases)


# ---------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    ("generation", "expected"),
    [
        (" Paris\nQuestion: What is the capital of Italy?\nAnswer: Rome", "Paris"),
        (" Paris\n", "Paris"),
        ("\n\n  Paris", "Paris"),  # leading blank lines are not the cut
        (" George Washington Q: next one", "George Washington"),
        (" Paris Question: next", "Paris"),
        (" FAQ: none", "FAQ: none"),  # "Q:" inside a word is not a new block
        (" George Washington. He was the first.", "George Washington. He was the first."),
        ("", ""),
        ("   \n", ""),
    ],
)
def test_extract_answer(generation: str, expected: str) -> None:
    assert extract_answer(generation) == expected


def test_extract_answer_bad_input() -> None:
    with pytest.raises(ValueError, match="generation must be a str"):
        extract_answer(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- agreement


def test_sample_agreement_by_hand() -> None:
    # normalised: paris, paris, lyon, paris, marseille -> 3 of 5 agree with "paris"
    assert sample_agreement("Paris", ["paris", "Paris.", "Lyon", "The Paris", "Marseille"]) == 0.6
    assert sample_agreement("The Beatles", ["Beatles", "the beatles!", "Beatles, The"]) == 1.0
    assert sample_agreement("27", ["twenty-seven", "28"]) == 0.0
    assert sample_agreement("", ["", "x", "the", "y"]) == 0.5  # "" and "the" both normalise to ""


@settings(max_examples=100, deadline=None)
@given(_words, st.lists(_words, min_size=1, max_size=8))
def test_sample_agreement_is_a_fraction(greedy: str, samples: list[str]) -> None:
    value = sample_agreement(greedy, samples)
    assert 0.0 <= value <= 1.0
    assert value * len(samples) == pytest.approx(round(value * len(samples)))
    assert sample_agreement(greedy, samples + [greedy]) >= value


@pytest.mark.parametrize(
    ("greedy", "samples", "message"),
    [
        ("Paris", [], "samples must not be empty"),
        ("Paris", "Paris", "samples must be a sequence of strings, not a single str"),
        ("Paris", ["Paris", None], "samples must be a str"),
        (None, ["Paris"], "greedy must be a str"),
    ],
)
def test_sample_agreement_bad_input(greedy, samples, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        sample_agreement(greedy, samples)
