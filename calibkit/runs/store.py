"""Runs on disk: ``runs/<task>/<model>/<config-hash>/``.

* ``config.json`` — everything that determines the numbers;
* ``results.jsonl`` — one JSON object per item, appended as items finish,
  flushed and fsynced, so a killed run loses at most the item in flight and
  a rerun of the same config resumes where it stopped; when a run finishes
  its rows are put in the run's item order (:meth:`RunStore.consolidate`),
  so the file, and every statistic read from it, does not depend on batch
  sizes, resumes or the number of processes;
* ``results.rank-<k>.jsonl`` — while a data-parallel run is under way, the
  rows rank ``k`` appended; read together with ``results.jsonl`` and merged
  into it when the run finishes;
* ``prompts.jsonl`` — the exact text each row was computed from, each
  distinct text once (:mod:`calibkit.runs.prompts`; ``prompts.rank-<k>.jsonl``
  while a data-parallel run is under way); absent in runs made before it;
* ``summary.json``, ``report.html`` — derived, rewritten at will;
* ``writer.lock`` — the one writer's OS lock (:mod:`calibkit.runs.lock`):
  a second command on a folder being written stops with one line.

Everything after this point runs from disk without a model. This module
must never import torch.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from calibkit.records import ScoredItem
from calibkit.runs import lock, prompts
from calibkit.files import write_atomic
from calibkit.runs.files import RunError, append_lines, complete_lines, ends_clean, json_line

CONFIG_FILE = "config.json"
RESULTS_FILE = "results.jsonl"
RANK_FILE = "results.rank-{rank}.jsonl"  # rows one rank of a data-parallel run appends
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"

# Recorded in config.json but not part of a run's identity: upgrading a
# library must not orphan a half-finished run, and what a run determines
# once and records (see RunStore.record) may differ in float noise on other
# hardware. The command line that made a run (calibkit.runs.source) is where
# it came from, not what it is: the same settings typed another way resume it.
_NOT_HASHED = ("versions", "created", "data_source", "recorded", "n_parameters", "command")


def config_hash(config: Mapping[str, Any]) -> str:
    """Twelve hex digits identifying the settings that determine the numbers."""
    identity = {k: v for k, v in config.items() if k not in _NOT_HASHED}
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


class RunStore:
    """One run folder: its config, its streamed results and derived files.

    ``rank`` (a data-parallel run's process, see :meth:`for_rank`) makes
    :meth:`append` write to that rank's own file; reading always sees every
    file's rows.
    """

    def __init__(self, path: str | os.PathLike[str], *, rank: int | None = None) -> None:
        self.path = Path(path)
        self.rank = rank
        self._lock: lock.WriterLock | None = None  # held while this process writes the folder (see hold)
        self._texts: prompts.TextLog | None = None  # this store's prompt-record writer (see keep_texts)

    def for_rank(self, rank: int) -> "RunStore":
        """The same folder, appending to ``results.rank-<rank>.jsonl`` (one writer per file, no locks)."""
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
            raise ValueError(f"rank must be a non-negative int; got {rank!r}")
        return RunStore(self.path, rank=rank)

    # ---------------------------------------------------------- creating

    @classmethod
    def create(cls, root: str | os.PathLike[str], *, task: str, model: str, config: Mapping[str, Any],
               hold: bool = False) -> "RunStore":
        """Open ``root/<task>/<model>/<hash>/``, making it (and config.json) if new.

        Reopening the same configuration resumes it; the hash makes a
        different configuration land in a different folder. ``hold``: take
        the folder's writer lock first (:meth:`hold`).
        """
        return cls.at(Path(root) / task / model / config_hash(config), config=config, hold=hold)

    @classmethod
    def at(cls, path: str | os.PathLike[str], *, config: Mapping[str, Any], hold: bool = False) -> "RunStore":
        """Use an explicit folder; refuse one that holds another configuration. ``hold`` as in :meth:`create`."""
        store = cls(path)
        if hold:
            store.hold()
        store._init_config(config)
        return store

    def hold(self) -> None:
        """Become the folder's one writer until :meth:`release` or the end of the process.

        Raises :class:`calibkit.runs.lock.RunLockedError` (one line naming the
        holder) when another process writes the folder.
        """
        if self._lock is None:
            try:
                self._lock = lock.acquire(self.path)
            except OSError as exc:
                raise RunError(f"cannot write the run folder {self.path}: {exc.strerror or exc}; "
                               "pass a writable --out folder") from None

    def release(self) -> None:
        """Let the next writer in (what the end of the process does too)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def writer(self) -> lock.Holder | None:
        """The other process writing this folder now, or None (see :func:`calibkit.runs.lock.writer_of`)."""
        return lock.writer_of(self.path)

    def _init_config(self, config: Mapping[str, Any]) -> None:
        cfg_path = self.path / CONFIG_FILE
        if cfg_path.exists():
            existing = self.config
            if config_hash(existing) != config_hash(config):
                changed = sorted(
                    k for k in set(existing) | set(config)
                    if k not in _NOT_HASHED and existing.get(k) != config.get(k)
                )
                raise RunError(
                    f"{self.path} holds a run with another configuration (differs in: "
                    f"{', '.join(changed)}); choose another --out folder or matching options"
                )
            missing = {k: config[k] for k in _NOT_HASHED if k in config and k not in existing}
            if missing:  # what newer calibkit records about a run, e.g. the model's parameter count
                write_atomic(cfg_path, json.dumps({**existing, **missing}, indent=2, sort_keys=True, default=str) + "\n")
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            write_atomic(cfg_path, json.dumps(dict(config), indent=2, sort_keys=True, default=str) + "\n")
        except OSError as exc:
            raise RunError(f"cannot write the run folder {self.path}: {exc.strerror or exc}; "
                           "pass a writable --out folder") from None

    def record(self, fields: Mapping[str, Any]) -> None:
        """Keep what a run determines once and must reuse when resumed, under config.json's ``recorded``.

        E.g. a task's few-shot examples made from the model's own answers.
        They are not part of the run's identity: the folder's hash does not
        change.
        """
        config = self.config
        config["recorded"] = {**config.get("recorded", {}), **fields}
        write_atomic(self.path / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True, default=str) + "\n")

    @property
    def recorded(self) -> dict[str, Any]:
        """What :meth:`record` kept (empty for a run that recorded nothing)."""
        return dict(self.config.get("recorded", {}))

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> "RunStore":
        """An existing run folder (for report, compare, sweep)."""
        store = cls(path)
        if not (store.path / CONFIG_FILE).is_file():
            raise RunError(f"{store.path} is not a calibkit run folder (no {CONFIG_FILE}); "
                           "pass a folder written by `calibkit run`")
        return store

    # ------------------------------------------------------------ reading

    @property
    def config(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(f"cannot read {self.path / CONFIG_FILE}: {exc}") from None

    def rows(self) -> list[dict[str, Any]]:
        """Every complete results row, first copy of each id: results.jsonl, then each rank's file by rank.

        A last line without its newline is what a kill in mid-write leaves:
        it is ignored (and repaired on the next append). A damaged line
        anywhere else is an error, because it means the file was edited.
        """
        return self._rows_and_duplicates()[0]

    def duplicate_rows(self) -> int:
        """How many rows :meth:`rows` drops because an earlier row has the same id (0 for a clean run)."""
        return self._rows_and_duplicates()[1]

    def _rows_and_duplicates(self) -> tuple[list[dict[str, Any]], int]:
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        dropped = 0
        for path in self._result_files():
            for row in complete_lines(path):
                if row.get("id") not in seen:
                    seen.add(row.get("id"))
                    rows.append(row)
                else:
                    dropped += 1
        return rows, dropped

    def _result_files(self) -> list[Path]:
        """results.jsonl and the rank files that exist, in rank order."""
        ranks = sorted((int(m.group(1)), p) for p in self.path.glob("results.rank-*.jsonl")
                       if (m := re.fullmatch(r"results\.rank-(\d+)\.jsonl", p.name)))
        main = self.path / RESULTS_FILE
        return ([main] if main.exists() else []) + [p for _, p in ranks]

    def completed_ids(self) -> set[str]:
        return {row["id"] for row in self.rows()}

    def items(self) -> list[ScoredItem]:
        """The rows as scored items (option tasks)."""
        return [ScoredItem.from_json(r) for r in self.rows()]

    def dataframe(self):
        """The rows as a pandas DataFrame, one row per item, meta flattened."""
        import pandas as pd

        rows = self.rows()
        flat = []
        for r in rows:
            out = {k: v for k, v in r.items() if k != "meta"}
            out.update({f"meta.{k}": v for k, v in (r.get("meta") or {}).items()})
            flat.append(out)
        return pd.DataFrame(flat)

    # ------------------------------------------------------------ writing

    def append(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append rows durably (flush + fsync) to this store's file; returns how many were written."""
        path = self.path / (RESULTS_FILE if self.rank is None else RANK_FILE.format(rank=self.rank))
        return append_lines(path, [json_line(dict(r)) for r in rows])

    def keep_texts(self, readings: Iterable[tuple[str, prompts.Reading]]) -> int:
        """Record what the model read for items, each distinct text once (:mod:`calibkit.runs.prompts`).

        ``readings``: (item id, :class:`~calibkit.runs.prompts.Reading`)
        pairs; call it before appending those items' rows, so a row never
        lacks its texts. What is stored already (a resumed run) is skipped.
        Returns how many readings were new. Example, in a generation loop::

            store.keep_texts([(q.id, generation_reading(context, answer_fields=["answer"]))])
            store.append(rows)
        """
        if self._texts is None:
            self._texts = prompts.TextLog(self.path, rank=self.rank)
        return self._texts.keep(readings)

    def texts(self) -> dict[str, tuple[prompts.Reading, ...]] | None:
        """Each item's recorded readings; None for a run written before prompts were kept."""
        return prompts.read_texts(self.path)

    def consolidate(self, order: Sequence[str]) -> bool:
        """Put every row in results.jsonl, ids of ``order`` first and in that order, and drop the rank files.

        Called when a run has finished: a finished run is one file in its
        item order, whatever the batches, resumes and processes that wrote
        it. Rows of ids not in ``order`` keep their order after the others.
        Crash-safe: results.jsonl is replaced in one step before any rank
        file is removed, and a row in both is read once. The prompt records
        are merged the same way (:func:`calibkit.runs.prompts.consolidate`).
        Returns whether anything changed.
        """
        self._texts = None  # the merge drops unreferenced chunks: a later append must read the file again
        texts_changed = prompts.consolidate(self.path, order)
        return self._consolidate_rows(order) or texts_changed

    def _consolidate_rows(self, order: Sequence[str]) -> bool:
        files = self._result_files()
        rows = self.rows()
        position = {rid: i for i, rid in enumerate(order)}
        ordered = sorted(rows, key=lambda r: position.get(r.get("id"), len(position)))  # stable: strangers keep order
        if not files or ordered == rows and files == [self.path / RESULTS_FILE] and ends_clean(files[0]):
            return False
        write_atomic(self.path / RESULTS_FILE, "".join(json_line(r) for r in ordered))
        for path in files:
            if path.name != RESULTS_FILE:
                path.unlink()
        return True

    def write_summary(self, summary: Mapping[str, Any]) -> Path:
        """Write summary.json; it also says how many duplicate rows the reading dropped, when any were."""
        summary = dict(summary)
        dropped = self.duplicate_rows()
        if dropped:
            summary["duplicate_rows_dropped"] = dropped
        path = self.path / SUMMARY_FILE
        write_atomic(path, json.dumps(summary, indent=2, sort_keys=True) + "\n")
        return path

    def read_summary(self) -> dict[str, Any]:
        return json.loads((self.path / SUMMARY_FILE).read_text(encoding="utf-8"))

    def write_text(self, name: str, text: str) -> Path:
        path = self.path / name
        write_atomic(path, text)
        return path
