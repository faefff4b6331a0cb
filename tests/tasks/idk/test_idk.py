"""The "I don't know" dataset builder and abstention benchmark: rules, splits, round trips, the commands."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calibkit.records import ScoredItem
from calibkit.tasks.idk.abstain import appropriate
from calibkit.tasks.idk.dataset import (SPLITS, DatasetError, Row, Thresholds, assign_splits, constructed_to_rows,
                                        free_answer_rows, mmlu_rows, normalized_prompt)

from conftest import run_cli

pytestmark = pytest.mark.usefixtures("one_thread")


def pik_row(i, *, correct, label, pik=0.3):
    return {"id": f"triviaqa/x/validation/{i}", "question": f"Question {i}?", "aliases": [f"ans{i}", f"alt{i}"],
            "prediction": f"ans{i}" if correct else "nope", "correct": correct, "label": label, "n_samples": 10,
            "p_ik_prompt": pik, "p_true": 0.6}


def test_free_answer_rows_follow_the_thresholds():
    rows = [pik_row(0, correct=True, label=0.9), pik_row(1, correct=True, label=0.5),
            pik_row(2, correct=False, label=0.1), pik_row(3, correct=False, label=0.1, pik=0.9),
            pik_row(4, correct=False, label=0.8), pik_row(5, correct=True, label=0.8)]
    out, left = free_answer_rows(rows, source="triviaqa", run="r", thresholds=Thresholds(), seed=0)
    assert [(r.id, r.kind, r.reason) for r in out] == [
        ("triviaqa/x/validation/0", "answer", "known"), ("triviaqa/x/validation/2", "abstain", "unknown_to_model"),
        ("triviaqa/x/validation/5", "answer", "known")]
    assert left == 3  # half right; a confident P(IK) on a wrong answer; right samples but a wrong greedy answer
    assert out[0].response == "ans0" and out[0].answers == ("ans0", "alt0") and out[1].answers == ()
    assert out[0].evidence == {"sample_accuracy": 0.9, "n_samples": 10, "p_ik": 0.3, "p_true": 0.6,
                               "model_answer": "ans0", "model_correct": True, "run": "r"}
    assert [r.group for r in out] == [r.id for r in out] and {r.pair for r in out} == {""}  # one source question
    with pytest.raises(DatasetError, match="need 0 <= --idk-threshold < --answer-threshold"):
        Thresholds(answer=0.2, idk=0.5)


def test_mmlu_rows_read_the_right_options_probability():
    def item(i, logprobs, answer):
        return ScoredItem(id=f"mmlu/anatomy/test/{i}", task="mmlu", options=(" A", " B", " C", " D"),
                          logprobs=logprobs, answer=answer,
                          meta={"question": f"Q{i}?", "choices": ["w", "x", "y", "z"]})
    sure = item(0, (np.log(0.9), np.log(0.05), np.log(0.03), np.log(0.02)), 0)
    wrong = item(1, (np.log(0.9), np.log(0.05), np.log(0.03), np.log(0.02)), 2)
    unsure = item(2, (np.log(0.4), np.log(0.3), np.log(0.2), np.log(0.1)), 0)
    out, left = mmlu_rows([sure, wrong, unsure], run="r", thresholds=Thresholds(), seed=0)
    assert [(r.kind, r.response) for r in out][0] == ("answer", "A. w") and out[1].kind == "abstain" and left == 1
    assert out[0].prompt == "Q0?\nA. w\nB. x\nC. y\nD. z"
    assert out[1].evidence["sample_accuracy"] == pytest.approx(0.03)


def test_splits_are_by_question_and_deterministic():
    rows = [Row(f"r{i}", f"Question number {i % 1500}?", "x", "answer", "known", "s") for i in range(3000)]
    a, b = assign_splits(rows, seed=3), assign_splits(rows, seed=3)
    assert a == b and len(a) == 1500  # a question two rows share is kept once
    assert len({normalized_prompt(r.prompt) for r in a}) == len(a)
    shares = [sum(r.split == s for r in a) / len(a) for s in SPLITS]
    np.testing.assert_allclose(shares, [0.8, 0.1, 0.1], atol=0.03)
    assert [r.split for r in assign_splits(rows, seed=4)] != [r.split for r in a]


def crossing_groups(rows):
    """The group keys whose rows lie in more than one split."""
    splits = {}
    for r in rows:
        splits.setdefault(r.group, set()).add(r.split)
    return {g for g, s in splits.items() if len(s) > 1}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_group_crosses_splits(seed):
    """Twins, the after-cutoff rows of one template and a source question's rows each land in one split (by prompt,
    almost every pair would be split apart: 1 - (0.8^2 + 0.1^2 + 0.1^2) = 34% of pairs)."""
    import datetime

    from calibkit.tasks.idk.constructed import constructed_rows

    made = constructed_to_rows(constructed_rows(datetime.date(2022, 6, 30), today=datetime.date(2026, 12, 1)))
    free, _ = free_answer_rows([pik_row(i, correct=i % 2 == 0, label=0.9 if i % 2 == 0 else 0.0) for i in range(40)],
                               source="triviaqa", run="r", thresholds=Thresholds(), seed=0)
    dup = Row("nq_open/dup", made[1].prompt, "x", "answer", "known", "nq_open", ("x",), group="nq_open/dup")
    rows = assign_splits([*free, dup, *made], seed=seed)
    assert not crossing_groups(rows)
    assert "nq_open/dup" not in {r.id for r in rows}  # a model row asking a twin's question gives way to the pair
    by_id = {r.id: r for r in rows}
    assert all(by_id[r.pair].split == r.split for r in rows if r.pair)
    template = [r for r in rows if r.group == "constructed/after_cutoff/nobel_physics"]
    assert len(template) == 6 and len({r.split for r in template}) == 1  # 2022-2024 and their twins
    assert {r.split for r in rows} == set(SPLITS)


def test_appropriate():
    assert appropriate("answer", False, True) and not appropriate("answer", True, True)
    assert appropriate("abstain", True, False) and not appropriate("abstain", False, True)


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("idk")
    argv = ["idk", "build", "--model", str(tiny_model_dir), "--limit", "12", "--samples", "2", "--cutoff",
            "2024-01-01", "--chat-template", "off", "--quiet", "--out", str(root / "ds"), "--runs", str(root / "runs")]
    from calibkit.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    return root, argv


def test_the_dataset_round_trips_through_datasets_and_is_deterministic(built, capsys):
    import datasets

    root, argv = built
    folder = root / "ds"
    jsonl = {s: [json.loads(x) for x in (folder / "jsonl" / f"{s}.jsonl").read_text().splitlines()] for s in SPLITS}
    dd = datasets.load_from_disk(str(folder))
    for split in SPLITS:
        assert [r["id"] for r in dd[split]] == [r["id"] for r in jsonl[split]]
        assert [json.loads(r["evidence"]) for r in dd[split]] == [r["evidence"] for r in jsonl[split]]
    ids = [r["id"] for rows in jsonl.values() for r in rows]
    prompts = [normalized_prompt(r["prompt"]) for rows in jsonl.values() for r in rows]
    assert len(set(ids)) == len(ids) and len(set(prompts)) == len(prompts)
    reasons = {r["reason"] for rows in jsonl.values() for r in rows}
    assert {"after_cutoff", "false_premise", "unknowable", "private", "polite_evasion"} <= reasons
    every = [r for rows in jsonl.values() for r in rows]
    # the tiny model knows nothing, yet the dataset holds both kinds: every constructed abstention has its twin
    assert {r["kind"] for r in every} == {"answer", "abstain"}
    by_id = {r["id"]: r for r in every}
    made = [r for r in every if r["source"] == "constructed"]
    assert all(by_id[r["pair"]]["pair"] == r["id"] and by_id[r["pair"]]["split"] == r["split"] for r in made)
    assert sum(r["kind"] == "answer" for r in made) == sum(r["kind"] == "abstain" for r in made) >= 138
    groups = {}
    for r in every:
        groups.setdefault(r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in groups.values())
    assert {r["group"] for r in dd["train"]} <= {r["group"] for r in jsonl["train"]}
    card = (folder / "README.md").read_text()
    assert "## Categories: where each comes from" in card and "CC BY-SA 3.0" in card
    assert "## Twin balance" in card and "| false_premise / true_premise | 39 | 39 |" in card
    for reason in ("known", "unknown_to_model", "before_cutoff", "true_premise", "knowable", "public_fact", "neutral"):
        assert f"| `{reason}` |" in card
    assert "rows come from the model's own knowledge" in card and "https://www.nobelprize.org/prizes/" in card
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["cutoff"] == "2024-01-01" and set(manifest["runs"]) == {"triviaqa", "nq_open"}
    assert manifest["after_cutoff_without_twin"] == []
    before = {s: (folder / "jsonl" / f"{s}.jsonl").read_bytes() for s in SPLITS}
    code, out, err = run_cli(capsys, *argv)  # the runs are on disk: nothing is scored again, same rows
    assert code == 0, err
    assert {s: (folder / "jsonl" / f"{s}.jsonl").read_bytes() for s in SPLITS} == before


@pytest.mark.parametrize("extra, message", [
    (("--questions", "squad"), "--questions 'squad' is unknown; use any of triviaqa, nq_open, mmlu"),
    (("--source", "mmlu"), "calibkit: error: --source is now --questions (see"),  # the old spelling
    (("--samples", "0"), "--samples 0: a free-answer question is known or unknown"),
    (("--cutoff", "2999-01-01"), "is after today"),
])
def test_bad_build_input_is_one_line_and_exit_2(capsys, tmp_path, extra, message):
    code, _, err = run_cli(capsys, "idk", "build", "--out", str(tmp_path / "ds"), *extra)
    assert code == 2 and message in err and "Traceback" not in err


def test_the_benchmark_runs_resumes_and_compares(built, capsys, tmp_path, tiny_model_dir):
    root, _ = built
    argv = ("run", "idk", "--dataset", str(root / "ds"), "--split", "train", "--limit", "30", "--model",
            str(tiny_model_dir), "--chat-template", "off", "--max-new-tokens", "6", "--likelihood", "--quiet",
            "--out", str(tmp_path))
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_items"] == 30 and summary["n_abstain"] + summary["n_answer"] == 30
    rates = summary["rates"]
    assert rates["abstention"]["estimate"] + rates["under_abstention"]["estimate"] == pytest.approx(1.0)
    assert "abstention_likelihood" in rates and summary["by_reason"]
    every = summary["evasiveness"][0]
    assert every["category"] == "all" and every["pairs"] == summary["n_pairs"] > 0
    outcomes = sum(every[k]["estimate"] for k in ("discerning", "evasive", "hallucinating", "inverted"))
    assert outcomes == pytest.approx(1.0)
    run = Path(summary["report"]).parent
    rows = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert rates["appropriate"]["estimate"] == pytest.approx(np.mean([r["appropriate"] for r in rows]))
    page = (run / "report.html").read_text()
    assert "Evasiveness: twin pairs" in page and "Pair outcomes per category" in page
    code, out, err = run_cli(capsys, "report", str(run))  # from disk, no model: the paired lines are printed
    assert code == 0, err
    assert f"{summary['n_pairs']} twin pairs)" in out and "twin pairs: abstention on the unanswerable row" in out
    assert f"  all             {every['pairs']:>3} pairs: abstained " in out
    code, _, err = run_cli(capsys, *argv)
    assert code == 0 and "30 items were already scored, 0 scored now" in err
    other = tmp_path / "other"
    code, _, _ = run_cli(capsys, *argv[:-1], str(other), "--max-new-tokens", "3")
    second = next((other / "idk").glob("*/*"))
    code, out, err = run_cli(capsys, "compare", str(run), str(second), "--out", str(tmp_path / "c.html"), "--json")
    assert code == 0, err
    table = json.loads(out)["metrics"]
    assert {r["metric"] for r in table} == {"appropriate", "over_abstention", "abstention", "abstention_paired",
                                            "over_abstention_twins", "evasive_pairs", "discrimination"}
    # n beside every rate: its subset of the 30 shared rows; the appropriate rate (30 rows) is tested, and says how
    n = {r["metric"]: r["n"] for r in table if r["category"] in (None, "all")}
    assert n["appropriate"] == 30 and n["over_abstention"] + n["abstention"] == 30
    assert n["abstention_paired"] == n["over_abstention_twins"] == summary["n_pairs"] > 0
    appropriate = next(r for r in table if r["metric"] == "appropriate" and r["difference"] is not None)
    assert appropriate["note"] is None and appropriate["test"] == "permutation (1,000 random swaps)"
    assert all((r["note"] is None) == (r["n"] >= 20) for r in table)


def test_missing_dataset_is_a_one_line_error(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", "idk", "--dataset", str(tmp_path), "--out", str(tmp_path))
    assert code == 2 and "pass a folder written by `calibkit idk build`" in err
