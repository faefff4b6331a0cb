"""`calibkit run tokens --model BASE --model CHAT`: token-level uncertainty of a base and a post-trained model."""
from __future__ import annotations

from types import ModuleType
from typing import Any, Mapping, Sequence

import click

from calibkit.tasks.freeform.pair import PairPlan, PairTask, question_options, question_plan, roles

from .run import TASK

WRITERS = ("each", "base", "chat")


def writers(writer: str, models: Sequence[str]) -> tuple[str, ...]:
    """The roles whose answers are read: ``each`` -> every model."""
    named = roles(models)
    if writer == "each" or len(named) == 1:
        return named
    return (writer,)


class Tokens(PairTask):
    """`calibkit run tokens`: one or two models answer, and both read every answer."""

    name = "tokens"
    run_name = TASK
    title = "Token profiles: how sure a base and a chat model are of each word of each other's answers"
    description = """Token-level uncertainty of a base model and a post-trained one (URIAL, Lin et al. 2023).

    Each model (or the one --writer) answers greedily; every answer is read by
    both models in one batched, prefix-cached forward pass each: per token the
    log-prob, the entropy of the next-token distribution, the top-1
    probability and the rank; per word (aligned on character offsets, so the
    tokenizers may differ) each model's reading. The report gives URIAL's
    unshifted / marginal / shifted shares with CIs, their position in the
    answer, function vs content words among the shifted ones, and the answers
    coloured by the base model's uncertainty. Rerunning resumes.
    """
    examples = """
\b
Examples:
  calibkit run tokens --model gemma-3-270m --model smollm2-135m-instruct --limit 100
  calibkit run tokens --model llama-2-7b --model llama-2-7b-chat --questions nq_open --writer chat
  calibkit run tokens --model smollm2-135m-instruct --questions file --data prompts.jsonl
"""

    def options(self) -> list[click.Option]:
        return [
            click.Option(["--model", "models"], multiple=True, required=True, metavar="NAME",
                         help="The base model, then the post-trained one (or one model on its own)."),
            click.Option(["--writer"], type=click.Choice(WRITERS), default="each", show_default=True,
                         help="Whose answers are read: each model's, or only the base's or the chat model's."),
            *question_options(),
        ]

    def check(self, values: Mapping[str, Any]) -> None:
        roles(values["models"])

    def own_modules(self) -> tuple[ModuleType, ModuleType]:
        from . import report, study

        return study, report

    def plan(self, values: Mapping[str, Any]) -> PairPlan:
        from .run import TokenSettings, profile_into

        models = values["models"]
        return question_plan(values, dict(zip(roles(models), models)), TokenSettings, profile_into,
                             writers=writers(values["writer"], models))
