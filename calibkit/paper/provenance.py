"""Where every number of a write-up comes from: the run folders behind each figure and table.

For each run folder: the folder, its config hash, task, model name and
revision, the command line (where the run recorded it, under config.json's
``command``; runs made before calibkit recorded it say so), the calibkit
version the run was made with, the date, and its items. For the write-up as a
whole: calibkit's version and git commit now (of the checkout calibkit is
imported from, where it is one) and the date. Written as
``provenance.json`` and as an appendix table (:func:`appendix_table`).

Reads run folders (config.json, results.jsonl) and git's HEAD; never loads a
model or computes a statistic.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from calibkit.paper.parts import model_name
from calibkit.paper.tables import Table
from calibkit.files import write_atomic
from calibkit.runs.source import calibkit_commit, command_text
from calibkit.runs.store import RunStore, config_hash

PROVENANCE_FILE = "provenance.json"
NOT_RECORDED = "not recorded"  # what the appendix says for a field an older run did not record
MODEL_COLUMN = "p{2cm}"  # two-model runs' "base + chat" names wrap
COMMAND_COLUMN = "p{3.6cm}"  # command lines wrap in the appendix instead of running off the page


@dataclass(frozen=True)
class RunRecord:
    """One run folder as the write-up cites it."""

    folder: str  # the run folder, as given
    config_hash: str  # twelve hex digits of the settings that determine the numbers (calibkit.runs.store.config_hash)
    task: str | None  # config.json's "task"
    model: str | None  # the model name or path the run loaded
    revision: str | None  # hub revision, None for the default branch or a local model
    command: str | None  # the command line that made the run, None where the run did not record it
    calibkit_version: str | None  # calibkit's version when the run was made (config.json's versions)
    git_commit: str | None  # calibkit's git commit when the run was made (config.json versions.calibkit_commit), if recorded
    created: str | None  # when the run folder was made (ISO 8601, UTC)
    n_items: int  # rows in results.jsonl


def run_record(store: RunStore) -> RunRecord:
    """The :class:`RunRecord` of one run folder, from its config.json and rows."""
    cfg = store.config
    versions = cfg.get("versions") or {}
    command = cfg.get("command")
    if isinstance(command, (list, tuple)):  # an argv list
        command = command_text(command)
    return RunRecord(
        folder=str(store.path), config_hash=config_hash(cfg), task=cfg.get("task"), model=cfg.get("model"),
        revision=cfg.get("revision"), command=command, calibkit_version=versions.get("calibkit"),
        git_commit=versions.get("calibkit_commit") or cfg.get("git_commit"), created=cfg.get("created"),
        n_items=len(store.rows()),
    )


def calibkit_source() -> dict[str, Any]:
    """calibkit's version, and its git commit where it is imported from a checkout (``dirty``: uncommitted edits)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        out: dict[str, Any] = {"version": version("calibkit")}
    except PackageNotFoundError:
        out = {"version": None}
    out["git_commit"], out["git_dirty"] = calibkit_commit()
    return out


def provenance(stores: Sequence[RunStore], parts: Mapping[str, Mapping[str, Any]], *,
               now: _dt.datetime | None = None) -> dict[str, Any]:
    """The write-up's provenance as JSON: when and by which calibkit, each run, and each part's runs.

    Args:
        stores: every run folder the write-up read.
        parts: ``{part name: {"kind": ..., "files": [written, relative to the output folder],
            "runs": [run folders it reads]}}``.
        now: the date to record (default: now, UTC).
    """
    when = (now or _dt.datetime.now(_dt.timezone.utc)).isoformat(timespec="seconds")
    runs = [asdict(run_record(s)) for s in stores]
    return {"generated": when, "calibkit": calibkit_source(), "runs": runs,
            "parts": {name: dict(part) for name, part in parts.items()}}


def appendix_table(record: Mapping[str, Any]) -> Table:
    """The provenance as a paper appendix table: one row per run (folder, hash, model, revision, command, ...)."""
    rows = []
    for r in record["runs"]:
        model = model_name(r["model"] or "") + (f" @ {r['revision']}" if r["revision"] else "")  # hub revision
        rows.append((r["task"] or "", model, r["config_hash"],
                     r["n_items"], (r["calibkit_version"] or NOT_RECORDED) +
                     (f" @ {r['git_commit'][:7]}" if r.get("git_commit") else ""),
                     r["command"] or NOT_RECORDED))
    source = record["calibkit"]
    commit = source.get("git_commit")
    made = f"calibkit {source.get('version') or '?'}" + (f" at commit {commit[:12]}" if commit else "") + \
        (" with uncommitted changes" if source.get("git_dirty") else "")
    caption = (f"The runs behind every figure and table, as {PROVENANCE_FILE} lists them per part; written by "
               f"{made} on {record['generated'][:10]}. Model: name @ hub revision where one was pinned; calibkit: "
               "version @ commit the run was made with (dates: provenance.json). Config hash: the settings that "
               "determine the numbers.")
    return Table(name="provenance", columns=("task", "model", "config hash", "items", "calibkit", "command"),
                 rows=tuple(rows), caption=caption, wide=True, align=f"l{MODEL_COLUMN}lrl{COMMAND_COLUMN}")


def write_provenance(out: Path, record: Mapping[str, Any]) -> Path:
    """``out/provenance.json`` (the record, indented, keys sorted); returns its path."""
    path = Path(out) / PROVENANCE_FILE
    write_atomic(path, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path
