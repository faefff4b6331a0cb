"""Probability words as confidences: people's meaning, accuracy per word, calibration against people, cross-fitting."""
from __future__ import annotations

import math

import numpy as np
import pytest

from calibkit.stats import words as W

# H&F (2019) simple interpretation, "probably": the rows of human_data/simple_interpretation_state.csv
PROBABLY_COUNTS = {0: 0, 1: 0, 2: 2, 3: 3, 4: 14, 5: 29, 6: 38, 7: 36, 8: 19, 9: 2, 10: 1}
PROBABLY_BY_HAND = (2 * 2 + 3 * 3 + 4 * 14 + 5 * 29 + 6 * 38 + 7 * 36 + 8 * 19 + 9 * 2 + 10 * 1) / 144 / 10  # 874/1440

WORDS = ["probably"] * 4 + ["certainly"] * 2 + ["possibly"] * 2 + [None]
CORRECT = np.array([1, 1, 0, 1, 1, 1, 0, 1, 0])
MEANING = {"probably": PROBABLY_BY_HAND, "certainly": 0.9, "possibly": 0.5}


def test_people_reading_of_probably_is_the_listener_mean_share() -> None:
    red = np.array(list(PROBABLY_COUNTS))
    cnt = np.array(list(PROBABLY_COUNTS.values()))
    r = W.people_readings(["probably"] * 11, red, cnt, n_resamples=50)["probably"]
    assert PROBABLY_BY_HAND == pytest.approx(874 / 1440)
    assert r.mean == pytest.approx(PROBABLY_BY_HAND, abs=1e-12)
    assert r.n == 144
    shares = np.repeat(red / 10, cnt)
    assert r.sd == pytest.approx(math.sqrt(sum((s - PROBABLY_BY_HAND) ** 2 for s in shares) / 144))
    assert r.interval.low < r.mean < r.interval.high


def test_people_readings_keep_expressions_apart_and_check_inputs() -> None:
    got = W.people_readings(["a", "b", "a"], np.array([0, 10, 10]), np.array([1, 2, 1]), n_resamples=10)
    assert list(got) == ["a", "b"] and got["a"].mean == 0.5 and got["b"].mean == 1.0
    with pytest.raises(ValueError, match="red_balls must be in 0..10"):
        W.people_readings(["a"], np.array([11]), np.array([1]))


def test_accuracy_per_word_by_hand() -> None:
    acc = {w.expression: w for w in W.word_accuracy(WORDS, CORRECT, expressions=["probably", "certainly",
                                                                                 "possibly", "might"],
                                                    n_resamples=20)}
    assert (acc["probably"].n, acc["probably"].correct, acc["probably"].accuracy.estimate) == (4, 3, 0.75)
    assert acc["certainly"].accuracy.estimate == 1.0 and acc["possibly"].accuracy.estimate == 0.5
    assert acc["probably"].accuracy.note is not None  # 4 uses: the small-n rule gives no bounds
    assert acc["might"].n == 0 and math.isnan(acc["might"].accuracy.estimate)


def test_calibration_against_people_by_hand() -> None:
    c = W.calibration_against(WORDS, CORRECT, MEANING, n_resamples=20)
    p = PROBABLY_BY_HAND
    ece = 4 / 8 * abs(0.75 - p) + 2 / 8 * abs(1.0 - 0.9) + 2 / 8 * abs(0.5 - 0.5)
    sq = [(1 - p) ** 2] * 3 + [p ** 2] + [0.1 ** 2] * 2 + [0.5 ** 2] * 2
    assert (c.n, c.n_without) == (8, 1)
    assert c.ece_words.estimate == pytest.approx(ece, abs=1e-12)
    assert c.brier.estimate == pytest.approx(sum(sq) / 8, abs=1e-12)


def test_ece_by_value_is_zero_when_each_word_is_right_as_often_as_it_says() -> None:
    conf = np.array([0.25] * 4 + [0.75] * 4)
    right = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert W.ece_by_value(conf, right) == 0.0


def test_crossfit_never_uses_an_items_own_label() -> None:
    rng = np.random.default_rng(3)
    words = list(rng.choice(["a", "b", "c"], size=40))
    right = rng.integers(0, 2, size=40)
    own, base = W.crossfit_own_mapping(words, right, folds=5, seed=1)
    for i in (0, 7, 23):
        flipped = right.copy()
        flipped[i] = 1 - flipped[i]
        own2, base2 = W.crossfit_own_mapping(words, flipped, folds=5, seed=1)
        assert own2[i] == own[i] and base2[i] == base[i]
    assert np.all((own >= 0) & (own <= 1))


def test_crossfit_leave_one_out_by_hand_and_items_without_a_word() -> None:
    own, base = W.crossfit_own_mapping(["a", "a", "a", "b", None], np.array([1, 1, 0, 1, 1]), folds=4)
    # 4 items with a word, 4 folds: leave one out. "a" items see the other two "a"s; "b" has no other use
    assert own[:3].tolist() == [0.5, 0.5, 1.0] and own[3] == pytest.approx(2 / 3)
    assert base[:4].tolist() == pytest.approx([2 / 3, 2 / 3, 1.0, 2 / 3])
    assert math.isnan(own[4]) and math.isnan(base[4])
