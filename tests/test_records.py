"""Records: hand-computed probabilities and the JSON round trip."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from calibkit.records import Prompt, ScoredItem, Turn


def item(logprobs, answer=0):
    opts = tuple(f" {chr(65 + i)}" for i in range(len(logprobs)))
    return ScoredItem(id="x/0", task="t", options=opts, logprobs=tuple(logprobs), answer=answer)


def test_probs_hand_computed():
    # P(options) = .4, .2, .1, .1 of the full vocabulary: mass .8.
    it = item([math.log(.4), math.log(.2), math.log(.1), math.log(.1)], answer=1)
    np.testing.assert_allclose(it.probs(), [.5, .25, .125, .125], rtol=1e-12)
    assert it.confidence == pytest.approx(.5)
    assert it.predicted == 0
    assert it.correct is False
    assert it.option_mass == pytest.approx(.8)
    # T = 2 takes square roots of the ratios: .4^.5 : .2^.5 : .1^.5 : .1^.5
    r = np.sqrt([.4, .2, .1, .1])
    np.testing.assert_allclose(it.probs(temperature=2.0), r / r.sum(), rtol=1e-12)


@given(st.lists(st.floats(-30, 0), min_size=2, max_size=6), st.floats(0.05, 20))
def test_probs_properties(logprobs, t):
    it = item(logprobs)
    p = it.probs(temperature=t)
    assert p.sum() == pytest.approx(1.0)
    assert int(np.argmax(p)) == it.predicted or p.max() == pytest.approx(p[it.predicted])


def test_no_answer_means_correct_is_none():
    assert item([-1.0, -2.0], answer=None).correct is None


def test_json_round_trip():
    it = ScoredItem(id="mmlu/a/test/3", task="mmlu", options=(" A", " B"), logprobs=(-0.1, -2.5),
                    answer=1, meta={"subject": "a"})
    back = ScoredItem.from_json(it.to_json())
    assert back == it and back.meta == {"subject": "a"}


@pytest.mark.parametrize("kwargs, match", [
    (dict(options=()), "options must not be empty"),
    (dict(options=(" A",), answer=1), "answer 1 is out of range"),
])
def test_prompt_validation(kwargs, match):
    base = dict(id="p", task="t", text="ctx", options=(" A", " B"))
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Prompt(**base)


def test_scored_item_validation():
    with pytest.raises(ValueError, match="2 logprobs for 3 options"):
        ScoredItem(id="p", task="t", options=("a", "b", "c"), logprobs=(0.0, 0.0))
    with pytest.raises(ValueError, match="temperature must be a positive"):
        item([-1.0, -2.0]).probs(temperature=0)


def test_turn_is_plain_data():
    assert Turn("user", "hi") == Turn(role="user", content="hi")
