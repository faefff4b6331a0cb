"""analysis: items with different numbers of options (ARC has 3 to 5)."""
from __future__ import annotations

import numpy as np
import pytest

from calibkit.records import ScoredItem
from calibkit.stats import metrics, multiple_choice
from calibkit.stats.binning import bin_stats


def mixed_items(n: int = 60, seed: int = 0) -> list[ScoredItem]:
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        k = (3, 4, 5)[i % 3]
        logits = rng.normal(size=k) * 2
        logprobs = logits - np.log(np.exp(logits).sum()) - rng.uniform(0.0, 0.5)  # some mass off the options
        items.append(ScoredItem(id=f"q{i:03d}", task="arc", options=tuple(f" {c}" for c in "ABCDE"[:k]),
                                logprobs=tuple(float(x) for x in logprobs), answer=int(rng.integers(k))))
    return items


def test_padding_gives_each_item_its_own_probabilities():
    items = mixed_items()
    arr = multiple_choice.option_arrays(items)
    assert arr.mixed and arr.logprobs.shape == (60, 5) and arr.n_options.tolist()[:3] == [3, 4, 5]
    for T in (0.5, 1.0, 2.5, 20.0):
        probs = arr.probs(temperature=T)
        for row, it in zip(probs, items):
            k = len(it.options)
            np.testing.assert_allclose(row[:k], it.probs(temperature=T), rtol=1e-12)
            assert (row[k:] == 0.0).all()  # exactly: padding never takes mass
    np.testing.assert_allclose(arr.option_mass, [it.option_mass for it in items], rtol=1e-12)
    assert arr.option_mask.sum() == sum(len(it.options) for it in items)


def test_summary_of_mixed_items_equals_per_item_computation():
    items = mixed_items()
    summary = multiple_choice.run_summary(items, n_resamples=20)
    probs = [it.probs() for it in items]
    labels = [it.answer for it in items]
    m = summary["metrics"]
    assert m["accuracy"]["estimate"] == pytest.approx(np.mean([np.argmax(p) == y for p, y in zip(probs, labels)]))
    brier = np.mean([np.sum((p - np.eye(len(p))[y]) ** 2) for p, y in zip(probs, labels)])  # each over its own options
    assert m["brier"]["estimate"] == pytest.approx(brier, rel=1e-12)
    assert m["nll"]["estimate"] == pytest.approx(-np.mean([np.log(p[y]) for p, y in zip(probs, labels)]), rel=1e-12)
    conf = np.array([p.max() for p in probs])
    correct = np.array([np.argmax(p) == y for p, y in zip(probs, labels)])
    assert m["ece"]["estimate"] == pytest.approx(metrics.ece(conf, correct), rel=1e-12)
    # pooled over the real options only: 3 + 4 + 5 points per three items, no padded zeros
    flat_p = np.concatenate(probs)
    flat_hit = np.concatenate([np.arange(len(p)) == y for p, y in zip(probs, labels)])
    pooled = metrics.calibration_error(bin_stats(flat_p, flat_hit, n_bins=10, strategy="quantile"))
    assert summary["pooled_ece"] == pytest.approx(pooled, rel=1e-12)
    assert multiple_choice.pooled_stats(items).n_items == 240
    assert summary["options_per_item"] == {"3": 20, "4": 20, "5": 20}


def test_equal_option_counts_are_unchanged_by_the_padding_machinery():
    items = [it for it in mixed_items() if len(it.options) == 4]
    arr = multiple_choice.option_arrays(items)
    assert not arr.mixed and arr.option_mask.all()
    probs = arr.probs()
    assert multiple_choice.run_summary(items, n_resamples=20)["pooled_ece"] == pytest.approx(
        metrics.pooled_ece(probs, arr.labels), rel=1e-15)


def test_per_option_metrics_of_mixed_runs_are_refused_with_the_fix():
    items = mixed_items()
    with pytest.raises(multiple_choice.AnalysisError, match="pooled_ece need the same number of options.*top-label"):
        multiple_choice.paired_table({"a": items, "b": items}, metrics_=("ece", "pooled_ece"), n_resamples=10)
    table = multiple_choice.paired_table({"a": items, "b": items}, n_resamples=10)
    assert set(table["metric"]) == {"accuracy", "ece", "brier", "nll", "auroc"}


def test_an_option_mask_must_cover_the_labels():
    probs, labels = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]]), np.array([0, 2])
    with pytest.raises(ValueError, match="option_mask must have shape"):
        metrics.pooled_option_stats(probs, labels, option_mask=np.array([[True, True, False], [True, True, False]]))


def test_each_ece_in_a_report_is_named_by_what_it_computes():
    """'as Kadavath et al.' is the top-label ECE with 10 equal-mass bins; the headline ECE has
    10 equal-width bins; the pooled all-options number is not called Kadavath's."""
    from calibkit.tasks.multiple_choice.report import metrics_frame

    rng = np.random.default_rng(4)
    items = [ScoredItem(id=f"q{i}", task="t", options=("A", "B", "C", "D"),
                        logprobs=tuple(rng.normal(size=4) * 2), answer=int(rng.integers(4))) for i in range(200)]
    summary = multiple_choice.run_summary(items, n_resamples=20)
    frame = metrics_frame(summary).set_index("metric")["estimate"]
    arr = multiple_choice.option_arrays(items)
    top = metrics.top_label(arr.probs(), arr.labels)
    (kadavath,) = [label for label in frame.index if "Kadavath" in label]
    assert "equal-mass" in kadavath and "top-label" in kadavath
    assert frame[kadavath] == pytest.approx(metrics.ece(top.confidence, top.correct, n_bins=10, strategy="quantile"))
    (headline,) = [label for label in frame.index if "equal-width" in label]
    assert frame[headline] == pytest.approx(metrics.ece(top.confidence, top.correct, n_bins=10))
    (pooled,) = [label for label in frame.index if "pooled" in label]
    assert frame[pooled] == pytest.approx(metrics.pooled_ece(arr.probs(), arr.labels))
    assert frame[kadavath] != frame[headline] != frame[pooled]


def test_acc_norm_is_lm_evals_argmax_of_logprob_per_character():
    """Hand-computed: lm-eval's acc_norm divides each option's log-prob by its character count."""
    items = [
        # -2/1 = -2 vs -3/6 = -0.5: acc picks 0, acc_norm picks 1 (the answer)
        ScoredItem(id="a", task="t", options=(" x", " yyyyyy"), logprobs=(-2.0, -3.0), answer=1,
                   meta={"norm_lengths": [1, 6]}),
        # three options, ties go to the first (np.argmax): -4/4 = -1 = -2/2
        ScoredItem(id="b", task="t", options=(" zzzz", " ww", " v"), logprobs=(-4.0, -2.0, -3.0), answer=0,
                   meta={"norm_lengths": [4, 2, 1]}),
        # two options only, the padding never wins: -1/1 < -1.5/2, so acc_norm misses what acc gets
        ScoredItem(id="c", task="t", options=(" p", " qq"), logprobs=(-1.0, -1.5), answer=0,
                   meta={"norm_lengths": [1, 2]}),
    ]
    summary = multiple_choice.run_summary(items, n_resamples=200)
    assert summary["metrics"]["accuracy"]["estimate"] == pytest.approx(1 / 3)  # argmax 0, 1, 0: only c right
    assert summary["accuracy_norm"]["estimate"] == pytest.approx(2 / 3)  # argmax per character 1, 0, 1
    norm = multiple_choice.length_normalised(items)
    assert norm.logprobs.argmax(axis=1).tolist() == [1, 0, 1]
    np.testing.assert_allclose(norm.logprobs[1], [-1.0, -1.0, -3.0])
    without = [ScoredItem(id=it.id, task=it.task, options=it.options, logprobs=it.logprobs, answer=it.answer)
               for it in items]
    assert multiple_choice.length_normalised(without) is None
    assert "accuracy_norm" not in multiple_choice.run_summary(without, n_resamples=50)
