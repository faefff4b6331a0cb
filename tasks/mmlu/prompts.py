"""MMLU prompts in lm-evaluation-harness's format or Kadavath et al.'s.

Turns the rows of :mod:`.data` into :class:`~calibkit.records.Prompt`
records. It only builds strings: it must never import torch, touch a model,
or tokenize.

Formats (``format=``):

``"hendrycks"`` (default) is byte-identical to lm-evaluation-harness's MMLU
default task (``lm_eval/tasks/mmlu/default``: ``fewshot_split: dev``,
``sampler: first_n``, target delimiter ``" "``, few-shot delimiter ``"\\n\\n"``)::

    The following are multiple choice questions (with answers) about abstract algebra.

    <dev question 0, stripped>
    A. <choice 0>
    B. <choice 1>
    C. <choice 2>
    D. <choice 3>
    Answer: B

    ... (k dev examples, the first k rows of the subject's dev split)

    <question, stripped>
    A. ...
    D. ...
    Answer:

with options ``" A" " B" " C" " D"``.

``"kadavath"`` is the lettered-choices format of Kadavath et al. 2022,
"Language Models (Mostly) Know What They Know" (arXiv 2207.05221), section 2,
which shows ``Question: ...`` / ``Choices:`` / `` (A) ...`` (one space before
each label) / ``Answer:`` and scores the labels "as e.g. ' (B)'"; options are
``" (A)" " (B)" " (C)" " (D)"``. There is no description line. Few-shot
examples (answered with `` (B)`` and separated by ``"\\n\\n"``) are drawn at
random from the test rows of every subject the source holds; the paper
reports 5-shot MMLU (its figure 6) without saying how shots were picked, so
we draw them with ``random.Random(f"{seed}/{item id}")``, which makes each
prompt depend only on the seed and the item, not on which subjects or how
many items were selected. The item itself, and any row with the same
stripped question and choices (MMLU's test split repeats 105 questions), is
never its own example.

Chat form (``Prompt.turns``), as lm-eval's ``--apply_chat_template``: the
hendrycks description is a system turn (lm-eval keeps its trailing blank
line; it drops the system turn for templates that reject one), everything
from the first example to the final ``Answer:`` is one user turn, and the
scored option opens the assistant turn (``assistant_prefix`` is empty, so
the option's leading space is dropped there: ``"A"``, ``"(A)"``). With
``fewshot_as_multiturn=True`` (lm-eval's ``--fewshot_as_multiturn``) each
example is a user turn (its block up to ``Answer:``) followed by an
assistant turn holding its bare label. ``Prompt.text`` is the same either way.

Example::

    >>> from calibkit.tasks import mmlu
    >>> prompts = list(mmlu.load(subjects=["anatomy"], shots=0, limit_per_subject=2))  # doctest: +SKIP
    >>> prompts[0].id, prompts[0].options  # doctest: +SKIP
    ('mmlu/anatomy/test/0', (' A', ' B', ' C', ' D'))
"""
from __future__ import annotations

import dataclasses
import os
import random
from typing import Iterable, Iterator

from calibkit.records import Prompt, Turn
from calibkit.tasks.multiple_choice.mmlu_data import (CATEGORIES, LETTERS, MAX_SHOTS, TASK, Row, available_subjects,
                                                   check_split, open_source)
from calibkit.tasks.multiple_choice.variants import NOTA_POSITIONS, none_of_the_above

FORMATS = ("hendrycks", "kadavath")


def load(
    *,
    split: str = "test",
    subjects: str | Iterable[str] | None = None,
    shots: int = 5,
    format: str = "hendrycks",
    limit_per_subject: int | None = None,
    data: str | os.PathLike[str] | None = None,
    seed: int = 1234,
    fewshot_as_multiturn: bool = False,
    none_of_the_above: bool = False,
    nota_position: str = "final",
) -> Iterator[Prompt]:
    """MMLU items as prompts, subject by subject, rows in file order.

    ``split`` is ``"test"``, ``"validation"`` (``"val"`` accepted) or
    ``"dev"``. ``subjects`` as in :func:`~calibkit.tasks.multiple_choice.mmlu_data.resolve_subjects`; None means every
    subject the source holds (all 57 for the embedded copy, the hub and a
    full Hendrycks folder). ``shots`` is 0-5 (at most 4 for ``split="dev"``
    in the hendrycks format, whose examples come from dev and never include
    the item). ``limit_per_subject`` keeps the first n rows of each subject,
    a balanced and stable sample. ``none_of_the_above`` replaces one option
    of each asked item (never of an example) by "None of the above": D, as
    Kadavath et al. (3.1), or with ``nota_position="random"`` one drawn with
    ``seed`` (see :func:`calibkit.tasks.multiple_choice.variants.none_of_the_above`);
    its index is the prompt's ``meta["nota_index"]``. ``seed`` otherwise
    only matters for the kadavath format's random examples. ``data`` is a
    path, ``"embedded"``, ``"hub"`` or None (first source found; see the
    module docstring); a folder that is itself called ``embedded`` or
    ``hub`` is passed as ``./embedded``.

    Arguments are checked and the data is read before this returns, so bad
    input raises ``ValueError`` and missing data raises
    :class:`~calibkit.tasks.sources.DataNotFoundError` here, not on first
    iteration; the prompts themselves are built lazily.

    Each prompt's ``meta`` holds subject, category, split, question (as
    stored), choices, format, shots and fewshot_ids (the ids of its
    examples). Building all 14,042 test prompts 5-shot, reading included,
    takes 0.5-1.5 s (hendrycks) and 1-2.5 s (kadavath) on a busy 2-core
    machine; ``fewshot_as_multiturn`` adds up to a second.
    The kadavath format with shots > 0 reads every subject's test split
    (from the hub: 57 downloads on first use).

    >>> p = next(load(subjects="anatomy", shots=0))  # doctest: +SKIP
    >>> p.text.endswith("Answer:"), p.answer in range(4)  # doctest: +SKIP
    (True, True)
    """
    split = check_split(split)
    _check_load_options(split=split, shots=shots, format=format, limit_per_subject=limit_per_subject, seed=seed,
                        fewshot_as_multiturn=fewshot_as_multiturn)
    if nota_position not in NOTA_POSITIONS:
        raise ValueError(f"nota_position: unknown position {nota_position!r}; use one of {', '.join(NOTA_POSITIONS)}")
    nota = (seed, nota_position) if none_of_the_above else None
    source = open_source(data, split)
    chosen = available_subjects(source, subjects, split)
    items = {s: source.rows(s, split)[:limit_per_subject] for s in chosen}
    if format == "hendrycks":
        examples = {s: source.rows(s, "dev") for s in chosen} if shots else {}
        for s, rows in examples.items():
            if len(rows) - (split == "dev") < shots:
                raise ValueError(f"shots: {s} has only {len(rows)} dev rows, fewer than shots={shots}")
        return _hendrycks_prompts(items, examples, shots=shots, multiturn=fewshot_as_multiturn, nota=nota)
    pool = [row for s in source.subjects("test") for row in source.rows(s, "test")] if shots else []
    if shots and len(pool) <= shots:
        raise ValueError(f"shots: the source holds only {len(pool)} test rows to draw {shots} examples from")
    return _kadavath_prompts(items, pool, shots=shots, seed=seed, multiturn=fewshot_as_multiturn, nota=nota)


def _check_load_options(*, split: str, shots: int, format: str, limit_per_subject: int | None, seed: int,
                        fewshot_as_multiturn: bool) -> None:
    if format not in FORMATS:
        raise ValueError(f"format: unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if isinstance(shots, bool) or not isinstance(shots, int) or not 0 <= shots <= MAX_SHOTS:
        raise ValueError(f"shots: must be an integer from 0 to {MAX_SHOTS}, got {shots!r}")
    if format == "hendrycks" and split == "dev" and shots == MAX_SHOTS:
        raise ValueError(
            f"shots: split='dev' leaves {MAX_SHOTS - 1} dev examples per subject once the item "
            f"itself is left out; use shots <= {MAX_SHOTS - 1}"
        )
    if limit_per_subject is not None and (
        isinstance(limit_per_subject, bool) or not isinstance(limit_per_subject, int) or limit_per_subject < 1
    ):
        raise ValueError(f"limit_per_subject: must be None or a positive integer, got {limit_per_subject!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed: must be an integer, got {seed!r}")
    if not isinstance(fewshot_as_multiturn, bool):
        raise ValueError(f"fewshot_as_multiturn: must be True or False, got {fewshot_as_multiturn!r}")


# --- prompt formats -------------------------------------------------------


def _hendrycks_block(row: Row) -> str:
    c = row.choices
    return f"{row.question.strip()}\nA. {c[0]}\nB. {c[1]}\nC. {c[2]}\nD. {c[3]}\nAnswer:"


def _kadavath_block(row: Row) -> str:
    c = row.choices
    return f"Question: {row.question.strip()}\nChoices:\n (A) {c[0]}\n (B) {c[1]}\n (C) {c[2]}\n (D) {c[3]}\nAnswer:"


def _prompt(
    row: Row,
    *,
    fmt: str,
    system: str,
    block: str,
    shots: list[tuple[Row, str, str]],  # (row, block up to "Answer:", bare label)
    options: tuple[str, ...],
    multiturn: bool,
) -> Prompt:
    # lm-eval's Message rendering: a shot is block + " " + label + "\n\n"
    examples = "".join(f"{b} {label}\n\n" for _, b, label in shots)
    turns = [Turn("system", system)] if system else []
    if multiturn:
        for _, b, label in shots:
            turns += [Turn("user", b), Turn("assistant", label)]
        turns.append(Turn("user", block))
    else:
        turns.append(Turn("user", examples + block))
    return Prompt(
        id=row.id,
        task=TASK,
        text=system + examples + block,
        options=options,
        answer=row.answer,
        turns=tuple(turns),
        assistant_prefix="",
        meta={
            "subject": row.subject,
            "category": CATEGORIES[row.subject],
            "split": row.split,
            "question": row.question,
            "choices": list(row.choices),
            "format": fmt,
            "shots": len(shots),
            "fewshot_ids": [r.id for r, _, _ in shots],
        },
    )


Nota = tuple[int, str]  # "None of the above": (seed, position)


def _shown(row: Row, nota: Nota | None) -> tuple[Row, int | None]:
    """The row as the prompt asks it, with one option replaced by "None of the above" when asked, and which."""
    if nota is None:
        return row, None
    choices, k = none_of_the_above(row.choices, key=row.id, seed=nota[0], position=nota[1])
    return dataclasses.replace(row, choices=choices), k


def _with_nota_index(prompt: Prompt, k: int | None) -> Prompt:
    return prompt if k is None else dataclasses.replace(prompt, meta={**prompt.meta, "nota_index": k})


def _hendrycks_prompts(
    items: dict[str, tuple[Row, ...]], examples: dict[str, tuple[Row, ...]], *, shots: int, multiturn: bool,
    nota: Nota | None = None,
) -> Iterator[Prompt]:
    options = tuple(f" {x}" for x in LETTERS)
    for subject, rows in items.items():
        system = f"The following are multiple choice questions (with answers) about {' '.join(subject.split('_'))}.\n\n"
        dev = [(r, _hendrycks_block(r), LETTERS[r.answer]) for r in examples.get(subject, ())]
        for row in rows:
            # lm-eval's first_n sampler drops the item only when examples and items share a split
            shot_rows = [x for x in dev if x[0].id != row.id][:shots]
            shown, k = _shown(row, nota)
            yield _with_nota_index(_prompt(
                shown, fmt="hendrycks", system=system, block=_hendrycks_block(shown),
                shots=shot_rows, options=options, multiturn=multiturn,
            ), k)


def _kadavath_prompts(
    items: dict[str, tuple[Row, ...]], pool: list[Row], *, shots: int, seed: int, multiturn: bool,
    nota: Nota | None = None,
) -> Iterator[Prompt]:
    options = tuple(f" ({x})" for x in LETTERS)
    # equal stripped question and choices -> equal int key (ints compare faster than text)
    key_ids: dict[tuple[str, tuple[str, ...]], int] = {}
    keys = [key_ids.setdefault((r.question.strip(), r.choices), len(key_ids)) for r in pool]
    shot_texts: dict[int, tuple[Row, str, str]] = {}
    for rows in items.values():
        for row in rows:
            picked: list[tuple[Row, str, str]] = []
            if shots:
                key = key_ids.get((row.question.strip(), row.choices), -1)
                # str seeds hash with sha512, so the draw is the same in every process
                rng = random.Random(f"{seed}/{row.id}")
                # spare draws cover the item and its duplicates (MMLU repeats a question at most
                # twice); a full shuffle is the rare fallback
                order = rng.sample(range(len(pool)), min(len(pool), shots + 4))
                chosen = [j for j in order if keys[j] != key][:shots]
                if len(chosen) < shots:
                    chosen = [j for j in rng.sample(range(len(pool)), len(pool)) if keys[j] != key][:shots]
                if len(chosen) < shots:
                    raise ValueError(f"shots: fewer than {shots} test rows differ from {row.id}")
                for j in chosen:
                    if j not in shot_texts:
                        shot_texts[j] = (pool[j], _kadavath_block(pool[j]), f"({LETTERS[pool[j].answer]})")
                picked = [shot_texts[j] for j in chosen]
            shown, k = _shown(row, nota)
            yield _with_nota_index(_prompt(
                shown, fmt="kadavath", system="", block=_kadavath_block(shown),
                shots=picked, options=options, multiturn=multiturn,
            ), k)


