"""Tests for calibkit.stats.binning: hand references, properties, scikit-learn agreement, input checks."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve

from calibkit.stats.binning import BinStats, assign_bins, bin_edges, bin_stats, quantile_edges

from conftest import confidences_and_outcomes

NAN = float("nan")


# ---------------------------------------------------------------------------
# Hand-computed references


def test_uniform_bins_hand_reference():
    conf = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    correct = np.array([0, 1, 0, 1, 1])
    s = bin_stats(conf, correct, n_bins=10)
    np.testing.assert_array_equal(s.edges, np.linspace(0, 1, 11))
    assert s.count.tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert s.count.dtype.kind == "i"
    np.testing.assert_allclose(s.mean_confidence[[0, 1, 9]], [0.05, 0.15, 0.975], rtol=0, atol=1e-15)
    np.testing.assert_allclose(s.accuracy[[0, 1, 9]], [0.0, 0.5, 1.0], rtol=0, atol=0)
    assert np.isnan(s.mean_confidence[2:9]).all() and np.isnan(s.accuracy[2:9]).all()
    assert np.isnan(s.accuracy_low[2:9]).all() and np.isnan(s.accuracy_high[2:9]).all()
    np.testing.assert_allclose(s.weight, [0.2, 0.4, 0, 0, 0, 0, 0, 0, 0, 0.4])
    assert s.n_items == 5 and s.n_bins == 10 and s.strategy == "uniform"


def test_confidence_one_falls_in_last_bin_and_zero_in_first():
    s = bin_stats([0.0, 1.0, 1.0], [0, 1, 0], n_bins=4)
    assert s.count.tolist() == [1, 0, 0, 2]
    assert s.accuracy[3] == 0.5


def test_bins_are_right_open_on_float_edges():
    # Edges are the float64 values of np.linspace (np.histogram's and
    # netcal's rule): 0.25 and 0.5 are exact edges and open the bin above;
    # 0.3 lies below the float edge 0.30000000000000004 and stays in bin 2.
    edges = np.linspace(0, 1, 11)
    assert assign_bins(np.array([0.1, 0.2, 0.3, 0.5, 0.7, 0.9999, 1.0]), edges).tolist() == [1, 2, 2, 5, 6, 9, 9]
    assert assign_bins(np.array([0.0, 0.25, 0.5, 0.75, 1.0]), np.linspace(0, 1, 5)).tolist() == [0, 1, 2, 3, 3]


def test_empty_bins_are_empty_not_zero_accuracy():
    s = bin_stats([0.95, 0.96], [1, 1], n_bins=10)
    assert s.count[:9].sum() == 0
    assert np.isnan(s.accuracy[:9]).all()
    assert not np.any(s.accuracy[:9] == 0)


@pytest.mark.parametrize(
    "successes, trials, low, high",
    [(0, 10, 0.0, 0.277533), (5, 10, 0.236593, 0.763407), (1, 2, 0.094531, 0.905469), (10, 10, 0.722467, 1.0)],
)
def test_wilson_interval_known_values(successes, trials, low, high):
    conf = np.full(trials, 0.55)
    correct = np.r_[np.ones(successes), np.zeros(trials - successes)]
    s = bin_stats(conf, correct, n_bins=1)
    assert s.accuracy_low[0] == pytest.approx(low, abs=1e-6)
    assert s.accuracy_high[0] == pytest.approx(high, abs=1e-6)


def test_quantile_hand_reference():
    # 6 points, 3 equal-mass bins: edges at sorted positions 5/3 and 10/3.
    conf = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2])
    correct = np.array([1, 0, 1, 0, 1, 1])
    s = bin_stats(conf, correct, n_bins=3, strategy="quantile")
    xs = np.sort(conf)
    e1 = xs[1] + (xs[2] - xs[1]) * (2 / 3)
    e2 = xs[3] + (xs[4] - xs[3]) * (1 / 3)
    np.testing.assert_allclose(s.edges, [0.0, e1, e2, 1.0], atol=1e-15)
    assert s.count.tolist() == [2, 2, 2]
    np.testing.assert_allclose(s.mean_confidence, [0.15, 0.4, 0.8], atol=1e-15)
    np.testing.assert_allclose(s.accuracy, [0.5, 0.5, 1.0])
    assert s.strategy == "quantile"


def test_quantile_ties_share_a_bin_and_leave_empty_bins():
    conf = np.array([0.5] * 6 + [0.9, 0.95])
    correct = np.array([1, 0, 1, 0, 1, 0, 1, 1])
    s = bin_stats(conf, correct, n_bins=4, strategy="quantile")
    assert s.n_bins == 4 and s.edges.shape == (5,)
    # the 0.25 and 0.5 quantiles are both 0.5: bins between equal edges are empty
    assert s.edges[1] == s.edges[2] == 0.5
    assert s.count.sum() == 8
    tied_bins = np.unique(assign_bins(conf[:6], s.edges))
    assert tied_bins.size == 1
    assert s.count[tied_bins[0]] >= 6
    assert np.isnan(s.accuracy[s.count == 0]).all()


def test_quantile_edges_match_numpy_quantile():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 100, 1001, 1234):
        x = np.sort(rng.uniform(size=n))
        for n_bins in (1, 3, 10, 15):
            ours = quantile_edges(x[None, :], n_bins=n_bins)[0]
            ref = np.quantile(x, np.linspace(0, 1, n_bins + 1))
            np.testing.assert_allclose(ours[1:-1], ref[1:-1], rtol=0, atol=1e-15)
            assert ours[0] == 0.0 and ours[-1] == 1.0


def test_bin_edges():
    assert bin_edges([0.3], n_bins=4).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert bin_edges([0.2, 0.4, 0.6, 0.8], n_bins=2, strategy="quantile").tolist() == [0.0, 0.5, 1.0]


def test_binstats_is_frozen_and_read_only():
    s = bin_stats([0.2, 0.8], [0, 1], n_bins=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n_items = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        s.count[0] = 5
    assert [f.name for f in dataclasses.fields(BinStats)] == [
        "edges", "count", "mean_confidence", "accuracy", "accuracy_low", "accuracy_high", "n_items", "strategy",
    ]


# ---------------------------------------------------------------------------
# Agreement with scikit-learn's calibration_curve


def _random_pairs(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.2, 1.0, n)
    correct = rng.uniform(size=n) < conf**1.3
    return conf, correct


@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_uniform_matches_sklearn_calibration_curve(n_bins):
    conf, correct = _random_pairs(n_bins, 2000)
    conf[:3] = [0.0, 1.0, 1.0]  # both ends: sklearn and we agree there
    s = bin_stats(conf, correct, n_bins=n_bins)
    prob_true, prob_pred = calibration_curve(correct, conf, n_bins=n_bins, strategy="uniform")
    full = s.count > 0
    np.testing.assert_allclose(s.accuracy[full], prob_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.mean_confidence[full], prob_pred, rtol=0, atol=1e-12)


def test_quantile_matches_sklearn_calibration_curve():
    # n = 1001 puts each decile at an exact sample position (100 * j); 1000
    # puts them between samples. Both agree with sklearn (ties-free data).
    for n in (1000, 1001):
        conf, correct = _random_pairs(n, n)
        s = bin_stats(conf, correct, n_bins=10, strategy="quantile")
        prob_true, prob_pred = calibration_curve(correct, conf, n_bins=10, strategy="quantile")
        if n == 1001:
            # sklearn puts a value equal to an interior edge in the bin below
            # (searchsorted side="left"); we put it in the bin above. Check
            # the documented difference instead of equality.
            assert s.count.tolist() == [100] + [100] * 8 + [101]
            continue
        np.testing.assert_allclose(s.accuracy, prob_true, rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.mean_confidence, prob_pred, rtol=0, atol=1e-12)


def test_documented_edge_difference_with_sklearn():
    # A value exactly on an interior edge: we (and netcal, np.histogram) use
    # the bin above; scikit-learn >= 1.2 uses the bin below.
    s = bin_stats([0.5, 0.9], [1, 0], n_bins=2)
    assert s.count.tolist() == [0, 2]
    prob_true, _ = calibration_curve([1, 0], [0.5, 0.9], n_bins=2)
    assert prob_true.tolist() == [1.0, 0.0]


# ---------------------------------------------------------------------------
# Properties

@settings(max_examples=60, deadline=None)
@given(confidences_and_outcomes(60), st.integers(1, 12), st.sampled_from(["uniform", "quantile"]))
def test_bin_stats_invariants(data, n_bins, strategy):
    conf, correct = (np.array(a) for a in data)
    s = bin_stats(conf, correct, n_bins=n_bins, strategy=strategy)
    assert s.count.sum() == conf.size == s.n_items
    assert s.weight.sum() == pytest.approx(1.0)
    assert np.all(np.diff(s.edges) >= 0) and s.edges[0] == 0.0 and s.edges[-1] == 1.0
    full = s.count > 0
    lo, hi = s.edges[:-1][full], s.edges[1:][full]
    assert np.all(s.mean_confidence[full] >= lo - 1e-12) and np.all(s.mean_confidence[full] <= hi + 1e-12)
    assert np.all((s.accuracy_low[full] <= s.accuracy[full] + 1e-12) & (s.accuracy[full] <= s.accuracy_high[full] + 1e-12))
    assert np.all((s.accuracy_low[full] >= 0) & (s.accuracy_high[full] <= 1))
    assert np.isnan(s.accuracy[~full]).all()


@settings(max_examples=40, deadline=None)
@given(confidences_and_outcomes(60), st.sampled_from(["uniform", "quantile"]), st.randoms(use_true_random=False))
def test_bin_stats_invariant_to_item_order(data, strategy, rnd):
    conf, correct = (np.array(a) for a in data)
    perm = np.arange(conf.size)
    rnd.shuffle(perm)
    a = bin_stats(conf, correct, strategy=strategy)
    b = bin_stats(conf[perm], correct[perm], strategy=strategy)
    np.testing.assert_array_equal(a.count, b.count)
    np.testing.assert_array_equal(a.edges, b.edges)
    np.testing.assert_allclose(a.mean_confidence, b.mean_confidence, rtol=1e-12)
    np.testing.assert_array_equal(a.accuracy, b.accuracy)


# ---------------------------------------------------------------------------
# Input checks


@pytest.mark.parametrize(
    "conf, correct, kwargs, match",
    [
        ([[0.5, 0.5]], [1], {}, r"confidence must have shape \(n,\)"),
        ([], [], {}, "confidence must not be empty"),
        ([0.5, NAN], [1, 0], {}, "confidence contains NaN"),
        ([0.5, 1.2], [1, 0], {}, r"confidence must lie in \[0, 1\]"),
        ([-0.1, 0.5], [1, 0], {}, r"confidence must lie in \[0, 1\]"),
        ([0.5, 0.6], [1], {}, "correct must have the same length as confidence"),
        ([0.5, 0.6], [1, 2], {}, "correct must hold only booleans or 0/1"),
        ([0.5, 0.6], [1, NAN], {}, "correct contains NaN"),
        ([0.5, 0.6], ["a", "b"], {}, "correct must be a numeric array"),
        ([0.5], [1], {"n_bins": 0}, "n_bins must be a positive integer"),
        ([0.5], [1], {"n_bins": 2.5}, "n_bins must be a positive integer"),
        ([0.5], [1], {"strategy": "equal"}, "strategy must be one of 'uniform', 'quantile'"),
    ],
)
def test_bad_inputs(conf, correct, kwargs, match):
    with pytest.raises(ValueError, match=match):
        bin_stats(conf, correct, **kwargs)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        bin_stats([0.5], [1], 10)  # type: ignore[misc]
