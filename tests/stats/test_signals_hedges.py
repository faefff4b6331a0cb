"""The hedge lexicon on a hand-labelled table of 51 answers (tests/fixtures/hedges.tsv)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from calibkit.stats.signals import hedges

TABLE = Path(__file__).resolve().parents[1] / "fixtures" / "hedges.tsv"


def _rows():
    lines = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


ROWS = _rows()


def test_table_is_large_and_covers_every_class():
    assert len(ROWS) >= 40
    assert {r["class"] for r in ROWS} == set(hedges.CLASSES)


@pytest.mark.parametrize("row", ROWS, ids=[r["reply"][:30] for r in ROWS])
def test_labelled_reply(row):
    found = hedges.find_markers(row["reply"])
    expected = [m for m in (row["markers"] or "").split(";") if m]
    assert [*found.dont_know, *found.hedges, *found.boosters] == sorted(expected, key=lambda m: (
        0 if m in hedges.DONT_KNOW else 1 if m in hedges.HEDGES else 2))
    assert found.hedge_class == row["class"]


def test_whole_words_only():
    assert hedges.hedge_class("Maybelline is a brand.") == "plain"
    assert hedges.hedge_class("The mightiest river.") == "plain"
    assert hedges.hedge_class("It is clearly wrong to say unclearly") == "certain"


def test_longer_phrase_wins_over_its_parts():
    assert hedges.find_markers("I'm not completely sure").hedges == ("not completely sure",)
    assert hedges.find_markers("I'm not completely sure").boosters == ()


def test_non_string_is_a_named_error():
    with pytest.raises(ValueError, match="text must be a string"):
        hedges.find_markers(None)


def test_lexicon_phrases_are_lower_case_and_unique():
    phrases = hedges.DONT_KNOW + hedges.HEDGES + hedges.BOOSTERS
    assert all(p == p.lower().strip() for p in phrases)
    assert len(phrases) == len(set(phrases))
