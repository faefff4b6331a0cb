"""Constructed "I don't know" rows: the criteria, the seeds, the cutoff rule and determinism."""
from __future__ import annotations

import datetime
import json

import pytest

from calibkit.errors import UserError
from calibkit.tasks.idk import constructed as c

CUTOFF = datetime.date(2024, 6, 15)
TODAY = datetime.date(2026, 12, 1)
REASON_IDS = {"after_cutoff", "false_premise", "unknowable", "private", "polite_evasion"}
MINIMUMS = {"after_cutoff_templates": 12, "false_premise": 30, "unknowable": 30, "private": 30, "polite_evasion": 30}


@pytest.fixture(scope="module")
def rows():
    return c.constructed_rows(CUTOFF, today=TODAY, seed=0)


def prompts(rows):
    return [row.prompt for row in rows]


def test_every_reason_has_a_criterion():
    assert set(c.REASONS) == REASON_IDS
    for reason, text in c.REASONS.items():
        assert text.strip() and text == text.strip() and text.endswith("."), reason


def test_the_seed_file_meets_the_minimums_and_is_pretty_utf8():
    raw = c.SEEDS_PATH.read_text(encoding="utf-8")
    seeds = json.loads(raw)
    for category, minimum in MINIMUMS.items():
        assert len(seeds[category]) >= minimum, category
        ids = [item["id"] for item in seeds[category]]
        assert len(ids) == len(set(ids)), category
    assert raw.count("\n") > 100  # pretty-printed, not one line
    assert c.SEEDS_LICENCE == "written for calibkit; released with it under its licence"


def test_the_seeds_are_well_formed():
    seeds = c.load_seeds()
    for template in seeds["after_cutoff_templates"]:
        assert set(template) <= {"id", "question", "month", "years_mod"}
        assert "{year}" in template["question"] and template["question"].endswith("?")
        assert 1 <= template["month"] <= 12
    for rule in seeds["false_premise"]:
        assert set(rule) == {"id", "original", "false_fact", "question", "response"}
        assert rule["original"].endswith("?") and rule["question"].endswith("?")
        assert rule["original"].lower() != rule["question"].lower()
        assert all(rule[k].strip() == rule[k] and rule[k] for k in rule)
    for reason in c.SEED_REASONS:
        assert all(set(item) == {"id", "question"} for item in seeds[reason])


def test_row_counts_per_reason(rows):
    counts = {reason: sum(row.reason == reason for row in rows) for reason in REASON_IDS}
    assert counts["after_cutoff"] >= 12
    assert all(counts[reason] >= 30 for reason in REASON_IDS - {"after_cutoff"}), counts
    order = [row.reason for row in rows]
    assert order == sorted(order, key=["after_cutoff", "false_premise", "unknowable", "private",
                                       "polite_evasion"].index)


def test_prompts_end_with_a_question_mark_and_are_unique(rows):
    assert all(p.endswith("?") and p == p.strip() for p in prompts(rows))
    lowered = [p.lower() for p in prompts(rows)]
    assert len(lowered) == len(set(lowered))
    originals = [row.evidence["original"].lower() for row in rows if row.reason == "false_premise"]
    assert not set(originals) & set(lowered)  # a true question never doubles as an abstain prompt
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids))
    assert all(row.id.startswith(f"constructed/{row.reason}/") for row in rows)


def test_every_row_abstains_and_names_its_source(rows):
    assert {row.kind for row in rows} == {"abstain"}
    assert all(row.reason in c.REASONS for row in rows)
    for row in rows:
        expected = c.TEMPLATE_SOURCE if row.reason == "after_cutoff" else c.SEED_SOURCE
        assert row.source == expected
    assert c.SEED_SOURCE == "calibkit seeds (hand-written for this project)"
    assert c.TEMPLATE_SOURCE == "calibkit templates"


def test_rows_are_frozen_and_serialise(rows):
    row = rows[0]
    with pytest.raises(AttributeError):
        row.prompt = "changed?"
    with pytest.raises(TypeError):
        row.evidence["year"] = 1999
    assert json.loads(json.dumps(row.as_dict()))["evidence"] == dict(row.evidence)


def test_the_same_arguments_give_the_same_rows(rows):
    assert c.constructed_rows(CUTOFF, today=TODAY, seed=0) == rows


def test_another_seed_changes_some_responses_but_no_prompt(rows):
    other = c.constructed_rows(CUTOFF, today=TODAY, seed=1)
    assert prompts(other) == prompts(rows)
    assert [r.id for r in other] == [r.id for r in rows]
    changed = [a.reason for a, b in zip(rows, other) if a.response != b.response]
    assert len(changed) > 10
    assert "false_premise" not in changed  # those responses are hand-written per rule


def test_after_cutoff_years_follow_the_cutoff_and_event_month():
    rows = c.after_cutoff_rows(CUTOFF, today=TODAY, years=2)
    asked = set(prompts(rows))
    for year in (2024, 2025, 2026):  # the Nobel is in October, after the June cutoff
        assert f"Who won the {year} Nobel Prize in Physics?" in asked
    assert "Who won the 2023 Nobel Prize in Physics?" not in asked
    assert not any("2027" in p or "2023" in p for p in asked)
    assert "Which team won the Super Bowl played in 2024?" not in asked  # February: before the cutoff
    assert "Which team won the Super Bowl played in 2025?" in asked
    world_cup = [r for r in rows if r.evidence["template"] == "fifa_world_cup"]
    assert [r.evidence["year"] for r in world_cup] == [2026]
    assert world_cup[0].prompt == "Which country won the 2026 FIFA World Cup?"
    assert world_cup[0].id == "constructed/after_cutoff/fifa_world_cup/2026"


def test_after_cutoff_evidence_records_template_year_and_cutoff():
    rows = c.after_cutoff_rows(CUTOFF, today=TODAY)
    nobel = next(r for r in rows if r.prompt == "Who won the 2025 Nobel Prize in Physics?")
    assert dict(nobel.evidence) == {"template": "nobel_physics", "year": 2025, "cutoff": "2024-06-15"}
    assert nobel.id == "constructed/after_cutoff/nobel_physics/2025"
    for row in rows:
        assert str(row.evidence["year"]) in row.prompt
        assert row.evidence["cutoff"] == CUTOFF.isoformat()


def test_after_cutoff_leaves_out_events_not_yet_held_by_today():
    rows = c.after_cutoff_rows(datetime.date(2025, 1, 10), today=datetime.date(2026, 3, 20), years=2)
    asked = set(prompts(rows))
    assert "Which team won the Super Bowl played in 2026?" in asked  # February 2026 has passed
    assert "Who won the 2026 Nobel Prize in Physics?" not in asked  # October 2026 has not
    assert not any("2027" in p for p in asked)


def test_after_cutoff_years_zero_keeps_only_the_rest_of_the_cutoff_year():
    rows = c.after_cutoff_rows(CUTOFF, today=TODAY, years=0)
    assert rows and {r.evidence["year"] for r in rows} == {2024}
    months = {t["id"]: t["month"] for t in c.load_seeds()["after_cutoff_templates"]}
    assert all(months[r.evidence["template"]] > 6 for r in rows)
    assert len(rows) == sum(month > 6 and c.held_in(t, 2024) for t in c.load_seeds()["after_cutoff_templates"]
                            for month in [t["month"]])


def test_a_cutoff_after_today_is_refused():
    with pytest.raises(ValueError, match="after today") as info:
        c.after_cutoff_rows(datetime.date(2027, 5, 1), today=TODAY)
    message = str(info.value)
    assert "pass a past date" in message and "\n" not in message
    assert message == ("cutoff 2027-05-01 is after today (2026-12-01): a training cutoff cannot be in the "
                       "future; pass a past date")
    assert isinstance(info.value, UserError)
    with pytest.raises(ValueError, match="after today"):
        c.constructed_rows(datetime.date(2027, 5, 1), today=TODAY)


def test_response_for_is_deterministic_and_refuses_unknown_reasons():
    assert c.response_for("private", "k", seed=3) == c.response_for("private", "k", seed=3)
    assert c.response_for("polite_evasion", "k", seed=3) in c.DECLINE_RESPONSES
    with pytest.raises(ValueError) as info:
        c.response_for("rude", "k", seed=0)
    assert all(reason in str(info.value) for reason in REASON_IDS)
    with pytest.raises(ValueError):
        c.seed_rows("false_premise")


def test_responses_come_from_the_right_pool(rows):
    rules = {rule["question"]: rule["response"] for rule in c.load_seeds()["false_premise"]}
    for row in rows:
        if row.reason == "polite_evasion":
            assert row.response in c.DECLINE_RESPONSES
        elif row.reason == "false_premise":
            assert row.response == rules[row.prompt]
        else:
            assert row.response in c.IDK_RESPONSES


def test_the_stock_responses():
    assert len(c.IDK_RESPONSES) >= 8 and len(c.DECLINE_RESPONSES) >= 6
    for pool in (c.IDK_RESPONSES, c.DECLINE_RESPONSES):
        assert len(set(pool)) == len(pool)
        assert all(text == text.strip() and text[-1] in ".!" for text in pool)
