"""Each signal both tools have, against a step-by-step transcription of LM-Polygraph v0.7.0's estimator.

The transcriptions copy src/lm_polygraph/estimators/<file>.py at tag v0.7.0
line by line (numpy only, on one item), so calibkit and LM-Polygraph are
compared on identical arrays to float round-off. Where calibkit departs (the
sign, the terminator token, a token-level estimator reduced to one number),
the test states the mapping it checks.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import eigh

from calibkit.stats.signals import graph, likelihood, sampling

LP = np.log([0.9, 0.35, 0.6, 0.97])  # greedy answer, terminator excluded
TERMINATOR = np.log(0.8)  # LM-Polygraph's extra newline/EOS token
ULP = np.log([0.05, 0.2, 0.5, 0.9])  # the same tokens without the question
SAMPLES = [np.log([0.9, 0.35]), np.log([0.2]), np.log([0.9, 0.3, 0.5]), np.log([0.25])]
CLUSTERS = np.array([0, 1, 0, 0])  # unequal classes: a mean over classes would differ


# --- likelihood: max_probability.py, perplexity.py, token_entropy.py, pointwise_mutual_information.py


def polygraph_msp(greedy_log_likelihoods):
    return np.array([-np.sum(ll) for ll in greedy_log_likelihoods])


def polygraph_perplexity(greedy_log_likelihoods):
    return np.array([-np.mean(ll) for ll in greedy_log_likelihoods])


def polygraph_max_token_probability(greedy_log_likelihoods):
    return [-np.array(ll[:-1]) for ll in greedy_log_likelihoods]


def polygraph_entropy_calculator(greedy_log_probs):  # stat_calculators/entropy.py
    entropies = []
    for s_lp in greedy_log_probs:
        entropies.append([])
        for lp in s_lp:
            mask = ~np.isinf(lp)
            entropies[-1].append(-np.sum(np.array(lp[mask]) * np.exp(lp[mask])))
    return entropies


def polygraph_mean_token_entropy(entropy):
    return np.array([np.mean(e) for e in entropy])


def polygraph_mean_pmi(logprobs, lm_logprobs):
    mi_scores = []
    for lp, lm_lp in zip(logprobs, lm_logprobs):
        mi_scores.append([])
        for t in range(len(lp)):
            mi_scores[-1].append(lp[t] - (lm_lp[t] if t > 0 else 0))
    return np.array([-np.mean(sc) for sc in mi_scores])


def test_max_sequence_probability_is_exp_of_minus_polygraph():
    assert likelihood.max_sequence_probability(LP) == pytest.approx(np.exp(-polygraph_msp([LP])[0]), rel=1e-12)


def test_terminator_is_the_only_difference_in_msp():
    """On LM-Polygraph's arrays (terminator appended) the two differ by exactly that token's log-prob."""
    with_terminator = polygraph_msp([np.append(LP, TERMINATOR)])[0]
    assert -np.log(likelihood.max_sequence_probability(LP)) - with_terminator == pytest.approx(TERMINATOR, abs=1e-12)


def test_mean_nll_is_polygraph_perplexity_and_perplexity_its_exp():
    assert likelihood.mean_nll(LP) == pytest.approx(polygraph_perplexity([LP])[0], rel=1e-12)
    assert likelihood.perplexity(LP) == pytest.approx(np.exp(polygraph_perplexity([LP])[0]), rel=1e-12)


def test_token_nll_is_polygraph_max_token_probability_on_terminated_arrays():
    """LM-Polygraph drops the last (terminator) token; calibkit's arrays never held it."""
    np.testing.assert_allclose(likelihood.token_nll(LP), polygraph_max_token_probability([np.append(LP, TERMINATOR)])[0], rtol=0, atol=1e-15)
    expected = np.exp(-polygraph_max_token_probability([np.append(LP, TERMINATOR)])[0].max())
    assert likelihood.max_token_probability(LP) == pytest.approx(expected, rel=1e-12) == pytest.approx(0.35)


def test_mean_token_entropy_matches_polygraph_entropy_and_estimator():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 7)) * 2
    log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    log_probs[1, 3] = -np.inf  # a token the model ruled out (masked in LM-Polygraph)
    entropies = polygraph_entropy_calculator([log_probs])
    mine = np.array([-(np.exp(r[np.isfinite(r)]) * r[np.isfinite(r)]).sum() for r in log_probs])
    np.testing.assert_allclose(mine, entropies[0], rtol=1e-12)
    assert likelihood.mean_token_entropy(mine) == pytest.approx(polygraph_mean_token_entropy(entropies)[0], rel=1e-12)


def test_mean_pmi_is_minus_polygraph_with_its_first_token_convention():
    """LM-Polygraph leaves the first token's unconditional term out; passing 0 there reproduces it."""
    lm_lp = ULP.copy()
    assert likelihood.mean_pmi(LP, np.concatenate([[0.0], lm_lp[1:]])) == pytest.approx(-polygraph_mean_pmi([LP], [lm_lp])[0], rel=1e-12)
    assert likelihood.mean_pmi(LP, ULP) == pytest.approx(np.mean(LP - ULP), rel=1e-12)


# --- sampling: monte_carlo_(normalized_)sequence_entropy.py, semantic_entropy.py, num_sem_sets.py


def polygraph_mc_entropy(logprobs):
    return np.array([-np.mean(lp) for lp in logprobs])


def polygraph_mc_normalized_entropy(logprobs, tokens):
    return np.array([-np.mean([lp_i / len(t_i) for lp_i, t_i in zip(lp, t) if len(t_i)]) for lp, t in zip(logprobs, tokens)])


def polygraph_semantic_entropy(loglikelihoods, class_to_sample, sample_to_class, frequency=False):
    """SemanticEntropy.batched_call for one item, entropy_estimation='mean', no log_weights."""
    n = len(sample_to_class)
    if frequency:
        class_lp = np.log([len(class_idx) / n for class_idx in class_to_sample])
    else:
        class_likelihoods = [np.array(loglikelihoods)[np.array(class_idx)] for class_idx in class_to_sample]
        class_lp = [np.logaddexp.reduce(likelihoods) for likelihoods in class_likelihoods]
    log_weights = [0 for _ in range(n)]
    return -np.mean([class_lp[sample_to_class[j]] * np.exp(log_weights[j]) for j in range(n)])


def polygraph_num_sem_sets(w_entail, w_contra):
    """NumSemSets.U_NumSemSets, its chain graph and DFS included."""
    w = (w_entail > w_contra).astype(int)
    w = w * np.transpose(w)
    w = np.triu(w, k=1)
    a = [[i] for i in range(w.shape[0])]
    for i, row in enumerate(w):
        a[i].extend(np.where(row != 0)[0].tolist())
    graph_ = [[] for _ in range(len(a))]
    for sublist in a:
        for i in range(len(sublist) - 1):
            graph_[sublist[i]].append(sublist[i + 1])
            graph_[sublist[i + 1]].append(sublist[i])
    visited = [False] * len(graph_)

    def dfs(node, component):
        visited[node] = True
        component.append(node)
        for neighbor in graph_[node]:
            if not visited[neighbor]:
                dfs(neighbor, component)

    components = []
    for i in range(len(graph_)):
        if not visited[i]:
            component = []
            dfs(i, component)
            components.append(component)
    return float(len(components))


def _classes(ids):
    class_to_sample = [list(np.flatnonzero(ids == c)) for c in range(ids.max() + 1)]
    return class_to_sample, list(ids)


def test_mc_sequence_entropy_matches_polygraph():
    sums = [s.sum() for s in SAMPLES]
    assert sampling.mc_sequence_entropy(SAMPLES) == pytest.approx(polygraph_mc_entropy([sums])[0], rel=1e-12)


def test_mc_normalized_sequence_entropy_matches_polygraph_skipping_empty_samples():
    samples = SAMPLES + [np.array([])]
    sums, tokens = [s.sum() for s in samples], [list(range(s.size)) for s in samples]
    expected = polygraph_mc_normalized_entropy([sums], [tokens])[0]
    assert sampling.mc_normalized_sequence_entropy(samples) == pytest.approx(expected, rel=1e-12)


def test_semantic_entropy_matches_polygraph_sum_mean():
    sums = [s.sum() for s in SAMPLES]
    expected = polygraph_semantic_entropy(sums, *_classes(CLUSTERS))
    assert sampling.semantic_entropy(SAMPLES, CLUSTERS) == pytest.approx(expected, rel=1e-12)


def test_discrete_semantic_entropy_matches_polygraph_frequency_and_farquhar():
    ids = np.array([0, 1, 0, 2, 0])
    expected = polygraph_semantic_entropy(None, *_classes(ids), frequency=True)
    p = np.bincount(ids) / ids.size  # Farquhar et al.'s cluster_assignment_entropy
    assert sampling.discrete_semantic_entropy(ids) == pytest.approx(expected, rel=1e-12) == pytest.approx(-(p * np.log(p)).sum(), rel=1e-12)


def test_semantic_entropy_normalized_matches_farquhar_code():
    """jlko/semantic_uncertainty: mean token log-lik, logsumexp_by_id(agg='sum_normalized'), predictive_entropy_rao."""
    log_liks_agg = [np.mean(s) for s in SAMPLES]
    per_id = []
    for uid in sorted(set(CLUSTERS.tolist())):
        id_ll = [log_liks_agg[i] for i in range(len(CLUSTERS)) if CLUSTERS[i] == uid]
        log_lik_norm = id_ll - np.log(np.sum(np.exp(log_liks_agg)))
        per_id.append(np.log(np.sum(np.exp(log_lik_norm))))
    expected = -np.sum(np.exp(per_id) * np.array(per_id))
    assert sampling.semantic_entropy_normalized(SAMPLES, CLUSTERS) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_num_semantic_sets_matches_polygraph_on_entailment_matrices(seed):
    rng = np.random.default_rng(seed)
    entail, contra = rng.uniform(size=(2, 7, 7))
    ids = sampling.connected_components((entail > contra) & (entail > contra).T)
    assert sampling.num_semantic_sets(ids) == polygraph_num_sem_sets(entail, contra)


# --- graph: eig_val_laplacian.py, deg_mat.py, eccentricity.py (NLI_score path: W symmetrised)


def _polygraph_laplacian(w):
    w = (w + np.transpose(w)) / 2
    d = np.diag(w.sum(axis=1))
    d_inverse_sqrt = np.linalg.inv(np.sqrt(d))
    return w, d, np.eye(d.shape[0]) - d_inverse_sqrt @ w @ d_inverse_sqrt


def polygraph_eig_val_laplacian(w):
    _, _, lap = _polygraph_laplacian(w)
    return sum([max(0, 1 - lambda_k) for lambda_k in eigh(lap, eigvals_only=True)])


def polygraph_deg_mat(w):
    w, d, _ = _polygraph_laplacian(w)
    return np.trace(len(w) - d) / (len(w) ** 2)


def polygraph_eccentricity(w, thres=0.9):
    _, _, lap = _polygraph_laplacian(w)
    eigenvalues, eigenvectors = eigh(lap)
    keep_mask = eigenvalues < thres
    smallest_eigenvectors = eigenvectors[:, keep_mask].T
    c_ecc_s_j = (-1) * np.asarray([np.linalg.norm(x - x.mean(0), 2) for x in smallest_eigenvectors])
    return np.linalg.norm(c_ecc_s_j, 2)


def _similarities():
    rng = np.random.default_rng(3)
    block = np.kron(np.eye(2), np.ones((3, 3))) * 0.9 + 0.05  # two meanings, three samples each
    noisy = np.clip(block + rng.normal(scale=0.05, size=block.shape), 0, 1)  # not symmetric
    np.fill_diagonal(noisy, 1.0)
    return [rng.uniform(size=(5, 5)), noisy, np.eye(4)]


@pytest.mark.parametrize("case", range(3))
def test_graph_signals_match_polygraph(case):
    w = _similarities()[case]
    assert graph.eig_val_laplacian(w) == pytest.approx(polygraph_eig_val_laplacian(w), rel=1e-9, abs=1e-12)
    assert graph.degree(w) == pytest.approx(polygraph_deg_mat(w), rel=1e-12, abs=1e-15)
    assert graph.eccentricity(w) == pytest.approx(polygraph_eccentricity(w), rel=1e-9, abs=1e-12)
