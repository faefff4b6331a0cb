"""Kadavath et al.'s multiple-choice variants: 'None of the above' and True/False self-evaluation."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from calibkit.records import ScoredItem
from calibkit.stats import metrics
from calibkit.tasks import mmlu
from calibkit.tasks.multiple_choice.study import (
    choice_by_p_true,
    letter_vs_true_false,
    self_eval_arrays,
    self_eval_summary,
)
from calibkit.tasks.multiple_choice.variants import (
    NOTA_TEXT,
    PTRUE_OPTIONS,
    none_of_the_above,
    self_eval_prompts,
    self_eval_text,
)

from conftest import shared_path


def test_none_of_the_above_replaces_exactly_one_option_and_keeps_the_answer_position():
    choices = ("w", "x", "y", "z")
    picks = []
    for i in range(400):
        new, k = none_of_the_above(choices, key=f"item/{i}", seed=7)
        assert new[k] == NOTA_TEXT and sum(c == NOTA_TEXT for c in new) == 1
        assert [c for j, c in enumerate(new) if j != k] == [c for j, c in enumerate(choices) if j != k]
        assert none_of_the_above(choices, key=f"item/{i}", seed=7) == (new, k)  # seeded by (seed, key) alone
        picks.append(k)
    counts = Counter(picks)
    assert set(counts) == {0, 1, 2, 3} and all(70 <= c <= 130 for c in counts.values())  # about 100 each
    assert [none_of_the_above(choices, key=f"item/{i}", seed=8)[1] for i in range(20)] != picks[:20]
    with pytest.raises(ValueError, match="at least two"):
        none_of_the_above(("only",), key="k", seed=0)


def asked_block(fmt: str, question: str, choices) -> str:
    """The asked item's block, typed out from the two formats' definitions."""
    if fmt == "hendrycks":
        return "\n".join([question.strip(), *(f"{letter}. {c}" for letter, c in zip("ABCD", choices))]) + "\nAnswer:"
    listed = "\n".join(f" ({letter}) {c}" for letter, c in zip("ABCD", choices))
    return f"Question: {question.strip()}\nChoices:\n{listed}\nAnswer:"


@pytest.mark.parametrize("fmt", ["hendrycks", "kadavath"])
def test_mmlu_none_of_the_above_changes_only_the_asked_items(fmt):
    data = shared_path("mmlu")
    plain = list(mmlu.load(data=data, subjects="anatomy", shots=3, format=fmt, limit_per_subject=8))
    nota = list(mmlu.load(data=data, subjects="anatomy", shots=3, format=fmt, limit_per_subject=8,
                          none_of_the_above=True))
    for p, q in zip(plain, nota):
        assert (p.id, p.answer, p.options, p.meta["fewshot_ids"]) == (q.id, q.answer, q.options, q.meta["fewshot_ids"])
        new, _ = none_of_the_above(p.meta["choices"], key=p.id, seed=1234)
        assert q.meta["choices"] == list(new)
        old_block, new_block = (asked_block(fmt, p.meta["question"], c) for c in (p.meta["choices"], new))
        assert p.text.endswith(old_block) and q.text.endswith(new_block)
        assert p.text[: -len(old_block)] == q.text[: -len(new_block)]  # the examples are untouched


def test_self_eval_text_is_the_papers_layout():
    # Kadavath et al. 2022, section 3.2: a question, its choices, one proposed answer, True/False.
    assert self_eval_text("Which gas do plants absorb?", ["Oxygen", "Carbon dioxide", "Helium"], 1) == (
        "Question: Which gas do plants absorb?\n"
        "Choices:\n (A) Oxygen\n (B) Carbon dioxide\n (C) Helium\n"
        "Proposed Answer: (B) Carbon dioxide\n"
        "Is the proposed answer:\n (A) True\n (B) False\n"
        "The proposed answer is:"
    )
    with pytest.raises(ValueError, match="proposed must index"):
        self_eval_text("q", ["a"], 1)


def test_self_eval_prompts_one_per_option():
    (prompt,) = mmlu.load(data=shared_path("mmlu"), subjects="anatomy", shots=0, limit_per_subject=1)
    pairs = self_eval_prompts(prompt)
    assert [p.id for p in pairs] == [f"{prompt.id}/self_eval/{j}" for j in range(4)]
    assert [p.answer for p in pairs] == [0 if j == prompt.answer else 1 for j in range(4)]
    assert all(p.options == PTRUE_OPTIONS and p.task == "mmlu_self_eval" for p in pairs)
    for j, p in enumerate(pairs):
        assert p.text == self_eval_text(prompt.meta["question"], prompt.meta["choices"], j)
        assert p.turns[0].content + "\n" + p.assistant_prefix == p.text
        assert p.meta["question_id"] == prompt.id and p.meta["proposed"] == j and p.meta["subject"] == "anatomy"


def pair(q: str, j: int, p_true: float, right: bool) -> ScoredItem:
    return ScoredItem(id=f"{q}/self_eval/{j}", task="t_self_eval", options=PTRUE_OPTIONS,
                      logprobs=(math.log(p_true), math.log(1 - p_true)), answer=0 if right else 1,
                      meta={"question_id": q, "proposed": j})


# two questions x three options; q1's right option (1) has the highest P(True), q2's (0) does not
PAIRS = [pair("q1", 0, 0.2, False), pair("q1", 1, 0.9, True), pair("q1", 2, 0.4, False),
         pair("q2", 0, 0.3, True), pair("q2", 1, 0.6, False), pair("q2", 2, 0.6, False)]


def test_self_eval_arrays_and_the_choice_they_imply():
    arr = self_eval_arrays(PAIRS[::-1])
    assert arr.question_ids == ("q1", "q2") and arr.proposed.tolist() == [0, 1, 2, 0, 1, 2]
    np.testing.assert_allclose(arr.p_true, [0.2, 0.9, 0.4, 0.3, 0.6, 0.6])
    assert choice_by_p_true(arr).tolist() == [True, False]  # q2 ties at 0.6: the first (option 1) is wrong


def test_self_eval_summary_by_hand():
    s = self_eval_summary(PAIRS, n_resamples=200)
    p = np.array([0.2, 0.9, 0.4, 0.3, 0.6, 0.6])
    y = np.array([0, 1, 0, 1, 0, 0], dtype=float)
    assert (s["n_pairs"], s["n_questions"]) == (6, 2)
    assert s["choice_accuracy"]["estimate"] == 0.5
    assert s["pairs"]["brier"]["estimate"] == pytest.approx(np.mean((p - y) ** 2))
    assert s["pairs"]["ece"]["estimate"] == pytest.approx(metrics.ece(p, y))
    assert s["pairs"]["auroc"]["estimate"] == pytest.approx(metrics.auroc(p, y))  # (1 + 4 * 0.5 ... ) by ranks
    assert s["pairs"]["auroc"]["estimate"] == pytest.approx(5 / 8)  # right {0.9, 0.3} vs wrong {.2,.4,.6,.6}


def test_letter_vs_true_false_on_the_same_questions():
    letter = [ScoredItem(id="q1", task="t", options=(" A", " B", " C"), logprobs=(-2.0, -0.5, -3.0), answer=1),
              ScoredItem(id="q2", task="t", options=(" A", " B", " C"), logprobs=(-0.1, -3.0, -3.0), answer=1),
              ScoredItem(id="q3", task="t", options=(" A", " B", " C"), logprobs=(-0.1, -3.0, -3.0), answer=0)]
    table = letter_vs_true_false(letter, PAIRS).set_index("format")
    assert table.loc["letter (A)-(D)", "questions"] == 2  # q3 has no self-evaluation
    assert table.loc["letter (A)-(D)", "accuracy"] == 0.5 and table.loc["True/False per option", "accuracy"] == 0.5
    assert table.loc["True/False per option", "Brier (binary)"] == pytest.approx(
        np.mean((np.array([0.2, 0.9, 0.4, 0.3, 0.6, 0.6]) - np.array([0, 1, 0, 1, 0, 0])) ** 2))
