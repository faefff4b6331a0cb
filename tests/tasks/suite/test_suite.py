"""`calibkit run suite`: every task of a set for each model, one page, base vs chat paired, resumable."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibkit.stats.bootstrap import too_few
from calibkit.stats.comparison import HEADLINE
from calibkit.tasks.suite import SUITES
from calibkit.tasks.suite.study import COLUMNS

from conftest import run_cli, shared_path

pytestmark = pytest.mark.usefixtures("one_thread")



@pytest.fixture(scope="module")
def second_model(tmp_path_factory) -> Path:
    """Another tiny Llama (other weights), standing in for a chat model beside the base one."""
    from tiny_models import llama2_tokenizer, tiny_llama

    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    folder = tmp_path_factory.mktemp("tiny-llama-chat")
    tiny_llama(tok.vocab_size, seed=7).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


METRICS = ("accuracy", "ece_quantile", "ece", "brier", "auroc")
PAIRED = ("smooth_ece", *METRICS)


def ece_equal_mass(items: list[dict]) -> float:
    """calibkit's top-label ECE over 10 equal-mass bins (Kadavath et al.'s binning; the binning itself is
    checked against a step-by-step transcription in test_scale.py) of a run's stored rows."""
    from calibkit.stats import metrics

    probs = [np.exp(np.array(it["logprobs"]) - np.logaddexp.reduce(it["logprobs"])) for it in items]
    conf = np.array([p.max() for p in probs])
    correct = np.array([int(np.argmax(p)) == it["answer"] for p, it in zip(probs, items)])
    return metrics.ece(conf, correct, n_bins=10, strategy="quantile")


def test_two_models_give_every_benchmark_paired_and_a_rerun_resumes(capsys, tmp_path, tiny_model_dir, second_model):
    argv = ("run", "suite", "--model", str(tiny_model_dir), "--model", str(second_model), "--limit", "2",
            "--chat-template", "off", "--quiet", "--out", str(tmp_path), "--resamples", "100")  # the least it takes
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0, err
    study = json.loads(out)
    benchmarks = [e.task for e in SUITES["kadavath"]]
    assert list(study["runs"]) == benchmarks and all(len(v) == 2 for v in study["runs"].values())
    rows = study["rows"]
    # paired: smooth ECE (the headline of every calibration comparison) and the suite's five metrics
    assert len(rows) == len(benchmarks) * 2 * len(PAIRED) and study["headline_ece"] == "ece_quantile"
    base, other = study["models"]
    for b in benchmarks:
        for model in (base, other):  # smooth ECE leads each benchmark's paired rows
            assert [r["metric"] for r in rows if r["benchmark"] == b and r["model"] == model] == list(PAIRED)
        for metric in PAIRED:
            (a,) = [r for r in rows if r["benchmark"] == b and r["model"] == base and r["metric"] == metric]
            (c,) = [r for r in rows if r["benchmark"] == b and r["model"] == other and r["metric"] == metric]
            assert a["difference"] is None and a["n_items"] == c["n_items"]
            if c["estimate"] is not None and a["estimate"] is not None:
                assert c["difference"] == pytest.approx(c["estimate"] - a["estimate"])
            if b != "mmlu":  # issue 31: two items each: the estimates alone, no interval, no p-value, and why
                for r in (a, c):
                    assert r["note"] == too_few(2) and r["low"] is r["high"] is None
                assert c["diff_low"] is c["diff_high"] is c["p_value"] is c["test"] is None
            elif c["estimate"] is not None:  # 114 items: interval and a p with its test
                assert a["note"] is c["note"] is None and c["low"] <= c["estimate"] <= c["high"]
                assert 0.0 < c["p_value"] <= 1.0 and c["test"] == "permutation (100 random swaps)"
    mmlu_run = Path(study["runs"]["mmlu"][0])
    config = json.loads((mmlu_run / "config.json").read_text())
    assert config["format"] == "kadavath" and config["shots"] == 5 and (mmlu_run / "report.html").exists()
    mmlu = [json.loads(x) for x in (mmlu_run / "results.jsonl").read_text().splitlines()]
    assert len(mmlu) == 2 * 57  # --limit is per subject for MMLU
    # the Kadavath suite's ECE is theirs: 10 equal-mass bins (MMLU's 114 items, read off results.jsonl)
    (ece,) = [r["estimate"] for r in rows if r["benchmark"] == "mmlu" and r["model"] == base
              and r["metric"] == "ece_quantile"]
    assert ece == pytest.approx(ece_equal_mass(mmlu))
    # accuracy in the suite table is the run's own: read it off results.jsonl
    arc = [json.loads(x) for x in (Path(study["runs"]["arc_easy"][1]) / "results.jsonl").read_text().splitlines()]
    (acc,) = [r["estimate"] for r in rows if r["benchmark"] == "arc_easy" and r["model"] == other
              and r["metric"] == "accuracy"]
    assert acc == pytest.approx(np.mean([int(np.argmax(it["logprobs"])) == it["answer"] for it in arc]))
    page = Path(study["report"]).read_text()
    assert "ECE as Kadavath et al. (top-label, 10 equal-mass bins) per benchmark" in page
    assert "ECE (top-label, 10 equal-width bins) per benchmark" in page
    assert "stand in for them" in page and Path(study["csv"]).exists()

    assert "no interval drawn: " + too_few(2).replace("<", "\\u003c") in page  # the two-item benchmarks are marked
    csv = pd.read_csv(study["csv"])
    assert list(csv.columns) == list(COLUMNS)
    two = csv[csv.benchmark != "mmlu"]
    assert (two.note == too_few(2)).all() and two[["low", "high", "p_value", "test"]].isna().all().all()

    code, out, err = run_cli(capsys, *argv)  # everything is on disk: nothing is scored again
    assert code == 0 and "ΔECE equal-mass" in out and "ECE equal-width" in out and "arc_challenge" in out
    assert HEADLINE in out
    for line in out.splitlines():
        if line.startswith(("arc_", "openbookqa", "commonsense_qa", "hellaswag", "piqa")):
            # issue 31's done-means: no interval and no p-value for two items, and the line says why, once
            assert line.count(f"[{too_few(2)}]") == 1 and "p=" not in line
            assert not re.search(r"\[[-+]?\d\.", line), line  # no bound ([1] is a note marker)
        elif line.startswith("mmlu") and other in line:
            assert re.search(r"Δsmooth ECE [-+]\d\.\d{3} \[[-+]\d\.\d{3}, [-+]\d\.\d{3}\] p=\S+ by permutation", line)
    assert all(len(p and Path(p, "results.jsonl").read_text().splitlines()) > 0 for v in study["runs"].values()
               for p in v)


def test_one_model_reads_each_runs_summary_and_shows_its_departures(capsys, tmp_path, tiny_model_dir):
    code, out, err = run_cli(capsys, "run", "suite", "--model", str(tiny_model_dir), "--suite", "lm-eval",
                             "--limit", "1", "--chat-template", "off", "--quiet", "--out", str(tmp_path), "--json")
    assert code == 0, err
    study = json.loads(out)
    assert len(study["runs"]) == 12 and all(r["difference"] is None for r in study["rows"])
    for benchmark, (run,) in study["runs"].items():
        summary = json.loads((Path(run) / "summary.json").read_text())
        for metric in ("ece", "ece_quantile"):
            (row,) = [r for r in study["rows"] if r["benchmark"] == benchmark and r["metric"] == metric]
            assert row["estimate"] == summary["metrics"][metric]["estimate"]
        # a run's departures are marked on its rows and written once under the table
        config = json.loads((Path(run) / "config.json").read_text())
        marks = {r["departures"] for r in study["rows"] if r["benchmark"] == benchmark}
        assert marks == {"".join(f"[{study['departures'].index(n) + 1}]" for n in config.get("departures", ()))}
    (boolq_note,) = json.loads((Path(study["runs"]["boolq"][0]) / "config.json").read_text())["departures"]
    assert "Title -- " in boolq_note  # the embedded BoolQ is not lm-eval's prompt
    split_notes = [n for n in study["departures"] if n.startswith("lm-eval scores")]  # embedded copies: validation only
    assert sorted(n.split()[2] for n in split_notes) == ["arc_challenge", "arc_easy", "openbookqa", "sciq"]
    assert sorted(study["departures"]) == sorted([boolq_note, *split_notes])
    k = study["departures"].index(boolq_note) + 1
    page = Path(study["report"]).read_text()
    assert html.escape(f"[{k}] {boolq_note}") in page and "Rows marked [n]" in page
    from calibkit.runs.store import RunStore
    from calibkit.tasks.suite.study import suite_study, suite_text

    again = suite_study("lm-eval", {b: [RunStore.open(p)] for b, (p,) in study["runs"].items()}, study["models"])
    lines = suite_text(again).splitlines()  # the text: the marker on BoolQ's line, the note once at the end
    assert [x.split()[0] for x in lines if x.endswith(f"  [{k}]")] == ["boolq"]
    assert f"[{k}] {boolq_note}" in lines


@pytest.mark.parametrize("extra, message", [
    (("--model", "m1", "--model", "m1"), "the same model is given twice"),
    (("--suite", "bigbench"), "'bigbench' is not one of 'kadavath', 'lm-eval'"),
    (("--run-dir", "x"), "No such option '--run-dir'"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, extra, message):
    code, _, err = run_cli(capsys, "run", "suite", *extra, "--out", str(tmp_path))
    assert code == 2 and message in err and "Traceback" not in err


def _option_run(folder: Path, model: str, probs: np.ndarray, answers: np.ndarray, task: str) -> Path:
    """A hand-made multiple-choice run folder: config.json and one results row per item (ln P of each option)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"task": task, "model": model}))
    rows = [{"id": f"{task}/{i:03d}", "task": task, "options": ["A", "B", "C", "D"], "logprobs": np.log(p).tolist(),
             "answer": int(a)} for i, (p, a) in enumerate(zip(probs, answers))]
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_paired_rows_are_the_shared_comparison_and_the_small_n_rule_holds_at_its_boundary(tmp_path):
    """19 vs 20 items, hand-made runs: the rows are calibkit.stats.comparison's (smooth ECE first, the
    permutation test's p); at 19 the estimates and differences stand alone in JSON, CSV, text and page, with
    the note; at 20 every row has its interval and n."""
    from calibkit.runs.store import RunStore
    from calibkit.stats.paired import permutation_test
    from calibkit.tasks.suite.report import write_suite_report
    from calibkit.tasks.suite.study import suite_study, suite_text

    rng = np.random.default_rng(3)
    logits = rng.normal(size=(20, 4))
    answers = rng.integers(0, 4, 20)
    base = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    chat = np.exp(3 * logits) / np.exp(3 * logits).sum(1, keepdims=True)  # the same answers, sharper
    runs = {}
    for task, n in (("arc_easy", 19), ("piqa", 20)):
        runs[task] = [RunStore.open(_option_run(tmp_path / task / name, name, p[:n], answers[:n], task))
                      for name, p in (("base", base), ("chat", chat))]
    study = suite_study("kadavath", runs, ["base", "chat"], n_resamples=50)
    t = study.table
    assert list(t.columns) == list(COLUMNS) and list(t.metric[:6]) == list(PAIRED)
    small, full = t[t.benchmark == "arc_easy"], t[t.benchmark == "piqa"]
    assert (small.n_items == 19).all() and (small.note == too_few(19)).all()
    assert small[["low", "high", "diff_low", "diff_high"]].isna().all().all()
    assert (full.n_items == 20).all() and full.note.isna().all() and full[["low", "high"]].notna().all().all()
    # accuracy's difference and p: the paired permutation test on the items' right/wrong (20 > 16 items: random
    # swaps, with the comparison's seed 0)
    right = [(np.argmax(p[:20], 1) == answers).astype(float) for p in (chat, base)]
    expected = permutation_test(np.mean, (right[0],), (right[1],), n_permutations=50, seed=0)
    (acc,) = full[(full.model == "chat") & (full.metric == "accuracy")].itertuples()
    assert acc.difference == 0.0 and acc.p_value == pytest.approx(expected.p_value) and acc.test == expected.test
    (sm,) = full[(full.model == "chat") & (full.metric == "smooth_ece")].itertuples()
    assert acc.diff_low <= 0.0 <= acc.diff_high and sm.test == "permutation (50 random swaps)" and sm.p_value > 0
    lines = suite_text(study).splitlines()
    assert lines[1] == HEADLINE
    (arc,) = [x for x in lines if x.startswith("arc_easy") and " chat " in x]
    (piqa,) = [x for x in lines if x.startswith("piqa") and " chat " in x]
    assert arc.endswith(f"  [{too_few(19)}]") and not re.search(r"\[[-+]?\d\.", arc) and "n=19" in arc
    assert too_few(20) is None and "n too small" not in piqa and "n=20" in piqa
    assert re.search(r" Δsmooth ECE [-+]\d\.\d{3} \[[-+]\d\.\d{3}, [-+]\d\.\d{3}\] p=\S+ by permutation \(50 random "
                     r"swaps\)  ΔECE equal-mass ", piqa)
    page, csv = write_suite_report(study, tmp_path / "page")
    text = page.read_text()
    assert "no interval drawn: " + too_few(19).replace("<", "\\u003c") in text  # the chart says why (JSON-escaped)
    titles = re.findall(r'"text":"([^"]*) per benchmark"', text)  # the charts, in order: smooth ECE first
    assert [t.split(" (")[0] for t in titles] == ["smooth ECE", "ECE as Kadavath et al.", "accuracy", "ECE", "Brier",
                                                  "AUROC"]
    table = pd.read_csv(csv)
    assert (table[table.benchmark == "arc_easy"].note == too_few(19)).all() and table.note.notna().sum() == 12
