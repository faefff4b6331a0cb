"""The authors' RSA reference speaker and listener (calibkit.rsa)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from calibkit import human, rsa

HF_CLEAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "herbstritt_franke" / "authors_clean"


def test_published_simple_params_are_the_posterior_means():
    p = rsa.SimpleRSAParams.published()
    assert p.lam == pytest.approx(4.87, abs=0.005)
    assert p.theta_possibly == pytest.approx(0.245, abs=0.001)
    assert p.theta_probably == pytest.approx(0.550, abs=0.001)
    assert p.theta_certainly == pytest.approx(0.949, abs=0.001)
    assert p.alpha == pytest.approx(3.26, abs=0.005)
    assert p.beta == pytest.approx(3.06, abs=0.005)


def test_published_params_match_the_authors_samples():
    path = HF_CLEAN / "1.simple_df_samples_posterior_params.csv"
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (../shared/data is only on dev/CI machines)")
    samples = np.genfromtxt(path, delimiter=",", names=True)
    p = rsa.SimpleRSAParams.published()
    assert p.lam == pytest.approx(samples["lambda"].mean(), abs=1e-6)
    assert p.theta_certainly == pytest.approx(samples["thetacertainly"].mean(), abs=1e-6)
    assert p.alpha_access == pytest.approx(samples["alpha_ax"].mean(), abs=1e-6)


def test_simple_speaker_reproduces_the_authors_fit():
    """Pearson r over the 75 context x expression cells: authors report .86-.88."""
    people = human.load_simple_production()
    model = rsa.simple_speaker()
    assert model.shape == (15, 5)
    np.testing.assert_allclose(model.sum(axis=1), 1.0)
    r = stats.pearsonr(model.ravel(), people.proportions.ravel())[0]
    assert r == pytest.approx(0.875, abs=0.02)
    assert r == pytest.approx(0.8749, abs=0.001)  # what this implementation gives


def test_simple_speaker_modes_follow_the_evidence():
    model = rsa.simple_speaker()
    modes = [human.SIMPLE_EXPRESSIONS[i] for i in model.argmax(axis=1)]
    ctx = [tuple(c) for c in human.CONTEXTS]
    assert modes[ctx.index((8, 0))] == "certainly not"
    assert modes[ctx.index((8, 8))] == "certainly"
    assert modes[ctx.index((8, 6))] == "probably"
    assert modes[ctx.index((10, 5))] == "possibly"


def test_simple_speaker_hand_computed_full_access():
    # Flat prior (alpha = beta = 1), full access, 7 red: the speaker knows s = 7.
    # H(one-hot at 7, uniform over K states holding 7) = sqrt(1 - 1/sqrt(K)); disjoint = 1.
    params = rsa.SimpleRSAParams(
        alpha=1, beta=1, lam=2.0, theta_possibly=0.25, theta_probably=0.55, theta_certainly=0.95
    )
    # certainly not {0}, probably not {0..4}, possibly {3..10} (K=8), probably {6..10} (K=5), certainly {10}
    hd = np.array([1.0, 1.0, math.sqrt(1 - math.sqrt(1 / 8)), math.sqrt(1 - math.sqrt(1 / 5)), 1.0])
    expected = np.exp(-2.0 * hd) / np.exp(-2.0 * hd).sum()
    got = rsa.simple_speaker(params, contexts=[(10, 7)])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert hd[3] == pytest.approx(0.743496, abs=1e-6)


def test_semantics_thresholds_are_strict():
    p = rsa.SimpleRSAParams(alpha=1, beta=1, lam=1, theta_possibly=0.3, theta_probably=0.6, theta_certainly=0.9)
    sem = rsa.simple_semantics(p).astype(bool)
    s = np.arange(11)
    assert s[sem[0]].tolist() == [0]  # certainly not: s < 1
    assert s[sem[1]].tolist() == [0, 1, 2, 3]  # probably not: s < 4
    assert s[sem[2]].tolist() == list(range(4, 11))  # possibly: s > 3
    assert s[sem[3]].tolist() == list(range(7, 11))  # probably: s > 6
    assert s[sem[4]].tolist() == [10]  # certainly: s > 9


def test_speaker_beliefs_match_counting():
    prior = rsa.state_prior(alpha=3.0, beta=2.0)
    got = rsa.speaker_beliefs([(4, 1)], prior=prior)[0]
    # P(1 red of 4 drawn | s red of 10) by counting subsets.
    like = np.array([math.comb(s, 1) * math.comb(10 - s, 3) / math.comb(10, 4) for s in range(11)])
    expected = like * prior / (like * prior).sum()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert got[0] == 0 and got[10] == 0
    np.testing.assert_allclose(prior, stats.betabinom.pmf(np.arange(11), 10, 3.0, 2.0))


def test_hellinger():
    assert rsa.hellinger([1, 0], [0, 1]) == pytest.approx(1.0)
    assert rsa.hellinger([0.3, 0.7], [0.3, 0.7]) == pytest.approx(0.0)
    p, q = np.array([0.2, 0.8]), np.array([0.5, 0.5])
    assert rsa.hellinger(p, q) == pytest.approx(np.sqrt(1 - np.sqrt(p * q).sum()))


def test_complex_speaker_fit_in_the_authors_range():
    people = human.merged_complex_production()
    model = rsa.complex_speaker()
    assert model.shape == (15, 12)
    np.testing.assert_allclose(model.sum(axis=1), 1.0)
    r = stats.pearsonr(model.ravel(), people.proportions.ravel())[0]
    assert 0.60 <= r <= 0.72  # the authors' interval for the complex production fit
    assert r == pytest.approx(0.677, abs=0.005)


def test_listeners_are_distributions_and_track_people():
    simple = rsa.simple_listener()
    assert simple.state.shape == (5, 11) and simple.access_observation.shape == (5, 11, 11)
    np.testing.assert_allclose(simple.state.sum(axis=1), 1.0)
    np.testing.assert_allclose(simple.access_observation.sum(axis=(1, 2)), 1.0)
    assert not np.triu(simple.access_observation.sum(axis=0), k=1).any()
    assert simple.access[:, 0].sum() == 0
    # "certainly" points at many red balls, "certainly not" at few.
    assert simple.state[4].argmax() == 10 and simple.state[0].argmax() == 0
    people = human.load_simple_interpretation()
    assert stats.pearsonr(simple.state.ravel(), people.state_proportions.ravel())[0] > 0.7
    cx = rsa.complex_listener()
    assert cx.state.shape == (12, 11)
    r = stats.pearsonr(cx.state.ravel(), human.load_complex_interpretation().state_proportions.ravel())[0]
    assert r > 0.8  # the authors report .85 for the state guesses


def test_bad_inputs():
    with pytest.raises(ValueError, match="theta_probably"):
        rsa.SimpleRSAParams(alpha=1, beta=1, lam=1, theta_possibly=0.2, theta_probably=1.5, theta_certainly=0.9)
    with pytest.raises(ValueError, match="alpha"):
        rsa.SimpleRSAParams(alpha=-1, beta=1, lam=1, theta_possibly=0.2, theta_probably=0.5, theta_certainly=0.9)
    with pytest.raises(ValueError, match="lam"):
        rsa.ComplexRSAParams(alpha=1, beta=1, lam=-2, theta_possible=0.2, theta_likely=0.5,
                             theta_might=0.3, theta_probably=0.6, theta_certainly=0.9)
    with pytest.raises(ValueError, match="contexts"):
        rsa.simple_speaker(contexts=[(4, 5)])
    with pytest.raises(ValueError, match="contexts"):
        rsa.simple_speaker(contexts=[4, 5])
    with pytest.raises(ValueError, match="alpha"):
        rsa.state_prior(alpha=0, beta=1)
