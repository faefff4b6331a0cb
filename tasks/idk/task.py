"""`calibkit run idk` (the abstention benchmark) and `calibkit idk build` (the dataset builder)."""
from __future__ import annotations

import datetime
import functools
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import click

from calibkit.runs.runner import ActiveRun, Job
from calibkit.runs.store import RunStore
from calibkit.tasks.base import OwnReading, RunReading, Task
from calibkit.tasks.free_answer.comparing import Comparing, ComparisonWords, PairedComparing
from calibkit.tasks.free_answer.specs import renamed_option

from .dataset import SPLITS, DatasetError, Thresholds, read_dataset
from .run import TASK, IdkItem, items_of, run_idk

#: what reads the replies (config.json): a run judged by another rule is another run
JUDGE = "abstain.judge 2: word-boundary phrases, quotes and titles masked, hedges; likelihood by per-token means"
#: what `calibkit compare` of idk runs says around its table
COMPARISON = ComparisonWords(
    title="calibkit: \"I don't know\" comparison", heading="Rates", items="rows", unit="rows",
    part="idk-rates", part_caption="\"I don't know\" rates",
    details="The twin-paired rates (a category, or 'all') are over the constructed pairs both runs replied to: "
            "abstention_paired on the unanswerable rows, over_abstention_twins on their answerable twins, "
            "evasive_pairs (declined both), and discrimination (the first minus the second, pairs resampled "
            "together); each run is paired with the first over the same pairs.")


class IdkBenchmark(OwnReading, PairedComparing, Task):
    name = "idk"
    run_name = TASK
    title = "abstention benchmark: does the model say \"I don't know\" when it should?"
    description = """Ask every prompt of an "I don't know" dataset (from `calibkit idk build`) and read the replies.

    Reports over-abstention (abstaining on answerable rows), abstention and
    under-abstention on unanswerable rows, accuracy of the answers given,
    the share of appropriate replies against the model's confidence
    (risk-coverage), per reason and source; and, pair by pair, abstention on
    each constructed unanswerable row against over-abstention on its
    answerable twin (evasiveness), per category, with paired intervals.
    Replies are read by tasks/idk/abstain.py's judge. Compare base and chat
    with `calibkit compare`. Rerunning resumes.
    """
    examples = """
\b
Examples:
  calibkit idk build --model smollm2-135m-instruct --limit 200 --out idk-smollm2
  calibkit run idk --dataset idk-smollm2 --model smollm2-135m-instruct
  calibkit run idk --dataset idk-llama --model llama-2-7b --likelihood
"""

    def reading(self) -> RunReading:
        from . import report, study

        return RunReading.of(study, report)

    def options(self) -> list[click.Parameter]:
        return [
            click.Option(["--dataset"], required=True, type=click.Path(path_type=Path),
                         help="A folder written by `calibkit idk build`."),
            click.Option(["--split"], type=click.Choice(SPLITS), default="test", show_default=True),
            click.Option(["--limit"], type=click.IntRange(min=1), default=None, help="First N rows of the split."),
            click.Option(["--max-new-tokens"], type=click.IntRange(1, 512), default=64, show_default=True),
            click.Option(["--likelihood"], is_flag=True,
                         help="Also read \" I don't know.\" and count a reply as an abstention when its per-token "
                              "mean log-probability beats the reply's own (means, not totals: a short phrase is not "
                              "favoured over a long reply for its length)."),
        ]

    def load(self, options: Mapping[str, Any]) -> list[Job]:
        o = options
        rows = read_dataset(o["dataset"], split=o["split"])[: o["limit"]]
        if not rows:
            raise DatasetError(f"--dataset {o['dataset']}: the {o['split']} split is empty; pick another --split")
        config = {"dataset": str(Path(o["dataset"]).resolve().name), "split": o["split"], "limit": o["limit"],
                  "max_new_tokens": o["max_new_tokens"], "likelihood": o["likelihood"], "judge": JUDGE,
                  "data_source": str(Path(o["dataset"]).resolve())}
        return [Job(items=items_of(rows), config=config)]

    def run(self, run: ActiveRun, items: Sequence[IdkItem]) -> None:
        run_idk(run, items)

    def paper_parts(self, stores: Sequence[RunStore]) -> list[Any]:
        """The rates table (runs paired with the first) and a copy of each dataset the runs read, with its card."""
        from calibkit.paper import Attachment, PaperPart

        parts = [self.comparison_part(stores)]
        datasets = list(dict.fromkeys(str(s.config["data_source"]) for s in stores if s.config.get("data_source")))
        for source in datasets:
            if Path(source).is_dir():  # the folder `calibkit idk build` wrote (the card beside the rows)
                name = "idk-dataset" if len(datasets) == 1 else f"idk-dataset-{Path(source).name}"
                parts.append(PaperPart(name, Attachment((Path(source),)),
                                       tuple(str(s.path) for s in stores if s.config.get("data_source") == source)))
        return parts

    def comparing(self) -> Comparing:
        from .study import compare_runs

        return Comparing(compare_runs, COMPARISON)



def idk_command() -> click.Group:
    """`calibkit idk build`, with the shared model options (listed in ``calibkit.tasks.COMMANDS``)."""
    from calibkit.runs.command import MODEL_OPTIONS, run_settings

    return idk_group(MODEL_OPTIONS, run_settings)


def idk_group(model_options: Sequence[click.Option], settings_of: Callable[[dict], Any]) -> click.Group:
    """`calibkit idk build`: the model options (runs go to --runs) and the builder's own."""
    from .build import SOURCES

    passed = [o for o in model_options if o.name not in ("out", "run_dir", "as_json")]
    own = [
        click.Option(["--out"], required=True, type=click.Path(path_type=Path), help="The dataset folder to write."),
        click.Option(["--runs"], type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
                     help="Where the P(IK) and MMLU runs go (and are resumed from)."),
        click.Option(["--questions", "sources"], multiple=True, default=("triviaqa", "nq_open"), show_default=True,
                     metavar="NAME", help=f"Model-relative question sets: {', '.join(SOURCES)} (repeat)."),
        renamed_option("--source", "--questions"),
        click.Option(["--limit"], type=click.IntRange(min=1), default=200, show_default=True,
                     help="Questions per source (MMLU: spread over its 57 subjects)."),
        click.Option(["--samples"], type=click.IntRange(min=0), default=10, show_default=True,
                     help="T=1 samples per free-answer question."),
        click.Option(["--answer-threshold"], type=float, default=0.8, show_default=True,
                     help="Known: greedy right and at least this share of samples right."),
        click.Option(["--idk-threshold"], type=float, default=0.2, show_default=True,
                     help="Unknown: greedy wrong and at most this share of samples right..."),
        click.Option(["--pik-threshold"], type=float, default=0.5, show_default=True,
                     help="...and a prompted P(IK) at most this."),
        click.Option(["--cutoff"], type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                     help="The model's training cutoff (YYYY-MM-DD); adds questions about events after it."),
        click.Option(["--seed"], type=int, default=0, show_default=True),
    ]

    @click.group("idk", help="The \"I don't know\" dataset (see also `calibkit run idk`).")
    def group() -> None:
        """The "I don't know" dataset."""

    group.add_command(click.Command(
        "build", params=[*own, *passed], callback=functools.partial(_build_command, settings_of),
        help="Build a dataset of prompts with informative answers and \"I don't know\" responses for one model.",
        epilog="\b\nExamples:\n  calibkit idk build --model smollm2-135m-instruct --limit 200 --out idk-smollm2\n"
               "  calibkit idk build --model llama-2-7b-chat --cutoff 2022-09-30 --questions mmlu --questions triviaqa "
               "--out idk-llama"))
    return group


def _build_command(settings_of: Callable[[dict], Any], *, out: Path, runs: Path, sources: tuple[str, ...],
                   limit: int, samples: int, answer_threshold: float, idk_threshold: float, pik_threshold: float,
                   cutoff: datetime.datetime | None, seed: int, **model: Any) -> None:
    from .build import BuildSettings, build

    settings = BuildSettings(sources=tuple(sources), limit=limit, samples=samples, seed=seed,
                             thresholds=Thresholds(answer=answer_threshold, idk=idk_threshold, pik=pik_threshold),
                             cutoff=None if cutoff is None else cutoff.date())
    outcome = build(settings, settings_of({**model, "out": runs, "run_dir": None, "as_json": False}), out)
    kinds = {k: sum(r.kind == k for r in outcome.rows) for k in ("answer", "abstain")}
    model = sum(r.source != "constructed" for r in outcome.rows)
    pairs = sum(bool(r.pair) and r.kind == "abstain" for r in outcome.rows)
    click.echo(f"{len(outcome.rows)} rows ({kinds['answer']} answer, {kinds['abstain']} abstain): {model} from the "
               f"model's own runs, {len(outcome.rows) - model} constructed ({pairs} abstentions, each with its "
               "answerable twin); left out: " + ", ".join(f"{s} {n}" for s, n in outcome.left_out.items()))
    click.echo(f"dataset: {outcome.folder} (README.md is its card)")
