"""The named "prr" (a batched kernel) against the plain callable prr: per resample, bootstrap, paired, permutation."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from calibkit.stats.bootstrap import bootstrap_ci, cluster_ci, paired_bootstrap
from calibkit.stats.paired import permutation_test
from calibkit.stats.resampled_metrics import prepare_metric
from calibkit.stats.resampling import resample_indices
from calibkit.stats.signals.metrics import prr, prr_rows


def _tied(seed: int, n: int, *, share: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Confidences on a 0.1 grid (many ties between right and wrong items) and 0/1 correctness."""
    rng = np.random.default_rng(seed)
    c = np.round(rng.uniform(size=n), 1)
    return c, (rng.uniform(size=n) < share * (0.5 + c)).astype(np.float64)


def _same(a, b) -> bool:
    """Two result dataclasses field by field, exactly, a NaN equal to a NaN."""
    pairs = [(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)]
    return type(a) is type(b) and all(x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
                                      for x, y in pairs)


@pytest.mark.parametrize("n", [3, 17, 120])
def test_batched_kernel_equals_prr_on_every_resample_ties_included(n):
    c, y = _tied(n, n)
    idx = resample_indices(n, 300, seed=1)
    fast = prr_rows(c, y, idx)
    slow = np.array([prr(c[row], y[row]) for row in idx])
    assert np.array_equal(np.isnan(fast), np.isnan(slow))
    if n == 3:  # one-class resamples are NaN, as prr's
        assert np.isnan(slow).any()
    ok = ~np.isnan(slow)
    assert np.max(np.abs(fast[ok] - slow[ok])) < 1e-12
    # the tie order is what a weighted formulation would lose: item order gives other values
    in_item_order = np.array([prr(c[np.sort(row)], y[np.sort(row)]) for row in idx])
    if n > 3:
        assert not np.allclose(in_item_order[ok], slow[ok], atol=1e-12)


def test_bootstrap_interval_by_name_equals_the_callables_exactly():
    c, y = _tied(4, 150)
    named = bootstrap_ci("prr", c, y, n_resamples=400, seed=7)
    assert named == bootstrap_ci(prr, c, y, n_resamples=400, seed=7) and named.low < named.estimate < named.high
    one_class = np.ones(30)  # NaN estimate and no defined resample, by either path
    named = bootstrap_ci("prr", c[:30], one_class, n_resamples=50)
    assert _same(named, bootstrap_ci(prr, c[:30], one_class, n_resamples=50)) and named.n_resamples == 0


def test_paired_bootstrap_by_name_equals_the_callables_exactly():
    c, y = _tied(5, 90)
    other = np.round(np.clip(c + np.random.default_rng(6).normal(scale=0.3, size=90), 0, 1), 1)
    args = ((c, y), (other, y))
    assert paired_bootstrap("prr", *args, n_resamples=300, seed=2) == paired_bootstrap(prr, *args, n_resamples=300,
                                                                                         seed=2)


@pytest.mark.parametrize("n, exact", [(10, True), (60, False)])
def test_permutation_p_by_name_equals_the_callables(n, exact):
    c, y = _tied(8, n)
    other = np.round(np.random.default_rng(9).uniform(size=n), 1)
    args = ((c, y), (other, y))
    named, called = permutation_test("prr", *args, n_permutations=300, seed=3), permutation_test(
        prr, *args, n_permutations=300, seed=3)
    assert named == called and named.exact is exact and 0.0 < named.p_value <= 1.0


def test_multiplicity_kernel_lists_items_in_item_order():
    c, y = _tied(10, 40)
    prep = prepare_metric("prr", (c, y))
    assert prep.estimate == prr(c, y)
    w = np.array([[2.0] * 20 + [0.0] * 20, [1.0] * 40, [0.0] * 39 + [3.0]])  # sums 40, 40, 3 (one class: NaN)
    want = [prr(c[np.repeat(np.arange(40), row.astype(int))], y[np.repeat(np.arange(40), row.astype(int))])
            for row in w]
    assert np.array_equal(prep.kernel(w), want, equal_nan=True)
    with pytest.raises(ValueError, match="whole multiplicities"):
        prep.kernel(np.full((1, 40), 0.5))
    iv = cluster_ci("prr", c, y, clusters=np.arange(40) // 2, n_resamples=100)
    assert iv.n_resamples > 0 and iv.low <= iv.estimate <= iv.high
