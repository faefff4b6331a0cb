"""Tests for calibkit.stats.bootstrap: vectorized kernels vs the metric definitions, coverage, paired tests."""
from __future__ import annotations

import functools
import json
import math
import time

import numpy as np
import pytest

from calibkit.stats import bootstrap
from calibkit.stats import metrics as m
from calibkit.stats.signals.metrics import prr
from calibkit.stats.smooth import smooth_ece
from calibkit.stats.bootstrap import (
    METRICS,
    OPTION_METRICS,
    SUMMARY_METRICS,
    VALUE_METRICS,
    Interval,
    PairedDifference,
    Summary,
    bootstrap_ci,
    option_intervals,
    paired_bootstrap,
    summarize,
)
from calibkit.stats.resampled_metrics import prepare_metric
from calibkit.stats.resampling import index_chunks


def _option_data(seed: int, n: int, k: int = 4, temperature: float = 1.6) -> tuple[np.ndarray, np.ndarray]:
    """Option probabilities from random logits, labels from a flatter (tempered) model."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 2.0
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    q = np.exp(z / temperature)
    q /= q.sum(axis=1, keepdims=True)
    labels = (q.cumsum(axis=1) > rng.uniform(size=(n, 1))).argmax(axis=1)
    return p, labels


def _with_ties(p: np.ndarray) -> np.ndarray:
    """Round probabilities so confidences tie, keeping rows summing to 1."""
    r = np.round(p, 2)
    r[:, -1] = 1.0 - r[:, :-1].sum(axis=1)
    r = np.clip(r, 0.0, 1.0)
    return r / r.sum(axis=1, keepdims=True)


# The reference definition of each named metric, as a plain function.
REFERENCE = {
    "ece": m.ece,
    "rms_ce": m.rms_ce,
    "mce": m.mce,
    "ece_quantile": functools.partial(m.ece, strategy="quantile"),
    "ece_bin_mean": functools.partial(m.ece, weighting="uniform"),
    "debiased_l2": m.debiased_l2_ce,
    "auroc": m.auroc,
    "aurc": m.aurc,
    "accuracy": m.accuracy,
    "brier": m.brier_score,
    "nll": m.nll,
    "classwise_ece": m.classwise_ece,
    "pooled_ece": m.pooled_ece,
    "smooth_ece": smooth_ece,
    "brier_reliability": m.brier_reliability,
    "mean": np.mean,
    "prr": prr,
}


def test_every_named_metric_has_a_reference():
    assert set(REFERENCE) == set(METRICS)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("name", sorted(METRICS))
def test_vectorized_kernel_equals_metric_on_each_resample(name, ties):
    """The vectorized kernel reproduces the definition on the same resamples (incl. quantile re-binning)."""
    p, labels = _option_data(1, 240)
    if ties:
        p = _with_ties(p)
    p[0] = np.eye(4)[labels[0]]  # a confidence of exactly 1.0
    if name in OPTION_METRICS:
        arrays = (p, labels)
    elif name in VALUE_METRICS:  # per-item values: here each item's probability of its label
        arrays = (p[np.arange(len(labels)), labels],)
    else:
        t = m.top_label(p, labels)
        arrays = (t.confidence, t.correct)
    prep = prepare_metric(name, arrays, n_bins=10, shared={})
    assert prep.estimate == REFERENCE[name](*arrays)
    # smooth ECE's reference recomputes relplot's bandwidth search per resample: fewer resamples keep it cheap
    for idx in index_chunks(arrays[0].shape[0], 10 if name == "smooth_ece" else 40, seed=3):
        counts = np.stack([np.bincount(row, minlength=idx.shape[1]) for row in idx]).astype(float)
        fast = prep.kernel(counts)
        for row, value in zip(idx, fast):
            # PRR breaks ties in the order its data lists the items: from multiplicities, item order
            resampled = tuple(a[np.sort(row) if prep.by_index is not None else row] for a in arrays)
            try:
                expected = REFERENCE[name](*resampled)
            except ValueError:  # AUROC on a one-class resample
                expected = math.nan
            if math.isnan(expected):
                assert math.isnan(value)
            else:
                assert value == pytest.approx(expected, abs=1e-9)


def test_named_and_callable_paths_use_the_same_resamples():
    p, labels = _option_data(2, 300)
    t = m.top_label(p, labels)
    fast = bootstrap_ci("ece_quantile", t.confidence, t.correct, n_resamples=60, seed=11)
    slow = bootstrap_ci(REFERENCE["ece_quantile"], t.confidence, t.correct, n_resamples=60, seed=11)
    assert fast.estimate == slow.estimate
    assert fast.low == pytest.approx(slow.low, abs=1e-9) and fast.high == pytest.approx(slow.high, abs=1e-9)


def test_percentile_interval_definition():
    """Seeded draws: rng.integers(0, n, (B, n)) rows are the resamples; bounds are their 2.5/97.5% quantiles."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=50)
    iv = bootstrap_ci(np.mean, x, n_resamples=400, seed=5, level=0.9)
    idx = np.random.default_rng(5).integers(0, 50, size=(400, 50))
    values = x[idx].mean(axis=1)
    low, high = np.quantile(values, [0.05, 0.95])
    assert iv == Interval(float(x.mean()), float(low), float(high), 0.9, 400, float(values.mean()), n=50)


def test_same_seed_same_interval_other_seed_differs():
    conf = np.random.default_rng(0).uniform(0.3, 1, 500)
    correct = np.random.default_rng(1).uniform(size=500) < conf
    a = bootstrap_ci("ece", conf, correct, seed=4, n_resamples=200)
    b = bootstrap_ci("ece", conf, correct, seed=4, n_resamples=200)
    c = bootstrap_ci("ece", conf, correct, seed=5, n_resamples=200)
    assert a == b and a != c


def test_ci_covers_the_true_value_in_simulation():
    """95% intervals of accuracy (true 0.7) and Brier (true 0.58) cover ~95% of the time."""
    p_right = 0.7
    probs_row = np.array([0.6, 0.4])
    true_brier = p_right * (0.16 + 0.16) + (1 - p_right) * (0.36 + 0.36)
    hits = {"accuracy": 0, "brier": 0}
    n_sim = 150
    for sim in range(n_sim):
        rng = np.random.default_rng(1000 + sim)
        labels = (rng.uniform(size=200) >= p_right).astype(int)  # label 0 (the argmax) w.p. 0.7
        probs = np.tile(probs_row, (200, 1))
        iv = option_intervals(probs, labels, metrics=("accuracy", "brier"), n_resamples=200, seed=sim)
        hits["accuracy"] += iv["accuracy"].low <= p_right <= iv["accuracy"].high
        hits["brier"] += iv["brier"].low <= true_brier <= iv["brier"].high
    for name, h in hits.items():
        assert 0.88 <= h / n_sim <= 0.99, (name, h / n_sim)


def test_paired_bootstrap_detects_a_planted_difference():
    p, labels = _option_data(4, 2000, temperature=1.0)
    flat = np.full_like(p, 0.25)
    sharp_wrong = p ** 3 / (p ** 3).sum(axis=1, keepdims=True)  # overconfident copy of the same model
    for name, a, b in [("brier", (p, labels), (flat, labels)), ("nll", (p, labels), (sharp_wrong, labels))]:
        res = paired_bootstrap(name, a, b, n_resamples=500, seed=1)
        assert isinstance(res, PairedDifference)
        assert res.p_value < 0.01
        assert res.difference == pytest.approx(res.estimate_a - res.estimate_b)
        assert res.low <= res.difference <= res.high and res.high < 0
    ta, tb = m.top_label(p, labels), m.top_label(sharp_wrong, labels)
    res = paired_bootstrap("ece", (ta.confidence, ta.correct), (tb.confidence, tb.correct), n_resamples=500)
    assert res.p_value < 0.01 and res.difference < 0


def test_paired_p_value_is_calibrated_under_a_true_null():
    """400 seeded comparisons of two exchangeable models: p < 0.05 in about 5% of them.

    Binomial(400, 0.05) has 99% of its mass in [9, 31] rejections."""
    p_values = []
    for rep in range(400):
        rng = np.random.default_rng([rep, 17])
        labels = rng.integers(0, 4, 150)
        pa = rng.dirichlet(np.ones(4), 150) + np.eye(4)[labels] * rng.uniform(0, 1, (150, 1))
        pb = rng.dirichlet(np.ones(4), 150) + np.eye(4)[labels] * rng.uniform(0, 1, (150, 1))
        pa /= pa.sum(axis=1, keepdims=True)
        pb /= pb.sum(axis=1, keepdims=True)
        p_values.append(paired_bootstrap("brier", (pa, labels), (pb, labels), n_resamples=500, seed=rep).p_value)
    p_values = np.array(p_values)
    rejections = int(np.sum(p_values < 0.05))
    assert 9 <= rejections <= 31, rejections
    assert 0.4 <= np.mean(p_values < 0.5) <= 0.6  # roughly uniform beyond the tail too
    assert p_values.min() > 0


def test_paired_p_value_agrees_with_the_interval_about_zero():
    """p < 1 - level exactly when the percentile interval excludes 0 (up to the +1 correction)."""
    from calibkit.stats.bootstrap import paired_difference, paired_p_value

    rng = np.random.default_rng(0)
    for shift in np.linspace(-0.3, 0.3, 25):
        draws = rng.normal(shift, 0.1, 2000)
        d = paired_difference(shift, 0.0, draws, level=0.9)
        excludes = d.low > 0 or d.high < 0
        assert (d.p_value < 0.1) == excludes or abs(d.p_value - 0.1) < 0.005
        assert d.p_value == paired_p_value(draws)
    # by hand: 1 of 4 draws <= 0, 3 >= 0 -> 2 * (1 + 1) / 5
    assert paired_p_value(np.array([0.1, 0.2, 0.3, -0.1])) == pytest.approx(0.8)
    assert paired_p_value(np.full(9, 0.5)) == pytest.approx(0.2)  # never 0: 2 * 1 / 10
    assert math.isnan(paired_p_value(np.array([np.nan])))


def test_paired_bootstrap_same_model_gives_zero_difference():
    p, labels = _option_data(6, 300)
    res = paired_bootstrap("nll", (p, labels), (p, labels), n_resamples=100)
    assert res.difference == 0 and res.low == 0 and res.high == 0 and res.p_value == 1.0


def test_paired_callable_matches_named():
    p, labels = _option_data(7, 200)
    flat = np.full_like(p, 0.25)
    named = paired_bootstrap("brier", (p, labels), (flat, labels), n_resamples=80, seed=2)
    slow = paired_bootstrap(m.brier_score, (p, labels), (flat, labels), n_resamples=80, seed=2)
    assert named.p_value == slow.p_value
    assert named.low == pytest.approx(slow.low, abs=1e-12) and named.high == pytest.approx(slow.high, abs=1e-12)


def test_summarize_keys_estimates_and_json():
    p, labels = _option_data(8, 1000)
    s = summarize(p, labels, n_resamples=200, seed=3)
    assert isinstance(s, Summary)
    assert list(s.metrics()) == list(SUMMARY_METRICS)
    t = m.top_label(p, labels)
    assert s.accuracy.estimate == m.accuracy(p, labels)
    assert s.ece.estimate == m.ece(t.confidence, t.correct)
    assert s.rms_ce.estimate == m.rms_ce(t.confidence, t.correct)
    assert s.mce.estimate == m.mce(t.confidence, t.correct)
    assert s.ece_quantile.estimate == m.ece(t.confidence, t.correct, strategy="quantile")
    assert s.brier.estimate == m.brier_score(p, labels)
    assert s.nll.estimate == m.nll(p, labels)
    assert s.auroc.estimate == m.auroc(t.confidence, t.correct)
    assert s.aurc.estimate == m.aurc(t.confidence, t.correct)
    for name, iv in s.metrics().items():
        assert np.isfinite([iv.estimate, iv.low, iv.high]).all() and iv.low <= iv.high, name
        assert iv.n_resamples == 200 and iv.level == 0.95
    text = json.dumps(s.to_json(), allow_nan=False)
    back = json.loads(text)
    assert back["n_items"] == 1000 and back["metrics"]["ece"]["estimate"] == s.ece.estimate
    # the same resamples for every metric: same seed, same numbers
    again = option_intervals(p, labels, metrics=("ece",), n_resamples=200, seed=3)
    assert again["ece"] == s.ece


def test_summarize_all_correct_gives_nan_auroc_and_valid_json():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    s = summarize(probs, np.array([0, 1, 0]), n_resamples=50)
    assert math.isnan(s.auroc.estimate) and s.auroc.n_resamples == 0
    assert s.accuracy.estimate == 1.0
    out = s.to_json()
    # undefined (one class) and below the small-n rule: the rule's note too, as on every row of 3 items
    assert out["metrics"]["auroc"] == {"estimate": None, "low": None, "high": None, "level": 0.95, "n_resamples": 0,
                                       "bootstrap_mean": None, "n": 3, "note": "n too small for an interval (n=3 < 20)"}
    assert out["metrics"]["accuracy"]["note"] == "n too small for an interval (n=3 < 20)"
    json.dumps(out, allow_nan=False)


def test_auroc_resamples_with_one_class_are_dropped():
    conf = np.linspace(0.95, 0.55, 20)
    correct = np.r_[np.ones(19), 0]
    iv = bootstrap_ci("auroc", conf, correct, n_resamples=300, seed=0)
    # P(no wrong item in a resample of 20) = 0.95 ** 20 = 0.36
    assert 150 < iv.n_resamples < 250
    assert iv.estimate == 1.0


def test_ece_bootstrap_speed_14k_items():
    """1,000 resamples of 14,042 items: well under a second on an idle core (budget 3 s for busy CI)."""
    p, labels = _option_data(9, 14_042)
    t = m.top_label(p, labels)
    bootstrap_ci("ece", t.confidence, t.correct, n_resamples=50)  # warm-up
    start = time.perf_counter()
    bootstrap_ci("ece", t.confidence, t.correct, n_resamples=1000)
    assert time.perf_counter() - start < 3.0


def test_interval_to_json_maps_nan_to_null():
    assert Interval(math.nan, 0.1, 0.2, 0.95, 3).to_json() == {
        "estimate": None, "low": 0.1, "high": 0.2, "level": 0.95, "n_resamples": 3, "bootstrap_mean": None,
        "n": None, "note": None,
    }


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda c, y: bootstrap_ci("ecee", c, y), "metric must be a callable or one of"),
        (lambda c, y: bootstrap_ci("ece", c), r"arrays for metric 'ece' must be \(confidence, correct\)"),
        (lambda c, y: bootstrap_ci("ece", c, y, n_resamples=0), "n_resamples must be a positive integer"),
        (lambda c, y: bootstrap_ci("ece", c, y, level=1.5), r"level must be a number in \(0, 1\)"),
        (lambda c, y: bootstrap_ci("ece", c, y, seed=-1), "seed must be a non-negative integer"),
        (lambda c, y: bootstrap_ci("ece", c, y, n_bins=0), "n_bins must be a positive integer"),
        (lambda c, y: bootstrap_ci("ece", c * 2, y), r"confidence must lie in \[0, 1\]"),
        (lambda c, y: bootstrap_ci("brier", c, y), r"probs must have shape \(n, k\)"),
        (lambda c, y: bootstrap_ci(np.mean, c, y[:3]), "arrays must all have the same length"),
        (lambda c, y: bootstrap_ci(np.mean), "arrays must hold at least one array"),
        (
            lambda c, y: paired_bootstrap("ece", (c, y), (c[:3], y[:3])),
            "arrays_b must have as many items as arrays_a",
        ),
        (lambda c, y: option_intervals(np.eye(2)[[0, 1, 1, 0, 1]], y, metrics=("foo",)), "metrics must be one of"),
        (lambda c, y: bootstrap_ci(m.auroc, c, np.ones(5), n_resamples=5), "correct holds only one class"),
    ],
)
def test_bad_inputs(call, match):
    conf = np.array([0.6, 0.7, 0.8, 0.9, 0.95])
    correct = np.array([1, 0, 1, 1, 0])
    with pytest.raises(ValueError, match=match):
        call(conf, correct)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        summarize(np.eye(2), np.array([0, 1]), 10)  # type: ignore[misc]


def test_auroc_of_one_class_is_undefined_not_an_error():
    """Every item wrong (a tiny model on a few questions): AUROC and its paired difference are NaN."""
    conf = np.array([0.9, 0.4, 0.6, 0.7])
    wrong = np.zeros(4, dtype=bool)
    mixed = np.array([True, False, True, False])
    iv = bootstrap_ci("auroc", conf, wrong, n_resamples=20)
    assert math.isnan(iv.estimate) and math.isnan(iv.low) and iv.n_resamples == 0
    for a, b in (((conf, wrong), (conf, mixed)), ((conf, mixed), (conf, wrong))):
        d = paired_bootstrap("auroc", a, b, n_resamples=20)
        assert math.isnan(d.difference) and math.isnan(d.p_value) and d.n_resamples == 0
    tiled = (np.tile(conf, 5), np.tile(wrong, 5)), (np.tile(conf, 5), np.tile(mixed, 5))
    assert paired_bootstrap("ece", *tiled, n_resamples=20).n_resamples == 20


def test_cluster_ci_resamples_whole_clusters():
    """Equal to a plain loop: draw cluster labels with the same generator, stack their items, compute."""
    from calibkit.stats.bootstrap import cluster_ci

    rng = np.random.default_rng(3)
    clusters = np.repeat(np.arange(30), 4)  # 30 questions x 4 options
    conf = rng.uniform(size=clusters.size)
    correct = rng.uniform(size=clusters.size) < conf
    for name, fn in (("ece", m.ece), ("auroc", m.auroc)):
        iv = cluster_ci(name, conf, correct, clusters=clusters, n_resamples=150, seed=9)
        draws = np.random.default_rng(9).integers(0, 30, size=(150, 30))
        values = []
        for row in draws:
            idx = np.concatenate([np.flatnonzero(clusters == c) for c in row])
            values.append(fn(conf[idx], correct[idx]) if correct[idx].any() and not correct[idx].all() else np.nan)
        values = np.array(values)
        low, high = np.quantile(values[np.isfinite(values)], [0.025, 0.975])
        assert iv.estimate == pytest.approx(fn(conf, correct), abs=1e-12)
        assert (iv.low, iv.high) == pytest.approx((low, high), abs=1e-9)
    with pytest.raises(ValueError, match="one label per item"):
        cluster_ci("ece", conf, correct, clusters=clusters[:-1])


def test_one_item_gives_an_estimate_but_no_interval_and_no_p_value():
    """A bootstrap of one item resamples that item every time: no spread, so no interval (not [x, x], p=0.002).

    The small-n rule (tests/stats/test_paired.py checks its boundary) covers this case too."""
    conf, correct = np.array([0.9]), np.array([1])
    iv = bootstrap.bootstrap_ci("ece", conf, correct, n_resamples=100)
    assert iv.estimate == pytest.approx(0.1) and np.isnan(iv.low) and np.isnan(iv.high) and iv.n_resamples == 0
    iv = bootstrap.bootstrap_ci(lambda c, y: float(np.mean(c)), conf, correct, n_resamples=100)
    assert iv.estimate == pytest.approx(0.9) and np.isnan(iv.low)
    probs, labels = np.array([[0.7, 0.3]]), np.array([0])
    ivs = bootstrap.option_intervals(probs, labels, metrics=("accuracy", "brier"), n_resamples=100)
    assert ivs["accuracy"].estimate == 1.0 and np.isnan(ivs["brier"].high)
    d = bootstrap.paired_bootstrap("brier", (probs, labels), (np.array([[0.4, 0.6]]), labels), n_resamples=100)
    assert d.difference == pytest.approx(0.18 - 0.72) and np.isnan(d.p_value) and np.isnan(d.low)
    iv = bootstrap.cluster_ci("ece", np.array([0.9, 0.8]), np.array([1, 0]), clusters=np.array([5, 5]))
    assert np.isnan(iv.low) and iv.n_resamples == 0
    assert d.note == iv.note == "n too small for an interval (n=1 < 20)"
