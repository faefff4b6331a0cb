"""`--words` on a free-answer run: the stage's fields in every row, its summary, text and page, and compare."""
from __future__ import annotations

import json

from conftest import REPO, run_cli

DATA = str(REPO / "tests" / "fixtures" / "triviaqa_simple.jsonl")


def _run(capsys, tmp_path, model_dir, *extra: str) -> tuple[str, dict]:
    code, out, err = run_cli(capsys, "run", "triviaqa", "--data", DATA, "--limit", "3", "--shots", "1",
                             "--samples", "1", "--max-new-tokens", "3", "--signals", "perplexity", "--words", "choose",
                             "--model", str(model_dir), "--quiet", "--out", str(tmp_path), *extra)
    assert code == 0, err
    return out, err


def test_words_choose_run_summary_page_and_compare(capsys, tmp_path, tiny_model_dir) -> None:
    out, _ = _run(capsys, tmp_path, tiny_model_dir)
    _run(capsys, tmp_path, tiny_model_dir, "--sample-temperature", "0.5")
    folders = sorted(p.parent for p in tmp_path.glob("*/*/*/config.json"))
    assert len(folders) == 2
    config = json.loads((folders[0] / "config.json").read_text())
    assert (config["words"], config["words_set"]) == ("choose", "simple")
    rows = [json.loads(line) for line in (folders[0] / "results.jsonl").read_text().splitlines()]
    expressions = ("certainly not", "probably not", "possibly", "probably", "certainly")
    for row in rows:
        # the chosen word is the most probable of the five sentence endings
        assert row["words_choice"] == expressions[max(range(5), key=row["words_logprobs"].__getitem__)]
        assert 0 < row["words_mass"] <= 1
    summary = json.loads((folders[0] / "summary.json").read_text())["words"]
    assert summary["n_items"] == 3 and summary["n_without_word"] == 0
    assert sum(e["n"] for e in summary["expressions"]) == 3
    assert "words (choose, simple set): 3 answers" in out and "people read it as" in out
    assert "Confidence in words" in (folders[0] / "report.html").read_text()
    code, text, err = run_cli(capsys, "compare", *map(str, folders), "--out", str(tmp_path / "cmp"))
    assert code == 0, err
    assert "confidence in words" in text and "Brier vs people's reading" in text


def test_words_option_is_checked(capsys) -> None:
    code, _, err = run_cli(capsys, "run", "triviaqa", "--limit", "2", "--words", "shout", "--quiet")
    assert code == 2 and "shout" in err and "Traceback" not in err
