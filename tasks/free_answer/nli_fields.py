"""The NLI fields of free-answer rows: the samples clustered by bidirectional entailment, and their NLI matrices.

With ``--nli-model`` a run asks an NLI model, once per batch of questions,
about every ordered pair of each question's distinct sampled answers
(self-pairs included, as LM-Polygraph's SemanticMatrixCalculator does), and
stores per question (floats rounded to :data:`~.signal_inputs.DIGITS`):

* ``sample_clusters_nli`` ``(N,)``: Kuhn et al. (2023)'s Algorithm 1 on the
  model's most probable class (:func:`calibkit.stats.signals.nli.bidirectional_entailment_clusters`);
  two identical answers are one meaning without asking the model (Kuhn et al.'s code);
* ``sample_nli_entail`` / ``sample_nli_contra`` ``N x N``: P(answer i entails /
  contradicts answer j), i the premise, for the graph signals and NumSemSets.

What the model reads (``nli_input``): ``"question_answer"`` (the default)
is ``f"{question} {answer}"`` for both texts, as Kuhn et al. (2023) and
Farquhar et al. (2024)'s code (``condition_on_question=True``);
``"answer"`` is the answer alone, as LM-Polygraph. The answers are the
cleaned ones the matcher reads (Kuhn et al.'s ``cleaned_generated_texts``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from calibkit.stats.signals.nli import CONTRADICTION, ENTAILMENT, bidirectional_entailment_clusters, entailment_table

from .signal_inputs import DIGITS

if TYPE_CHECKING:
    from calibkit.engine.nli import NLIModel

#: what the NLI model reads of each answer: the question and the answer (the papers' protocol) or the answer alone
NLI_INPUTS = ("question_answer", "answer")
#: the row fields :func:`nli_fields` writes
NLI_FIELDS = ("sample_clusters_nli", "sample_nli_entail", "sample_nli_contra")


def nli_text(question: str, answer: str, *, nli_input: str = "question_answer") -> str:
    """The text the NLI model reads for one answer.

    >>> nli_text("Capital of France?", "Paris"), nli_text("Capital of France?", "Paris", nli_input="answer")
    ('Capital of France? Paris', 'Paris')
    """
    if nli_input not in NLI_INPUTS:
        raise ValueError(f"nli_input must be one of {', '.join(NLI_INPUTS)}; got {nli_input!r}")
    return f"{question} {answer}" if nli_input == "question_answer" else answer


def distinct(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in order of first appearance and ``(N,)`` the index of each text among them."""
    first: dict[str, int] = {}
    inverse = np.array([first.setdefault(t, len(first)) for t in texts], dtype=np.int64)
    return list(first), inverse


def question_fields(probs: np.ndarray, inverse: np.ndarray) -> dict[str, Any]:
    """One question's NLI fields from ``(U, U, 3)`` probabilities over its U distinct texts and ``(N,)`` inverse."""
    if inverse.size == 0:
        return {field: [] for field in NLI_FIELDS}
    entails = entailment_table(probs)
    np.fill_diagonal(entails, True)  # an answer means what it means, whatever the model says of the self-pair
    full = probs[inverse][:, inverse]  # (N, N, 3): sample i against sample j
    return {
        "sample_clusters_nli": bidirectional_entailment_clusters(entails[inverse][:, inverse]).tolist(),
        "sample_nli_entail": np.round(full[..., ENTAILMENT], DIGITS).tolist(),
        "sample_nli_contra": np.round(full[..., CONTRADICTION], DIGITS).tolist(),
    }


def nli_fields(nli: NLIModel, questions: Sequence[str], answers_per_question: Sequence[Sequence[str]], *,
               nli_input: str = "question_answer") -> list[dict[str, Any]]:
    """Each question's NLI row fields (:data:`NLI_FIELDS`), from one batched NLI pass over all their pairs.

    ``questions``: the question texts; ``answers_per_question``: each
    question's N cleaned sampled answers (N may be 0: empty fields).
    """
    from calibkit.engine.nli import nli_probabilities

    if len(questions) != len(answers_per_question):
        raise ValueError(f"{len(questions)} questions but {len(answers_per_question)} answer lists")
    groups = [distinct([nli_text(q, a, nli_input=nli_input) for a in answers])
              for q, answers in zip(questions, answers_per_question)]
    pairs = [(a, b) for texts, _ in groups for a in texts for b in texts]
    probs = nli_probabilities(nli, [a for a, _ in pairs], [b for _, b in pairs])
    out, start = [], 0
    for texts, inverse in groups:
        u = len(texts)
        out.append(question_fields(probs[start:start + u * u].reshape(u, u, 3), inverse))
        start += u * u
    return out
