"""`calibkit run mmlu`: MMLU multiple choice, read from the option-letter probabilities."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import click

from calibkit.records import Prompt
from calibkit.runs.store import RunStore
from calibkit.tasks.multiple_choice import MultipleChoiceTask

from calibkit.tasks.multiple_choice.mmlu_data import MAX_SHOTS, TASK, describe_source
from .prompts import FORMATS, load


class MMLU(MultipleChoiceTask):
    name = "mmlu"
    run_name = TASK
    title = "score MMLU and report calibration"
    description = """Score MMLU multiple choice from the option-letter probabilities.

    Writes OUT/mmlu/<model>/<hash>/{config.json,results.jsonl,summary.json,report.html}
    and prints n, accuracy, ECE with its 95% CI, Brier, NLL and the mean
    probability mass on the option letters. Rerunning the same command
    resumes an interrupted run.
    """
    examples = """
\b
Examples:
  calibkit run mmlu                                   # embedded SmolLM2, 5-shot, all 57 subjects
  calibkit run mmlu --limit 5 --subjects stem         # 5 questions per STEM subject
  calibkit run mmlu --model llama-2-13b-chat --load-in-4bit
  calibkit run mmlu --model gemma-3-270m --format kadavath --shots 5
  calibkit run mmlu --limit 5 --self-eval --none-of-the-above   # + True/False, + D -> 'None of the above'
"""

    def task_options(self) -> list[click.Parameter]:
        return [
            click.Option(["--shots"], type=click.IntRange(0, MAX_SHOTS), default=5, show_default=True,
                         help="Few-shot examples (0-5)."),
            click.Option(["--format", "fmt"], type=click.Choice(FORMATS), default="hendrycks", show_default=True,
                         help="hendrycks: identical to lm-evaluation-harness; kadavath: Kadavath et al. 2022 "
                              "lettered choices."),
            click.Option(["--subjects"], default=None, metavar="LIST",
                         help="Comma-separated subjects and/or categories (stem, humanities, social_sciences, other)."),
            click.Option(["--limit"], type=click.IntRange(min=1), default=None, help="First N questions of each subject."),
            click.Option(["--split"], type=click.Choice(["test", "validation"]), default="test", show_default=True),
            click.Option(["--data"], default=None, metavar="PATH",
                         help="Hendrycks CSV folder or cais/mmlu JSONL/parquet; default: embedded copy, then the hub."),
            click.Option(["--fewshot-as-multiturn"], is_flag=True,
                         help="Chat form: each example as its own user/assistant turns."),
            click.Option(["--seed"], type=int, default=1234, show_default=True,
                         help="Seed of the kadavath format's example draw, of --self-eval-pairs paper's wrong "
                              "answer and of --nota-position random."),
        ]

    def prompts(self, options: Mapping[str, Any], *, none_of_the_above: bool) -> tuple[list[Prompt], dict[str, Any]]:
        o = options
        prompts = list(load(split=o["split"], subjects=o["subjects"], shots=o["shots"], format=o["fmt"],
                            limit_per_subject=o["limit"], data=o["data"], seed=o["seed"],
                            fewshot_as_multiturn=o["fewshot_as_multiturn"], none_of_the_above=none_of_the_above,
                            nota_position=o.get("nota_position", "final")))
        config = {
            "split": o["split"], "format": o["fmt"], "shots": o["shots"],
            "subjects": sorted({p.meta["subject"] for p in prompts}), "limit_per_subject": o["limit"],
            "seed": o["seed"] if o["fmt"] == "kadavath" else None, "fewshot_as_multiturn": o["fewshot_as_multiturn"],
            "data_source": describe_source(o["data"], split=o["split"]),
        }
        return prompts, config

    def paper_parts(self, stores: Sequence[RunStore]) -> list[Any]:
        """Reliability (runs overlaid), pooled all-options chart, rejection curves and the paired table."""
        from calibkit.paper.options import option_parts  # matplotlib loads only for a write-up

        return option_parts(stores, prefix="mmlu")
