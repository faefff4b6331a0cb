"""`calibkit run mmlu --self-eval --none-of-the-above`: three runs, one study page, resumable, one-line refusals."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_cli, shared_path

pytestmark = pytest.mark.usefixtures("one_thread")



def test_variants_run_resume_and_refuse_what_does_not_apply(capsys, tmp_path, tiny_model_dir):
    argv = ("run", "mmlu", "--model", str(tiny_model_dir), "--data", str(shared_path("mmlu")), "--subjects", "anatomy",
            "--limit", "3", "--shots", "1", "--chat-template", "off", "--quiet", "--out", str(tmp_path),
            "--self-eval", "--none-of-the-above")
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0, err
    study = json.loads(out)
    plain, nota, self_eval = (Path(p) for p in study["runs"])
    assert Path(study["report"]).exists() and len({plain, nota, self_eval}) == 3
    configs = [json.loads((p / "config.json").read_text()) for p in (plain, nota, self_eval)]
    assert [c.get("variant") for c in configs] == [None, "none_of_the_above", "self_eval"]
    assert (configs[1]["nota_position"], configs[2]["self_eval_pairs"]) == ("final", "paper")
    assert not any("departures" in c for c in configs)  # the paper's protocol: nothing to note
    assert len((self_eval / "results.jsonl").read_text().splitlines()) == 3 * 2  # right + one wrong per question
    assert study["none_of_the_above"]["n_items"] == 3 and {r["format"] for r in study["self_eval"]} == {
        "letter A-D", "True/False, right + one wrong answer"}
    assert [r["share right"] for r in study["self_eval"]][1] == 0.5
    replaced = study["none_of_the_above"]["replaced_option"]
    nota_rows = [json.loads(line) for line in (nota / "results.jsonl").read_text().splitlines()]
    assert {r["meta"]["nota_index"] for r in nota_rows} == {3}  # D, as Kadavath et al. 3.1
    assert replaced["share_right"] == sum(r["answer"] == 3 for r in nota_rows) / 3 and "ece" in replaced
    page = Path(study["report"]).read_text()
    assert "None of the above vs unmodified" in page and "Letter format vs True/False" in page
    assert "&#x27;None of the above&#x27; itself" in page  # the replaced option's own calibration

    code, _, err = run_cli(capsys, *argv)
    assert code == 0 and err.count("0 scored now") == 3  # resumed: nothing to do
    code, out, _ = run_cli(capsys, "report", str(self_eval))
    assert code == 0 and re.search(r"\nshare of true pairs +0\.500\n", out) and "P(True) ECE" in out
    code, out, _ = run_cli(capsys, "report", str(nota))
    assert code == 0 and "'None of the above' right" in out and "ECE of P(it) (10 bins)" in out
    code, _, err = run_cli(capsys, "compare", str(plain), str(self_eval))
    assert code == 2 and "self-evaluation run; compare the letter-format runs" in err and "Traceback" not in err

