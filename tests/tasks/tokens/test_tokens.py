"""Token profiles: tokens onto words across tokenizers, `calibkit run tokens` on tiny models, the study by hand."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calibkit.engine.chat import render_pairs, starts_with_bos
from calibkit.engine.scoring import ScoreConfig, read_tokens
from calibkit.records import Prompt, Turn
from calibkit.tasks.tokens.align import words_of
from calibkit.tasks.tokens.study import summarize_rows

from conftest import rerun_and_compare, run_cli, shared_path

CONTEXT = "Question: Who wrote Hamlet, and when?\nAnswer:"
ANSWERS = [
    "William Shakespeare, in about 1600 — I'm sure.",
    "Paris\n\nÜber 1,234.5 😀 ok",
    "(A) the answer isn't   B; it's \"C\".",
    "naïve café Zürich 東京",
]
# answers that start with a digit, punctuation, a non-ASCII letter, CJK, an emoji, or a plain word
READ_ANSWERS = ["1945", "(A) Paris", '"Hamlet", 1600', "...and so on", "Ötzi", "東京 Tower", "😀 ok", "Paris"]
# Gemma-3's chat template as it renders one user turn (the embedded Gemma-3-270M GGUF is the base model: none)
GEMMA_3_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] | trim }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizers():
    """The Llama-2 tokenizer and the embedded models' (SentencePiece, byte-level BPE, Gemma's)."""
    from transformers import AutoTokenizer

    from calibkit.engine.models import embedded_model_installed, load_tokenizer

    out = {"llama-2": AutoTokenizer.from_pretrained(shared_path("llama2_tokenizer"))}
    for name in ("smollm2-135m-instruct", "gemma-3-270m"):
        if embedded_model_installed(name):
            out[name] = load_tokenizer(name)
    return out


@pytest.fixture
def chat_tokenizers(tokenizers, monkeypatch):
    """The same tokenizers, each with a chat template (Llama-2's and SmolLM2's own; Gemma-3's for the base GGUF)."""
    if "gemma-3-270m" in tokenizers:
        monkeypatch.setattr(tokenizers["gemma-3-270m"], "chat_template", GEMMA_3_TEMPLATE)
    assert all(tok.chat_template for tok in tokenizers.values())
    return tokenizers


def _prompts(answers):
    return [Prompt(id=f"a{i}", task="t", text=CONTEXT, options=(" " + a,), turns=(Turn("user", CONTEXT),))
            for i, a in enumerate(answers)]


def assert_exactly_the_answer(answer, spans):
    """Every token holds some of the answer's characters, in order, and together they hold all of them once.

    (Byte pieces of one character share its span, so a span may repeat; none may start past what came before.)
    """
    spans = np.asarray(spans, np.int64).reshape(-1, 2)
    assert len(spans) and (spans[:, 0] < spans[:, 1]).all(), spans  # no token outside the answer
    assert spans.min() >= 0 and spans.max() <= len(answer)
    covered, pieces = 0, []
    for a, b in spans:
        assert a <= covered, spans  # no gap
        pieces.append(answer[max(a, covered):b])
        covered = max(covered, b)
    assert "".join(pieces) == answer  # none missing


@pytest.mark.parametrize("answer", ANSWERS)
def test_words_align_across_tokenizers_and_reproduce_the_text(tokenizers, answer):
    found = {}
    for name, tok in tokenizers.items():
        (read,) = read_tokens(tok, _prompts([answer]))
        spans, cont = read.spans, read.token_ids
        assert read.text == answer and spans.shape == (len(cont), 2), name
        # the spans cover the answer in order with no gap (byte pieces of one character share it)
        assert spans[0, 0] == 0 and spans[-1, 1] == len(answer), name
        assert all(a <= b for a, b in spans) and (np.diff(spans[:, 0]) >= 0).all(), name
        assert (spans[1:, 0] <= np.maximum.accumulate(spans[:, 1])[:-1]).all(), name
        words = words_of(answer, spans)
        assert [w.text for w in words] == answer.split(), name
        for w in words:
            assert w.tokens, (name, w.text)
            assert tok.decode([cont[i] for i in w.tokens]).strip() == w.text, (name, w.text)
        found[name] = [(w.text, w.start, w.end) for w in words]
    assert len({tuple(v) for v in found.values()}) == 1  # every tokenizer sees the same words


@pytest.mark.parametrize("chat", [False, True], ids=["base", "chat"])
def test_a_read_holds_exactly_the_answers_tokens(chat_tokenizers, chat):
    """Issue 22 item 7: the whitespace that joins prompt and answer (ChatML's and Gemma's "\n" after the
    assistant header, the "▁" Llama-2 and SmolLM2 write before a digit) is context, never a token of the answer."""
    prompts = _prompts(READ_ANSWERS)
    for name, tok in chat_tokenizers.items():
        reads = read_tokens(tok, prompts, config=ScoreConfig(chat=chat, progress=False))
        for prompt, answer, read in zip(prompts, READ_ANSWERS, reads):
            assert read.text == answer, (name, answer)
            assert_exactly_the_answer(answer, read.spans)
            assert len(read.spans) == len(read.token_ids)
            assert tok.decode(read.token_ids[:1]).strip(), (name, answer)  # the first token is not whitespace
            # the model reads the tokenizer's own encoding of the prompt with the answer where the writer's was
            ((context, option),) = render_pairs(prompt, tok, chat=chat)
            assert context.endswith("[/INST] ") if chat and name == "llama-2" else not context.endswith(" ")
            whole = tok(context + option, add_special_tokens=not starts_with_bos(context, tok))["input_ids"]
            assert list(read.context_ids + read.token_ids) == whole, (name, answer)


@pytest.mark.parametrize("chat", [False, True], ids=["base", "chat"])
def test_the_stored_reads_hold_exactly_the_answers_tokens(chat_tokenizers, chat, one_thread):
    """`calibkit run tokens`' rows: each read's tokens, spans and ranks are the answer's, one reading per token."""
    from calibkit.tasks.freeform.pair import Reader
    from calibkit.tasks.free_answer.specs import QuestionSet
    from calibkit.tasks.freeform.batches import read_answers
    from calibkit.tasks.tokens.run import _profiles
    from calibkit.tasks.free_answer.question import Question
    from calibkit.tasks.free_answer.layouts import CHAT_INSTRUCTION, KADAVATH_LAYOUT

    from tiny_models import loaded, tiny_llama

    batch = [Question(id=f"q{i}", question="Who wrote Hamlet?", aliases=("x",))
             for i in range(len(READ_ANSWERS))]
    qs = QuestionSet("triviaqa", tuple(batch), KADAVATH_LAYOUT, "triviaqa", CHAT_INSTRUCTION, {})
    for name, tok in chat_tokenizers.items():
        reader = Reader("r", loaded(tiny_llama(len(tok), hidden_size=16), tok), chat)
        reads = read_answers(reader, qs, batch, {"w": READ_ANSWERS}, system_prompt=None)["w"]
        for answer, profile in zip(READ_ANSWERS, reads):
            row = _profiles(answer, {"r": profile})
            x = row["reads"]["r"]
            assert all(x["tokens"]), (name, answer, x["tokens"])  # no token outside the answer
            assert_exactly_the_answer(answer, x["spans"])
            assert len(x["rank"]) == len(x["tokens"]) == len(x["spans"]) == len(profile.token_ids)
            assert [w["text"] for w in row["words"]] == answer.split() and all(w["r"] for w in row["words"])
        # nudging's answers come unstripped: read stripped, the same tokens; a blank one is not read
        padded = [f" {a}\n" for a in READ_ANSWERS[:-1]] + [" \n"]
        again = read_answers(reader, qs, batch, {"w": padded}, system_prompt=None)["w"]
        assert again[-1] is None and [p.text for p in again[:-1]] == READ_ANSWERS[:-1]
        assert all(list(p.token_ids) == list(r.token_ids) for p, r in zip(again[:-1], reads))


def test_a_boundary_token_that_merges_with_the_context_starts_the_answer():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(shared_path("llama2_tokenizer"))
    context, answer = "[INST] Pick one. [/INST]", "(A)"
    (read,) = read_tokens(tok, [Prompt(id="m", task="t", text=context, options=(answer,))])
    cont, spans = read.token_ids, read.spans
    assert tok.convert_ids_to_tokens(list(cont))[0] == "](" and cont  # the issue-10 merge: "](" crosses the boundary
    assert spans.tolist()[0] == [0, 1] and spans[-1, 1] == len(answer)
    assert [w.tokens for w in words_of(answer, spans)] == [tuple(range(len(cont)))]


def test_run_on_tiny_models(capsys, tmp_path, tiny_base_dir, tiny_model_dir, one_thread):
    argv = ["run", "tokens", "--model", str(tiny_base_dir), "--model", str(tiny_model_dir), "--questions", "triviaqa",
            "--data", str(Path(__file__).parents[2] / "fixtures" / "triviaqa_simple.jsonl"), "--limit", "3",
            "--shots", "1", "--max-new-tokens", "8", "--quiet", "--out", str(tmp_path), "--json"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    run = Path(json.loads(out)["report"]).parent
    config = json.loads((run / "config.json").read_text())
    assert config["writers"] == ["base", "chat"] and set(config["models"]) == {"base", "chat"}
    assert config["source"] == "triviaqa"
    rows = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 3
    for r in rows:
        for writer, a in r["answers"].items():
            if not a["text"]:
                continue
            assert set(a["reads"]) == {"base", "chat"}
            for role, x in a["reads"].items():
                n = len(x["rank"])
                assert len(x["tokens"]) == len(x["entropy"]) == len(x["top1"]) == len(x["spans"]) == n
                assert all(r_ >= 1 for r_ in x["rank"]) and all(0 < p <= 1 for p in x["top1"])
                for w in a["words"]:
                    if w[role] is not None:  # a word's reading is its first token's
                        first = next(i for i, (s, e) in enumerate(x["spans"])
                                     if a["text"][s:e].strip() and w["start"] <= s + len(a["text"][s:e]) -
                                     len(a["text"][s:e].lstrip()) < w["end"])
                        assert w[role]["rank"] == x["rank"][first] and w[role]["top1"] == x["top1"][first]
    summary = json.loads((run / "summary.json").read_text())
    for s in summary["shifts"]:
        total = sum(s[c]["estimate"] for c in ("unshifted", "marginal", "shifted") if s[c]["estimate"] is not None)
        assert total == pytest.approx(1.0) or s["tokens"] == 0
    assert "URIAL token classes" in (run / "report.html").read_text()
    compared = rerun_and_compare(capsys, argv[:-1], run, tmp_path, n=3)
    metrics = compared["metrics"]
    assert compared["n_items"] == 3 and len(metrics) == 4  # (base by chat, chat by base) x 2 runs
    assert [m["difference"] for m in metrics[2:]] == [0.0, 0.0] and metrics[0]["p_value"] is None
    # three questions: the shares and differences with the small-n note, no interval, no p-value, no test
    assert all(m["n"] == 3 and m["note"] == "n too small for an interval (n=3 < 20)" for m in metrics)
    assert all(m["low"] is None and m["p_value"] is None and m["test"] is None for m in metrics)
    assert all(e["note"] == "n too small for an interval (n=3 < 20)" for e in summary["entropy_difference"])
    # the write-up's token-shift bars are the compared shares, run by run
    from calibkit.runs.registry import task_of_run
    from calibkit.runs.store import RunStore

    bars, table = task_of_run(config).paper_parts([RunStore(run), RunStore(tmp_path / "copy")])
    heights = [patch.get_height() for patch in bars.content.axes[0].patches]
    shares = [np.nan if m["estimate"] is None else m["estimate"] for m in metrics]
    assert np.allclose(heights, shares, equal_nan=True) and len(table.content.rows) == 2
    code, out, err = run_cli(capsys, "run", "tokens", "--model", "a", "--model", "b", "--model", "c")
    assert code == 2 and "--model was given 3 times" in err


def _reading(ranks, entropy=None):
    n = len(ranks)
    return {"tokens": [f"t{i}" for i in range(n)], "spans": [[i, i + 1] for i in range(n)],
            "logprob": [-1.0] * n, "entropy": entropy or [1.0] * n, "top1": [0.5] * n, "rank": ranks}


def _word(text, cls, base_rank, chat_rank, base_entropy=1.0, chat_entropy=0.5):
    return {"text": text, "class": cls, "base": {"rank": base_rank, "entropy": base_entropy},
            "chat": {"rank": chat_rank, "entropy": chat_entropy}}


def test_study_numbers_by_hand():
    q0 = {"correct": True, "reads": {"base": _reading([1, 5, 2, 1]), "chat": _reading([1, 1, 1, 1])},
          "words": [_word("Well,", "function", 5, 1), _word("Paris", "content", 1, 1)]}
    q1 = {"correct": False, "reads": {"base": _reading([4, 1]), "chat": _reading([1, 1])},
          "words": [_word("Rome", "content", 4, 1, 3.0, 1.0)]}
    rows = [{"id": "q0", "answers": {"chat": q0}}, {"id": "q1", "answers": {"chat": q1}}]
    s = summarize_rows(rows, n_resamples=200)
    assert s["writers"] == ["chat"] and s["models"] == ["base", "chat"]
    assert s["accuracy"]["chat"]["estimate"] == pytest.approx(0.5)
    (shift,) = s["shifts"]
    assert (shift["writer"], shift["reader"], shift["tokens"]) == ("chat", "base", 6)
    assert shift["unshifted"]["estimate"] == pytest.approx(3 / 6)
    assert shift["marginal"]["estimate"] == pytest.approx(1 / 6)
    assert shift["shifted"]["estimate"] == pytest.approx(2 / 6)
    # positions: q0's 4 tokens fall in bins 0, 1, 2, 3 (t * 5 // 4); q1's 2 tokens in bins 0 and 2
    assert shift["shifted_by_position"] == {"0-20%": 0.5, "20-40%": 1.0, "40-60%": 0.0, "60-80%": 0.0,
                                            "80-100%": None}
    assert dict(shift["most_shifted"]) == {"t1": 1, "t0": 1}
    (words,) = s["shifted_words"]
    assert words["words"] == 3 and words["shifted_words"] == 2
    assert words["function"]["among_shifted"]["estimate"] == pytest.approx(1 / 2)
    assert words["function"]["among_all"]["estimate"] == pytest.approx(1 / 3)
    (ent,) = s["entropy_difference"]
    assert ent["base"] == pytest.approx(5 / 3) and ent["chat"] == pytest.approx(2 / 3)
    assert ent["difference"] == pytest.approx(1.0)
    profile = {(p["writer"], p["reader"]): p for p in s["profiles"]}
    assert profile[("chat", "base")]["entropy"]["estimate"] == pytest.approx(1.0)


@pytest.mark.parametrize("stop_rule", ["after_leading_whitespace", "first"])
def test_the_writers_answers_decode_as_the_answering_routines_greedy_answer(stop_rule):
    """The two-model runs' own answers go through the answering routine's Decoding: the greedy answer with the
    source's stop strings in both forms and the run's bound; as these runs always had it, the engine's default stop
    rule even for a row whose own is "first" (nq_open), and no token budget of the run's."""
    from calibkit.engine.generation import GenerationConfig
    from calibkit.tasks.free_answer.layouts import KADAVATH_LAYOUT
    from calibkit.tasks.free_answer.specs import QuestionSet
    from calibkit.tasks.freeform.batches import answer_config

    qs = QuestionSet("triviaqa", (), KADAVATH_LAYOUT, "triviaqa", "Answer.", {}, stop_rule=stop_rule)
    config = answer_config(qs, 7)
    # the config tokens and nudging spelled out before they shared it
    assert config == GenerationConfig(max_new_tokens=7, stop=KADAVATH_LAYOUT.stop, progress=False)
    assert (config.greedy, config.samples, config.stop_rule, config.token_budget) == \
        (True, 0, "after_leading_whitespace", None)
