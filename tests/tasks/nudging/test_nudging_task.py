"""`calibkit run nudging` end to end on tiny models, and the study's numbers from hand-built rows."""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pytest

from calibkit.stats.bootstrap import too_few
from calibkit.tasks.nudging.study import summarize_rows
from calibkit.tasks.nudging.task import parse_gammas

from conftest import rerun_and_compare, run_cli


def test_gammas_parse_and_bad_ones_are_one_line_errors(capsys):
    assert parse_gammas("0.4,0.1, 0.4") == (0.1, 0.4)
    code, out, err = run_cli(capsys, "run", "nudging", "--gamma", "0.4,1.5")
    assert code == 2 and "every gamma must be in [0, 1]" in err and "Traceback" not in err
    code, out, err = run_cli(capsys, "run", "nudging", "--gamma", "high")
    assert code == 2 and "give numbers in [0, 1]" in err


def test_the_rule_option_defaults_to_the_authors_code():
    from calibkit.engine.nudging import RULES
    from calibkit.tasks.nudging.task import RULES as TASK_RULES, Nudging

    command = Nudging().run_command()
    rule = next(p for p in command.params if p.name == "rule")
    assert rule.default == "reference" and tuple(rule.type.choices) == TASK_RULES == RULES
    assert "--rule reference" in command.help and "--rule word-start" in command.help


def test_run_on_tiny_models_resumes_and_reports(capsys, tmp_path, tiny_base_dir, tiny_model_dir, one_thread):
    argv = ["run", "nudging", "--base", str(tiny_base_dir), "--nudger", str(tiny_model_dir),
            "--questions", "basic_arithmetic",
            "--limit", "3", "--shots", "1", "--gamma", "0,0.3,1", "--max-new-tokens", "6", "--quiet",
            "--out", str(tmp_path), "--json"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    run = Path(json.loads(out)["report"]).parent
    config = json.loads((run / "config.json").read_text())
    assert config["models"]["base"]["chat_template"] is False and config["models"]["nudger"]["chat_template"] is True
    assert config["gammas"] == [0.0, 0.3, 1.0] and config["source"] == "basic_arithmetic"
    assert (config["rule"], config["nudger_tokens"], config["base_tokens"], config["max_rounds"]) == \
        ("reference", 16, 16, 150)
    rows = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 3
    for r in rows:
        for a in r["nudged"].values():
            assert "".join(w["text"] for w in a["words"]) == a["raw"].rstrip()
            assert "".join(text for text, _ in a["spans"]) == a["raw"]
            assert [w["text"].strip() for w in a["words"]] == a["raw"].split()  # whitespace-separated words
            assert all(w["class"] in ("function", "content", "punctuation") for w in a["words"])
            assert a["n_base_tokens"] + a["n_nudger_tokens"] <= 6
            assert not a["words"] or a["words"][0]["by"] == "nudger"  # the authors' nudger writes the first word
        for a in (r["base"], r["nudger"], *r["nudged"].values()):
            assert a["seq_prob"] is None or 0.0 < a["seq_prob"] <= 1.0
    summary = json.loads((run / "summary.json").read_text())
    assert [a["condition"] for a in summary["accuracy"]] == ["base", "nudger", "nudged gamma=0.0",
                                                           "nudged gamma=0.3", "nudged gamma=1.0"]
    assert "Nudging" in (run / "report.html").read_text()
    metrics = rerun_and_compare(capsys, argv[:-1], run, tmp_path, n=3)["metrics"]
    assert len(metrics) == 10 and all(m["difference"] == 0.0 for m in metrics[5:])
    # the shared comparison's rows: the estimate (was "accuracy") with n; three questions: no interval, no p
    assert all(m["metric"] == "accuracy" and m["n"] == 3 and m["note"] == too_few(3) and m["low"] is None
               and m["p_value"] is None and m["test"] is None for m in metrics)
    assert [m["estimate"] for m in metrics[5:]] == [m["estimate"] for m in metrics[:5]]


def _answer(correct, words, seq_prob):
    return {"correct": correct, "seq_prob": seq_prob,
            "words": [{"text": t, "by": by, "class": cls, "base_top1": 0.5} for t, by, cls in words]}


@pytest.mark.parametrize("name", ["tokens", "nudging", "rhymes"])
def test_each_pair_task_reads_its_runs_with_its_own_study_and_report(name, monkeypatch, tmp_path):
    """PairTask's reading, compare and paper_parts are the task's own study and report functions, called with the
    caller's arguments (one implementation for the three two-model tasks)."""
    import importlib

    from calibkit.tasks import REGISTRY
    from calibkit.tasks.base import RunReading

    study = importlib.import_module(f"calibkit.tasks.{name}.study")
    report = importlib.import_module(f"calibkit.tasks.{name}.report")
    (task,) = [t for t in REGISTRY if t.name == name]
    assert task.own_modules() == (study, report)
    assert task.reading() == RunReading(study.summarize_store, report.write_run_report, report.summary_text)
    calls = []
    monkeypatch.setattr(report, "compare_runs", lambda stores, **kw: calls.append(("compare", stores, kw)) or "c")
    monkeypatch.setattr(report, "paper_parts", lambda stores: calls.append(("paper", stores)) or ["p"])
    assert task.compare(["s1", "s2"], out=tmp_path / "c.html", n_resamples=7) == "c"
    assert task.paper_parts(["s1"]) == ["p"]
    assert calls == [("compare", ["s1", "s2"], {"out": tmp_path / "c.html", "n_resamples": 7}), ("paper", ["s1"])]


def test_study_numbers_by_hand():
    w = ("x", "base", "content")
    rows = [
        {"id": "q0", "base": _answer(False, [], 0.2), "nudger": _answer(True, [], 0.5),
         "nudged": {"0.4": _answer(True, [(" The", "nudger", "function"), w, (" end", "nudger", "content")], 0.9)}},
        {"id": "q1", "base": _answer(True, [], 0.8), "nudger": _answer(False, [], 0.4),
         "nudged": {"0.4": _answer(True, [w, w], 0.7)}},
        {"id": "q2", "base": _answer(False, [], 0.1), "nudger": _answer(False, [], 0.3),
         "nudged": {"0.4": _answer(False, [(" so", "nudger", "function"), w, w, w], 0.6)}},
    ]
    s = summarize_rows(rows, n_resamples=200)
    acc = {a["condition"]: a for a in s["accuracy"]}
    assert acc["base"]["accuracy"]["estimate"] == pytest.approx(1 / 3)
    assert acc["nudged gamma=0.4"]["accuracy"]["estimate"] == pytest.approx(2 / 3)
    assert acc["nudged gamma=0.4"]["minus_base"]["difference"] == pytest.approx(1 / 3)
    assert acc["nudged gamma=0.4"]["minus_nudger"]["difference"] == pytest.approx(1 / 3)
    words = s["words"]["nudged gamma=0.4"]
    assert words["nudged_words"] == 3 and words["base_words"] == 6
    assert words["nudged_share"]["estimate"] == pytest.approx(3 / 9)
    assert words["by_class"]["function"]["nudged"]["estimate"] == pytest.approx(2 / 3)
    assert words["by_class"]["content"]["base"]["estimate"] == pytest.approx(1.0)
    assert words["by_position"]["first word"] == pytest.approx(2 / 3)  # q0 and q2 open with a nudged word
    assert words["by_position"]["words 2-3"] == pytest.approx(1 / 5)
    assert dict(words["most_nudged"]) == {"the": 1, "end": 1, "so": 1}
    cal = s["calibration"]["nudged gamma=0.4"]
    # confidences .9 .7 .6 for right, right, wrong: every right answer outranks the wrong one
    assert cal["auroc"] == pytest.approx(1.0) and cal["mean_confidence"] == pytest.approx(2.2 / 3)


def _rows(n: int, right: dict[str, list[bool]]) -> list[dict]:
    """n Nudging rows whose base, nudger and nudged (gamma 0.4) answers are right as ``right`` says."""
    return [{"id": f"q{i:02d}", **{c: _answer(right[c][i], [], 0.5) for c in ("base", "nudger")},
             "nudged": {"0.4": _answer(right["nudged"][i], [(" x", "nudger", "content")], 0.5)}} for i in range(n)]


def test_small_n_rule_and_permutation_test_at_the_boundary(tmp_path):
    """19 vs 20 questions: the summary's and compare's intervals and p-values come from the shared paired
    comparison (the paired permutation test, named), n beside each; at 19 the estimates stand with the note."""
    from calibkit.runs.store import RunStore
    from calibkit.stats.paired import permutation_test
    from calibkit.tasks.nudging.report import accuracy_frame, compare_runs, summary_text
    from calibkit.tasks.reporting import comparison_caption

    right = {"base": [i % 3 == 0 for i in range(20)], "nudger": [i % 2 == 0 for i in range(20)],
             "nudged": [i % 4 != 0 for i in range(20)]}
    for n in (19, 20):
        s = summarize_rows(_rows(n, right), n_resamples=50)
        (nudged,) = [a for a in s["accuracy"] if a["condition"] == "nudged gamma=0.4"]
        d = nudged["minus_base"]
        y, b = (np.array(right[c][:n], float) for c in ("nudged", "base"))
        expected = permutation_test(np.mean, (y,), (b,), n_permutations=50, seed=0)
        assert d["difference"] == pytest.approx(y.mean() - b.mean()) and d["n"] == n
        text, frame = summary_text(s), accuracy_frame(s)
        assert list(frame.columns[:6]) == ["condition", "estimate", "95% CI low", "95% CI high", "n", "note"]
        assert "test" in frame.columns and (frame["n"] == n).all()
        if n == 19:
            assert d["note"] == too_few(19) and d["low"] is d["high"] is None
            assert nudged["accuracy"]["note"] == too_few(19) and nudged["accuracy"]["low"] is None
            assert f"accuracy {y.mean():.3f} [{too_few(19)}]" in text and f"vs base {y.mean() - b.mean():+.3f} [" \
                f"{too_few(19)}]" in text
        else:
            assert d["note"] is None and d["low"] <= d["difference"] <= d["high"]
            assert d["p_value"] == pytest.approx(expected.p_value) and d["test"] == expected.test
            assert f"vs base {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] p={d['p_value']:.3g} by " \
                f"{expected.test}" in text and "n too small" not in text and "n=20" in text
        if d["p_value"] is not None:  # every p-value names its test (from 6 questions on, also below 20)
            assert d["p_value"] == pytest.approx(expected.p_value) and d["test"] == expected.test
            assert f"by {expected.test}" in text

    stores = []
    for name, flip in (("first", False), ("second", True)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"task": "nudging"}))
        other = {**right, "nudged": [not x for x in right["nudged"]]} if flip else right
        (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows(20, other)))
        stores.append(RunStore.open(folder))
    outcome = compare_runs(stores, out=tmp_path / "c.html", n_resamples=50)
    metrics = outcome.json["metrics"]
    assert [(m["run"], m["condition"]) for m in metrics][:3] == [("first", "base"), ("first", "nudger"),
                                                              ("first", "nudged gamma=0.4")]
    (second,) = [m for m in metrics if m["run"] == "second" and m["condition"] == "nudged gamma=0.4"]
    y, b = np.array([not x for x in right["nudged"]], float), np.array(right["nudged"], float)
    expected = permutation_test(np.mean, (y,), (b,), n_permutations=50, seed=0)
    assert second["estimate"] == pytest.approx(y.mean()) and second["n"] == 20 and second["note"] is None
    assert second["difference"] == pytest.approx(-0.5) and second["p_value"] == pytest.approx(expected.p_value)
    assert second["test"] == expected.test and f"by {expected.test}" in outcome.text and "20 shared questions" in \
        outcome.text and "n=20" in outcome.text
    page = outcome.report.read_text()
    assert html.escape(comparison_caption(what="questions")) in page and expected.test in page
    # the page shows each accuracy with its interval in one cell, the paper's format (issue 27)
    assert f"{y.mean():.3f} [{second['low']:.3f}, {second['high']:.3f}]" in page
    # the write-up's table: the same paired numbers (1,000 resamples), second minus first, named as compare names them
    from calibkit.paper import Cell, PValue
    from calibkit.tasks.nudging.report import comparison_frame, paper_parts

    (part,) = paper_parts(stores)
    assert part.name == "nudging-accuracy" and part.content.columns == ("condition", "first", "second",
                                                                        "Δ second − first", "p")
    frame = comparison_frame(stores)[2]
    row = frame[(frame.run == "second") & (frame.condition == "nudged gamma=0.4")].iloc[0].to_dict()
    assert part.content.rows[2][2:] == (Cell.of(row), Cell.of_difference(row), PValue(row["p_value"], row["test"]))
    assert part.content.rows[2][3].estimate == pytest.approx(-0.5)
