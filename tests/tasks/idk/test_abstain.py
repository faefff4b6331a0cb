"""The abstention judge on its hand-labelled table, on the issue's cases, and on the dataset's own targets."""
from __future__ import annotations

import csv
import datetime
from pathlib import Path

import pytest

from calibkit.tasks.idk.abstain import DECLINE_PHRASES, LABELS, WEAK_PHRASES, abstains, judge, masked
from calibkit.tasks.idk.constructed import DECLINE_RESPONSES, IDK_RESPONSES, constructed_rows

TABLE = Path(__file__).resolve().parents[2] / "fixtures" / "idk_judge_replies.tsv"


def labelled() -> list[dict[str, str]]:
    lines = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_the_labelled_table_is_large_and_covers_every_case():
    rows = labelled()
    assert len(rows) >= 60 and {r["label"] for r in rows} == {"abstain", "hedged", "answer"}
    assert all(r["reply"].strip() for r in rows)
    assert sum(r["label"] == "hedged" for r in rows) >= 10 and sum(r["label"] == "answer" for r in rows) >= 20
    assert len({r["reply"] for r in rows}) == len(rows)


def accuracy(rows) -> tuple[float, float, list[str]]:
    """(3-class accuracy, abstain-vs-not accuracy, the misread replies)."""
    got = [judge(r["reply"]).label for r in rows]
    right = [g == r["label"] for g, r in zip(got, rows)]
    binary = [(g == "abstain") == (r["label"] == "abstain") for g, r in zip(got, rows)]
    return sum(right) / len(rows), sum(binary) / len(rows), [r["reply"] for r, ok in zip(rows, right) if not ok]


def test_the_judges_accuracy_on_the_labelled_table():
    """The numbers the README prints; a rule change that moves them must update both. Per set of the fixture (its
    header says how each was made): 3-class accuracy, abstain-or-not accuracy, the replies misread."""
    rows = labelled()
    got = {name: accuracy([r for r in rows if r["set"] == name]) for name in EXPECTED}
    assert {name: (round(a, 4), round(b, 4)) for name, (a, b, _) in got.items()} == {
        name: (round(a, 4), round(b, 4)) for name, (a, b, _) in EXPECTED.items()}
    for name, (_, _, missed) in EXPECTED.items():
        assert [m[:40] for m in got[name][2]] == missed, name
    assert {r["set"] for r in rows} == set(EXPECTED)


#: per set: (3-class accuracy, abstain-or-not accuracy, the first 40 characters of each misread reply)
EXPECTED = {
    "written": (80 / 81, 80 / 81, ["Beauty is in the eye of the beholder."]),  # a paraphrased decline: no phrase
    "model40": (79 / 81, 80 / 81, ["I'm sorry for any mistakes, but as a hel",  # declines without a phrase
                                   "No, my dear, your house is not always me"]),  # "perhaps": read as hedged
}


@pytest.mark.parametrize("reply, label", [
    ("I'm not sure.", "abstain"),
    ("It is not surely Sydney: the capital of Australia is Canberra.", "answer"),  # a phrase inside a word
    ('"I Don\'t Know How to Love Him" is a song from Jesus Christ Superstar.', "answer"),  # a title in quotes
    ("The Eagles recorded I Can't Tell You Why in 1979.", "answer"),  # a title without quotes
    ("I'm not sure, but I think it's Paris.", "hedged"),  # a hedge followed by an answer
    ("Paris. I don't know why you ask.", "answer"),
    ("I DON'T KNOW.", "abstain"),
    ("I honestly don't know.", "abstain"),
    ("Many people are not sure, but it is Canberra.", "answer"),  # not the speaker's hesitation
    ("It may be impossible to know.", "abstain"),  # a modal that hedges the decline itself
    ("I don't think so, it looks lovely.", "answer"),
    ("I'm not sure, but it's Paris.", "hedged"),  # a decline, then an answer after all
    ("I don't know the exact number, but it is around 300.", "hedged"),
    ("I can't answer that, but it's a good question.", "abstain"),  # the contrast brings no answer
    ("There are many species, but it's estimated that 200,000 are known.", "answer"),  # no decline: no hedge
    ("", "empty"),
])
def test_the_issues_cases(reply, label):
    assert judge(reply).label == label
    assert abstains(reply) == (label == "abstain")


def test_masking_keeps_positions_and_hides_only_quotes_and_titles():
    text = "He sang 'I Don't Know' and said: I don't know."
    out = masked(text)
    assert len(out) == len(text) and out.endswith("said: i don't know.") and "i don't know'" not in out
    assert judge(text).label == "abstain" and judge("He sang 'I Don't Know' and left.").label == "answer"


def test_every_target_the_dataset_holds_is_read_as_its_kind():
    """A model that wrote the dataset's own responses would be scored right: abstentions as abstentions, twins'
    answers as plain answers."""
    rows = constructed_rows(datetime.date(2024, 6, 15), today=datetime.date(2026, 12, 1))
    for row in rows:
        assert judge(row.response).label == ("abstain" if row.kind == "abstain" else "answer"), row.response
    assert all(abstains(r) for r in IDK_RESPONSES + DECLINE_RESPONSES)


def test_the_phrase_lists_are_lower_case_and_straight():
    for phrase in DECLINE_PHRASES + WEAK_PHRASES:
        assert phrase == phrase.lower().strip() and "\u2019" not in phrase
    assert len(set(DECLINE_PHRASES)) == len(DECLINE_PHRASES) and LABELS == ("abstain", "hedged", "answer", "empty")
