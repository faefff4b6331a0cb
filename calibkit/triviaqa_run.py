"""TriviaQA free generation and self-evaluation: run, summarize, report, compare, sweep.

One run, per question (Kadavath et al. 2022, sections 4-5):

1. the **greedy** answer to the k-shot context (:mod:`calibkit.tasks.triviaqa`)
   and ``samples`` answers sampled at ``sample_temperature``, decoded in one
   batched pass (:func:`calibkit.engine.generation.generate`);
2. correctness of the greedy answer: **exact match** against the normalised
   aliases is the default rule (the official TriviaQA metric and Kadavath et
   al.'s "string comparison"; it never credits a chatty answer that merely
   contains the alias, nor one that misses part of it); token F1 and alias
   containment are stored and reported beside it
   (:func:`calibkit.answers.match_answer`);
3. confidence signals:

   * ``p_true``: P(" (A)") renormalized over " (A)"/" (B)" in the
     self-evaluation prompt (:func:`calibkit.tasks.triviaqa.ptrue_prompt`),
     read with the scorer. By default it evaluates the first sampled answer
     (Kadavath et al.'s protocol, ``ptrue_answer="sample"``) and is judged
     against that answer's correctness (``proposed_correct_exact``);
     ``ptrue_answer="greedy"`` evaluates the greedy answer. With
     ``brainstorm=k``, k answers are shown first, the evaluated one among
     them (the paper's "brainstorming" variant). Few-shot P(True) shows the
     model's own labelled self-evaluations of other questions first;
   * for the greedy answer, sequence likelihood: total and per-token mean untempered log-prob of
     the greedy answer's tokens; ``seq_prob = exp(mean)`` maps it to [0, 1];
   * ``agreement``: the share of samples whose normalised answer equals the
     greedy one's (:func:`calibkit.answers.sample_agreement`).

Rows are appended to ``results.jsonl`` after every ``batch_questions``
questions, so a crash loses at most the batch in flight, and a rerun of the
same configuration skips the ids already stored.

Contexts too long for the model keep as many leading few-shot examples as
fit (:func:`calibkit.tasks.triviaqa.fit_context`); ``config.json`` records how
many contexts were cut and each row its ``n_shots``. An empty greedy answer
(nothing before the stop string, or only whitespace) is kept, counted wrong
and flagged ``empty_answer``.

Everything after the run (:func:`triviaqa_summary`, the reports, the
comparison and the sweep table) works from disk with numpy and never imports
torch; only :func:`run_triviaqa` and :func:`regenerate_sweep` load a model.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.stats import bootstrap, metrics
from calibkit.stats.multiple_choice import AnalysisError
from calibkit.answers import extract_answer, match_answer, sample_agreement
from calibkit.stats.binning import bin_stats
from calibkit.progress import ProgressBar
from calibkit.records import Turn
from calibkit.draw.page import Report
from calibkit.run_report import frame_records, run_header, run_labels
from calibkit.runs.runner import RunOutcome, RunSettings
from calibkit.runs.store import REPORT_FILE, RunStore
from calibkit.tasks.triviaqa import (
    KADAVATH_LAYOUT, PTrueExample, QALayout, TriviaQuestion, fit_context, ptrue_prompt,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from calibkit.engine.models import LoadedModel

TASK = "triviaqa"
STOP = ("\n", "Q:")  # a base model's answer ends at the line break or where it starts the next block
CORRECTNESS = ("exact", "contains")
#: the probability-valued signals: (row field, label in reports)
PROBABILITY_SIGNALS = {
    "p_true": "P(True)",
    "seq_prob": "sequence likelihood (exp mean token log-prob)",
    "agreement": "sample agreement",
}
#: every signal whose AUROC is reported; seq_logprob is the total log-prob (ranked, not a probability)
SIGNALS = {**PROBABILITY_SIGNALS, "seq_logprob": "sequence log-likelihood (total)"}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class TriviaResult:
    """One question's results: the results.jsonl row of a TriviaQA run."""

    id: str  # the question's stable id
    question: str  # the question text
    aliases: tuple[str, ...]  # accepted answers, raw
    n_shots: int  # few-shot examples in the context actually used
    shots_truncated: bool  # True when fit_context dropped shots to fit the model's window
    n_context_tokens: int  # tokens of the (rendered) generation context
    greedy_raw: str  # greedy continuation up to the stop string
    prediction: str  # the cleaned greedy answer (extract_answer); the gold answers are `aliases`
    empty_answer: bool  # the greedy answer is empty or whitespace: counted wrong
    finish_reason: str  # of the greedy continuation: "stop", "eos" or "length"
    n_answer_tokens: int  # tokens of the greedy continuation kept
    correct_exact: bool  # normalised answer equals a normalised alias (the default rule)
    correct_contains: bool  # a normalised alias occurs as whole tokens in the answer
    f1: float  # token F1, max over aliases, in [0, 1]
    seq_logprob: float | None  # total untempered log-prob of the greedy tokens (nats); None when empty
    seq_logprob_mean: float | None  # per-token mean of it; None when empty
    seq_prob: float | None  # exp(seq_logprob_mean) in (0, 1]; None when empty
    samples: tuple[str, ...]  # cleaned sampled answers, in sample order
    samples_raw: tuple[str, ...]  # sampled continuations up to the stop string
    samples_correct_exact: float | None  # share of samples that are exactly right; None without samples
    agreement: float | None  # share of samples equal to the greedy answer after normalisation; None without samples
    p_true: float  # P(" (A)") renormalized over the two options: the model's P(proposed answer is right)
    p_true_logprobs: tuple[float, float]  # ln P(" (A)"), ln P(" (B)") under the full vocabulary
    p_true_mass: float  # probability the model put on the two option strings together
    brainstormed: tuple[str, ...]  # answers shown in the P(True) prompt before the proposed one (brainstorm variant)
    proposed_from: str = "greedy"  # which answer P(True) evaluates: "s0" (the first sample) or "greedy"
    proposed: str = ""  # that answer, cleaned; "" when empty
    proposed_correct_exact: bool = False  # it matches an alias exactly: the label P(True) is judged against
    proposed_correct_contains: bool = False  # an alias occurs in it
    task: str = TASK  # task name

    def to_json(self) -> dict[str, Any]:
        """The results.jsonl row."""
        row = asdict(self)
        for key in ("aliases", "samples", "samples_raw", "p_true_logprobs", "brainstormed"):
            row[key] = list(row[key])
        return row

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> "TriviaResult":
        """Inverse of :meth:`to_json`."""
        kwargs = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        for key in ("aliases", "samples", "samples_raw", "p_true_logprobs", "brainstormed"):
            kwargs[key] = tuple(kwargs.get(key, ()))
        return cls(**kwargs)


def _result(question: TriviaQuestion, ctx, context_tokens: int, gens, scored, proposal: "Proposal") -> TriviaResult:
    greedy = gens.greedy
    answer = extract_answer(greedy.text)
    match = match_answer(answer, question.aliases)
    proposed_match = match_answer(proposal.proposed, question.aliases)
    sample_answers = tuple(extract_answer(s.text) for s in gens.samples)
    empty = not answer.strip()
    n_tok = len(greedy.token_ids)
    mean = greedy.mean_logprob if n_tok and not empty else None
    probs = scored.probs()
    return TriviaResult(
        id=question.id,
        question=question.question,
        aliases=tuple(question.aliases),
        n_shots=ctx.n_shots,
        shots_truncated=ctx.n_shots < len(question.shots),
        n_context_tokens=context_tokens,
        greedy_raw=greedy.text,
        prediction=answer,
        empty_answer=empty,
        finish_reason=greedy.finish_reason,
        n_answer_tokens=n_tok,
        correct_exact=match.exact,
        correct_contains=match.contains,
        f1=float(match.f1),
        seq_logprob=greedy.total_logprob if mean is not None else None,
        seq_logprob_mean=mean,
        seq_prob=math.exp(mean) if mean is not None else None,
        samples=sample_answers,
        samples_raw=tuple(s.text for s in gens.samples),
        samples_correct_exact=(float(np.mean([match_answer(s, question.aliases).exact for s in sample_answers]))
                               if sample_answers else None),
        agreement=sample_agreement(answer, sample_answers) if sample_answers else None,
        p_true=float(probs[0]),
        p_true_logprobs=(float(scored.logprobs[0]), float(scored.logprobs[1])),
        p_true_mass=float(scored.option_mass),
        brainstormed=proposal.shown,
        proposed_from=proposal.source,
        proposed=proposal.proposed,
        proposed_correct_exact=proposed_match.exact,
        proposed_correct_contains=proposed_match.contains,
    )


PTRUE_ANSWERS = ("sample", "greedy")  # which answer P(True) evaluates; "sample" is Kadavath et al.'s protocol
PTRUE_MIXES = ("accuracy", "balanced")  # how few-shot P(True) examples are picked


@dataclass(frozen=True)
class Proposal:
    """The answer a P(True) prompt evaluates, and the answers it shows first."""

    source: str  # "s0" (the first sample) or "greedy"
    proposed: str  # the evaluated answer, cleaned
    shown: tuple[str, ...]  # brainstormed answers the prompt shows; `proposed` is one of them when any are shown


def ptrue_proposal(greedy: str, samples: Sequence[str], *, answer: str, brainstorm: int) -> Proposal:
    """Which answer P(True) evaluates, per Kadavath et al. (2022), sections 4.1-4.2.

    ``answer="sample"`` (the paper's protocol): the evaluated answer is the
    first sample, drawn at the run's sampling temperature (T = 1 by
    default), and the brainstormed answers are the first ``brainstorm``
    samples, so it is one of them. ``answer="greedy"``: the greedy answer,
    shown first among the brainstormed ones followed by ``brainstorm - 1``
    samples. Pass cleaned answers.

    Example:
        >>> ptrue_proposal("Paris", ["Lyon", "Paris", "Nice"], answer="sample", brainstorm=2)
        Proposal(source='s0', proposed='Lyon', shown=('Lyon', 'Paris'))
        >>> ptrue_proposal("Paris", ["Lyon", "Paris", "Nice"], answer="greedy", brainstorm=2).shown
        ('Paris', 'Lyon')
    """
    if answer not in PTRUE_ANSWERS:
        raise ValueError(f"ptrue_answer must be one of {', '.join(PTRUE_ANSWERS)}; got {answer!r}")
    if answer == "sample":
        if not samples:
            raise ValueError("ptrue_answer='sample' evaluates a sampled answer; it needs samples >= 1")
        return Proposal("s0", samples[0], tuple(samples[:brainstorm]))
    return Proposal("greedy", greedy, (greedy, *samples[: brainstorm - 1]) if brainstorm else ())


# --------------------------------------------------------------------------- running


def run_triviaqa(
    questions: Sequence[TriviaQuestion],
    task_config: Mapping[str, Any],
    settings: RunSettings,
    *,
    samples: int = 10,
    sample_temperature: float = 1.0,
    top_p: float = 1.0,
    brainstorm: int = 0,
    ptrue_answer: str = "sample",
    ptrue_shots: int = 0,
    ptrue_mix: str = "accuracy",
    max_new_tokens: int = 32,
    seed: int = 0,
    layout: QALayout = KADAVATH_LAYOUT,
    batch_questions: int = 8,
    loaded: "LoadedModel | None" = None,
    on_store: Callable[[RunStore], None] | None = None,
) -> RunOutcome:
    """Generate, check and self-evaluate TriviaQA answers into a run folder (resumable).

    Args:
        questions: loaded questions (``tasks.triviaqa.load``), their shots drawn.
        task_config: the task's own settings for config.json (split, config,
            shots, limit, data source...).
        settings: model and engine settings (run folder, chat template...).
        samples: sampled answers per question (0 disables the agreement signal).
        sample_temperature: their temperature (> 0); the greedy answer does
            not depend on it.
        top_p: nucleus sampling for the samples, in (0, 1]; 1 keeps the
            whole vocabulary (plain sampling at the temperature).
        brainstorm: how many answers the P(True) prompt shows before the
            proposed one (0: the basic prompt; at most ``samples``).
        ptrue_answer: the answer P(True) evaluates: ``"sample"`` (the first
            sample, one of the brainstormed ones; Kadavath et al.'s protocol)
            or ``"greedy"``; see :func:`ptrue_proposal`.
        ptrue_shots: solved self-evaluations shown before each P(True)
            prompt (few-shot P(True)); 0 for zero-shot. The examples are the
            model's own proposed answers (and, with ``brainstorm``, their
            brainstormed ones) to other questions of the run, labelled
            True/False by exact match (see :func:`ptrue_example_pool`);
            config.json records them (``ptrue_pool``), and a resumed run
            reuses the recorded ones.
        ptrue_mix: ``"accuracy"`` draws the examples at random (seeded), so
            their share of True labels follows the model's accuracy;
            ``"balanced"`` alternates True and False as long as both last.
        max_new_tokens: bound on each answer's tokens.
        seed: sampling seed (each question's samples depend only on it and
            on the question's context).
        layout: few-shot block layout (Kadavath's ``Question:/Answer:`` by default).
        batch_questions: questions generated, scored and stored together; a
            crash loses at most this many.
        loaded: an already loaded model (else ``settings.model`` is loaded).
        on_store: called with the store as soon as it is open.

    Returns:
        :class:`calibkit.runs.runner.RunOutcome`; rows are in ``outcome.store``.
    """
    from calibkit.engine.generation import GenerationConfig, encode_context, generate
    from calibkit.engine.models import load_model, render_chat
    from calibkit.runs.runner import model_config, open_store, use_chat
    from calibkit.engine.scoring import ScoreConfig, score

    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise ValueError(f"samples must be a non-negative int; got {samples!r}")
    if isinstance(brainstorm, bool) or not isinstance(brainstorm, int) or not 0 <= brainstorm <= samples:
        raise ValueError(f"brainstorm must be an int in [0, samples={samples}]; got {brainstorm!r}")
    if ptrue_answer not in PTRUE_ANSWERS:
        raise ValueError(f"ptrue_answer must be one of {', '.join(PTRUE_ANSWERS)}; got {ptrue_answer!r}")
    if ptrue_answer == "sample" and samples < 1:
        raise ValueError("ptrue_answer='sample' evaluates a sampled answer: use samples >= 1, "
                         "or ptrue_answer='greedy'")
    if ptrue_mix not in PTRUE_MIXES:
        raise ValueError(f"ptrue_mix must be one of {', '.join(PTRUE_MIXES)}; got {ptrue_mix!r}")
    if isinstance(ptrue_shots, bool) or not isinstance(ptrue_shots, int) or not 0 <= ptrue_shots < len(questions):
        raise ValueError(f"ptrue_shots must be an int in [0, {len(questions)}) (fewer than the questions); "
                         f"got {ptrue_shots!r}")
    if isinstance(batch_questions, bool) or not isinstance(batch_questions, int) or batch_questions < 1:
        raise ValueError(f"batch_questions must be a positive int; got {batch_questions!r}")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise ValueError("questions repeat ids; each question must appear once")
    gen_config = GenerationConfig(
        max_new_tokens=max_new_tokens, greedy=True, samples=samples, temperature=sample_temperature,
        top_p=top_p, stop=STOP, seed=seed, progress=False,
        **({"token_budget": settings.token_budget} if settings.token_budget else {}),
    )

    loaded = loaded or load_model(settings.model, options=settings.load)
    chat = use_chat(loaded, settings.chat_template)
    tok = loaded.tokenizer

    def render(content_or_text: str) -> str:
        if not chat:
            return content_or_text
        return render_chat(tok, (Turn("user", content_or_text),), system_prompt=settings.system_prompt)

    window = loaded.max_length - max_new_tokens
    contexts = {
        q.id: fit_context(q, max_tokens=window, count_tokens=lambda s: len(encode_context(tok, render(s))),
                          chat=chat, layout=layout)
        for q in questions
    }
    truncated = [q.id for q in questions if contexts[q.id].n_shots < len(q.shots)]

    def context_texts(qs: Sequence[TriviaQuestion]) -> list[str]:
        ctxs = [contexts[q.id] for q in qs]
        return [render(c.turns[0].content) + c.assistant_prefix if chat else c.text for c in ctxs]

    config = {
        "task": TASK,
        **task_config,
        **model_config(loaded, settings, chat),
        "layout": layout.name,
        "samples": samples,
        "sample_temperature": float(sample_temperature),
        "top_p": float(top_p),
        "max_new_tokens": max_new_tokens,
        "stop": list(STOP),
        "sampling_seed": seed,
        "brainstorm": brainstorm,
        "ptrue_variant": "brainstorm" if brainstorm else "basic",
        "ptrue_answer": ptrue_answer,
        "ptrue_examples": ptrue_shots,
        "ptrue_example_mix": ptrue_mix,
        "correctness": "exact",
        "context_window": loaded.max_length,
        "contexts_truncated": len(truncated),
        "truncated_ids": truncated,
    }
    store = open_store(TASK, loaded.resolved.slug, config, settings)
    if on_store is not None:
        on_store(store)
    def propose(gens) -> Proposal:
        return ptrue_proposal(extract_answer(gens.greedy.text), [extract_answer(x.text) for x in gens.samples],
                              answer=ptrue_answer, brainstorm=brainstorm)

    # The examples are found once per run and recorded before any row is
    # written; a resumed run reuses them (float noise elsewhere could differ).
    if ptrue_shots and "ptrue_pool" not in store.config:
        candidates = _pool_candidates(questions, ptrue_shots, seed=seed)
        outs = generate(loaded, context_texts(candidates), config=gen_config)
        found = ptrue_example_pool(candidates, [propose(o) for o in outs], size=ptrue_shots + 1,
                                   mix=ptrue_mix, seed=seed)
        store.record({
            "ptrue_pool": [{"id": qid, "question": e.question, "proposed": e.proposed,
                            "brainstormed": list(e.brainstormed), "correct": e.correct} for qid, e in found],
            "ptrue_examples_true": sum(e.correct for _, e in found),
        })
    pool = [(r["id"], PTrueExample(question=r["question"], proposed=r["proposed"], correct=r["correct"],
                                   brainstormed=tuple(r.get("brainstormed", ()))))
            for r in store.config.get("ptrue_pool", [])]
    done = store.completed_ids()
    todo = [q for q in questions if q.id not in done]
    score_config = ScoreConfig(
        chat=chat, system_prompt=settings.system_prompt, token_budget=settings.token_budget,
        prefix_caching=settings.prefix_caching, progress=False,
    )
    bar = ProgressBar(len(todo), enabled=settings.progress, unit="question", desc="triviaqa")
    try:
        for start in range(0, len(todo), batch_questions):
            chunk = todo[start: start + batch_questions]
            ctxs = [contexts[q.id] for q in chunk]
            outs = generate(loaded, context_texts(chunk), config=gen_config)
            proposals = [propose(o) for o in outs]
            prompts = [
                ptrue_prompt(q, p.proposed, brainstormed=p.shown, sample=p.source,
                             examples=[e for qid, e in pool if qid != q.id][:ptrue_shots])
                for q, p in zip(chunk, proposals)
            ]
            scored = score(loaded, prompts, config=score_config)
            rows = [
                _result(q, c, o.n_context_tokens, o, s, p).to_json()
                for q, c, o, s, p in zip(chunk, ctxs, outs, scored, proposals)
            ]
            store.append(rows)
            bar.update(len(chunk))
    finally:
        bar.close()
    return RunOutcome(store=store, n_total=len(questions), n_scored_now=len(todo))


def _pool_candidates(questions: Sequence[TriviaQuestion], k: int, *, seed: int) -> list[TriviaQuestion]:
    """A seeded draw of up to 4k + 1 questions whose greedy answers may become P(True) examples."""
    rng = np.random.default_rng([seed, 7919])  # its own stream: the few-shot draw uses the seed as well
    n = min(len(questions), 4 * k + 1)
    return [questions[i] for i in sorted(rng.choice(len(questions), size=n, replace=False))]


def ptrue_example_pool(
    candidates: Sequence[TriviaQuestion], proposals: Sequence[Proposal], *, size: int,
    mix: str = "accuracy", seed: int = 0,
) -> list[tuple[str, PTrueExample]]:
    """Labelled self-evaluations for few-shot P(True): ``size`` (question id, example) pairs.

    Each candidate's proposed answer (with the answers its prompt would show
    first, see :func:`ptrue_proposal`) is labelled by exact match against
    its aliases; empty answers are left out. ``mix="accuracy"`` takes the
    first ``size`` in a seeded random order, so the share of True examples
    follows the model's own accuracy (few-shot examples that are half True
    plant a 50% prior); ``mix="balanced"`` alternates True and False,
    starting with True, for as long as both kinds last. config.json records
    how many are True. A question's own example is left out of its prompt,
    hence ``size`` = shots + 1.

    Example:
        >>> qs = [TriviaQuestion(id=f"t/{i}", question=f"Q{i}?", aliases=(f"a{i}",)) for i in range(4)]
        >>> props = [Proposal("s0", a, ()) for a in ["a0", "nope", "x", "a3"]]
        >>> pool = ptrue_example_pool(qs, props, size=3, mix="balanced")
        >>> [(qid, e.proposed, e.correct) for qid, e in pool]
        [('t/0', 'a0', True), ('t/1', 'nope', False), ('t/3', 'a3', True)]
    """
    if mix not in PTRUE_MIXES:
        raise ValueError(f"mix must be one of {', '.join(PTRUE_MIXES)}; got {mix!r}")
    labelled = [
        (q.id, PTrueExample(question=q.question, proposed=p.proposed, brainstormed=p.shown,
                            correct=match_answer(p.proposed, q.aliases).exact))
        for q, p in zip(candidates, proposals, strict=True)
        if p.proposed.strip()
    ]
    if mix == "accuracy":
        order = np.random.default_rng([seed, 104729]).permutation(len(labelled))
        return [labelled[i] for i in order[:size]]
    right = [x for x in labelled if x[1].correct]
    wrong = [x for x in labelled if not x[1].correct]
    out = []
    while len(out) < size and (right or wrong):
        for kind in (right, wrong):
            if kind and len(out) < size:
                out.append(kind.pop(0))
    return out


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class SignalArrays:
    """A run's rows as aligned arrays, sorted by id; row i is ``ids[i]``."""

    ids: tuple[str, ...]  # question ids, (n,)
    correct: np.ndarray  # (n,) bool: the greedy answer is right under the chosen rule
    correct_exact: np.ndarray  # (n,) bool
    correct_contains: np.ndarray  # (n,) bool
    f1: np.ndarray  # (n,) token F1 in [0, 1]
    empty: np.ndarray  # (n,) bool: empty greedy answer
    proposed_correct: np.ndarray  # (n,) bool: the answer P(True) evaluated is right under the chosen rule
    signals: Mapping[str, np.ndarray] = field(default_factory=dict)  # name -> (n,) confidence in [0, 1]; see signal_arrays

    def target(self, signal: str) -> np.ndarray:
        """(n,) bool: what a signal is a confidence in (P(True): its proposed answer; others: the greedy one)."""
        return self.proposed_correct if signal == "p_true" else self.correct


def _rank01(x: np.ndarray) -> np.ndarray:
    """Dense ranks scaled to [0, 1]: same order and ties, so the same AUROC."""
    values, inverse = np.unique(x, return_inverse=True)
    return inverse.astype(np.float64) / max(1, values.size - 1)


def _proposed_correct(row: Mapping[str, Any], rule: str) -> bool:
    # Rows written before the proposed answer was recorded evaluated the greedy one.
    return bool(row.get(f"proposed_correct_{rule}", row[f"correct_{rule}"]))


def signal_arrays(rows: Sequence[Mapping[str, Any]], *, correct_by: str = "exact") -> SignalArrays:
    """Correctness and confidence arrays of TriviaQA rows, sorted by id.

    Signals (each ``(n,)`` in [0, 1]; judge each against :meth:`SignalArrays.target`):

    * ``p_true``: as stored, a confidence in the proposed answer
      (``proposed_correct``);
    * ``seq_prob``, ``agreement``: as stored, confidences in the greedy
      answer; an empty greedy answer has no tokens, so its ``seq_prob`` is
      taken as 0 (no claim). ``agreement`` is present only when every row
      has samples.
    * ``seq_logprob``: the total log-likelihood, turned into dense ranks in
      [0, 1] (an empty answer ranks lowest). Only its AUROC is meaningful.

    Raises:
        ValueError: no rows, or an unknown ``correct_by``.

    Example:
        >>> a = signal_arrays([{"id": "b", "correct_exact": True, "correct_contains": True, "f1": 1.0,
        ...     "empty_answer": False, "p_true": 0.9, "seq_prob": 0.5, "seq_logprob": -1.0, "agreement": 1.0},
        ...    {"id": "a", "correct_exact": False, "correct_contains": True, "f1": 0.5, "empty_answer": False,
        ...     "p_true": 0.2, "seq_prob": 0.1, "seq_logprob": -4.0, "agreement": 0.3}])
        >>> a.ids, a.correct.tolist(), a.signals["seq_logprob"].tolist()
        (('a', 'b'), [False, True], [0.0, 1.0])
    """
    if correct_by not in CORRECTNESS:
        raise ValueError(f"correct_by must be one of {', '.join(CORRECTNESS)}; got {correct_by!r}")
    if not rows:
        raise AnalysisError("the run has no results yet; run it (rerunning its command resumes) before reporting")
    rows = sorted(rows, key=lambda r: r["id"])
    empty = np.array([bool(r.get("empty_answer", False)) for r in rows])
    signals: dict[str, np.ndarray] = {
        "p_true": np.array([float(r["p_true"]) for r in rows]),
        "seq_prob": np.array([0.0 if r.get("seq_prob") is None else float(r["seq_prob"]) for r in rows]),
    }
    if all(r.get("agreement") is not None for r in rows):
        signals["agreement"] = np.array([float(r["agreement"]) for r in rows])
    total = np.array([-np.inf if r.get("seq_logprob") is None else float(r["seq_logprob"]) for r in rows])
    signals["seq_logprob"] = _rank01(total)
    exact = np.array([bool(r["correct_exact"]) for r in rows])
    contains = np.array([bool(r["correct_contains"]) for r in rows])
    return SignalArrays(
        ids=tuple(r["id"] for r in rows),
        correct=exact if correct_by == "exact" else contains,
        correct_exact=exact,
        correct_contains=contains,
        f1=np.array([float(r["f1"]) for r in rows]),
        empty=empty,
        proposed_correct=np.array([_proposed_correct(r, correct_by) for r in rows]),
        signals=signals,
    )


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x))


def _brier(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Binary Brier score of a confidence for correctness: mean (c - y)^2, in [0, 1]."""
    return float(np.mean((confidence - correct) ** 2))


def _nan_interval(level: float = 0.95) -> bootstrap.Interval:
    return bootstrap.Interval(math.nan, math.nan, math.nan, level, 0)


def signal_intervals(
    confidence: np.ndarray, correct: np.ndarray, *, probability: bool, n_bins: int = 10,
    n_resamples: int = 1000, seed: int = 0,
) -> dict[str, bootstrap.Interval]:
    """AUROC (and for a probability: ECE, Brier) of one signal with bootstrap CIs.

    Args:
        confidence: ``(n,)`` in [0, 1]; correct: ``(n,)`` bool.
        probability: whether ``confidence`` is a probability (then ECE with
            ``n_bins`` equal-width bins and the binary Brier score
            ``mean((c - y)^2)`` are added).

    AUROC is an all-NaN interval when every answer is right or every one is
    wrong. All intervals use the same resamples (same ``seed`` and ``n``).
    """
    out: dict[str, bootstrap.Interval] = {}
    y = np.asarray(correct, dtype=bool)
    c = np.asarray(confidence, dtype=np.float64)
    out["auroc"] = bootstrap.bootstrap_ci("auroc", c, y, n_resamples=n_resamples, seed=seed)
    if probability:
        out["ece"] = bootstrap.bootstrap_ci("ece", c, y, n_resamples=n_resamples, seed=seed, n_bins=n_bins)
        out["brier"] = bootstrap.bootstrap_ci(_brier, c, y.astype(np.float64), n_resamples=n_resamples, seed=seed)
    return out


def triviaqa_summary(
    rows: Sequence[Mapping[str, Any]], *, correct_by: str = "exact", n_bins: int = 10,
    n_resamples: int = 1000, seed: int = 0,
) -> dict[str, Any]:
    """The summary.json of a TriviaQA run: accuracy per matcher and each signal's quality.

    Deterministic in ``rows`` (sorted by id first), so recomputing it from
    disk reproduces summary.json exactly.

    Returns:
        ``{"n_items", "correctness", "n_bins", "n_resamples", "seed",
        "accuracy": {"exact", "contains", "f1"} (intervals, of the greedy
        answer), "ptrue_answer" ("sample" or "greedy"), "proposed_accuracy"
        (interval: the answers P(True) evaluated), "n_empty" (greedy),
        "n_empty_proposed", "n_empty_samples" (over all samples),
        "n_truncated", "p_true_mass_mean", "samples_accuracy",
        "signals": {name: {"label", "mean", "auroc", "ece"?, "brier"?}}}``;
        intervals are ``{"estimate", "low", "high", "level", "n_resamples"}``.
    """
    arr = signal_arrays(rows, correct_by=correct_by)
    by_id = {r["id"]: r for r in rows}
    ordered = [by_id[i] for i in arr.ids]
    accuracy = {
        "exact": bootstrap.bootstrap_ci(_mean, arr.correct_exact.astype(np.float64), n_resamples=n_resamples, seed=seed),
        "contains": bootstrap.bootstrap_ci(_mean, arr.correct_contains.astype(np.float64),
                                           n_resamples=n_resamples, seed=seed),
        "f1": bootstrap.bootstrap_ci(_mean, arr.f1, n_resamples=n_resamples, seed=seed),
    }
    signals: dict[str, Any] = {}
    for name, conf in arr.signals.items():
        ivs = signal_intervals(conf, arr.target(name), probability=name in PROBABILITY_SIGNALS, n_bins=n_bins,
                               n_resamples=n_resamples, seed=seed)
        entry: dict[str, Any] = {"label": SIGNALS[name], **{k: iv.to_json() for k, iv in ivs.items()}}
        if name in PROBABILITY_SIGNALS:
            entry["mean"] = float(conf.mean())
        signals[name] = entry
    sample_acc = [r.get("samples_correct_exact") for r in ordered]
    return {
        "task": TASK,
        "n_items": len(arr.ids),
        "correctness": correct_by,
        "n_bins": n_bins,
        "n_resamples": n_resamples,
        "seed": seed,
        "accuracy": {k: iv.to_json() for k, iv in accuracy.items()},
        "ptrue_answer": _ptrue_source(ordered),
        "proposed_accuracy": bootstrap.bootstrap_ci(_mean, arr.proposed_correct.astype(np.float64),
                                                    n_resamples=n_resamples, seed=seed).to_json(),
        "n_empty": int(arr.empty.sum()),
        "n_empty_proposed": int(sum(not r["proposed"].strip() if "proposed" in r else bool(r.get("empty_answer"))
                                    for r in ordered)),
        "n_empty_samples": int(sum(not str(x).strip() for r in ordered for x in r.get("samples", ()))),
        "n_truncated": int(sum(bool(r.get("shots_truncated")) for r in ordered)),
        "finish_reasons": {k: int(sum(r.get("finish_reason") == k for r in ordered)) for k in ("stop", "eos", "length")},
        "p_true_mass_mean": float(np.mean([float(r["p_true_mass"]) for r in ordered])),
        "samples_accuracy": (float(np.mean(sample_acc)) if all(v is not None for v in sample_acc) else None),
        "signals": signals,
    }


def _ptrue_source(rows: Sequence[Mapping[str, Any]]) -> str:
    """``"sample"`` or ``"greedy"``: which answer the rows' P(True) evaluated."""
    sources = {r.get("proposed_from", "greedy") for r in rows}
    return "greedy" if sources == {"greedy"} else "sample"


def signals_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per signal: AUROC, ECE and Brier with their 95% CIs, mean confidence."""
    rows = []
    for name, s in summary["signals"].items():
        row = {"signal": s["label"]}
        for metric in ("auroc", "ece", "brier"):
            iv = s.get(metric) or {}
            row[metric] = iv.get("estimate")
            row[f"{metric} low"] = iv.get("low")
            row[f"{metric} high"] = iv.get("high")
        row["mean confidence"] = s.get("mean")
        rows.append(row)
    return pd.DataFrame(rows)


def accuracy_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Accuracy of the greedy answer under each matcher, and of the answer P(True) evaluated, with 95% CIs."""
    labels = {"exact": "exact match (default)", "contains": "alias containment", "f1": "mean token F1"}
    rows = [
        {"answer": "greedy", "matcher": labels[k], "estimate": iv["estimate"], "95% CI low": iv["low"],
         "95% CI high": iv["high"]}
        for k, iv in summary["accuracy"].items()
    ]
    if "proposed_accuracy" in summary:
        iv = summary["proposed_accuracy"]
        source = "first sample" if summary.get("ptrue_answer") == "sample" else "greedy"
        rows.append({"answer": f"evaluated by P(True) ({source})", "matcher": labels["exact"],
                     "estimate": iv["estimate"], "95% CI low": iv["low"], "95% CI high": iv["high"]})
    return pd.DataFrame(rows)


def confidently_wrong(rows: Sequence[Mapping[str, Any]], *, k: int = 10, signal: str = "p_true") -> pd.DataFrame:
    """The k wrong (exact match) answers with the highest ``signal``, most confident first.

    For P(True) the answer is the one it evaluated; for the other signals the greedy one.
    """
    def judged(r: Mapping[str, Any]) -> tuple[str, bool]:
        if signal == "p_true":
            return str(r.get("proposed", r["prediction"])), _proposed_correct(r, "exact")
        return str(r["prediction"]), bool(r["correct_exact"])

    wrong = [r for r in rows if not judged(r)[1] and r.get(signal) is not None]
    wrong.sort(key=lambda r: (-float(r[signal]), r["id"]))
    out = []
    for r in wrong[:k]:
        q = str(r["question"])
        answer = judged(r)[0]
        out.append({
            "id": r["id"],
            "question": q if len(q) <= 160 else q[:157] + "...",
            "answer": answer if answer else "(empty)",
            "aliases": ", ".join(list(r["aliases"])[:3]) + (" ..." if len(r["aliases"]) > 3 else ""),
            "P(True)": r["p_true"],
            "seq prob": r.get("seq_prob"),
            "agreement": r.get("agreement"),
        })
    return pd.DataFrame(out, columns=["id", "question", "answer", "aliases", "P(True)", "seq prob", "agreement"])


def summary_text(summary: Mapping[str, Any]) -> str:
    """A few aligned lines for a terminal: n, accuracy per matcher, each signal's AUROC and ECE.

    Example:
        >>> print(summary_text(triviaqa_summary(rows)))          # doctest: +SKIP
        n                      100
        accuracy (exact)       0.120  [0.060, 0.190]
        ...
    """
    def fmt(iv: Mapping[str, Any] | None, ci: bool = True) -> str:
        if not iv or iv.get("estimate") is None:
            return "-"
        text = f"{iv['estimate']:.3f}"
        if ci and iv.get("low") is not None:
            text += f"  [{iv['low']:.3f}, {iv['high']:.3f}]"
        return text

    lines = [("n", str(summary["n_items"])), ("empty answers", str(summary["n_empty"]))]
    lines += [(f"accuracy ({k})", fmt(iv)) for k, iv in summary["accuracy"].items()]
    if "proposed_accuracy" in summary:
        lines.append((f"accuracy (P(True)'s {summary['ptrue_answer']})", fmt(summary["proposed_accuracy"])))
    for name, sig in summary["signals"].items():
        lines.append((f"{name} AUROC", fmt(sig.get("auroc"))))
        if "ece" in sig:
            lines.append((f"{name} ECE", fmt(sig["ece"])))
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines)


HEADER_KEYS = ("config", "split", "shots", "layout", "samples", "sample_temperature", "top_p", "brainstorm",
               "ptrue_answer", "ptrue_examples", "ptrue_example_mix", "ptrue_examples_true", "max_new_tokens", "chat_template", "dtype", "quantization",
               "contexts_truncated", "data_source")


def summarize_store(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Recompute summary.json of a TriviaQA run folder from its rows; returns it."""
    summary = triviaqa_summary(store.rows(), n_resamples=n_resamples, seed=seed)
    store.write_summary(summary)
    return summary


def _reliability(arr: SignalArrays, *, n_bins: int = 10):
    return {PROBABILITY_SIGNALS[name]: bin_stats(arr.signals[name], arr.target(name), n_bins=n_bins)
            for name in PROBABILITY_SIGNALS if name in arr.signals}


def write_triviaqa_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    """summary.json and a self-contained report.html for one TriviaQA run; returns the report path."""
    from calibkit.draw import plots

    rows = store.rows()
    summary = summarize_store(store, n_resamples=n_resamples, seed=seed)
    arr = signal_arrays(rows)
    label = str(store.config.get("model", "model"))
    report = Report(f"calibkit: TriviaQA self-evaluation of {label}",
                    subtitle="Does the model know when its own free-form answer is right?")
    report.add_header(run_header(store, summary["n_items"], keys=HEADER_KEYS), title="Run")
    report.add_table("Accuracy of the greedy answer", accuracy_frame(summary),
                     caption="Exact match against the normalised aliases is the default (the official TriviaQA "
                             "metric, as in Kadavath et al. 2022); containment credits answers that hold an alias, "
                             "F1 partial overlap. P(True) is judged against the answer it evaluated (last row). "
                             f"Empty answers (counted wrong): greedy {summary['n_empty']}, evaluated "
                             f"{summary.get('n_empty_proposed', summary['n_empty'])}, samples "
                             f"{summary.get('n_empty_samples', 0)}. Contexts "
                             f"with few-shot examples cut to fit: {summary['n_truncated']}. Mean probability mass "
                             f"on ' (A)'/' (B)': {summary['p_true_mass_mean']:.3f}.")
    report.add_table("Confidence signals: discrimination and calibration", signals_frame(summary),
                     caption="AUROC: how well the signal separates right from wrong answers (0.5 = chance). "
                             "ECE (10 equal-width bins) and binary Brier only for signals that are probabilities. "
                             "Percentile bootstrap over questions, 95% CIs.")
    eces = {PROBABILITY_SIGNALS[n]: summary["signals"][n]["ece"]["estimate"]
            for n in PROBABILITY_SIGNALS if n in summary["signals"]}
    report.add_figure("Reliability diagrams", plots.reliability_diagram(_reliability(arr), ece=eces,
                                                                        title="Confidence vs accuracy"),
                      caption="P(True): renormalized over (A)/(B), against the correctness of the answer it "
                              "evaluated. Sequence likelihood: exp of the mean token "
                              "log-prob of the greedy answer (0 for an empty answer). Agreement: share of samples "
                              "equal to the greedy answer.")
    curves = {SIGNALS[n]: metrics.risk_coverage(c, arr.target(n)) for n, c in arr.signals.items()}
    report.add_figure("Selective accuracy", plots.risk_coverage_curve(curves))
    report.add_table("The 10 most confidently wrong answers (by P(True))", confidently_wrong(rows, k=10))
    return report.save(store.path / REPORT_FILE)


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class TriviaComparison:
    """TriviaQA runs compared on the questions they share."""

    labels: tuple[str, ...]  # run labels, the first is the reference
    n_items: int  # questions all runs share
    table: pd.DataFrame  # one row per (run, metric): estimate, CI, paired difference to the first run

    def to_json(self) -> dict[str, Any]:
        return {"runs": list(self.labels), "n_items": self.n_items, "metrics": frame_records(self.table)}


def shared_rows(stores: Sequence[RunStore]) -> list[list[dict[str, Any]]]:
    """Each run's rows restricted to the ids all runs have, sorted by id."""
    all_rows = [s.rows() for s in stores]
    common = set.intersection(*(set(r["id"] for r in rows) for rows in all_rows))
    if not common:
        raise AnalysisError("the runs share no questions; compare TriviaQA runs of the same config and split")
    return [sorted((r for r in rows if r["id"] in common), key=lambda r: r["id"]) for rows in all_rows]


def _metric_spec(arr: SignalArrays) -> list[tuple[str, str, Callable[[SignalArrays], tuple[np.ndarray, ...]], str | Callable]]:
    """(row label, metric key, arrays getter, bootstrap metric) for a comparison table."""
    spec: list = [("accuracy (exact)", "accuracy", lambda a: (a.correct_exact.astype(np.float64),), _mean)]
    for name in arr.signals:
        getter = (lambda n: lambda a: (a.signals[n], a.target(n)))(name)
        spec.append((SIGNALS[name], "auroc", getter, "auroc"))
        if name in PROBABILITY_SIGNALS:
            spec.append((SIGNALS[name], "ece", getter, "ece"))
            brier_getter = (lambda n: lambda a: (a.signals[n], a.target(n).astype(np.float64)))(name)
            spec.append((SIGNALS[name], "brier", brier_getter, _brier))
    return spec


def compare_triviaqa_runs(stores: Sequence[RunStore], *, n_resamples: int = 1000, seed: int = 0) -> TriviaComparison:
    """Accuracy and each signal's AUROC/ECE/Brier per run, paired differences vs the first run.

    Runs are restricted to the questions all of them share; differences
    come from :func:`calibkit.stats.bootstrap.paired_bootstrap` (the same
    resampled questions for both runs).
    """
    if len(stores) < 2:
        raise AnalysisError("compare needs at least two runs")
    labels = run_labels(stores)
    aligned = [signal_arrays(rows) for rows in shared_rows(stores)]
    common = set.intersection(*(set(a.signals) for a in aligned))
    aligned = [replace(a, signals={k: v for k, v in a.signals.items() if k in common}) for a in aligned]
    base = aligned[0]
    rows = []
    for label, arr in zip(labels, aligned):
        for signal, key, getter, metric in _metric_spec(arr):
            iv = bootstrap.bootstrap_ci(metric, *getter(arr), n_resamples=n_resamples, seed=seed)
            row: dict[str, Any] = {"run": label, "signal": signal, "metric": key, "estimate": iv.estimate,
                                   "low": iv.low, "high": iv.high, "difference": math.nan,
                                   "diff_low": math.nan, "diff_high": math.nan, "p_value": math.nan}
            if arr is not base:
                d = bootstrap.paired_bootstrap(metric, getter(arr), getter(base), n_resamples=n_resamples, seed=seed)
                row.update(difference=d.difference, diff_low=d.low, diff_high=d.high, p_value=d.p_value)
            rows.append(row)
    return TriviaComparison(tuple(labels), len(base.ids), pd.DataFrame(rows))


def write_triviaqa_comparison_report(stores: Sequence[RunStore], comparison: TriviaComparison, path: Path) -> Path:
    """A self-contained HTML page comparing TriviaQA runs; returns ``path``."""
    from calibkit.draw import plots

    labels = comparison.labels
    aligned = [signal_arrays(rows) for rows in shared_rows(stores)]
    report = Report("calibkit: TriviaQA comparison", subtitle=" vs ".join(labels))
    report.add_header({"runs": len(labels), "shared questions": comparison.n_items,
                       **{f"run {i + 1}": str(s.path) for i, s in enumerate(stores)}}, title="Runs")
    report.add_table("Metrics and paired-bootstrap differences (vs the first run)", comparison.table,
                     caption="difference = run - first run on the same questions; p: two-sided paired-bootstrap test (p < 0.05 exactly when the 95% CI excludes 0). "
                             "Correctness: exact match.")
    for name, title in PROBABILITY_SIGNALS.items():
        if not all(name in a.signals for a in aligned):
            continue
        stats = {lab: bin_stats(a.signals[name], a.target(name)) for lab, a in zip(labels, aligned)}
        eces = {lab: float(metrics.ece(a.signals[name], a.target(name))) for lab, a in zip(labels, aligned)}
        report.add_figure(f"Reliability: {title}", plots.reliability_diagram(stats, ece=eces, title=title))
    return report.save(path)


# --------------------------------------------------------------------------- sampling temperature


def regenerate_sweep(
    questions: Sequence[TriviaQuestion],
    task_config: Mapping[str, Any],
    settings: RunSettings,
    *,
    temperatures: Sequence[float],
    loaded: "LoadedModel | None" = None,
    **run_options: Any,
) -> list[RunStore]:
    """Rerun generation at several sampling temperatures; one run folder per T.

    Each temperature is an ordinary (resumable) :func:`run_triviaqa` run
    whose config differs only in ``sample_temperature``; ``run_options`` are
    the rest of its keywords (samples, top_p, brainstorm, ptrue_shots,
    max_new_tokens, seed...), the same for every T. The model is loaded
    once. The greedy answer, its likelihood and the basic P(True) do not
    depend on T (only agreement and, with ``brainstorm``, P(True) do), so
    they are recomputed but identical. With ``settings.run_dir`` set, run T
    goes to ``run_dir/T=<T>``. Reports of each run are written too; draw the
    study with :func:`sweep_table` and :func:`write_sweep_report`.
    """
    from calibkit.engine.models import load_model

    temps = [float(t) for t in temperatures]
    if not temps or any(not (math.isfinite(t) and t > 0) for t in temps):
        raise ValueError(f"temperatures must be positive finite numbers; got {list(temperatures)!r}")
    loaded = loaded or load_model(settings.model, options=settings.load)
    stores = []
    for t in temps:
        run_settings = settings if settings.run_dir is None else replace(settings, run_dir=settings.run_dir / f"T={t:g}")
        outcome = run_triviaqa(questions, task_config, run_settings, sample_temperature=t, loaded=loaded,
                               **run_options)
        write_triviaqa_report(outcome.store)
        stores.append(outcome.store)
    return stores


def sweep_table(stores: Sequence[RunStore], *, n_resamples: int = 200, seed: int = 0) -> pd.DataFrame:
    """Signal quality against sampling temperature, one row per (run, signal).

    Columns: ``temperature, signal, auroc, auroc_low, auroc_high, ece,
    ece_low, ece_high, brier, brier_low, brier_high, samples_accuracy``
    (ECE/Brier NaN for the ranked total log-likelihood). Runs are
    restricted to their shared questions so every T is measured on the same
    items.
    """
    temps = [s.config.get("sample_temperature") for s in stores]
    if any(t is None for t in temps):
        raise AnalysisError("every run must be a TriviaQA run with a sample_temperature in its config.json")
    aligned_rows = shared_rows(stores) if len(stores) > 1 else [sorted(stores[0].rows(), key=lambda r: r["id"])]
    out = []
    for t, rows in zip(temps, aligned_rows):
        arr = signal_arrays(rows)
        samples_acc = [r.get("samples_correct_exact") for r in rows]
        for name, conf in arr.signals.items():
            ivs = signal_intervals(conf, arr.target(name), probability=name in PROBABILITY_SIGNALS,
                                   n_resamples=n_resamples, seed=seed)
            row: dict[str, Any] = {"temperature": float(t), "signal": name}
            for metric in ("auroc", "ece", "brier"):
                iv = ivs.get(metric, _nan_interval())
                row.update({metric: iv.estimate, f"{metric}_low": iv.low, f"{metric}_high": iv.high})
            row["samples_accuracy"] = (float(np.mean(samples_acc)) if all(v is not None for v in samples_acc)
                                       else math.nan)
            out.append(row)
    return pd.DataFrame(out).sort_values(["signal", "temperature"], ignore_index=True)


def signal_temperature_figure(table: pd.DataFrame, *, metric: str) -> "go.Figure":
    """``metric`` (auroc, ece or brier) of each signal against sampling temperature, with 95% bands.

    Render only (a :func:`sweep_table` in, a figure out); it lives here
    until :mod:`calibkit.draw.plots` has a generic metric-vs-T curve.
    """
    import plotly.graph_objects as go

    from calibkit.draw.plots import PALETTE

    if metric not in ("auroc", "ece", "brier"):
        raise ValueError(f"metric must be auroc, ece or brier; got {metric!r}")
    fig = go.Figure()
    for i, (name, part) in enumerate(table.groupby("signal", sort=False)):
        part = part.sort_values("temperature")
        if part[metric].isna().all():
            continue
        color = PALETTE[i % len(PALETTE)]
        ok = part[f"{metric}_low"].notna() & part[f"{metric}_high"].notna()
        band = part[ok]
        fig.add_trace(go.Scatter(
            x=list(band.temperature) + list(band.temperature[::-1]),
            y=list(band[f"{metric}_high"]) + list(band[f"{metric}_low"][::-1]),
            fill="toself", fillcolor=color, opacity=0.15, line=dict(width=0), mode="lines",
            showlegend=False, hoverinfo="skip", legendgroup=name,
        ))
        fig.add_trace(go.Scatter(x=part.temperature, y=part[metric], mode="lines+markers", name=SIGNALS.get(name, name),
                                 line=dict(color=color, width=2), legendgroup=name))
    label = {"auroc": "AUROC (right vs wrong)", "ece": "ECE (10 bins)", "brier": "Brier"}[metric]
    fig.update_layout(template=None, title=f"{label} vs sampling temperature", height=460,
                      paper_bgcolor="white", plot_bgcolor="white",
                      xaxis=dict(title="sampling temperature T", gridcolor="#e5e5e5"),
                      yaxis=dict(title=label, gridcolor="#e5e5e5"))
    return fig


def write_sweep_report(table: pd.DataFrame, path: Path, *, title: str = "calibkit: TriviaQA sampling-temperature study") -> Path:
    """A self-contained HTML page of a :func:`sweep_table`; returns ``path``."""
    report = Report(title, subtitle="Signal quality of the greedy answer's confidence vs the temperature of the samples")
    report.add_text("Each temperature is its own run; the greedy answer is the same in all of them, so only "
                    "sample agreement (and P(True) with brainstormed samples) can move with T.")
    report.add_figure("AUROC vs sampling temperature", signal_temperature_figure(table, metric="auroc"))
    report.add_figure("ECE vs sampling temperature", signal_temperature_figure(table, metric="ece"))
    report.add_table("Signal quality per temperature", table)
    return report.save(path)
