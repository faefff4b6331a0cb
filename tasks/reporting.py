"""Pieces every task's run report uses: a run's label, its header fields, tables as JSON.

Reads run folders (config.json); draws and computes nothing.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from calibkit.runs.store import RunStore


def run_label(store: RunStore) -> str:
    """A short name for a run: its model, plus the folder hash."""
    cfg = store.config
    return f"{cfg.get('model', '?')} [{store.path.name}]"


def run_labels(stores: Sequence[RunStore]) -> list[str]:
    """Each run's model name; with the folder hash too when two runs share a model."""
    labels = [str(s.config.get("model", s.path.name)) for s in stores]
    if len(set(labels)) < len(labels):
        labels = [run_label(s) for s in stores]
    return labels


def run_header(store: RunStore, n: int, *, keys: Sequence[str]) -> dict[str, Any]:
    """A report's run header: task, model, n items, the config ``keys`` present, folder, versions."""
    cfg = store.config
    fields: dict[str, Any] = {"task": cfg.get("task"), "model": cfg.get("model"), "items": n}
    fields.update({key: cfg[key] for key in keys if key in cfg})
    fields["run folder"] = str(store.path)
    fields.update(cfg.get("versions") or {})
    return fields


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON objects, NaN as null."""
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]
