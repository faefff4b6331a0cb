"""`calibkit paper` draws the tables `calibkit sweep` and `calibkit scale` write, as they wrote them."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from calibkit.errors import UserError
from calibkit.paper.studies import study_folders, study_parts
from calibkit.paper.write import write_paper
from calibkit.stats.temperature import temperature_sweep
from calibkit.tasks.multiple_choice.scale import ScaleStudy, write_scale_report


@pytest.fixture
def sweep_dir(tmp_path):
    """sweep.csv as `calibkit sweep` writes it: each run's temperature_sweep table, the run in column `run`."""
    rng = np.random.default_rng(0)
    tables = []
    for run in ("base", "chat"):
        logits = rng.normal(size=(60, 4)) * (3.0 if run == "chat" else 1.0)
        table = temperature_sweep(logits, rng.integers(0, 4, 60), [0.5, 1.0, 2.0, 2.5], n_resamples=50)
        table.insert(0, "run", run)
        tables.append(table)
    folder = tmp_path / "sweep"
    folder.mkdir()
    pd.concat(tables).to_csv(folder / "sweep.csv", index=False)
    return folder


@pytest.fixture
def scale_dir(tmp_path):
    """scale.csv written by the scale command's own writer, from a study of two lines of two sizes."""
    rows = [{"run": f"{line}-{size}", "model": f"{line}-{size}", "family": line, "variant": "", "line": line,
             "n_parameters": size, "metric": metric, "estimate": est, "low": est - 0.05, "high": est + 0.05, "n": 30,
             "note": None}
            for line in ("llama-2", "llama-2-chat") for size, est in ((7e9, 0.1), (13e9, 0.2))
            for metric in ("accuracy", "ece_quantile", "ece", "brier", "auroc")]
    folder = tmp_path / "scale"
    write_scale_report(ScaleStudy(30, pd.DataFrame(rows)), folder)
    return folder


def test_a_sweep_is_drawn_from_its_table(sweep_dir):
    (part,) = study_parts(sweep_dir)
    assert part.name == "sweep-sweep-ece" and part.runs == (str(sweep_dir),)
    table = pd.read_csv(sweep_dir / "sweep.csv")
    lines = {line.get_label(): line.get_ydata() for line in part.content.axes[0].get_lines()}
    for run in ("base", "chat"):
        assert np.allclose(lines[run], table[table.run == run].sort_values("temperature").ece)


def test_scale_lines_are_drawn_from_the_table_and_paper_writes_both(sweep_dir, scale_dir, tmp_path):
    parts = study_parts(scale_dir)
    assert [p.name for p in parts] == ["scale-scale-ece_quantile", "scale-scale-accuracy"]
    assert parts[0].content.axes[0].get_ylabel() == "ECE (10 equal-mass bins)"
    assert study_folders([tmp_path]) == sorted([sweep_dir, scale_dir])
    index = write_paper([tmp_path], tmp_path / "paper")  # no run folder at all: the studies alone
    written = {p.name for p in (tmp_path / "paper" / "figures").iterdir()}
    assert {"sweep-sweep-ece.pdf", "scale-scale-accuracy.png"} <= written
    record = json.loads(index.provenance.read_text())
    assert record["parts"]["sweep-sweep-ece"]["runs"] == [str(sweep_dir)]


def test_a_folder_with_neither_runs_nor_studies_is_still_an_error(tmp_path):
    with pytest.raises(UserError, match="holds no calibkit run folder"):
        write_paper([tmp_path], tmp_path / "paper")
