"""The paired test every base-vs-chat comparison uses: a permutation test that swaps each item's pair.

Two models answered the same ``n`` items. Under the null hypothesis that the
two models' predictions are exchangeable within every item (nothing tells
"base" from "chat" once an item is fixed), swapping the two models' rows of
any subset of items leaves the joint distribution unchanged. So the
difference of any statistic, recomputed on each of the ``2^n`` swap
patterns, is a reference distribution for the observed difference that
needs no approximation: the test is exact at every n (Fisher 1935, ch. 21;
Good, *Permutation, Parametric and Bootstrap Tests of Hypotheses*, 3rd ed.
2005, §3.6.2 "matched pairs"). For a mean of per-item losses (accuracy,
Brier) a swap flips the sign of that item's difference, so this is the
sign-flip test; for a calibration error the statistic is recomputed on the
swapped data sets, binning and bandwidth search included.

* ``n <= EXACT_MAX_ITEMS``: all ``2^n`` patterns, ``p = #{|D*| >= |D|} / 2^n``
  (the identity and its mirror, which give ``|D|`` itself, are among them, so
  ``p >= 2 / 2^n``: with two items the smallest p is 0.5).
* beyond: ``B`` random patterns (each item swapped with probability 1/2,
  seeded), ``p = (1 + #{|D*| >= |D|}) / (1 + B)`` (Phipson & Smyth 2010), a
  valid p-value at any ``B``.

:func:`paired_test` is the one entry point: the estimate, the paired
bootstrap percentile interval of the difference (as
:func:`calibkit.stats.bootstrap.paired_bootstrap`), and the p-value of the
test named by ``test`` (:data:`DEFAULT_TEST`, chosen in
``bench/calibration_test_power.py``), with the small-n rule of
:func:`calibkit.stats.intervals.too_few`. This module must never import
torch or plotting code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from calibkit.stats.bootstrap import paired_bootstrap
from calibkit.stats.checks import check_choice, check_count, check_seed
from calibkit.stats.intervals import PairedDifference
from calibkit.stats.resampled_metrics import prepare_metric
from calibkit.stats.resampling import CHUNK_CELLS

#: up to this many items every swap pattern is enumerated (2^16 = 65,536 data sets)
EXACT_MAX_ITEMS = 16
#: below the interval rule (intervals.MIN_ITEMS) the permutation test still gives an exact p-value, but with n
#: items its smallest two-sided p is 2 / 2^n: from 6 items on (1/32) it can fall below 0.05, so from there it
#: is reported; below, neither interval nor p-value
MIN_TEST_ITEMS = 6
TESTS = ("permutation", "bootstrap")
#: the test every paired comparison uses unless told otherwise. bench/calibration_test_power.py
#: (bench/RESULTS.md, 2026-12-06): at the null the bootstrap test rejected 0-1% for every calibration
#: measure (far below 5%), the permutation test 3-8%; at n = 100 and T = 2 the permutation test had
#: 67-97% power where the bootstrap test had 13-73%
DEFAULT_TEST = "permutation"
#: the calibration measure a base-vs-chat comparison leads with: smooth ECE had the most power at
#: nominal size in the same bench (n = 100, permutation test: 53% at T = 1.5 and 97% at T = 2, against
#: 31% and 78% for the 10-bin ECE), also when the models differ in accuracy but are both calibrated
HEADLINE_METRIC = "smooth_ece"
# |D*| >= |D| is decided with this relative slack, so that a swap pattern whose difference equals the
# observed one up to float round-off (a mirror image, items with identical rows) counts as equal
_TIE_SLACK = 1e-9


@dataclass(frozen=True)
class PermutationResult:
    """A paired permutation test of "no difference" between two models on the same items."""

    difference: float  # the statistic of a minus that of b on the data as observed
    p_value: float  # two-sided; NaN where no swap pattern gave a defined statistic
    n_permutations: int  # swap patterns whose statistic was defined (2^n when exact)
    exact: bool  # all 2^n patterns (True) or random ones
    test: str  # the label reported beside the p-value, e.g. "exact sign-flip (2^5 swaps)"


def permutation_test(
    metric: str | Callable[..., float], arrays_a: Sequence[np.ndarray], arrays_b: Sequence[np.ndarray],
    *, n_permutations: int = 1000, seed: int = 0, n_bins: int = 10,
) -> PermutationResult:
    """Paired permutation test of a metric's difference: swap each item's two rows at random.

    Args:
        metric: a name from :data:`calibkit.stats.resampled_metrics.METRICS` or a
            callable ``metric(*arrays) -> float``, as in
            :func:`calibkit.stats.bootstrap.paired_bootstrap`.
        arrays_a, arrays_b: each model's arrays, row ``i`` the same item.
        n_permutations: random swap patterns beyond :data:`EXACT_MAX_ITEMS` items.
        seed: seed of the random patterns. n_bins: for the binned metrics.

    Example:
        >>> right_a, right_b = np.array([1.0, 1.0]), np.array([0.0, 0.0])
        >>> permutation_test(np.mean, (right_a,), (right_b,)).p_value  # 2 of the 4 patterns give |D| = 1
        0.5
    """
    n_permutations, seed = check_count("n_permutations", n_permutations), check_seed(seed)
    a, b = tuple(np.asarray(x) for x in arrays_a), tuple(np.asarray(x) for x in arrays_b)
    n = len(a[0])
    if any(len(x) != n for x in a + b):
        raise ValueError(f"arrays_a and arrays_b must all have one row per item ({[len(x) for x in a + b]})")
    exact = n <= EXACT_MAX_ITEMS
    statistic = _swapped_statistic(metric, a, b, n_bins=n_bins)
    observed = float(statistic(np.zeros((1, n), dtype=bool))[0])
    values = np.concatenate([statistic(s) for s in _patterns(n, n_permutations, seed, exact=exact)])
    values = values[np.isfinite(values)]
    if not math.isfinite(observed) or values.size == 0:
        return PermutationResult(observed, math.nan, int(values.size), exact, _label(n, values.size, exact))
    extreme = int(np.count_nonzero(np.abs(values) >= abs(observed) * (1 - _TIE_SLACK)))
    p = extreme / values.size if exact else (1 + extreme) / (1 + values.size)
    return PermutationResult(observed, float(min(p, 1.0)), int(values.size), exact, _label(n, values.size, exact))


def paired_test(
    metric: str | Callable[..., float],
    arrays_a: Sequence[np.ndarray],
    arrays_b: Sequence[np.ndarray],
    *,
    test: str = DEFAULT_TEST,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    n_bins: int = 10,
) -> PairedDifference:
    """The paired comparison of one metric between two models on the same items: estimate, interval, p-value.

    The interval is the paired bootstrap percentile interval of the
    difference (:func:`calibkit.stats.bootstrap.paired_bootstrap`); the
    p-value comes from ``test``: ``"permutation"`` (default,
    :func:`permutation_test` with ``n_resamples`` random swaps, or every
    swap at up to :data:`EXACT_MAX_ITEMS` items) or ``"bootstrap"``
    (:func:`calibkit.stats.bootstrap.paired_p_value`, the interval
    inverted). ``PairedDifference.test`` names it. Below
    :data:`calibkit.stats.intervals.MIN_ITEMS` items there is no interval,
    and ``note`` says why; the permutation test, exact at any n (every swap
    pattern up to :data:`EXACT_MAX_ITEMS` items), still gives the p-value
    from :data:`MIN_TEST_ITEMS` items on, where it can reach below 0.05.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> labels = rng.integers(0, 2, 300)
        >>> good = np.where(labels[:, None] == [0, 1], 0.8, 0.2)
        >>> d = paired_test("brier", (good, labels), (np.full((300, 2), 0.5), labels), n_resamples=200)
        >>> d.test, d.p_value < 0.01, d.n
        ('permutation (200 random swaps)', True, 300)
    """
    test = check_choice("test", test, TESTS)
    d = paired_bootstrap(metric, arrays_a, arrays_b, n_resamples=n_resamples, level=level, seed=seed, n_bins=n_bins)
    if test == "bootstrap" or not math.isfinite(d.difference):
        return d
    if d.note is not None and (d.n is None or d.n < MIN_TEST_ITEMS):
        return d
    perm = permutation_test(metric, arrays_a, arrays_b, n_permutations=n_resamples, seed=seed, n_bins=n_bins)
    return replace(d, p_value=perm.p_value, test=perm.test)


def _label(n: int, count: int, exact: bool) -> str:
    return f"exact sign-flip (2^{n} swaps)" if exact else f"permutation ({count:,} random swaps)"


def _patterns(n: int, n_permutations: int, seed: int, *, exact: bool):
    """Chunks of ``(m, n)`` bool swap patterns: all ``2^n`` in binary order, or seeded random ones."""
    rows = max(1, CHUNK_CELLS // (2 * n))  # (pattern, pooled item) cells per kernel call
    if exact:
        every = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1 == 1  # row k: the bits of k
        yield from (every[i : i + rows] for i in range(0, every.shape[0], rows))
        return
    rng = np.random.default_rng(seed)
    for start in range(0, n_permutations, rows):
        yield rng.random((min(rows, n_permutations - start), n)) < 0.5


def _swapped_statistic(
    metric: str | Callable[..., float], a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...], *, n_bins: int
) -> Callable[[np.ndarray], np.ndarray]:
    """``swaps (m, n) bool -> (m,)`` the metric of a minus that of b after swapping the marked items.

    A named metric is prepared once on the pooled ``2n`` items (a's rows,
    then b's) and each swapped data set is a 0/1 weighting of them (or, for
    an order-dependent metric such as PRR, the pooled rows it lists, in item
    order, as the callable sees them); a callable is called on the swapped
    arrays, pattern by pattern.
    """
    n = len(a[0])
    if callable(metric):
        def by_call(swaps: np.ndarray) -> np.ndarray:
            out = np.empty(swaps.shape[0])
            for row, s in enumerate(swaps):
                pick = [np.where(s.reshape(-1, *([1] * (x.ndim - 1))), y, x) for x, y in zip(a, b)]
                other = [np.where(s.reshape(-1, *([1] * (x.ndim - 1))), x, y) for x, y in zip(a, b)]
                try:
                    out[row] = float(metric(*pick)) - float(metric(*other))
                except ValueError:  # e.g. AUROC of a swapped data set with one class
                    out[row] = math.nan
            return out

        return by_call
    pooled = tuple(np.concatenate([x, y]) for x, y in zip(a, b))
    prepared = prepare_metric(metric, pooled, n_bins=n_bins, total=n)
    if prepared.by_index is not None:  # PRR: item i of a swapped data set is pooled row i or n + i, in item order
        items, by_index = np.arange(n), prepared.by_index
        return lambda swaps: by_index(items + n * swaps) - by_index(items + n * ~swaps)
    kernel = prepared.kernel

    def by_weights(swaps: np.ndarray) -> np.ndarray:
        keep = (~swaps).astype(np.float64)
        return kernel(np.hstack([keep, 1.0 - keep])) - kernel(np.hstack([1.0 - keep, keep]))

    return by_weights
