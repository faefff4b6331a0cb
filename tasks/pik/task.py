"""`calibkit run pik`: does the model know, before answering, whether it knows? (Kadavath et al. section 5)"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import click

from calibkit.runs.runner import ActiveRun, Job
from calibkit.runs.store import RunStore
from calibkit.tasks.base import OwnReading, RunReading, Task
from calibkit.tasks.free_answer.comparing import Comparing, ComparisonWords, PairedComparing
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.specs import SOURCES, Request, benchmark_names, questions_option

from .prompts import MAX_PIK_SHOTS
from .run import DEFAULT_SAMPLES, TASK, PikSettings, run_pik

#: what `calibkit compare` of P(IK) runs says around its table
COMPARISON = ComparisonWords(
    title="calibkit: P(IK) comparison", heading="Probe and prompted P(IK)", items="held-out questions",
    unit="questions", part="pik-comparison", part_caption="Probe and prompted P(IK)", drop=("metric",),
    details="Per predictor: smooth ECE first (every T=1 sample one outcome at its question's P(IK)), then the "
            "paper's per-question metrics (AUROC and Brier against 1{label > 0.5}, ECE in 10 equal-mass bins of "
            "questions), then calibkit's sample-level ones, each named by its definition.")


class Pik(OwnReading, PairedComparing, Task):
    name = "pik"
    run_name = TASK
    title = "P(IK): a hidden-state probe and a prompted estimate of whether the model knows"
    description = """P(IK), the probability that the model knows the answer, two ways (Kadavath et al. 2022, sec. 5).

    For each question of a free-answer task: --samples answers at T=1 (the
    label is the share that is right, by the task's own matcher), the hidden
    state at the last prompt token of every layer (read in the same forward
    pass that starts decoding, stored as float16 .npy beside results.jsonl),
    and the prompted P(IK). The report fits a logistic probe on 60% of the
    questions, picks its layer on 20% (highest per-question AUROC), and
    judges probe and prompt on the other 20% with the paper's per-question
    metrics: AUROC and Brier against 1{label > 0.5}, ECE in 10 equal-mass
    bins of questions (the reliability diagram's bins); calibkit's
    sample-level AUROC, ECE (equal-width) and Brier are shown beside them.
    Rerunning resumes.
    """
    examples = """
\b
Examples:
  calibkit run pik --limit 200 --samples 10           # embedded SmolLM2 on TriviaQA
  calibkit run pik --questions nq_open --model llama-2-7b-chat --limit 2000
"""

    def reading(self) -> RunReading:
        from . import report, study

        return RunReading.of(study, report)

    def options(self) -> list[click.Parameter]:
        return [
            *questions_option(names=benchmark_names(), help="The free-answer task whose questions are asked."),
            click.Option(["--limit"], type=click.IntRange(min=1), default=None, help="First N questions."),
            click.Option(["--shots"], type=click.IntRange(0, 20), default=None,
                         help="Few-shot Q/A examples (default: the task's own, 10 for TriviaQA, 0 for NQ-open)."),
            click.Option(["--samples"], type=click.IntRange(1, 100), default=DEFAULT_SAMPLES, show_default=True,
                         help="T=1 samples per question; the label is the share that is right."),
            click.Option(["--sample-temperature"], type=click.FloatRange(0, min_open=True), default=1.0,
                         show_default=True),
            click.Option(["--pik-shots"], type=click.IntRange(0, MAX_PIK_SHOTS), default=4, show_default=True,
                         help="Hand-written examples in the prompted-P(IK) prompt."),
            click.Option(["--max-new-tokens"], type=click.IntRange(1, 256), default=None,
                         help="Bound on each answer's tokens (default: the task's own, 32 for TriviaQA, 256 for "
                              "NQ-open as lm-eval)."),
            click.Option(["--split"], type=click.Choice(["validation", "train"]), default="validation",
                         show_default=True),
            click.Option(["--data"], default=None, metavar="PATH", help="The task's --data (default: embedded copy)."),
            click.Option(["--seed"], type=int, default=0, show_default=True, help="Few-shot draw and sampling seed."),
        ]

    def load(self, options: Mapping[str, Any]) -> list[Job]:
        o = options
        source = SOURCES[o["source"]]
        shots = source.default_shots if o["shots"] is None else o["shots"]
        loaded = source.load(Request(data=o["data"], split=o["split"], limit=o["limit"], shots=shots, seed=o["seed"]))
        settings = PikSettings(source=source.name, layout=source.layout.name, matcher=source.matcher,
                               samples=o["samples"], sample_temperature=o["sample_temperature"],
                               max_new_tokens=o["max_new_tokens"] or source.max_new_tokens,
                               stop_rule=source.stop_rule, seed=o["seed"], pik_shots=o["pik_shots"])
        return [Job(items=list(loaded.questions), config={**loaded.config, **settings.config()})]

    def run(self, run: ActiveRun, items: Sequence[Question]) -> None:
        run_pik(run, items)

    def paper_parts(self, stores: Sequence[RunStore]) -> list[Any]:
        """The P(IK) table: probe and prompted P(IK) per run on the shared held-out questions, paired with the first."""
        return [self.comparison_part(stores)]

    def comparing(self) -> Comparing:
        from .study import compare_runs

        return Comparing(compare_runs, COMPARISON)
