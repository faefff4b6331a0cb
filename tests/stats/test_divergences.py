"""Divergences and correlations (calibkit.stats.divergences): hand values, scipy agreement, properties."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from calibkit.stats import divergences

# ----------------------------------------------------------------- divergences: hand-computed


def test_jsd_hand_values():
    assert divergences.jensen_shannon_bits([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    # m = (.75, .25): 0.5*[.5 log2(.5/.75) + .5 log2(.5/.25)] + 0.5*[log2(1/.75)]
    expected = 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(2.0)) + 0.5 * math.log2(1 / 0.75)
    assert divergences.jensen_shannon_bits([0.5, 0.5], [1.0, 0.0]) == pytest.approx(expected)
    assert expected == pytest.approx(0.311278, abs=1e-6)
    assert divergences.jensen_shannon_bits([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == pytest.approx(0.0, abs=1e-15)


def test_jsd_agrees_with_scipy():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(5), size=20)
    q = rng.dirichlet(np.ones(5), size=20)
    ours = divergences.jensen_shannon_bits(p, q)
    theirs = np.array([jensenshannon(a, b, base=2) ** 2 for a, b in zip(p, q)])
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_total_variation_hand_values():
    assert divergences.total_variation([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]) == pytest.approx(0.5)
    assert divergences.total_variation([1, 0], [0, 1]) == pytest.approx(1.0)
    assert divergences.total_variation([0.1, 0.2, 0.7], [0.3, 0.3, 0.4]) == pytest.approx(0.3)


def test_log_likelihood_ratio_hand_values():
    assert divergences.log_likelihood_ratio_bits([2, 0], [1.0, 0.0], smoothing=0) == pytest.approx(2.0)
    # smoothing 0.5, E = 2: q~ = (1.5, 0.5) / 2 -> 2 * log2(0.75 * 2)
    assert divergences.log_likelihood_ratio_bits([2, 0], [1.0, 0.0], smoothing=0.5) == pytest.approx(2 * math.log2(1.5))
    # A uniform model scores exactly 0; a wrong sure model is -inf without smoothing.
    assert divergences.log_likelihood_ratio_bits([3, 1, 2], [1 / 3] * 3) == pytest.approx(0.0, abs=1e-12)
    assert divergences.log_likelihood_ratio_bits([0, 1], [1.0, 0.0], smoothing=0) == -np.inf
    assert np.isfinite(divergences.log_likelihood_ratio_bits([0, 1], [1.0, 0.0]))
    # Against scipy's multinomial: the ratio is a difference of log-pmfs.
    counts, q = np.array([4, 0, 3, 1]), np.array([0.4, 0.1, 0.3, 0.2])
    expected = (stats.multinomial.logpmf(counts, 8, q) - stats.multinomial.logpmf(counts, 8, [0.25] * 4)) / math.log(2)
    assert divergences.log_likelihood_ratio_bits(counts, q, smoothing=0) == pytest.approx(expected)


def test_correlations_hand_and_scipy():
    x, y = [1, 2, 3, 4], [2, 4, 6, 9]
    # hand: mean x 2.5, mean y 5.25; sxy = 11.5, sxx = 5, syy = 26.75
    assert divergences.pearson_r(x, y) == pytest.approx(11.5 / math.sqrt(5 * 26.75))
    assert divergences.spearman_r(x, y) == pytest.approx(1.0)
    rng = np.random.default_rng(2)
    a = rng.normal(size=40)
    b = np.round(a + rng.normal(size=40), 1)  # with ties
    b[:5] = b[0]
    assert divergences.pearson_r(a, b) == pytest.approx(stats.pearsonr(a, b)[0], abs=1e-12)
    assert divergences.spearman_r(a, b) == pytest.approx(stats.spearmanr(a, b)[0], abs=1e-12)
    assert math.isnan(divergences.pearson_r([0.2] * 5, [1, 2, 3, 4, 5]))


# ----------------------------------------------------------------- divergences: properties

_dist = st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).filter(lambda v: sum(v) > 1e-3)


def _norm(v):
    v = np.asarray(v, dtype=float)
    return v / v.sum()


@settings(max_examples=200, deadline=None)
@given(_dist, _dist)
def test_jsd_properties(a, b):
    p, q = _norm(a), _norm(b)
    js = float(divergences.jensen_shannon_bits(p, q))
    assert 0.0 <= js <= 1.0
    assert js == pytest.approx(float(divergences.jensen_shannon_bits(q, p)), abs=1e-12)
    assert float(divergences.jensen_shannon_bits(p, p)) == pytest.approx(0.0, abs=1e-12)
    tv = float(divergences.total_variation(p, q))
    assert 0.0 <= tv <= 1.0 + 1e-12
    if tv > 1e-6:  # distinct distributions have positive divergence
        assert js > 0.0
    # Lin (1991): JSD in bits never exceeds the total variation.
    assert js <= tv + 1e-12



def test_jsd_survives_subnormal_probabilities():
    # m = (p + q) / 2 underflows to 0 for p = 5e-324; the divergence must stay finite and warning-free.
    vals = [0.0, 5e-324, 1e-308, 1e-300, 0.5, 1.0]
    grid = np.array([a for a in itertools.product(vals, repeat=3) if sum(a) > 1e-3])
    grid = grid / grid.sum(axis=1, keepdims=True)
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        js = divergences.jensen_shannon_bits(grid[:, None, :], grid[None, :, :])
    assert np.all((js >= 0) & (js <= 1)) and np.allclose(js, js.T)
