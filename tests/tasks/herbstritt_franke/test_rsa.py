"""The authors' RSA reference speaker and listener (calibkit.tasks.herbstritt_franke.rsa)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from calibkit.tasks.herbstritt_franke import design, human, rsa

from conftest import SHARED_DATA

HF_CLEAN = SHARED_DATA / "herbstritt_franke" / "authors_clean"


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


def speaker_fit(model: np.ndarray, people: human.ProductionTable) -> float:
    """Pearson r over the cells of a speaker's (contexts, expressions) rows and people's shares, after checking
    the model has people's shape and its rows are distributions."""
    assert model.shape == people.counts.shape
    np.testing.assert_allclose(model.sum(axis=1), 1.0)
    return stats.pearsonr(model.ravel(), people.proportions.ravel())[0]


def test_simple_speaker_reproduces_the_authors_fit():
    """Pearson r over the 75 context x expression cells: authors report .86-.88."""
    people = human.load_simple_production()
    assert people.counts.shape == (15, 5)
    r = speaker_fit(rsa.simple_speaker(), people)
    assert r == pytest.approx(0.875, abs=0.02)
    assert r == pytest.approx(0.8749, abs=0.001)  # what this implementation gives


def test_simple_speaker_modes_follow_the_evidence():
    model = rsa.simple_speaker()
    modes = [design.SIMPLE_EXPRESSIONS[i] for i in model.argmax(axis=1)]
    ctx = [tuple(c) for c in design.CONTEXTS]
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


def _authors_complex_speaker(p: rsa.ComplexRSAParams) -> dict[tuple[int, int], dict[str, float]]:
    """A loop-by-loop transcription of ProbExp-HOU ``R/2.complex expressions/jags_model.R``.

    Written from the R code on purpose, without calibkit's helpers: R's
    ``dbetabin(x, a, b, n)`` is ``betabinom.pmf(x, n, a, b)`` and
    ``dhyper(o, s, n - s, a)`` is ``hypergeom.pmf(o, n, s, a)``. Returns the
    speaker's probability of each message for every (access, observation).
    """
    n = 10
    states = list(range(n + 1))
    values = [(a, o) for a in range(1, n + 1) for o in range(a + 1)]  # valuesF(): 65 pairs
    state_prior = [stats.betabinom.pmf(s, n, p.alpha, p.beta) for s in states]
    access_prior = [stats.betabinom.pmf(a, n, p.alpha_access, p.beta_access) for a, _ in values]
    value_prior = [x / sum(access_prior) for x in access_prior]
    hyper = [[stats.hypergeom.pmf(o, n, s, a) for s in states] for a, o in values]
    tmp_bel = [[hyper[v][s] * state_prior[s] for s in states] for v in range(len(values))]
    bel = [[x / sum(row) for x in row] for row in tmp_bel]
    likely = [1.0 if s > p.theta_likely * n else 0.0 for s in states]
    possible = [1.0 if s > p.theta_possible * n else 0.0 for s in states]
    unlikely = [1.0 if n - n * p.theta_likely > s else 0.0 for s in states]
    simple = {"likely": likely, "possible": possible, "unlikely": unlikely}

    def hd(x, y):
        return math.sqrt(sum((math.sqrt(a) - math.sqrt(b)) ** 2 for a, b in zip(x, y))) / math.sqrt(2)

    utility = {}  # message -> [utility per value]
    for word, sem in simple.items():
        lit = [sem[s] * state_prior[s] for s in states]
        lit = [x / sum(lit) for x in lit]
        utility[f"is {word}"] = [-hd(bel[v], lit) for v in range(len(values))]
    ll_prior = [value_prior[v] * sum(tmp_bel[v]) for v in range(len(values))]
    for outer, theta in (("is certainly", p.theta_certainly), ("is probably", p.theta_probably),
                         ("might be", p.theta_might)):
        for word, sem in simple.items():
            truth = [1.0 if sum(b * t for b, t in zip(bel[v], sem)) > theta else 0.0 for v in range(len(values))]
            post = [ll_prior[u] * truth[u] for u in range(len(values))]
            post = [x / sum(post) for x in post]
            utility[f"{outer} {word}"] = [
                -sum(hd(bel[u], bel[v]) * post[u] for u in range(len(values))) for v in range(len(values))
            ]
    out = {}
    for v, value in enumerate(values):
        weights = {m: math.exp(p.lam * u[v]) for m, u in utility.items()}
        out[value] = {m: w / sum(weights.values()) for m, w in weights.items()}
    return out


def test_complex_speaker_equals_the_authors_jags_model():
    params = rsa.ComplexRSAParams.published()
    reference = _authors_complex_speaker(params)
    got = rsa.complex_speaker(params)
    for i, context in enumerate(design.CONTEXTS):
        for j, expression in enumerate(design.MERGED_COMPLEX_EXPRESSIONS):
            assert got[i, j] == pytest.approx(reference[tuple(context)][expression], abs=1e-9), (context, expression)
    # The listener is built on the speaker over the whole 65-state grid.
    grid = rsa.complex_speaker(params, contexts=design.ACCESS_OBSERVATION_GRID)
    expected = np.array([[reference[tuple(v)][m] for m in design.MERGED_COMPLEX_EXPRESSIONS]
                         for v in design.ACCESS_OBSERVATION_GRID])
    np.testing.assert_allclose(grid, expected, atol=1e-9)


def test_complex_speaker_fit_with_the_authors_parameters():
    """r = .716 over 15 contexts x 12 merged expressions with the posterior means.

    The authors report r = .654 (95% HDI .596-.719) for posterior-predictive
    counts over their samples (``variables/correlation.csv``); the
    posterior-mean speaker's proportions correlate at .716.
    """
    people = human.merged_complex_production()
    assert people.counts.shape == (15, 12)
    r = speaker_fit(rsa.complex_speaker(), people)
    assert r == pytest.approx(0.716, abs=0.005)


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
