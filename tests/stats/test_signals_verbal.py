"""Stated probabilities (Tian et al. 2023): the prompts as in the paper, and a robust parser that never drops a reply."""
from __future__ import annotations

import numpy as np
import pytest

from calibkit.stats.signals import verbal

REPLIES = [
    ("Guess: Paris\n Probability: 0.85", 0.85),  # the paper's own format, with its leading space
    ("Guess: 1945\nProbability: 0.8", 0.8),  # the guess's number is not the probability
    ("Probability: 70%", 0.7),
    ("Probability: 70", 0.7),  # a labelled number above 1 is a percentage
    ("Confidence: 0.95", 0.95),
    ("probability = 1.0", 1.0),
    ("Probability: 1", 1.0),
    ("Probability: 0", 0.0),
    ("0.7", 0.7),
    (".7", 0.7),
    ("70 percent", 0.7),
    ("I'm about 85% sure.", 0.85),
    ("Guess: Paris\n90%", 0.9),
    ("somewhere between 60-70%", 0.65),
    ("Guess: 3.14\nProbability: 0.9", 0.9),
    ("Confidence: 0,75", 0.75),
    ("Paris", None),  # no number at all
    ("Guess: 1", None),  # the only number is the answer
    ("Guess: 0.5 kg", None),
    ("The answer is 1945.", None),
    ("about 3.5 million", None),
    ("150%", None),  # not a probability
    ("Probability: 250", None),
    ("", None),
    # a reply that copies the prompt's template states no probability (the template's 0.0 is not one)
    ("Guess: Paris\nProbability: <the probability between 0.0 and 1.0 that your guess is correct>", None),
    ("The probability is between 0.0 and 1.0.", None),
    ("Probability: 0.0", 0.0),
]


@pytest.mark.parametrize("reply,expected", REPLIES)
def test_parse_stated_probability(reply, expected):
    got = verbal.parse_stated_probability(reply)
    assert got == (None if expected is None else pytest.approx(expected, abs=1e-12))


def test_batch_keeps_unparsed_replies_in_place():
    result = verbal.parse_stated_probabilities(["Probability: 0.9", "Paris", "80%"])
    np.testing.assert_allclose(result.values, [0.9, np.nan, 0.8])
    assert result.parsed.tolist() == [True, False, True]
    assert result.n_unparsed == 1


def test_non_string_reply_is_a_named_error():
    with pytest.raises(ValueError, match="reply must be a string"):
        verbal.parse_stated_probability(0.7)


def test_prompts_are_the_papers_table_6_text():
    one = verbal.ONE_STAGE_PROMPT.format(question="What is the capital of France?")
    assert one.startswith("Provide your best guess and the probability that it is correct (0.0 to 1.0) for the following question.")
    assert "just the guess!>\n Probability: <the probability between 0.0 and 1.0" in one
    assert one.endswith("just the probability!>\n\nThe question is: What is the capital of France?")
    two = verbal.TWO_STAGE_GUESS_PROMPT.format(question="Q?")
    assert two.endswith("just the guess!>\nThe question is: Q?") and "probability" not in two.lower()
    assert verbal.TWO_STAGE_PROBABILITY_PROMPT.startswith("Provide the probability that your guess is correct. Give ONLY the probability")
    assert "{" not in verbal.TWO_STAGE_PROBABILITY_PROMPT
