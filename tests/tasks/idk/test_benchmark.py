"""The abstention benchmark's twin-paired evasiveness: hand-computed values, scripted models end to end,
the likelihood reading and MMLU letters."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from calibkit.tasks.idk.constructed import false_premise_rows, seed_rows
from calibkit.tasks.idk.dataset import constructed_to_rows, write_dataset
from calibkit.tasks.idk.run import IdkItem, _row, likelihood_abstains, mmlu_letter_right
from calibkit.tasks.idk.study import evasiveness, summarize_rows, twin_pairs

pytestmark = pytest.mark.usefixtures("one_thread")


def pair_rows(outcomes, category="private"):
    """Stored rows of pairs with the given (declined the unanswerable row, declined the twin, twin right)."""
    rows = []
    for i, (declined, declined_twin, right) in enumerate(outcomes):
        rows.append({"id": f"c/{category}/{i:02d}", "kind": "abstain", "reason": category, "pair": f"c/{i:02d}/twin",
                     "abstained": declined, "correct": False, "appropriate": declined})
        rows.append({"id": f"c/{i:02d}/twin", "kind": "answer", "reason": "twin", "pair": f"c/{category}/{i:02d}",
                     "abstained": declined_twin, "correct": right, "appropriate": right and not declined_twin})
    return rows


def test_evasiveness_by_hand():
    """Four pairs, one of each outcome: every rate 1/2 or 1/4 and no difference; below 20 pairs, notes only."""
    rows = pair_rows([(True, False, False), (True, True, False), (False, False, True), (False, True, False)])
    rows.append({"id": "model/1", "kind": "answer", "reason": "known", "abstained": True, "correct": False,
                 "appropriate": False})  # no pair: not in the paired study
    (every, private) = evasiveness(twin_pairs(rows), n_resamples=50)
    assert every["pairs"] == private["pairs"] == 4 and private["category"] == "private"
    assert [every[k]["estimate"] for k in ("abstention", "over_abstention_twins", "twin_accuracy")] == [0.5, 0.5, 0.25]
    assert [every[k]["estimate"] for k in ("discerning", "evasive", "hallucinating", "inverted")] == [0.25] * 4
    assert every["difference"]["difference"] == 0.0 and every["abstention"]["note"] == (
        "n too small for an interval (n=4 < 20)")
    assert every["difference"]["p_value"] is None  # under 6 pairs the permutation test is not reported either


def test_evasiveness_paired_interval_and_permutation_p():
    """24 discerning pairs: abstention 1, twins declined 0, difference +1 with a degenerate paired interval, and the
    permutation p-value (1 + 0) / (1 + 1000): no random swap pattern of 24 pairs reaches |D| = 1 (p = 2^-23 each)."""
    p = twin_pairs(pair_rows([(True, False, True)] * 24))
    (every, _) = evasiveness(p, n_resamples=1000, seed=3)
    d = every["difference"]
    assert (d["difference"], d["low"], d["high"], d["n"], d["note"]) == (1.0, 1.0, 1.0, 24, None)
    assert d["p_value"] == pytest.approx(1 / 1001) and d["test"] == "permutation (1,000 random swaps)"
    assert every["discerning"]["estimate"] == 1.0 and every["twin_accuracy"]["low"] == 1.0


def test_a_pair_needs_both_rows():
    rows = pair_rows([(True, True, False)] * 3)[:-1]  # the last twin was not asked (e.g. --limit cut it)
    assert twin_pairs(rows).ids == ("c/private/00", "c/private/01")
    assert summarize_rows(rows, n_resamples=20)["n_pairs"] == 2


def test_likelihood_compares_per_token_means():
    """A 20-token reply at -0.5 per token (total -10) against " I don't know." at -1.0 per token (total -4): the
    totals would call the reply an abstention, the means do not."""
    item = IdkItem("q", "Why?", "answer", "known", "triviaqa", ("Paris",))
    greedy = SimpleNamespace(text=" Paris is the capital and the largest city of France, on the Seine",
                             token_ids=tuple(range(20)), logprobs=(-0.5,) * 20, total_logprob=-10.0,
                             mean_logprob=-0.5, finish_reason="stop")
    row = _row(item, greedy, (-1.0,) * 4)
    assert row["idk_logprob"] == -4.0 > greedy.total_logprob  # the old reading: an abstention
    assert (row["idk_mean_logprob"], row["reply_mean_logprob"]) == (-1.0, -0.5)
    assert row["abstained_by_likelihood"] is False
    assert likelihood_abstains("", (), (-9.0,)) and likelihood_abstains("x", (-2.0,), (-1.0, -1.5))


def test_an_mmlu_letter_alone_is_an_answer():
    item = IdkItem("mmlu/x", "Q?\nA. w\nB. x", "answer", "known", "mmlu", ("B. x", "x"))
    greedy = SimpleNamespace(text=" B", token_ids=(1,), logprobs=(-0.1,), total_logprob=-0.1, mean_logprob=-0.1,
                             finish_reason="stop")
    assert _row(item, greedy, None)["correct"] and not _row(replace(item, source="triviaqa"), greedy, None)["correct"]
    assert mmlu_letter_right("B) x", ["B. x"]) and not mmlu_letter_right("Both", ["B. x"])


def test_the_signal_table_judges_the_answers_against_an_appropriate_reply():
    """Issue 25: the greedy-reply signals over the replies that answer (abstentions left out), against an
    appropriate reply; by hand: max sequence probability exp(sum ln p) of a, d (appropriate) vs b, c."""
    from calibkit.tasks.idk.report import summary_text

    def row(id_, kind, abstained, appropriate, logprobs):
        return {"id": id_, "kind": kind, "reason": "r", "source": "s", "abstained": abstained, "correct": appropriate,
                "appropriate": appropriate, "reply": "x", "seq_prob": None, "greedy_token_logprobs": logprobs,
                "greedy_entropies": [0.5] * len(logprobs), "greedy_terminator_logprob": None,
                "sample_token_logprobs": [], "sample_terminator_logprobs": [], "sample_clusters": []}

    rows = [row("a", "answer", False, True, [-0.1]), row("b", "answer", False, False, [-1.0, -1.0]),
            row("c", "abstain", False, False, [-0.5]), row("d", "answer", False, True, [-1.0]),
            row("e", "abstain", True, True, [-0.01])]  # an abstention, most confident of all: left out
    s = summarize_rows(rows, n_resamples=20)
    table = s["signal_table"]
    # a .905 > b .135, a > c .607, d .368 > b, d < c: 3 of 4 pairs (with e, a positive above all: 5 of 6)
    assert table["n"] == 4 and table["signals"]["max_sequence_probability"]["auroc"]["estimate"] == 0.75
    assert set(table["signals"]) == {"max_sequence_probability", "perplexity", "mean_nll", "mean_token_entropy",
                                     "max_token_probability"}
    assert "needs sample_log_probs" in table["not_computed"]["semantic_entropy"]
    assert "free-answer signals of the 4 replies that answer" in summary_text(s)
    old = summarize_rows([{k: v for k, v in r.items() if not k.startswith(("greedy_", "sample_"))} for r in rows],
                         n_resamples=20)  # rows written before idk rows kept the signals' inputs
    assert old["signal_table"]["signals"] == {} and "signals not reported: the rows do not keep" in summary_text(old)


# ------------------------------------------------------------------ scripted models, end to end


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """24 pairs in one split: the first 21 false-premise rules (Eiffel Tower's twin answers "Paris") and 3
    unknowable seeds."""
    rows = constructed_to_rows(false_premise_rows()[:42] + seed_rows("unknowable")[:6])
    folder = tmp_path_factory.mktemp("idk-pairs") / "ds"
    write_dataset([replace(r, split="test") for r in rows], folder, manifest={}, card="")
    return folder


def scripted(tokenizer, reply: str):
    """A tiny Llama that, after the base form's final ":", writes ``reply`` and ends (a bigram script)."""
    import torch

    from tiny_models import loaded, tiny_llama

    class Bigram(torch.nn.Module):
        def __init__(self, follow: dict[int, int]):
            super().__init__()
            self.inner = tiny_llama(len(tokenizer), seed=0)
            self.config, self.generation_config = self.inner.config, self.inner.generation_config
            self.table = torch.full((len(tokenizer),), tokenizer.eos_token_id, dtype=torch.long)
            for a, b in follow.items():
                self.table[a] = b

        def get_input_embeddings(self):
            return self.inner.get_input_embeddings()

        def forward(self, input_ids=None, **kwargs):
            out = self.inner(input_ids=input_ids, **kwargs)
            logits = torch.full_like(out.logits, -1e4)  # the positions read (logits_to_keep): the last ones
            read = input_ids[:, input_ids.shape[1] - logits.shape[1]:]
            out.logits = logits.scatter(-1, self.table[read][..., None], 0.0)
            return out

    colon = tokenizer.convert_tokens_to_ids(":")
    script = [colon, *tokenizer(reply, add_special_tokens=False)["input_ids"]]
    assert len(set(script)) == len(script)  # each token names its successor
    return loaded(Bigram(dict(zip(script, script[1:]))), tokenizer, name=reply)


def run_scripted(dataset, tokenizer, reply, out):
    import calibkit as ck

    settings = ck.RunSettings(model=f"scripted-{len(reply)}", out=out, chat_template="off", progress=False)
    (outcome,) = ck.run_task("idk", settings, loaded=scripted(tokenizer, reply), dataset=dataset, split="test",
                             max_new_tokens=8)
    return outcome.store


def test_scripted_models_evasive_and_hallucinating(dataset, tiny_model_dir, tmp_path, capsys):
    """A model that always says "I don't know." is evasive on every pair; one that always says "Paris" answers
    everything and gets one twin right (the Eiffel Tower); compare pairs them over the 24 pairs."""
    from transformers import AutoTokenizer

    from conftest import run_cli

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    evasive = run_scripted(dataset, tokenizer, "I don't know.", tmp_path)
    paris = run_scripted(dataset, tokenizer, "Paris", tmp_path)
    assert {r["reply"] for r in evasive.rows()} == {"I don't know."} and {r["reply"] for r in paris.rows()} == {"Paris"}
    # issue 25: the reply's signal inputs; the script leaves the model no doubt (ln p = 0 = entropy), no samples
    n_tokens = len(tokenizer("Paris", add_special_tokens=False)["input_ids"])
    assert all(r["greedy_token_logprobs"] == r["greedy_entropies"] == [0.0] * n_tokens for r in paris.rows())
    assert all(r["greedy_terminator_logprob"] == 0.0 and r["sample_token_logprobs"] == r["sample_clusters"] == []
               for r in paris.rows())
    s = summarize_rows(evasive.rows(), n_resamples=200)
    every = s["evasiveness"][0]
    assert (s["n_pairs"], every["pairs"], every["evasive"]["estimate"], every["difference"]["difference"]) == (
        24, 24, 1.0, 0.0)
    assert s["rates"]["over_abstention"]["estimate"] == s["rates"]["abstention"]["estimate"] == 1.0
    s = summarize_rows(paris.rows(), n_resamples=200)
    every, fp = s["evasiveness"][:2]
    assert every["hallucinating"]["estimate"] == 1.0 and every["twin_accuracy"]["estimate"] == 1 / 24
    assert fp["category"] == "false_premise" and fp["pairs"] == 21 and fp["twin_accuracy"]["estimate"] == 1 / 21
    assert s["rates"]["appropriate"]["estimate"] == 1 / 48
    code, out, err = run_cli(capsys, "compare", str(evasive.path), str(paris.path), "--out",
                             str(tmp_path / "c.html"), "--resamples", "200", "--json")
    assert code == 0, err
    compared = json.loads(out)
    table = {(r["metric"], r["category"], r["run"]): r for r in compared["metrics"]}
    second = compared["runs"][1]
    evasive_pairs = table[("evasive_pairs", "all", second)]
    assert (evasive_pairs["estimate"], evasive_pairs["difference"], evasive_pairs["n"]) == (0.0, -1.0, 24)
    assert evasive_pairs["p_value"] == pytest.approx(1 / 201)  # no swap pattern of 24 pairs reaches |D| = 1
    assert table[("discrimination", "false_premise", second)]["difference"] == 0.0
    assert table[("over_abstention_twins", "unknowable", second)]["note"] == "n too small for an interval (n=3 < 20)"
    # the write-up (issue 27): the rates table, paired as compare pairs them, and the dataset the runs read
    from calibkit.paper import Attachment, Cell
    from calibkit.runs.registry import task_of_run

    rates, copy = task_of_run(evasive.config).paper_parts([evasive, paris])
    assert (rates.name, copy.name, copy.content) == ("idk-rates", "idk-dataset", Attachment((Path(dataset),)))
    assert copy.runs == (str(evasive.path), str(paris.path))
    row = next(r for r in rates.content.rows if r[:2] == ("evasive_pairs", "all"))
    assert row[2:5] == (Cell(1.0, 1.0, 1.0, n=24), Cell(0.0, 0.0, 0.0, n=24), Cell(-1.0, -1.0, -1.0, n=24, signed=True))


def test_an_old_dataset_without_twins_still_runs(dataset, tmp_path):
    """Rows written before twins (no group, no pair): the benchmark runs, and says there are no pairs."""
    from calibkit.tasks.idk.report import summary_text

    rows = [{k: v for k, v in json.loads(line).items() if k not in ("group", "pair")}
            for line in (dataset / "jsonl" / "test.jsonl").read_text().splitlines()]
    s = summarize_rows([{**r, "abstained": False, "correct": False, "appropriate": False} for r in rows],
                       n_resamples=20)
    assert s["n_pairs"] == 0 and "twin pairs: none in this split" in summary_text(s)
    assert np.isclose(s["rates"]["abstention"]["estimate"], 0.0)


@pytest.mark.parametrize("chat", [False, True], ids=["base", "chat"])
def test_replies_are_decoded_by_the_answering_routine_as_before(chat, monkeypatch):
    """idk's replies go through the free-answer Answerer: the texts the model continues and the decoding are
    exactly idk's own loop's (base: "Question: <prompt>\\nAnswer:" as written, stops at a blank line; chat: the
    prompt alone as the user turn, ends at the end of the turn), and each context is recorded for `calibkit show`."""
    from calibkit.engine import generation
    from calibkit.engine.chat import render_chat
    from calibkit.records import Turn
    from calibkit.tasks.free_answer.answering import Answerer
    from calibkit.tasks.idk.run import BASE_STOP, context_of, decoding

    from conftest import shared_path
    from tiny_models import llama2_tokenizer

    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    kept, seen = [], []
    run = SimpleNamespace(chat=chat, model=SimpleNamespace(tokenizer=tok, max_length=64),
                          settings=SimpleNamespace(system_prompt=None, token_budget=512),
                          store=SimpleNamespace(keep_texts=lambda readings: kept.extend(readings)))
    monkeypatch.setattr(generation, "generate", lambda model, texts, config: seen.append((texts, config)) or [])
    items = [IdkItem("a/1", "Who is  the\nking of Mars?", "abstain", "false_premise", "constructed", ()),
             IdkItem("b/2", "2 + 2?", "answer", "known", "triviaqa", ("4", "four"))]
    Answerer(run, decoding(6), answer_fields=("reply",)).generate([context_of(it) for it in items])
    (texts, config), = seen
    old = [render_chat(tok, (Turn("user", it.prompt),), system_prompt=None) if chat
           else f"Question: {it.prompt}\nAnswer:" for it in items]
    assert texts == old
    assert config == generation.GenerationConfig(max_new_tokens=6, stop=() if chat else BASE_STOP, progress=False,
                                                 token_budget=512)
    assert [i for i, _ in kept] == ["a/1", "b/2"] and [r.answer_fields for _, r in kept] == [("reply",)] * 2
