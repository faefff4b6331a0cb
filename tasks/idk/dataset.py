"""The "I don't know" dataset: rows, the rules that pick them, splits by question, and writing it.

Two kinds of rows, each with a ``kind`` (``"answer"`` or ``"abstain"``), a
``reason`` and the ``evidence`` behind it:

* **Model-relative** rows from a model's own P(IK) runs (TriviaQA, NQ-open:
  :mod:`calibkit.tasks.pik`) or an MMLU run. A question the model answers
  right and consistently (greedy answer right, share of right samples at
  least ``answer_threshold``) keeps its answer (reason ``"known"``); one it
  gets wrong consistently (greedy wrong, share at most ``idk_threshold``,
  prompted P(IK) at most ``pik_threshold`` where there is one) gets an "I
  don't know" response (reason ``"unknown_to_model"``). Questions in between
  are left out and counted. For MMLU the share of right samples is the
  probability of the right option (what a T=1 sample would get right).
* **Constructed** rows (:mod:`.constructed`): after the training cutoff,
  false premises, unknowable, private, polite evasion, each abstention with
  its answerable twin (``pair`` names the other row), so the dataset holds
  informative rows even for a model that knows nothing.

Splits are by **group** (``group``): every row of one source question
(``<source>/<question id>``), an abstention and its twin, and all the
after-cutoff rows of one event template share a group, and a group's split
is a hash of its key, so no group (and no question) is in two splits; the
result is deterministic given the seed. Written as JSONL
(``jsonl/<split>.jsonl``), as a Hugging Face ``save_to_disk`` ``DatasetDict``
at the folder's top (``datasets.load_from_disk(folder)``; ``evidence`` is a
JSON string there), with ``manifest.json`` (how it was built) and a
``README.md`` dataset card (:mod:`.card`). It never loads a model.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from calibkit.errors import UserError
from calibkit.records import ScoredItem
from calibkit.files import write_atomic

from .constructed import IDK_RESPONSES, ConstructedRow

KINDS = ("answer", "abstain")
SPLITS = ("train", "validation", "test")
MODEL_REASONS = {
    "known": "The model answers it right and consistently (its greedy answer is right and at least the answer "
             "threshold of its temperature-1 samples are): the dataset keeps the answer.",
    "unknown_to_model": "The model gets it wrong consistently (greedy answer wrong, at most the 'I don't know' "
                        "threshold of its samples right, and a low prompted P(IK) where measured): for this model "
                        "\"I don't know\" is the honest response.",
}


class DatasetError(UserError, ValueError):
    """The dataset cannot be built or read as asked; the message names the fix."""


@dataclass(frozen=True)
class Thresholds:
    """When a question counts as known or unknown to the model."""

    answer: float = 0.8  # share of right samples at or above which (with a right greedy answer) the answer is kept
    idk: float = 0.2  # share at or below which (with a wrong greedy answer) the row becomes "I don't know"
    pik: float = 0.5  # and the prompted P(IK) must be at or below this, where the run has one

    def __post_init__(self) -> None:
        if not 0 <= self.idk < self.answer <= 1 or not 0 <= self.pik <= 1:
            raise DatasetError(f"thresholds: need 0 <= --idk-threshold < --answer-threshold <= 1 and --pik-threshold "
                               f"in [0, 1]; got {self.idk}, {self.answer}, {self.pik}")


@dataclass(frozen=True)
class Row:
    """One dataset row."""

    id: str  # stable: "<source>/<source id>" or the constructed id
    prompt: str  # the question as asked
    response: str  # the target response: an answer or an "I don't know"-style one
    kind: str  # "answer" or "abstain"
    reason: str  # "known", "unknown_to_model", or a constructed reason
    source: str  # "triviaqa", "nq_open", "mmlu" or "constructed"
    answers: tuple[str, ...] = ()  # accepted answers (answer rows), for scoring a model's reply
    evidence: Mapping[str, Any] = field(default_factory=dict)  # why: sample accuracy, P(IK), P(True), run, ...
    group: str = ""  # the split unit (its rows share a split): the source question, or a constructed pair's group
    pair: str = ""  # a constructed row's twin (the other row's id); "" for model-relative rows
    split: str = ""  # set by assign_splits

    def to_json(self) -> dict[str, Any]:
        out = asdict(replace(self, evidence={}))
        out["answers"], out["evidence"] = list(self.answers), dict(self.evidence)
        return out


def idk_response(key: str, *, seed: int) -> str:
    """A natural "I don't know" phrasing for a model-relative row, drawn with a seeded RNG per row."""
    return random.Random(f"{seed}/unknown_to_model/{key}").choice(IDK_RESPONSES)


def free_answer_rows(rows: Sequence[Mapping[str, Any]], *, source: str, run: str, thresholds: Thresholds,
                     seed: int) -> tuple[list[Row], int]:
    """Rows from a P(IK) run's results (and how many questions were left out as neither)."""
    out = []
    for r in rows:
        share, pik = float(r["label"]), r.get("p_ik_prompt")
        evidence = {"sample_accuracy": share, "n_samples": r["n_samples"], "p_ik": pik, "p_true": r.get("p_true"),
                    "model_answer": r["prediction"], "model_correct": bool(r["correct"]), "run": run}
        row_id = f"{source}/{r['id'].split('/', 1)[-1]}"
        if r["correct"] and share >= thresholds.answer:
            out.append(Row(row_id, r["question"], r["aliases"][0], "answer", "known", source,
                           tuple(r["aliases"]), evidence, group=row_id))
        elif not r["correct"] and share <= thresholds.idk and (pik is None or pik <= thresholds.pik):
            out.append(Row(row_id, r["question"], idk_response(row_id, seed=seed), "abstain",
                           "unknown_to_model", source, (), evidence, group=row_id))
    return out, len(rows) - len(out)


def mmlu_rows(items: Sequence[ScoredItem], *, run: str, thresholds: Thresholds, seed: int) -> tuple[list[Row], int]:
    """Rows from an MMLU run: P(right option) is the share of right samples; the prompt lists the choices."""
    out = []
    for it in items:
        choices = it.meta.get("choices") or []
        p_right = float(it.probs()[it.answer])
        prompt = str(it.meta.get("question", "")).strip() + "\n" + "\n".join(
            f"{'ABCD'[j]}. {c}" for j, c in enumerate(choices))
        right = f"{'ABCD'[it.answer]}. {choices[it.answer]}" if choices else ""
        evidence = {"sample_accuracy": p_right, "p_ik": None, "p_true": None, "model_answer": it.options[it.predicted],
                    "model_correct": bool(it.correct), "run": run}
        row_id = f"mmlu/{it.id.split('/', 1)[-1]}"
        if it.correct and p_right >= thresholds.answer:
            out.append(Row(row_id, prompt, right, "answer", "known", "mmlu", (right, choices[it.answer]), evidence,
                           group=row_id))
        elif not it.correct and p_right <= thresholds.idk:
            out.append(Row(row_id, prompt, idk_response(row_id, seed=seed), "abstain",
                           "unknown_to_model", "mmlu", (), evidence, group=row_id))
    return out, len(items) - len(out)


def constructed_to_rows(rows: Iterable[ConstructedRow]) -> list[Row]:
    """Constructed rows (abstentions and their twins) as dataset rows, source ``"constructed"``."""
    return [Row(r.id, r.prompt, r.response, r.kind, r.reason, "constructed", r.answers, r.as_dict()["evidence"],
                group=r.group, pair=r.pair) for r in rows]


def normalized_prompt(prompt: str) -> str:
    return " ".join(prompt.lower().split())


def group_of(row: Row) -> str:
    """The row's split unit: its ``group``, or (a row built without one) its normalised prompt."""
    return row.group or f"prompt/{normalized_prompt(row.prompt)}"


def split_of(group: str, *, shares: tuple[float, float, float], seed: int) -> str:
    """A group's split: ``sha256(f"{seed}\\x00{group}")`` read as a uniform number in [0, 1) against the shares."""
    u = int.from_bytes(hashlib.sha256(f"{seed}\x00{group}".encode()).digest()[:8], "little") / 2 ** 64
    return SPLITS[0] if u < shares[0] else SPLITS[1] if u < shares[0] + shares[1] else SPLITS[2]


def assign_splits(rows: Sequence[Row], *, shares: tuple[float, float, float] = (0.8, 0.1, 0.1),
                  seed: int = 0) -> list[Row]:
    """Each row's split from a hash of its group (:func:`group_of`): one group, one split; deterministic.

    A question asked twice (equal normalised prompts) is kept once: a paired
    constructed row wins over a model-relative row, otherwise the first wins;
    so no pair loses a member, and no question is in two splits.

    Example:
        >>> a, b = Row("a", "Q?", "x", "answer", "known", "s"), Row("b", "q? ", "y", "answer", "known", "s")
        >>> rows = assign_splits([a, b])
        >>> len(rows), rows[0].split in SPLITS
        (1, True)
        >>> pair = [Row("c", "Why?", "idk", "abstain", "r", "s", group="g", pair="d"),
        ...         Row("d", "What?", "x", "answer", "t", "s", group="g", pair="c")]
        >>> len({row.split for row in assign_splits(pair, seed=7)})
        1
    """
    paired = {normalized_prompt(r.prompt) for r in rows if r.pair}
    out, seen = [], set()
    for row in rows:
        key = normalized_prompt(row.prompt)
        if key in seen or (key in paired and not row.pair):
            continue
        seen.add(key)
        out.append(replace(row, split=split_of(group_of(row), shares=shares, seed=seed)))
    return out


def write_dataset(rows: Sequence[Row], folder: Path, *, manifest: Mapping[str, Any], card: str) -> Path:
    """JSONL per split, the save_to_disk DatasetDict, manifest.json and README.md in ``folder``."""
    import datasets

    folder.mkdir(parents=True, exist_ok=True)
    by_split = {s: [r.to_json() for r in rows if r.split == s] for s in SPLITS}
    for split, items in by_split.items():
        write_atomic(folder / "jsonl" / f"{split}.jsonl", "".join(json.dumps(x, ensure_ascii=False) + "\n"
                                                                   for x in items))
    features = datasets.Features({k: datasets.Value("string") for k in
                                  ("id", "prompt", "response", "kind", "reason", "source", "evidence", "group",
                                   "pair", "split")}
                                 | {"answers": datasets.Sequence(datasets.Value("string"))})
    flat = {s: [{**x, "evidence": json.dumps(x["evidence"], ensure_ascii=False)} for x in items]
            for s, items in by_split.items()}
    # an empty split (a small build) needs its columns spelled out: from_list([]) has none, and fails to save
    dd = datasets.DatasetDict({s: datasets.Dataset.from_list(items, features=features) if items else
                               datasets.Dataset.from_dict({k: [] for k in features}, features=features)
                               for s, items in flat.items()})
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a saving bar per split says nothing here
    try:
        dd.save_to_disk(str(folder))
    finally:
        if bars:
            datasets.enable_progress_bars()
    write_atomic(folder / "manifest.json", json.dumps(dict(manifest), indent=2, default=str) + "\n")
    write_atomic(folder / "README.md", card)
    return folder


def read_dataset(folder: str | Path, *, split: str) -> list[dict[str, Any]]:
    """One split's rows from a dataset folder that ``calibkit idk build`` wrote."""
    path = Path(folder) / "jsonl" / f"{split}.jsonl"
    if not path.is_file():
        raise DatasetError(f"--dataset {folder}: no {path.relative_to(Path(folder))}; pass a folder written by "
                           "`calibkit idk build` (and a --split it holds)")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for i, r in enumerate(rows):
        missing = [k for k in ("id", "prompt", "kind", "reason", "answers") if k not in r]
        if missing or r["kind"] not in KINDS:
            raise DatasetError(f"{path} row {i} lacks {', '.join(missing) or 'a valid kind'}; rebuild it with "
                               "`calibkit idk build`")
    return rows
