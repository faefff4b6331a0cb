"""The plumbing below the command line: model options, run settings, checks, the torchrun launch, Ctrl-C.

What every command that runs a model shares, whether it is `calibkit run
<task>` (built by :mod:`calibkit.cli`) or a command a task builds itself
(two models, the suite): the model options (:data:`MODEL_OPTIONS`) and the
:class:`~calibkit.runs.runner.RunSettings` made from their values
(:func:`run_settings`, with the placement and writability checks before any
model loads), the process's place in a torchrun launch
(:func:`command_launch`), and what an interrupted run says (:func:`interruptible`).
Tasks import this module, never :mod:`calibkit.cli`. A problem the user can
fix is a :class:`UsageProblem`: one line, exit code 2.
"""
from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

import click

from calibkit.errors import UserError


class UsageProblem(UserError):
    """A bad combination of command-line options: printed as one line, exit code 2."""


def fail(message: str) -> NoReturn:
    """Stop the command with a one-line usage error (exit code 2)."""
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
MODEL_KEYS = tuple(o.name for o in MODEL_OPTIONS)


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
            fail("this command runs in one process; launch it without torchrun / accelerate launch")
        launch = Launch()
    check_placement(opts, launch)
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


def check_placement(opts: dict[str, Any], launch) -> None:
    """Refuse model placements that cannot work, before anything loads."""
    if opts["load_in_4bit"] and opts["load_in_8bit"]:
        fail("choose one of --load-in-4bit and --load-in-8bit")
    if opts["max_memory"] and not opts["device_map"]:
        fail("--max-memory limits what --device-map auto puts on each device; add --device-map auto")
    if opts["tp"]:
        if not launch.parallel:
            fail("--tp splits one model over the processes torchrun starts; launch with "
                  "torchrun --nproc-per-node N -m calibkit run ... --tp")
        if opts["device_map"] or opts["load_in_4bit"] or opts["load_in_8bit"]:
            fail("--tp places the model itself; drop --device-map and --load-in-4bit/8bit")
    if opts["device_map"] and launch.local_world_size > 1:
        fail(f"--device-map auto spreads one model over every GPU of a node, but this node runs "
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
            fail(f"--max-memory {text!r}: each entry is DEVICE=SIZE, DEVICE a GPU index, cpu or disk, "
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
        fail(f"cannot write to {path} ({probe} is not a writable folder); pass a writable --out folder")


# ------------------------------------------------------------------ output


# ------------------------------------------------------------------ launch


def model_task_command(task) -> click.Command:
    """`calibkit run <task>` for a one-model task: its options, then :data:`MODEL_OPTIONS`; runs :func:`run_model_task`."""
    return click.Command(
        task.name, params=[*task.options(), *MODEL_OPTIONS], callback=functools.partial(run_model_task, task),
        help=task.description or task.title, short_help=task.title, epilog=task.examples,
    )


def run_model_task(task, **opts: Any) -> None:
    """`calibkit run <task>`: load -> run every job (resumable) -> report -> print.

    Under torchrun / accelerate launch every process runs this; they share
    the work and rank 0 writes the summary and report and prints.
    """
    from calibkit.runs.echo import echo_run_outcomes
    from calibkit.runs.parallel import reports
    from calibkit.runs.runner import run_jobs

    task_options = {k: v for k, v in opts.items() if k not in MODEL_KEYS}
    with command_launch(task.name, run_settings, {k: opts[k] for k in MODEL_KEYS}) as (settings, ranks):
        if ranks is None:
            jobs = load_jobs(task, task_options)
        else:
            jobs = ranks.check(lambda: load_jobs(task, task_options), "reading the items")
        outcomes = interruptible(lambda on_store: run_jobs(task, jobs, settings, on_store=on_store, ranks=ranks),
                                 n_total=sum(len(j.items) for j in jobs))
    if reports(ranks):
        echo_run_outcomes(task, outcomes, settings, as_json=opts["as_json"])



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
        fail(f"calibkit run {name} loads two models and runs data parallel; drop --tp")
    ctx = click.get_current_context()
    ranks = join_launch({"task": name, **ctx.params}, flags=option_flags(ctx.command.params),
                        tensor_parallel=settings.load.tensor_parallel)
    try:
        yield settings, ranks
    finally:
        if ranks is not None:
            ranks.close()


def load_jobs(task, task_options: dict[str, Any]) -> list:
    try:
        return task.load(task_options)
    except ValueError as exc:  # an option value the task's loader refuses
        fail(first_line(str(exc)))


def option_flags(params: Sequence[click.Parameter]) -> dict[str, str]:
    """Each option's name -> how it is typed (``hub_config`` -> ``--config``), for messages."""
    return {p.name: p.opts[0] for p in params}


def interruptible(run_call: Callable, *, n_total: int):
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


@contextlib.contextmanager
def sigterm_as_interrupt():
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
