"""Hidden states beside a run's rows: one float16 ``.npy`` per stored batch, read back without the model.

A P(IK) run writes each batch's states (``(b, n_layers + 1, d)``, the last
prompt token of each question, every layer) to ``hidden/<first row>.npy``
before it appends the batch's rows, and each row names its file and index,
so every stored row has its states even if the run is killed between the
two writes (an orphaned file is simply never referenced). config.json
records the folder (``recorded.hidden_states``). This module never imports
torch.
"""
from __future__ import annotations

import os
import tempfile
from typing import Any, Mapping, Sequence

import numpy as np

from calibkit.errors import UserError
from calibkit.runs.store import RunStore

HIDDEN_DIR = "hidden"


class HiddenStatesMissing(UserError, FileNotFoundError):
    """A row's hidden-state file is not in the run folder."""


def write_batch(store: RunStore, states: np.ndarray) -> str:
    """Write one batch's states durably; returns the file's path relative to the run folder.

    The name is the count of rows stored so far, so a resumed run never
    overwrites a file that stored rows point to; a rank of a data-parallel
    run adds its rank, so two ranks never write the same name.
    """
    if states.ndim != 3:
        raise ValueError(f"states must be (batch, layers, dim), got shape {states.shape}")
    folder = store.path / HIDDEN_DIR
    folder.mkdir(exist_ok=True)
    rank = "" if store.rank is None else f"-rank{store.rank}"
    name = f"{HIDDEN_DIR}/{len(store.rows()):08d}{rank}.npy"
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as f:
        np.save(f, states.astype(np.float16))
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, store.path / name)
    return name


def read_states(store: RunStore, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``(len(rows), n_layers + 1, d)`` float32: each row's states, in the rows' order.

    Example::

        X = read_states(store, store.rows())[:, layer, :]
    """
    cache: dict[str, np.ndarray] = {}
    out = []
    for row in rows:
        name, index = row["hidden"]
        if name not in cache:
            path = store.path / name
            if not path.is_file():
                raise HiddenStatesMissing(f"{path} is missing: the probe needs the run's hidden/ folder; copy the "
                                          "run folder whole (hidden/ included)")
            cache[name] = np.load(path)
        out.append(cache[name][index])
    return np.stack(out).astype(np.float32)
