"""PRR against LM-Polygraph 0.7.0's definition, transcribed step by step (ue_metrics/pred_rej_area.py,
ue_metrics/ue_metric.py, and UEManager's normalisation in utils/manager.py)."""
from __future__ import annotations

import numpy as np
import pytest

from calibkit.stats.signals.metrics import prediction_rejection_area, prr


def polygraph_normalize(target):
    # ue_metric.normalize
    min_t, max_t = np.min(target), np.max(target)
    if np.isclose(min_t, max_t):
        min_t -= 1
        max_t += 1
    return (np.array(target) - min_t) / (max_t - min_t)


def polygraph_pra(estimator, target, max_rejection=1.0):
    # PredictionRejectionArea.__call__
    target = polygraph_normalize(target)
    ue = np.array(estimator)
    num_obs = len(ue)
    num_rej = int(max_rejection * num_obs)
    ue_argsort = np.argsort(ue)
    sorted_metrics = np.array(target)[ue_argsort]
    cumsum = np.cumsum(sorted_metrics)[-num_rej:]
    scores = (cumsum / np.arange((num_obs - num_rej) + 1, num_obs + 1))[::-1]
    return np.sum(scores) / num_rej


def polygraph_random(function, metrics, num_iter=1000, seed=42):
    # ue_metric.get_random_scores
    np.random.seed(seed)
    rand_scores = np.arange(len(metrics))
    value = []
    for _ in range(num_iter):
        np.random.shuffle(rand_scores)
        value.append(function(rand_scores, metrics))
    return np.mean(value)


def polygraph_prr(uncertainty, metric):
    # UEManager: oracle = ue_metric(-metric, metric); random = get_random_scores; normalize_metric
    value = polygraph_pra(uncertainty, metric)
    oracle = polygraph_pra(-metric, metric)
    random = polygraph_random(polygraph_pra, metric)
    return (value - random) / (oracle - random) if oracle != random else value


def test_prediction_rejection_area_equals_polygraphs_on_random_data() -> None:
    rng = np.random.default_rng(3)
    for n in (2, 7, 40, 101):
        u = rng.normal(size=n)
        y = (rng.uniform(size=n) < 0.4).astype(float)
        assert prediction_rejection_area(u, y) == pytest.approx(polygraph_pra(u, y), abs=1e-12)
        q = rng.uniform(size=n)  # graded quality (min-max scaled there and here)
        assert prediction_rejection_area(u, q) == pytest.approx(polygraph_pra(u, q), abs=1e-12)


def test_prr_equals_polygraphs_up_to_its_monte_carlo_random_baseline() -> None:
    rng = np.random.default_rng(5)
    for n in (20, 60):
        y = (rng.uniform(size=n) < 0.5).astype(float)
        conf = y + rng.normal(scale=0.8, size=n)  # an informative but noisy confidence
        ours, theirs = prr(conf, y), polygraph_prr(-conf, y)
        assert 0.0 < ours < 1.0
        # LM-Polygraph averages 1000 shuffles where calibkit uses the expectation (the mean correctness)
        assert ours == pytest.approx(theirs, abs=0.02)
        exact_random = (polygraph_pra(-conf, y) - y.mean()) / (polygraph_pra(-y, y) - y.mean())
        assert ours == pytest.approx(exact_random, abs=1e-12)


def test_prr_by_hand_and_its_undefined_case() -> None:
    # oracle order: kept means 1, 1, 2/3 -> area 8/9; random 2/3; so PRR = 1
    assert prr([0.9, 0.8, 0.1], [1, 1, 0]) == pytest.approx(1.0)
    # worst order: kept means 0, 1/2, 2/3 -> area 7/18; (7/18 - 2/3) / (8/9 - 2/3) = -5/4
    assert prr([0.1, 0.8, 0.9], [1, 1, 0]) == pytest.approx(-1.25)
    assert np.isnan(prr([0.2, 0.4], [1, 1])) and np.isnan(prr([0.2, 0.4], [0, 0]))
    with pytest.raises(ValueError, match="same length"):
        prr([0.1, 0.2], [1])
