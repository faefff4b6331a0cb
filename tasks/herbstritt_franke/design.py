"""Herbstritt & Franke's experimental design: the urn, its 15 contexts, the expressions, the readings.

The scenario: an urn holds 10 balls, each red or blue. A speaker draws
``access`` balls (or all 10), sees ``observation`` of them red, puts them
back, and tells a friend how likely the next ball is to be red. This
module is the table of that design (:data:`CONTEXTS`, the simple and
complex expression sets, the authors' uncertainty levels) and the checks of
the names that select parts of it. It holds no text: the wording is
:mod:`.wording`, the prompts :mod:`.contexts`.

>>> len(CONTEXTS), len(COMPLEX_EXPRESSIONS), len(MERGED_COMPLEX_EXPRESSIONS)
(15, 16, 12)
"""
from __future__ import annotations

from typing import Sequence

TASK = "herbstritt_franke"
N_BALLS = 10  # balls in the urn; red-ball answers run 0..N_BALLS
CONTEXTS: tuple[tuple[int, int], ...] = (
    (2, 0), (2, 2), (4, 1), (4, 2), (4, 3),
    (8, 0), (8, 2), (8, 4), (8, 6), (8, 8),
    (10, 2), (10, 3), (10, 5), (10, 7), (10, 8),
)  # the 15 production contexts (access, observation), in table order
SIMPLE_EXPRESSIONS = ("certainly not", "probably not", "possibly", "probably", "certainly")
COMPLEX_OUTER = ("is", "is probably", "might be", "is certainly")
COMPLEX_INNER = ("probable", "possible", "unlikely", "likely")
MERGED_INNER = ("possible", "unlikely", "likely")  # the authors fold "probable" into "likely"
COMPLEX_EXPRESSIONS = tuple(f"{o} {i}" for o in COMPLEX_OUTER for i in COMPLEX_INNER)  # 16, e.g. "might be likely"
MERGED_COMPLEX_EXPRESSIONS = tuple(f"{o} {i}" for o in COMPLEX_OUTER for i in MERGED_INNER)  # 12
UNCERTAINTY_LEVELS = ("none", "low", "high")
# Every (access, observation) answer in the interpretation studies' value space.
ACCESS_OBSERVATION_GRID: tuple[tuple[int, int], ...] = tuple(
    (a, o) for a in range(1, N_BALLS + 1) for o in range(a + 1)
)
EXPRESSION_SETS = ("simple", "complex")
READINGS = ("sentence", "choice")  # speaker readings; the listener is switched on separately
STATES = tuple(range(N_BALLS + 1))  # listener answers: red balls in the urn


def uncertainty_level(access: int) -> str:
    """The authors' higher-order uncertainty level of a context with this access.

    As in the authors' ``clean_explore.r``: **none** when the speaker saw the
    whole urn (access 10), **low** when they drew more than half of it
    (access 8), **high** otherwise (access 2 or 4). Each level holds 5 of
    the 15 production contexts.

    >>> [uncertainty_level(a) for a in (2, 4, 8, 10)]
    ['high', 'high', 'low', 'none']
    """
    if not 0 <= access <= N_BALLS:
        raise ValueError(f"access must be in 0..{N_BALLS}, got {access}")
    return "none" if access == N_BALLS else ("low" if access > N_BALLS // 2 else "high")


def speaker_expressions(expression_set: str) -> tuple[str, ...]:
    """The expressions a speaker chooses from, in :mod:`calibkit.tasks.herbstritt_franke.human` column order."""
    return SIMPLE_EXPRESSIONS if check_set(expression_set) == "simple" else COMPLEX_EXPRESSIONS


def listener_expressions(expression_set: str) -> tuple[str, ...]:
    """The expressions of the interpretation study (5 simple, 12 merged complex)."""
    return SIMPLE_EXPRESSIONS if check_set(expression_set) == "simple" else MERGED_COMPLEX_EXPRESSIONS


# --------------------------------------------------------------------------- checks


def expression_sets(expression_set: str) -> tuple[str, ...]:
    """``"both"`` -> ``("simple", "complex")``; a single set name -> itself."""
    if expression_set == "both":
        return EXPRESSION_SETS
    return (check_set(expression_set),)


def check_readings(readings: Sequence[str]) -> tuple[str, ...]:
    """Validated speaker readings, in :data:`READINGS` order."""
    if isinstance(readings, str):
        readings = (readings,)
    bad = [r for r in readings if r not in READINGS]
    if bad:
        raise ValueError(f"readings: unknown {bad!r}; choose from {READINGS}")
    return tuple(r for r in READINGS if r in readings)


def check_set(expression_set: str) -> str:
    """``expression_set`` itself if it names one set ("simple" or "complex"), else ValueError."""
    if expression_set not in EXPRESSION_SETS:
        raise ValueError(f"expression_set must be one of {EXPRESSION_SETS}, got {expression_set!r}")
    return expression_set
