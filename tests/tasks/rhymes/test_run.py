"""A rhymes run on tiny models: forced-prefix and rhyme-slot scoring against a plain transformers computation,
a scripted model's known lines through the whole pipeline, the logit lens, and `calibkit run rhymes` end to end
(rows, resume, report, compare, a bad --data file)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from calibkit.engine.chat import starts_with_bos
from calibkit.runs.store import RunStore
from calibkit.tasks.freeform.pair import Reader
from calibkit.tasks.rhymes.data import Couplet
from calibkit.tasks.rhymes.judge import default_judge
from calibkit.tasks.rhymes.run import RhymeSettings, _form, _prefix_logprobs, _score, batch_rows
from calibkit.tasks.rhymes.slot import SingleTokens, read_slot, slot_request

from conftest import rerun_and_compare, run_cli, shared_path

COUPLET = Couplet(id="rhymes/t/1", line="The morning sun came slowly up across the bay,", end_word="bay")


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(shared_path("llama2_tokenizer"))


@pytest.fixture(scope="module")
def chat_tok():
    """The Llama-2 tokenizer (fast) with Llama-2-chat's template: a chat model's."""
    from transformers import AutoTokenizer

    folder = shared_path("llama2_tokenizer")
    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = (folder / "chat_template.jinja").read_text()
    return tok


def _plain_logprob(model, tokenizer, context: str, continuation: str) -> tuple[float, int]:
    """ln P(continuation | context) by hand: encode both, the continuation's tokens are the difference."""
    add = not starts_with_bos(context, tokenizer)
    ctx = tokenizer(context, add_special_tokens=add)["input_ids"]
    whole = tokenizer(context + continuation, add_special_tokens=add)["input_ids"]
    assert whole[:len(ctx)] == ctx
    with torch.no_grad():
        logp = model(torch.tensor([whole])).logits[0].float().log_softmax(-1)
    return float(sum(logp[i - 1, whole[i]] for i in range(len(ctx), len(whole)))), len(whole) - len(ctx)


@pytest.mark.parametrize("chat", [False, True], ids=["base", "chat"])
def test_forced_prefix_scoring_equals_a_plain_transformers_computation(tok, chat_tok, chat, one_thread):
    from tiny_models import loaded, tiny_llama

    tokenizer = chat_tok if chat else tok
    lm = loaded(tiny_llama(len(tokenizer), seed=2), tokenizer)
    reader = Reader("r", lm, chat)
    for prefix in ("And", "And all the", "While o'er"):
        ((total, n),) = _prefix_logprobs(reader, [(COUPLET, prefix)], None)
        form = _form(COUPLET, reader, None)
        context = form.context + form.separator  # chat: "[/INST]" + " ": the prefix opens the reply
        expected, n_expected = _plain_logprob(lm.model, tokenizer, context.rstrip(" "), context[len(context.rstrip(" ")):] + prefix)
        assert n == n_expected and total == pytest.approx(expected, abs=1e-4), prefix


@pytest.mark.parametrize("chat", [False, True], ids=["base", "chat"])
def test_the_rhyme_slot_equals_a_plain_transformers_computation(tok, chat_tok, chat, one_thread):
    from tiny_models import loaded, tiny_llama

    tokenizer = chat_tok if chat else tok
    lm = loaded(tiny_llama(len(tokenizer), seed=3), tokenizer)
    reader = Reader("r", lm, chat)
    form = _form(COUPLET, reader, None)
    before, word, cands = "And all the sea was ", "blue", ("day", "way", "gray")
    req = slot_request("k", text=COUPLET.base_context(), turns=COUPLET.turns(), chat=chat, before=before, word=word,
                       candidates=cands)
    got = read_slot(req, _score(reader, list(req.prompts), None))
    context = form.context + form.separator + before.rstrip()
    plain = {c: _plain_logprob(lm.model, tokenizer, context, " " + c)[0] for c in (*cands, word)}
    assert got["word_logprob"] == pytest.approx(plain[word], abs=1e-4)
    assert got["rhyme_mass"] == pytest.approx(sum(np.exp(plain[c]) for c in cands), rel=1e-3)
    assert dict(got["top"]) == pytest.approx({c: plain[c] for c in cands}, abs=1e-4)
    assert got["rank"] == 1 + sum(plain[c] > plain[word] for c in cands) and got["n_ranked"] == 4
    p = np.exp([plain[c] for c in cands])
    p /= p.sum()
    assert got["rhyme_entropy"] == pytest.approx(float(-(p * np.log(p)).sum()), abs=1e-4)


def test_a_scripted_model_writes_known_lines_through_the_whole_pipeline(tok, tmp_path, one_thread):
    """A model that always writes "And so it went away" after the couplet: every line rhymes, the lens reads
    "away", the forced words are its own and it still rhymes after them; the arrays land beside the rows."""
    from tiny_models import ScriptedLM, loaded

    class Scripted(ScriptedLM):  # the scorer's prefix pass gives no position ids: they are 0, 1, ...
        def forward(self, input_ids=None, position_ids=None, **kwargs):
            if position_ids is None:
                position_ids = torch.arange(input_ids.shape[1]).expand(input_ids.shape[0], -1)
            return super().forward(input_ids=input_ids, position_ids=position_ids, **kwargs)

        model = property(lambda self: self.inner.model)  # the lens reads the inner model's norm and unembedding

        def get_output_embeddings(self):
            return self.inner.get_output_embeddings()

    context = tok(COUPLET.base_context())["input_ids"]
    script = tok("And so it went away", add_special_tokens=False)["input_ids"] + tok("\n", add_special_tokens=False)[
        "input_ids"][-1:]
    model = Scripted(len(tok), script, n_context=len(context), after=tok.eos_token_id)
    reader = Reader("model", loaded(model, tok), False)
    store = RunStore.at(tmp_path / "run", config={"task": "rhymes"})
    settings = RhymeSettings(samples=3, forced_words=(1, 2, 9))
    judge = default_judge()
    (row,) = batch_rows(store, [COUPLET], {"model": reader}, settings, judge, {"model": SingleTokens(tok)}, None)
    m = row["models"]["model"]
    assert [(ln["kind"], ln["word"], ln["line"]) for ln in m["lines"]] == [("rhyme", "away", "And so it went away")] * 4
    assert [ln["greedy"] for ln in m["lines"]] == [True, False, False, False]
    assert "away" in row["candidates"] or m["lines"][0]["slot"]["n_ranked"] == len(row["candidates"]) + 1
    assert m["lens"]["words"] == ["away"] and len(m["lens"]["rank"][0]) == model.config.num_hidden_layers + 1
    assert [(f["k"], f["prefix"], f["from"]) for f in m["forced"]] == [(1, "And", "model/1"), (2, "And so", "model/1")]
    assert all(f["lines"][0]["kind"] == "rhyme" and f["lines"][0]["line"] == "And so it went away" for f in m["forced"])
    with np.load(store.path / m["arrays"]["file"]) as f:
        assert f["model.states"].shape == (1, model.config.num_hidden_layers + 1, model.config.hidden_size)
        assert f["model.lens"].shape == (len(row["candidates"]), model.config.num_hidden_layers + 1)
    # the run keeps what the model read to write line 2, as `calibkit show` prints it
    from calibkit.runs.prompts import read_texts

    (reading,) = read_texts(store.path)[COUPLET.id]
    assert reading.label == "answer/model" and reading.contexts == (COUPLET.base_context(),)
    assert reading.answer_fields == ("models.model.lines",)


def test_the_lens_at_the_last_layer_is_the_models_own_next_token_distribution(tok, one_thread):
    from calibkit.engine.generation import GenerationConfig, generate
    from calibkit.engine.lens import logit_lens, unembedding_rows
    from tiny_models import loaded, tiny_gemma3

    model = tiny_gemma3(len(tok), seed=4)
    lm = loaded(model, tok)
    (g,) = generate(lm, [COUPLET.base_context()], config=GenerationConfig(max_new_tokens=1, hidden_states=True,
                                                                          progress=False))
    with torch.no_grad():
        logp = model(torch.tensor([tok(COUPLET.base_context())["input_ids"]])).logits[0, -1].float().log_softmax(-1)
    ids = [int(logp.argmax()), 100, 2000]
    (r,) = logit_lens(lm, [g.hidden_states], [ids])
    assert r.logprobs.shape == r.ranks.shape == (model.config.num_hidden_layers + 1, 3)
    assert r.logprobs[-1] == pytest.approx(logp[ids].numpy(), abs=1e-3)  # states are stored in float16
    assert r.ranks[-1, 0] == 1  # float16 states move near-ties: the rank is exact up to logits within 1e-3
    assert 1 + int((logp > logp[100] + 1e-3).sum()) <= r.ranks[-1, 1] <= 1 + int((logp > logp[100] - 1e-3).sum())
    assert unembedding_rows(lm, ids) == pytest.approx(model.lm_head.weight[ids].detach().numpy())


def test_run_on_tiny_models_resumes_reports_and_compares(capsys, tmp_path, tiny_base_dir, tiny_model_dir, one_thread):
    lines = tmp_path / "lines.txt"
    lines.write_text("The morning sun came slowly up across the bay,\nI keep a secret locked inside my heart,\n"
                     "The zorblings sang across the zorbleflap\nWe walked together down the dusty lane,\n")
    argv = ["run", "rhymes", "--model", str(tiny_base_dir), "--model", str(tiny_model_dir), "--data", str(lines),
            "--samples", "2", "--forced-words", "1", "--max-new-tokens", "6", "--quiet", "--out", str(tmp_path),
            "--json"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert "left out 1 lines whose end word the CMU dictionary lacks: zorbleflap" in err
    run = Path(json.loads(out)["report"]).parent
    config = json.loads((run / "config.json").read_text())
    assert set(config["models"]) == {"base", "chat"} and config["unknown_end_words"] == ["zorbleflap"]
    assert config["models"]["base"]["chat_template"] is False and config["models"]["chat"]["chat_template"] is True
    rows = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["rhymes/lines/001", "rhymes/lines/002", "rhymes/lines/004"]
    for r in rows:
        for role, m in r["models"].items():
            assert len(m["lines"]) == 3 and [f["k"] for f in m["forced"]] in ([1], [])
            assert all(ln["kind"] in ("rhyme", "non_rhyme", "poem_end", "commentary", "new_poem", "unjudged")
                       for ln in m["lines"])
    summary = json.loads((run / "summary.json").read_text())
    assert summary["n_items"] == 3 and summary["paired"][0]["note"].startswith("n too small")
    assert "no planning probe" in (run / "report.html").read_text().lower()
    metrics = rerun_and_compare(capsys, argv[:-1], run, tmp_path, n=3)["metrics"]
    from calibkit.paper import Cell
    from calibkit.runs.registry import task_of_run
    from calibkit.runs.store import RunStore
    from calibkit.tasks.rhymes.report import comparison_frame

    store = RunStore.open(run)
    (part,) = task_of_run(store.config).paper_parts([store])  # the write-up's table (issue 27): compare's numbers
    frame = comparison_frame([store])[2]
    assert part.name == "rhymes-comparison" and len(part.content.rows) == len(frame)
    assert part.content.rows[0][-1] == Cell.of(frame.iloc[0].to_dict())
    assert " + " in part.content.columns[-1] and "/" not in part.content.columns[-1]  # the models' short names
    assert len(metrics) == 8 and all(m["difference"] in (0.0, None) for m in metrics[4:])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"line": "ok then, day"}\n{"text": "no line field"}\n')
    code, out, err = run_cli(capsys, "run", "rhymes", "--data", str(bad), "--out", str(tmp_path))
    assert code == 2 and "row 2 has no 'line' text" in err and "Traceback" not in err and len(err.splitlines()) == 1
    code, out, err = run_cli(capsys, "run", "rhymes", "--data", str(tmp_path / "missing.txt"))
    assert code == 2 and "no such file" in err


def test_half_written_lines_stop_at_the_line_break_in_chat_form_too(monkeypatch):
    """Only a forced line's first line is read, so its decoding stops at the first line break in either form
    (a chat model's reply used to run on to 48 tokens); the line read is the prefix and the text before it."""
    from types import SimpleNamespace

    from calibkit.engine import generation
    from calibkit.tasks.rhymes import run

    configs = []

    def fake_generate(model, contexts, *, config):
        configs.append(config)
        line = SimpleNamespace(text=" it went away\nand on", greedy=True)  # as if the stop had not cut it
        return [SimpleNamespace(greedy=line, samples=()) for _ in contexts]

    monkeypatch.setattr(generation, "generate", fake_generate)
    monkeypatch.setattr(run, "_prefix_logprobs", lambda reader, pairs, system_prompt: [(-1.0, 1)] * len(pairs))
    monkeypatch.setattr(run, "_read_slots", lambda *a, **k: None)
    source = [[{"greedy": True, "line": "x"}, {"greedy": False, "line": "And so the sea was calm"}]]
    for chat in (True, False):
        reader = Reader("r", SimpleNamespace(), chat)
        (forced,) = run._forced(reader, "r", [COUPLET], [run._Form("ctx", " " if chat else "")], source, "other",
                                RhymeSettings(forced_words=(2,)), default_judge(), [("day", "way")], None)
        assert [(f["k"], f["prefix"], f["lines"][0]["line"]) for f in forced] == [(2, "And so", "And so it went away")]
        assert (configs[-1].stop, configs[-1].stop_rule) == (("\n",), "first")
        assert configs[-1].max_new_tokens == (48 if chat else 24)  # the length limit stays the form's
