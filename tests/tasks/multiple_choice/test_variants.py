"""Kadavath et al.'s multiple-choice variants: 'None of the above' and True/False self-evaluation."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from calibkit.records import ScoredItem
from calibkit.stats import metrics
from calibkit.tasks import mmlu
from calibkit.stats.multiple_choice import AnalysisError
from calibkit.tasks.multiple_choice import self_eval_text as self_eval_text_of
from calibkit.tasks.multiple_choice.study import (
    choice_by_p_true,
    letter_vs_true_false,
    nota_summary,
    scored_format,
    self_eval_arrays,
    self_eval_summary,
)
from calibkit.tasks.multiple_choice.variants import (
    NOTA_RANDOM_NOTE,
    NOTA_TEXT,
    SELF_EVAL_ALL_NOTE,
    PTRUE_OPTIONS,
    none_of_the_above,
    proposed_options,
    self_eval_prompts,
    self_eval_text,
)

from conftest import shared_path


def test_none_of_the_above_replaces_the_final_option_as_the_paper():
    # Kadavath et al. 3.1: the final option (MMLU's D) becomes "none of the above", whatever the seed or item
    for i in range(20):
        assert none_of_the_above(("w", "x", "y", "z"), key=f"item/{i}", seed=i) == (("w", "x", "y", NOTA_TEXT), 3)
    assert none_of_the_above(("a", "b", "c", "d", "e"), key="k", seed=0) == (("a", "b", "c", "d", NOTA_TEXT), 4)
    with pytest.raises(ValueError, match="unknown position 'first'"):
        none_of_the_above(("a", "b"), key="k", seed=0, position="first")


def test_random_position_replaces_exactly_one_option_seeded_by_item():
    choices = ("w", "x", "y", "z")
    picks = []
    for i in range(400):
        new, k = none_of_the_above(choices, key=f"item/{i}", seed=7, position="random")
        assert new[k] == NOTA_TEXT and sum(c == NOTA_TEXT for c in new) == 1
        assert [c for j, c in enumerate(new) if j != k] == [c for j, c in enumerate(choices) if j != k]
        assert none_of_the_above(choices, key=f"item/{i}", seed=7, position="random") == (new, k)
        picks.append(k)
    counts = Counter(picks)
    assert set(counts) == {0, 1, 2, 3} and all(70 <= c <= 130 for c in counts.values())  # about 100 each
    assert [none_of_the_above(choices, key=f"item/{i}", seed=8, position="random")[1] for i in range(20)] != picks[:20]
    with pytest.raises(ValueError, match="at least two"):
        none_of_the_above(("only",), key="k", seed=0)


def asked_block(fmt: str, question: str, choices) -> str:
    """The asked item's block, typed out from the two formats' definitions."""
    if fmt == "hendrycks":
        return "\n".join([question.strip(), *(f"{letter}. {c}" for letter, c in zip("ABCD", choices))]) + "\nAnswer:"
    listed = "\n".join(f" ({letter}) {c}" for letter, c in zip("ABCD", choices))
    return f"Question: {question.strip()}\nChoices:\n{listed}\nAnswer:"


@pytest.mark.parametrize("fmt, position", [("hendrycks", "final"), ("kadavath", "random")])
def test_mmlu_none_of_the_above_changes_only_the_asked_items(fmt, position):
    data = shared_path("mmlu")
    plain = list(mmlu.load(data=data, subjects="anatomy", shots=3, format=fmt, limit_per_subject=8))
    nota = list(mmlu.load(data=data, subjects="anatomy", shots=3, format=fmt, limit_per_subject=8,
                          none_of_the_above=True, nota_position=position))
    for p, q in zip(plain, nota):
        assert (p.id, p.answer, p.options, p.meta["fewshot_ids"]) == (q.id, q.answer, q.options, q.meta["fewshot_ids"])
        new, k = none_of_the_above(p.meta["choices"], key=p.id, seed=1234, position=position)
        assert q.meta["choices"] == list(new) and q.meta["nota_index"] == k and "nota_index" not in p.meta
        old_block, new_block = (asked_block(fmt, p.meta["question"], c) for c in (p.meta["choices"], new))
        assert p.text.endswith(old_block) and q.text.endswith(new_block)
        assert p.text[: -len(old_block)] == q.text[: -len(new_block)]  # the examples are untouched
    if position == "final":
        assert {q.meta["nota_index"] for q in nota} == {3} and all(q.meta["choices"][3] == NOTA_TEXT for q in nota)


def test_self_eval_text_is_the_papers_layout():
    # Kadavath et al. 2022, section 3.2: no list of choices, no letter before the proposed answer.
    assert self_eval_text("Which gas do plants absorb? ", " Carbon dioxide") == (
        "Question: Which gas do plants absorb?\n"
        "Proposed Answer: Carbon dioxide\n"
        "Is the proposed answer:\n (A) True\n (B) False\n"
        "The proposed answer is:"
    )


def test_self_eval_pairs_paper_right_plus_one_seeded_wrong_answer():
    prompts = list(mmlu.load(data=shared_path("mmlu"), subjects="anatomy", shots=0, limit_per_subject=40))
    wrong_picked = Counter()
    for prompt in prompts:
        pairs = self_eval_prompts(prompt, seed=5)
        assert len(pairs) == 2 and sorted(p.answer for p in pairs) == [0, 1]  # one true, one false
        right = next(p for p in pairs if p.answer == 0)
        wrong = next(p for p in pairs if p.answer == 1)
        assert right.meta["proposed"] == prompt.answer and wrong.meta["proposed"] != prompt.answer
        assert [p.meta["proposed"] for p in pairs] == sorted(p.meta["proposed"] for p in pairs)
        assert [p.id for p in self_eval_prompts(prompt, seed=5)] == [p.id for p in pairs]  # seeded
        wrong_picked[wrong.meta["proposed"]] += 1
        for p in pairs:
            j = p.meta["proposed"]
            assert p.text == self_eval_text(prompt.meta["question"], prompt.meta["choices"][j])
            assert "Choices:" not in p.text and f"({'ABCD'[j]})" not in p.text.split("Is the proposed")[0]
            assert p.turns[0].content + "\n" + p.assistant_prefix == p.text
    assert len(wrong_picked) >= 3  # the wrong answer is drawn, not always the same position
    assert [len(proposed_options(4, a, pairs="paper", key=f"k{a}", seed=0)) for a in range(4)] == [2] * 4


def test_self_eval_pairs_all_proposes_every_option():
    (prompt,) = mmlu.load(data=shared_path("mmlu"), subjects="anatomy", shots=0, limit_per_subject=1)
    pairs = self_eval_prompts(prompt, pairs="all")
    assert [p.id for p in pairs] == [f"{prompt.id}/self_eval/{j}" for j in range(4)]
    assert [p.answer for p in pairs] == [0 if j == prompt.answer else 1 for j in range(4)]
    assert all(p.options == PTRUE_OPTIONS and p.task == "mmlu_self_eval" for p in pairs)
    for j, p in enumerate(pairs):
        assert p.meta["question_id"] == prompt.id and p.meta["proposed"] == j and p.meta["subject"] == "anatomy"
    with pytest.raises(ValueError, match="unknown choice 'some'"):
        self_eval_prompts(prompt, pairs="some")


def test_calibkits_own_variants_are_switchable_and_say_where_they_depart():
    from calibkit.tasks.mmlu.task import MMLU

    options = dict(split="test", subjects="anatomy", shots=0, fmt="hendrycks", limit=3, data=str(shared_path("mmlu")),
                   seed=1234, fewshot_as_multiturn=False, self_eval=True, none_of_the_above=True)
    plain, nota, tf = MMLU().load({**options, "nota_position": "final", "self_eval_pairs": "paper"})
    assert (nota.config["nota_position"], tf.config["self_eval_pairs"]) == ("final", "paper")
    assert not any("departures" in job.config for job in (plain, nota, tf))  # the paper's protocol: nothing to note
    assert len(tf.items) == 3 * 2 and {p.meta["nota_index"] for p in nota.items} == {3}
    plain, nota, tf = MMLU().load({**options, "nota_position": "random", "self_eval_pairs": "all"})
    assert "departures" not in plain.config and len(tf.items) == 3 * 4
    assert nota.config["departures"] == [NOTA_RANDOM_NOTE] and tf.config["departures"] == [SELF_EVAL_ALL_NOTE]
    assert "--nota-position random" in NOTA_RANDOM_NOTE and "--self-eval-pairs all" in SELF_EVAL_ALL_NOTE
    # the summary text prints a run's departures beside its numbers
    iv = {"estimate": 0.5, "low": 0.4, "high": 0.6}
    text = self_eval_text_of({"n_questions": 3, "n_pairs": 12, "share_true": 0.25, "choice_accuracy": iv,
                              "pairs": {k: iv for k in ("ece", "ece_quantile", "brier", "auroc")},
                              "mean_p_true": 0.3, "departures": tf.config["departures"]})
    assert text.splitlines()[2].split() == ["share", "of", "true", "pairs", "0.250"]
    assert text.splitlines()[-1] == f"departure: {SELF_EVAL_ALL_NOTE}"


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
    assert s["share_true"] == pytest.approx(2 / 6)  # ECE and Brier are read against this base rate
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
    assert table.loc["letter A-C", "questions"] == 2  # q3 has no self-evaluation
    assert table.loc["letter A-C", "accuracy"] == 0.5 and table.loc["True/False, every option", "accuracy"] == 0.5
    assert table.loc["True/False, every option", "share right"] == pytest.approx(2 / 6)
    assert table.loc["True/False, every option", "Brier (binary)"] == pytest.approx(
        np.mean((np.array([0.2, 0.9, 0.4, 0.3, 0.6, 0.6]) - np.array([0, 1, 0, 1, 0, 0])) ** 2))


def test_the_letter_row_is_named_by_what_was_scored():
    # a cloze benchmark scores answer strings, never letters: the row must not say "letter (A)-(D)"
    cloze = [ScoredItem(id="q1", task="copa", options=(" the toilet filled.", " water flowed."),
                        logprobs=(-2.0, -0.5), answer=1)]
    pairs = [pair("q1", 0, 0.2, False), pair("q1", 1, 0.9, True)]
    assert list(letter_vs_true_false(cloze, pairs)["format"]) == ["answer strings (cloze)",
                                                                  "True/False, right + one wrong answer"]
    assert scored_format((" (A)", " (B)", " (C)", " (D)")) == "letter (A)-(D)"


def nota_item(i: int, probs, answer: int, k: int) -> ScoredItem:
    return ScoredItem(id=f"q{i}", task="t", options=tuple(f" {x}" for x in "ABCD"[: len(probs)]),
                      logprobs=tuple(math.log(p) for p in probs), answer=answer, meta={"nota_index": k})


def test_nota_summary_is_the_replaced_options_own_calibration_by_hand():
    # option 3 is "None of the above"; it is right on items 0 and 1
    items = [nota_item(0, (0.1, 0.1, 0.08, 0.72), 3, 3),   # picked, right, P=0.72
             nota_item(1, (0.55, 0.1, 0.1, 0.25), 3, 3),   # not picked, right, P=0.25
             nota_item(2, (0.1, 0.1, 0.17, 0.63), 0, 3),   # picked, wrong, P=0.63
             nota_item(3, (0.67, 0.1, 0.1, 0.13), 0, 3)]   # not picked, wrong, P=0.13
    s = nota_summary(items, n_resamples=50)
    p, y = np.array([0.72, 0.25, 0.63, 0.13]), np.array([1, 1, 0, 0])
    assert s["share_right"] == 0.5 and s["n_picked"] == 2 and s["right_when_picked"] == 0.5
    assert s["mean_p_when_picked"] == pytest.approx(0.675) and s["mean_p"] == pytest.approx(0.4325)
    # 10 equal-width bins hold one item each: |0.72-1| + |0.25-1| + |0.63-0| + |0.13-0|, each weight 1/4
    assert s["ece"]["estimate"] == pytest.approx((0.28 + 0.75 + 0.63 + 0.13) / 4)
    assert s["ece"]["estimate"] == pytest.approx(metrics.ece(p, y))
    assert s["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert (s["accuracy_when_right"], s["accuracy_when_not"]) == (0.5, 0.5)
    with pytest.raises(AnalysisError, match="nota_index"):
        nota_summary([ScoredItem(id="x", task="t", options=(" A", " B"), logprobs=(-1.0, -1.0), answer=0)])
