"""A Herbstritt & Franke run's stored items, sorted by part of the study, and the study's error.

:mod:`.speaker` and :mod:`.listener` rebuild the model's distributions from
the items of one expression set and reading (``meta["set"]``,
``meta["reading"]``, written by :mod:`.contexts`), template by template;
this module picks those items out and orders the templates.
"""
from __future__ import annotations

from typing import Iterable

from calibkit.errors import UserError
from calibkit.records import ScoredItem

from .design import TASK
from .wording import TEMPLATE_NAMES


class StudyError(UserError, ValueError):
    """The stored items cannot give the asked-for distribution (missing or mixed runs)."""


def select_items(items: Iterable[ScoredItem], expression_set: str, reading: str) -> list[ScoredItem]:
    """The study's items of one set ("simple", "complex") and reading ("sentence", "choice", "listener")."""
    return [it for it in items
            if it.task == TASK and it.meta.get("set") == expression_set and it.meta.get("reading") == reading]


def template_order(found: Iterable[str]) -> tuple[str, ...]:
    """The templates found, known ones in :data:`.wording.TEMPLATE_NAMES` order, then any others sorted.

    >>> template_order(["t3", "x", "t1"])
    ('t1', 't3', 'x')
    """
    found = set(found)
    known = [t for t in TEMPLATE_NAMES if t in found]
    return tuple(known + sorted(found - set(known)))
