"""Two models in one run (a base model and a post-trained one): the task base class, roles, options, loading,
the run folder, printing.

:class:`PairTask` is what tokens, nudging and rhymes share: `calibkit run
<name>` built from the task's own options and the model options, and one
run of the models together (:func:`run_pair`) from the task's
:class:`PairPlan`.

The run folder is ``<out>/<task>/<first>__<second>/<hash>/``; config.json
holds the task's settings and each model's settings under ``models``, so a
changed model or dtype is another folder and a rerun resumes: rows are
appended batch by batch (:func:`calibkit.runs.runner.append_in_batches`).
Under torchrun the ranks share the questions (:func:`run_pair`).
"""
from __future__ import annotations

import json
from abc import abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence, TypeVar

import click

from calibkit.errors import UserError
from calibkit.engine.chat import render_chat, render_context
from calibkit.engine.models import LoadedModel
from calibkit.records import Prompt
from calibkit.runs.command import MODEL_KEYS, MODEL_OPTIONS, command_launch, run_settings
from calibkit.runs.parallel import check_world_size, reports, share_items, tokens_counter
from calibkit.runs.runner import RunSettings, append_in_batches, load_run_model, model_config, open_store
from calibkit.runs.store import RunStore
from calibkit.runs.task import Outcome, TaskBase
from calibkit.tasks.base import OwnReading, RunReading
from calibkit.tasks.free_answer.layouts import generation_context
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.specs import QuestionSet, questions_option

if TYPE_CHECKING:
    from calibkit.engine.distributed import Ranks

N = TypeVar("N", int, float)


class ItemSet(Protocol):
    """What :func:`run_pair` reads of a task's items: a :class:`~.sources.QuestionSet`, rhymes' couplets, ..."""

    @property
    def questions(self) -> Sequence[Any]: ...  # the items, each with a stable ``id``


def roles(models: Sequence[str]) -> tuple[str, ...]:
    """The roles of a ``--model`` list: ``("base", "chat")`` for two models, ``("model",)`` for one.

    Example:
        >>> roles(["gemma-3-270m", "smollm2-135m-instruct"]), roles(["gemma-3-270m"])
        (('base', 'chat'), ('model',))
    """
    if len(models) == 2:
        return ("base", "chat")
    if len(models) == 1:
        return ("model",)
    raise UserError(f"--model was given {len(models)} times: give one model, or a base and a chat model "
                    "(--model BASE --model CHAT)")


def comma_numbers(text: str, *, option: str, kind: Callable[[str], N], what: str, example: str) -> tuple[N, ...]:
    """The distinct numbers of a comma-separated option, sorted; ``""`` -> ``()`` (the caller checks their range).

    Args:
        text: the option's value, e.g. ``"0.4, 0.1"``.
        option, what, example: for the one-line error, e.g. ``"--gamma"``,
            ``"numbers in [0, 1]"``, ``"0.2,0.4"``.
        kind: ``int`` or ``float``.

    Raises:
        UserError: an entry that is not a ``kind``.

    Example:
        >>> comma_numbers("4, 1,2,4", option="--k", kind=int, what="whole numbers", example="1,2")
        (1, 2, 4)
    """
    try:
        return tuple(sorted({kind(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        raise UserError(f"{option} {text!r}: give {what}, comma-separated (e.g. {example})") from None


@dataclass(frozen=True)
class Reader:
    """One loaded model, the role it plays and whether it reads prompts through its chat template."""

    role: str  # "base", "chat", "nudger", ...
    model: LoadedModel
    chat: bool


def load_pair(settings: RunSettings, models: Mapping[str, str]) -> dict[str, Reader]:
    """Each role's model, loaded once with the shared settings (``--chat-template auto`` decides per model)."""
    out = {}
    for role, name in models.items():
        loaded, chat = load_run_model(replace(settings, model=name))
        out[role] = Reader(role, loaded, chat)
    return out


def open_pair_run(task: str, task_config: Mapping[str, Any], readers: Mapping[str, Reader],
                  settings: RunSettings) -> RunStore:
    """Open (or resume) the run folder of ``task_config`` with these models."""
    models = {role: model_config(r.model, replace(settings, model=r.model.resolved.name), r.chat)
              for role, r in readers.items()}
    label = "__".join(r.model.resolved.slug for r in readers.values())
    config = {"task": task, **task_config, "model": " + ".join(r.model.resolved.name for r in readers.values()),
              "models": models}
    return open_store(task, label, config, settings)


def run_pair(task: str, questions: ItemSet, models: Mapping[str, str], settings: RunSettings,
             ranks: Ranks | None, *, task_config: Mapping[str, Any],
             work: Callable[[Mapping[str, Reader]], Callable[[RunStore, Sequence[Any], bool], None]],
             ) -> tuple[RunStore, int]:
    """Load the models, open the run folder and do the questions not stored yet; returns (store, how many now).

    Alone, or shared by the ranks of a torchrun launch
    (:func:`calibkit.runs.parallel.share_items`): each rank loads both
    models on its own device and answers its share of the questions.
    ``work(readers)`` gives the function that appends the rows of some
    questions to a store (:func:`batches_into`).
    """
    check_world_size(ranks, len(questions.questions))
    readers = (load_pair(settings, models) if ranks is None
               else ranks.check(lambda: load_pair(settings, models), "loading the models"))
    return share_items(ranks, questions.questions, work=work(readers), progress=settings.progress, desc=task,
                       open_store=lambda: open_pair_run(task, task_config, readers, settings),
                       count_tokens=tokens_counter(next(iter(readers.values())).model))


def batches_into(batch_rows: Callable[[Sequence[Question]], list[dict[str, Any]]], *, batch_size: int,
                 desc: str) -> Callable[[RunStore, Sequence[Question], bool], None]:
    """``work(store, questions, bars)`` for :func:`run_pair`: the rows of each batch appended as it is done."""
    def work(store: RunStore, questions: Sequence[Question], bars: bool) -> None:
        append_in_batches(store, questions, batch_rows, batch_size=batch_size, progress=bars, unit="question",
                          desc=desc)
    return work


def context_for(questions: QuestionSet, question: Question, reader: Reader,
                system_prompt: str | None = None) -> str:
    """The text a model continues to answer ``question``: its base-form prompt, or its chat template's."""
    ctx = generation_context(question, layout=questions.layout, instruction=questions.instruction)
    if reader.chat:
        return render_chat(reader.model.tokenizer, ctx.turns, system_prompt=system_prompt)
    return ctx.text


def answer_separator(questions: QuestionSet, question: Question, reader: Reader,
                     system_prompt: str | None = None) -> str | None:
    """How ``reader`` reads an answer after :func:`context_for`, by the scorer's rule.

    None in base form: the answer follows as written, its leading space
    kept (``Answer:`` + ``" Paris"``). In chat form the template's own
    separator (:func:`calibkit.engine.chat.assistant_separator`; ``" "``
    for Llama-2, ``""`` for ChatML), then the answer without its leading
    whitespace (``[/INST]`` + ``" "`` + ``"Paris"``).
    """
    if not reader.chat:
        return None
    ctx = generation_context(question, layout=questions.layout, instruction=questions.instruction)
    opened = render_chat(reader.model.tokenizer, ctx.turns, system_prompt=system_prompt)
    prompt = Prompt(id=question.id, task="answer", text=ctx.text, options=(" answer",), turns=ctx.turns)
    scored, _ = render_context(prompt, reader.model.tokenizer, chat=True, system_prompt=system_prompt)
    return scored[len(opened):] if scored.startswith(opened) else ""


def question_options() -> list[click.Option]:
    """The options that say which questions a two-model command asks, and in what batches."""
    return [
        *questions_option(),
        click.Option(["--data"], default=None, metavar="PATH", help="The task's data (gsm8k and file need it)."),
        click.Option(["--limit"], type=click.IntRange(min=1), default=100, show_default=True),
        click.Option(["--shots"], type=click.IntRange(0, 20), default=None,
                     help="Few-shot examples (default: the task's own)."),
        click.Option(["--max-new-tokens"], type=click.IntRange(1, 1024), default=None,
                     help="Per answer (default: the task's, 256 for gsm8k)."),
        click.Option(["--batch-size"], type=click.IntRange(min=1), default=16, show_default=True,
                     help="Questions per batch (each batch is stored as soon as it is done)."),
        click.Option(["--seed"], type=int, default=0, show_default=True, help="Few-shot draw."),
    ]


def load_question_set(values: Mapping[str, Any]) -> QuestionSet:
    """The questions :func:`question_options`' values ask for (``source``, ``data``, ``limit``, ``shots``, ``seed``)."""
    from calibkit.tasks.free_answer.specs import load_questions

    return load_questions(values["source"], data=values["data"], limit=values["limit"], shots=values["shots"],
                          seed=values["seed"])


def run_here(store: RunStore, items: Sequence[Any], work: Callable[[RunStore, Sequence[Any], bool], None], *,
             progress: bool = True) -> int:
    """A two-model run's items not stored yet, done in this process (a notebook's call); returns how many now."""
    return share_items(None, items, open_store=lambda: store, work=work, progress=progress)[1]


def print_run(store: RunStore, page: Path, text: Callable[[Mapping[str, Any]], str], *, n_total: int, n_now: int,
              as_json: bool) -> None:
    """The run's summary on stdout (as JSON, or as lines with the report's path); the resume count on stderr."""
    summary = store.read_summary()
    if as_json:
        click.echo(json.dumps({**summary, "report": str(page)}, indent=2, default=str))
        return
    click.echo(f"{n_total - n_now} questions were already done, {n_now} done now", err=True)
    click.echo(text(summary))
    click.echo(f"report: {page}")


Work = Callable[[RunStore, Sequence[Any], bool], None]  # work(store, items, bars): append the rows of items


@dataclass(frozen=True)
class PairPlan:
    """What one `calibkit run <pair task>` runs, read off its option values (data read, no model loaded)."""

    items: ItemSet  # the questions or couplets; ``items.config`` is their part of config.json
    models: Mapping[str, str]  # role -> model name, in the order they are loaded
    config: Mapping[str, Any]  # the task's part of config.json
    work: Callable[[Mapping[str, Reader], str | None], Work]  # (readers, system prompt) -> the rows' writer
    notes: tuple[str, ...] = ()  # lines for stderr before the summary (e.g. items left out)


def question_plan(values: Mapping[str, Any], models: Mapping[str, str], settings: Callable[..., Any],
                  into: Callable[..., Work], **own: Any) -> PairPlan:
    """The plan of a run that asks :func:`question_options`' questions (tokens, nudging).

    The run's settings are ``settings(**own, max_new_tokens=, batch_size=)``
    (``--max-new-tokens``, else the source's), their ``config()`` its part
    of config.json beside the questions'; ``into(questions, readers,
    settings, system_prompt=)`` is the work that appends the rows
    (:meth:`.batches.QuestionRun.into`).
    """
    questions = load_question_set(values)
    run = settings(**own, max_new_tokens=values["max_new_tokens"] or questions.max_new_tokens,
                   batch_size=values["batch_size"])
    return PairPlan(questions, models, {**questions.config, **run.config()},
                    work=lambda readers, system_prompt: into(questions, readers, run, system_prompt=system_prompt))


class PairTask(OwnReading, TaskBase):
    """A task that runs two models together (or one): its command is its own options plus the model options.

    A subclass gives :meth:`options` (``--model`` and the like among them),
    :meth:`plan` and :meth:`own_modules`; loading the models, the run
    folder, resuming, torchrun and printing are here, and the reading side
    is its own modules': ``study.summarize_store``, ``report.write_run_report``,
    ``report.summary_text``, ``report.compare_runs`` and ``report.paper_parts``.
    ``--tp`` is refused: the models run data parallel.
    """

    @abstractmethod
    def own_modules(self) -> tuple[ModuleType, ModuleType]:
        """The task's own ``(study, report)`` modules, imported in the method (they pull in pandas and plotly,
        which building the command line never needs)::

            def own_modules(self) -> tuple[ModuleType, ModuleType]:
                from . import report, study

                return study, report
        """

    def reading(self) -> RunReading:
        return RunReading.of(*self.own_modules())

    def compare(self, stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
        _, report = self.own_modules()
        return report.compare_runs(stores, out=out, n_resamples=n_resamples)

    def paper_parts(self, stores: Sequence[RunStore]) -> list[Any]:
        _, report = self.own_modules()
        return report.paper_parts(stores)

    @abstractmethod
    def options(self) -> list[click.Option]:
        """The task's own options, the models among them (the model options are added after them)."""

    def check(self, values: Mapping[str, Any]) -> None:
        """Refuse bad option values before anything is loaded (``UserError``); by default nothing to check."""

    @abstractmethod
    def plan(self, values: Mapping[str, Any]) -> PairPlan:
        """The run the option values ask for (reads the data; loads no model)."""

    def run_command(self) -> click.Command:
        passed = [o for o in MODEL_OPTIONS if o.name not in ("model", "run_dir")]
        return click.Command(self.name, params=[*self.options(), *passed], help=self.description,
                             short_help=self.title, epilog=self.examples, callback=self.run_from_command_line)

    def run_from_command_line(self, **values: Any) -> None:
        """`calibkit run <name> ...`: load -> run the items not stored yet -> report -> print."""
        own = {k: v for k, v in values.items() if k not in MODEL_KEYS}
        self.check(own)
        model_options = {**{k: v for k, v in values.items() if k in MODEL_KEYS}, "model": None, "run_dir": None}
        with command_launch(self.run_name, run_settings, model_options, tensor_parallel=False) as (settings, ranks):
            plan = self.plan(own)
            store, n_now = run_pair(self.run_name, plan.items, plan.models, settings, ranks, task_config=plan.config,
                                    work=lambda readers: plan.work(readers, settings.system_prompt))
            if reports(ranks):
                for note in plan.notes:
                    click.echo(note, err=True)
                print_run(store, self.write_report(store), self.summary_text, n_total=len(plan.items.questions),
                          n_now=n_now, as_json=values["as_json"])
