"""`calibkit run nq_open`: NQ-open free answers as lm-eval prompts, decodes and judges them, and the signals."""
from __future__ import annotations

from typing import ClassVar

import click

from calibkit.tasks.free_answer.nq_open_data import SPLITS, TASK
from calibkit.tasks.free_answer.specs import SOURCES, Source
from calibkit.tasks.free_answer.task import FreeAnswerTask


class NQOpen(FreeAnswerTask):
    """The free-answer run, signals and reports on NQ-open's row: lm-evaluation-harness's nq_open prompt and rule."""

    name = "nq_open"
    run_name = TASK
    title = "NQ-open free answers (lm-eval's prompt and decoding), P(True) and other signals"
    description = """Free-form NQ-open answers, judged and self-evaluated as for TriviaQA.

    The base-form prompt is lm-evaluation-harness's nq_open ("Answer these
    questions:", then "Q: <question>?\\nA:"; examples one line apart), the
    greedy answer is decoded as lm-eval decodes it (cut at the first "\\n",
    "." or "," anywhere, up to 256 new tokens) and is right when it equals
    any listed answer after lm-eval's normalisation (articles, case and
    ASCII punctuation ignored). Not lm-eval's: the chat form (calibkit's
    instruction and lm-eval's description in one user turn; lm-eval's
    --apply_chat_template makes the description a system message and adds
    no instruction), few-shot examples from the evaluated split (lm-eval:
    train), and the signals (samples, their agreement, sequence likelihood,
    P(True)), each calibrated. Writes the usual run folder and report;
    rerunning resumes.
    """
    examples = """
\b
Examples:
  calibkit run nq_open --limit 100                     # embedded SmolLM2, 0-shot as lm-eval
  calibkit run nq_open --model llama-2-7b --shots 5 --samples 10
  calibkit run nq_open --limit 100 --stop-rule after_leading_whitespace --max-new-tokens 32   # calibkit's decoding
"""
    spec: ClassVar[Source] = SOURCES["nq_open"]  # lm-eval's prompt, rule, 0 shots, max_gen_toks 256, cut anywhere
    stop_rule_help: ClassVar[str] = ("Where a stop string ends an answer: 'first' cuts at its first occurrence "
                                     "anywhere, as lm-eval does (default); 'after_leading_whitespace' reads past "
                                     "leading whitespace (calibkit's TriviaQA rule, not lm-eval's).")
    max_new_tokens_help: ClassVar[str] = "Bound on each answer's tokens; lm-eval's max_gen_toks is 256 (the default)."

    def data_options(self) -> list[click.Parameter]:
        return [
            click.Option(["--split"], type=click.Choice(SPLITS), default="validation", show_default=True),
            click.Option(["--data"], default=None, metavar="PATH",
                         help="JSONL/parquet/save_to_disk with question and answer (list); default: the embedded "
                              "copy, then the hub."),
        ]
