"""Words of an answer: where they are, and whether they are function words, content words or punctuation.

A word is a maximal run of non-whitespace characters (:func:`word_spans`).
Its class (:func:`word_class`) reads its letters and digits: a function word
is in scikit-learn's English stop-word list (318 words: articles, pronouns,
prepositions, auxiliaries, conjunctions; ``sklearn.feature_extraction.text.
ENGLISH_STOP_WORDS``) or contracts one ("it's", "isn't"), anything else with a letter or digit is a content
word, and a word with neither is punctuation. Pure Python.
"""
from __future__ import annotations

import re

WORD = re.compile(r"\S+")
_CORE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
CLASSES = ("function", "content", "punctuation")
_NEGATED = {"ca": "can", "wo": "will", "sha": "shall"}  # can't, won't, shan't


def word_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the words of ``text``.

    Example:
        >>> word_spans(" The Eiffel  Tower.")
        [(1, 4), (5, 11), (13, 19)]
    """
    return [m.span() for m in WORD.finditer(text)]


def word_class(word: str) -> str:
    """``"function"``, ``"content"`` or ``"punctuation"``.

    Example:
        >>> [word_class(w) for w in ("The", "Eiffel", "it's", "won't", "1889.", "--")]
        ['function', 'content', 'function', 'function', 'content', 'punctuation']
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    cores = _CORE.findall(word.lower().replace("’", "'"))
    if not cores:
        return "punctuation"
    core = "".join(cores)
    if core in ENGLISH_STOP_WORDS:
        return "function"
    if len(cores) == 1 and "'" in core:  # a contraction: it's, we'll, isn't, can't
        head, _, tail = core.partition("'")
        if tail == "t" and head.endswith("n"):
            head = _NEGATED.get(head[:-1], head[:-1])
        return "function" if head in ENGLISH_STOP_WORDS else "content"
    return "content"
