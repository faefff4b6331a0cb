"""One free-answer question (TriviaQA, NQ-open, arithmetic, GSM8K, MMLU as free answers, your file) and its shots.

A :class:`Question` holds the text, the accepted answers (``aliases``) and
the few-shot examples drawn for it; :func:`draw_shots` is the one seeded
draw every source uses (Kadavath et al. 2022, appendix A.7: examples "randomly
chosen ... from the evaluation itself", never the question), and
:func:`with_shots` turns (question, answers) rows into questions with their
shots. Pure Python: no model, no torch.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .answers import normalize_aliases


@dataclass(frozen=True)
class Shot:
    """One few-shot example: a question and the answer shown for it."""

    question: str  # the example's question text
    answer: str  # the example's canonical answer (see Question.answer)


@dataclass(frozen=True)
class Question:
    """One question with its accepted answers and drawn few-shot examples.

    Example:
        >>> q = Question(id="triviaqa/x/validation/0", question="Capital of France?",
        ...              aliases=("Paris", "Paris, France"), answer="Paris")
        >>> q.normalized_aliases
        ('paris', 'paris france')
    """

    id: str  # stable id, "<source>/.../<question_id or row>"
    question: str  # the question text as in the source
    aliases: tuple[str, ...]  # accepted answers as in the source (raw)
    normalized_aliases: tuple[str, ...] = ()  # distinct non-empty normalised aliases, sorted: the source's field, else computed
    answer: str = ""  # canonical answer for few-shot use: the source's `value`, else the first alias
    shots: tuple[Shot, ...] = ()  # few-shot examples drawn from the same split, never this question
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)  # row, source, question_source

    def shard_text(self) -> str:
        """What the model reads for this question (its shots, then it): how a data-parallel run weighs it."""
        return "".join(f"{shot.question}\n{shot.answer}\n" for shot in self.shots) + self.question

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise ValueError(f"Question {self.id!r}: question must be a non-empty str")
        if not self.aliases or not all(isinstance(a, str) for a in self.aliases):
            raise ValueError(f"Question {self.id!r}: aliases must be a non-empty tuple of str")
        # Derived fields are filled here so hand-made records behave like loaded ones.
        if not self.normalized_aliases:
            object.__setattr__(self, "normalized_aliases", normalize_aliases(self.aliases))
        if not self.answer:
            object.__setattr__(self, "answer", self.aliases[0])


def draw_shots(n: int, row: int, k: int, *, seed: int) -> tuple[int, ...]:
    """Rows of ``k`` distinct few-shot examples for ``row`` out of ``n``, never ``row``.

    Seeded by ``(seed, row)`` alone, so a question's shots do not depend on
    which other questions are asked: ``random.Random(f"{seed}/{row}")``
    samples ``k`` of the ``n - 1`` other rows (several times cheaper per
    question than seeding a numpy Generator). The draw is reproducible for a
    given Python version; Python guarantees the seeding but not ``sample``'s
    algorithm across versions, so keep the Python version with the run.
    Length ``k``, in draw order.

    Example:
        >>> sorted(draw_shots(5, 2, 4, seed=0))
        [0, 1, 3, 4]
    """
    if not 0 <= row < n:
        raise ValueError(f"row must be in [0, {n}); got {row}")
    if not 0 <= k <= n - 1:
        raise ValueError(f"k must be in [0, {n - 1}] for n={n}; got {k}")
    picks = random.Random(f"{seed}/{row}").sample(range(n - 1), k)
    # Draw among the n-1 other rows, then skip over the question's own row.
    return tuple(p + (p >= row) for p in picks)


def with_shots(rows: Sequence[tuple[str, tuple[str, ...]]], *, prefix: str, limit: int | None, shots: int,
               seed: int, where: str) -> tuple[Question, ...]:
    """The first ``limit`` of ``(question, answers)`` rows as questions ``<prefix>/<row>``, each with seeded shots.

    A shot shows its row's first answer; shots are drawn from all rows
    (:func:`draw_shots`), whatever ``limit`` keeps. The caller checks that
    ``shots`` < ``len(rows)``.
    """
    n = len(rows)
    pool = [Shot(q, answers[0]) for q, answers in rows]
    keep = n if limit is None else min(limit, n)
    return tuple(Question(id=f"{prefix}/{i}", question=rows[i][0], aliases=rows[i][1],
                          shots=tuple(pool[j] for j in draw_shots(n, i, shots, seed=seed)),
                          meta={"row": i, "source": where}) for i in range(keep))


@dataclass(frozen=True)
class Loaded:
    """What a source's loader returns: its questions and the data part of config.json."""

    questions: tuple[Question, ...]
    config: Mapping[str, Any]  # the data settings config.json records (they name the run's folder)
    has_answers: bool = True  # False for a prompts file without answers: nothing is judged
