"""The notebooks run top to bottom on the embedded models (small limits in CI)."""
from __future__ import annotations

import pytest

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
#: per-notebook environment that keeps a CI execution to about a minute
SMALL = {
    "01_mmlu_calibration.ipynb": {"CALIBKIT_NB_LIMIT": "2", "CALIBKIT_NB_SUBJECTS": "anatomy,astronomy,virology"},
    "02_uncertainty_expressions.ipynb": {"CALIBKIT_NB_TEMPLATES": "1"},
    "03_triviaqa_ptrue.ipynb": {"CALIBKIT_NB_LIMIT": "4", "CALIBKIT_NB_SAMPLES": "2", "CALIBKIT_NB_SHOTS": "2"},
    "04_benchmarks_and_scale.ipynb": {"CALIBKIT_NB_LIMIT": "4", "CALIBKIT_NB_BENCHMARKS": "arc_easy,winogrande"},
    "05_i_dont_know.ipynb": {"CALIBKIT_NB_LIMIT": "12", "CALIBKIT_NB_SAMPLES": "2"},
    "06_token_uncertainty_and_nudging.ipynb": {"CALIBKIT_NB_LIMIT": "4", "CALIBKIT_NB_GAMMAS": "0,0.4,1"},
    "07_free_answer_signals.ipynb": {"CALIBKIT_NB_LIMIT": "4", "CALIBKIT_NB_SAMPLES": "2", "CALIBKIT_NB_SHOTS": "2"},
    "08_rhyme_planning.ipynb": {"CALIBKIT_NB_LIMIT": "3", "CALIBKIT_NB_SAMPLES": "2", "CALIBKIT_NB_FORCED": "1"},
}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    for key, value in SMALL.get(path.name, {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CALIBKIT_NB_OUT", str(tmp_path / "runs"))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    # a figure was produced and the notebook left its runs where it was told to
    assert any("application/vnd.plotly.v1+json" in o.get("data", {})
               for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert any((tmp_path / "runs").rglob("results.jsonl"))
