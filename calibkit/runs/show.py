"""``calibkit show RUN_DIR --item ID``: one item as the model read it, from the run folder alone.

Each reading (:mod:`calibkit.runs.prompts`) is printed as the exact string
that was tokenized, then :data:`MARK` where the context ends, then each
continuation (as Python writes a string, so every space and newline shows)
with the row's numbers beside it: ln P and the probability renormalized
over the options for scored options, the row's text for generated ones.
No model is loaded; this module never imports torch.
"""
from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from calibkit.runs.files import RunError
from calibkit.runs.prompts import Reading
from calibkit.runs.store import RunStore

MARK = "⟫"  # where a context ends and a continuation begins


def show_item(run_dir: str | Path, item_id: str, *, turns: bool = False) -> str:
    """The text ``calibkit show`` prints for one item of a run folder.

    Raises:
        RunError: no such folder, no such item (naming the nearest ids), or
            a run (or item) recorded before prompts were kept.
    """
    path = Path(run_dir)
    if not path.exists():
        raise RunError(f"no folder {path}; pass a run folder written by `calibkit run`")
    store = RunStore.open(path)
    rows = {r["id"]: r for r in store.rows()}
    if item_id not in rows:
        raise RunError(_unknown(item_id, list(rows), path))
    texts = store.texts()
    if texts is None:
        raise RunError(f"{path} predates prompt records (it has no prompts.jsonl); rerun its command with another "
                       "--out folder to record them")
    if item_id not in texts:
        raise RunError(f"item {item_id!r} of {path} was stored before its run kept prompts (a resumed older run); "
                       "rerun its command with another --out folder to record them")
    chat = store.config.get("chat_template")
    head = f"{item_id}  ·  {path}  ·  chat template {'on' if chat else 'off'}"
    blocks = [_reading(r, rows[item_id], turns=turns) for r in texts[item_id]]
    return head + "\n" + "\n".join(blocks)


def _unknown(item_id: str, ids: Sequence[str], path: Path) -> str:
    if not ids:
        return f"{path} holds no items yet; run its command to score some"
    near = difflib.get_close_matches(item_id, ids, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(near)}?" if near else f"its ids look like {', '.join(ids[:3])}"
    return f"no item {item_id!r} in {path} ({len(ids)} items); {hint}"


def _reading(reading: Reading, row: Mapping[str, Any], *, turns: bool) -> str:
    """One reading: a header, the context(s) verbatim, then each continuation after the mark."""
    after = "each scored option begins" if reading.options else "the model's own text begins"
    lines = [f"── {reading.label}: the exact text the model read; {MARK} marks where it ends and {after} ──"]
    if reading.turns:
        if turns:
            lines.append("chat turns before the template:")
            lines += [f"  [{t.role}] {t.content!r}" for t in reading.turns]
        else:
            lines.append("chat turns: " + ", ".join(f"{t.role} ({len(t.content)} chars)" for t in reading.turns)
                         + "; --turns prints them")
    numbers = _numbers(reading, row)
    if len(reading.contexts) == 1:
        lines.append(reading.contexts[0] + MARK)
        lines += [f"  [{i}] {MARK}{o!r}{numbers[i]}" for i, o in enumerate(reading.options)]
    else:  # a context per option
        for i, (context, option) in enumerate(zip(reading.contexts, reading.options)):
            lines += [f"[{i}]", context + MARK + f"{option!r}{numbers[i]}"]
    lines += _answers(reading, row)
    return "\n".join(lines) + "\n"


def _numbers(reading: Reading, row: Mapping[str, Any]) -> list[str]:
    """Per option: the row's ln P, its share of the options' mass, and whether it is the answer."""
    values = row.get(reading.logprobs_field) if reading.logprobs_field else None
    if not isinstance(values, list) or len(values) != len(reading.options):
        return [""] * len(reading.options)
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    answer = row.get("answer") if reading.logprobs_field == "logprobs" else None
    return [f"   ln P {v:.4f}   p {w / sum(weights):.3f}" + ("   ← answer" if i == answer else "")
            for i, (v, w) in enumerate(zip(values, weights))]


def _answers(reading: Reading, row: Mapping[str, Any]) -> list[str]:
    """What the model wrote after a generation's context, from the row fields the reading names."""
    out = []
    for name in reading.answer_fields:
        value = field(row, name)
        if isinstance(value, list):
            out += [f"  {name}[{i}] {MARK}{v!r}" for i, v in enumerate(value)]
        elif value is not None:
            out.append(f"  {name} {MARK}{value!r}")
    return out


def field(row: Mapping[str, Any], name: str) -> Any:
    """A row's field by name; a dotted name (``answers.base.text``) walks nested objects. None when absent.

    >>> field({"answers": {"base": {"text": "Paris"}}}, "answers.base.text"), field({"a": 1}, "a.b")
    ('Paris', None)
    """
    value: Any = row
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value
