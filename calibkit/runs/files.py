"""The durable files of a run folder: atomic replacement, fsynced JSON-line appends, and reading them back.

``results.jsonl`` and ``prompts.jsonl`` (and their rank files) are written
the same way: lines appended, flushed and fsynced, so a kill loses at most
the line in flight; that torn last line is ignored when reading and cut
before the next append. Whole files are replaced in one step
(:func:`calibkit.files.write_atomic`), so a crash leaves the old or the new file. This
module must never import torch.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from calibkit.errors import UserError


class RunError(UserError):
    """A run folder is missing, damaged or belongs to another configuration."""


def json_line(value: Any) -> str:
    """One JSON line as the run files hold it (UTF-8 kept as is, no spaces after separators)."""
    return json.dumps(value, ensure_ascii=False) + "\n"


def append_lines(path: Path, lines: Sequence[str]) -> int:
    """Append complete lines durably (flush + fsync), after cutting a torn last line; returns how many."""
    if not lines:
        return 0
    repair_tail(path)
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(lines))
        f.flush()
        os.fsync(f.fileno())
    return len(lines)


def repair_tail(path: Path) -> None:
    """Cut an unterminated last line so the next line starts on its own line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        data = f.seek(0) or f.read()
        keep = data.rfind(b"\n") + 1
        f.truncate(keep)


def complete_lines(path: Path) -> Iterable[Any]:
    """The JSON values of one line file; an unterminated last line (a kill in mid-write) is skipped.

    A damaged line anywhere else is an error, because it means the file was
    edited.
    """
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines[:-1], start=1):  # lines[-1] is b"" or an interrupted write
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            raise RunError(f"{path} line {number} is not valid JSON; delete that line to resume") from None


def ends_clean(path: Path) -> bool:
    """Whether a file is empty or ends with a newline (no interrupted write at its end)."""
    if path.stat().st_size == 0:
        return True
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
