"""Atomic file replacement, shared by run folders and pages: readers see the old file or the new one.

Base layer: imports nothing of calibkit.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half of one.

    The data goes to a temporary file in the same directory (same file
    system, so the rename is atomic), is flushed to disk, then replaces
    ``path`` with ``os.replace``. Text is written as UTF-8. Missing parent
    directories are created. A replaced file keeps its permissions; a new one
    gets 0o644 (``mkstemp`` would leave it private, 0o600). On failure the
    temporary file is removed.
    """
    path = Path(path)
    if not isinstance(data, (str, bytes)):
        raise ValueError(f"data must be str or bytes, got {type(data).__name__}")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
