"""`calibkit run pik` on the tiny model: rows, hidden states on disk, a graceful report, the probe from disk."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calibkit.runs.store import RunStore
from calibkit.tasks.pik.hidden import read_states
from calibkit.tasks.pik.probe import split_of

from conftest import run_cli

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pik_run(tmp_path_factory, tiny_model_dir) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("pik")
    argv = ["run", "pik", "--model", str(tiny_model_dir), "--limit", "80", "--samples", "3", "--shots", "0",
            "--max-new-tokens", "3", "--chat-template", "off", "--quiet", "--out", str(out)]
    with pytest.raises(SystemExit) as exc:
        from calibkit.cli import main

        main(argv)
    assert exc.value.code == 0
    return next((out / "pik").glob("*/*")), argv


def test_rows_states_and_config(pik_run):
    run, _ = pik_run
    store = RunStore.open(run)
    rows = store.rows()
    assert len(rows) == 80 and all(r["n_samples"] == 3 and len(r["samples_correct"]) == 3 for r in rows)
    assert all(r["label"] == pytest.approx(r["n_correct"] / 3) and 0 <= r["p_ik_prompt"] <= 1 for r in rows)
    states = read_states(store, rows)
    recorded = store.recorded["hidden_states"]
    assert states.shape == (80, recorded["layers"], recorded["dim"]) == (80, 3, 64)  # embeddings + 2 layers
    assert sorted(p.name for p in (run / "hidden").iterdir()) == [f"{i:08d}.npy" for i in range(0, 80, 8)]
    config = json.loads((run / "config.json").read_text())
    assert config["source"] == "triviaqa" and config["matcher"] == "triviaqa" and config["samples"] == 3


def test_a_rerun_resumes_without_rewriting(capsys, pik_run):
    run, argv = pik_run
    before = {p.name: p.stat().st_mtime_ns for p in (run / "hidden").iterdir()}
    code, _, err = run_cli(capsys, *argv)
    assert code == 0 and "80 items were already scored, 0 scored now" in err
    assert {p.name: p.stat().st_mtime_ns for p in (run / "hidden").iterdir()} == before


def test_one_class_report_says_why_there_is_no_probe(capsys, pik_run):
    run, _ = pik_run
    code, out, _ = run_cli(capsys, "report", str(run), "--json")  # a random model is never right
    summary = json.loads(out)
    assert code == 0 and summary["layer"] is None and "nothing to separate" in summary["probe_error"]
    assert set(summary["predictors"]) == {"prompt"}


@pytest.fixture(scope="module")
def planted_report(pik_run, tmp_path_factory) -> tuple[Path, dict]:
    """Labels planted along one direction of layer 1's stored states; the report, fit from disk, as JSON."""
    run, _ = pik_run
    planted = tmp_path_factory.mktemp("planted")
    (planted / "hidden").mkdir()
    for f in (run / "hidden").iterdir():
        (planted / "hidden" / f.name).write_bytes(f.read_bytes())
    (planted / "config.json").write_text((run / "config.json").read_text())
    store = RunStore.open(run)
    rows = store.rows()
    x = read_states(store, rows)[:, 1]
    direction = np.linalg.svd(x - x.mean(0), full_matrices=False)[2][0]  # the states' main direction
    score = (x - x.mean(0)) @ direction
    p = 1 / (1 + np.exp(-6 * score / score.std()))
    rng = np.random.default_rng(0)
    with (planted / "results.jsonl").open("w") as fh:
        for r, pi in zip(rows, p):
            k = int(rng.binomial(20, pi))
            fh.write(json.dumps({**r, "n_samples": 20, "n_correct": k, "label": k / 20}) + "\n")
    from calibkit.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["report", str(planted), "--json"])
    assert exc.value.code == 0
    return planted, json.loads((planted / "summary.json").read_text())


def test_the_probe_reads_stored_states_and_finds_a_planted_signal(planted_report):
    planted, summary = planted_report
    rows = RunStore.open(planted).rows()
    assert summary["probe_error"] is None and summary["layer"] in (1, 2)
    assert summary["predictors"]["probe"]["auroc"]["estimate"] > 0.9
    assert summary["n_test"] == sum(split_of(r["id"]) == "test" for r in rows)
    assert "Validation AUROC by layer" in (planted / "report.html").read_text()


def test_the_summary_and_page_lead_with_the_papers_per_question_metrics(planted_report):
    """The stored prompted P(IK) of the test questions, judged by the paper's definitions step by step."""
    from test_pik_metrics import paper_auroc, paper_brier, sample_level

    planted, summary = planted_report
    test = [r for r in RunStore.open(planted).rows() if split_of(r["id"]) == "test"]
    p, labels = [r["p_ik_prompt"] for r in test], [r["n_correct"] / r["n_samples"] for r in test]
    prompt = summary["predictors"]["prompt"]
    assert prompt["auroc"]["estimate"] == pytest.approx(paper_auroc(p, labels), abs=1e-12)
    assert prompt["brier"]["estimate"] == pytest.approx(paper_brier(p, labels), abs=1e-12)
    k, n = np.array([r["n_correct"] for r in test]), np.array([r["n_samples"] for r in test])
    auroc, _, brier = sample_level(np.array(p), k, n)
    assert (prompt["sample_auroc"]["estimate"], prompt["sample_brier"]["estimate"]) == pytest.approx((auroc, brier))
    assert summary["n_test_ik"] == sum(y > 0.5 for y in labels)
    page = (planted / "report.html").read_text()
    for name in ("per question (paper)", "sample-level", "AUROC (per question, vs 1{label &gt; 0.5})",
                 "ECE (per question, 10 equal-mass bins)", "ECE (sample-level, 10 equal-width bins)"):
        assert name in page


def test_p_true_is_the_papers_prompt_with_its_six_examples(pik_run, tiny_model_dir):
    """P(True) of the greedy answer, read with Kadavath et al.'s appendix-A.5 prompt, as scoring it directly gives."""
    from calibkit.engine.models import load_model
    from calibkit.engine.scoring import ScoreConfig, score
    from calibkit.tasks.free_answer.question import Question
    from calibkit.tasks.free_answer.ptrue import paper_ptrue_examples, ptrue_prompt

    run, _ = pik_run
    rows = RunStore.open(run).rows()[:3]
    assert json.loads((run / "config.json").read_text())["ptrue_prompt"].startswith("paper")
    prompts = [ptrue_prompt(Question(id=r["id"], question=r["question"], aliases=tuple(r["aliases"])),
                            r["prediction"], correct=r["correct"], examples=paper_ptrue_examples(brainstorm=False))
               for r in rows]
    assert all(p.text.count("Proposed Answer:") == 7 for p in prompts)  # six examples, then the question
    scored = score(load_model(str(tiny_model_dir)), prompts, config=ScoreConfig(progress=False))
    assert [r["p_true"] for r in rows] == pytest.approx([s.probs()[0] for s in scored], abs=1e-6)


def test_the_write_up_table_is_the_comparison_table(pik_run):
    """Issue 27: `calibkit paper` gets P(IK)'s table from compare's numbers (here one run: no differences)."""
    from calibkit.paper import Cell
    from calibkit.runs.registry import task_of_run
    from calibkit.runs.store import RunStore
    from calibkit.tasks.pik.study import compare_runs

    store = RunStore.open(pik_run[0])
    (part,) = task_of_run(store.config).paper_parts([store])
    table = compare_runs([store]).table
    assert part.name == "pik-comparison" and part.runs == (str(store.path),)
    assert part.content.columns[-1] == table["run"][0] and len(part.content.rows) == len(table)
    assert part.content.rows[0][-1] == Cell.of(table.iloc[0].to_dict())



def test_rows_keep_the_free_answer_signals_inputs(pik_run):
    """Issue 25: a pik row keeps signal_fields of its greedy answer and samples, as a triviaqa row does."""
    from calibkit.tasks.free_answer.answers import MATCHERS
    from calibkit.tasks.free_answer.signal_inputs import answer_clusters, has_signal_fields

    rows = RunStore.open(pik_run[0]).rows()
    assert all(has_signal_fields(r) and len(r["sample_token_logprobs"]) == len(r["samples_raw"]) == 3 for r in rows)
    for r in rows:
        assert r["sample_clusters"] == list(answer_clusters(r["samples"], MATCHERS["triviaqa"]))
        if r["seq_prob"] is not None:  # the row's own seq_prob is exp(mean ln p) of the same greedy tokens
            assert np.exp(np.mean(r["greedy_token_logprobs"])) == pytest.approx(r["seq_prob"], abs=1e-4)
        assert all(x == round(x, 5) for x in r["greedy_entropies"])  # stored rounded, as triviaqa rows


def _pairwise_auroc(conf, target) -> float:
    """AUROC by its definition: P(conf of a positive > conf of a negative), ties half."""
    pos, neg = [c for c, t in zip(conf, target) if t], [c for c, t in zip(conf, target) if not t]
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))


def test_the_signal_table_judges_every_signal_against_the_papers_target(planted_report):
    """Issue 25: on the held-out questions, each signal and P(IK) against 1{label > 0.5}; old rows: a note."""
    from calibkit.tasks.pik import report, study

    planted, summary = planted_report
    table = summary["signal_table"]
    test = [r for r in RunStore.open(planted).rows() if split_of(r["id"]) == "test"]
    target = [r["n_correct"] / r["n_samples"] > 0.5 for r in test]
    assert table["n"] == len(test) and 0 < sum(target) < len(test)
    msp = [0.0 if not r["prediction"].strip() else float(np.exp(np.sum(r["greedy_token_logprobs"]))) for r in test]
    assert table["signals"]["max_sequence_probability"]["auroc"]["estimate"] == pytest.approx(
        _pairwise_auroc(msp, target), abs=1e-12)
    # the prompted P(IK) row is the predictors' own per-question AUROC, on the same questions and target
    assert table["signals"]["prompt"]["auroc"]["estimate"] == pytest.approx(
        summary["predictors"]["prompt"]["auroc"]["estimate"], abs=1e-12)
    assert {"semantic_entropy", "lexical_similarity", "probe"} <= set(table["signals"])
    assert "mean_pmi" in table["not_computed"] and table["not_stored"] is None
    assert "semantic_entropy" in report.summary_text(summary)
    assert "P(IK) beside the free-answer signals" in (planted / "report.html").read_text()

    old = planted.parent / "old"  # the same run written before pik rows kept the signals' inputs
    old.mkdir()
    (old / "hidden").symlink_to(planted / "hidden")
    (old / "config.json").write_text((planted / "config.json").read_text())
    dropped = ("samples_raw", "greedy_token_logprobs", "greedy_entropies", "greedy_terminator_logprob",
               "sample_token_logprobs", "sample_terminator_logprobs", "sample_clusters")
    (old / "results.jsonl").write_text("".join(json.dumps({k: v for k, v in r.items() if k not in dropped}) + "\n"
                                               for r in RunStore.open(planted).rows()))
    was = study.summarize_store(RunStore.open(old), n_resamples=50)
    assert set(was["signal_table"]["signals"]) == set(was["predictors"]) and was["signal_table"]["not_stored"]
    assert "signals not reported: the rows do not keep" in report.summary_text(was)
