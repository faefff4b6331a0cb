"""People's answers in Herbstritt & Franke's experiments, as typed read-only tables.

Loads the aggregated human tables committed in ``calibkit.human_data``
(built by ``human_data/build_tables.py``; layouts in its README):
:class:`ProductionTable` (contexts x expressions counts: which expression
people chose in each urn context) and :class:`InterpretationTable`
(expressions x red-ball / access / observation answer counts: what
listeners guessed after each expression), and folds the complex set into
the authors' 12-expression view (:func:`merge_complex`). How close a model
comes to these tables is :mod:`.agreement` (speaker) and :mod:`.listener`.

Pure numpy; never reads ``shared/`` data, never imports torch and never
draws. The contexts, expressions and uncertainty levels are the
experiments' design (:mod:`.design`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibkit.human_data import read_table as read_human_table  # the one reader; this name is the H&F API

from .design import (
    COMPLEX_EXPRESSIONS,
    CONTEXTS,
    MERGED_COMPLEX_EXPRESSIONS,
    N_BALLS,
    SIMPLE_EXPRESSIONS,
    uncertainty_level,
)

# --------------------------------------------------------------------------- tables


def read_only(a: np.ndarray, dtype) -> np.ndarray:
    """A read-only copy of ``a`` as ``dtype``: the tables are shared, so no caller may change them."""
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def _freeze_int_arrays(table, **arrays: np.ndarray) -> None:
    """Store a frozen table's integer arrays read-only as int64 and its expressions as a tuple (called last in
    ``__post_init__``, once the inputs are checked)."""
    for field, values in arrays.items():
        object.__setattr__(table, field, read_only(values, np.int64))
    object.__setattr__(table, "expressions", tuple(table.expressions))


def summed(field: str, *, axis: int, doc: str, shares: bool = False) -> property:
    """A read-only property of a table: the counts in ``field`` summed over ``axis``.

    ``shares``: instead the counts divided by that sum (each row's shares,
    for ``axis=1``). The tables' totals, proportions and marginals are all
    such sums; the result's shape is ``field``'s without ``axis`` (same
    shape with ``shares``).
    """

    def get(table) -> np.ndarray:
        counts = getattr(table, field)
        total = counts.sum(axis=axis)
        return counts / np.expand_dims(total, axis) if shares else total

    return property(get, doc=doc)


@dataclass(frozen=True)
class ProductionTable:
    """How often people chose each expression in each urn context.

    Example: ``load_simple_production().counts[0]`` is ``[6, 18, 23, 3, 0]``:
    after drawing 2 balls and seeing none red, 23 of 50 people said "possibly".
    """

    contexts: np.ndarray  # (C, 2) int64: (access, observation) per row
    expressions: tuple[str, ...]  # the E expressions, column order of `counts`
    counts: np.ndarray  # (C, E) int64: trials that chose each expression

    def __post_init__(self) -> None:
        contexts = np.asarray(self.contexts)
        counts = np.asarray(self.counts)
        if contexts.ndim != 2 or contexts.shape[1] != 2:
            raise ValueError(f"contexts must have shape (C, 2), got {contexts.shape}")
        if counts.shape != (contexts.shape[0], len(self.expressions)):
            raise ValueError(
                f"counts must have shape (C, E) = {(contexts.shape[0], len(self.expressions))}, got {counts.shape}"
            )
        if np.any(counts < 0) or not np.all(np.equal(np.mod(counts, 1), 0)):
            raise ValueError("counts must be non-negative integers")
        if np.any(counts.sum(axis=1) == 0):
            raise ValueError("counts: every context needs at least one trial")
        for a, o in contexts:
            if not 0 <= o <= a <= N_BALLS:
                raise ValueError(f"contexts: ({a}, {o}) is not a valid (access, observation)")
        _freeze_int_arrays(self, contexts=contexts, counts=counts)

    n = summed("counts", axis=1, doc="(C,) trials per context.")
    proportions = summed("counts", axis=1, shares=True,
                         doc="(C, E) share of each context's trials per expression; rows sum to 1.")

    @property
    def uncertainty(self) -> tuple[str, ...]:
        """(C,) the authors' uncertainty level per context (none / low / high)."""
        return tuple(uncertainty_level(int(a)) for a in self.contexts[:, 0])

    @property
    def context_labels(self) -> tuple[str, ...]:
        """(C,) short labels such as ``"3/4 red"`` (observation red out of access drawn)."""
        return tuple(f"{o}/{a} red" for a, o in self.contexts)


@dataclass(frozen=True)
class InterpretationTable:
    """Listeners' answers after reading each expression.

    ``state_counts[m, s]``: how many listeners guessed the urn holds ``s`` red
    balls. ``access_observation_counts[m, a, o]``: how many guessed the speaker
    drew ``a`` balls and saw ``o`` red (zero where ``o > a``). The two
    questions came from separate trials, hence separate totals.
    """

    expressions: tuple[str, ...]  # the M expressions, row order
    state_counts: np.ndarray  # (M, 11) int64: answers to "how many red balls in the urn?"
    access_observation_counts: np.ndarray  # (M, 11, 11) int64: [m, access, observation]

    def __post_init__(self) -> None:
        m = len(self.expressions)
        state = np.asarray(self.state_counts)
        joint = np.asarray(self.access_observation_counts)
        if state.shape != (m, N_BALLS + 1):
            raise ValueError(f"state_counts must have shape {(m, N_BALLS + 1)}, got {state.shape}")
        if joint.shape != (m, N_BALLS + 1, N_BALLS + 1):
            raise ValueError(
                f"access_observation_counts must have shape {(m, N_BALLS + 1, N_BALLS + 1)}, got {joint.shape}"
            )
        if np.any(state < 0) or np.any(joint < 0):
            raise ValueError("state_counts and access_observation_counts must be non-negative")
        if np.any(np.triu(np.ones((N_BALLS + 1,) * 2, dtype=bool), k=1) & (joint > 0)):
            raise ValueError("access_observation_counts: observation cannot exceed access")
        _freeze_int_arrays(self, state_counts=state, access_observation_counts=joint)

    state_n = summed("state_counts", axis=1, doc="(M,) red-ball answers per expression.")
    state_proportions = summed("state_counts", axis=1, shares=True,
                               doc="(M, 11) share of red-ball answers per number of red balls.")
    access_counts = summed("access_observation_counts", axis=2,
                           doc="(M, 11) answers per guessed access (balls drawn), summed over observation.")
    observation_counts = summed("access_observation_counts", axis=1,
                                doc="(M, 11) answers per guessed observation (red balls seen), summed over access.")


def _production_from_rows(rows, expression_of, expressions) -> ProductionTable:
    index = {e: j for j, e in enumerate(expressions)}
    counts = np.zeros((len(CONTEXTS), len(expressions)), dtype=np.int64)
    where = {c: i for i, c in enumerate(CONTEXTS)}
    for row in rows:
        i = where[int(row["access"]), int(row["observation"])]
        counts[i, index[expression_of(row)]] += int(row["count"])
        if counts[i].sum() > int(row["n"]):
            raise ValueError(f"corrupt table: counts exceed n in context {CONTEXTS[i]}")
    return ProductionTable(contexts=np.array(CONTEXTS), expressions=expressions, counts=counts)


def load_simple_production() -> ProductionTable:
    """Experiment 1 production: 15 contexts x 5 simple expressions (756 trials, 84 people).

    >>> t = load_simple_production(); t.counts.shape, int(t.n.sum())
    ((15, 5), 756)
    """
    rows = read_human_table("simple_production.csv")
    return _production_from_rows(rows, lambda r: r["expression"], SIMPLE_EXPRESSIONS)


def load_complex_production() -> ProductionTable:
    """Experiment 2 production, unmerged: 15 contexts x 16 outer/inner expressions (1,224 trials, 102 people).

    Expressions are ``f"{outer} {inner}"``, outer in :data:`COMPLEX_OUTER`
    and inner in :data:`COMPLEX_INNER` (e.g. ``"is probably likely"``).
    """
    rows = read_human_table("complex_production.csv")
    return _production_from_rows(rows, lambda r: f"{r['outer']} {r['inner']}", COMPLEX_EXPRESSIONS)


def merge_complex(probs: np.ndarray) -> np.ndarray:
    """(..., 16) complex-expression probabilities (or counts) -> (..., 12) float64, adding "probable" into "likely"."""
    p = np.asarray(probs, dtype=np.float64)
    if p.shape[-1] != len(COMPLEX_EXPRESSIONS):
        raise ValueError(f"probs must have {len(COMPLEX_EXPRESSIONS)} columns, got shape {p.shape}")
    out = np.zeros(p.shape[:-1] + (len(MERGED_COMPLEX_EXPRESSIONS),))
    target = {e: j for j, e in enumerate(MERGED_COMPLEX_EXPRESSIONS)}
    for k, expression in enumerate(COMPLEX_EXPRESSIONS):
        outer, inner = expression.rsplit(" ", 1)
        out[..., target[f"{outer} {'likely' if inner == 'probable' else inner}"]] += p[..., k]
    return out


def merged_complex_production(table: ProductionTable | None = None) -> ProductionTable:
    """The authors' 12-expression view: inner "probable" counted as "likely".

    ``table`` defaults to :func:`load_complex_production`; columns come out in
    :data:`MERGED_COMPLEX_EXPRESSIONS` order (outer x possible/unlikely/likely).
    """
    table = load_complex_production() if table is None else table
    if table.expressions != COMPLEX_EXPRESSIONS:
        raise ValueError("table must have the 16 unmerged complex expressions (COMPLEX_EXPRESSIONS)")
    # Sums of integer counts are exact in float64, so the cast back loses nothing.
    merged = merge_complex(table.counts).astype(np.int64)
    return ProductionTable(contexts=table.contexts, expressions=MERGED_COMPLEX_EXPRESSIONS, counts=merged)


def _interpretation(prefix: str, key_columns: tuple[str, ...], expressions: tuple[str, ...]) -> InterpretationTable:
    index = {e: j for j, e in enumerate(expressions)}
    state = np.zeros((len(expressions), N_BALLS + 1), dtype=np.int64)
    joint = np.zeros((len(expressions), N_BALLS + 1, N_BALLS + 1), dtype=np.int64)
    for row in read_human_table(f"{prefix}_interpretation_state.csv"):
        state[index[" ".join(row[k] for k in key_columns)], int(row["red_balls"])] += int(row["count"])
    for row in read_human_table(f"{prefix}_interpretation_access_observation.csv"):
        m = index[" ".join(row[k] for k in key_columns)]
        joint[m, int(row["access"]), int(row["observation"])] += int(row["count"])
    return InterpretationTable(expressions=expressions, state_counts=state, access_observation_counts=joint)


def load_simple_interpretation() -> InterpretationTable:
    """Experiment 1 interpretation: 5 simple expressions, 144 answers per expression and question."""
    return _interpretation("simple", ("expression",), SIMPLE_EXPRESSIONS)


def load_complex_interpretation() -> InterpretationTable:
    """Experiment 2 interpretation: the 12 merged complex expressions, 150 answers each per question."""
    return _interpretation("complex", ("outer", "inner"), MERGED_COMPLEX_EXPRESSIONS)
