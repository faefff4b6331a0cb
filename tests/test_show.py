"""`calibkit run` keeps the text each row was computed from, and `calibkit show` prints it (tiny model)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibkit.engine.chat import render_pairs
from calibkit.runs.registry import task_named
from calibkit.runs.runner import task_values
from calibkit.runs.store import RunStore

from conftest import REPO, run_cli, shared_path

pytestmark = pytest.mark.usefixtures("one_thread")
MMLU = ("--subjects", "anatomy", "--limit", "2", "--shots", "1")


@pytest.fixture(scope="module")
def runs(tiny_model_dir, tmp_path_factory) -> dict[str, Path]:
    """One MMLU run with the chat template off and one with it on, and a TriviaQA run (chat on)."""
    from calibkit.cli import main

    out = tmp_path_factory.mktemp("show")
    common = ("--model", str(tiny_model_dir), "--quiet", "--out", str(out))
    argvs = {
        "off": ("run", "mmlu", "--data", str(shared_path("mmlu")), *MMLU, "--chat-template", "off", *common),
        "on": ("run", "mmlu", "--data", str(shared_path("mmlu")), *MMLU, "--chat-template", "on", *common),
        "trivia": ("run", "triviaqa", "--data", str(REPO / "tests" / "fixtures" / "triviaqa_simple.jsonl"),
                   "--limit", "2", "--shots", "1", "--samples", "1", "--max-new-tokens", "2", *common),
    }
    folders = {}
    for name, argv in argvs.items():
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        assert exc.value.code == 0
        folders[name] = max(out.glob("*/*/*/config.json"), key=lambda p: p.stat().st_mtime_ns).parent
    return folders


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def mmlu_prompts():
    task = task_named("mmlu")
    (job,) = task.load(task_values(task, {"data": str(shared_path("mmlu")), "subjects": "anatomy", "limit": 2,
                                          "shots": 1}))
    return job.items


@pytest.mark.parametrize("chat", ["off", "on"])
def test_each_row_keeps_the_exact_text_the_scorer_read(runs, tok, chat):
    store = RunStore.open(runs[chat])
    texts = store.texts()
    assert [r["id"] for r in store.rows()] == list(texts)
    for prompt in mmlu_prompts():
        (got,) = texts[prompt.id]
        pairs = render_pairs(prompt, tok, chat=chat == "on")
        assert got.contexts == (pairs[0][0],) and got.options == tuple(o for _, o in pairs)
        assert got.label == "scored" and got.logprobs_field == "logprobs"
        assert [t.role for t in got.turns] == ([] if chat == "off" else ["system", "user"])
    if chat == "off":
        assert got.contexts[0] == prompt.text and got.options == (" A", " B", " C", " D")
    else:
        assert got.contexts[0].startswith("<s>[INST] <<SYS>>") and got.options == ("A", "B", "C", "D")


def test_show_prints_the_text_a_mark_and_the_rows_numbers(capsys, runs):
    store = RunStore.open(runs["off"])
    row = store.rows()[1]
    code, out, err = run_cli(capsys, "show", str(runs["off"]), "--item", row["id"])
    assert code == 0, err
    prompt = mmlu_prompts()[1]
    lp = row["logprobs"]
    expected = [f"  [{i}] ⟫' {letter}'   ln P {lp[i]:.4f}   p {p:.3f}" + ("   ← answer" if i == row["answer"] else "")
                for i, (letter, p) in enumerate(zip("ABCD", store.items()[1].probs()))]
    assert out.splitlines()[0] == f"{row['id']}  ·  {runs['off']}  ·  chat template off"
    assert prompt.text + "⟫\n" + "\n".join(expected) + "\n" in out


def test_show_prints_a_generation_and_its_answers_from_the_row(capsys, runs):
    row = RunStore.open(runs["trivia"]).rows()[0]
    code, out, _ = run_cli(capsys, "show", str(runs["trivia"]), "--item", row["id"], "--turns")
    assert code == 0
    assert f"[/INST]⟫\n  greedy_raw ⟫{row['greedy_raw']!r}\n  samples_raw[0] ⟫{row['samples_raw'][0]!r}\n" in out
    assert "── triviaqa_ptrue:" in out and f"ln P {row['p_true_logprobs'][0]:.4f}" in out
    assert '  [user] "Answer the last question' in out  # --turns: the conversation before the template


def test_show_errors_are_one_line(capsys, runs, tmp_path):
    code, _, err = run_cli(capsys, "show", str(tmp_path / "nope"), "--item", "x")
    assert (code, err) == (2, f"calibkit: error: no folder {tmp_path / 'nope'}; pass a run folder written by "
                              "`calibkit run`\n")
    code, _, err = run_cli(capsys, "show", str(runs["off"]), "--item", "mmlu/anatomy/test/7")
    assert code == 2 and err.startswith("calibkit: error: no item 'mmlu/anatomy/test/7' in") and err.endswith(
        "(2 items); did you mean mmlu/anatomy/test/1, mmlu/anatomy/test/0?\n")


def test_show_says_when_a_run_predates_prompt_records(capsys, runs, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    for name in ("config.json", "results.jsonl"):
        (old / name).write_bytes((runs["off"] / name).read_bytes())
    code, _, err = run_cli(capsys, "show", str(old), "--item", "mmlu/anatomy/test/0")
    assert (code, err) == (2, f"calibkit: error: {old} predates prompt records (it has no prompts.jsonl); rerun its "
                              "command with another --out folder to record them\n")
    records = (runs["off"] / "prompts.jsonl").read_text().splitlines()
    kept = [x for x in records if json.loads(x).get("item") != "mmlu/anatomy/test/0"]  # resumed from an older run
    (old / "prompts.jsonl").write_text("\n".join(kept) + "\n")
    code, _, err = run_cli(capsys, "show", str(old), "--item", "mmlu/anatomy/test/0")
    assert code == 2 and "was stored before its run kept prompts" in err
