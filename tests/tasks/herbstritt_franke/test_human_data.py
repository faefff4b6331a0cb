"""The committed Herbstritt & Franke tables: rebuild from the authors' files, and invariants."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from calibkit.human_data import build_tables
from calibkit.tasks.herbstritt_franke import design, human

from conftest import SHARED_DATA

HF_DATA = SHARED_DATA / "herbstritt_franke"
TABLE_DIR = Path(build_tables.__file__).resolve().parent

LISTED_CONTEXTS = {
    (2, 0), (2, 2), (4, 1), (4, 2), (4, 3), (8, 0), (8, 2), (8, 4),
    (8, 6), (8, 8), (10, 2), (10, 3), (10, 5), (10, 7), (10, 8),
}


def _shared(*parts: str) -> Path:
    path = HF_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (../shared/data is only on dev/CI machines)")
    return path


# ----------------------------------------------------------------- rebuild (needs ../shared)


def test_rebuild_equals_committed_tables(tmp_path):
    clean = _shared("authors_clean")
    assert build_tables.main([str(clean), "--out", str(tmp_path)]) == 0
    for name in build_tables.OUTPUT_FILES:
        rebuilt = (tmp_path / name).read_bytes()
        committed = (TABLE_DIR / name).read_bytes()
        assert rebuilt == committed, f"{name} differs from a fresh build; rerun build_tables.py"


def _participants(path: Path, sep: str) -> tuple[int, int]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=sep))
    return len({r["id"] for r in rows}), len(rows)


@pytest.mark.parametrize(
    "raw, clean, sep, before, after",
    [
        ("1a.simple_production.csv", "1.simple_clean_production_data.csv", ",", (89, 801), (84, 756)),
        ("1b.simple_interpretation.csv", "1.simple_clean_interpretation_data.csv", ",", (147, 1470), (144, 1440)),
        ("2a.complex_production.csv", "2.complex_clean_production_data.csv", ";", (104, 1248), (102, 1224)),
        ("2b.complex_interpretation.csv", "2.complex_clean_interpretation_data.csv", ";", (158, 3792), (150, 3600)),
    ],
)
def test_exclusions_documented_in_readme(raw, clean, sep, before, after):
    # The README's exclusion table: participants and trials, raw vs authors' clean files.
    assert _participants(_shared("raw", raw), ",") == before
    assert _participants(_shared("authors_clean", clean), sep) == after


def test_build_rejects_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="1.simple_clean_interpretation_data.csv"):
        build_tables.build_tables(tmp_path)


# ----------------------------------------------------------------- invariants (no ../shared)


def test_simple_production_invariants():
    t = human.load_simple_production()
    assert {tuple(c) for c in t.contexts} == LISTED_CONTEXTS and len(t.contexts) == 15
    assert t.expressions == ("certainly not", "probably not", "possibly", "probably", "certainly")
    assert t.counts.shape == (15, 5)
    assert t.n.tolist() == [50, 43, 41, 63, 55, 48, 56, 46, 50, 52, 46, 54, 56, 44, 52]
    assert int(t.n.sum()) == 756 == 84 * 9
    # Every participant saw 3 contexts per uncertainty level.
    by_level = {lv: int(t.n[np.array(t.uncertainty) == lv].sum()) for lv in design.UNCERTAINTY_LEVELS}
    assert by_level == {"none": 252, "low": 252, "high": 252}
    assert t.counts[0].tolist() == [6, 18, 23, 3, 0]  # (2, 0)


def test_complex_production_invariants():
    t = human.load_complex_production()
    assert {tuple(c) for c in t.contexts} == LISTED_CONTEXTS
    assert t.counts.shape == (15, 16)
    assert int(t.n.sum()) == 1224 == 102 * 12
    assert t.n.tolist() == [80, 75, 76, 78, 78, 84, 86, 77, 87, 85, 90, 72, 83, 90, 83]
    inner_totals = dict(zip(design.COMPLEX_INNER, t.counts.reshape(15, 4, 4).sum(axis=(0, 1)).tolist()))
    assert inner_totals == {"probable": 220, "possible": 368, "unlikely": 408, "likely": 228}
    outer_totals = dict(zip(design.COMPLEX_OUTER, t.counts.reshape(15, 4, 4).sum(axis=(0, 2)).tolist()))
    assert outer_totals == {"is": 491, "is probably": 258, "might be": 275, "is certainly": 200}


def test_tables_counts_sum_to_n_in_every_file():
    for name in ("simple_production.csv", "complex_production.csv"):
        rows = human.read_human_table(name)
        totals: dict[tuple[str, str], int] = {}
        for r in rows:
            key = (r["access"], r["observation"])
            totals[key] = totals.get(key, 0) + int(r["count"])
            assert r["uncertainty"] == design.uncertainty_level(int(r["access"]))
        for r in rows:
            assert totals[r["access"], r["observation"]] == int(r["n"])
    for name, keys in (
        ("simple_interpretation_state.csv", ("expression",)),
        ("simple_interpretation_access_observation.csv", ("expression",)),
        ("complex_interpretation_state.csv", ("outer", "inner")),
        ("complex_interpretation_access_observation.csv", ("outer", "inner")),
    ):
        rows = human.read_human_table(name)
        totals = {}
        for r in rows:
            key = tuple(r[k] for k in keys)
            totals[key] = totals.get(key, 0) + int(r["count"])
        assert all(totals[tuple(r[k] for k in keys)] == int(r["n"]) for r in rows), name


def test_interpretation_invariants():
    s = human.load_simple_interpretation()
    assert s.expressions == design.SIMPLE_EXPRESSIONS
    assert s.state_n.tolist() == [144] * 5
    assert s.access_observation_counts.sum(axis=(1, 2)).tolist() == [144] * 5
    assert int(s.state_counts.sum() + s.access_observation_counts.sum()) == 1440 == 144 * 10
    c = human.load_complex_interpretation()
    assert c.expressions == design.MERGED_COMPLEX_EXPRESSIONS and len(c.expressions) == 12
    assert c.state_n.tolist() == [150] * 12
    assert c.access_observation_counts.sum(axis=(1, 2)).tolist() == [150] * 12
    for t in (s, c):
        # observation <= access, and nobody answered access 0 (that participant was excluded)
        assert not np.triu(t.access_observation_counts.sum(axis=0), k=1).any()
        assert t.access_counts[:, 0].sum() == 0
        assert np.array_equal(t.access_counts.sum(axis=1), t.observation_counts.sum(axis=1))


def test_interpretation_tables_hold_the_full_grid():
    rows = human.read_human_table("simple_interpretation_access_observation.csv")
    assert len(rows) == 5 * 65
    assert {(int(r["access"]), int(r["observation"])) for r in rows} == set(design.ACCESS_OBSERVATION_GRID)
    assert len(human.read_human_table("complex_interpretation_state.csv")) == 12 * 11


def test_rsa_parameter_tables():
    simple = {r["parameter"]: r for r in human.read_human_table("rsa_simple_params.csv")}
    assert set(simple) == {
        "alpha", "beta", "lambda", "theta_possibly", "theta_probably", "theta_certainly",
        "alpha_access", "beta_access",
    }
    for r in simple.values():
        assert float(r["low"]) <= float(r["posterior_mean"]) <= float(r["high"])
    cx = {r["parameter"]: float(r["posterior_mean"]) for r in human.read_human_table("rsa_complex_params.csv")}
    assert cx["lambda"] == pytest.approx(4.846) and cx["theta_might"] == pytest.approx(0.332)


def test_read_human_table_rejects_paths():
    with pytest.raises(ValueError, match="name"):
        human.read_human_table("../setup.cfg")
    with pytest.raises(ValueError, match="name"):
        human.read_human_table("no_such_table.csv")
