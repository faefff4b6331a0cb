"""The few-shot P(True) examples and the answer a P(True) prompt evaluates (Kadavath et al. 2022, sections 4.1-4.2).

Pure functions of the questions and the proposed answers: which answer is
proposed (:func:`ptrue_proposal`), which questions may lend examples
(:func:`pool_candidates`), how they are labelled and picked
(:func:`ptrue_example_pool`), and the refusal of a pool too small
(:func:`check_example_pool`). The run that records them is :mod:`.run`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from calibkit.errors import UserError
from calibkit.tasks.free_answer.ptrue import PTrueExample
from calibkit.tasks.free_answer.question import Question

from .answers import MATCHERS

PTRUE_ANSWERS = ("sample", "greedy")  # which answer P(True) evaluates; "sample" is Kadavath et al.'s protocol
PTRUE_MIXES = ("accuracy", "balanced")  # how few-shot P(True) examples are picked


@dataclass(frozen=True)
class Proposal:
    """The answer a P(True) prompt evaluates, and the answers it shows first."""

    source: str  # "s0" (the first sample) or "greedy"
    proposed: str  # the evaluated answer, cleaned
    shown: tuple[str, ...]  # brainstormed answers the prompt shows; `proposed` is one of them when any are shown


def ptrue_proposal(greedy: str, samples: Sequence[str], *, answer: str, brainstorm: int) -> Proposal:
    """Which answer P(True) evaluates, per Kadavath et al. (2022), sections 4.1-4.2.

    ``answer="sample"`` (the paper's protocol): the evaluated answer is the
    first sample, drawn at the run's sampling temperature (T = 1 by
    default), and the brainstormed answers are the first ``brainstorm``
    samples, so it is one of them. ``answer="greedy"``: the greedy answer,
    shown first among the brainstormed ones followed by ``brainstorm - 1``
    samples. Pass cleaned answers.

    Example:
        >>> ptrue_proposal("Paris", ["Lyon", "Paris", "Nice"], answer="sample", brainstorm=2)
        Proposal(source='s0', proposed='Lyon', shown=('Lyon', 'Paris'))
        >>> ptrue_proposal("Paris", ["Lyon", "Paris", "Nice"], answer="greedy", brainstorm=2).shown
        ('Paris', 'Lyon')
    """
    if answer not in PTRUE_ANSWERS:
        raise ValueError(f"ptrue_answer must be one of {', '.join(PTRUE_ANSWERS)}; got {answer!r}")
    if answer == "sample":
        if not samples:
            raise ValueError("ptrue_answer='sample' evaluates a sampled answer; it needs samples >= 1")
        return Proposal("s0", samples[0], tuple(samples[:brainstorm]))
    return Proposal("greedy", greedy, (greedy, *samples[: brainstorm - 1]) if brainstorm else ())


def check_example_pool(n_found: int, *, shots: int, n_candidates: int) -> None:
    """Refuse a few-shot P(True) run whose pool cannot show every question ``shots`` examples.

    A question never sees its own example, so the pool needs ``shots + 1``
    labelled answers; empty answers are left out of it. Showing fewer
    examples than config.json records would make the run a different
    (fewer-shot) method under the k-shot name.

    Raises:
        UserError: fewer than ``shots + 1`` non-empty answers; names the most
            ``--ptrue-shots`` the run can show.
    """
    if n_found >= shots + 1:
        return
    fix = (f"use --ptrue-shots {n_found - 1} or fewer" if n_found >= 2
           else "use --ptrue-shots 0 (the paper's six hand-written examples)")
    raise UserError(f"few-shot P(True) needs {shots + 1} labelled answers ({shots} shown to each question, never "
                    f"its own), but only {n_found} of the {n_candidates} candidate answers were non-empty; {fix}")


def pool_candidates(questions: Sequence[Question], k: int, *, seed: int) -> list[Question]:
    """A seeded draw of up to 4k + 1 questions whose proposed answers may become P(True) examples."""
    rng = np.random.default_rng([seed, 7919])  # its own stream: the few-shot draw uses the seed as well
    n = min(len(questions), 4 * k + 1)
    return [questions[i] for i in sorted(rng.choice(len(questions), size=n, replace=False))]


def ptrue_example_pool(
    candidates: Sequence[Question], proposals: Sequence[Proposal], *, size: int,
    mix: str = "accuracy", seed: int = 0, matcher: str = "triviaqa",
) -> list[tuple[str, PTrueExample]]:
    """Labelled self-evaluations for few-shot P(True): ``size`` (question id, example) pairs.

    Each candidate's proposed answer (with the answers its prompt would show
    first, see :func:`ptrue_proposal`) is labelled by exact match against
    its aliases (``matcher``'s rule); empty answers are left out. ``mix="accuracy"`` takes the
    first ``size`` in a seeded random order, so the share of True examples
    follows the model's own accuracy (few-shot examples that are half True
    plant a 50% prior); ``mix="balanced"`` alternates True and False,
    starting with True, for as long as both kinds last. config.json records
    how many are True. A question's own example is left out of its prompt,
    hence ``size`` = shots + 1.

    Example:
        >>> qs = [Question(id=f"t/{i}", question=f"Q{i}?", aliases=(f"a{i}",)) for i in range(4)]
        >>> props = [Proposal("s0", a, ()) for a in ["a0", "nope", "x", "a3"]]
        >>> pool = ptrue_example_pool(qs, props, size=3, mix="balanced")
        >>> [(qid, e.proposed, e.correct) for qid, e in pool]
        [('t/0', 'a0', True), ('t/1', 'nope', False), ('t/3', 'a3', True)]
    """
    if mix not in PTRUE_MIXES:
        raise ValueError(f"mix must be one of {', '.join(PTRUE_MIXES)}; got {mix!r}")
    labelled = [
        (q.id, PTrueExample(question=q.question, proposed=p.proposed, brainstormed=p.shown,
                            correct=MATCHERS[matcher].match(p.proposed, q.aliases).exact))
        for q, p in zip(candidates, proposals, strict=True)
        if p.proposed.strip()
    ]
    if mix == "accuracy":
        order = np.random.default_rng([seed, 104729]).permutation(len(labelled))
        return [labelled[i] for i in order[:size]]
    right = [x for x in labelled if x[1].correct]
    wrong = [x for x in labelled if not x[1].correct]
    out = []
    while len(out) < size and (right or wrong):
        for kind in (right, wrong):
            if kind and len(out) < size:
                out.append(kind.pop(0))
    return out
