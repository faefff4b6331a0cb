"""Herbstritt & Franke's rational-speech-act (RSA) reference speakers and listeners.

The urn holds ``N_BALLS = 10`` balls. A speaker who drew ``a`` balls and saw
``o`` red believes, about the number ``s`` of red balls in the urn,

    P(s | a, o)  ∝  Hypergeometric(o; N=10, K=s, draws=a) * BetaBinomial(s; 10, alpha, beta).

Simple expressions (Herbstritt & Franke 2016; 2019 Exp. 1) are threshold
predicates over ``s``, strict as in the authors' code::

    certainly      s > θ_certainly * 10       certainly not  s < (1 - θ_certainly) * 10
    probably       s > θ_probably * 10        probably not   s < (1 - θ_probably) * 10
    possibly       s > θ_possibly * 10

The literal listener conditions the state prior on a message's truth; the
speaker's utility for a message is minus the Hellinger distance
``H(p, q) = sqrt(sum_s (sqrt p_s - sqrt q_s)^2) / sqrt 2`` between her belief
over ``s`` and the literal listener's; she picks by softmax with rationality
λ. This is the authors' JAGS model (mic-he/ProbExp-HOU,
``R/1.simple expressions/jags_model.R``); with their posterior-mean
parameters (``human_data/rsa_simple_params.csv``) it correlates with the
simple production proportions at Pearson r = .875 over the 75 cells.

Complex expressions (2019 Exp. 2): "is likely / possible / unlikely" are
simple messages as above (likely: s > θ_likely*10; possible: s > θ_possible*10;
unlikely: s < (1-θ_likely)*10). "<outer> <inner>" with outer in {might be,
is probably, is certainly} is true of a speaker state ``v = (a, o)`` when
her belief that the inner proposition holds exceeds θ_outer
(``sum_s P(s | v) [inner](s) > θ_outer``); its utility is minus the expected
Hellinger distance between her belief and the belief of a state ``u`` of the
65-state space (access 1-10, observation 0-access), ``u`` drawn from the
literal listener's posterior ``P(u | m) ∝ [m](u) P(a_u) P(o_u | a_u)``, as in
the authors' complex JAGS model (``R/2.complex expressions/jags_model.R``,
``ll.value.posterior``); with their posterior means it correlates with the
merged complex production proportions at r = .716.

Pure numpy/scipy; never reads ``shared/`` data at run time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.stats import betabinom, hypergeom

from calibkit.stats.kernels import softmax

from .design import (
    ACCESS_OBSERVATION_GRID,
    CONTEXTS,
    MERGED_COMPLEX_EXPRESSIONS,
    MERGED_INNER,
    N_BALLS,
    SIMPLE_EXPRESSIONS,
)
from .human import read_human_table, summed

STATES = np.arange(N_BALLS + 1)  # possible numbers of red balls in the urn
STATES.setflags(write=False)  # a shared constant: keep it immutable


def _check_common(alpha: float, beta: float, lam: float, thetas: dict[str, float]) -> None:
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value}")
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a non-negative number, got {lam}")
    for name, value in thetas.items():
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {value}")


class _RSAParams:
    """What the simple and complex parameter sets share: their checks and the authors' published values.

    Subclasses are frozen dataclasses with fields alpha, beta, lam, theta_* and
    alpha_access, beta_access, named as the rows of their ``_file``.
    """

    _file = ""  # the calibkit.human_data table of the authors' posterior means

    def __post_init__(self) -> None:
        thetas = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name.startswith("theta_")}
        _check_common(self.alpha, self.beta, self.lam, thetas)
        if not (self.alpha_access > 0 and self.beta_access > 0):
            raise ValueError("alpha_access and beta_access must be positive")

    @classmethod
    def published(cls):
        """The posterior means of the authors' fit, from ``cls._file``.

        Simple: 5,000 JAGS samples; complex: their reported
        ``2.complex_variables_parameters.csv``; see human_data/README.md.
        """
        rows = read_human_table(cls._file)
        p = {row["parameter"]: float(row["posterior_mean"]) for row in rows}
        # The tables call the rationality "lambda", a Python keyword, hence the field "lam".
        return cls(**{f.name: p["lambda" if f.name == "lam" else f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class SimpleRSAParams(_RSAParams):
    """Parameters of the simple-expression RSA model (the authors' names in comments).

    >>> p = SimpleRSAParams.published(); round(p.lam, 2), round(p.theta_probably, 3)
    (4.87, 0.55)
    """

    alpha: float  # "alpha": beta-binomial prior over red balls, first shape
    beta: float  # "beta": second shape
    lam: float  # "lambda": speaker rationality (softmax inverse temperature)
    theta_possibly: float  # "theta.possibly": threshold on the red-ball share
    theta_probably: float  # "theta.probably"; "probably not" uses 1 - θ
    theta_certainly: float  # "theta.certainly"; "certainly not" uses 1 - θ
    alpha_access: float = 1.0  # "alpha_ax": listener's beta-binomial prior over the speaker's access
    beta_access: float = 1.0  # "beta_ax"

    _file = "rsa_simple_params.csv"


@dataclass(frozen=True)
class ComplexRSAParams(_RSAParams):
    """Parameters of the complex-expression RSA model (Herbstritt & Franke 2019, Exp. 2)."""

    alpha: float  # beta-binomial prior over red balls, first shape
    beta: float  # second shape
    lam: float  # speaker rationality
    theta_possible: float  # inner "possible": s > θ * 10
    theta_likely: float  # inner "likely": s > θ * 10; "unlikely": s < (1 - θ) * 10
    theta_might: float  # outer "might be": P(inner) > θ
    theta_probably: float  # outer "is probably": P(inner) > θ
    theta_certainly: float  # outer "is certainly": P(inner) > θ
    alpha_access: float = 1.0  # listener's beta-binomial prior over access
    beta_access: float = 1.0

    _file = "rsa_complex_params.csv"


# --------------------------------------------------------------------------- building blocks


def state_prior(*, alpha: float, beta: float) -> np.ndarray:
    """(11,) beta-binomial prior over the number of red balls 0..10."""
    if not (alpha > 0 and beta > 0):
        raise ValueError(f"alpha and beta must be positive, got {alpha}, {beta}")
    return betabinom.pmf(STATES, N_BALLS, alpha, beta)


def _check_contexts(contexts) -> np.ndarray:
    c = np.asarray(contexts)
    if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] < 1:
        raise ValueError(f"contexts must have shape (C, 2) of (access, observation), got {c.shape}")
    if not np.all(np.equal(np.mod(c, 1), 0)):
        raise ValueError("contexts must hold integers")
    c = c.astype(np.int64)
    bad = ~((c[:, 1] >= 0) & (c[:, 1] <= c[:, 0]) & (c[:, 0] <= N_BALLS))
    if bad.any():
        raise ValueError(f"contexts: {tuple(c[bad][0])} is not a valid (access, observation)")
    return c


def speaker_beliefs(contexts, *, prior: np.ndarray) -> np.ndarray:
    """(C, 11) speaker's posterior over red balls after drawing ``a`` and seeing ``o`` red.

    >>> int(speaker_beliefs([(10, 7)], prior=np.full(11, 1 / 11))[0].argmax())
    7
    """
    c = _check_contexts(contexts)
    # P(o red | a drawn, s red in 10): hypergeometric, rows = contexts, cols = states.
    like = hypergeom.pmf(c[:, 1:2], N_BALLS, STATES[None, :], c[:, 0:1])
    post = like * np.asarray(prior)[None, :]
    return post / post.sum(axis=1, keepdims=True)


def hellinger(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hellinger distance along the last axis, in [0, 1] (the authors' ``HD``)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    return np.sqrt(np.square(np.sqrt(p) - np.sqrt(q)).sum(axis=-1)) / np.sqrt(2.0)


def _literal_listener(semantics: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """(M, 11) prior conditioned on each message's truth; nan rows for empty messages."""
    joint = semantics * prior[None, :]
    mass = joint.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return joint / mass


def _choice_rule(utility: np.ndarray, lam: float) -> np.ndarray:
    """The speaker's soft-max choice with rationality ``lam``.

    A message true of nothing has nan utility in the authors' code; it can
    never be sent, so it gets probability 0.
    """
    z = np.where(np.isfinite(utility), lam * utility, -np.inf)
    if np.any(np.all(np.isneginf(z), axis=-1)):
        raise ValueError("params: no expression is true of any state; check the thresholds")
    return softmax(z)


def simple_semantics(params: SimpleRSAParams) -> np.ndarray:
    """(5, 11) truth of each simple expression (SIMPLE_EXPRESSIONS order) per number of red balls."""
    s = STATES
    return np.array(
        [
            s < (1 - params.theta_certainly) * N_BALLS,  # certainly not
            s < (1 - params.theta_probably) * N_BALLS,  # probably not
            s > params.theta_possibly * N_BALLS,  # possibly
            s > params.theta_probably * N_BALLS,  # probably
            s > params.theta_certainly * N_BALLS,  # certainly
        ],
        dtype=np.float64,
    )


def _state_speaker(beliefs: np.ndarray, semantics: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """(C, M) utilities -H(belief, literal listener) of state-level messages."""
    literal = _literal_listener(semantics, prior)
    return -hellinger(beliefs[:, None, :], literal[None, :, :])


# --------------------------------------------------------------------------- speakers


def simple_speaker(params: SimpleRSAParams | None = None, *, contexts=CONTEXTS) -> np.ndarray:
    """(C, 5) probability of each simple expression (SIMPLE_EXPRESSIONS order) per context.

    ``params`` defaults to :meth:`SimpleRSAParams.published`; ``contexts`` to
    the 15 production contexts.

    >>> p = simple_speaker()
    >>> p.shape, SIMPLE_EXPRESSIONS[int(p[5].argmax())]   # drew 8, none red
    ((15, 5), 'certainly not')
    """
    params = SimpleRSAParams.published() if params is None else params
    prior = state_prior(alpha=params.alpha, beta=params.beta)
    beliefs = speaker_beliefs(contexts, prior=prior)
    return _choice_rule(_state_speaker(beliefs, simple_semantics(params), prior), params.lam)


def _complex_parts(params: ComplexRSAParams):
    s = STATES
    inner = np.array(  # rows in MERGED_INNER order: possible, unlikely, likely
        [
            s > params.theta_possible * N_BALLS,
            s < (1 - params.theta_likely) * N_BALLS,
            s > params.theta_likely * N_BALLS,
        ],
        dtype=np.float64,
    )
    outer = {
        "might be": params.theta_might,
        "is probably": params.theta_probably,
        "is certainly": params.theta_certainly,
    }
    return inner, outer


def _grid_likelihood() -> np.ndarray:
    """(V, 11) P(o red of a drawn | s red in the urn) for each grid state (the authors' ``hypergeometric``)."""
    grid = np.array(ACCESS_OBSERVATION_GRID)
    return hypergeom.pmf(grid[:, 1:2], N_BALLS, STATES[None, :], grid[:, 0:1])


def _value_prior(params) -> np.ndarray:
    """(V,) the authors' prior over the 65 (access, observation) states: beta-binomial over access, normalised over the grid."""
    grid = np.array(ACCESS_OBSERVATION_GRID)
    prior = betabinom.pmf(grid[:, 0], N_BALLS, params.alpha_access, params.beta_access)
    return prior / prior.sum()


def _complex_state_weights(params: ComplexRSAParams, state_prior_: np.ndarray) -> np.ndarray:
    """(V,) unnormalised P(a) * P(o | a) of each grid state: the literal listener's prior over speaker states.

    ``P(o | a) = sum_s Hypergeometric(o; 10, s, a) * P(s)`` is the marginal of
    the urn model; the JAGS model's ``ll.value.prior``.
    """
    return _value_prior(params) * (_grid_likelihood() @ state_prior_)


def complex_speaker(params: ComplexRSAParams | None = None, *, contexts=CONTEXTS) -> np.ndarray:
    """(C, 12) probability of each merged complex expression (MERGED_COMPLEX_EXPRESSIONS order).

    The utility of "<outer> <inner>" is minus the expected Hellinger distance
    between the speaker's belief and the belief of a speaker state ``u``
    drawn from the literal listener's posterior over the 65 states given the
    message: ``P(u | m) ∝ [m](u) * P(a_u) * P(o_u | a_u)`` (the authors'
    ``ll.value.posterior`` in ``R/2.complex expressions/jags_model.R``).
    ``params`` defaults to :meth:`ComplexRSAParams.published`; with those it
    correlates with the merged complex production proportions at r = .716
    (the authors report .654, 95% interval .596-.719, for posterior-predictive
    counts over their samples).
    """
    params = ComplexRSAParams.published() if params is None else params
    prior = state_prior(alpha=params.alpha, beta=params.beta)
    beliefs = speaker_beliefs(contexts, prior=prior)  # (C, 11)
    grid = speaker_beliefs(ACCESS_OBSERVATION_GRID, prior=prior)  # (V, 11)
    weights = _complex_state_weights(params, prior)  # (V,)
    inner, outer = _complex_parts(params)
    simple_u = _state_speaker(beliefs, inner, prior)  # (C, 3)
    inner_prob = grid @ inner.T  # (V, 3): each grid state's belief in each inner proposition
    dist = hellinger(beliefs[:, None, :], grid[None, :, :])  # (C, V)
    utility = np.empty((beliefs.shape[0], len(MERGED_COMPLEX_EXPRESSIONS)))
    for j, expression in enumerate(MERGED_COMPLEX_EXPRESSIONS):
        head, inner_word = expression.rsplit(" ", 1)
        k = MERGED_INNER.index(inner_word)
        if head == "is":
            utility[:, j] = simple_u[:, k]
            continue
        posterior = weights * (inner_prob[:, k] > outer[head])  # (V,) literal listener, unnormalised
        # A message true of no state has nan utility in the authors' code: never sent.
        utility[:, j] = -(dist @ posterior) / posterior.sum() if posterior.any() else np.nan
    return _choice_rule(utility, params.lam)


# --------------------------------------------------------------------------- listeners


@dataclass(frozen=True)
class ListenerPrediction:
    """A pragmatic listener's beliefs after each expression (the authors' L1)."""

    expressions: tuple[str, ...]  # the M expressions, row order
    state: np.ndarray  # (M, 11) P(red balls in the urn = s | expression)
    access_observation: np.ndarray  # (M, 11, 11) P(speaker drew a, saw o red | expression), [m, a, o]

    access = summed("access_observation", axis=2, doc="(M, 11) marginal over the speaker's access.")
    observation = summed("access_observation", axis=1, doc="(M, 11) marginal over the speaker's observation.")


def _listener(speaker_grid: np.ndarray, prior: np.ndarray, params, expressions) -> ListenerPrediction:
    grid = np.array(ACCESS_OBSERVATION_GRID)
    value_prior = _value_prior(params)  # the authors' value.prior
    like = _grid_likelihood()  # (V, 11)
    # joint[m, v, s] ∝ S(m | v) P(v) P(o | a, s) P(s)
    joint = speaker_grid.T[:, :, None] * value_prior[None, :, None] * like[None] * prior[None, None, :]
    joint = joint / joint.sum(axis=(1, 2), keepdims=True)
    by_value = joint.sum(axis=2)  # (M, V)
    ao = np.zeros((len(expressions), N_BALLS + 1, N_BALLS + 1))
    ao[:, grid[:, 0], grid[:, 1]] = by_value
    return ListenerPrediction(expressions=tuple(expressions), state=joint.sum(axis=1), access_observation=ao)


def simple_listener(params: SimpleRSAParams | None = None) -> ListenerPrediction:
    """Pragmatic listener for the 5 simple expressions over the 65-state speaker space.

    >>> L = simple_listener(); L.state.shape, round(float(L.state.sum(axis=1)[0]), 6)
    ((5, 11), 1.0)
    """
    params = SimpleRSAParams.published() if params is None else params
    prior = state_prior(alpha=params.alpha, beta=params.beta)
    speaker_grid = simple_speaker(params, contexts=ACCESS_OBSERVATION_GRID)
    return _listener(speaker_grid, prior, params, SIMPLE_EXPRESSIONS)


def complex_listener(params: ComplexRSAParams | None = None) -> ListenerPrediction:
    """Pragmatic listener for the 12 merged complex expressions."""
    params = ComplexRSAParams.published() if params is None else params
    prior = state_prior(alpha=params.alpha, beta=params.beta)
    speaker_grid = complex_speaker(params, contexts=ACCESS_OBSERVATION_GRID)
    return _listener(speaker_grid, prior, params, MERGED_COMPLEX_EXPRESSIONS)
