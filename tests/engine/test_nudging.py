"""Nudging: gamma 0 is the base model's greedy answer, gamma 1 the nudger's word by word; batching changes nothing."""
from __future__ import annotations

from dataclasses import replace

import pytest

from calibkit.engine.generation import GenerationConfig, generate
from calibkit.engine.nudging import NudgeConfig, _whole_word, nudge

from conftest import shared_path
from tiny_models import llama2_tokenizer, loaded, tiny_llama

pytestmark = pytest.mark.usefixtures("one_thread")

BASE_CONTEXTS = [f"Question: What is {n} plus {n}?\nAnswer:" for n in ("one", "two", "seven", "a dozen", "ten")]
NUDGER_CONTEXTS = [c.replace("Question:", "Q:").replace("Answer:", "A:") + " " for c in BASE_CONTEXTS]
CONFIG = NudgeConfig(max_new_tokens=10, stop=("\n",), progress=False)


@pytest.fixture(scope="module")
def models():
    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    return loaded(tiny_llama(tok.vocab_size, seed=0), tok, name="base"), loaded(tiny_llama(tok.vocab_size, seed=3),
                                                                                tok, name="nudger")


def test_whole_word():
    assert _whole_word(" Paris is") == " Paris" and _whole_word(" Paris") is None and _whole_word("\n") is None
    assert _whole_word("Paris,\nQ") == "Paris,"


def test_gamma_0_is_the_base_models_greedy_answer(models):
    base, nudger = models
    answers = nudge(base, nudger, BASE_CONTEXTS, NUDGER_CONTEXTS, config=replace(CONFIG, gamma=0.0))
    greedy = generate(base, BASE_CONTEXTS, config=GenerationConfig(max_new_tokens=10, stop=("\n",), progress=False))
    for a, g in zip(answers, greedy):
        assert a.text == g.greedy.text and a.finish_reason == g.greedy.finish_reason
        assert all(w.by == "base" for w in a.words) and a.n_nudger_tokens == 0
        assert "".join(w.text for w in a.words) == a.text


def test_gamma_1_gives_every_word_to_the_nudger(models):
    base, nudger = models
    answers = nudge(base, nudger, BASE_CONTEXTS, NUDGER_CONTEXTS, config=replace(CONFIG, gamma=1.0))
    for a in answers:
        assert a.words and all(w.by == "nudger" for w in a.words) and a.n_base_tokens == 0
        assert a.nudged_share == 1.0


def test_batched_equals_one_question_at_a_time(models):
    base, nudger = models
    for gamma in (0.05, 0.3, 1.0):
        config = replace(CONFIG, gamma=gamma)
        batched = nudge(base, nudger, BASE_CONTEXTS, NUDGER_CONTEXTS, config=config)
        alone = [nudge(base, nudger, [c], [n], config=replace(config, batch_size=1))[0]
                 for c, n in zip(BASE_CONTEXTS, NUDGER_CONTEXTS)]
        assert [a.text for a in batched] == [a.text for a in alone]
        assert [[(w.text, w.by) for w in a.words] for a in batched] == [[(w.text, w.by) for w in a.words] for a in alone]


def test_config_checks():
    with pytest.raises(ValueError, match="gamma must be in"):
        NudgeConfig(gamma=1.5)
