"""Signals of one run paired with each other (tasks/free_answer/signal_pairs.py), on hand-made rows: no model."""
from __future__ import annotations

import math

import numpy as np
import pytest

from calibkit.stats.signals.metrics import prr
from calibkit.tasks.free_answer import signal_pairs
from calibkit.tasks.free_answer.report import summary_text
from calibkit.tasks.free_answer.study import signal_arrays, summarize_rows

N = 24  # questions: above the small-n rule (20), beyond the exact permutation test (16)
B = 200  # resamples and random swaps


def _row(i: int, right: bool, logprobs: list[float], clusters: list[int], **extra) -> dict:
    """A stored row with what the signals read: greedy token log-probs (entropy 1 nat each), four samples."""
    return {"id": f"q{i:02d}", "correct_exact": right, "correct_contains": right, "f1": float(right),
            "empty_answer": False, "p_true": round(0.3 + 0.4 * ((i * 7) % 11) / 10, 3),
            "seq_prob": math.exp(float(np.mean(logprobs))), "seq_logprob": float(np.sum(logprobs)),
            "agreement": clusters.count(0) / 4, "p_true_mass": 0.9, "samples_correct_exact": 0.5,
            "finish_reason": "stop", "greedy_token_logprobs": logprobs, "greedy_entropies": [1.0] * len(logprobs),
            "greedy_terminator_logprob": -0.1, "sample_token_logprobs": [[-0.5]] * 4,
            "sample_terminator_logprobs": [-0.1] * 4, "sample_clusters": clusters, **extra}


def hand_rows(**extra) -> list[dict]:
    """N rows: greedy answers of 1-3 tokens, so the total likelihood (max_sequence_probability) and the
    per-token one (seq_prob) order them differently; right answers tend to be likelier."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(N):
        right = bool(i % 3 != 0)
        lp = [round(float(-rng.exponential(0.6 if right else 1.2)), 5) for _ in range(1 + i % 3)]
        clusters = [0, 0, 0, 1] if right == bool(i % 4) else [0, 1, 2, 1]
        rows.append(_row(i, right, lp, clusters, **{k: v(i) for k, v in extra.items()}))
    return rows


def pairwise_auroc(conf: np.ndarray, right: np.ndarray) -> float:
    """Share of (right, wrong) pairs where the right answer is more confident; ties count 1/2."""
    pos, neg = conf[right], conf[~right]
    if not pos.size or not neg.size:
        return math.nan
    return float(np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])))


def percentiles(x: np.ndarray) -> np.ndarray:
    """Each value's average rank over n: the values below it, plus half of its ties (itself counted)."""
    return np.array([(np.sum(x < v) + (np.sum(x == v) + 1) / 2) / x.size for v in x])


def permutation_p(a: np.ndarray, b: np.ndarray, right: np.ndarray, *, seed: int) -> float:
    """Paired permutation p of AUROC(a) - AUROC(b): B random swap patterns, (1 + #{|D*| >= |D|}) / (1 + B)."""
    observed = pairwise_auroc(a, right) - pairwise_auroc(b, right)
    swaps = np.random.default_rng(seed).random((B, a.size)) < 0.5
    d = np.array([pairwise_auroc(np.where(s, b, a), right) - pairwise_auroc(np.where(s, a, b), right) for s in swaps])
    return (1 + np.sum(np.abs(d) >= abs(observed) * (1 - 1e-9))) / (1 + B)


def record(block: dict, signal: str, metric: str) -> dict:
    (row,) = [r for r in block["metrics"] if r["signal"] == signal and r["metric"] == metric]
    return row


def test_auroc_difference_and_paired_interval_by_hand() -> None:
    rows = hand_rows()
    arr = signal_arrays(rows)
    block = signal_pairs.signal_comparison(rows, arr, ("max_sequence_probability",), ptrue_answer="greedy",
                                           n_resamples=B, seed=3)
    assert block["reference"] == "max_sequence_probability" and block["n_items"] == N
    y = arr.correct
    msp = np.array([math.exp(sum(r["greedy_token_logprobs"])) for r in sorted(rows, key=lambda r: r["id"])])
    seq = arr.signals["seq_prob"]
    assert pairwise_auroc(seq, y) != pairwise_auroc(msp, y)  # the lengths make the two orders differ
    auroc = record(block, "seq_prob", "auroc")
    assert auroc["estimate"] == pytest.approx(pairwise_auroc(seq, y))
    assert auroc["reference_estimate"] == pytest.approx(pairwise_auroc(msp, y))
    assert auroc["difference"] == pytest.approx(pairwise_auroc(seq, y) - pairwise_auroc(msp, y))
    # the paired bootstrap, transcribed: the same resampled questions for both signals (calibkit's resamples:
    # default_rng(seed).integers(0, n, (B, n))), the difference recomputed, one-class resamples left out
    idx = np.random.default_rng(3).integers(0, N, size=(B, N))
    draws = np.array([pairwise_auroc(seq[i], y[i]) - pairwise_auroc(msp[i], y[i]) for i in idx])
    low, high = np.quantile(draws[np.isfinite(draws)], [0.025, 0.975])
    assert (auroc["diff_low"], auroc["diff_high"]) == (pytest.approx(low), pytest.approx(high))
    # PRR the same way, through calibkit's prr on each resample
    p = record(block, "seq_prob", "prr")
    yf = y.astype(np.float64)
    draws = np.array([prr(seq[i], yf[i]) - prr(msp[i], yf[i]) for i in idx])
    assert p["difference"] == pytest.approx(prr(seq, yf) - prr(msp, yf))
    assert (p["diff_low"], p["diff_high"]) == tuple(pytest.approx(q) for q in
                                                     np.quantile(draws[np.isfinite(draws)], [0.025, 0.975]))
    # the permutation test, transcribed: each question's two values swapped with probability 1/2 (calibkit's
    # swaps: default_rng(seed).random((B, n)) < 0.5), on each signal's percentile ranks (the two scales differ)
    assert auroc["test"] == f"permutation ({B} random swaps)"
    assert auroc["p_value"] == pytest.approx(permutation_p(percentiles(seq), percentiles(msp), y, seed=3))
    agreement = arr.signals["agreement"]  # quarters, against small probabilities: raw values swapped give another p
    want = permutation_p(percentiles(agreement), percentiles(msp), y, seed=3)
    assert record(block, "agreement", "auroc")["p_value"] == pytest.approx(want) != permutation_p(agreement, msp, y,
                                                                                                  seed=3)
    # raw and Holm-adjusted over the signals of that metric
    raw = [r["p_value"] for r in block["metrics"] if r["metric"] == "auroc"]
    assert [r["p_holm"] for r in block["metrics"] if r["metric"] == "auroc"] == pytest.approx(
        signal_pairs.holm(raw).tolist())
    assert signal_pairs.holm([0.01, math.nan, 0.04, 0.03])[[0, 2, 3]] == pytest.approx([0.03, 0.06, 0.06])


def test_only_signals_judged_against_the_greedy_answer_are_paired() -> None:
    # P(True) evaluated the first sample, right exactly where the greedy answer is wrong
    rows = [{**r, "proposed": "x", "proposed_from": "s0", "proposed_correct_exact": not r["correct_exact"],
             "proposed_correct_contains": not r["correct_exact"]} for r in hand_rows()]
    block = summarize_rows(rows, n_resamples=20, config={"signals": ["max_sequence_probability"]})[
        "signal_comparison"]
    assert "p_true" in block["left_out"] and "p_true" not in {r["signal"] for r in block["metrics"]}
    assert {r["signal"] for r in block["metrics"]} == {"seq_prob", "agreement", "seq_logprob"}
    # evaluating the greedy answer, it is paired, against the greedy answer's correctness
    arr = signal_arrays(hand_rows())
    greedy = signal_pairs.signal_comparison(hand_rows(), arr, ("max_sequence_probability",), ptrue_answer="greedy",
                                            n_resamples=20)
    assert greedy["left_out"] == {}
    assert record(greedy, "p_true", "auroc")["estimate"] == pytest.approx(
        pairwise_auroc(arr.signals["p_true"], arr.correct))
    with pytest.raises(ValueError, match="'p_true' is not a signal of this run judged against the greedy"):
        signal_pairs.signal_comparison(rows, signal_arrays(rows), ("max_sequence_probability",),
                                       ptrue_answer="sample", reference="p_true", n_resamples=20)


def test_verbal_confidence_one_stage_left_out_two_stage_paired_where_readable() -> None:
    stated = {"verbal_probability": lambda i: None if i % 5 == 0 else round(0.1 + 0.035 * i, 3)}
    rows = hand_rows(**stated)
    arr = signal_arrays(rows)
    block = signal_pairs.signal_comparison(rows, arr, ("max_sequence_probability",), ptrue_answer="greedy",
                                           n_resamples=20)
    verbal = record(block, "verbal_confidence", "auroc")
    readable = np.isfinite(arr.partial["verbal_confidence"])
    msp = np.array([math.exp(sum(r["greedy_token_logprobs"])) for r in sorted(rows, key=lambda r: r["id"])])
    assert verbal["n"] == readable.sum() == N - 5
    assert verbal["reference_estimate"] == pytest.approx(pairwise_auroc(msp[readable], arr.correct[readable]))
    assert record(block, "seq_prob", "auroc")["n"] == N  # the others on every question
    # one-stage: judged against the reply's own guess, so not paired
    rows = hand_rows(**stated, verbal_correct_exact=lambda i: i % 2 == 0, verbal_correct_contains=lambda i: True)
    block = signal_pairs.signal_comparison(rows, signal_arrays(rows), ("max_sequence_probability",),
                                           ptrue_answer="greedy", n_resamples=20)
    assert "verbal_confidence" in block["left_out"]
    assert "verbal_confidence" not in {r["signal"] for r in block["metrics"]}


def test_summary_key_text_and_old_rows() -> None:
    rows = hand_rows()
    s = summarize_rows(rows, n_resamples=20, config={"signals": ["max_sequence_probability", "semantic_entropy"]})
    block = s["signal_comparison"]
    assert block["target"] == "the greedy answer's correctness (exact)"
    assert [r["signal"] for r in block["metrics"] if r["metric"] == "auroc"] == [
        "p_true", "seq_prob", "agreement", "seq_logprob", "semantic_entropy"]
    text = summary_text(s)
    assert "AUROC minus max_sequence_probability's" in text
    assert "not paired: p_true" not in text  # rows without proposed fields: P(True) evaluated the greedy answer
    frame = signal_pairs.pairs_frame(s)
    assert list(frame["signal"])[0] == "P(True)" and "AUROC - reference [95% CI]" in frame
    # rows written before the signals' inputs were stored: no key, nothing breaks
    old = [{k: v for k, v in r.items() if not k.startswith(("greedy_", "sample_"))} for r in rows]
    s = summarize_rows(old, n_resamples=20)
    assert "signal_comparison" not in s and "AUROC minus" not in summary_text(s)
    # the default reference not selected: no comparison
    assert "signal_comparison" not in summarize_rows(rows, n_resamples=20, config={"signals": ["perplexity"]})
