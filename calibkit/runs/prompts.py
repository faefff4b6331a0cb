"""The exact text every row was computed from: ``prompts.jsonl`` beside ``results.jsonl``, each distinct text once.

A **reading** is one text a model read for an item: the rendered context
(the string that was tokenized, chat template applied), the options scored
after it, or the row fields that hold what the model wrote after it, and,
in the chat form, the conversation before the template. An item has one
reading per label (a multiple-choice item: ``"scored"``; a TriviaQA
question: ``"answer"`` and ``"triviaqa_ptrue"``). The file holds two kinds
of line::

    {"hash": "3f2a...", "text": "Question: ...\\n\\n"}          a text chunk, once per distinct chunk
    {"item": "mmlu/anatomy/test/3", "read": "scored",           a reading: its texts as lists of chunk hashes
     "context": ["9b1c...", "3f2a...", ...], "options": [["51d0..."], ...], "logprobs": "logprobs"}

Texts are cut into chunks at line ends chosen by their content (after a
blank line, before an unterminated last line, and about one line in four
in a long paragraph: :func:`chunks`), and a chunk is addressed by the first 16 hex digits
of its SHA-256, so a few-shot block shared by thousands of prompts is
stored once and each prompt costs its own question plus a list of hashes.
A text is the concatenation of its chunks, exactly.

Written like results.jsonl (:mod:`calibkit.runs.files`): appended, flushed
and fsynced before the rows of the same batch, so a row never lacks its
texts; a torn last line is ignored; each rank of a data-parallel run appends
to its own ``prompts.rank-<k>.jsonl``; a resumed run records only what is
not stored (the first reading of an (item, label) wins, like the first row
of an id); :func:`consolidate` merges the files in item order when a run
finishes, so the file does not depend on batches, resumes or processes.
A run written before this file existed has none (:func:`read_texts` gives
None). This module never imports torch and never renders a template.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from calibkit.records import Prompt, Turn
from calibkit.files import write_atomic
from calibkit.runs.files import RunError, append_lines, complete_lines, json_line

PROMPTS_FILE = "prompts.jsonl"
RANK_FILE = "prompts.rank-{rank}.jsonl"  # what one rank of a data-parallel run appends
HASH_CHARS = 16  # 64 bits: a collision among a million chunks has odds of about 3e-8
_PARAGRAPH_END = re.compile(r"(?<=\n\n)")
_LINE_END = re.compile(r"(?<=\n)")
LONG_PARAGRAPH = 12  # lines; MMLU's examples (6 lines) stay whole, P(True)'s six examples (42 lines) do not
CUT_EVERY = 4  # in a long paragraph, a content-defined cut after one line in four, on average


# --------------------------------------------------------------------------- what is recorded


@dataclass(frozen=True)
class Reading:
    """One text a model read for an item, and what came after it.

    Scored: ``options[i]`` was scored right after ``contexts[0]`` (or after
    ``contexts[i]`` for a multiple-input item). Generated: the model wrote
    after ``contexts[0]``; the row fields ``answer_fields`` hold what it wrote.
    """

    label: str  # "scored", "answer" (free-answer generation), or a prompt's task ("triviaqa_ptrue")
    contexts: tuple[str, ...]  # the rendered string(s) that were tokenized: one, or one per option
    options: tuple[str, ...] = ()  # the continuations scored after the context, as rendered; empty for a generation
    turns: tuple[Turn, ...] = ()  # chat form: the conversation before the template; empty in the base form
    logprobs_field: str | None = None  # the row field holding ln P(option | context), one per option
    answer_fields: tuple[str, ...] = ()  # the row fields holding what the model wrote after the context

    def __post_init__(self) -> None:
        if not self.label or not isinstance(self.label, str):
            raise ValueError(f"label must be a non-empty str; got {self.label!r}")
        if len(self.contexts) not in (1, max(1, len(self.options))):
            raise ValueError(f"{len(self.contexts)} contexts for {len(self.options)} options: give one, or one per option")


def conversation(turns: Sequence[Turn], *, system_prompt: str | None = None, assistant_prefix: str = "") -> tuple[Turn, ...]:
    """The turns a chat template rendered: ``system_prompt`` first, then ``turns``, then the assistant's opened text."""
    head = (Turn("system", system_prompt),) if system_prompt else ()
    tail = (Turn("assistant", assistant_prefix),) if assistant_prefix else ()
    return (*head, *turns, *tail)


def scored_reading(prompt: Prompt, pairs: Sequence[tuple[str, str]], *, chat: bool, system_prompt: str | None = None,
                   label: str = "scored", logprobs_field: str | None = "logprobs") -> Reading:
    """The reading of a scored prompt from the (context, option) pairs the scorer rendered for it.

    ``pairs``: :func:`calibkit.engine.chat.render_pairs` of the prompt, one
    per option. The chat turns are kept when ``chat`` (a multiple-input
    prompt has one conversation per option: its rendered contexts say it all).
    """
    contexts = tuple(dict.fromkeys(c for c, _ in pairs)) if not prompt.option_contexts else tuple(c for c, _ in pairs)
    turns = ()
    if chat and not prompt.option_contexts:
        turns = conversation(prompt.turns or (Turn("user", prompt.text),), system_prompt=system_prompt,
                             assistant_prefix=prompt.assistant_prefix)
    return Reading(label, contexts, tuple(o for _, o in pairs), turns, logprobs_field)


def generation_reading(context: str, *, turns: Sequence[Turn] = (), answer_fields: Sequence[str] = (),
                       label: str = "answer") -> Reading:
    """The reading of a generation: the rendered ``context`` the model continued, and where its row keeps the answers.

    Example:
        >>> generation_reading("Q: 2+2?\\nA:", answer_fields=["greedy_raw"]).answer_fields
        ('greedy_raw',)
    """
    return Reading(label, (context,), (), tuple(turns), None, tuple(answer_fields))


# --------------------------------------------------------------------------- texts as chunks


def text_hash(text: str) -> str:
    """The address of a chunk: the first :data:`HASH_CHARS` hex digits of its UTF-8 SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_CHARS]


def chunks(text: str) -> list[str]:
    r"""``text`` cut into chunks at line ends chosen by the text itself; ``"".join(chunks(t)) == t``.

    A chunk ends after each blank line (few-shot examples are paragraphs);
    a paragraph longer than :data:`LONG_PARAGRAPH` lines is cut further
    where a line's SHA-256 starts with a byte divisible by
    :data:`CUT_EVERY` (content-defined cuts, as rsync and restic cut files:
    two texts sharing a run of lines cut it alike, so examples written
    without blank lines, as in the P(True) prompt, are shared too); and an
    unterminated last line is a chunk of its own (renderings of one
    question differ there: the chat template's markup after ``"Answer:"``).

    Example:
        >>> chunks("Intro.\n\nQ1 A\n\nQ2\nAnswer:")
        ['Intro.\n\n', 'Q1 A\n\n', 'Q2\n', 'Answer:']
    """
    out = []
    for paragraph in _PARAGRAPH_END.split(text):
        if paragraph:
            out += _cut_lines(paragraph) if paragraph.count("\n") > LONG_PARAGRAPH else [paragraph]
    cut = out[-1].rfind("\n") + 1 if out and not out[-1].endswith("\n") else 0
    if cut:
        out[-1:] = [out[-1][:cut], out[-1][cut:]]
    return out


def _cut_lines(paragraph: str) -> list[str]:
    """A long paragraph cut after the lines whose hash says so (about one in :data:`CUT_EVERY`)."""
    out, current = [], ""
    for line in _LINE_END.split(paragraph):
        current += line
        if current and hashlib.sha256(line.encode("utf-8")).digest()[0] % CUT_EVERY == 0:
            out.append(current)
            current = ""
    return out + ([current] if current else [])


def _encode(reading: Reading, ref: Any) -> dict[str, Any]:
    """A reading's record fields, each text replaced by ``ref(text)`` (its chunk hashes); empty fields left out."""
    out: dict[str, Any] = {}
    if len(reading.contexts) == 1:
        out["context"] = ref(reading.contexts[0])
    else:
        out["contexts"] = [ref(c) for c in reading.contexts]
    if reading.options:
        out["options"] = [ref(o) for o in reading.options]
    if reading.turns:
        out["turns"] = [[t.role, ref(t.content)] for t in reading.turns]
    if reading.logprobs_field:
        out["logprobs"] = reading.logprobs_field
    if reading.answer_fields:
        out["answers"] = list(reading.answer_fields)
    return out


def _refs(record: Mapping[str, Any]) -> Iterator[str]:
    """Every chunk hash a reading record points at, in its order."""
    lists = [record.get("context", []), *record.get("contexts", []), *record.get("options", []),
             *(refs for _, refs in record.get("turns", []))]
    for refs in lists:
        yield from refs


# --------------------------------------------------------------------------- writing


class TextLog:
    """Appends readings to one prompts file of a run folder (``rank``: that rank's file), each chunk once."""

    def __init__(self, folder: str | Path, *, rank: int | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / (PROMPTS_FILE if rank is None else RANK_FILE.format(rank=rank))
        self._hashes: set[str] | None = None  # chunks this file can point at (read on first use)
        self._kept: set[tuple[str, str]] = set()  # (item, label) already recorded

    def _load(self) -> set[str]:
        """What is stored already: the merged file's and this file's chunks and readings (a resumed run)."""
        if self._hashes is None:
            self._hashes = set()
            for path in dict.fromkeys([self.folder / PROMPTS_FILE, self.path]):
                for line in complete_lines(path) if path.exists() else ():
                    if "hash" in line:
                        self._hashes.add(line["hash"])
                    else:
                        self._kept.add((line["item"], line["read"]))
        return self._hashes

    def keep(self, readings: Iterable[tuple[str, Reading]]) -> int:
        """Append the (item id, reading) pairs not stored yet, in one durable write; returns how many were new.

        New chunks go before the first reading that points at them. Call it
        before appending the rows the readings belong to.
        """
        hashes = self._load()
        new_hashes: dict[str, str] = {}
        new_keys: set[tuple[str, str]] = set()
        lines: list[str] = []

        def ref(text: str) -> list[str]:
            out = []
            for chunk in chunks(text):
                h = text_hash(chunk)
                if h not in hashes and h not in new_hashes:
                    new_hashes[h] = chunk
                    lines.append(json_line({"hash": h, "text": chunk}))
                out.append(h)
            return out

        for item_id, reading in readings:
            key = (str(item_id), reading.label)
            if key in self._kept or key in new_keys:
                continue
            new_keys.add(key)
            lines.append(json_line({"item": key[0], "read": key[1], **_encode(reading, ref)}))
        append_lines(self.path, lines)
        hashes.update(new_hashes)  # only once they are on disk
        self._kept |= new_keys
        return len(new_keys)


# --------------------------------------------------------------------------- reading


def text_files(folder: str | Path) -> list[Path]:
    """prompts.jsonl and the rank files that exist, in rank order."""
    folder = Path(folder)
    ranks = sorted((int(m.group(1)), p) for p in folder.glob("prompts.rank-*.jsonl")
                   if (m := re.fullmatch(r"prompts\.rank-(\d+)\.jsonl", p.name)))
    main = folder / PROMPTS_FILE
    return ([main] if main.exists() else []) + [p for _, p in ranks]


def _raw(files: Sequence[Path]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Every chunk by hash, and the first record of each (item, label), in file order."""
    texts: dict[str, str] = {}
    records: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for path in files:
        for line in complete_lines(path):
            if "hash" in line:
                texts.setdefault(line["hash"], line["text"])
            elif (line["item"], line["read"]) not in seen:
                seen.add((line["item"], line["read"]))
                records.append(line)
    return texts, records


def read_texts(folder: str | Path) -> dict[str, tuple[Reading, ...]] | None:
    """Each item's readings, in the order they were recorded; None for a run written before prompts were kept.

    Raises:
        RunError: a reading points at a chunk that is not stored, or a
            chunk's text does not match its hash (the file was edited).
    """
    files = text_files(folder)
    if not files:
        return None
    texts, records = _raw(files)
    for h, text in texts.items():
        if text_hash(text) != h:
            raise RunError(f"{files[0].parent / PROMPTS_FILE}: the text stored as {h} does not match its hash; "
                           "the file was edited: rerun with another --out folder to record the prompts again")
    out: dict[str, list[Reading]] = {}
    for record in records:
        out.setdefault(record["item"], []).append(_decode(record, texts, files[0].parent))
    return {k: tuple(v) for k, v in out.items()}


def _decode(record: Mapping[str, Any], texts: Mapping[str, str], folder: Path) -> Reading:
    def text(refs: Sequence[str]) -> str:
        missing = [h for h in refs if h not in texts]
        if missing:
            raise RunError(f"{folder / PROMPTS_FILE}: item {record['item']!r} points at text {missing[0]} that is not "
                           "stored; the file was edited: rerun with another --out folder to record the prompts again")
        return "".join(texts[h] for h in refs)

    contexts = (text(record["context"]),) if "context" in record else tuple(text(r) for r in record["contexts"])
    return Reading(
        label=record["read"], contexts=contexts, options=tuple(text(r) for r in record.get("options", [])),
        turns=tuple(Turn(role, text(refs)) for role, refs in record.get("turns", [])),
        logprobs_field=record.get("logprobs"), answer_fields=tuple(record.get("answers", [])),
    )


def consolidate(folder: str | Path, order: Sequence[str]) -> bool:
    """Merge prompts.jsonl and the rank files into prompts.jsonl, items of ``order`` first and in that order.

    Each reading is preceded by the chunks it is the first to point at, so
    the file reads front to back; chunks no reading points at (a torn write)
    are dropped. Crash-safe as :meth:`calibkit.runs.store.RunStore.consolidate`:
    the merged file replaces prompts.jsonl in one step before any rank file
    is removed. Returns whether anything changed.
    """
    files = text_files(folder)
    if not files:
        return False
    texts, records = _raw(files)
    position = {rid: i for i, rid in enumerate(order)}
    records.sort(key=lambda r: position.get(r["item"], len(position)))  # stable: an item's readings keep their order
    lines, written = [], set()
    for record in records:
        for h in _refs(record):
            if h not in written and h in texts:
                written.add(h)
                lines.append(json_line({"hash": h, "text": texts[h]}))
        lines.append(json_line(record))
    main = Path(folder) / PROMPTS_FILE
    merged = "".join(lines)
    if files == [main] and main.read_text(encoding="utf-8") == merged:
        return False
    write_atomic(main, merged)
    for path in files:
        if path != main:
            path.unlink()
    return True
