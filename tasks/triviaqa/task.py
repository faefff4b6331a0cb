"""`calibkit run triviaqa`: the free-answer task (:class:`calibkit.tasks.free_answer.task.FreeAnswerTask`) on TriviaQA's row."""
from __future__ import annotations

from typing import ClassVar

import click

from calibkit.tasks.free_answer.run import TASK
from calibkit.tasks.free_answer.specs import SOURCES, Source
from calibkit.tasks.free_answer.task import FreeAnswerTask
from calibkit.tasks.free_answer.triviaqa_data import CONFIGS, DEFAULT_CONFIG


class TriviaQA(FreeAnswerTask):
    name = "triviaqa"
    run_name = TASK
    title = "free answers, P(True) and other confidence signals"
    description = """Free-form TriviaQA answers and three confidence signals, each calibrated.

    For every question: the greedy answer (checked by exact match against
    the normalised aliases; F1 and containment reported too), its sequence
    likelihood and the agreement of sampled answers with it, and P(True)
    from Kadavath et al.'s self-evaluation prompt for a sampled answer (or
    the greedy one, --ptrue-answer greedy), judged against that answer's
    correctness. Without --ptrue-shots the P(True) prompt shows the paper's
    six hand-written examples first (appendix A.5; --ptrue-prompt none
    shows none, calibkit's variant). ECE is reported with 10 equal-mass
    bins (Kadavath et al.'s) and 10 equal-width bins. Writes the usual run
    folder and report; rerunning resumes.
    """
    examples = """
\b
Examples:
  calibkit run triviaqa --limit 100                    # embedded SmolLM2, 10-shot, 10 samples at T=1
  calibkit run triviaqa --model gemma-3-270m --limit 100 --samples 5
  calibkit run triviaqa --model llama-2-7b-chat --brainstorm 5   # P(True) shown 5 sampled answers first
  calibkit run triviaqa --limit 200 --ptrue-shots 8    # few-shot P(True) from the model's own labelled answers
  calibkit run triviaqa --limit 100 --sample-temperature 0.5,1,1.5,2   # one run per sampling temperature
"""

    spec: ClassVar[Source] = SOURCES["triviaqa"]
    stop_rule_help: ClassVar[str] = ("Where a stop string ends an answer: after the answer's leading whitespace "
                                     "(calibkit's rule), or at its first occurrence anywhere (lm-eval's).")
    max_new_tokens_help: ClassVar[str] = "Bound on each answer's tokens."

    def data_options(self) -> list[click.Parameter]:
        """Where the questions come from."""
        return [
            click.Option(["--config", "hub_config"], default=DEFAULT_CONFIG, show_default=True,
                         help=f"TriviaQA config: {', '.join(CONFIGS)} (only the first is embedded)."),
            click.Option(["--split"], type=click.Choice(["validation", "train"]), default="validation",
                         show_default=True),
            click.Option(["--data"], default=None, metavar="PATH",
                         help="Hub-schema JSONL or question<TAB>aliases TSV; default: embedded copy, then the hub."),
        ]
