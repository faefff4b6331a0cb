"""Benchmark rows to prompts, byte for byte as lm-evaluation-harness renders them.

Base form (lm-eval 0.4.13, no chat template): the context is the few-shot
examples, each ``example + "\\n\\n"`` (see :meth:`~.specs.Doc.example`),
then the row's ``doc_to_text``; every choice is scored as ``" " + choice``.
Winogrande scores one continuation after a context per option
(``Prompt.option_contexts``). No task sets a description.

Few-shot examples are lm-eval's ``default`` sampler: one
``random.Random(seed)`` (lm-eval's ``fewshot_random_seed``, 1234) draws for
the items in order; tasks without a test split draw k + 1 rows and drop any
equal to the item. Examples come from the train split when the source has
it (lm-eval's ``training_split``); otherwise from the scored split itself,
always without the item, which the run's config records.

Chat form, as lm-eval's ``--apply_chat_template``: the whole context is one
user turn and the choice opens the assistant turn; with
``fewshot_as_multiturn`` each example is a user turn (its context) and an
assistant turn (its answer).

It only builds strings: it must never read files, import torch or tokenize.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from calibkit.records import Prompt, Turn
from calibkit.tasks.multiple_choice.variants import NOTA_TEXT, none_of_the_above

from .data import BenchmarkDataError, to_doc
from .specs import Doc, Spec

FEWSHOT_SEED = 1234  # lm-eval's default fewshot_random_seed


@dataclass(frozen=True)
class Shots:
    """Where few-shot examples come from."""

    k: int  # examples per prompt
    pool: Sequence[Mapping[str, Any]]  # the rows to draw from
    split: str  # the pool's split, for the examples' ids
    excludes_item: bool  # draw k + 1 and drop rows equal to the item (lm-eval: tasks without a test split)
    seed: int = FEWSHOT_SEED


def build(spec: Spec, rows: Sequence[Mapping[str, Any]], *, split: str, shots: Shots, source: str,
          multiturn: bool = False, nota_seed: int | None = None) -> list[Prompt]:
    """One prompt per row, rows in order (the few-shot draw depends on it, as in lm-eval).

    ``nota_seed``: replace one option of each item (never of an example) by
    "None of the above", drawn with that seed (see
    :func:`calibkit.tasks.multiple_choice.variants.none_of_the_above`).
    """
    if multiturn and spec.multiple_input:
        raise BenchmarkDataError(f"--fewshot-as-multiturn: {spec.name} scores each option after its own context, "
                                 "so the examples cannot be turns of their own; drop the flag")
    pool_docs = [to_doc(spec, r, where=f"{source} {shots.split} row {j}") for j, r in enumerate(shots.pool)] \
        if shots.k else []
    rng = random.Random(shots.seed)
    out = []
    for i, row in enumerate(rows):
        picked = _draw(rng, row, shots) if shots.k else []
        examples = [(f"{spec.name}/{shots.split}/{j}", pool_docs[j]) for j in picked]
        item_id = f"{spec.name}/{split}/{i}"
        shown = _with_nota(spec, row, item_id, nota_seed, where=f"{source} {split} row {i}")
        out.append(_prompt(spec, to_doc(spec, shown, where=f"{source} {split} row {i}"), item_id, split=split,
                           examples=examples, multiturn=multiturn))
    return out


def _draw(rng: random.Random, row: Mapping[str, Any], shots: Shots) -> list[int]:
    """lm-eval's ContextSampler.sample: indices into the pool, the item left out when it must be."""
    n = shots.k + 1 if shots.excludes_item else shots.k
    if len(shots.pool) < n:
        raise BenchmarkDataError(f"--shots {shots.k}: the {shots.split} split holds only {len(shots.pool)} rows "
                                 f"to draw {n} from; use fewer shots")
    drawn = rng.sample(range(len(shots.pool)), n)
    if shots.excludes_item:
        drawn = [j for j in drawn if shots.pool[j] != row][: shots.k]
    if len(drawn) != shots.k:
        raise BenchmarkDataError(f"--shots {shots.k}: the {shots.split} split repeats an item; "
                                 "lm-eval fails here too, use fewer shots")
    return drawn


def _with_nota(spec: Spec, row: Mapping[str, Any], key: str, seed: int | None, *, where: str) -> Mapping[str, Any]:
    if seed is None:
        return row
    if spec.with_choice is None:
        raise BenchmarkDataError(f"--none-of-the-above: {spec.name} has no option to replace "
                                 "(its options are fixed words or fill a blank); drop the flag")
    n = len(to_doc(spec, row, where=where).choices)
    _, k = none_of_the_above(tuple(str(j) for j in range(n)), key=key, seed=seed)
    return spec.with_choice(row, k, NOTA_TEXT)


def _prompt(spec: Spec, doc: Doc, item_id: str, *, split: str, examples: list[tuple[str, Doc]],
            multiturn: bool) -> Prompt:
    shots = "".join(d.example() + "\n\n" for _, d in examples)
    meta: dict[str, Any] = {
        "split": split, "question": doc.question, "choices": list(doc.shown_choices),
        "shots": len(examples), "fewshot_ids": [x for x, _ in examples],
    }
    if spec.acc_norm:
        meta["norm_lengths"] = [len(c) for c in doc.choices]  # lm-eval's acc_norm: characters, no delimiter
    if doc.contexts:
        return Prompt(id=item_id, task=spec.name, text=shots + doc.text, answer=doc.gold, meta=meta,
                      options=(" " + doc.target,) * len(doc.contexts),
                      option_contexts=tuple(shots + c for c in doc.contexts))
    turns: tuple[Turn, ...] = ()
    if multiturn and examples:
        pairs = [(Turn("user", d.text), Turn("assistant", d.choices[d.gold])) for _, d in examples]
        turns = (*(t for pair in pairs for t in pair), Turn("user", doc.text))
    return Prompt(id=item_id, task=spec.name, text=shots + doc.text, options=tuple(" " + c for c in doc.choices),
                  answer=doc.gold, turns=turns, meta=meta)
