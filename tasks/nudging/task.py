"""`calibkit run nudging --base BASE --nudger CHAT`: Nudging (Fei et al. 2024) at one or more gammas."""
from __future__ import annotations

from types import ModuleType
from typing import Any, Mapping

import click

from calibkit.errors import UserError
from calibkit.tasks.freeform.pair import PairPlan, PairTask, comma_numbers, question_options, question_plan

from .run import TASK

RULES = ("reference", "word-start")  # calibkit.engine.nudging.RULES, named here so building the CLI imports no torch


def parse_gammas(text: str) -> tuple[float, ...]:
    """``"0.1,0.4"`` -> (0.1, 0.4); each in [0, 1].

    Example:
        >>> parse_gammas("0.4, 0.1")
        (0.1, 0.4)
    """
    values = comma_numbers(text, option="--gamma", kind=float, what="numbers in [0, 1]", example="0.2,0.4")
    if not values or not all(0.0 <= g <= 1.0 for g in values):
        raise UserError(f"--gamma {text!r}: every gamma must be in [0, 1]")
    return values


class Nudging(PairTask):
    """`calibkit run nudging`: a base model and a nudger write one answer together."""

    name = "nudging"
    run_name = TASK
    title = "Nudging: a base model answers, a chat model writes the words it is unsure of"
    description = """Nudging (Fei et al. 2024): a base model and a small chat model (the nudger) write one answer;
    the nudger writes where the base model's top-1 probability is below gamma (a hand-over by text, so the
    tokenizers may differ).

    --rule reference (the default) is the authors' code (github.com/fywalter/nudging, utils.py): each round the
    nudger writes 16 tokens; its first word is kept, and the base model takes over at the first later word that
    begins with the base model's next token or where that token's top-1 probability is at least gamma; it then
    writes while its top-1 is at least gamma, in chunks of 16 tokens, and its end-of-sequence hands back to the
    nudger, whose end-of-sequence ends the answer. So the nudger writes the first word at any gamma. With their
    repetition checks (a repeated chunk hands back; the same nudged words three rounds running, or 150 rounds,
    end the answer). Departures: --max-new-tokens counts model tokens and cuts exactly (theirs: GPT-3.5 tokens
    between rounds); the task's stop strings end an answer; their final clean-up (strip, drop repeated
    suffixes) is not applied; the nudger reads the answer after its chat template's separator.

    --rule word-start is calibkit's variant: the base model decodes, and at each word's start where its top-1
    is below gamma the nudger writes that one word (gamma 0: the base model alone; 1: the nudger word by word).

    Per question: the base model alone, the nudger alone and nudged at each
    gamma, judged by the task's matcher; the report gives accuracy with
    paired tests, the share and kind of nudged words (the answer's
    whitespace-separated words; function vs content, position) and
    calibration of each answer's base-model likelihood. Rerunning resumes.
    """
    examples = """
\b
Examples:
  calibkit run nudging --limit 100                      # gemma-3-270m nudged by smollm2-135m-instruct, TriviaQA
  calibkit run nudging --questions basic_arithmetic --gamma 0.1,0.2,0.4,0.6
  calibkit run nudging --rule word-start --gamma 0,0.4,1      # calibkit's variant: 0 is the base model alone
  calibkit run nudging --base llama-2-70b --nudger llama-2-7b-chat --questions gsm8k --data gsm8k_test.jsonl
"""

    def options(self) -> list[click.Option]:
        return [
            click.Option(["--base"], default="gemma-3-270m", show_default=True, help="The base model that decodes."),
            click.Option(["--nudger"], default="smollm2-135m-instruct", show_default=True,
                         help="The post-trained model that writes the words the base model is unsure of."),
            click.Option(["--gamma"], default="0.4", show_default=True, metavar="G[,G...]",
                         help="The nudger writes where the base model's top-1 probability is below gamma."),
            click.Option(["--rule"], type=click.Choice(RULES), default="reference", show_default=True,
                         help="reference: the authors' code (rounds of 16 nudger tokens, the base model takes over "
                              "at a word it predicts or is sure of); word-start: calibkit's variant (the nudger "
                              "writes each word whose start the base model is unsure of). See above."),
            *question_options(),
        ]

    def check(self, values: Mapping[str, Any]) -> None:
        parse_gammas(values["gamma"])

    def own_modules(self) -> tuple[ModuleType, ModuleType]:
        from . import report, study

        return study, report

    def plan(self, values: Mapping[str, Any]) -> PairPlan:
        from .run import NudgingSettings, nudge_into

        return question_plan(values, {"base": values["base"], "nudger": values["nudger"]}, NudgingSettings, nudge_into,
                             gammas=parse_gammas(values["gamma"]), rule=values["rule"])
