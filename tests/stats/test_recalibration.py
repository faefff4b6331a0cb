"""Tests for calibkit.stats.recalibration (netcal recalibrators, held-out protocol) and module hygiene."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from calibkit.stats import metrics as m
from calibkit.stats.recalibration import (
    METHODS,
    CrossFitRecalibration,
    Recalibrator,
    cross_fit_recalibration,
    fit_recalibrator,
    fold_ids,
    recalibrate,
)

ROOT = Path(__file__).resolve().parents[2]
MATH_MODULES = ["binning", "metrics", "bootstrap", "temperature", "recalibration"]

pytest.importorskip("netcal")


def _overconfident(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Confidences whose true probability of being right is conf ** 2.5."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.25, 1.0, n)
    conf[:5] = 1.0
    correct = rng.uniform(size=n) < conf**2.5
    return conf, correct


# ---------------------------------------------------------------------------
# fold_ids


def test_fold_ids_balanced_deterministic_and_seeded():
    a = fold_ids(103, n_folds=5, seed=1)
    assert a.shape == (103,) and set(a.tolist()) == set(range(5))
    assert sorted(np.bincount(a).tolist()) == [20, 20, 21, 21, 21]
    np.testing.assert_array_equal(a, fold_ids(103, n_folds=5, seed=1))
    assert not np.array_equal(a, fold_ids(103, n_folds=5, seed=2))


# ---------------------------------------------------------------------------
# Recalibrators


def test_histogram_maps_each_bin_to_its_training_accuracy():
    conf = np.array([0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 1.0])
    correct = np.array([1, 0, 0, 1, 1, 1, 0, 1])
    r = fit_recalibrator(conf, correct, method="histogram", n_bins=2)
    assert isinstance(r, Recalibrator) and r.method == "histogram" and r.n_fit == 8
    # everything falls in [0.5, 1]: 5 of 8 right
    np.testing.assert_allclose(r.apply(np.array([0.51, 0.75, 1.0])), 5 / 8)
    r4 = fit_recalibrator(conf, correct, method="histogram", n_bins=4)
    # [0.5, 0.75): 0.55, 0.6, 0.7 -> 1/3; [0.75, 1]: 0.8 ... 1.0 -> 4/5
    np.testing.assert_allclose(r4.apply(np.array([0.6, 0.74, 0.76, 1.0])), [1 / 3, 1 / 3, 4 / 5, 4 / 5])


@pytest.mark.parametrize("method", METHODS)
def test_held_out_recalibration_reduces_ece(method):
    conf, correct = _overconfident(0, 6000)
    fit, test = slice(0, 3000), slice(3000, None)
    new = recalibrate(conf[fit], correct[fit], conf[test], method=method)
    assert new.shape == (3000,) and np.all((new >= 0) & (new <= 1))
    before = m.ece(conf[test], correct[test])
    after = m.ece(new, correct[test])
    assert after < before / 3, (before, after)


def test_isotonic_is_monotone():
    conf, correct = _overconfident(1, 2000)
    r = fit_recalibrator(conf, correct, method="isotonic")
    grid = np.linspace(0, 1, 501)
    assert np.all(np.diff(r.apply(grid)) >= -1e-12)


def test_beta_handles_exact_zero_and_one():
    conf, correct = _overconfident(2, 2000)
    r = fit_recalibrator(conf, correct, method="beta")
    out = r.apply(np.array([0.0, 0.5, 1.0]))
    assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))


def test_cross_fit_matches_manual_folds():
    conf, correct = _overconfident(3, 900)
    cf = cross_fit_recalibration(conf, correct, method="histogram", n_folds=3, seed=4)
    assert isinstance(cf, CrossFitRecalibration) and cf.method == "histogram"
    folds = fold_ids(900, n_folds=3, seed=4)
    np.testing.assert_array_equal(cf.folds, folds)
    for f in range(3):
        held = folds == f
        expected = recalibrate(conf[~held], correct[~held], conf[held], method="histogram")
        np.testing.assert_allclose(cf.confidence[held], expected)
    assert m.ece(cf.confidence, correct) < m.ece(conf, correct) / 2


# ---------------------------------------------------------------------------
# Input checks


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: fit_recalibrator([0.5, 0.6], [1, 0], method="platt"), "method must be one of 'histogram', 'isotonic', 'beta'"),
        (lambda: fit_recalibrator([0.5, 1.6], [1, 0]), r"confidence must lie in \[0, 1\]"),
        (lambda: fit_recalibrator([0.5, 0.6], [1, 0, 1]), "correct must have the same length as confidence"),
        (lambda: fit_recalibrator([0.5, 0.6], [1, 0], n_bins=0), "n_bins must be a positive integer"),
        (lambda: fold_ids(10, n_folds=1), "n_folds must be an integer >= 2"),
        (lambda: fold_ids(2, n_folds=3), "n_items must be an integer >= n_folds"),
        (lambda: recalibrate([0.5, 0.6], [1, 0], [[0.5]]), r"confidence must have shape \(n,\)"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------
# Module hygiene: the maths never imports torch; netcal only inside functions


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """Top-level module names imported at module level and inside functions."""
    tree = ast.parse(path.read_text())
    top, nested = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            target = top if node in tree.body else nested
            target.update(n.split(".")[0] for n in names)
    return top, nested


@pytest.mark.parametrize("module", MATH_MODULES)
def test_math_modules_never_import_torch_and_netcal_only_lazily(module):
    top, nested = _imports(ROOT / "calibkit" / "stats" / f"{module}.py")
    assert "torch" not in top | nested
    assert "netcal" not in top


def fresh_python(*lines: str) -> str:
    """What a new interpreter prints after running these lines in the repository root."""
    out = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    return out.stdout.strip()


def test_importing_recalibration_does_not_load_netcal():
    assert fresh_python(
        "import sys, importlib",
        "for name in ['binning', 'metrics', 'bootstrap', 'temperature', 'recalibration']:",
        "    importlib.import_module('calibkit.stats.' + name)",
        "print('netcal' in sys.modules)",
    ) == "False"


def test_importing_calibkit_loads_neither_torch_nor_plotly_until_a_plot_is_drawn():
    assert fresh_python(
        "import sys, calibkit",
        "before = sorted(m for m in ('torch', 'plotly', 'netcal') if m in sys.modules)",
        "fig = calibkit.reliability_diagram",
        "print(before, 'plotly' in sys.modules, 'reliability_diagram' in dir(calibkit))",
    ) == "[] True True"
