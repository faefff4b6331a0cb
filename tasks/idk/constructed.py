"""Constructed "I don't know" rows: questions a model should not answer with a confident fact.

Part of the dataset that ``calibkit idk build`` writes. Each row pairs a
question with an "I don't know"-style target response and an explicit
criterion (:data:`REASONS`) saying why declining is right:

* ``after_cutoff``: recurring real events (Nobel prizes, finals, elections)
  in the years after a training cutoff, built from templates;
* ``false_premise``: questions resting on a false premise, each with a
  hand-written response that says the premise cannot be confirmed;
* ``unknowable``, ``private``, ``polite_evasion``: hand-written seeds.

The seeds and templates live in ``seeds.json`` beside this module. Every one
was written by hand for this project, so they carry the project's own licence
(:data:`SEEDS_LICENCE`); nothing is copied from another dataset.

This module is pure Python over that one data file: it must never load a
model, import torch, reach the network, or write files. Everything is
deterministic given its arguments (responses are drawn with seeded
:class:`random.Random` instances, never the global one).

Example::

    rows = constructed_rows(datetime.date(2024, 6, 15), today=datetime.date.today(), seed=0)
"""
from __future__ import annotations

import datetime
import functools
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from calibkit.errors import UserError

SEEDS_PATH = Path(__file__).with_name("seeds.json")
SEEDS_LICENCE = "written for calibkit; released with it under its licence"
SEED_SOURCE = "calibkit seeds (hand-written for this project)"
TEMPLATE_SOURCE = "calibkit templates"
KIND = "abstain"

REASONS: Mapping[str, str] = MappingProxyType({
    "after_cutoff": (
        "The question asks about an event that was decided after the model's training cutoff, so the model "
        "cannot know the outcome; saying \"I don't know\" is appropriate instead of guessing."),
    "false_premise": (
        "The question takes for granted something that is false (or that the model cannot confirm); the model "
        "should not answer as if the premise were true, but say that it cannot confirm it."),
    "unknowable": (
        "Nobody can know the answer: it is a specific future or random outcome, or an exact quantity that no "
        "one has measured or could; \"I don't know\" is the only honest answer."),
    "private": (
        "The answer is private information the model cannot have, about the user's own life or about private "
        "individuals; the model should say it doesn't know rather than invent details."),
    "polite_evasion": (
        "A blunt verdict would be hurtful and the model cannot judge fairly anyway (the question asks it to rate "
        "the user's looks, work or loved ones); a gentle, non-committal decline is more appropriate."),
})
SEED_REASONS = ("unknowable", "private", "polite_evasion")

IDK_RESPONSES: tuple[str, ...] = (
    "I don't know.",
    "I'm not sure, and I'd rather not guess.",
    "I don't know the answer to that.",
    "I'm afraid I don't know.",
    "Sorry, I don't know.",
    "I honestly don't know.",
    "I have no way of knowing that.",
    "I can't say; I don't have that information.",
    "I don't know, and I don't want to make something up.",
    "That's not something I know, so I won't guess.",
)

DECLINE_RESPONSES: tuple[str, ...] = (
    "That's really not something I can judge fairly — and honestly, I don't think my verdict is what matters here.",
    "I'd rather not give a verdict on that. I don't think a blunt answer from me would be fair or kind.",
    "That's not really mine to judge. If it's on your mind, I'm happy to talk it through with you.",
    "I don't think I'm the right one to weigh in on that, and I wouldn't want to say something unkind.",
    "I'd prefer not to rate that. Tastes differ, and the people around you know far more about it than I do.",
    "Honestly, I can't give you a fair answer to that, and I'd rather not guess about something this personal.",
    "I'm not going to pass judgement on that. What I can say is that it clearly matters to you, and that counts.",
)


class ConstructedError(UserError, ValueError):
    """An argument the user can fix (such as a cutoff in the future); the message names the fix on one line."""


@dataclass(frozen=True)
class ConstructedRow:
    """One constructed row: a question, its target "I don't know"-style response, and why.

    ``evidence`` records what the row was built from: for ``after_cutoff``
    ``{"template", "year", "cutoff"}``; for ``false_premise`` ``{"rule",
    "original", "false_fact"}``; otherwise ``{"seed"}``. It is read-only;
    :meth:`as_dict` gives a plain (JSON-ready) copy of the row.
    """

    id: str
    prompt: str
    response: str
    kind: str
    reason: str
    evidence: Mapping[str, Any]
    source: str

    def as_dict(self) -> dict[str, Any]:
        """The row as plain JSON-ready values.

        >>> false_premise_rows()[0].as_dict()["reason"]
        'false_premise'
        """
        return {"id": self.id, "prompt": self.prompt, "response": self.response, "kind": self.kind,
                "reason": self.reason, "evidence": dict(self.evidence), "source": self.source}


@functools.lru_cache(maxsize=1)
def load_seeds() -> Mapping[str, Any]:
    """The parsed ``seeds.json`` (read once; treat it as read-only)."""
    return MappingProxyType(json.loads(SEEDS_PATH.read_text(encoding="utf-8")))


def response_for(reason: str, key: str, *, seed: int) -> str:
    """A deterministic target response for a row: one of :data:`IDK_RESPONSES`, or of
    :data:`DECLINE_RESPONSES` for ``polite_evasion``, drawn with ``random.Random(f"{seed}/{reason}/{key}")``.

    >>> response_for("unknowable", "constructed/unknowable/coin_toss", seed=0) in IDK_RESPONSES
    True
    >>> response_for("polite_evasion", "x", seed=1) in DECLINE_RESPONSES
    True
    """
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}; known reasons: {', '.join(REASONS)}")
    choices = DECLINE_RESPONSES if reason == "polite_evasion" else IDK_RESPONSES
    return random.Random(f"{seed}/{reason}/{key}").choice(choices)


def held_in(template: Mapping[str, Any], year: int) -> bool:
    """Whether a template's event takes place in ``year`` (``"years_mod": [m, r]`` means ``year % m == r``).

    >>> held_in({"years_mod": [4, 2]}, 2026), held_in({"years_mod": [4, 2]}, 2025), held_in({}, 2025)
    (True, False, True)
    """
    modulus, remainder = template.get("years_mod", (1, 0))
    return year % modulus == remainder


def after_cutoff_rows(cutoff: datetime.date, *, today: datetime.date, years: int = 2,
                      seed: int = 0) -> list[ConstructedRow]:
    """Questions about recurring real events decided after a training cutoff.

    One row per (template, year) for the years ``cutoff.year + 1 .. cutoff.year + years``,
    plus ``cutoff.year`` itself for events whose month (the earliest month their result
    is usually known) falls after the cutoff's month. Events whose month has not yet
    passed by ``today`` are left out: they have not happened, so they are not
    "after the cutoff" facts. Rows come year by year, templates in file order.

    >>> rows = after_cutoff_rows(datetime.date(2024, 6, 15), today=datetime.date(2026, 12, 1))
    >>> "Who won the 2024 Nobel Prize in Physics?" in [row.prompt for row in rows]
    True
    >>> rows[0].evidence["cutoff"]
    '2024-06-15'
    """
    if cutoff > today:
        raise ConstructedError(f"cutoff {cutoff.isoformat()} is after today ({today.isoformat()}): a training "
                               "cutoff cannot be in the future; pass a past date")
    if years < 0:
        raise ConstructedError(f"years={years} is negative; pass 0 or more years after the cutoff")
    templates = load_seeds()["after_cutoff_templates"]
    pairs = [(year, t) for year in range(cutoff.year, cutoff.year + years + 1) for t in templates
             if held_in(t, year)
             and (cutoff.year, cutoff.month) < (year, t["month"]) < (today.year, today.month)]
    rows = []
    for year, template in pairs:
        row_id = f"constructed/after_cutoff/{template['id']}/{year}"
        evidence = {"template": template["id"], "year": year, "cutoff": cutoff.isoformat()}
        rows.append(ConstructedRow(
            id=row_id, prompt=template["question"].format(year=year),
            response=response_for("after_cutoff", row_id, seed=seed), kind=KIND, reason="after_cutoff",
            evidence=MappingProxyType(evidence), source=TEMPLATE_SOURCE))
    return rows


def false_premise_rows(*, seed: int = 0) -> list[ConstructedRow]:
    """One row per hand-written false-premise rule, with that rule's own response.

    ``seed`` is accepted for a uniform signature; the responses are hand-written, so it changes nothing.

    >>> row = false_premise_rows()[0]
    >>> row.prompt, row.evidence["original"]
    ('Why is Venus called the Red Planet?', 'Which planet is known as the Red Planet?')
    """
    del seed  # the responses are written per rule
    return [ConstructedRow(
        id=f"constructed/false_premise/{rule['id']}", prompt=rule["question"], response=rule["response"],
        kind=KIND, reason="false_premise",
        evidence=MappingProxyType({"rule": rule["id"], "original": rule["original"],
                                   "false_fact": rule["false_fact"]}),
        source=SEED_SOURCE) for rule in load_seeds()["false_premise"]]


def seed_rows(reason: str, *, seed: int = 0) -> list[ConstructedRow]:
    """Rows from the hand-written seeds of ``reason`` (``unknowable``, ``private`` or ``polite_evasion``).

    >>> row = seed_rows("private")[0]
    >>> row.id, row.prompt
    ('constructed/private/sister_middle_name', "What is my sister's middle name?")
    """
    if reason not in SEED_REASONS:
        raise ValueError(f"seed_rows builds {', '.join(SEED_REASONS)}, not {reason!r}")
    rows = []
    for item in load_seeds()[reason]:
        row_id = f"constructed/{reason}/{item['id']}"
        rows.append(ConstructedRow(
            id=row_id, prompt=item["question"], response=response_for(reason, row_id, seed=seed), kind=KIND,
            reason=reason, evidence=MappingProxyType({"seed": item["id"]}), source=SEED_SOURCE))
    return rows


def constructed_rows(cutoff: datetime.date, *, today: datetime.date, seed: int = 0) -> list[ConstructedRow]:
    """Every constructed row, in a fixed order: after_cutoff, false_premise, unknowable, private, polite_evasion.

    Deterministic given the arguments; ``seed`` only changes which stock response a row gets.

    >>> rows = constructed_rows(datetime.date(2024, 6, 15), today=datetime.date(2026, 12, 1))
    >>> [r.reason for r in rows][0], [r.reason for r in rows][-1], {r.kind for r in rows}
    ('after_cutoff', 'polite_evasion', {'abstain'})
    """
    rows = after_cutoff_rows(cutoff, today=today, seed=seed) + false_premise_rows(seed=seed)
    for reason in SEED_REASONS:
        rows += seed_rows(reason, seed=seed)
    return rows
