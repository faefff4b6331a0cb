"""Model-vs-people comparison (tasks/herbstritt_franke/human.py) and its figures (plots.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from calibkit.stats import divergences
from calibkit.tasks.herbstritt_franke import agreement, design, human, listener, rsa
from calibkit.tasks.herbstritt_franke import plots as human_plots

# ----------------------------------------------------------------- tables


def test_merged_complex_production_folds_probable_into_likely():
    full = human.load_complex_production()
    merged = human.merged_complex_production(full)
    assert merged.expressions == design.MERGED_COMPLEX_EXPRESSIONS and merged.counts.shape == (15, 12)
    np.testing.assert_array_equal(merged.n, full.n)
    col = {e: j for j, e in enumerate(full.expressions)}
    for outer in design.COMPLEX_OUTER:
        j = merged.expressions.index(f"{outer} likely")
        np.testing.assert_array_equal(
            merged.counts[:, j], full.counts[:, col[f"{outer} likely"]] + full.counts[:, col[f"{outer} probable"]]
        )
    with pytest.raises(ValueError, match="table"):
        human.merged_complex_production(human.load_simple_production())


def test_production_table_validation_and_views():
    t = human.ProductionTable(contexts=[[2, 0], [10, 7]], expressions=("a", "b"), counts=[[3, 1], [0, 2]])
    np.testing.assert_allclose(t.proportions, [[0.75, 0.25], [0.0, 1.0]])
    assert t.uncertainty == ("high", "none") and t.context_labels == ("0/2 red", "7/10 red")
    with pytest.raises(ValueError):
        t.counts[0, 0] = 9  # read-only
    with pytest.raises(ValueError, match="counts"):
        human.ProductionTable(contexts=[[2, 0]], expressions=("a", "b"), counts=[[1, 2, 3]])
    with pytest.raises(ValueError, match="counts"):
        human.ProductionTable(contexts=[[2, 0]], expressions=("a", "b"), counts=[[-1, 2]])
    with pytest.raises(ValueError, match="contexts"):
        human.ProductionTable(contexts=[[2, 3]], expressions=("a", "b"), counts=[[1, 2]])
    assert [design.uncertainty_level(a) for a in (2, 4, 8, 10)] == ["high", "high", "low", "none"]
    with pytest.raises(ValueError, match="access"):
        design.uncertainty_level(11)


# ----------------------------------------------------------------- compare_to_humans


@pytest.fixture(scope="module")
def people():
    return human.load_simple_production()


@pytest.fixture(scope="module")
def rsa_probs():
    return rsa.simple_speaker()


def test_compare_rsa_to_people(people, rsa_probs):
    res = agreement.compare_to_humans(rsa_probs, people, n_resamples=500, seed=0)
    assert res.pearson.estimate == pytest.approx(stats.pearsonr(rsa_probs.ravel(), people.proportions.ravel())[0])
    # model probabilities equal to 12 decimals are ties (compare_to_humans), so scipy ranks the rounded values
    tied = np.round(rsa_probs.ravel(), 12)
    assert len(np.unique(tied)) < len(np.unique(rsa_probs.ravel()))  # the RSA table has such float-apart ties
    assert res.spearman.estimate == pytest.approx(stats.spearmanr(tied, people.proportions.ravel())[0])
    assert res.pearson.low < res.pearson.high and res.pearson.low < res.pearson.estimate < res.pearson.high
    jsd = divergences.jensen_shannon_bits(people.proportions, rsa_probs)
    assert res.mean_jsd_bits.estimate == pytest.approx(jsd.mean())
    assert [row.jsd_bits for row in res.contexts] == pytest.approx(jsd.tolist())
    assert len(res.contexts) == 15 and res.contexts[0].access == 2 and res.contexts[0].n == 50
    assert [lv.uncertainty for lv in res.levels] == ["none", "low", "high"]
    assert [lv.n_contexts for lv in res.levels] == [5, 5, 5]
    assert [lv.n_trials for lv in res.levels] == [252, 252, 252]
    # Pooled LLR is the trial-weighted mean of the per-context LLRs.
    pooled = sum(r.llr_bits_per_trial * r.n for r in res.contexts) / 756
    assert res.llr_bits_per_trial == pytest.approx(pooled)
    assert res.llr_bits_per_trial > 0.5  # RSA is far better than a uniform speaker
    # (2, 0): people say "possibly" most, RSA "probably not".
    assert (res.contexts[0].human_mode, res.contexts[0].model_mode) == ("possibly", "probably not")


def test_compare_is_seeded_and_intervals_shrink_with_n():
    t = human.ProductionTable(
        contexts=[[2, 0], [4, 1], [8, 0], [8, 8], [10, 5], [10, 7]],
        expressions=("x", "y", "z"),
        counts=[[5, 3, 2], [1, 6, 3], [8, 1, 1], [0, 2, 8], [3, 4, 3], [1, 3, 6]],
    )
    model = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.7, 0.2, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3], [0.1, 0.3, 0.6]])
    a = agreement.compare_to_humans(model, t, n_resamples=300, seed=3)
    b = agreement.compare_to_humans(model, t, n_resamples=300, seed=3)
    c = agreement.compare_to_humans(model, t, n_resamples=300, seed=4)
    assert a.to_json() == b.to_json()
    assert a.pearson.low != c.pearson.low
    big = human.ProductionTable(contexts=t.contexts, expressions=t.expressions, counts=t.counts * 10_000)
    d = agreement.compare_to_humans(model, big, n_resamples=300, seed=3)
    assert d.pearson.high - d.pearson.low < 0.1 * (a.pearson.high - a.pearson.low)
    assert d.pearson.bootstrap_mean == pytest.approx(d.pearson.estimate, abs=1e-3)


def test_perfect_and_uniform_models(people):
    perfect = agreement.compare_to_humans(people.proportions, people, n_resamples=50)
    assert perfect.pearson.estimate == pytest.approx(1.0) and perfect.mean_jsd_bits.estimate == pytest.approx(0.0)
    uniform = agreement.compare_to_humans(np.full((15, 5), 0.2), people, n_resamples=50)
    assert math.isnan(uniform.pearson.estimate) and uniform.llr_bits_per_trial == pytest.approx(0.0, abs=1e-12)
    payload = uniform.to_json()
    assert payload["pearson"]["estimate"] is None  # nan -> null
    assert len(payload["model_probs"]) == 15 and payload["smoothing"] == 1e-3


def test_to_json_round_trip(people, rsa_probs):
    res = agreement.compare_to_humans(rsa_probs, people, n_resamples=20)
    payload = res.to_json()
    assert payload["expressions"] == list(people.expressions)
    assert payload["contexts"][3]["access"] == 4 and set(payload["levels"][0]) >= {"uncertainty", "pearson"}
    assert payload["pearson"]["estimate"] == pytest.approx(res.pearson.estimate)
    assert payload["human_counts"] == people.counts.tolist()


def _twice(table: human.ProductionTable, model: np.ndarray) -> tuple[human.ProductionTable, np.ndarray]:
    """The 15 contexts written out twice (30 >= the small-n rule's 20), and the model's rows with them."""
    doubled = human.ProductionTable(np.vstack([table.contexts] * 2), table.expressions, np.vstack([table.counts] * 2))
    return doubled, np.vstack([model] * 2)


def test_compare_models_pairs_contexts_by_the_one_paired_test(people, rsa_probs):
    uniform = np.full((15, 5), 0.2)
    # the 15 urn contexts are below the small-n rule: the differences with the note, no interval; the p-value is
    # the exact permutation test's, valid at any n
    few = agreement.compare_models(rsa_probs, uniform, people, names=("rsa", "uniform"), n_resamples=200)
    assert few.names == ("rsa", "uniform") and few.mean_jsd_bits.n == 15
    assert few.mean_jsd_bits.note == "n too small for an interval (n=15 < 20)" and math.isnan(few.mean_jsd_bits.low)
    assert few.mean_jsd_bits.test == "exact sign-flip (2^15 swaps)" and 0 < few.mean_jsd_bits.p_value <= 1
    assert few.mean_jsd_bits.difference == pytest.approx(
        divergences.jensen_shannon_bits(people.proportions, rsa_probs).mean()
        - divergences.jensen_shannon_bits(people.proportions, uniform).mean(), abs=1e-15)
    table, rsa2 = _twice(people, rsa_probs)
    d = agreement.compare_models(rsa2, np.vstack([uniform] * 2), table, names=("rsa", "uniform"), n_resamples=500)
    assert d.mean_jsd_bits.difference < 0 and d.mean_jsd_bits.p_value < 0.01 and d.mean_jsd_bits.n == 30
    assert d.mean_jsd_bits.test == "permutation (500 random swaps)" and d.mean_jsd_bits.high < 0
    assert d.mean_jsd_bits.estimate_a == pytest.approx(divergences.jensen_shannon_bits(people.proportions, rsa_probs).mean())
    # Identical models: difference exactly 0, p = 1 (every swap pattern gives 0).
    same = agreement.compare_models(rsa2, rsa2, table, n_resamples=200)
    assert same.mean_jsd_bits.difference == 0 and same.mean_jsd_bits.p_value == 1.0
    # Swapping a and b flips the sign.
    noisy = 0.7 * rsa2 + 0.3 * table.proportions
    ab = agreement.compare_models(rsa2, noisy, table, n_resamples=300, seed=5)
    ba = agreement.compare_models(noisy, rsa2, table, n_resamples=300, seed=5)
    assert ab.pearson.difference == pytest.approx(-ba.pearson.difference)
    assert ab.pearson.low == pytest.approx(-ba.pearson.high)
    assert ab.pearson.p_value == pytest.approx(ba.pearson.p_value)
    assert ab.to_json()["pearson"]["estimate_a"] == pytest.approx(ab.pearson.estimate_a)


def test_both_tasks_comparisons_give_the_same_p_for_the_same_differences(people, rsa_probs):
    """MMLU (a named metric over items) and Herbstritt-Franke (agreement.compare_models over contexts) share one
    resampling and one test: the same per-item values give the same p and interval."""
    from calibkit.stats.paired import paired_test

    table, rsa2 = _twice(people, rsa_probs)
    other = 0.6 * rsa2 + 0.4 / 5
    hf = agreement.compare_models(rsa2, other, table, n_resamples=400, seed=9)
    jsd_a = divergences.jensen_shannon_bits(table.proportions, rsa2)
    jsd_b = divergences.jensen_shannon_bits(table.proportions, other)
    # Two-option items whose Brier score is each context's JSD: 2 (1 - p)^2 = jsd, label 0.
    labels = np.zeros(len(jsd_a), dtype=int)

    def probs(loss):
        p0 = 1 - np.sqrt(loss / 2)
        return np.stack([p0, 1 - p0], axis=1)

    mmlu = paired_test("brier", (probs(jsd_a), labels), (probs(jsd_b), labels), n_resamples=400, seed=9)
    j = hf.mean_jsd_bits
    assert mmlu.difference == pytest.approx(j.difference, abs=1e-12)
    assert mmlu.p_value == j.p_value and mmlu.test == j.test == "permutation (400 random swaps)"
    assert (mmlu.low, mmlu.high) == pytest.approx((j.low, j.high), abs=1e-12)
    assert mmlu.n_resamples == j.n_resamples == 400 and type(mmlu) is type(j)


def test_compare_bad_inputs(people, rsa_probs):
    with pytest.raises(ValueError, match="model_probs"):
        agreement.compare_to_humans(rsa_probs[:, :4], people)
    with pytest.raises(ValueError, match="model_probs"):
        agreement.compare_to_humans(rsa_probs * 2, people)
    with pytest.raises(ValueError, match="model_probs"):
        agreement.compare_to_humans(np.where(rsa_probs > 0.5, np.nan, rsa_probs), people)
    with pytest.raises(ValueError, match="human"):
        agreement.compare_to_humans(rsa_probs, people.counts)
    with pytest.raises(ValueError, match="n_resamples"):
        agreement.compare_to_humans(rsa_probs, people, n_resamples=0)
    with pytest.raises(ValueError, match="level"):
        agreement.compare_to_humans(rsa_probs, people, level=1.5)
    with pytest.raises(ValueError, match="smoothing"):
        agreement.compare_to_humans(rsa_probs, people, smoothing=-1)
    with pytest.raises(ValueError, match="seed"):
        agreement.compare_to_humans(rsa_probs, people, seed=0.5)
    with pytest.raises(ValueError, match="model_b"):
        agreement.compare_models(rsa_probs, rsa_probs[:3], people)
    with pytest.raises(ValueError, match="names"):
        agreement.compare_models(rsa_probs, rsa_probs, people, names=("a",))
    with pytest.raises(ValueError, match="q"):
        divergences.jensen_shannon_bits([0.5, 0.5], [0.7, 0.7])
    with pytest.raises(ValueError, match="x and y"):
        divergences.pearson_r([1, 2, 3], [1, 2])


# ----------------------------------------------------------------- figures


def test_production_bars(people, rsa_probs):
    fig = human_plots.production_bars(people, {"RSA": rsa_probs, "uniform": np.full((15, 5), 0.2)})
    assert isinstance(fig, go.Figure) and fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == list(people.expressions)
    bar = fig.data[2]  # "possibly"
    assert len(bar.x[0]) == 45 and list(bar.x[1][:3]) == ["people", "RSA", "uniform"]
    assert bar.y[0] == pytest.approx(23 / 50) and bar.y[1] == pytest.approx(rsa_probs[0, 2])
    with pytest.raises(ValueError, match="models"):
        human_plots.production_bars(people, {"bad": rsa_probs[:5]})
    with pytest.raises(ValueError, match="human"):
        human_plots.production_bars(people.counts)


def test_cell_scatter_title_carries_r(people, rsa_probs):
    res = agreement.compare_to_humans(rsa_probs, people, n_resamples=50)
    fig = human_plots.cell_scatter(res, name="RSA")
    assert f"r = {res.pearson.estimate:.3f}" in fig.layout.title.text and "0.875" in fig.layout.title.text
    assert sum(len(t.x) for t in fig.data[:5]) == 75
    with pytest.raises(ValueError, match="comparison"):
        human_plots.cell_scatter(people)


def test_listener_distributions():
    people = human.load_simple_interpretation()
    model = rsa.simple_listener().state
    fig = human_plots.listener_chart(people, {"RSA listener": model})
    assert len(fig.data) == 10  # a bar and a line per expression
    assert list(fig.data[0].y) == pytest.approx(people.state_proportions[0].tolist())
    assert list(fig.data[1].y) == pytest.approx(model[0].tolist())
    assert [a.text for a in fig.layout.annotations] == list(people.expressions)
    with pytest.raises(ValueError, match="models"):
        human_plots.listener_chart(people, {"RSA": model[:, :5]})
    with pytest.raises(ValueError, match="columns"):
        human_plots.listener_chart(people, columns=0)


def test_vectorized_bootstrap_matches_a_scipy_loop(people, rsa_probs):
    # Re-draw the documented resamples (one multinomial per context, seeded) and
    # recompute every statistic with scipy in a plain loop.
    B, seed = 200, 11
    res = agreement.compare_to_humans(rsa_probs, people, n_resamples=B, seed=seed)
    draws = np.random.default_rng(seed).multinomial(people.n, people.proportions, size=(B, 15))
    props = draws / people.n[None, :, None]
    r = [stats.pearsonr(b.ravel(), rsa_probs.ravel())[0] for b in props]
    rho = [stats.spearmanr(b.ravel(), np.round(rsa_probs.ravel(), 12))[0] for b in props]  # ties: see above
    js = [np.mean([jensenshannon(b[c], rsa_probs[c], base=2) ** 2 for c in range(15)]) for b in props]
    for est, ref in ((res.pearson, r), (res.spearman, rho), (res.mean_jsd_bits, js)):
        assert est.low == pytest.approx(np.quantile(ref, 0.025), abs=1e-9)
        assert est.high == pytest.approx(np.quantile(ref, 0.975), abs=1e-9)
        assert est.bootstrap_mean == pytest.approx(np.mean(ref), abs=1e-9)
    high = [lv for lv in res.levels if lv.uncertainty == "high"][0]
    sel = np.array(people.uncertainty) == "high"
    r_high = [stats.pearsonr(b[sel].ravel(), rsa_probs[sel].ravel())[0] for b in props]
    assert high.pearson.low == pytest.approx(np.quantile(r_high, 0.025), abs=1e-9)


def test_compare_works_for_merged_complex_production():
    people = human.merged_complex_production()
    res = agreement.compare_to_humans(rsa.complex_speaker(), people, n_resamples=100)
    assert len(res.expressions) == 12 and res.pearson.estimate == pytest.approx(0.716, abs=0.005)
    assert [lv.n_trials for lv in res.levels] == [418, 419, 387]


# ----------------------------------------------------------------- shared pieces


def test_summed_properties_are_the_tables_sums_and_shares():
    """One property factory serves every table's totals, shares and marginals (human.py and rsa.py)."""

    @dataclass(frozen=True)
    class Table:
        x: np.ndarray
        rows = human.summed("x", axis=1, doc="row totals")
        shares = human.summed("x", axis=1, shares=True, doc="row shares")
        columns = human.summed("x", axis=0, doc="column totals")

    t = Table(np.array([[1, 3], [2, 2]]))
    assert t.rows.tolist() == [4, 4] and t.columns.tolist() == [3, 5]
    assert t.shares.tolist() == [[0.25, 0.75], [0.5, 0.5]]
    assert Table.rows.__doc__ == "row totals"
    people = human.load_simple_interpretation()
    assert people.access_counts.shape == people.observation_counts.shape == (5, 11)
    assert people.access_counts[:, 0].sum() == 0  # nobody draws zero balls
    pragmatic = rsa.simple_listener()
    np.testing.assert_array_equal(pragmatic.observation, pragmatic.access_observation.sum(axis=1))


def test_bootstrap_options_are_checked_once_and_resample_people():
    boot = agreement.Bootstrap(n_resamples=np.int64(7), seed=np.int64(3), level=0.9)
    assert (boot.n_resamples, boot.seed, boot.level) == (7, 3, 0.9) and type(boot.n_resamples) is int
    assert agreement.Bootstrap() == agreement.Bootstrap(n_resamples=1000, seed=0, level=0.95)
    n, p = np.array([4, 6]), np.array([[0.5, 0.5], [0.1, 0.9]])
    want = np.random.default_rng(3).multinomial(n, p, size=(7, 2)) / n[None, :, None]  # the plain transcription
    np.testing.assert_array_equal(boot.people(n, p), want)
    table = human.load_simple_interpretation()
    for bad, match in (({"n_resamples": 0}, "n_resamples"), ({"seed": 0.5}, "seed"), ({"level": 1.0}, "level")):
        with pytest.raises(ValueError, match=match):
            listener.compare_listener(table.state_proportions, table, **bad)
    with pytest.raises(TypeError, match="n_resample"):
        listener.compare_listener(table.state_proportions, table, n_resample=5)
