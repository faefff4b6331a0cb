"""`calibkit run tokens --model BASE --model CHAT`: token-level uncertainty of a base and a post-trained model."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import click

from calibkit.runs.store import RunStore
from calibkit.runs.task import Outcome
from calibkit.tasks.base import OwnReading, RunReading
from calibkit.tasks.freeform.pair import PairPlan, PairTask, load_question_set, question_options, roles

from .run import TASK

WRITERS = ("each", "base", "chat")


def writers(writer: str, models: Sequence[str]) -> tuple[str, ...]:
    """The roles whose answers are read: ``each`` -> every model."""
    named = roles(models)
    if writer == "each" or len(named) == 1:
        return named
    return (writer,)


class Tokens(OwnReading, PairTask):
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

    def plan(self, values: Mapping[str, Any]) -> PairPlan:
        from .run import TokenSettings, profile_into

        v = values
        questions = load_question_set(v)
        run = TokenSettings(writers=writers(v["writer"], v["models"]),
                            max_new_tokens=v["max_new_tokens"] or questions.max_new_tokens,
                            batch_size=v["batch_size"])
        return PairPlan(questions, dict(zip(roles(v["models"]), v["models"])), {**questions.config, **run.config()},
                        work=lambda readers, system_prompt: profile_into(questions, readers, run,
                                                                         system_prompt=system_prompt))

    def reading(self) -> RunReading:
        from . import report, study

        return RunReading.of(study, report)

    def compare(self, stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
        return compare_runs(stores, out=out, n_resamples=n_resamples)

    def paper_parts(self, stores: Sequence[RunStore]) -> list[Any]:
        return paper_parts(stores)


def compare_runs(stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
    """URIAL's shifted share per run on the questions all runs share, each paired with the first run
    (:func:`comparison_frame`), as a page, terminal text and JSON."""
    from calibkit.tasks.reporting import comparison_caption, comparison_outcome

    labels, n_items, frame = comparison_frame(stores, n_resamples=n_resamples)
    return comparison_outcome(frame, labels, n_items, out=out, title="calibkit: token profiles compared",
                              heading=f"Share of shifted tokens on {n_items} shared questions",
                              caption=comparison_caption(what="questions"), what="shared questions",
                              text_frame=frame.drop(columns="tokens"))


def comparison_frame(stores: Sequence[RunStore], *, n_resamples: int = 1000) -> tuple[list[str], int, Any]:
    """(run labels, shared questions, table): URIAL's shifted share per run, each paired with the first run.

    Per (answers by, read by) pair that every run holds: the share of
    shifted tokens (sum over answers of shifted tokens / tokens) with a
    bootstrap CI over questions, and its paired difference from the first
    run's (:func:`calibkit.stats.comparison.paired_comparison`); the
    ``tokens`` column counts the tokens behind each share, beside its n (questions).
    """
    from calibkit.stats.comparison import Measure, paired_comparison, shared
    from calibkit.stats.metrics import ratio_of_sums
    from calibkit.tasks.reporting import run_labels

    from .study import shifted_counts

    labels = run_labels(stores)
    aligned = shared({label: s.rows() for label, s in zip(labels, stores)}, key=lambda r: r["id"], what="questions")
    counts = {label: shifted_counts(rows) for label, rows in aligned.items()}
    pairs = [pair for pair in counts[labels[0]] if all(pair in c for c in counts.values())]
    measures = [Measure({"answers by": w, "read by": r, "metric": "shifted share"}, ratio_of_sums,
                        lambda c, pair=(w, r): c[pair]) for w, r in pairs]
    frame = paired_comparison(counts, measures, n_resamples=n_resamples)
    frame.insert(4, "tokens", [int(counts[r.run][(r[1], r[2])][1].sum()) for r in frame.itertuples(index=False)])
    return labels, len(next(iter(aligned.values()))), frame


def paper_parts(stores: Sequence[RunStore]) -> list[Any]:
    """The write-up's token-shift bars and table: the shifted share per (answers by, read by) pair and run."""
    from calibkit.paper import PaperPart, comparison_table, figures
    from calibkit.paper.parts import folders, relabel

    labels, n_items, frame = comparison_frame(stores)
    frame = relabel(frame, labels, stores)
    bars = frame.assign(benchmark=frame["answers by"] + " read by " + frame["read by"], model=frame["run"])
    return [PaperPart("tokens-shifted-bars", figures.grouped_bars(bars, metric="share of tokens shifted"),
                      folders(stores), caption=f"Share of the answers' tokens the reader ranks beyond 3 (URIAL's "
                                               f"shifted tokens) on {n_items} shared questions, 95% bootstrap "
                                               "intervals over questions."),
            PaperPart("tokens-shifted", comparison_table(
                frame.drop(columns=["tokens", "metric"]), name="tokens-shifted",
                caption=f"Share of shifted tokens (URIAL's token distribution shift) on {n_items} shared questions."),
                folders(stores))]
