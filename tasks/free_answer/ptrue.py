"""Kadavath et al.'s (2022) P(True) self-evaluation: the prompt that asks whether a proposed answer is right.

:func:`ptrue_prompt` is the self-evaluation of one proposed answer, a
:class:`~calibkit.records.Prompt` with scored options ``" (A)"`` / ``" (B)"``,
optionally after solved examples (:class:`PTrueExample`: the model's own,
or the paper's six of appendix A.5, :func:`paper_ptrue_examples`). This
module only builds strings: it never imports torch or touches a model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from calibkit.records import Prompt, Turn

from .answers import match_answer
from .layouts import flat
from .question import Question

PTRUE_TASK = "triviaqa_ptrue"

#: the scored continuations of a P(True) prompt, word-boundary space included
PTRUE_OPTIONS = (" (A)", " (B)")


@dataclass(frozen=True)
class PTrueExample:
    """One solved P(True) example for a few-shot self-evaluation prefix."""

    question: str  # the example question
    proposed: str  # the answer that was evaluated
    correct: bool  # whether it was right: shown as " (A)" (True) or " (B)" (False)
    brainstormed: tuple[str, ...] = ()  # other samples shown first (the brainstorm variant)


#: which P(True) prompt a run shows when it has no few-shot examples: Kadavath et al.'s (appendix A.5) or none
PTRUE_PROMPTS = ("paper", "none")


def _a5(question: str, ideas: tuple[str, ...], proposed: str, correct: bool) -> PTrueExample:
    return PTrueExample(question=question, proposed=proposed, correct=correct, brainstormed=ideas)


#: Kadavath et al. (2022), appendix A.5 "Prompt for Self-Evaluation", transcribed from arXiv 2207.05221 v4:
#:
#:   "We used this prompt for self-evaluation of P(True), when not taking a few-shot approach (which
#:   performs best, as it improves significantly on calibration). This was simply the first prompt we
#:   tried, and it was not otherwise optimized. It contains six examples, with some similarity to
#:   arithmetic, trivia, and fill-in-the-blank completions. This version contains extra "brainstormed"
#:   examples; we also used an otherwise identical version without these examples for the types of
#:   evaluation discussed in section 4.1:"
#:
#: followed by six solved blocks, each ending "The possible answer is: (A)" or "(B)". Transcription:
#: the PDF wraps long lines (joined here with one space) and writes the brainstormed ideas as
#: ``"James Monroe\n Thomas Jefferson\n ..."`` (read as one idea per line, as section 4.2 prints them);
#: its ``didn’t`` is LaTeX's rendering of a typed ``'`` in a typewriter font (ASCII here); "Ghandhi",
#: "28,347" vs "28347" and "33 * 849" (= 28,017, so no idea is right) are the paper's own.
KADAVATH_A5_EXAMPLES = (
    _a5("Who was the third president of the United States?",
        ("James Monroe", "Thomas Jefferson", "Jefferson", "Thomas Jefferson", "George Washington"),
        "James Monroe", False),
    _a5("Calculate 33 + 4", ("37", "37", "40", "36", "37"), "37", True),
    _a5('Fill in the blank in the sentence "I went to the grocery and then to the pharmacy. I was disappointed '
        "that they didn't have any vegetarian sausage at the _____.\"",
        ("grocery", "store", "grocery", "refrigerator", "grocery"), "grocery", True),
    _a5("Name a celebrated civil rights leader.",
        ("Martin Luther King", "Ghandhi", "Martin Luther King", "Barack Obama", "Martin Luther King"),
        "Martin Luther King", True),
    _a5("Calculate 33 * 849", ("28,347", "1,490", "27,488", "3,409", "34,561"), "28347", False),
    _a5('Fill in the blank in the sentence "I shot the _____ and it went swish. We walked away the winners of '
        'that battle!"', ("gun", "bullet", "arrow", "basketball", "rifle"), "gun", False),
)


def paper_ptrue_examples(*, brainstorm: bool) -> tuple[PTrueExample, ...]:
    """The six examples of Kadavath et al.'s non-few-shot P(True) prompt (appendix A.5), as a prefix.

    ``brainstorm=True`` gives the version the paper prints (each example
    shows five brainstormed ideas, the evaluated one first: section 4.2).
    ``brainstorm=False`` gives the version for section 4.1, which the paper
    describes as "otherwise identical ... without these examples" but does
    not print: the brainstormed lines are dropped and each block is written
    as :func:`ptrue_text` writes the evaluated question (``Proposed
    Answer:`` ...), so the prompt has one wording throughout; whether the
    paper's said "Possible" or "Proposed" there is not known.

    Example:
        >>> [e.correct for e in paper_ptrue_examples(brainstorm=False)]
        [False, True, True, True, False, False]
    """
    if brainstorm:
        return KADAVATH_A5_EXAMPLES
    return tuple(PTrueExample(question=e.question, proposed=e.proposed, correct=e.correct)
                 for e in KADAVATH_A5_EXAMPLES)





def ptrue_text(question: str, proposed: str, *, brainstormed: Sequence[str] = ()) -> str:
    """Kadavath et al. (2022) self-evaluation block for one proposed answer.

    Without ``brainstormed`` (section 4.1)::

        Question: <question>
        Proposed Answer: <proposed>
        Is the proposed answer:
         (A) True
         (B) False
        The proposed answer is:

    With ``brainstormed`` samples (section 4.2, "comparison examples"; the
    paper shows 5 samples at T=1, the evaluated one among them)::

        Question: <question>
        Here are some brainstormed ideas: <sample 1>
        <sample 2>
        ...
        Possible Answer: <proposed>
        Is the possible answer:
         (A) True
         (B) False
        The possible answer is:

    The scored continuations are :data:`PTRUE_OPTIONS`; P(True) is P(" (A)")
    renormalized over the two. Whitespace runs inside the inputs become
    single spaces so the layout keeps its lines.
    """
    for name, value in (("question", question), ("proposed", proposed)):
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a str, got {type(value).__name__}")
    if isinstance(brainstormed, str):
        raise ValueError("brainstormed must be a sequence of strings, not a single str")
    if not all(isinstance(b, str) for b in brainstormed):
        raise ValueError("brainstormed must hold only strings")
    if brainstormed:
        ideas = "\n".join(flat(b) for b in brainstormed)
        return (
            f"Question: {flat(question)}\n"
            f"Here are some brainstormed ideas: {ideas}\n"
            f"Possible Answer: {flat(proposed)}\n"
            "Is the possible answer:\n (A) True\n (B) False\n"
            "The possible answer is:"
        )
    return (
        f"Question: {flat(question)}\n"
        f"Proposed Answer: {flat(proposed)}\n"
        "Is the proposed answer:\n (A) True\n (B) False\n"
        "The proposed answer is:"
    )


def ptrue_prompt(
    item: Question,
    proposed: str,
    *,
    brainstormed: Sequence[str] = (),
    examples: Iterable[PTrueExample] = (),
    sample: str = "greedy",
    correct: bool | None = None,
) -> Prompt:
    """The P(True) self-evaluation of one proposed answer, as a scorable Prompt.

    ``text`` is the few-shot ``examples`` (each block followed by its
    answer, ``" (A)"`` or ``" (B)"``, blocks one newline apart, as in the
    paper's appendix A.5) then :func:`ptrue_text`; ``options`` are
    :data:`PTRUE_OPTIONS`. Chat form: the user turn holds all but the last
    line; the assistant turn opens with that line, "The proposed answer is:"
    (or "The possible answer is:"), and the option follows it.

    ``answer`` is 0 (True) when the proposed answer is correct, else 1.
    Correctness is the default rule, exact match on normalised aliases
    (:func:`calibkit.tasks.free_answer.answers.match_answer`), unless ``correct`` overrides it;
    ``meta`` keeps the exact/F1/containment scores either way.

    Args:
        item: the question being answered.
        proposed: the cleaned answer under evaluation (see ``extract_answer``).
        brainstormed: other samples to show first (the brainstorm variant).
        examples: solved self-evaluations shown before (few-shot P(True)).
        sample: names the evaluated sample in the id, e.g. "greedy" or "s3".
        correct: overrides the exact-match label when not None.

    Example:
        >>> q = Question(id="triviaqa/c/validation/7", question="Capital of France?",
        ...                    aliases=("Paris",))
        >>> p = ptrue_prompt(q, "Paris")
        >>> p.id, p.options, p.answer
        ('triviaqa_ptrue/c/validation/7/greedy', (' (A)', ' (B)'), 0)
    """
    if not isinstance(item, Question):
        raise ValueError(f"item must be a Question, got {type(item).__name__}")
    if not isinstance(sample, str) or not sample or "/" in sample:
        raise ValueError(f"sample must be a non-empty str without '/'; got {sample!r}")
    if correct is not None and not isinstance(correct, bool):
        raise ValueError(f"correct must be True, False or None; got {correct!r}")
    examples = tuple(examples)
    if not all(isinstance(e, PTrueExample) for e in examples):
        raise ValueError("examples must hold only PTrueExample records")

    block = ptrue_text(item.question, proposed, brainstormed=brainstormed)
    prefix = "".join(
        ptrue_text(e.question, e.proposed, brainstormed=e.brainstormed)
        + PTRUE_OPTIONS[0 if e.correct else 1]
        + "\n"
        for e in examples
    )
    text = prefix + block
    user, last_line = text.rsplit("\n", 1)
    match = match_answer(proposed, item.aliases)
    is_correct = match.correct if correct is None else correct
    _, rest = item.id.split("/", 1) if "/" in item.id else ("", item.id)
    return Prompt(
        id=f"{PTRUE_TASK}/{rest}/{sample}",
        task=PTRUE_TASK,
        text=text,
        options=PTRUE_OPTIONS,
        answer=0 if is_correct else 1,
        turns=(Turn(role="user", content=user),),
        assistant_prefix=last_line,
        meta={
            "question_id": item.id,
            "proposed": proposed,
            "brainstormed": list(brainstormed),
            "n_examples": len(examples),
            "variant": "brainstorm" if brainstormed else "basic",
            "exact": match.exact,
            "f1": match.f1,
            "contains": match.contains,
        },
    )
