"""The words stage: its prompt, both modes end to end on a tiny model, the summary, page section and comparison."""
from __future__ import annotations

import math

import numpy as np
import pytest

from calibkit.draw.page import Report
from calibkit.draw.style import PALETTE
from calibkit.runs.runner import RunSettings, start_run
from calibkit.tasks.free_answer.answering import Answerer, Decoding
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.words import (
    WORDS_TASK,
    expressions,
    parse_expression,
    word_fields,
    words_prompt,
)
from calibkit.tasks.free_answer.words_report import (
    add_words_section,
    people_meaning,
    words_comparison,
    words_figure,
    words_lines,
    words_summary,
)
from conftest import shared_path
from tiny_models import llama2_tokenizer, loaded, tiny_llama

pytestmark = pytest.mark.usefixtures("one_thread")

QUESTIONS = [Question(id="tq/x/validation/0", question="What is the capital of France?", aliases=("Paris",)),
             Question(id="tq/x/validation/1", question="Who wrote Hamlet?", aliases=("Shakespeare",))]
ANSWERS = ["Paris", "Marlowe"]


@pytest.fixture(scope="module")
def lm():
    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    return loaded(tiny_llama(tok.vocab_size), tok, name="tiny-llama")


def answerer(lm, folder, *, chat: bool) -> Answerer:
    run = start_run("words_test", {"data": "hand"}, RunSettings(model="tiny-llama", out=folder, progress=False,
                                                                chat_template="on" if chat else "off"), loaded=lm)
    return Answerer(run, Decoding(max_new_tokens=4, samples=2))


def test_prompt_is_the_stated_text() -> None:
    p = words_prompt(QUESTIONS[0], "Paris")
    assert p.text == (
        "Question: What is the capital of France?\nProposed Answer: Paris\n"
        'How likely is it that the proposed answer is correct? Answer with one sentence of the form "The proposed '
        'answer is ... correct.", using one of these expressions: "certainly not", "probably not", "possibly", '
        '"probably", "certainly".\nThe proposed answer is')
    assert p.options[3] == " probably correct." and p.assistant_prefix == "The proposed answer is"
    assert p.turns[0].content == p.text.rsplit("\n", 1)[0]
    complex_ = words_prompt(QUESTIONS[0], "Paris", expression_set="complex")
    assert len(complex_.options) == 12 and complex_.options[6] == " might be possible that the proposed answer is correct."


def _by_hand_logprob(lm, context: str, tail: str) -> float:
    """ln P(tail | context) by one plain forward pass: context and tail encoded together, the difference scored."""
    import torch

    tok = lm.tokenizer
    ctx, full = tok(context)["input_ids"], tok(context + tail)["input_ids"]
    assert full[:len(ctx)] == ctx
    with torch.no_grad():
        logp = torch.log_softmax(lm.model(torch.tensor([full])).logits[0].float(), dim=-1)
    return float(sum(logp[i - 1, full[i]] for i in range(len(ctx), len(full))))


def test_choose_scores_every_expression_and_picks_the_likeliest(lm, tmp_path) -> None:
    a = answerer(lm, tmp_path, chat=False)
    rows = word_fields(a, QUESTIONS, ANSWERS, mode="choose")
    for q, answer, row in zip(QUESTIONS, ANSWERS, rows):
        assert (row["words_mode"], row["words_set"]) == ("choose", "simple") and len(row["words_logprobs"]) == 5
        assert row["words_choice"] == expressions("simple")[int(np.argmax(row["words_logprobs"]))]
        p = words_prompt(q, answer)
        assert row["words_logprobs"][3] == pytest.approx(_by_hand_logprob(lm, p.text, p.options[3]), abs=1e-4)
        assert row["words_mass"] == pytest.approx(sum(math.exp(v) for v in row["words_logprobs"]))
    reading = {r.label: r for r in a.run.store.texts()[QUESTIONS[0].id]}[WORDS_TASK]
    assert reading.logprobs_field == "words_logprobs" and reading.contexts[0].endswith("The proposed answer is")


@pytest.mark.parametrize("chat", [False, True])
def test_generate_keeps_the_reply_and_parses_it(lm, tmp_path, chat) -> None:
    a = answerer(lm, tmp_path, chat=chat)
    rows = word_fields(a, QUESTIONS, ANSWERS, mode="generate", expression_set="complex")
    for row in rows:
        assert row["words_mode"] == "generate" and isinstance(row["words_reply"], str)
        assert "\n" not in row["words_reply"]
        assert row["words_choice"] == parse_expression(row["words_reply"], expressions("complex"))
    reading = {r.label: r for r in a.run.store.texts()[QUESTIONS[1].id]}[WORDS_TASK]
    assert reading.answer_fields == ("words_reply",)
    assert reading.contexts[0].endswith("It") and "Proposed Answer: Marlowe" in reading.contexts[0]
    assert bool(reading.turns) is chat


def test_generate_reads_the_context_choose_scores(lm, tmp_path) -> None:
    # Llama-2's template puts " " between "[/INST]" and the assistant's text: the generated reply must follow
    # the same "[/INST] It" the scorer reads before each expression, not "[/INST]It"
    from calibkit.engine.chat import render_context

    a = answerer(lm, tmp_path, chat=True)
    word_fields(a, QUESTIONS[:1], ANSWERS[:1], mode="generate", expression_set="complex")
    generated = {r.label: r for r in a.run.store.texts()[QUESTIONS[0].id]}[WORDS_TASK].contexts[0]
    scored, _ = render_context(words_prompt(QUESTIONS[0], ANSWERS[0], expression_set="complex"), lm.tokenizer,
                               chat=True)
    assert generated == scored and generated.endswith("[/INST] It")


def test_mode_is_checked() -> None:
    with pytest.raises(ValueError, match="mode must be one of choose, generate"):
        word_fields(None, QUESTIONS, ANSWERS, mode="say")


@pytest.mark.parametrize("reply, expected", [
    (" probably correct.", "probably"),
    (" Probably not correct.", "probably not"),
    ("The proposed answer is certainly correct.", "certainly"),
    (" improbably so", None),
    ("", None),
])
def test_parse_expression(reply, expected) -> None:
    assert parse_expression(reply, expressions("simple")) == expected


def test_parse_prefers_the_longest_complex_expression() -> None:
    assert parse_expression(" is probably likely that it is.", expressions("complex")) == "is probably likely"


def _rows(choices, right, prefix="q"):
    return [{"id": f"{prefix}{i}", "words_choice": w, "words_mode": "choose", "words_set": "simple",
             "correct_exact": r} for i, (w, r) in enumerate(zip(choices, right))]


def test_summary_text_and_page(tmp_path) -> None:
    rows = _rows(["probably"] * 4 + ["certainly"] * 2 + [None], [True, True, False, True, True, False, True])
    s = words_summary(rows, n_resamples=20)
    probably = {e["expression"]: e for e in s["expressions"]}["probably"]
    assert probably["n"] == 4 and probably["accuracy"]["estimate"] == 0.75
    assert probably["people"]["mean"] == pytest.approx(874 / 1440)  # the CSV's "probably" rows, by hand
    assert probably["gap"] == pytest.approx(0.75 - 874 / 1440)
    assert s["n_without_word"] == 1 and s["against_people"]["n"] == 6
    text = "\n".join(words_lines(s, who="the chat model"))
    assert 'when the chat model says "probably", it is right 75% of the time' in text
    assert "people read it as 61%" in text
    report = Report("t")
    add_words_section(report, s, label="chat", chat=True)
    assert "people&#x27;s reading" in report.to_html() or "people's reading" in report.to_html()
    assert words_summary([{"id": "a", "correct_exact": True}]) is None


def test_figure_colours_base_blue_and_chat_vermillion() -> None:
    s = words_summary(_rows(["probably", "certainly"], [True, False]), n_resamples=10)
    fig = words_figure({"base": s, "chat": s}, chat={"base": False, "chat": True})
    points = [t for t in fig.data if t.mode == "markers+text"]
    assert [t.marker.color for t in points] == [PALETTE[0], PALETTE[1]]
    assert list(points[0].x) == pytest.approx([people_meaning("simple", n_resamples=10)[w].mean
                                               for w in ("probably", "certainly")])


def test_comparison_pairs_the_questions_both_runs_worded() -> None:
    base = _rows(["certainly"] * 30, [True] * 15 + [False] * 15)
    chat = _rows(["certainly"] * 15 + ["certainly not"] * 14 + [None], [True] * 15 + [False] * 15)
    table, n = words_comparison({"base": base, "chat": chat}, n_resamples=50)
    assert n == 29
    brier = table[table["measure"] == "Brier vs people's reading"].set_index("run")
    cert = people_meaning("simple", n_resamples=10)["certainly"].mean
    cert_not = people_meaning("simple", n_resamples=10)["certainly not"].mean
    by_hand_base = (15 * (1 - cert) ** 2 + 14 * cert ** 2) / 29
    by_hand_chat = (15 * (1 - cert) ** 2 + 14 * cert_not ** 2) / 29
    assert brier.loc["base", "estimate"] == pytest.approx(by_hand_base)
    assert brier.loc["chat", "difference"] == pytest.approx(by_hand_chat - by_hand_base)
    assert brier.loc["chat", "p_value"] < 0.05 and brier.loc["chat", "test"].startswith("permutation")
