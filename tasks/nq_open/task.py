"""`calibkit run nq_open`: NQ-open free answers with lm-eval's prompt and matcher, and the confidence signals."""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

import click

from calibkit.tasks.triviaqa.data import TriviaQuestion
from calibkit.tasks.triviaqa.prompts import NQ_OPEN_LAYOUT, QALayout
from calibkit.tasks.triviaqa.task import TriviaQA

from .data import DEFAULT_SHOTS, SPLITS, TASK, load


class NQOpen(TriviaQA):
    """TriviaQA's run, signals and reports on NQ-open, with lm-evaluation-harness's nq_open prompt and rule."""

    name = "nq_open"
    run_name = TASK
    title = "NQ-open free answers (lm-eval's prompt), P(True) and other signals"
    description = """Free-form NQ-open answers, judged and self-evaluated as for TriviaQA.

    The prompt is lm-evaluation-harness's nq_open ("Answer these
    questions:", then "Q: <question>?\\nA:"; examples one line apart) and an
    answer is right when it equals any listed answer after lm-eval's
    normalisation (articles, case and ASCII punctuation ignored). Greedy
    answer, samples, their agreement, sequence likelihood and P(True), each
    calibrated. Writes the usual run folder and report; rerunning resumes.
    """
    examples = """
\b
Examples:
  calibkit run nq_open --limit 100                     # embedded SmolLM2, 0-shot as lm-eval
  calibkit run nq_open --model llama-2-7b --shots 5 --samples 10
"""
    layout: ClassVar[QALayout] = NQ_OPEN_LAYOUT
    matcher: ClassVar[str] = "nq_open"
    default_shots: ClassVar[int] = DEFAULT_SHOTS

    def data_options(self) -> list[click.Parameter]:
        return [
            click.Option(["--split"], type=click.Choice(SPLITS), default="validation", show_default=True),
            click.Option(["--data"], default=None, metavar="PATH",
                         help="JSONL/parquet/save_to_disk with question and answer (list); default: the embedded "
                              "copy, then the hub."),
        ]

    def questions(self, options: Mapping[str, Any]) -> tuple[list[TriviaQuestion], dict[str, Any]]:
        o = options
        questions = load(data=o["data"], split=o["split"], limit=o["limit"], shots=o["shots"], seed=o["seed"])
        config = {"split": o["split"], "shots": o["shots"], "limit": o["limit"], "seed": o["seed"],
                  "fewshot_split": o["split"] if o["shots"] else None,
                  "data_source": questions[0].meta["source"]}
        return questions, config
