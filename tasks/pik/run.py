"""A P(IK) run: per question, the labels (share of right T=1 samples), the hidden states, the prompted P(IK).

Per batch of questions (Kadavath et al. 2022, section 5):

1. the source task's k-shot context (TriviaQA or NQ-open, its layout and
   stop strings) is decoded once: the greedy answer and ``samples`` answers
   at ``sample_temperature`` in one batched pass, whose prefill also returns
   the residual stream at the last prompt token, every layer
   (:attr:`calibkit.engine.generation.GenerationConfig.hidden_states`);
2. each answer is judged by the source's own matcher; the label is the share
   of right samples;
3. the prompted P(IK) (:mod:`.prompts`) is scored, and P(True) of the
   greedy answer, as evidence for the "I don't know" dataset builder:
   Kadavath et al.'s self-evaluation prompt with the six examples of their
   appendix A.5 (without brainstormed ideas), asked of the greedy answer
   where the paper asks it of a T = 1 sample (section 4.1);
4. beside each row, the inputs of the free-answer confidence signals
   (:func:`calibkit.tasks.free_answer.signal_inputs.signal_fields`: token
   log-probs and entropies of the greedy answer and the samples, the
   samples' clusters by the source's matcher) and the raw sampled texts;
5. the batch's states go to ``hidden/<n>.npy`` (:mod:`.hidden`), then its rows
   to results.jsonl.

The probe is fit later, from disk (:mod:`.study`). Everything that
determines the numbers is in config.json, so a resumed run continues as it
started.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from calibkit.runs.runner import ActiveRun, run_in_batches
from calibkit.tasks.free_answer.answering import STOP_RULES, Answerer, Decoding
from calibkit.tasks.free_answer.answers import MATCHERS
from calibkit.tasks.free_answer.layouts import LAYOUTS
from calibkit.tasks.free_answer.ptrue import paper_ptrue_examples, ptrue_prompt
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.signal_inputs import signal_fields

from . import hidden
from .prompts import pik_prompt

TASK = "pik"
DEFAULT_SAMPLES = 30  # Kadavath et al. label P(IK) with 30 samples at T = 1


@dataclass(frozen=True)
class PikSettings:
    """How a P(IK) run labels questions and reads the model."""

    source: str  # the free-answer task the questions come from ("triviaqa", "nq_open")
    layout: str  # the source's prompt layout (a free-answer LAYOUTS name)
    matcher: str  # the source's answer rule (a MATCHERS name)
    samples: int = DEFAULT_SAMPLES  # T = 1 samples per question; the label is the share that is right
    sample_temperature: float = 1.0  # their temperature
    max_new_tokens: int = 32  # bound on each answer (default: the source's row)
    stop_rule: str = "after_leading_whitespace"  # where a stop string ends an answer (the source's row)
    seed: int = 0  # sampling seed
    pik_shots: int = 4  # examples in the prompted-P(IK) prompt
    batch_questions: int = 8  # questions per stored batch

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError("samples must be at least 1: the P(IK) label is the share of right samples")
        if self.layout not in LAYOUTS or self.matcher not in MATCHERS or self.stop_rule not in STOP_RULES:
            raise ValueError(f"unknown layout {self.layout!r}, matcher {self.matcher!r} or stop rule {self.stop_rule!r}")

    def config(self) -> dict[str, Any]:
        return {"source": self.source, "layout": self.layout, "matcher": self.matcher, "samples": self.samples,
                "sample_temperature": float(self.sample_temperature), "max_new_tokens": self.max_new_tokens,
                "sampling_seed": self.seed, "pik_prompt_shots": self.pik_shots,
                "stop": list(LAYOUTS[self.layout].stop), "hidden_states": "last prompt token, every layer, float16",
                "ptrue_prompt": "paper (appendix A.5 examples), greedy answer",
                # absent in runs made before the source's row set it: those cut after the leading whitespace
                **({"stop_rule": self.stop_rule} if self.stop_rule != "after_leading_whitespace" else {})}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PikSettings:
        return cls(source=config["source"], layout=config["layout"], matcher=config["matcher"],
                   samples=config["samples"], sample_temperature=config["sample_temperature"],
                   max_new_tokens=config["max_new_tokens"], seed=config["sampling_seed"],
                   pik_shots=config["pik_prompt_shots"],
                   stop_rule=config.get("stop_rule", "after_leading_whitespace"))

    def decoding(self) -> Decoding:
        """The source's decoding with these samples, and the hidden states the probe reads."""
        return Decoding(layout=LAYOUTS[self.layout], max_new_tokens=self.max_new_tokens, stop_rule=self.stop_rule,
                        samples=self.samples, temperature=self.sample_temperature, seed=self.seed,
                        hidden_states=True)


def run_pik(run: ActiveRun, questions: Sequence[Question], *, batch_questions: int = 8) -> None:
    """Answer, sample, judge and read the states of ``questions`` into ``run.store``, batch by batch."""
    settings = dataclasses.replace(PikSettings.from_config(run.store.config), batch_questions=batch_questions)
    answerer = Answerer(run, settings.decoding(), logprobs_fields={"pik_prompt": "p_ik_prompt_logprobs"})
    answers = MATCHERS[settings.matcher]

    def answer_batch(batch: Sequence[Question]) -> list[dict[str, Any]]:
        contexts = [answerer.context(q) for q in batch]
        outs = answerer.generate(contexts)
        judged = [answers.match(answers.extract(o.greedy.text), q.aliases).exact for q, o in zip(batch, outs)]
        examples = paper_ptrue_examples(brainstorm=False)
        ptrue = [ptrue_prompt(q, answers.extract(o.greedy.text), correct=c, examples=examples)
                 for q, o, c in zip(batch, outs, judged)]
        scored = answerer.score([pik_prompt(q, shots=settings.pik_shots) for q in batch] + ptrue)
        scored = list(zip(scored[:len(batch)], scored[len(batch):]))
        states = np.stack([o.hidden_states for o in outs])
        if "hidden_states" not in run.store.recorded:
            run.store.record({"hidden_states": {"dir": hidden.HIDDEN_DIR, "layers": int(states.shape[1]),
                                                "dim": int(states.shape[2]), "dtype": "float16"}})
        name = hidden.write_batch(run.store, states)  # before the rows that point to it
        return [_row(q, c.n_shots, o, s, answers, (name, i))
                for i, (q, c, o, s) in enumerate(zip(batch, contexts, outs, scored))]

    run_in_batches(run, questions, answer_batch, batch_size=batch_questions, unit="question", desc="pik")


def _row(question: Question, n_shots: int, gens: Any, scored: Any, answers: Any,
         where: tuple[str, int]) -> dict[str, Any]:
    prediction = answers.extract(gens.greedy.text)
    samples = [answers.extract(s.text) for s in gens.samples]
    right = [bool(answers.match(s, question.aliases).exact) for s in samples]
    pik, ptrue = scored
    probs = pik.probs()
    mean = gens.greedy.mean_logprob if gens.greedy.token_ids and prediction.strip() else None
    return {
        "id": question.id, "question": question.question, "aliases": list(question.aliases), "n_shots": n_shots,
        "prediction": prediction, "correct": bool(answers.match(prediction, question.aliases).exact),
        "seq_prob": math.exp(mean) if mean is not None else None,
        "samples": samples, "samples_correct": right, "n_samples": len(right), "n_correct": int(sum(right)),
        "label": float(np.mean(right)),
        "p_ik_prompt": float(probs[0]), "p_ik_prompt_logprobs": [float(x) for x in pik.logprobs],
        "p_ik_prompt_mass": float(pik.option_mass), "p_true": float(ptrue.probs()[0]),
        "hidden": list(where), "task": TASK,
        # the free-answer signals' inputs (as a triviaqa run keeps them), so that P(IK) meets them on the same items
        "samples_raw": [s.text for s in gens.samples], **signal_fields(gens, samples, answers),
    }
