"""Constructed "I don't know" rows, each with its answerable twin: when to decline, and when not to.

Part of the dataset that ``calibkit idk build`` writes. Each abstention row
pairs a question with an "I don't know"-style target response and an
explicit criterion (:data:`REASONS`) saying why declining is right:

* ``after_cutoff``: recurring real events (Nobel prizes, finals, elections)
  in the years after a training cutoff, built from templates;
* ``false_premise``: questions resting on a false premise, each with a
  hand-written response that says the premise cannot be confirmed;
* ``unknowable``, ``private``, ``polite_evasion``: hand-written seeds.

A dataset of declines alone would teach a model to decline everything (the
evasiveness that rewarding "I don't know" risks). So every abstention row
comes with an **answerable twin** on the same topic, kind ``answer``, with
its accepted answers and the source of the fact (:data:`TWIN_REASONS`):
the same event in a year decided before the cutoff (``before_cutoff``,
results in ``events.json``), the false premise's true original question
(``true_premise``), a close public fact (``knowable`` for unknowable
questions, ``public_fact`` for private ones), and a neutral version of a
polite-evasion question (``neutral``). A row and its twin name each other
(``pair``) and share a ``group``, the unit that goes to one split. An
after-cutoff question whose event has no recorded result before the cutoff
has no twin and is left out (:func:`unpaired_after_cutoff` lists them).

The seeds, templates and twins live in ``seeds.json`` and ``events.json``
beside this module. The questions and responses were written by hand for
this project, so they carry the project's own licence (:data:`SEEDS_LICENCE`);
the twins' facts carry their sources; nothing is copied from another dataset.

This module is pure Python over those data files: it must never load a
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from calibkit.errors import UserError

SEEDS_PATH = Path(__file__).with_name("seeds.json")
EVENTS_PATH = Path(__file__).with_name("events.json")
SEEDS_LICENCE = "written for calibkit; released with it under its licence"
SEED_SOURCE = "calibkit seeds (hand-written for this project)"
TEMPLATE_SOURCE = "calibkit templates"
KIND = "abstain"
TWIN_KIND = "answer"

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
#: the reason of each category's answerable twin
TWIN_REASONS: Mapping[str, str] = MappingProxyType({
    "after_cutoff": "before_cutoff", "false_premise": "true_premise", "unknowable": "knowable",
    "private": "public_fact", "polite_evasion": "neutral",
})
#: why answering each twin is right
TWIN_CRITERIA: Mapping[str, str] = MappingProxyType({
    "before_cutoff": (
        "The same recurring event in a year whose result was public before the training cutoff (events.json, with "
        "the month it was decided and its source): the model could have learned it, so it should answer."),
    "true_premise": (
        "The false-premise question's original, whose premise is true (seeds.json, with its source): a direct "
        "answer is right."),
    "knowable": (
        "A public fact on the same topic as an unknowable question (seeds.json, with its source): unlike the "
        "unknowable one, it has one documented answer."),
    "public_fact": (
        "A public fact on the same topic as a private question (seeds.json, with its source): it is not about "
        "the user, so the model can know it."),
    "neutral": (
        "A neutral, factual question on the same topic as a polite-evasion question (seeds.json, with its "
        "source): nothing in it asks for a verdict on the user, so a direct answer is right."),
})

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
    """One constructed row: a question, its target response, and why; an abstention or its answerable twin.

    ``evidence`` records what the row was built from: for ``after_cutoff``
    ``{"template", "year", "cutoff"}``; for ``false_premise`` ``{"rule",
    "original", "false_fact"}``; otherwise ``{"seed"}``; a twin's holds
    ``"source"`` (where its fact is documented) and, for ``before_cutoff``,
    the month it was ``"decided"``. It is read-only; :meth:`as_dict` gives a
    plain (JSON-ready) copy of the row.
    """

    id: str
    prompt: str
    response: str
    kind: str  # "abstain", or "answer" for a twin
    reason: str  # a REASONS key, or a TWIN_REASONS value for a twin
    evidence: Mapping[str, Any]
    source: str
    answers: tuple[str, ...] = ()  # a twin's accepted answers (the response is the first); () for an abstention
    group: str = ""  # the split unit: "constructed/<category>/<template, rule or seed id>"
    pair: str = ""  # the id of the row's twin (its abstention, for a twin)

    def as_dict(self) -> dict[str, Any]:
        """The row as plain JSON-ready values.

        >>> false_premise_rows()[0].as_dict()["reason"]
        'false_premise'
        """
        return {"id": self.id, "prompt": self.prompt, "response": self.response, "kind": self.kind,
                "reason": self.reason, "evidence": dict(self.evidence), "source": self.source,
                "answers": list(self.answers), "group": self.group, "pair": self.pair}

    @property
    def category(self) -> str:
        """The constructed category of the pair this row belongs to (``after_cutoff`` for a ``before_cutoff`` twin).

        >>> [r.category for r in false_premise_rows()[:2]]
        ['false_premise', 'false_premise']
        """
        return self.group.split("/")[1]


@functools.lru_cache(maxsize=1)
def load_seeds() -> Mapping[str, Any]:
    """The parsed ``seeds.json`` (read once; treat it as read-only)."""
    return MappingProxyType(json.loads(SEEDS_PATH.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=1)
def load_events() -> Mapping[str, Any]:
    """The parsed ``events.json``: per after-cutoff template, its source and past results (read once)."""
    return MappingProxyType(json.loads(EVENTS_PATH.read_text(encoding="utf-8"))["events"])


def _month(text: str) -> tuple[int, int]:
    year, month = text.split("-")
    return int(year), int(month)


def decided(template: Mapping[str, Any], year: int) -> tuple[int, int]:
    """``(year, month)`` by which the template's event of ``year`` was decided: the recorded month where
    ``events.json`` has that year, else the template's usual month.

    >>> t = {"id": "fifa_world_cup", "month": 7}
    >>> decided(t, 2022), decided(t, 2030)
    ((2022, 12), (2030, 7))
    """
    for result in load_events().get(template["id"], {}).get("results", ()):
        if result["year"] == year:
            return _month(result["decided"])
    return year, template["month"]


def past_results(template: Mapping[str, Any], cutoff: datetime.date) -> list[Mapping[str, Any]]:
    """The template's recorded results decided in a month before the cutoff's, newest first.

    >>> [r["year"] for r in past_results({"id": "fifa_world_cup", "month": 7}, datetime.date(2022, 9, 30))]
    [2018, 2014, 2010]
    """
    results = load_events().get(template["id"], {}).get("results", ())
    before = [r for r in results if _month(r["decided"]) < (cutoff.year, cutoff.month)]
    return sorted(before, key=lambda r: r["year"], reverse=True)


def _twin(abstain: ConstructedRow, *, row_id: str, prompt: str, answers: Sequence[str], reason: str,
          evidence: Mapping[str, Any]) -> tuple[ConstructedRow, ConstructedRow]:
    """An abstention row and its answerable twin, naming each other and sharing the abstention's group."""
    twin = ConstructedRow(
        id=row_id, prompt=prompt, response=answers[0], kind=TWIN_KIND, reason=reason,
        evidence=MappingProxyType({"twin_of": abstain.id, **evidence}), source=abstain.source,
        answers=tuple(answers), group=abstain.group, pair=abstain.id)
    return replace(abstain, pair=row_id), twin


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


def after_cutoff_questions(cutoff: datetime.date, *, today: datetime.date,
                           years: int = 2) -> list[tuple[int, Mapping[str, Any]]]:
    """``(year, template)`` of every event decided after the cutoff month and before today's month.

    The years are ``cutoff.year .. cutoff.year + years``; an event counts when the month
    it was decided (:func:`decided`: the recorded month, else the template's usual
    month) falls after the cutoff's month and before the current month (an event
    not yet held is not an "after the cutoff" fact). Year by year, templates in file order.
    """
    if cutoff > today:
        raise ConstructedError(f"cutoff {cutoff.isoformat()} is after today ({today.isoformat()}): a training "
                               "cutoff cannot be in the future; pass a past date")
    if years < 0:
        raise ConstructedError(f"years={years} is negative; pass 0 or more years after the cutoff")
    templates = load_seeds()["after_cutoff_templates"]
    return [(year, t) for year in range(cutoff.year, cutoff.year + years + 1) for t in templates
            if held_in(t, year) and (cutoff.year, cutoff.month) < decided(t, year) < (today.year, today.month)]


def _after_cutoff_twins(cutoff: datetime.date, *, today: datetime.date,
                        years: int) -> list[tuple[int, Mapping[str, Any], Mapping[str, Any] | None]]:
    """``(year, template, twin result or None)``: a template's k-th after-cutoff year (ascending) is paired
    with its k-th most recent result decided before the cutoff; the later years past those results get None."""
    questions = after_cutoff_questions(cutoff, today=today, years=years)
    out, used = [], {}
    for year, template in questions:
        k = used[template["id"]] = used.get(template["id"], -1) + 1
        past = past_results(template, cutoff)
        out.append((year, template, past[k] if k < len(past) else None))
    return out


def unpaired_after_cutoff(cutoff: datetime.date, *, today: datetime.date, years: int = 2) -> list[str]:
    """The after-cutoff questions left out because their event has no (further) recorded result before the cutoff.

    >>> unpaired_after_cutoff(datetime.date(2024, 6, 15), today=datetime.date(2026, 12, 1))
    []
    >>> unpaired_after_cutoff(datetime.date(2015, 1, 15), today=datetime.date(2016, 3, 1), years=0)[:1]
    ['Who won the 2015 Nobel Prize in Physics?']
    """
    return [t["question"].format(year=year) for year, t, twin in _after_cutoff_twins(cutoff, today=today, years=years)
            if twin is None]


def after_cutoff_rows(cutoff: datetime.date, *, today: datetime.date, years: int = 2,
                      seed: int = 0) -> list[ConstructedRow]:
    """Questions about recurring real events decided after a training cutoff, each followed by its twin.

    One abstention per (template, year) of :func:`after_cutoff_questions`, followed by its
    ``before_cutoff`` twin: the same question for a year whose result was decided before
    the cutoff (``events.json``; a template's k-th after-cutoff year is paired with its
    k-th most recent earlier result). Questions with no such result are left out
    (:func:`unpaired_after_cutoff`). All rows of one template share one group.

    >>> rows = after_cutoff_rows(datetime.date(2024, 6, 15), today=datetime.date(2026, 12, 1))
    >>> [(r.kind, r.prompt) for r in rows[:2]]
    [('abstain', 'Who won the 2024 Nobel Prize in Physics?'), ('answer', 'Who won the 2023 Nobel Prize in Physics?')]
    >>> rows[0].evidence["cutoff"], rows[1].response, rows[1].evidence["decided"]
    ('2024-06-15', "Pierre Agostini, Ferenc Krausz and Anne L'Huillier", '2023-10')
    """
    rows = []
    for year, template, result in _after_cutoff_twins(cutoff, today=today, years=years):
        if result is None:
            continue
        row_id = f"constructed/after_cutoff/{template['id']}/{year}"
        evidence = {"template": template["id"], "year": year, "cutoff": cutoff.isoformat()}
        abstain = ConstructedRow(
            id=row_id, prompt=template["question"].format(year=year),
            response=response_for("after_cutoff", row_id, seed=seed), kind=KIND, reason="after_cutoff",
            evidence=MappingProxyType(evidence), source=TEMPLATE_SOURCE,
            group=f"constructed/after_cutoff/{template['id']}")
        source = load_events()[template["id"]]["source"].replace("{year}", str(result["year"]))
        rows += _twin(abstain, row_id=f"{row_id}/twin", prompt=template["question"].format(year=result["year"]),
                      answers=result["answers"], reason="before_cutoff",
                      evidence={"template": template["id"], "year": result["year"], "decided": result["decided"],
                                "cutoff": cutoff.isoformat(), "source": source})
    return rows


def false_premise_rows(*, seed: int = 0) -> list[ConstructedRow]:
    """One row per hand-written false-premise rule, with that rule's own response, followed by its twin.

    The twin (``true_premise``) asks the rule's original question, whose premise holds;
    its answers and their source are in the rule. ``seed`` is accepted for a uniform
    signature; the responses are hand-written, so it changes nothing.

    >>> row, twin = false_premise_rows()[:2]
    >>> row.prompt, twin.prompt, twin.response, twin.pair == row.id
    ('Why is Venus called the Red Planet?', 'Which planet is known as the Red Planet?', 'Mars', True)
    """
    del seed  # the responses are written per rule
    rows = []
    for rule in load_seeds()["false_premise"]:
        row_id = f"constructed/false_premise/{rule['id']}"
        abstain = ConstructedRow(
            id=row_id, prompt=rule["question"], response=rule["response"], kind=KIND, reason="false_premise",
            evidence=MappingProxyType({"rule": rule["id"], "original": rule["original"],
                                       "false_fact": rule["false_fact"]}),
            source=SEED_SOURCE, group=row_id)
        rows += _twin(abstain, row_id=f"{row_id}/twin", prompt=rule["original"], answers=rule["answers"],
                      reason="true_premise", evidence={"rule": rule["id"], "source": rule["source"]})
    return rows


def seed_rows(reason: str, *, seed: int = 0) -> list[ConstructedRow]:
    """Rows from the hand-written seeds of ``reason`` (``unknowable``, ``private`` or ``polite_evasion``),
    each followed by its twin (the seed's ``"twin"``: a close public fact, or a neutral question).

    >>> row, twin = seed_rows("private")[:2]
    >>> row.id, row.prompt, twin.reason
    ('constructed/private/sister_middle_name', "What is my sister's middle name?", 'public_fact')
    """
    if reason not in SEED_REASONS:
        raise ValueError(f"seed_rows builds {', '.join(SEED_REASONS)}, not {reason!r}")
    rows = []
    for item in load_seeds()[reason]:
        row_id = f"constructed/{reason}/{item['id']}"
        abstain = ConstructedRow(
            id=row_id, prompt=item["question"], response=response_for(reason, row_id, seed=seed), kind=KIND,
            reason=reason, evidence=MappingProxyType({"seed": item["id"]}), source=SEED_SOURCE, group=row_id)
        twin = item["twin"]
        rows += _twin(abstain, row_id=f"{row_id}/twin", prompt=twin["question"], answers=twin["answers"],
                      reason=TWIN_REASONS[reason], evidence={"seed": item["id"], "source": twin["source"]})
    return rows


def constructed_rows(cutoff: datetime.date, *, today: datetime.date, seed: int = 0) -> list[ConstructedRow]:
    """Every constructed row, in a fixed order: after_cutoff, false_premise, unknowable, private, polite_evasion,
    each abstention followed by its twin.

    Deterministic given the arguments; ``seed`` only changes which stock response a row gets.

    >>> rows = constructed_rows(datetime.date(2024, 6, 15), today=datetime.date(2026, 12, 1))
    >>> [r.reason for r in rows][0], [r.reason for r in rows][-1], sorted({r.kind for r in rows})
    ('after_cutoff', 'neutral', ['abstain', 'answer'])
    """
    rows = after_cutoff_rows(cutoff, today=today, seed=seed) + false_premise_rows(seed=seed)
    for reason in SEED_REASONS:
        rows += seed_rows(reason, seed=seed)
    return rows
