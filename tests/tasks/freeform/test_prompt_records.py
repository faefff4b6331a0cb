"""Token-profile and Nudging runs keep the texts each model read (prompts.jsonl), as `calibkit show` prints them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibkit.runs.prompts import read_texts
from calibkit.runs.show import field
from calibkit.tasks.free_answer.layouts import generation_context
from calibkit.tasks.free_answer.specs import load_questions

from conftest import run_cli

DATA = str(Path(__file__).parents[2] / "fixtures" / "triviaqa_simple.jsonl")
pytestmark = pytest.mark.usefixtures("one_thread")


def _run(capsys, *argv) -> Path:
    code, out, err = run_cli(capsys, "run", *argv, "--data", DATA, "--limit", "1", "--shots", "1",
                             "--max-new-tokens", "3", "--quiet", "--json")
    assert code == 0, err
    return Path(json.loads(out)["report"]).parent


def test_two_model_runs_record_what_each_model_read(capsys, tmp_path, tiny_base_dir, tiny_model_dir):
    (question,) = load_questions("triviaqa", data=DATA, limit=1, shots=1).questions
    base_text = generation_context(question).text
    tokens = _run(capsys, "tokens", "--model", str(tiny_base_dir), "--model", str(tiny_model_dir),
                  "--out", str(tmp_path / "t"))
    nudging = _run(capsys, "nudging", "--base", str(tiny_base_dir), "--nudger", str(tiny_model_dir), "--gamma", "0.4",
                   "--out", str(tmp_path / "n"))
    for run, labels in ((tokens, {"answer/base", "answer/chat", "read/base/base", "read/base/chat", "read/chat/base",
                                  "read/chat/chat"}),
                        (nudging, {"answer/base", "answer/nudger", "read/base/base", "read/base/nudger",
                                   "read/base/gamma=0.4"})):
        texts = read_texts(run)
        readings = {r.label: r for r in texts[question.id]}
        # a reading per answer that was read: an empty answer is not read (tiny random models may write one)
        assert {"answer/base"} <= set(readings) <= labels, run
        assert readings["answer/base"].contexts == (base_text,)  # the base model reads its base-form prompt as is
        assert all(lab.startswith("answer/") or readings[lab].options for lab in readings)
    code, out, _ = run_cli(capsys, "show", str(tokens), "--item", question.id)
    assert code == 0 and "── answer/base" in out and base_text in out
    base_answer = next(json.loads(line) for line in (tokens / "results.jsonl").read_text().splitlines())
    written = field(base_answer, "answers.base.text")
    assert written is not None and repr(written) in out  # the answer the base model wrote, after the mark
