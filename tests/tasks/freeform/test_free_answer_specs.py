"""The free-answer layer's spec table: one row per question source, read alike by every command."""
from __future__ import annotations

import json

import pytest

from calibkit.runs.runner import task_values
from calibkit.tasks.free_answer.specs import SOURCES, benchmark_names, load_questions
from calibkit.tasks.nq_open import NQOpen
from calibkit.tasks.pik.task import Pik
from calibkit.tasks.triviaqa import TriviaQA

from conftest import run_cli

NQ_ROWS = [{"question": f"who wrote book {i}", "answer": [f"author {i}"]} for i in range(6)]


@pytest.fixture()
def nq_file(tmp_path):
    path = tmp_path / "nq.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in NQ_ROWS))
    return str(path)


def test_the_tasks_defaults_are_their_rows():
    """`calibkit run triviaqa` / `nq_open` take shots, token bound and stop rule from their rows (NQ-open: lm-eval's)."""
    for task, name in ((TriviaQA(), "triviaqa"), (NQOpen(), "nq_open")):
        values = task_values(task, {})
        row = SOURCES[name]
        assert (values["shots"], values["max_new_tokens"], values["stop_rule"]) == (
            row.default_shots, row.max_new_tokens, row.stop_rule)
    assert (SOURCES["nq_open"].max_new_tokens, SOURCES["nq_open"].stop_rule) == (256, "first")
    assert (SOURCES["triviaqa"].max_new_tokens, SOURCES["triviaqa"].stop_rule) == (32, "after_leading_whitespace")
    assert benchmark_names() == ("triviaqa", "nq_open")


def test_pik_on_nq_open_decodes_as_nq_open_does(nq_file):
    """P(IK)'s NQ-open answers are cut anywhere at lm-eval's stops, up to 256 tokens (before: 32, after whitespace)."""
    from calibkit.tasks.pik.run import PikSettings

    (job,) = Pik().load(task_values(Pik(), {"questions": "nq_open", "data": nq_file, "samples": 2}))
    config = job.config
    assert (config["max_new_tokens"], config["stop_rule"], config["layout"], config["matcher"]) == (
        256, "first", "nq_open", "nq_open")
    gen = PikSettings.from_config(config).decoding().generation(token_budget=None)
    assert (gen.max_new_tokens, gen.stop_rule, gen.stop, gen.hidden_states) == (256, "first", ("\n", ".", ","), True)
    # the same questions and data config as `calibkit run nq_open` loads
    questions, data_config = NQOpen().questions(task_values(NQOpen(), {"data": nq_file}))
    assert [q.id for q in job.items] == [q.id for q in questions]
    assert {k: config[k] for k in data_config} == data_config


def test_pik_on_triviaqa_keeps_its_config(tmp_path):
    """TriviaQA's row decodes as before: 32 tokens, no stop_rule key (so existing run folders keep their hash)."""
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"question": f"Q{i}?", "aliases": [f"a{i}"]}) + "\n" for i in range(12)))
    (job,) = Pik().load(task_values(Pik(), {"data": str(path), "samples": 2}))
    assert job.config["max_new_tokens"] == 32 and "stop_rule" not in job.config


def test_freeform_sets_read_the_same_rows(nq_file):
    qs = load_questions("nq_open", data=nq_file, limit=3)
    assert (qs.layout, qs.matcher, qs.max_new_tokens, qs.stop_rule) == (
        SOURCES["nq_open"].layout, "nq_open", 256, "first")
    assert qs.config["source"] == "nq_open" and len(qs.questions) == 3


@pytest.mark.parametrize("argv, old", [
    (("run", "pik", "--task", "nq_open"), "--task"),
    (("idk", "build", "--out", "x", "--source", "mmlu"), "--source"),
])
def test_the_old_spelling_is_refused_with_a_hint(capsys, argv, old):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and f"calibkit: error: {old} is now --questions" in err and len(err.strip().splitlines()) == 1
