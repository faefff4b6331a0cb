"""Constructed "I don't know" rows and their answerable twins: the criteria, the seeds and events, the cutoff
rule, the pairing and determinism."""
from __future__ import annotations

import datetime
import json

import pytest

from calibkit.errors import UserError
from calibkit.tasks.idk import constructed as c

CUTOFF = datetime.date(2024, 6, 15)
TODAY = datetime.date(2026, 12, 1)
REASON_IDS = {"after_cutoff", "false_premise", "unknowable", "private", "polite_evasion"}
TWIN_IDS = {"before_cutoff", "true_premise", "knowable", "public_fact", "neutral"}
MINIMUMS = {"after_cutoff_templates": 12, "false_premise": 30, "unknowable": 30, "private": 30, "polite_evasion": 30}


@pytest.fixture(scope="module")
def rows():
    return c.constructed_rows(CUTOFF, today=TODAY, seed=0)


def prompts(rows):
    return [row.prompt for row in rows]


def test_every_reason_has_a_criterion():
    assert set(c.REASONS) == REASON_IDS and set(c.TWIN_REASONS) == REASON_IDS
    assert set(c.TWIN_REASONS.values()) == set(c.TWIN_CRITERIA) == TWIN_IDS
    for reason, text in {**c.REASONS, **c.TWIN_CRITERIA}.items():
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
        assert set(rule) == {"id", "original", "false_fact", "question", "response", "answers", "source"}
        assert rule["original"].endswith("?") and rule["question"].endswith("?")
        assert rule["original"].lower() != rule["question"].lower()
        assert all(rule[k].strip() == rule[k] and rule[k] for k in rule if k != "answers")
        assert_answers_and_source(rule["answers"], rule["source"])
    for reason in c.SEED_REASONS:
        for item in seeds[reason]:
            assert set(item) == {"id", "question", "twin"} and set(item["twin"]) == {"question", "answers", "source"}
            assert item["twin"]["question"].endswith("?")
            assert_answers_and_source(item["twin"]["answers"], item["twin"]["source"])


def assert_answers_and_source(answers, source):
    """A twin's facts: distinct non-empty answers, none of them a bare article or pronoun a containment match would
    find in any reply; a source naming a document (a URL, or the arithmetic that proves it)."""
    from calibkit.tasks.free_answer.answers import normalize_answer

    assert answers and all(a == a.strip() and a for a in answers) and len(set(answers)) == len(answers)
    assert all(len(normalize_answer(a)) >= 1 for a in answers)
    assert not {normalize_answer(a) for a in answers} & {"it", "i", "a", "us", "o", "d", "less", "trust"}
    assert source == source.strip() and ("https://" in source or source.startswith("arithmetic:")), source


def test_every_after_cutoff_template_has_sourced_past_results():
    templates = {t["id"]: t for t in c.load_seeds()["after_cutoff_templates"]}
    events = c.load_events()
    assert set(events) == set(templates)
    for tid, event in events.items():
        assert event["source"].startswith(("The Nobel Prize", "Academy", "Wikipedia")) or "Wikipedia" in event["source"]
        assert "https://" in event["source"], tid
        years = [r["year"] for r in event["results"]]
        assert years == sorted(set(years)) and len(years) >= 3, tid
        for result in event["results"]:
            assert c.held_in(templates[tid], result["year"]), (tid, result)
            assert c._month(result["decided"]) >= (result["year"], 1), (tid, result)
            assert_answers_and_source(result["answers"], event["source"])
    # the results a source dates late are recorded late: a twin must have been public before the cutoff
    assert c.decided(templates["nobel_literature"], 2018) == (2019, 10)  # announced with the 2019 prize
    assert c.decided(templates["summer_olympics"], 2020) == (2021, 8)  # the Tokyo Games were held in 2021
    assert 2020 not in [r["year"] for r in events["eurovision"]["results"]]  # cancelled: no winner


def test_every_question_is_unique_across_seeds_twins_and_events():
    seeds = c.load_seeds()
    asked = [r["question"] for r in seeds["false_premise"]] + [r["original"] for r in seeds["false_premise"]]
    for reason in c.SEED_REASONS:
        asked += [i["question"] for i in seeds[reason]] + [i["twin"]["question"] for i in seeds[reason]]
    asked += [t["question"].format(year=y) for t in seeds["after_cutoff_templates"] for y in range(2000, 2031)]
    lowered = [q.lower() for q in asked]
    assert len(lowered) == len(set(lowered))


def test_row_counts_per_reason(rows):
    counts = {reason: sum(row.reason == reason for row in rows) for reason in REASON_IDS | TWIN_IDS}
    assert counts["after_cutoff"] >= 12
    assert all(counts[reason] >= 30 for reason in REASON_IDS - {"after_cutoff"}), counts
    assert all(counts[reason] == counts[twin] for reason, twin in c.TWIN_REASONS.items()), counts
    order = [row.category for row in rows]
    assert order == sorted(order, key=["after_cutoff", "false_premise", "unknowable", "private",
                                       "polite_evasion"].index)


def test_every_abstention_has_exactly_one_twin_that_names_it_back(rows):
    by_id = {row.id: row for row in rows}
    abstain = [row for row in rows if row.kind == "abstain"]
    assert len(abstain) * 2 == len(rows)
    for row in abstain:
        twin = by_id[row.pair]
        assert twin.pair == row.id and twin.kind == "answer" and twin.reason == c.TWIN_REASONS[row.reason]
        assert twin.group == row.group and twin.category == row.category == row.reason
        assert twin.response == twin.answers[0] and twin.evidence["twin_of"] == row.id
        assert twin.evidence["source"] and row.answers == ()
    assert sorted(r.pair for r in rows) == sorted(by_id)  # a one-to-one pairing
    assert [r.kind for r in rows] == ["abstain", "answer"] * len(abstain)  # each abstention, then its twin


def test_prompts_end_with_a_question_mark_and_are_unique(rows):
    assert all(p.endswith("?") and p == p.strip() for p in prompts(rows))
    lowered = [p.lower() for p in prompts(rows)]
    assert len(lowered) == len(set(lowered))
    originals = [row.evidence["original"].lower() for row in rows if row.reason == "false_premise"]
    twins = [row.prompt.lower() for row in rows if row.reason == "true_premise"]
    assert originals == twins  # the true question is asked as the twin (and, prompts being unique, only there)
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids))
    assert all(row.id.startswith(f"constructed/{row.category}/") for row in rows)


def test_every_row_names_its_source(rows):
    assert {row.kind for row in rows if row.reason in c.REASONS} == {"abstain"}
    assert {row.kind for row in rows if row.reason in TWIN_IDS} == {"answer"}
    for row in rows:
        expected = c.TEMPLATE_SOURCE if row.category == "after_cutoff" else c.SEED_SOURCE
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
    assert not set(changed) & TWIN_IDS  # a twin's response is its answer


def test_after_cutoff_years_follow_the_cutoff_and_event_month():
    rows = [r for r in c.after_cutoff_rows(CUTOFF, today=TODAY, years=2) if r.kind == "abstain"]
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


def test_after_cutoff_twins_are_the_latest_results_decided_before_the_cutoff():
    rows = c.after_cutoff_rows(CUTOFF, today=TODAY, years=2)
    nobel = [(a.evidence["year"], t.evidence["year"]) for a, t in zip(rows[::2], rows[1::2])
             if a.evidence["template"] == "nobel_physics"]
    assert nobel == [(2024, 2023), (2025, 2022), (2026, 2021)]  # k-th year after, k-th most recent before
    twin = next(t for t in rows[1::2] if t.evidence["template"] == "nobel_physics" and t.evidence["year"] == 2022)
    assert twin.prompt == "Who won the 2022 Nobel Prize in Physics?" and twin.reason == "before_cutoff"
    assert "Anton Zeilinger" in twin.answers and twin.response == "Alain Aspect, John F. Clauser and Anton Zeilinger"
    assert twin.evidence["source"].endswith("https://www.nobelprize.org/prizes/physics/2022/summary/")
    assert {r.group for r in rows if r.evidence["template"] == "nobel_physics"} == {
        "constructed/after_cutoff/nobel_physics"}
    templates = {t["id"]: t for t in c.load_seeds()["after_cutoff_templates"]}
    for a, t in zip(rows[::2], rows[1::2]):  # the twin was public before the cutoff, the question decided after it
        assert a.evidence["template"] == t.evidence["template"] and t.pair == a.id
        assert c._month(t.evidence["decided"]) < (CUTOFF.year, CUTOFF.month)
        assert c.decided(templates[a.evidence["template"]], a.evidence["year"]) > (CUTOFF.year, CUTOFF.month)


def test_a_result_decided_late_moves_across_the_cutoff():
    """Qatar 2022 was played in December: for a September 2022 cutoff it is an after-cutoff question (the
    template's usual July would have called it known) and it is no twin; the twin is 2018."""
    rows = c.after_cutoff_rows(datetime.date(2022, 9, 30), today=TODAY, years=0)
    world_cup = [r for r in rows if r.evidence["template"] == "fifa_world_cup"]
    assert [(r.kind, r.prompt) for r in world_cup] == [
        ("abstain", "Which country won the 2022 FIFA World Cup?"), ("answer", "Which country won the 2018 FIFA World Cup?")]
    assert world_cup[1].answers == ("France",)


def test_after_cutoff_questions_without_a_recorded_earlier_result_are_left_out():
    cutoff, today = datetime.date(2015, 1, 15), datetime.date(2016, 12, 1)
    rows = c.after_cutoff_rows(cutoff, today=today, years=1)
    unpaired = c.unpaired_after_cutoff(cutoff, today=today, years=1)
    assert "Who won the 2015 Nobel Prize in Physics?" in unpaired  # the events file starts in 2015
    assert "Which country won the 2018 FIFA World Cup?" not in unpaired
    world_cup = [r.prompt for r in rows if r.evidence["template"] == "fifa_world_cup"]
    assert world_cup == []  # 2015-2016 holds no World Cup
    wwc = [(r.kind, r.prompt) for r in rows if r.evidence["template"] == "fifa_womens_world_cup"]
    assert wwc == [("abstain", "Which country won the 2015 FIFA Women's World Cup?"),
                   ("answer", "Which country won the 2011 FIFA Women's World Cup?")]
    assert len(rows) == 2 * (len(c.after_cutoff_questions(cutoff, today=today, years=1)) - len(unpaired))


def test_after_cutoff_leaves_out_events_not_yet_held_by_today():
    rows = c.after_cutoff_rows(datetime.date(2025, 1, 10), today=datetime.date(2026, 3, 20), years=2)
    rows = [r for r in rows if r.kind == "abstain"]
    asked = set(prompts(rows))
    assert "Which team won the Super Bowl played in 2026?" in asked  # February 2026 has passed
    assert "Who won the 2026 Nobel Prize in Physics?" not in asked  # October 2026 has not
    assert not any("2027" in p for p in asked)


def test_after_cutoff_years_zero_keeps_only_the_rest_of_the_cutoff_year():
    rows = [r for r in c.after_cutoff_rows(CUTOFF, today=TODAY, years=0) if r.kind == "abstain"]
    assert rows and {r.evidence["year"] for r in rows} == {2024}
    templates = c.load_seeds()["after_cutoff_templates"]
    assert all(c.decided(next(t for t in templates if t["id"] == r.evidence["template"]), 2024) > (2024, 6)
               for r in rows)
    assert len(rows) == sum(c.decided(t, 2024) > (2024, 6) and c.held_in(t, 2024) for t in templates)


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
        if row.kind == "answer":
            assert row.response == row.answers[0]
        elif row.reason == "polite_evasion":
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
