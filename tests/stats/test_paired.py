"""The paired permutation test (exact p-values on hand-made pairs), paired_test, and the small-n rule."""
from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest

from calibkit.stats import metrics as m
from calibkit.stats.kernels import softmax
from calibkit.stats.bootstrap import (
    MIN_ITEMS,
    bootstrap_ci,
    cluster_ci,
    interval,
    option_intervals,
    paired_bootstrap,
    paired_difference,
    summarize,
    too_few,
)
from calibkit.stats.comparison import Measure, paired_comparison
from calibkit.stats.paired import (
    DEFAULT_TEST, EXACT_MAX_ITEMS, HEADLINE_METRIC, MIN_TEST_ITEMS, paired_test, permutation_test,
)


def _mean_pairs(a, b):
    return permutation_test(np.mean, (np.asarray(a, float),), (np.asarray(b, float),))


# ---------------------------------------------------------------------------
# Exact p-values, computed by hand


def test_two_items_smallest_p_is_one_half():
    """a right on both items, b wrong on both: swaps give D = 1, 0, 0, -1, so p = 2/4."""
    res = _mean_pairs([1, 1], [0, 0])
    assert res.p_value == 0.5 and res.exact and res.n_permutations == 4
    assert res.test == "exact sign-flip (2^2 swaps)" and res.difference == 1.0


@pytest.mark.parametrize(
    "a, b, p",
    [
        ([1, 2, 4], [0, 0, 0], 2 / 8),  # sums of ±1 ±2 ±4: only ±7 reach |7|
        ([4, 2, -1], [0, 0, 0], 4 / 8),  # observed 5; ±7 and ±5 reach it
        ([1, 0], [0, 0], 1.0),  # the second item's swap changes nothing: every pattern gives |D| = 1/2
        ([0.3, 0.3, 0.3], [0.3, 0.3, 0.3], 1.0),  # no difference at all
        ([3, 1, 1, 1], [0, 0, 0, 0], 2 / 16),  # ±3 ±1 ±1 ±1 reaches |6| only with every sign alike
        ([3, 1, 1, 0], [0, 0, 0, 1], 8 / 16),  # d = (3, 1, 1, -1), |sum| >= 4: 3 + {1, 1, 1, 3} and mirrors
    ],
)
def test_exact_sign_flip_p_values_by_hand(a, b, p):
    assert _mean_pairs(a, b).p_value == pytest.approx(p, abs=1e-15)


def test_named_metric_accuracy_on_four_items():
    """a right on all 4 items, b wrong on all: |D*| = 1 only for 'no swap' and 'swap all': p = 2/16."""
    labels = np.zeros(4, dtype=int)
    right, wrong = np.tile([0.9, 0.1], (4, 1)), np.tile([0.2, 0.8], (4, 1))
    res = permutation_test("accuracy", (right, labels), (wrong, labels))
    assert res.p_value == 2 / 16 and res.difference == 1.0


@pytest.mark.parametrize("name", ["ece", "ece_quantile", "debiased_l2", "smooth_ece", "auroc"])
def test_exact_test_equals_a_plain_loop_over_the_2n_swaps(name):
    """Named calibration metrics on 5 items: every swapped data set recomputed from scratch (binning included)."""
    rng = np.random.default_rng(3)
    ca, cb = rng.uniform(0.3, 1.0, 5), rng.uniform(0.3, 1.0, 5)
    ya, yb = np.array([1, 0, 1, 1, 0]), np.array([1, 1, 0, 1, 0])
    fn = {"ece": m.ece, "ece_quantile": functools.partial(m.ece, strategy="quantile"),
          "debiased_l2": m.debiased_l2_ce, "auroc": m.auroc}.get(name)
    if fn is None:
        from calibkit.stats.smooth import smooth_ece as fn
    values = []
    for k in range(2**5):
        s = np.array([(k >> i) & 1 for i in range(5)], dtype=bool)
        try:
            values.append(fn(np.where(s, cb, ca), np.where(s, yb, ya)) - fn(np.where(s, ca, cb), np.where(s, ya, yb)))
        except ValueError:  # AUROC of a swapped set with one class
            pass
    values = np.array(values)
    observed = fn(ca, ya) - fn(cb, yb)
    want = np.mean(np.abs(values) >= abs(observed) * (1 - 1e-9))
    res = permutation_test(name, (ca, ya), (cb, yb))
    assert res.difference == pytest.approx(observed, abs=1e-12)
    assert res.n_permutations == values.size and res.p_value == pytest.approx(want, abs=1e-15)


def test_random_swaps_beyond_the_exact_limit_use_the_plus_one_rule():
    """30 items: 500 seeded random patterns (each item swapped w.p. 1/2), p = (1 + #extreme) / 501."""
    rng = np.random.default_rng(8)
    a, b = rng.normal(0.2, 1.0, 30), rng.normal(0.0, 1.0, 30)
    res = permutation_test(np.mean, (a,), (b,), n_permutations=500, seed=4)
    swaps = np.random.default_rng(4).random((500, 30)) < 0.5
    d = a - b
    values = np.where(swaps, -d, d).mean(axis=1)
    extreme = np.sum(np.abs(values) >= abs(d.mean()) * (1 - 1e-9))
    assert not res.exact and res.test == "permutation (500 random swaps)"
    assert res.p_value == pytest.approx((1 + extreme) / 501, abs=1e-15)
    assert EXACT_MAX_ITEMS < 30


# ---------------------------------------------------------------------------
# paired_test: one entry point


def test_paired_test_keeps_the_bootstrap_interval_and_names_its_test():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    good = np.where(labels[:, None] == [0, 1], 0.8, 0.2)
    flat = np.full((200, 2), 0.5)
    boot = paired_bootstrap("brier", (good, labels), (flat, labels), n_resamples=300, seed=2)
    perm = paired_test("brier", (good, labels), (flat, labels), n_resamples=300, seed=2)
    assert DEFAULT_TEST == "permutation" and perm.test == "permutation (300 random swaps)"
    assert (perm.low, perm.high, perm.difference, perm.n) == (boot.low, boot.high, boot.difference, 200)
    assert perm.p_value == pytest.approx(1 / 301)  # no swap pattern comes near a difference of 0.26
    again = paired_test("brier", (good, labels), (flat, labels), n_resamples=300, seed=2, test="bootstrap")
    assert again == boot and again.test == "bootstrap"
    out = perm.to_json()
    assert out["test"] == "permutation (300 random swaps)" and out["n"] == 200 and out["note"] is None
    with pytest.raises(ValueError, match="test must be one of"):
        paired_test("brier", (good, labels), (flat, labels), test="t-test")


def test_headline_test_is_at_nominal_size_under_the_null():
    """300 seeded null comparisons at n = 20 through the one paired comparison every task's compare calls
    (calibkit.stats.comparison.paired_comparison, whose test is the permutation test: DEFAULT_TEST).

    Two models from one process (exchangeable within items); 19 random swaps each, so p = (1 + c) / 20
    and p <= 0.05 exactly when no swap reaches |D|: probability 1/20 under the null. Binomial(300, 0.05)
    has sd 0.0126; the tolerance is 0.03. The statistic is the 10-bin ECE kept beside the headline:
    the swap machinery and the p-value are the same for every measure, and smooth ECE's bandwidth
    search (about 1 ms per swapped data set) would not fit 300 x 20 data sets into this test's budget;
    the bench measures smooth ECE's own size (bench/calibration_test_power.py)."""
    assert HEADLINE_METRIC == "smooth_ece" and DEFAULT_TEST == "permutation"
    rejections = 0
    for rep in range(300):
        rng = np.random.default_rng([rep, 30])
        z = rng.normal(size=(20, 4)) * 1.5
        labels = np.minimum((softmax(z, axis=1).cumsum(axis=1) < rng.uniform(size=(20, 1))).sum(axis=1), 3)
        a, b = (m.top_label(softmax(z + rng.normal(size=z.shape) * 0.5, axis=1), labels) for _ in range(2))
        runs = {"a": (a.confidence, a.correct), "b": (b.confidence, b.correct)}
        table = paired_comparison(runs, [Measure({"metric": "ece"}, "ece", lambda run: run)], n_resamples=19, seed=rep)
        assert table["test"].iloc[1] == "permutation (19 random swaps)"
        rejections += table["p_value"].iloc[1] <= 0.05
    assert abs(rejections / 300 - 0.05) <= 0.03, rejections


# ---------------------------------------------------------------------------
# The small-n rule at its boundary


def _items(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    probs = rng.dirichlet(np.ones(3), n)
    top = m.top_label(probs, labels)
    return probs, labels, top.confidence, top.correct


def test_rule_threshold_and_note():
    assert MIN_ITEMS == 20
    assert too_few(MIN_ITEMS - 1) == "n too small for an interval (n=19 < 20)"
    assert too_few(MIN_ITEMS) is None


@pytest.mark.parametrize("n, has_interval", [(MIN_ITEMS - 1, False), (MIN_ITEMS, True)])
def test_every_interval_follows_the_rule(n, has_interval):
    probs, labels, conf, correct = _items(n)
    flat = np.full_like(probs, 1 / 3)
    results = [
        bootstrap_ci("ece", conf, correct, n_resamples=50),
        bootstrap_ci(lambda c: float(np.mean(c)), conf, n_resamples=50),
        cluster_ci("brier", probs, labels, clusters=np.arange(n), n_resamples=50),
        option_intervals(probs, labels, metrics=("accuracy",), n_resamples=50)["accuracy"],
        summarize(probs, labels, n_resamples=50).brier,
        interval(0.5, np.linspace(0, 1, 50), n=n),
    ]
    pairs = [
        paired_bootstrap("brier", (probs, labels), (flat, labels), n_resamples=50),
        paired_test("brier", (probs, labels), (flat, labels), n_resamples=50),
        paired_test("smooth_ece", (conf, correct), (np.full(n, 0.5), correct), n_resamples=20),
        paired_difference(0.2, 0.1, np.linspace(-1, 1, 50), n=n),
    ]
    for iv in results:
        assert math.isfinite(iv.estimate) and iv.n == n
        assert (math.isfinite(iv.low) and math.isfinite(iv.high)) == has_interval
        assert iv.note == (None if has_interval else f"n too small for an interval (n={n} < 20)")
        assert json.loads(json.dumps(iv.to_json(), allow_nan=False))["note"] == iv.note
    for d in pairs:
        assert math.isfinite(d.difference) and d.n == n
        assert math.isfinite(d.low) == has_interval
        assert d.note == (None if has_interval else f"n too small for an interval (n={n} < 20)")
        assert json.loads(json.dumps(d.to_json(), allow_nan=False))["note"] == d.note
    # the bootstrap's p inverts its interval, so it goes with it; the permutation test is exact at any n
    assert math.isfinite(pairs[0].p_value) == has_interval and math.isfinite(pairs[3].p_value) == has_interval
    assert all(math.isfinite(d.p_value) and d.test.startswith("permutation") for d in pairs[1:3])


@pytest.mark.parametrize("n", [MIN_TEST_ITEMS - 1, MIN_TEST_ITEMS])
def test_below_the_interval_rule_the_exact_test_reports_from_six_items(n):
    """With n items the exact test's smallest p is 2/2^n: from 6 items (1/32) it is reported, without an interval."""
    a = np.ones(n)  # run a right everywhere, run b wrong everywhere: the most extreme data there is
    d = paired_test(lambda x: float(np.mean(x)), (a,), (np.zeros(n),), n_resamples=50)
    assert d.note == f"n too small for an interval (n={n} < 20)" and math.isnan(d.low)
    if n < MIN_TEST_ITEMS:
        assert math.isnan(d.p_value)
    else:
        assert d.p_value == pytest.approx(2 / 2**n) and d.test == f"exact sign-flip (2^{n} swaps)"


def test_cluster_rule_counts_clusters_not_items():
    probs, labels, _, _ = _items(4 * 19)
    few = cluster_ci("brier", probs, labels, clusters=np.repeat(np.arange(19), 4), n_resamples=30)
    enough = cluster_ci("brier", probs, labels, clusters=np.repeat(np.arange(19), 4)[: 4 * 19] % 19, n_resamples=30)
    assert few.note == "n too small for an interval (n=19 < 20)" and few.n == 19 and enough.n == 19
    probs, labels, _, _ = _items(4 * 20)
    ok = cluster_ci("brier", probs, labels, clusters=np.repeat(np.arange(20), 4), n_resamples=30)
    assert ok.note is None and ok.n == 20 and ok.low <= ok.estimate <= ok.high


def test_named_mean_is_the_vectorized_sign_flip_test():
    # six items right for a, wrong for b: only "no swap" and "swap all" reach |D| = 1, so p = 2 / 2^6
    res = permutation_test("mean", (np.ones(6),), (np.zeros(6),))
    assert (res.difference, res.p_value, res.n_permutations, res.exact) == (1.0, 2 / 64, 64, True)
    # beyond the exact range: the same swap patterns, so the same p as the callable np.mean, pattern by pattern
    rng = np.random.default_rng(1)
    a, b = (rng.uniform(size=40) < 0.7).astype(float), (rng.uniform(size=40) < 0.5).astype(float)
    assert permutation_test("mean", (a,), (b,), n_permutations=300, seed=2) == permutation_test(
        np.mean, (a,), (b,), n_permutations=300, seed=2)
    assert paired_test("mean", (a,), (b,), n_resamples=200) == paired_test(np.mean, (a,), (b,), n_resamples=200)
    with pytest.raises(ValueError, match=r"arrays for metric 'mean' must be \(values,\); got 2 arrays"):
        permutation_test("mean", (a, b), (b, a))
