"""TriviaQA's parts for `calibkit paper` draw and tabulate exactly what its study computes (tiny models)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calibkit.runs.registry import task_of_run
from calibkit.runs.store import RunStore
from calibkit.stats.binning import bin_stats
from calibkit.stats.metrics import calibration_error

from conftest import REPO, run_cli

pytestmark = pytest.mark.usefixtures("one_thread")
DATA = str(REPO / "tests" / "fixtures" / "triviaqa_simple.jsonl")


@pytest.fixture(scope="module")
def stores(tiny_base_dir, tiny_model_dir, tmp_path_factory) -> list[RunStore]:
    """The same 6 questions asked of the tiny base model and the tiny chat model."""
    from calibkit.cli import main

    out = tmp_path_factory.mktemp("tq_paper")
    runs = []
    for model in (tiny_base_dir, tiny_model_dir):
        with pytest.raises(SystemExit) as exc:
            main(["run", "triviaqa", "--data", DATA, "--limit", "6", "--shots", "1", "--samples", "3",
                  "--max-new-tokens", "3", "--model", str(model), "--quiet", "--out", str(out)])
        assert exc.value.code == 0
        runs.append(RunStore(max(out.glob("*/*/*/config.json"), key=lambda p: p.stat().st_mtime_ns).parent))
    return runs


def _p_true_ece(store: RunStore) -> float:
    """By hand from the rows: P(True) in 10 equal-mass bins against whether the answer it evaluated is right."""
    rows = sorted(store.rows(), key=lambda r: r["id"])
    p = np.array([r["p_true"] for r in rows])
    right = np.array([r.get("proposed_correct_exact", r["correct_exact"]) for r in rows])
    return calibration_error(bin_stats(p, right, strategy="quantile"))


def test_one_run_gives_its_reliability_and_rejection_curves(stores):
    (store, _) = stores
    parts = task_of_run(store.config).paper_parts([store])
    assert [p.name for p in parts] == ["triviaqa-ptrue-reliability", "triviaqa-rejection", "triviaqa-signals",
                                       "triviaqa-hedging"]
    legend = [t.get_text() for t in parts[0].content.legends[0].get_texts()] if parts[0].content.legends else \
        [t.get_text() for ax in parts[0].content.axes for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]
    assert any(f"ECE {_p_true_ece(store):.3f}" in text for text in legend), legend
    curves = [line.get_label() for line in parts[1].content.axes[0].get_lines()]
    assert curves[0].startswith("p_true") and any(c.startswith("semantic_entropy") for c in curves)
    assert parts[0].runs == (str(store.path),)


def test_two_runs_give_the_paired_table_of_compare(stores, capsys, tmp_path):
    parts = task_of_run(stores[0].config).paper_parts(stores)
    assert [p.name for p in parts] == ["triviaqa-ptrue-reliability", "triviaqa-rejection", "triviaqa-comparison",
                                       "triviaqa-signals", "triviaqa-hedging"]
    code, out, err = run_cli(capsys, "compare", *(str(s.path) for s in stores), "--out", str(tmp_path / "c.html"),
                             "--json")
    assert code == 0, err
    table = parts[2].content
    assert len(table.rows) == len({tuple(m[k] for k in ("signal", "metric")) for m in json.loads(out)["metrics"]})


def test_calibkit_paper_writes_them_with_provenance(stores, capsys, tmp_path):
    code, _, err = run_cli(capsys, "paper", *(str(s.path) for s in stores), "--out", str(tmp_path / "paper"))
    assert code == 0, err
    written = {p.name for p in (tmp_path / "paper").rglob("*") if p.is_file()}
    assert {"triviaqa-ptrue-reliability.pdf", "triviaqa-rejection.png", "triviaqa-comparison.tex"} <= written
    provenance = json.loads(Path(tmp_path / "paper" / "provenance.json").read_text())
    assert "triviaqa" in json.dumps(provenance) and "run triviaqa" in json.dumps(provenance)
