"""A free-answer run (TriviaQA, NQ-open, any spec row): generate answers, check them, let the model evaluate one.

Per question (Kadavath et al. 2022, sections 4-5):

1. the **greedy** answer to the k-shot context (:mod:`calibkit.tasks.free_answer.layouts`) and
   ``samples`` answers sampled at ``sample_temperature``, decoded in one
   batched pass (:func:`calibkit.engine.generation.generate`);
2. correctness: **exact match** against the normalised aliases is the
   default rule (the official TriviaQA metric and Kadavath et al.'s "string
   comparison"); token F1 and alias containment are stored beside it
   (:func:`calibkit.tasks.free_answer.answers.match_answer`; NQ-open: lm-eval's rule, ``match_nq_open``);
3. the confidence signals (:mod:`.study`): ``p_true``, P(" (A)")
   renormalized over " (A)"/" (B)" in the self-evaluation prompt
   (:func:`calibkit.tasks.free_answer.ptrue.ptrue_prompt`), by default of the first sampled answer
   (Kadavath et al.'s protocol; :func:`ptrue_proposal`) and judged against
   that answer's correctness; the greedy answer's sequence likelihood; and
   the agreement of the samples with the greedy answer. The P(True) prompt
   shows examples first: with ``ptrue_shots=k``, k of the model's own
   answers to other questions, labelled (:func:`ptrue_example_pool`; the
   run refuses when fewer than k + 1 of them are non-empty); without, the
   paper's six hand-written examples (appendix A.5,
   :data:`calibkit.tasks.free_answer.ptrue.KADAVATH_A5_EXAMPLES`), or none with
   ``ptrue_prompt="none"`` (calibkit's variant);
4. what the free-answer signals read (:mod:`.signal_inputs`: token
   log-probs, entropies, terminators, the samples' clusters by the matcher);
5. the optional stages (:mod:`.stages`, each off by default): ``verbal``, a
   stated probability (Tian et al. 2023, :mod:`.verbal`); ``words``, the
   greedy answer rated in Herbstritt & Franke's expressions (:mod:`.words`);
   ``nli_model``, the samples clustered by bidirectional entailment
   (:mod:`.nli_fields`).

The P(True) proposals and few-shot pool are :mod:`.proposals`.
Everything that determines the numbers is a :class:`TriviaSettings`, and it
is read back from the run's config.json, so a resumed run continues exactly
as it started. Contexts too long for the model keep as many leading
few-shot examples as fit (rows record ``n_shots``). Rows are appended after
every ``batch_questions`` questions (:func:`calibkit.runs.runner.run_in_batches`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from calibkit.runs.runner import ActiveRun, Job, RunOutcome, RunSettings, run_in_batches, run_jobs
from calibkit.tasks.free_answer.answering import STOP_RULES, Answerer, Decoding
from calibkit.tasks.free_answer.layouts import KADAVATH_LAYOUT, LAYOUTS, GenerationContext, QALayout
from calibkit.tasks.free_answer.ptrue import PTRUE_PROMPTS, PTRUE_TASK, PTrueExample, paper_ptrue_examples, ptrue_prompt
from calibkit.tasks.free_answer.nli_fields import NLI_INPUTS
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.signal_inputs import signal_fields

from .answers import MATCHERS, Matcher, sample_agreement
from .proposals import (
    PTRUE_ANSWERS,
    PTRUE_MIXES,
    Proposal,
    check_example_pool,
    pool_candidates,
    ptrue_example_pool,
    ptrue_proposal,
)
from .stages import extra_stages
from .verbal import MAX_NEW_TOKENS as VERBAL_MAX_NEW_TOKENS
from .verbal import METHODS as VERBAL_METHODS
from .words import WORDS_MAX_NEW_TOKENS, WORDS_MODES, WORDS_SETS

if TYPE_CHECKING:
    from calibkit.engine.generation import ContextGenerations
    from calibkit.engine.models import LoadedModel
    from calibkit.records import ScoredItem

TASK = "triviaqa"


# --------------------------------------------------------------------------- settings


def _check_int(name: str, value: Any, low: int, high: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        bound = f"in [{low}, {high}]" if high != math.inf else f">= {low}"
        raise ValueError(f"{name} must be an int {bound}; got {value!r}")


@dataclass(frozen=True)
class TriviaSettings:
    """How a TriviaQA run generates and self-evaluates; the defaults follow Kadavath et al. (2022)."""

    samples: int = 10  # sampled answers per question (0: no agreement signal)
    sample_temperature: float = 1.0  # their temperature (> 0); the greedy answer does not depend on it
    top_p: float = 1.0  # nucleus sampling for the samples, in (0, 1]; 1 keeps the whole vocabulary
    brainstorm: int = 0  # answers the P(True) prompt shows first, the evaluated one among them (<= samples)
    ptrue_answer: str = "sample"  # the answer P(True) evaluates: "sample" (the first sample) or "greedy"
    ptrue_shots: int = 0  # solved self-evaluations of other questions shown first (few-shot P(True))
    ptrue_mix: str = "accuracy"  # examples drawn at random ("accuracy") or alternating True/False ("balanced")
    ptrue_prompt: str = "paper"  # without ptrue_shots: the paper's six examples (appendix A.5) or "none"
    max_new_tokens: int = 32  # bound on each answer's tokens
    stop_rule: str = "after_leading_whitespace"  # where a stop string ends an answer; "first": anywhere (lm-eval)
    seed: int = 0  # sampling seed: a question's samples depend only on it and the question's context
    layout: QALayout = KADAVATH_LAYOUT  # few-shot block layout (and the answer's stop strings)
    matcher: str = "triviaqa"  # how an answer is read and judged: "triviaqa" (official EM) or "nq_open" (lm-eval's)
    batch_questions: int = 8  # questions generated, scored and stored together; a crash loses at most this many
    signals: tuple[str, ...] | None = None  # the free-answer signals the study reports (.signals.COMPUTED); None: all
    verbal: str | None = None  # ask for a stated probability: "one-stage" or "two-stage" (Tian et al. 2023); None: not
    nli_model: str | None = None  # NLI model clustering the samples by bidirectional entailment (Kuhn et al.); None: not
    nli_input: str = "question_answer"  # what it reads: question + answer (Kuhn, Farquhar) or "answer" (LM-Polygraph)
    words: str | None = None  # rate the greedy answer in H&F's expressions: "choose" or "generate" (.words); None: not
    words_set: str = "simple"  # which expressions: "simple" (5) or "complex" (12)

    def __post_init__(self) -> None:
        _check_int("samples", self.samples, 0)
        _check_int("brainstorm", self.brainstorm, 0, self.samples)
        _check_int("ptrue_shots", self.ptrue_shots, 0)
        _check_int("max_new_tokens", self.max_new_tokens, 1)
        _check_int("batch_questions", self.batch_questions, 1)
        _check_int("seed", self.seed, 0)
        if self.ptrue_answer not in PTRUE_ANSWERS:
            raise ValueError(f"ptrue_answer must be one of {', '.join(PTRUE_ANSWERS)}; got {self.ptrue_answer!r}")
        if self.ptrue_answer == "sample" and self.samples < 1:
            raise ValueError("ptrue_answer='sample' evaluates a sampled answer: use samples >= 1, "
                             "or ptrue_answer='greedy'")
        if self.ptrue_mix not in PTRUE_MIXES:
            raise ValueError(f"ptrue_mix must be one of {', '.join(PTRUE_MIXES)}; got {self.ptrue_mix!r}")
        if self.ptrue_prompt not in PTRUE_PROMPTS:
            raise ValueError(f"ptrue_prompt must be one of {', '.join(PTRUE_PROMPTS)}; got {self.ptrue_prompt!r}")
        if self.ptrue_prompt == "none" and self.ptrue_shots:
            raise ValueError("ptrue_prompt='none' shows no examples and ptrue_shots shows some: "
                             "use ptrue_shots=0 with it (few-shot examples replace the paper's six anyway)")
        if self.stop_rule not in STOP_RULES:
            raise ValueError(f"stop_rule must be one of {', '.join(STOP_RULES)}; got {self.stop_rule!r}")
        if not (isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1):
            raise ValueError(f"top_p must be in (0, 1]; got {self.top_p!r}")
        if self.layout.name not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {self.layout.name!r}")
        if self.matcher not in MATCHERS:
            raise ValueError(f"matcher must be one of {', '.join(MATCHERS)}; got {self.matcher!r}")
        if self.nli_input not in NLI_INPUTS:
            raise ValueError(f"nli_input must be one of {', '.join(NLI_INPUTS)}; got {self.nli_input!r}")
        if self.nli_model is not None and self.samples < 1:
            raise ValueError("nli_model clusters the samples: use samples >= 1")
        if self.words is not None and self.words not in WORDS_MODES:
            raise ValueError(f"words must be None or one of {', '.join(WORDS_MODES)}; got {self.words!r}")
        if self.words_set not in WORDS_SETS:
            raise ValueError(f"words_set must be one of {', '.join(WORDS_SETS)}; got {self.words_set!r}")
        if self.verbal is not None and self.verbal not in VERBAL_METHODS:
            raise ValueError(f"verbal must be None or one of {', '.join(VERBAL_METHODS)}; got {self.verbal!r}")

    @property
    def answers(self) -> Matcher:
        """How answers are read out of generations and judged."""
        return MATCHERS[self.matcher]

    def config(self) -> dict[str, Any]:
        """The config.json entries (they determine the run's numbers, hence its folder)."""
        return {
            "layout": self.layout.name, "samples": self.samples, "sample_temperature": float(self.sample_temperature),
            "top_p": float(self.top_p), "max_new_tokens": self.max_new_tokens, "stop": list(self.layout.stop),
            "sampling_seed": self.seed, "brainstorm": self.brainstorm,
            "ptrue_variant": "brainstorm" if self.brainstorm else "basic", "ptrue_answer": self.ptrue_answer,
            "ptrue_examples": self.ptrue_shots, "ptrue_example_mix": self.ptrue_mix, "ptrue_prompt": self.ptrue_prompt,
            "stop_rule": self.stop_rule, "correctness": "exact",
            # absent in runs made before a second matcher existed: those are "triviaqa"
            **({"matcher": self.matcher} if self.matcher != "triviaqa" else {}),
            # absent when every signal is reported (the default), so such runs keep their folders
            **({"signals": list(self.signals)} if self.signals is not None else {}),
            # absent when no stated probability is asked (the default), so such runs keep their folders
            **({"verbal": self.verbal, "verbal_max_new_tokens": VERBAL_MAX_NEW_TOKENS} if self.verbal else {}),
            # absent without an NLI model (the default), so such runs keep their folders
            **({"nli_model": self.nli_model, "nli_input": self.nli_input} if self.nli_model else {}),
            # absent without words (the default), so such runs keep their folders
            **({"words": self.words, "words_set": self.words_set, "words_max_new_tokens": WORDS_MAX_NEW_TOKENS}
               if self.words else {}),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TriviaSettings:
        """The settings a run's config.json records (inverse of :meth:`config`; batch_questions is not recorded)."""
        return cls(
            samples=config["samples"], sample_temperature=config["sample_temperature"], top_p=config["top_p"],
            brainstorm=config["brainstorm"], ptrue_answer=config["ptrue_answer"], ptrue_shots=config["ptrue_examples"],
            ptrue_mix=config["ptrue_example_mix"], max_new_tokens=config["max_new_tokens"],
            seed=config["sampling_seed"], layout=LAYOUTS[config["layout"]], matcher=config.get("matcher", "triviaqa"),
            # runs made before these were recorded showed no examples and cut after the leading whitespace
            ptrue_prompt=config.get("ptrue_prompt", "none"),
            stop_rule=config.get("stop_rule", "after_leading_whitespace"),
            signals=tuple(config["signals"]) if "signals" in config else None,
            verbal=config.get("verbal"),
            nli_model=config.get("nli_model"), nli_input=config.get("nli_input", "question_answer"),
            words=config.get("words"), words_set=config.get("words_set", "simple"),
        )

    def ptrue_examples(self, question_id: str, pool: Sequence[tuple[str, PTrueExample]]) -> tuple[PTrueExample, ...]:
        """The solved examples a question's P(True) prompt shows first.

        With ``ptrue_shots=k``: the first k of the run's pool that are not the
        question itself. Without: the paper's six (:func:`calibkit.tasks.free_answer.ptrue.paper_ptrue_examples`,
        with their brainstormed ideas when the run shows some), or none.
        """
        if self.ptrue_shots:
            return tuple(e for qid, e in pool if qid != question_id)[:self.ptrue_shots]
        if self.ptrue_prompt == "paper":
            return paper_ptrue_examples(brainstorm=self.brainstorm > 0)
        return ()

    def decoding(self) -> Decoding:
        """How the answers are decoded: the greedy answer plus the samples, in one batched pass."""
        return Decoding(layout=self.layout, max_new_tokens=self.max_new_tokens, stop_rule=self.stop_rule,
                        samples=self.samples, temperature=self.sample_temperature, top_p=self.top_p, seed=self.seed)


# --------------------------------------------------------------------------- rows


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
    def from_json(cls, row: Mapping[str, Any]) -> TriviaResult:
        """Inverse of :meth:`to_json`."""
        kwargs = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        for key in ("aliases", "samples", "samples_raw", "p_true_logprobs", "brainstormed"):
            kwargs[key] = tuple(kwargs.get(key, ()))
        return cls(**kwargs)


def _row(question: Question, ctx: GenerationContext, gens: ContextGenerations, scored: ScoredItem,
         proposal: Proposal, answers: Matcher, task: str) -> TriviaResult:
    greedy = gens.greedy
    answer = answers.extract(greedy.text)
    match = answers.match(answer, question.aliases)
    proposed_match = answers.match(proposal.proposed, question.aliases)
    sample_answers = tuple(answers.extract(s.text) for s in gens.samples)
    n_tok = len(greedy.token_ids)
    mean = greedy.mean_logprob if n_tok and answer.strip() else None
    probs = scored.probs()
    return TriviaResult(
        id=question.id, question=question.question, aliases=tuple(question.aliases),
        n_shots=ctx.n_shots, shots_truncated=ctx.n_shots < len(question.shots),
        n_context_tokens=gens.n_context_tokens, greedy_raw=greedy.text, prediction=answer,
        empty_answer=not answer.strip(), finish_reason=greedy.finish_reason, n_answer_tokens=n_tok,
        correct_exact=match.exact, correct_contains=match.contains, f1=float(match.f1),
        seq_logprob=greedy.total_logprob if mean is not None else None, seq_logprob_mean=mean,
        seq_prob=math.exp(mean) if mean is not None else None,
        samples=sample_answers, samples_raw=tuple(s.text for s in gens.samples),
        samples_correct_exact=(float(np.mean([answers.match(s, question.aliases).exact for s in sample_answers]))
                               if sample_answers else None),
        agreement=sample_agreement(answer, sample_answers) if sample_answers else None,
        p_true=float(probs[0]), p_true_logprobs=(float(scored.logprobs[0]), float(scored.logprobs[1])),
        p_true_mass=float(scored.option_mass), brainstormed=proposal.shown, proposed_from=proposal.source,
        proposed=proposal.proposed, proposed_correct_exact=proposed_match.exact,
        proposed_correct_contains=proposed_match.contains, task=task,
    )


# --------------------------------------------------------------------------- running


def _signal_fields(gens: ContextGenerations, answers: Matcher, unconditional: Sequence[float] | None) -> dict[str, Any]:
    """What the free-answer signals read, stored beside the row's fields (:mod:`calibkit.tasks.free_answer.signal_inputs`)."""
    return signal_fields(gens, [answers.extract(s.text) for s in gens.samples], answers, unconditional=unconditional)


def propose(settings: TriviaSettings, gens: ContextGenerations) -> Proposal:
    """The answer a question's P(True) prompt evaluates, by the run's settings (:func:`ptrue_proposal`)."""
    extract = settings.answers.extract
    return ptrue_proposal(extract(gens.greedy.text), [extract(x.text) for x in gens.samples],
                          answer=settings.ptrue_answer, brainstorm=settings.brainstorm)


def _answerer(run: ActiveRun, settings: TriviaSettings) -> Answerer:
    """The run's answerer, recording where a TriviaQA row keeps the answers and the P(True) log-probs."""
    return Answerer(run, settings.decoding(), answer_fields=("greedy_raw", "samples_raw"),
                    logprobs_fields={PTRUE_TASK: "p_true_logprobs"})


def run_questions(run: ActiveRun, questions: Sequence[Question], *, batch_questions: int = 8) -> None:
    """The task's run: answer, check and self-evaluate ``questions`` into ``run.store``, batch by batch.

    The settings are those the run's config.json records; the few-shot
    P(True) examples are found once, before the first row, and recorded
    there too, so a resumed run reuses them.
    """
    settings = replace(TriviaSettings.from_config(run.store.config), batch_questions=batch_questions)
    answerer = _answerer(run, settings)
    pool = _example_pool(run, answerer, questions, settings)
    stages = extra_stages(run, answerer, settings)

    def answer_batch(batch: Sequence[Question]) -> list[dict[str, Any]]:
        contexts = [answerer.context(q) for q in batch]
        outs = answerer.generate(contexts)
        proposals = [propose(settings, o) for o in outs]
        prompts = [ptrue_prompt(q, p.proposed, brainstormed=p.shown, sample=p.source,
                                examples=settings.ptrue_examples(q.id, pool),
                                correct=settings.answers.match(p.proposed, q.aliases).exact)
                   for q, p in zip(batch, proposals)]
        scored = answerer.score(prompts)
        task = run.store.config.get("task", TASK)
        # PMI's unconditional scoring: one extra forward per question, only when the run names mean_pmi
        uncond = answerer.unconditional(outs) if "mean_pmi" in (settings.signals or ()) else [None] * len(outs)
        rows = [{**_row(q, c, o, s, p, settings.answers, task).to_json(), **_signal_fields(o, settings.answers, u)}
                for q, c, o, s, p, u in zip(batch, contexts, outs, scored, proposals, uncond)]
        for stage in stages:  # --verbal, --words, --nli-model: each adds its fields to every row
            for row, fields in zip(rows, stage(batch, contexts, outs)):
                row.update(fields)
        return rows

    run_in_batches(run, questions, answer_batch, batch_size=settings.batch_questions, unit="question",
                   desc="triviaqa")


def prepare_questions(run: ActiveRun, questions: Sequence[Question]) -> None:
    """Find and record the few-shot P(True) examples among ``questions`` (all those still to do), if the run uses any.

    Called once before any question is answered (in a data-parallel run
    by rank 0 alone, before the questions are shared out), so the examples
    do not depend on how many processes answer them.
    """
    settings = TriviaSettings.from_config(run.store.config)
    if settings.ptrue_shots:
        _example_pool(run, _answerer(run, settings), questions, settings)


def _example_pool(run: ActiveRun, answerer: Answerer, questions: Sequence[Question],
                  settings: TriviaSettings) -> list[tuple[str, PTrueExample]]:
    """The few-shot P(True) examples: recorded in config.json on first use, read back afterwards."""
    if settings.ptrue_shots and "ptrue_pool" not in run.store.recorded:
        candidates = pool_candidates(questions, settings.ptrue_shots, seed=settings.seed)
        outs = answerer.generate([answerer.context(q) for q in candidates])
        found = ptrue_example_pool(candidates, [propose(settings, o) for o in outs], size=settings.ptrue_shots + 1,
                                   mix=settings.ptrue_mix, seed=settings.seed, matcher=settings.matcher)
        check_example_pool(len(found), shots=settings.ptrue_shots, n_candidates=len(candidates))
        run.store.record({
            "ptrue_pool": [{"id": qid, "question": e.question, "proposed": e.proposed,
                            "brainstormed": list(e.brainstormed), "correct": e.correct} for qid, e in found],
            "ptrue_examples_true": sum(e.correct for _, e in found),
        })
    return [(r["id"], PTrueExample(question=r["question"], proposed=r["proposed"], correct=r["correct"],
                                   brainstormed=tuple(r.get("brainstormed", ()))))
            for r in run.store.recorded.get("ptrue_pool", [])]


def triviaqa_job(questions: Sequence[Question], task_config: Mapping[str, Any],
                 settings: TriviaSettings, *, subfolder: str | None = None) -> Job:
    """One run of ``questions``: config.json holds the task's data settings and :meth:`TriviaSettings.config`."""
    if settings.ptrue_shots >= len(questions):
        raise ValueError(f"ptrue_shots must be an int in [0, {len(questions)}) (fewer than the questions); "
                         f"got {settings.ptrue_shots!r}")
    return Job(items=list(questions), config={**task_config, **settings.config()}, subfolder=subfolder)


@dataclass(frozen=True)
class QuestionRunner:
    """A TriviaQA run with its batch size, for :func:`calibkit.runs.runner.run_jobs` (the task uses the default)."""

    batch_questions: int
    run_name: str = TASK

    def prepare(self, run: ActiveRun, items: Sequence[Question]) -> None:
        prepare_questions(run, items)

    def run(self, run: ActiveRun, items: Sequence[Question]) -> None:
        run_questions(run, items, batch_questions=self.batch_questions)


def run_triviaqa(
    questions: Sequence[Question],
    task_config: Mapping[str, Any],
    run_settings: RunSettings,
    *,
    settings: TriviaSettings = TriviaSettings(),
    loaded: LoadedModel | None = None,
    on_store: Callable[[Any], None] | None = None,
) -> RunOutcome:
    """Generate, check and self-evaluate TriviaQA answers into a run folder (resumable), from Python.

    ``task_config`` holds the data settings for config.json (config, split,
    shots, limit, data source); ``settings`` how to generate and evaluate;
    ``run_settings`` the model and engine. Rows are in ``outcome.store``.
    """
    (outcome,) = run_jobs(QuestionRunner(settings.batch_questions), [triviaqa_job(questions, task_config, settings)], run_settings,
                          loaded=loaded, on_store=on_store)
    return outcome
