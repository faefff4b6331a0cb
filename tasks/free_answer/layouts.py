"""Free-answer prompt layouts: how question/answer blocks are written, and the context a model continues.

:class:`QALayout` is one way of writing few-shot blocks (Kadavath et al.'s
"Question:/Answer:", the terse "Q:/A:", lm-eval's nq_open, GSM8K's, the
arithmetic one); :func:`generation_context` turns a
:class:`~.question.Question` into a :class:`GenerationContext` (base text
and chat turns) and :func:`fit_context` keeps as many shots as fit a
window. The P(True) self-evaluation prompts are :mod:`.ptrue`. This module
only builds strings: it never imports torch or touches a model.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from calibkit.records import Turn

from .question import Question

CHAT_INSTRUCTION = (
    "Answer the last question with the short answer only (a name, a number, a date or a few "
    "words), without any explanation."
)


@dataclass(frozen=True)
class QALayout:
    """How question/answer blocks are written in a generation context.

    A block is ``f"{question_prefix} {question}\\n{answer_prefix} {answer}"``;
    blocks are joined by ``separator``; the context ends with the asked
    question's block cut right after ``answer_prefix``, so the model writes
    ``" answer\\n"``.
    """

    name: str  # recorded in config.json, e.g. "kadavath"
    question_prefix: str  # e.g. "Question:"
    answer_prefix: str  # e.g. "Answer:"
    separator: str  # between consecutive blocks, e.g. "\n"
    description: str = ""  # base form: written before the first block
    question_suffix: str = ""  # appended to every question (lm-eval's nq_open writes "{{question}}?")
    stop: tuple[str, ...] = ("\n", "Q:")  # the answer ends before the first of these (after leading whitespace)
    flatten: bool = True  # whitespace runs inside questions and answers become single spaces


#: Kadavath et al. 2022, appendix A.7: "Question: ...\nAnswer: ..." blocks, one newline apart
KADAVATH_LAYOUT = QALayout(name="kadavath", question_prefix="Question:", answer_prefix="Answer:", separator="\n")
#: the terse "Q: ...\nA: ..." layout, blocks one blank line apart
QA_LAYOUT = QALayout(name="qa", question_prefix="Q:", answer_prefix="A:", separator="\n\n")
#: lm-evaluation-harness's nq_open (lm_eval/tasks/nq_open/nq_open.yaml): description, "Q: <question>?\nA:",
#: examples one newline apart (its fewshot_delimiter), generation until "\n", "." or ","; texts as stored
NQ_OPEN_LAYOUT = QALayout(name="nq_open", question_prefix="Q:", answer_prefix="A:", separator="\n",
                          description="Answer these questions:\n\n", question_suffix="?", stop=("\n", ".", ","),
                          flatten=False)


#: GSM8K-style worked solutions: blocks one blank line apart, the answer runs until the next question
GSM8K_LAYOUT = QALayout(name="gsm8k", question_prefix="Question:", answer_prefix="Answer:", separator="\n\n",
                        stop=("\n\nQuestion:", "\n\n\n"), flatten=False)
#: allenai/basic_arithmetic asked as free answers: Kadavath et al.'s blocks, the number ends at the line's end
ARITHMETIC_LAYOUT = replace(KADAVATH_LAYOUT, name="arithmetic", stop=("\n",))
#: every layout by the name config.json records
LAYOUTS = {layout.name: layout for layout in (KADAVATH_LAYOUT, QA_LAYOUT, NQ_OPEN_LAYOUT, GSM8K_LAYOUT,
                                              ARITHMETIC_LAYOUT)}

@dataclass(frozen=True)
class GenerationContext:
    """What a model continues to answer one question, in base and chat form.

    Base form: generate after ``text``. Chat form: render ``turns`` with the
    chat template, open the assistant turn with ``assistant_prefix`` (empty)
    and generate after the template's generation prompt. In both forms the
    answer ends at the end of turn (an end token) or at the layout's
    ``stop`` strings, whichever comes first.

    Example (zero-shot):
        >>> q = Question(id="t/0", question="Capital of France?", aliases=("Paris",))
        >>> generation_context(q, shots=0).text
        'Question: Capital of France?\\nAnswer:'
    """

    id: str  # the question's id
    text: str  # base form: shots then the question, ending with the answer prefix ("...Answer:")
    turns: tuple[Turn, ...]  # chat form: one user turn holding the instruction, shots and question
    n_shots: int  # how many few-shot examples the context holds (record it in config.json)
    layout: str  # the QALayout's name
    assistant_prefix: str = ""  # chat form: the assistant turn starts empty
    stop: tuple[str, ...] = ("\n",)  # the layout's stop strings (QALayout.stop), in both forms

# --------------------------------------------------------------------------- generation


def generation_context(
    item: Question,
    *,
    shots: int | None = None,
    layout: QALayout = KADAVATH_LAYOUT,
    instruction: str | None = CHAT_INSTRUCTION,
) -> GenerationContext:
    """The k-shot context a model continues to answer ``item``.

    Base form (``text``): the first ``shots`` of ``item.shots`` as question /
    answer blocks, then the question, ending with the answer prefix; the
    model writes ``" answer\\n"``. Chat form (``turns``): one user turn
    holding ``instruction``, a blank line and the same text; the assistant
    turn starts empty. Whitespace runs inside questions and answers become
    single spaces so each block keeps its two lines.

    Args:
        item: the question, with its drawn shots.
        shots: how many of ``item.shots`` to use, in draw order; None = all.
        layout: the block layout (:data:`KADAVATH_LAYOUT` or :data:`QA_LAYOUT`).
        instruction: the chat form's instruction; None: the user turn is the
            question alone, as written (a prompt asked as it is).

    Example:
        >>> from calibkit.tasks.free_answer.question import Shot
        >>> q = Question(id="t/0", question="Capital of France?", aliases=("Paris",),
        ...                    shots=(Shot("Capital of Italy?", "Rome"),))
        >>> print(generation_context(q).text)
        Question: Capital of Italy?
        Answer: Rome
        Question: Capital of France?
        Answer:
    """
    if not isinstance(item, Question):
        raise ValueError(f"item must be a Question, got {type(item).__name__}")
    k = len(item.shots) if shots is None else shots
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(item.shots):
        raise ValueError(f"shots must be an int in [0, {len(item.shots)}] for {item.id!r}; got {shots!r}")
    blocks = [_block(layout, s.question, s.answer) for s in item.shots[:k]]
    blocks.append(f"{layout.question_prefix} {_question(layout, item.question)}\n{layout.answer_prefix}")
    text = layout.description + layout.separator.join(blocks)
    return GenerationContext(
        id=item.id,
        text=text,
        turns=(Turn(role="user", content=item.question if instruction is None else f"{instruction}\n\n{text}"),),
        n_shots=k,
        layout=layout.name,
        stop=layout.stop,
    )


def fit_context(
    item: Question,
    *,
    max_tokens: int,
    count_tokens: Callable[[str], int],
    chat: bool = False,
    layout: QALayout = KADAVATH_LAYOUT,
    instruction: str | None = CHAT_INSTRUCTION,
) -> GenerationContext:
    """The context with as many leading shots as fit in ``max_tokens``.

    Drops shots from the end of ``item.shots`` until ``count_tokens`` of the
    measured form is at most ``max_tokens``; the result's ``n_shots`` says
    how many were kept. ``chat=False`` measures ``text``; ``chat=True``
    measures the user turn's content (pass a ``count_tokens`` that renders
    the chat template if the template's own tokens matter). Leave room for
    the answer in ``max_tokens``.

    Raises:
        ValueError: when even the zero-shot context exceeds ``max_tokens``.

    Example:
        >>> from calibkit.tasks.free_answer.question import Shot
        >>> q = Question(id="t/0", question="Q?", aliases=("a",),
        ...                    shots=(Shot("Q1?", "a1"), Shot("Q2?", "a2")))
        >>> fit_context(q, max_tokens=70, count_tokens=len).n_shots   # characters as "tokens"
        2
        >>> fit_context(q, max_tokens=60, count_tokens=len).n_shots
        1
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive int; got {max_tokens!r}")
    if not callable(count_tokens):
        raise ValueError("count_tokens must be a callable taking a str and returning an int")
    for k in range(len(item.shots), -1, -1):
        ctx = generation_context(item, shots=k, layout=layout, instruction=instruction)
        n = count_tokens(ctx.turns[0].content if chat else ctx.text)
        if n <= max_tokens:
            return ctx
    raise ValueError(f"max_tokens={max_tokens} is too small: {item.id!r} needs {n} tokens with no shots")


def _block(layout: QALayout, question: str, answer: str) -> str:
    answer = flat(answer) if layout.flatten else answer
    return f"{layout.question_prefix} {_question(layout, question)}\n{layout.answer_prefix} {answer}"


def _question(layout: QALayout, question: str) -> str:
    return (flat(question) if layout.flatten else question) + layout.question_suffix


def flat(text: str) -> str:
    """``text`` with every whitespace run as one space: a newline inside a question or answer would break its block."""
    return " ".join(text.split())
