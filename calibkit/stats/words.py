"""Probability words as confidences: what people take a word to mean, and how often a model is right when it says it.

A model that says how sure it is with a word ("probably", "might be
likely") can be read two ways. **People's meaning** (:func:`people_readings`)
maps each word to the mean of a listener distribution: in Herbstritt &
Franke's (2019) interpretation experiment, people read "The next ball will
probably be red" and guessed how many of 10 balls are red; the word's
meaning is the expected share, E[red_balls] / 10. **The model's own
meaning** (:func:`word_accuracy`) maps each word to the model's accuracy
when it used that word. :func:`calibration_against` scores the words with
people's meaning as the confidence (binary Brier, and the ECE whose bins are
the words); :func:`crossfit_own_mapping` gives each item the accuracy of its
word measured on the *other* folds, so the own-accuracy mapping can be
scored without fitting and scoring on the same items.

Pure numpy: never imports torch, a task, or plotting code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from calibkit.stats.bootstrap import bootstrap_ci
from calibkit.stats.checks import check_count, check_seed
from calibkit.stats.intervals import Interval
from calibkit.stats.metrics import binary_brier


@dataclass(frozen=True)
class PeopleReading:
    """People's reading of one expression: the listener distribution's mean share, with its spread."""

    expression: str  # the words people read, e.g. "probably"
    mean: float  # E[red_balls] / n_balls under the listener distribution, in [0, 1]
    interval: Interval  # percentile bootstrap over the listeners' answers (estimate = mean)
    sd: float  # standard deviation of the answers' shares (how much people disagree)
    n: int  # listener answers


@dataclass(frozen=True)
class WordAccuracy:
    """How often the model was right when it used one expression."""

    expression: str  # the expression
    n: int  # items on which the model used it
    correct: int  # of them, right
    accuracy: Interval  # share right, percentile bootstrap over those items (small-n rule: no bounds below 20)


def people_readings(expressions: Sequence[str], red_balls: np.ndarray, counts: np.ndarray, *, n_balls: int = 10,
                    n_resamples: int = 1000, seed: int = 0) -> dict[str, PeopleReading]:
    """Each expression's mean listener reading from a long count table (one row per expression x answer).

    Args:
        expressions: ``(k,)`` the expression of each row.
        red_balls: ``(k,)`` the answer of the row, an integer in ``0..n_balls``.
        counts: ``(k,)`` how many listeners gave that answer.
        n_balls: balls in the urn; a reading is ``red_balls / n_balls``.

    Returns:
        ``{expression: PeopleReading}`` in first-seen order.

    Example:
        >>> r = people_readings(["x", "x"], np.array([2, 8]), np.array([1, 3]), n_resamples=10)["x"]
        >>> round(r.mean, 3), r.n  # (0.2 * 1 + 0.8 * 3) / 4
        (0.65, 4)
    """
    red = np.asarray(red_balls)
    cnt = np.asarray(counts)
    if not (len(expressions) == red.shape[0] == cnt.shape[0]):
        raise ValueError("expressions, red_balls and counts must have one entry per row")
    if red.size and (red.min() < 0 or red.max() > n_balls or np.any(cnt < 0)):
        raise ValueError(f"red_balls must be in 0..{n_balls} and counts non-negative")
    names = np.asarray(list(expressions), dtype=object)
    out = {}
    for name in dict.fromkeys(expressions):
        keep = names == name
        shares = np.repeat(red[keep] / n_balls, cnt[keep].astype(np.int64))
        if shares.size == 0:
            raise ValueError(f"expression {name!r} has no listener answers")
        iv = bootstrap_ci("mean", shares.astype(np.float64), n_resamples=n_resamples, seed=seed)
        out[name] = PeopleReading(name, float(shares.mean()), iv, float(shares.std()), int(shares.size))
    return out


def _check_words(words: Sequence[str | None], correct: np.ndarray) -> np.ndarray:
    y = np.asarray(correct)
    if y.ndim != 1 or len(words) != y.shape[0]:
        raise ValueError(f"words and correct must have one entry per item; got {len(words)} and {y.shape}")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("correct must hold only 0/1 or booleans")
    return y.astype(np.float64)


def word_accuracy(words: Sequence[str | None], correct: np.ndarray, *, expressions: Sequence[str],
                  n_resamples: int = 1000, seed: int = 0) -> list[WordAccuracy]:
    """The model's accuracy per expression it used (None: no expression read from the item).

    Args:
        words: ``(n,)`` the expression the model used on each item, or None.
        correct: ``(n,)`` whether the item's answer was right.
        expressions: the expressions to report, in order (an unused one has
            n = 0 and a NaN accuracy).

    Example:
        >>> [(w.expression, w.n, w.accuracy.estimate) for w in word_accuracy(
        ...     ["a", "b", "a", None], np.array([1, 0, 0, 1]), expressions=["a", "b"], n_resamples=10)]
        [('a', 2, 0.5), ('b', 1, 0.0)]
    """
    y = _check_words(words, correct)
    w = np.asarray(list(words), dtype=object)
    out = []
    for name in expressions:
        ys = y[w == name]
        iv = (bootstrap_ci("mean", ys, n_resamples=n_resamples, seed=seed) if ys.size
              else Interval(math.nan, math.nan, math.nan, 0.95, 0, n=0, note="never used"))
        out.append(WordAccuracy(name, int(ys.size), int(ys.sum()), iv))
    return out


def ece_by_value(confidence: np.ndarray, correct: np.ndarray) -> float:
    """ECE whose bins are the distinct confidence values: sum over values of share x |accuracy - value|.

    With one confidence per word this is the ECE whose bins are the words.

    Example:
        >>> ece_by_value(np.array([0.7, 0.7, 0.2, 0.2]), np.array([1, 1, 0, 1]))  # .5*.3 + .5*.3
        0.3
    """
    c = np.asarray(confidence, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if c.shape != y.shape or c.ndim != 1 or c.size == 0:
        raise ValueError("confidence and correct must be non-empty 1-d arrays of the same length")
    values, group = np.unique(c, return_inverse=True)
    n = np.bincount(group)
    gap = np.abs(np.bincount(group, weights=y) / n - values)
    return round(float(np.sum(n * gap) / c.size), 12)


def people_confidence(words: Sequence[str | None], meaning: Mapping[str, float]) -> np.ndarray:
    """``(n,)`` each item's word read as people's probability; NaN where no word (or one people never read)."""
    return np.array([meaning.get(w, math.nan) if w is not None else math.nan for w in words], dtype=np.float64)


@dataclass(frozen=True)
class WordCalibration:
    """Words scored against a mapping to probabilities, on the items that have a word."""

    n: int  # items with a word the mapping knows
    n_without: int  # items left out: no word read, or a word the mapping lacks
    ece_words: Interval  # ECE whose bins are the words (ece_by_value)
    brier: Interval  # binary Brier score


def calibration_against(words: Sequence[str | None], correct: np.ndarray, meaning: Mapping[str, float], *,
                        n_resamples: int = 1000, seed: int = 0) -> WordCalibration:
    """Calibration of the words when each is read as ``meaning[word]`` (e.g. people's mean reading).

    Example:
        >>> c = calibration_against(["p", "p", "q", None], np.array([1, 0, 1, 1]), {"p": 0.5, "q": 1.0},
        ...                         n_resamples=10)
        >>> c.n, c.n_without, c.ece_words.estimate, c.brier.estimate
        (3, 1, 0.0, 0.16666666666666666)
    """
    y = _check_words(words, correct)
    conf = people_confidence(words, meaning)
    keep = np.isfinite(conf)
    kw = dict(n_resamples=check_count("n_resamples", n_resamples), seed=check_seed(seed))
    if not keep.any():
        empty = Interval(math.nan, math.nan, math.nan, 0.95, 0, n=0, note="no item has a word")
        return WordCalibration(0, len(words), empty, empty)
    c, yk = conf[keep], y[keep]
    return WordCalibration(int(keep.sum()), int((~keep).sum()), bootstrap_ci(ece_by_value, c, yk, **kw),
                           bootstrap_ci(binary_brier, c, yk, **kw))


def crossfit_own_mapping(words: Sequence[str | None], correct: np.ndarray, *, folds: int = 5,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each item's held-out own-accuracy confidence, and the held-out base rate, by ``folds``-fold cross-fitting.

    Items are split at random (seeded) into ``folds`` folds; an item's
    confidence is the accuracy, on the other folds, of the items that used
    its word (the other folds' overall accuracy when none did). The second
    array is the other folds' overall accuracy (the word-blind reference).
    Items without a word get NaN in both. Scoring these cannot reward a
    mapping for fitting the very items it is scored on.

    Returns:
        ``(own, base_rate)``, both ``(n,)`` floats in [0, 1] or NaN.

    Example:
        >>> own, base = crossfit_own_mapping(["a", "a", "b", "b"], np.array([1, 1, 0, 0]), folds=4)
        >>> own.tolist(), base.tolist()  # leave-one-out: the other use of the word
        ([1.0, 1.0, 0.0, 0.0], [0.3333333333333333, 0.3333333333333333, 0.6666666666666666, 0.6666666666666666])
    """
    y = _check_words(words, correct)
    has = np.array([w is not None for w in words], dtype=bool)
    n_with = int(has.sum())
    if not isinstance(folds, int) or isinstance(folds, bool) or folds < 2:
        raise ValueError(f"folds must be an int >= 2; got {folds!r}")
    own, base = np.full(y.shape, math.nan), np.full(y.shape, math.nan)
    if n_with < 2:
        return own, base
    w = np.asarray(list(words), dtype=object)
    idx = np.flatnonzero(has)
    fold_of = np.empty(y.shape, dtype=np.int64)
    fold_of[idx] = np.random.default_rng(check_seed(seed)).permutation(n_with) % min(folds, n_with)
    for f in np.unique(fold_of[idx]):
        test = idx[fold_of[idx] == f]
        train = idx[fold_of[idx] != f]
        rate = float(y[train].mean())
        base[test] = rate
        for i in test:
            same = train[w[train] == w[i]]
            own[i] = float(y[same].mean()) if same.size else rate
    return own, base
