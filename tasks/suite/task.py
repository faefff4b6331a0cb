"""`calibkit run suite`: a command that runs other tasks, one model after another, and owns no runs of its own."""
from __future__ import annotations

import json
from typing import Any

import click

from calibkit.runs.command import MODEL_OPTIONS, command_launch, run_settings

from .sets import SUITES

NAME = "suite"
TITLE = "a named set of benchmarks, base vs chat side by side"
DESCRIPTION = """Run every task of a named set (default: kadavath) for each --model.

    Each task gets its own resumable run folder and report; then one page
    and CSV hold accuracy, ECE, Brier and AUROC with 95% CIs and n per
    benchmark, and with two models (--model BASE --model CHAT) each
    benchmark's paired differences (chat minus base, smooth ECE first) with
    the paired permutation test's p-values. Below 20 items a benchmark gets
    its estimates without intervals (and below 6 without p-values), and says
    why.
    """
EXAMPLES = """
\b
Examples:
  calibkit run suite --limit 20                                   # embedded SmolLM2, kadavath set
  calibkit run suite --model llama-2-7b --model llama-2-7b-chat --load-in-4bit
  calibkit run suite --suite lm-eval --model gemma-3-270m --model smollm2-135m-instruct --limit 200
"""


def suite_command() -> click.Command:
    """`calibkit run suite`: the model options with --model repeatable, and the suite's own."""
    options = [o for o in MODEL_OPTIONS if o.name not in ("model", "run_dir")]
    own = [
        click.Option(["--model", "models"], multiple=True, metavar="NAME",
                     help="A model to run (repeat for base vs chat; the first is the reference). "
                          "Default: smollm2-135m-instruct."),
        click.Option(["--suite"], type=click.Choice(list(SUITES)), default="kadavath", show_default=True),
        click.Option(["--limit"], type=click.IntRange(min=1), default=None,
                     help="First N items of each task (MMLU: of each subject)."),
        click.Option(["--resamples"], type=click.IntRange(min=100), default=1000, show_default=True),
    ]
    return click.Command(NAME, params=[*own, *options], help=DESCRIPTION, short_help=TITLE, epilog=EXAMPLES,
                         callback=_suite_command)


def _suite_command(*, models: tuple[str, ...], suite: str, limit: int | None, resamples: int, as_json: bool,
                   **opts: Any) -> None:
    from .run import run_suite
    from .study import suite_text

    model_options = {**opts, "model": None, "run_dir": None}  # the command's own options name the models
    with command_launch(NAME, run_settings, model_options) as (settings, ranks):
        outcome = run_suite(list(models) or [settings.model], suite=suite, limit=limit, settings=settings,
                            n_resamples=resamples, ranks=ranks)
    if outcome is None:  # not rank 0: rank 0 writes the page and prints
        return
    if as_json:
        click.echo(json.dumps({**outcome.study.to_json(), "report": str(outcome.report), "csv": str(outcome.csv)},
                              indent=2))
        return
    click.echo(suite_text(outcome.study))
    click.echo(f"report: {outcome.report}")
