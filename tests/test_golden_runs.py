"""Behaviour pinned across refactors: every task's CLI on a tiny model, against committed outputs.

A tiny seeded Llama with the real Llama-2 tokenizer is saved as an ordinary
model folder and run through ``calibkit run`` for each task, then
``compare`` and ``sweep``; the files under ``tests/fixtures/golden/`` were
written by the code before the one-folder-per-task restructure. Two stages:

* the model's rows (results.jsonl) equal the pinned rows: strings and ints
  exactly, floats to float32 round-off (``REL``, ``ABS``). The model runs
  in float32, and CPUs with different vector units round its matmuls
  differently, by about one float32 ulp of a log-prob (measured on an
  AVX2-only CPU against files written on another: 9.5e-7 on -10.43);
* then each run's rows are replaced by the pinned rows, and everything
  computed from them (summary.json, the printed summary, compare, sweep,
  report) must equal the pinned files to 1e-9. Statistics on rows are pure
  float64 numpy and must not move at all; comparing them on the model's own
  rows would let a float32 ulp flip a rank or move a fitted temperature.

Folder hashes and paths are masked; nothing else is. Regenerate only for an
intended change of numbers: ``CALIBKIT_UPDATE_GOLDEN=1 pytest tests/test_golden_runs.py``
(``=stats`` keeps the pinned rows and rewrites only what is computed from them).
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest

from calibkit.cli import main

from conftest import REPO, shared_path

GOLDEN = REPO / "tests" / "fixtures" / "golden"
UPDATE = os.environ.get("CALIBKIT_UPDATE_GOLDEN") in ("1", "stats")  # rewrite what is computed from rows
UPDATE_ROWS = os.environ.get("CALIBKIT_UPDATE_GOLDEN") == "1"  # rewrite the model's rows too
TRIVIA = REPO / "tests" / "fixtures" / "triviaqa_simple.jsonl"
REL, ABS = 1e-6, 1e-5  # the model's rows: float32 round-off (see the module docstring)
EXACT = 1e-9  # everything computed from the rows

pytestmark = pytest.mark.usefixtures("one_thread")


def cli_json(capsys, *argv: str) -> dict:
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    return json.loads(out)


def masked(value):
    """Paths, folder hashes and timestamps out; everything else kept."""
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items() if k not in ("report", "path", "created", "versions")}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, str):
        value = re.sub(r"/\S*?/tiny-llama\d*", "<model>", value)  # the model is named by its temporary folder
        return re.sub(r"[0-9a-f]{12}", "<hash>", value)
    return value


def rows_of(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r["id"])


def assert_close(got, want, where: str = "", *, rel: float = EXACT, abs_: float = EXACT) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for k in want:
            assert_close(got[k], want[k], f"{where}.{k}", rel=rel, abs_=abs_)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: length"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, f"{where}[{i}]", rel=rel, abs_=abs_)
    elif isinstance(want, float) and not isinstance(got, bool) and isinstance(got, (int, float)):
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=rel, abs=abs_), where
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def check(name: str, value, *, rel: float = EXACT, abs_: float = EXACT, rows: bool = False) -> None:
    path = GOLDEN / f"{name}.json"
    value = masked(value)
    if UPDATE_ROWS if rows else UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
        return
    assert path.exists(), f"{path} is missing; run with CALIBKIT_UPDATE_GOLDEN=1 once"
    assert_close(value, json.loads(path.read_text()), name, rel=rel, abs_=abs_)


def check_run(capsys, name: str, printed: dict) -> Path:
    """The run's rows against the pinned rows; then, on the pinned rows, its summary and printed summary."""
    run = Path(printed["report"]).parent
    check(f"{name}/results", rows_of(run), rel=REL, abs_=ABS, rows=True)
    if not UPDATE_ROWS:
        pinned = {r["id"]: r for r in json.loads((GOLDEN / name / "results.json").read_text())}
        order = [json.loads(line)["id"] for line in (run / "results.jsonl").read_text().splitlines() if line.strip()]
        (run / "results.jsonl").write_text("".join(json.dumps(pinned[i]) + "\n" for i in order))
        printed = cli_json(capsys, "report", str(run))
    check(f"{name}/summary", json.loads((run / "summary.json").read_text()))
    check(f"{name}/printed", printed)
    return run


@pytest.mark.slow
def test_every_task_gives_the_pinned_numbers(capsys, tmp_path, tiny_model_dir):
    common = ("--model", str(tiny_model_dir), "--quiet", "--out", str(tmp_path))
    mmlu = ("run", "mmlu", "--data", str(shared_path("mmlu")), "--subjects", "anatomy,astronomy",
            "--limit", "5", "--shots", "2", *common)
    base = check_run(capsys, "mmlu_base", cli_json(capsys, *mmlu, "--chat-template", "off"))
    chat = check_run(capsys, "mmlu_chat_kadavath",
                     cli_json(capsys, *mmlu, "--chat-template", "on", "--format", "kadavath"))
    check("mmlu_compare", cli_json(capsys, "compare", str(base), str(chat), "--out", str(tmp_path / "c.html"),
                                   "--resamples", "200"))
    check("mmlu_sweep", cli_json(capsys, "sweep", str(base), str(chat), "--temperatures", "0.5,1,2",
                                 "--out", str(tmp_path / "sweep"), "--resamples", "50"))

    trivia = ("run", "triviaqa", "--data", str(TRIVIA), "--limit", "6", "--shots", "2", "--samples", "3",
              "--brainstorm", "2", "--ptrue-shots", "2", "--max-new-tokens", "6", "--chat-template", "on", *common)
    t1 = check_run(capsys, "triviaqa_t1", cli_json(capsys, *trivia))
    t2 = check_run(capsys, "triviaqa_t2", cli_json(capsys, *trivia, "--sample-temperature", "2"))
    check("triviaqa_compare", cli_json(capsys, "compare", str(t1), str(t2), "--out", str(tmp_path / "t.html"),
                                       "--resamples", "200"))

    hf = ("run", "herbstritt-franke", "--templates", "t1", "--permutations", "2", *common)
    h1 = check_run(capsys, "hf_base", cli_json(capsys, *hf, "--chat-template", "off"))
    h2 = check_run(capsys, "hf_chat", cli_json(capsys, *hf, "--chat-template", "on", "--no-listener"))
    check("hf_compare", cli_json(capsys, "compare", str(h1), str(h2), "--out", str(tmp_path / "h.html"),
                                 "--resamples", "200"))
    check("reports", {name: cli_json(capsys, "report", str(run))
                      for name, run in (("mmlu", base), ("triviaqa", t1), ("hf", h1))})
