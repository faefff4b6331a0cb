"""Tests for calibkit.stats.metrics: hand references, properties, netcal / scikit-learn agreement, input checks."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from calibkit.stats import metrics as m

from calibkit.stats.metrics import (
    accuracy,
    aurc,
    auroc,
    brier_score,
    calibration_error,
    classwise_ece,
    debiased_l2_ce,
    ece,
    mce,
    nll,
    pooled_ece,
    pooled_option_stats,
    risk_coverage,
    rms_ce,
    top_label,
)

from conftest import confidences_and_outcomes

NAN = float("nan")

# Five items: bins (10 equal-width) 0 -> {0.05: wrong}, 1 -> {0.15 right, 0.15 wrong},
# 9 -> {0.95 right, 1.0 right}. Gaps: 0.05, 0.35, 0.025; weights 0.2, 0.4, 0.4.
CONF5 = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
CORRECT5 = np.array([0, 1, 0, 1, 1])


# ---------------------------------------------------------------------------
# Hand-computed references


def test_ece_family_hand_reference():
    assert ece(CONF5, CORRECT5) == pytest.approx(0.2 * 0.05 + 0.4 * 0.35 + 0.4 * 0.025, abs=1e-15)
    assert rms_ce(CONF5, CORRECT5) == pytest.approx(np.sqrt(0.2 * 0.05**2 + 0.4 * 0.35**2 + 0.4 * 0.025**2), abs=1e-15)
    assert mce(CONF5, CORRECT5) == pytest.approx(0.35, abs=1e-15)
    assert ece(CONF5, CORRECT5, norm="max") == mce(CONF5, CORRECT5)
    # Kadavath's unweighted mean over the three non-empty bins
    assert ece(CONF5, CORRECT5, weighting="uniform") == pytest.approx((0.05 + 0.35 + 0.025) / 3, abs=1e-15)
    assert ece(CONF5, CORRECT5, norm="l2", weighting="uniform") == pytest.approx(
        np.sqrt((0.05**2 + 0.35**2 + 0.025**2) / 3), abs=1e-15
    )


def test_ece_quantile_hand_reference():
    # 2 equal-mass bins of 5 sorted values: median edge 0.15 (an exact sample
    # value, which opens the upper bin): {0.05} and {0.15, 0.15, 0.95, 1.0}.
    value = ece(CONF5, CORRECT5, n_bins=2, strategy="quantile")
    assert value == pytest.approx(0.2 * 0.05 + 0.8 * abs(3 / 4 - (0.15 + 0.15 + 0.95 + 1.0) / 4), abs=1e-15)


def test_proper_scores_hand_reference():
    probs = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.5, 0.25, 0.25], [0.0, 1.0, 0.0]])
    labels = np.array([0, 0, 2, 1])
    assert accuracy(probs, labels) == 0.5
    brier = [0.09 + 0.04 + 0.01, 0.49 + 0.36 + 0.01, 0.25 + 0.0625 + 0.5625, 0.0]
    assert brier_score(probs, labels) == pytest.approx(np.mean(brier), abs=1e-15)
    assert nll(probs, labels) == pytest.approx(-(np.log(0.7) + np.log(0.3) + np.log(0.25) + 0.0) / 4, abs=1e-15)


def test_nll_clips_a_zero_probability_at_machine_epsilon():
    probs = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert nll(probs, np.array([1, 0])) == pytest.approx((-np.log(np.finfo(float).eps) + np.log(2)) / 2)


def test_top_label_first_option_on_ties():
    t = top_label(np.array([[0.4, 0.4, 0.2], [0.1, 0.2, 0.7]]), np.array([1, 2]))
    assert t.predicted.tolist() == [0, 2]
    assert t.confidence.tolist() == [0.4, 0.7]
    assert t.correct.tolist() == [False, True]


def test_auroc_and_aurc_hand_reference_with_ties():
    conf = np.array([0.9, 0.8, 0.8, 0.6, 0.6])
    correct = np.array([1, 1, 0, 1, 0])
    # correct items vs wrong items {0.8, 0.6}: 0.9 -> 2, 0.8 -> 0.5 + 1, 0.6 -> 0 + 0.5
    assert auroc(conf, correct) == pytest.approx((2 + 1.5 + 0.5) / 6, abs=1e-15)
    # descending: 0.9 (right); tie {0.8: 1 error of 2}; tie {0.6: 1 error of 2}
    # expected risk at m = 1..5: 0, (0.5)/2, 1/3, (1 + 0.5)/4, 2/5
    expected = (0 + 0.25 + 1 / 3 + 1.5 / 4 + 2 / 5) / 5
    assert aurc(conf, correct) == pytest.approx(expected, abs=1e-15)
    rc = risk_coverage(conf, correct)
    np.testing.assert_allclose(rc.threshold, [0.9, 0.8, 0.6])
    np.testing.assert_allclose(rc.coverage, [0.2, 0.6, 1.0])
    np.testing.assert_allclose(rc.selective_accuracy, [1.0, 2 / 3, 0.6])
    np.testing.assert_allclose(rc.selective_risk, [0.0, 1 / 3, 0.4])
    assert rc.aurc == pytest.approx(expected, abs=1e-15)


def test_debiased_l2_hand_reference():
    # one bin [0.5, 1]: 4 items at 0.8 with 2 right (a = 0.5, c = 0.8),
    # plus bin [0, 0.5): a single item, which contributes 0.
    conf = np.array([0.8, 0.8, 0.8, 0.8, 0.2])
    correct = np.array([1, 1, 0, 0, 0])
    square = 0.8 * ((0.5 - 0.8) ** 2 - 0.5 * 0.5 / 3) + 0.2 * 0.0
    assert debiased_l2_ce(conf, correct, n_bins=2) == pytest.approx(np.sqrt(square), abs=1e-15)


def test_debiased_l2_reference_loop_and_bias():
    """Against a literal loop over bins (Kumar et al.'s unbiased_l2_ce) and its purpose."""
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.3, 1.0, 400)
    correct = rng.uniform(size=400) < conf - 0.1
    edges = np.linspace(0, 1, 11)
    total = 0.0
    for j in range(10):
        inside = (conf >= edges[j]) & ((conf < edges[j + 1]) | (j == 9))
        m = inside.sum()
        if m < 2:
            continue
        a, c = correct[inside].mean(), conf[inside].mean()
        total += m / conf.size * ((a - c) ** 2 - a * (1 - a) / (m - 1))
    assert debiased_l2_ce(conf, correct) == pytest.approx(np.sqrt(max(total, 0.0)), abs=1e-12)
    # On calibrated data the true binned error is 0: the plug-in RMS is
    # biased upward, the debiased square is centred near 0.
    plug, deb = [], []
    for seed in range(60):
        r = np.random.default_rng(seed)
        c = r.uniform(0.3, 1.0, 300)
        y = r.uniform(size=300) < c
        plug.append(rms_ce(c, y) ** 2)
        deb.append(debiased_l2_ce(c, y) ** 2)
    assert np.mean(deb) < np.mean(plug) / 3


def test_classwise_and_pooled_hand_reference():
    probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([0, 0, 1])
    # class 0 probs (0.8, 0.3, 0.6) vs (1, 1, 0), bins of width 0.5:
    #   [0, .5): {0.3: 1} gap 0.7; [.5, 1]: {0.8: 1, 0.6: 0} gap |0.5 - 0.7| = 0.2 -> (0.7 + 2 * 0.2) / 3
    # class 1 probs (0.2, 0.7, 0.4) vs (0, 0, 1):
    #   [0, .5): {0.2: 0, 0.4: 1} gap |0.5 - 0.3| = 0.2; [.5, 1]: {0.7: 0} gap 0.7 -> (2 * 0.2 + 0.7) / 3
    assert classwise_ece(probs, labels, n_bins=2) == pytest.approx(1.1 / 3, abs=1e-15)
    stats = pooled_option_stats(probs, labels, n_bins=2)
    # 6 points; median of (0.2, 0.3, 0.4, 0.6, 0.7, 0.8) is 0.5
    assert stats.strategy == "quantile" and stats.n_items == 6
    assert stats.count.tolist() == [3, 3]
    # lower: 0.2 (wrong), 0.3 (right), 0.4 (right); upper: 0.6 (wrong), 0.7 (wrong), 0.8 (right)
    np.testing.assert_allclose(stats.accuracy, [2 / 3, 1 / 3])
    np.testing.assert_allclose(stats.mean_confidence, [0.3, 0.7])
    assert pooled_ece(probs, labels, n_bins=2) == pytest.approx(0.5 * (2 / 3 - 0.3) + 0.5 * (0.7 - 1 / 3), abs=1e-15)


def test_calibration_error_from_stats_matches_ece():
    from calibkit.stats.binning import bin_stats

    stats = bin_stats(CONF5, CORRECT5)
    for norm in ("l1", "l2", "max"):
        assert calibration_error(stats, norm=norm) == ece(CONF5, CORRECT5, norm=norm)


# ---------------------------------------------------------------------------
# Agreement with netcal and scikit-learn on identical inputs


def _pairs(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.25, 1.0, n)
    # under- and over-confident regions, so bin gaps differ in sign
    correct = rng.uniform(size=n) < np.clip(0.3 + 0.9 * (conf - 0.25) ** 0.5, 0, 1)
    # exact 1.0s and values on every equal-width edge
    conf[:40] = 1.0
    conf[40:51] = np.round(np.linspace(0, 1, 11), 1)
    conf[51:62] = np.linspace(0, 1, 11)
    return conf, correct


@pytest.fixture(scope="module")
def netcal_metrics():
    return pytest.importorskip("netcal.metrics")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_bins", [10, 15])
def test_agrees_with_netcal_ece_mce_ace(netcal_metrics, seed, n_bins):
    conf, correct = _pairs(seed)
    y = correct.astype(int)
    assert ece(conf, correct, n_bins=n_bins) == pytest.approx(netcal_metrics.ECE(bins=n_bins).measure(conf, y), abs=1e-9)
    assert mce(conf, correct, n_bins=n_bins) == pytest.approx(netcal_metrics.MCE(bins=n_bins).measure(conf, y), abs=1e-9)
    assert ece(conf, correct, n_bins=n_bins, weighting="uniform") == pytest.approx(
        netcal_metrics.ACE(bins=n_bins).measure(conf, y), abs=1e-9
    )


def test_agrees_with_netcal_on_tiny_input_with_ones(netcal_metrics):
    conf = np.array([1.0, 1.0, 0.95, 0.3, 0.1, 0.55])
    correct = np.array([1, 0, 1, 0, 1, 1])
    assert ece(conf, correct) == pytest.approx(netcal_metrics.ECE(bins=10).measure(conf, correct), abs=1e-9)
    assert mce(conf, correct) == pytest.approx(netcal_metrics.MCE(bins=10).measure(conf, correct), abs=1e-9)


def test_quantile_ece_agrees_with_netcal_equal_mass(netcal_metrics):
    rng = np.random.default_rng(5)
    conf = rng.uniform(0.3, 0.99, 1000)  # no ties (netcal's scipy binning rejects equal edges)
    correct = (rng.uniform(size=1000) < conf**2).astype(int)
    ours = ece(conf, correct, strategy="quantile")
    theirs = netcal_metrics.ECE(bins=10, equal_intervals=False).measure(conf, correct)
    assert ours == pytest.approx(theirs, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_brier_and_log_loss_agree_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    for k in (2, 4):
        probs = rng.dirichlet(np.ones(k) * 0.7, size=500)
        probs[0] = np.eye(k)[0]  # an exact 0 and 1
        labels = rng.integers(0, k, 500)
        labels[0] = 1  # the true option got probability 0: the clip applies
        assert nll(probs, labels) == pytest.approx(log_loss(labels, probs, labels=np.arange(k)), abs=1e-9)
        assert brier_score(probs, labels) == pytest.approx(
            brier_score_loss(labels, probs, labels=np.arange(k), scale_by_half=False), abs=1e-9
        )
        if k == 2:  # sklearn's binary Brier scores the positive class only: half of ours
            assert brier_score(probs, labels) == pytest.approx(2 * brier_score_loss(labels, probs[:, 1]), abs=1e-9)


def test_auroc_agrees_with_sklearn_including_ties():
    rng = np.random.default_rng(7)
    conf = np.round(rng.uniform(0.25, 1.0, 800), 2)  # many ties
    conf[:20] = 1.0
    correct = rng.uniform(size=800) < conf
    assert auroc(conf, correct) == pytest.approx(roc_auc_score(correct, conf), abs=1e-9)


# ---------------------------------------------------------------------------
# Properties

@settings(max_examples=80, deadline=None)
@given(confidences_and_outcomes(50), st.integers(1, 15), st.sampled_from(["uniform", "quantile"]))
def test_ece_bounds_and_norm_ordering(data, n_bins, strategy):
    conf, correct = (np.array(a) for a in data)
    l1 = ece(conf, correct, n_bins=n_bins, strategy=strategy)
    l2 = rms_ce(conf, correct, n_bins=n_bins, strategy=strategy)
    mx = mce(conf, correct, n_bins=n_bins, strategy=strategy)
    assert 0.0 <= l1 <= l2 + 1e-12 <= mx + 2e-12 <= 1.0 + 2e-12
    assert 0.0 <= ece(conf, correct, n_bins=n_bins, strategy=strategy, weighting="uniform") <= mx + 1e-12
    assert 0.0 <= debiased_l2_ce(conf, correct, n_bins=n_bins, strategy=strategy) <= 1.0


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 12), st.integers(1, 5))
def test_ece_zero_for_perfectly_calibrated_steps(numerator, per_bin, n_levels):
    # Each level has confidence p/10 and exactly that share correct; bins that
    # pool several levels stay calibrated (pooled accuracy = pooled confidence).
    conf, correct = [], []
    for level in range(n_levels):
        p = (numerator + level) % 9 + 1  # in 1..9
        m = 10 * per_bin
        conf += [p / 10] * m
        correct += [1] * (p * per_bin) + [0] * ((10 - p) * per_bin)
    conf, correct = np.array(conf), np.array(correct)
    assert ece(conf, correct, n_bins=10) == pytest.approx(0.0, abs=1e-12)
    assert mce(conf, correct, n_bins=10) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(confidences_and_outcomes(50), st.randoms(use_true_random=False))
def test_metrics_invariant_to_item_order(data, rnd):
    conf, correct = (np.array(a) for a in data)
    perm = np.arange(conf.size)
    rnd.shuffle(perm)
    for strategy in ("uniform", "quantile"):
        assert ece(conf[perm], correct[perm], strategy=strategy) == pytest.approx(
            ece(conf, correct, strategy=strategy), abs=1e-12
        )
    assert aurc(conf[perm], correct[perm]) == pytest.approx(aurc(conf, correct), abs=1e-12)
    if 0 < correct.sum() < correct.size:
        assert auroc(conf[perm], correct[perm]) == pytest.approx(auroc(conf, correct), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.sampled_from([0.2, 0.5, 0.8, 1.0]), min_size=n, max_size=n),
            st.lists(st.booleans(), min_size=n, max_size=n),
        )
    )
)
def test_aurc_is_the_mean_over_tie_orders(data):
    conf, correct = (np.array(a) for a in data)
    n = conf.size
    values = []
    for perm in itertools.permutations(range(n)):
        perm = np.array(perm)
        order = perm[np.argsort(-conf[perm], kind="stable")]  # a random order inside ties
        errors = np.cumsum(~correct[order])
        values.append(np.mean(errors / np.arange(1, n + 1)))
    assert aurc(conf, correct) == pytest.approx(np.mean(values), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 64), min_size=n, max_size=n),  # k / 64: 1 - conf is exact
            st.lists(st.booleans(), min_size=n, max_size=n),
        )
    )
)
def test_auroc_bounds_and_symmetry(data):
    conf, correct = np.array(data[0]) / 64, np.array(data[1])
    if not 0 < correct.sum() < correct.size:
        return
    a = auroc(conf, correct)
    assert 0.0 <= a <= 1.0
    assert auroc(1.0 - conf, correct) == pytest.approx(1.0 - a, abs=1e-12)
    assert auroc(conf, ~correct) == pytest.approx(1.0 - a, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(2, 5), st.integers(0, 10**6))
def test_proper_score_ranges(n, k, seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(k), size=n)
    labels = rng.integers(0, k, n)
    assert 0.0 <= brier_score(probs, labels) <= 2.0
    assert nll(probs, labels) >= 0.0
    assert 0.0 <= accuracy(probs, labels) <= 1.0
    assert 0.0 <= classwise_ece(probs, labels) <= 1.0
    assert 0.0 <= pooled_ece(probs, labels) <= 1.0


# ---------------------------------------------------------------------------
# Input checks

GOOD_P = np.array([[0.6, 0.4], [0.3, 0.7]])
GOOD_Y = np.array([0, 1])


@pytest.mark.parametrize(
    "probs, labels, match",
    [
        (np.array([0.6, 0.4]), GOOD_Y, r"probs must have shape \(n, k\)"),
        (np.zeros((0, 2)), np.array([]), "probs must not be empty"),
        (np.array([[0.6, 0.5], [0.3, 0.7]]), GOOD_Y, "probs rows must sum to 1"),
        (np.array([[1.2, -0.2], [0.3, 0.7]]), GOOD_Y, r"probs must lie in \[0, 1\]"),
        (np.array([[NAN, 0.4], [0.3, 0.7]]), GOOD_Y, "probs contains NaN"),
        (GOOD_P, np.array([0, 2]), r"labels must lie in \[0, 2\)"),
        (GOOD_P, np.array([-1, 0]), r"labels must lie in \[0, 2\)"),
        (GOOD_P, np.array([0.5, 1.0]), "labels must hold integer class indices"),
        (GOOD_P, np.array([0, 1, 1]), "labels must have one entry per row"),
        (GOOD_P, np.array([[0, 1]]), r"labels must have shape \(n,\)"),
    ],
)
@pytest.mark.parametrize("fn", [accuracy, brier_score, nll, classwise_ece, pooled_ece, top_label])
def test_bad_probs_labels(fn, probs, labels, match):
    with pytest.raises(ValueError, match=match):
        fn(probs, labels)


def test_probs_sum_tolerance_is_1e6():
    p = np.array([[0.6, 0.4 + 5e-7]])
    assert accuracy(p, np.array([0])) == 1.0
    with pytest.raises(ValueError, match="probs rows must sum to 1"):
        accuracy(np.array([[0.6, 0.4 + 2e-6]]), np.array([0]))


@pytest.mark.parametrize(
    "conf, correct, match",
    [
        ([0.5, 1.5], [1, 0], r"confidence must lie in \[0, 1\]"),
        ([0.5, NAN], [1, 0], "confidence contains NaN"),
        ([], [], "confidence must not be empty"),
        ([0.5, 0.6], [1, 0, 1], "correct must have the same length as confidence"),
        ([0.5, 0.6], [1, 3], "correct must hold only booleans or 0/1"),
    ],
)
@pytest.mark.parametrize("fn", [ece, rms_ce, mce, debiased_l2_ce, auroc, aurc, risk_coverage])
def test_bad_confidence_correct(fn, conf, correct, match):
    with pytest.raises(ValueError, match=match):
        fn(conf, correct)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"norm": "l3"}, "norm must be one of 'l1', 'l2', 'max'"),
        ({"weighting": "count"}, "weighting must be one of 'mass', 'uniform'"),
        ({"strategy": "kmeans"}, "strategy must be one of 'uniform', 'quantile'"),
        ({"n_bins": -1}, "n_bins must be a positive integer"),
    ],
)
def test_bad_ece_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ece(CONF5, CORRECT5, **kwargs)


def test_auroc_one_class_is_a_clear_error():
    with pytest.raises(ValueError, match="correct holds only one class"):
        auroc([0.2, 0.9], [1, 1])
    with pytest.raises(ValueError, match="correct holds only one class"):
        auroc([0.2, 0.9], [0, 0])


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        ece(CONF5, CORRECT5, 10)  # type: ignore[misc]


# ---------------------------------------------------------------------------
# Murphy's decomposition of the Brier score


def test_brier_reliability_by_hand():
    """Five 2-option items; option 0's forecasts 0.8, 0.8, 0.8, 0.3, 0.3 fall in two bins of 10.

    Option 0 is right for items 1, 2, 5. Bin of 0.8 (3 items): share right 2/3; bin of 0.3 (2 items): 1/2.
    Reliability per option: 3/5 (0.8 - 2/3)^2 + 2/5 (0.3 - 1/2)^2 = 3/5 * 0.017778 + 2/5 * 0.04 = 0.026667;
    option 1 is its mirror (same gaps), so the multiclass term is twice that. Resolution: base rate 3/5,
    3/5 (2/3 - 3/5)^2 + 2/5 (1/2 - 3/5)^2 = 0.006667 per option; uncertainty 2 x 3/5 x 2/5 = 0.48.
    """
    p0 = np.array([0.8, 0.8, 0.8, 0.3, 0.3])
    probs = np.c_[p0, 1 - p0]
    labels = np.array([0, 0, 1, 1, 0])
    d = m.murphy_decomposition(probs, labels, n_bins=10)
    assert d.reliability == pytest.approx(2 * (3 / 5 * (0.8 - 2 / 3) ** 2 + 2 / 5 * 0.2**2), abs=1e-12)
    assert d.reliability == pytest.approx(0.053333333333, abs=1e-9)
    assert d.resolution == pytest.approx(2 * (3 / 5 * (2 / 3 - 3 / 5) ** 2 + 2 / 5 * 0.1**2), abs=1e-12)
    assert d.uncertainty == pytest.approx(0.48, abs=1e-12)
    assert m.brier_reliability(probs, labels) == d.reliability
    # binned forecasts (one value per bin): Brier = reliability - resolution + uncertainty exactly
    assert d.brier == pytest.approx(m.brier_score(probs, labels), abs=1e-15)
    assert d.brier == pytest.approx(d.reliability - d.resolution + d.uncertainty, abs=1e-12)


def test_brier_identity_on_binned_forecasts_and_the_within_bin_gap_otherwise():
    rng = np.random.default_rng(11)
    centres = (np.arange(10) + 0.5) / 10
    p1 = rng.choice(centres, 300)
    probs = np.c_[1 - p1, p1]  # both options' forecasts sit at bin centres: binned forecasts
    labels = (rng.uniform(size=300) < p1 ** 1.3).astype(int)
    d = m.murphy_decomposition(probs, labels)
    assert d.brier == pytest.approx(d.reliability - d.resolution + d.uncertainty, abs=1e-12)
    # the reliability term of a binary forecast is the squared RMS calibration error of its bins
    assert d.reliability == pytest.approx(2 * m.rms_ce(p1, labels == 1) ** 2, abs=1e-12)
    jittered = np.clip(p1 + rng.uniform(-0.04, 0.04, 300), 0, 1)
    d2 = m.murphy_decomposition(np.c_[1 - jittered, jittered], labels)
    assert abs(d2.brier - (d2.reliability - d2.resolution + d2.uncertainty)) > 1e-6  # within-bin terms
