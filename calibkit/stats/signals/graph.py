"""Graph signals on a sample-by-sample similarity matrix (Lin, Trivedi & Sun 2023).

The similarity W (entailment probability, ROUGE-L or Jaccard; the caller's
choice) is symmetrised as (W + W^T) / 2; D is its degree matrix and
L = I - D^-1/2 W D^-1/2 its normalised Laplacian. All three return
uncertainty (higher = more uncertain), as in the paper and LM-Polygraph.
"""
from __future__ import annotations

import numpy as np

from .inputs import similarity_array


def _symmetric(similarity: object) -> np.ndarray:
    w = similarity_array(similarity)
    return (w + w.T) / 2


def _laplacian(w: np.ndarray) -> np.ndarray:
    degree = w.sum(axis=1)
    if np.any(degree <= 0):
        raise ValueError("similarity has a sample with zero similarity to every sample (itself included); "
                         "set the diagonal to 1")
    scale = 1.0 / np.sqrt(degree)
    return np.eye(w.shape[0]) - scale[:, None] * w * scale[None, :]


def eig_val_laplacian(similarity: object) -> float:
    """U_EigV = sum_k max(0, 1 - lambda_k) over the eigenvalues of L: a continuous number of semantic sets.

    >>> round(eig_val_laplacian(np.eye(3)), 6)
    3.0
    """
    eigenvalues = np.linalg.eigvalsh(_laplacian(_symmetric(similarity)))
    return float(np.maximum(0.0, 1.0 - eigenvalues).sum())


def degree(similarity: object) -> float:
    """U_Deg = trace(N I - D) / N^2 = 1 - sum(W) / N^2: one minus the mean similarity, diagonal included.

    >>> degree(np.ones((2, 2)))
    0.0
    """
    w = _symmetric(similarity)
    n = w.shape[0]
    return float(np.trace(n * np.eye(n) - np.diag(w.sum(axis=1))) / n**2)


def eccentricity(similarity: object, *, threshold: float = 0.9) -> float:
    """U_Ecc = ||[v_1 - v_mean, ..., v_N - v_mean]||_F over the spectral embeddings v_j of the samples.

    v_j is row j of the eigenvectors of L whose eigenvalues are below
    ``threshold`` (LM-Polygraph's default 0.9; the paper keeps the k smallest).
    The norm is invariant to the sign and rotation of eigenvectors within a
    repeated eigenvalue, so any eigensolver gives the same number.
    """
    eigenvalues, vectors = np.linalg.eigh(_laplacian(_symmetric(similarity)))
    v = vectors[:, eigenvalues < threshold]  # (N, k): row j embeds sample j
    return float(np.linalg.norm(v - v.mean(axis=0, keepdims=True)))
