"""calibkit's free-answer signals against LM-Polygraph 0.7.0's estimators, on identical arrays.

Runs only in a bench venv that has lm-polygraph (calibkit must not depend on
it); calibkit's signals are pure numpy, imported from this checkout::

    python -m venv /work/polygraph-venv
    /work/polygraph-venv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    /work/polygraph-venv/bin/pip install lm-polygraph==0.7.0
    /work/polygraph-venv/bin/python bench/signals_vs_polygraph.py --items 200 --samples 10

The arrays are synthetic and seeded, shaped like a free-answer run (greedy
answer of 1-12 tokens from 64-way next-token distributions, N samples in 1-4
meanings, NLI-like entailment/contradiction matrices, texts with inflected
words so the stemmer matters). Two comparisons per signal:

- *same arrays*: both tools read the answer's tokens only; the values must
  agree to float round-off after each documented mapping (sign, exp);
- *polygraph convention*: LM-Polygraph reads its own arrays, the
  terminator token appended; reported as the largest difference and the
  Spearman correlation, to show what that convention moves.

Estimator-level CPU seconds of each tool for the same items are printed too
(the model's forward passes, which dominate a real run, are not included).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibkit.stats.signals import graph, lexical, likelihood, sampling  # noqa: E402

ANSWERS = [  # meanings, each with surface forms that differ in words and inflection
    ["Paris", "paris, France", "The city of Paris", "Paris is the answer"],
    ["running water", "runs of water", "water running"],
    ["George Washington", "Washington", "president George Washington"],
    ["1945", "in 1945", "the year 1945"],
    ["the cats", "a cat", "cats"],
]


def _token_arrays(rng, length):
    """Greedy tokens' log-probs and entropies from random 64-way next-token distributions."""
    logits = rng.normal(size=(length, 64)) * rng.uniform(0.5, 4.0)
    log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    return log_p.max(axis=1), -(np.exp(log_p) * log_p).sum(axis=1)


def make_item(rng, n_samples):
    """One item's arrays in calibkit's form (terminator excluded) and the terminator's values."""
    lp, ent = _token_arrays(rng, int(rng.integers(1, 13)))
    term_lp, term_ent = _token_arrays(rng, 1)
    ulp = np.log(rng.uniform(0.01, 1.0, size=lp.size))
    n_meanings = int(rng.integers(1, 5))
    meanings = rng.choice(len(ANSWERS), size=n_meanings, replace=False)
    weights = rng.dirichlet(np.ones(n_meanings))
    meaning = meanings[rng.choice(n_meanings, size=n_samples, p=weights)]
    texts = [ANSWERS[m][rng.integers(len(ANSWERS[m]))] for m in meaning]
    samples = [np.log(rng.uniform(0.05, 1.0, size=int(rng.integers(1, 9)))) for _ in range(n_samples)]
    same = meaning[:, None] == meaning[None, :]
    entail = np.where(same, rng.uniform(0.6, 1.0, size=same.shape), rng.uniform(0.0, 0.4, size=same.shape))
    contra = np.where(same, rng.uniform(0.0, 0.3, size=same.shape), rng.uniform(0.2, 0.9, size=same.shape))
    np.fill_diagonal(entail, 1.0)
    np.fill_diagonal(contra, 0.0)
    cluster_ids = np.unique(meaning, return_inverse=True)[1]
    return dict(lp=lp, ent=ent, ulp=ulp, term_lp=term_lp[0], term_ent=term_ent[0], term_sample=np.log(rng.uniform(0.3, 1.0, size=n_samples)),
                texts=texts, samples=samples, entail=entail, contra=contra, cluster_ids=cluster_ids)


def polygraph_stats(items, *, terminator):
    """LM-Polygraph's stats dict for the batch; ``terminator`` appends the terminator token as it does."""
    def tok(item, key, term_key):
        return list(np.append(item[key], item[term_key])) if terminator else list(item[key])

    samples = [[np.append(s, t) if terminator else s for s, t in zip(it["samples"], it["term_sample"])] for it in items]
    classes = {"class_to_sample": {}, "sample_to_class": {}}
    for b, it in enumerate(items):
        ids = it["cluster_ids"]
        classes["class_to_sample"][b] = [list(np.flatnonzero(ids == c)) for c in range(ids.max() + 1)]
        classes["sample_to_class"][b] = {j: int(c) for j, c in enumerate(ids)}
    return {
        "greedy_log_likelihoods": [tok(it, "lp", "term_lp") for it in items],
        "entropy": [tok(it, "ent", "term_ent") for it in items],
        # LM-Polygraph zeroes the first token's unconditional term; the terminator's is drawn like the others
        "greedy_lm_log_likelihoods": [list(np.append(it["ulp"], np.log(0.5))) if terminator else list(it["ulp"]) for it in items],
        "sample_log_probs": [[float(s.sum()) for s in ss] for ss in samples],
        "sample_tokens": [[list(range(s.size)) for s in ss] for ss in samples],
        "sample_texts": [it["texts"] for it in items],
        "semantic_matrix_entail": np.stack([it["entail"] for it in items]),
        "semantic_matrix_contra": np.stack([it["contra"] for it in items]),
        "semantic_classes_entail": classes,
    }


def polygraph_rows():
    """(name, estimator, mapping of its output to calibkit's convention); one estimator object each."""
    from lm_polygraph import estimators as E

    neg = np.negative
    return [
        ("max_sequence_probability", E.MaximumSequenceProbability(), lambda v: np.exp(-v)),
        ("mean_nll", E.Perplexity(), lambda v: v),
        ("perplexity", E.Perplexity(), np.exp),
        ("mean_token_entropy", E.MeanTokenEntropy(), lambda v: v),
        ("max_token_probability", E.MaximumTokenProbability(), None),
        ("mean_pmi", E.MeanPointwiseMutualInformation(), neg),
        ("mc_sequence_entropy", E.MonteCarloSequenceEntropy(), lambda v: v),
        ("mc_normalized_sequence_entropy", E.MonteCarloNormalizedSequenceEntropy(), lambda v: v),
        ("lexical_similarity (Porter stem)", E.LexicalSimilarity("rougeL"), neg),
        ("num_semantic_sets", E.NumSemSets(), lambda v: v),
        ("semantic_entropy", E.SemanticEntropy(), lambda v: v),
        ("discrete_semantic_entropy", E.SemanticEntropy(class_probability_estimation="frequency"), lambda v: v),
        ("eig_val_laplacian (NLI entail)", E.EigValLaplacian(), lambda v: v),
        ("degree (NLI entail)", E.DegMat(), lambda v: v),
        ("eccentricity (NLI entail)", E.Eccentricity(), lambda v: v),
        ("eig_val_laplacian (Jaccard)", E.EigValLaplacian(similarity_score="Jaccard_score"), lambda v: v),
        ("degree (Jaccard)", E.DegMat(similarity_score="Jaccard_score"), lambda v: v),
        ("eccentricity (Jaccard)", E.Eccentricity(similarity_score="Jaccard_score"), lambda v: v),
    ]


def run_polygraph(rows, stats, terminated):
    """Each estimator's values in calibkit's convention, and the CPU seconds they took."""
    out, start = {}, time.process_time()
    for name, estimator, mapping in rows:
        if mapping is None:  # token-level, drops the last token: always given the terminated arrays
            raw = estimator(terminated)
            out[name] = np.array([np.exp(-np.max(r)) for r in raw])  # reduced by its worst token
        else:
            out[name] = mapping(np.asarray(estimator(stats), dtype=np.float64))
    return out, time.process_time() - start


def calibkit_values(items, stem):
    """calibkit's value of every compared signal for every item, and the CPU seconds they took."""
    fns = {
        "max_sequence_probability": lambda it: likelihood.max_sequence_probability(it["lp"]),
        "mean_nll": lambda it: likelihood.mean_nll(it["lp"]),
        "perplexity": lambda it: likelihood.perplexity(it["lp"]),
        "mean_token_entropy": lambda it: likelihood.mean_token_entropy(it["ent"]),
        "max_token_probability": lambda it: likelihood.max_token_probability(it["lp"]),
        "mean_pmi": lambda it: likelihood.mean_pmi(it["lp"], np.concatenate([[0.0], it["ulp"][1:]])),
        "mc_sequence_entropy": lambda it: sampling.mc_sequence_entropy(it["samples"]),
        "mc_normalized_sequence_entropy": lambda it: sampling.mc_normalized_sequence_entropy(it["samples"]),
        "lexical_similarity (Porter stem)": lambda it: lexical.lexical_similarity(it["texts"], stem=stem),
        "num_semantic_sets": lambda it: sampling.num_semantic_sets(
            sampling.connected_components((it["entail"] > it["contra"]) & (it["entail"] > it["contra"]).T)),
        "semantic_entropy": lambda it: sampling.semantic_entropy(it["samples"], it["cluster_ids"]),
        "discrete_semantic_entropy": lambda it: sampling.discrete_semantic_entropy(it["cluster_ids"]),
        "eig_val_laplacian (NLI entail)": lambda it: graph.eig_val_laplacian(it["entail"]),
        "degree (NLI entail)": lambda it: graph.degree(it["entail"]),
        "eccentricity (NLI entail)": lambda it: graph.eccentricity(it["entail"]),
        "eig_val_laplacian (Jaccard)": lambda it: graph.eig_val_laplacian(lexical.jaccard_matrix(it["texts"])),
        "degree (Jaccard)": lambda it: graph.degree(lexical.jaccard_matrix(it["texts"])),
        "eccentricity (Jaccard)": lambda it: graph.eccentricity(lexical.jaccard_matrix(it["texts"])),
    }
    start = time.process_time()
    out = {name: np.array([f(it) for it in items]) for name, f in fns.items()}
    return out, time.process_time() - start


def report(mine, same, theirs_own, items, stem):
    print("| signal | max abs diff, same arrays | max rel diff | polygraph's own arrays (terminator): max abs diff | Spearman |")
    print("| --- | --- | --- | --- | --- |")
    for name, value in mine.items():
        diff = np.abs(value - same[name])
        rel = diff / np.maximum(np.abs(same[name]), 1e-300)
        own = np.abs(value - theirs_own[name])
        # a rank correlation of values equal to round-off only measures how ties break: left out
        rho = f"{spearmanr(value, theirs_own[name]).statistic:.4f}" if own.max() > 1e-9 else "(same)"
        print(f"| {name} | {diff.max():.2e} | {rel.max():.2e} | {own.max():.3g} | {rho} |")
    plain = np.array([lexical.lexical_similarity(it["texts"]) for it in items])
    stemmed = np.array([lexical.lexical_similarity(it["texts"], stem=stem) for it in items])
    print(f"\nlexical_similarity without the stemmer (calibkit's default) vs with it: max abs diff "
          f"{np.abs(plain - stemmed).max():.3g} on {int((plain != stemmed).sum())} of {len(items)} items")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from importlib.metadata import version as installed  # lm-polygraph has no __version__

    from nltk.stem import porter

    version = installed("lm-polygraph")  # fails early outside the bench venv

    stem = porter.PorterStemmer().stem
    rng = np.random.default_rng(args.seed)
    items = [make_item(rng, args.samples) for _ in range(args.items)]
    rows = polygraph_rows()
    terminated = polygraph_stats(items, terminator=True)
    same, t_polygraph = run_polygraph(rows, polygraph_stats(items, terminator=False), terminated)
    own, _ = run_polygraph(rows, terminated, terminated)
    mine, t_calibkit = calibkit_values(items, stem)
    print(f"lm-polygraph {version}; {args.items} items x {args.samples} samples, seed {args.seed}\n")
    report(mine, same, own, items, stem)
    print(f"\nCPU seconds, estimators only, same work: LM-Polygraph {t_polygraph:.2f}, calibkit {t_calibkit:.2f}")


if __name__ == "__main__":
    main()
