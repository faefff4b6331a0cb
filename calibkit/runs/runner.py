"""The run start-up and resume loop every task shares: load -> open -> skip what is stored -> append.

A task's command describes one or more runs as :class:`Job` records (its
items and its part of config.json). :func:`run_jobs` loads the model once,
opens each run's folder (``runs/<task>/<model>/<config-hash>/``, or resumes
it), hands the task only the items not yet stored, and the task appends
rows as batches finish (:func:`score_into` for scored prompts,
:func:`run_in_batches` for anything else). Analysis and drawing happen
afterwards, from disk. This module never computes a metric.
"""
from __future__ import annotations

import datetime as _dt
import platform
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Mapping, Sequence, TypeVar

from calibkit.engine.models import DEFAULT_MODEL, LoadedModel, LoadOptions, ModelError, load_model
from calibkit.progress import ProgressBar
from calibkit.records import Prompt
from calibkit.runs.parallel import check_world_size, share_items, tokens_counter
from calibkit.runs.prompts import Reading, scored_reading
from calibkit.runs.source import COMMAND_LINE, calibkit_commit, command_text
from calibkit.runs.store import RunStore

if TYPE_CHECKING:
    from calibkit.engine.distributed import Ranks

T = TypeVar("T")


@dataclass(frozen=True)
class RunSettings:
    """Model and engine settings shared by every task's ``run``."""

    model: str = DEFAULT_MODEL  # alias, embedded name, hub id, folder or .gguf file
    load: LoadOptions = field(default_factory=LoadOptions)  # dtype, quantization, device map, revision
    chat_template: str = "auto"  # auto: on when the tokenizer has a chat template; on; off
    system_prompt: str | None = None  # chat form: a system turn before each conversation
    token_budget: int | None = None  # scorer batch budget in tokens; None picks by device
    prefix_caching: bool = True  # reuse shared-prefix KV caches (numbers do not change)
    progress: bool = True  # progress bar on stderr
    out: Path = Path("runs")  # runs go to out/<task>/<model>/<config-hash>/
    run_dir: Path | None = None  # an explicit run folder instead of the hashed one
    command: tuple[str, ...] | None = None  # the command line recorded in config.json; None: the CLI's, if any


@dataclass(frozen=True)
class RunOutcome:
    """What a run call did."""

    store: RunStore  # the run folder
    n_total: int  # items in the run
    n_scored_now: int  # items done by this call (the rest were on disk)


@dataclass(frozen=True)
class Job:
    """One run a task's command asks for, before any model is loaded."""

    items: Sequence[Any]  # what the task's run consumes (prompts, questions...); each has a unique .id
    config: Mapping[str, Any]  # the task's part of config.json: everything of the task that determines the numbers
    subfolder: str | None = None  # with an explicit --run-dir, this run goes to run_dir/subfolder (one command, several runs)


@dataclass(frozen=True)
class ActiveRun:
    """A run folder opened for a loaded model: what a task's ``run`` writes into."""

    model: LoadedModel  # the model and its tokenizer
    chat: bool  # prompts go through the model's chat template
    store: RunStore  # the run folder; rows are appended to it
    settings: RunSettings  # model and engine settings of the command


class ItemRunner(ABC):
    """What :func:`run_jobs` calls: the part of a task that writes rows (:class:`calibkit.runs.task.Task` extends it).

    A study's own runner (a batch size, one fixed set of prompts) subclasses
    this alone.
    """

    run_name: ClassVar[str]  # config["task"] and the runs/<run_name>/ folder

    def prepare(self, run: ActiveRun, items: Sequence[Any]) -> None:
        """What the run decides once, before any row (recorded in config.json), from every item still to do.

        Called before the items are shared out over the ranks of a launch;
        the default decides nothing.
        """

    @abstractmethod
    def run(self, run: ActiveRun, items: Sequence[Any]) -> None:
        """Write rows to ``run.store`` for ``items`` (those not stored yet), batch by batch."""


def versions() -> dict[str, str]:
    """Versions of the packages that can move the numbers."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("calibkit", "torch", "transformers", "tokenizers", "numpy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def use_chat(loaded: LoadedModel, mode: str) -> bool:
    """Resolve ``--chat-template auto|on|off`` for a loaded model."""
    if mode == "auto":
        return loaded.has_chat_template
    if mode == "on":
        if not loaded.has_chat_template:
            raise ModelError(f"{loaded.resolved.name!r} has no chat template; use --chat-template off or auto")
        return True
    if mode == "off":
        return False
    raise ModelError(f"unknown --chat-template {mode!r}; use auto, on or off")


def model_config(loaded: LoadedModel, settings: RunSettings, chat: bool) -> dict[str, Any]:
    """The model part of config.json."""
    r = loaded.resolved
    return {
        "model": r.name,
        "model_source": r.source if r.kind in ("alias", "hub") else r.kind,
        "model_file": r.gguf_file,
        "revision": settings.load.revision,
        "dtype": loaded.dtype,
        "quantization": loaded.quantization,
        "chat_template": chat,
        "system_prompt": settings.system_prompt,
        "n_parameters": loaded.n_parameters,
    }


def open_store(task: str, slug: str, config: Mapping[str, Any], settings: RunSettings) -> RunStore:
    """The run folder for a config (explicit ``run_dir`` or the hashed default), held for writing.

    The process becomes the folder's one writer before anything is written
    (:mod:`calibkit.runs.lock`) and stays it until it ends, through the
    summary and report; under torchrun / accelerate launch rank 0 holds it
    for the launch, and the other ranks write only their own rank files.
    """
    from calibkit.engine.distributed import launch_from_env

    full = dict(config)
    full["versions"] = versions()
    commit, dirty = calibkit_commit()
    if commit is not None:  # calibkit runs from a checkout: which commit (and whether edited) made the numbers
        full["versions"].update(calibkit_commit=commit, calibkit_dirty=dirty)
    command = command_text(settings.command if settings.command is not None else COMMAND_LINE.get())
    if command is not None:  # where the run came from; not hashed (calibkit.runs.store)
        full["command"] = command
    full["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    hold = launch_from_env().main
    if settings.run_dir is not None:
        return RunStore.at(settings.run_dir, config=full, hold=hold)
    return RunStore.create(settings.out, task=task, model=slug, config=full, hold=hold)


def load_run_model(settings: RunSettings, *, loaded: LoadedModel | None = None) -> tuple[LoadedModel, bool]:
    """The model of a run (``loaded`` when given) and whether its prompts use the chat template."""
    loaded = loaded or load_model(settings.model, options=settings.load)
    return loaded, use_chat(loaded, settings.chat_template)


def open_run(
    task: str, task_config: Mapping[str, Any], model: LoadedModel, chat: bool, settings: RunSettings,
    *, on_store: Callable[[RunStore], None] | None = None, subfolder: str | None = None,
) -> ActiveRun:
    """Open (or resume) the run folder of ``task_config`` plus the model's settings.

    ``on_store`` is called with the store as soon as it is open, so a caller
    can say where results go even if the run is interrupted.
    """
    config = {"task": task, **task_config, **model_config(model, settings, chat)}
    if subfolder is not None and settings.run_dir is not None:
        settings = replace(settings, run_dir=settings.run_dir / subfolder)
    store = open_store(task, model.resolved.slug, config, settings)
    if on_store is not None:
        on_store(store)
    return ActiveRun(model=model, chat=chat, store=store, settings=settings)


def start_run(
    task: str, task_config: Mapping[str, Any], settings: RunSettings, *,
    loaded: LoadedModel | None = None, on_store: Callable[[RunStore], None] | None = None,
) -> ActiveRun:
    """:func:`load_run_model` then :func:`open_run`."""
    model, chat = load_run_model(settings, loaded=loaded)
    return open_run(task, task_config, model, chat, settings, on_store=on_store)


def run_jobs(
    task: ItemRunner, jobs: Sequence[Job], settings: RunSettings, *,
    loaded: LoadedModel | None = None, on_store: Callable[[RunStore], None] | None = None,
    ranks: Ranks | None = None,
) -> list[RunOutcome]:
    """Run every job of a task with one model load; each resumes what its folder already holds.

    ``ranks``: the processes of a torchrun / accelerate launch, which share
    the work (:mod:`calibkit.runs.parallel`); every rank calls this with the
    same arguments. The task's :meth:`~ItemRunner.prepare` is called with
    every item still to do before they are shared out.
    """
    for job in jobs:
        job_ids = [it.id for it in job.items]
        if len(set(job_ids)) != len(job_ids):
            raise ValueError(f"{task.run_name}: the items repeat ids; each item must appear once in a run")
    check_world_size(ranks, min(len(job.items) for job in jobs), tensor_parallel=settings.load.tensor_parallel)
    if ranks is not None and ranks.launch.parallel:
        model, chat = ranks.check(lambda: load_run_model(settings, loaded=loaded), "loading the model")
    else:
        model, chat = load_run_model(settings, loaded=loaded)
    return [_run_job(task, job, model, chat, settings, ranks, on_store=on_store) for job in jobs]


def _run_job(task: ItemRunner, job: Job, model: LoadedModel, chat: bool, settings: RunSettings,
             ranks: Ranks | None, *, on_store: Callable[[RunStore], None] | None) -> RunOutcome:
    """One job, alone or shared by the ranks (:func:`calibkit.runs.parallel.share_items`)."""
    opened: list[ActiveRun] = []

    def open_store() -> RunStore:
        opened.append(open_run(task.run_name, job.config, model, chat, settings, on_store=on_store,
                               subfolder=job.subfolder))
        return opened[-1].store

    def as_run(store: RunStore, bars: bool | None = None) -> ActiveRun:
        run = replace(opened[-1], store=store)
        return run if bars is None else replace(run, settings=replace(run.settings, progress=bars))

    store, n_now = share_items(
        ranks, job.items, open_store=open_store, work=lambda store, items, bars: task.run(as_run(store, bars), items),
        prepare=lambda store, todo: task.prepare(as_run(store), todo),
        count_tokens=tokens_counter(model), prefix_caching=settings.prefix_caching,
        tensor_parallel=settings.load.tensor_parallel,
        progress=settings.progress, desc=task.run_name)
    return RunOutcome(store=store, n_total=len(job.items), n_scored_now=n_now)


def score_into(run: ActiveRun, prompts: Sequence[Prompt]) -> None:
    """Score prompts with the run's model and append each finished batch of items to its store.

    Before a batch's rows, what the model read for each of its items (the
    rendered context and options, the chat turns) goes to the run's prompt
    records (:meth:`RunStore.keep_texts`).
    """
    from calibkit.engine.scoring import ScoreConfig, score_batches

    s = run.settings
    config = ScoreConfig(chat=run.chat, system_prompt=s.system_prompt, token_budget=s.token_budget,
                         prefix_caching=s.prefix_caching, progress=s.progress)
    by_id = {p.id: p for p in prompts}
    for batch in score_batches(run.model, prompts, config=config):
        run.store.keep_texts((item.id, scored_reading_of(run, by_id[item.id])) for item in batch)
        run.store.append(item.to_json() for item in batch)


def scored_reading_of(run: ActiveRun, prompt: Prompt, *, label: str = "scored",
                      logprobs_field: str | None = "logprobs") -> Reading:
    """What the run's model reads to score ``prompt``: the scorer's own rendering (chat template and all).

    ``logprobs_field``: the row field that will hold the options' log-probs
    (None when the row keeps none).
    """
    from calibkit.engine.chat import render_pairs

    pairs = render_pairs(prompt, run.model.tokenizer, chat=run.chat, system_prompt=run.settings.system_prompt)
    return scored_reading(prompt, pairs, chat=run.chat, system_prompt=run.settings.system_prompt, label=label,
                          logprobs_field=logprobs_field)


def run_in_batches(
    run: ActiveRun, items: Sequence[T], work: Callable[[Sequence[T]], Iterable[Mapping[str, Any]]], *,
    batch_size: int, unit: str = "item", desc: str | None = None,
) -> None:
    """Call ``work`` on consecutive batches of items and append its rows durably after each one.

    A crash loses at most the batch in flight; rerunning resumes after the
    stored rows (see :func:`run_jobs`).
    """
    append_in_batches(run.store, items, work, batch_size=batch_size, progress=run.settings.progress, unit=unit,
                      desc=desc)


def append_in_batches(
    store: RunStore, items: Sequence[T], work: Callable[[Sequence[T]], Iterable[Mapping[str, Any]]], *,
    batch_size: int, progress: bool = True, unit: str = "item", desc: str | None = None,
) -> None:
    """:func:`run_in_batches` for a store without an :class:`ActiveRun` (a run of two models)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    bar = ProgressBar(len(items), enabled=progress, unit=unit, desc=desc)
    try:
        for start in range(0, len(items), batch_size):
            chunk = items[start: start + batch_size]
            store.append(work(chunk))
            bar.update(len(chunk))
    finally:
        bar.close()


class _PromptTask(ItemRunner):
    """A task whose run is scoring its prompts: what :func:`run_option_task` runs."""

    def __init__(self, name: str) -> None:
        self.run_name = name  # type: ignore[misc]  # one instance per task name

    def run(self, run: ActiveRun, items: Sequence[Prompt]) -> None:
        score_into(run, items)


def run_option_task(
    task: str,
    prompts: Sequence[Prompt],
    task_config: Mapping[str, Any],
    settings: RunSettings,
    *,
    loaded: LoadedModel | None = None,
    on_store: Callable[[RunStore], None] | None = None,
) -> RunOutcome:
    """Score ``prompts`` into a run folder, resuming whatever is already there.

    ``task_config`` holds the task's own settings (format, shots, split...).
    """
    (outcome,) = run_jobs(_PromptTask(task), [Job(prompts, task_config)], settings, loaded=loaded, on_store=on_store)
    return outcome


def task_values(task: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """A task's option values as its command would get them: ``options`` over the command-line defaults.

    ``options`` use the long option names, dashes as underscores
    (``format="kadavath"``, ``limit=5``); an unknown name is a ValueError.
    """
    import click

    params = task.options()
    by_flag = {flag.lstrip("-").replace("-", "_"): p.name for p in params for flag in p.opts}
    # The command-line defaults, as click resolves them for a command given no options
    # (resilient: a required option is checked below, once the given ones are in).
    values = dict(click.Command(task.name, params=params).make_context(task.name, [], resilient_parsing=True).params)
    for key, value in options.items():
        if key not in by_flag:
            raise ValueError(f"{task.name} has no option {key!r}; its options: {', '.join(sorted(by_flag))}")
        values[by_flag[key]] = value
    missing = [p.opts[0] for p in params if getattr(p, "required", False) and values.get(p.name) is None]
    if missing:
        raise ValueError(f"{task.name} needs {', '.join(missing)}")
    return values


def run_task(name: str, settings: RunSettings | None = None, *, loaded: LoadedModel | None = None,
             **options: Any) -> list[RunOutcome]:
    """Run a registered task from Python as `calibkit run <name>` would, without writing its report.

    ``options`` are the task's command-line options by their long names,
    dashes as underscores (``format="kadavath"``, ``limit=5``); the rest keep
    their command-line defaults. Returns one outcome per run the command
    asks for (several for a TriviaQA sampling-temperature study).

    Example::

        outcomes = run_task("mmlu", RunSettings(model="gemma-3-270m"), subjects="anatomy", limit=5)
    """
    from calibkit.runs.registry import task_named

    task = task_named(name)
    outcomes = run_jobs(task, task.load(task_values(task, options)), settings or RunSettings(), loaded=loaded)
    for outcome in outcomes:  # from Python the run is finished here: let the next writer in
        outcome.store.release()
    return outcomes
