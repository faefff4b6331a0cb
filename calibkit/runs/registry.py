"""Where the command line and the API find the tasks.

Tasks live outside this package: a distribution declares its task registry
under the entry-point group :data:`GROUP` (calibkit's own tasks in
``setup.cfg``; a separate package can add its tasks the same way), and a
registry is an iterable of :class:`~calibkit.runs.task.TaskBase` objects.
Commands that are not tasks (they own no runs of their own kind: the suite,
an importer) are declared the same way under :data:`COMMAND_GROUP`, as
:class:`Command` records. This module never names a task.
"""
from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, Callable, Mapping

from calibkit.errors import UserError

if TYPE_CHECKING:
    import click

GROUP = "calibkit.task_registry"  # entry points whose object is an iterable of tasks
COMMAND_GROUP = "calibkit.commands"  # entry points whose object is an iterable of Command records


@dataclass(frozen=True)
class Command:
    """A command that is not a task: its name, where it sits, and how it is built (when asked for)."""

    name: str  # as typed: `calibkit <name>`, or `calibkit run <name>` with under_run
    build: Callable[[], click.Command]  # the click command (built on demand: --help of another command needs none)
    under_run: bool = False  # `calibkit run <name>` beside the tasks (the suite runs tasks)


def _by_name(group: str, what: str) -> dict[str, Any]:
    """Every object the entry points of ``group`` list, by its ``name``, in registration order; a name is one thing."""
    out: dict[str, Any] = {}
    for entry in metadata.entry_points(group=group):
        for thing in entry.load():
            if thing.name in out:
                raise RuntimeError(f"two {what} are registered as {thing.name!r} (entry point {entry.name})")
            out[thing.name] = thing
    return out


@functools.cache
def registered_commands() -> Mapping[str, Command]:
    """Every registered command that is not a task, by name, in registration order."""
    commands = _by_name(COMMAND_GROUP, "commands")
    clash = [c.name for c in commands.values() if c.under_run and c.name in registered_tasks()]
    if clash:
        raise RuntimeError(f"{clash[0]!r} is registered both as a task and as a command of `calibkit run`")
    return commands


@functools.cache
def registered_tasks() -> Mapping[str, Any]:
    """Every registered task by its command-line name, in registration order."""
    return _by_name(GROUP, "tasks")


def task_named(name: str) -> Any:
    """The task `calibkit run <name>` means; a one-line error with near names otherwise."""
    tasks = registered_tasks()
    if name in tasks:
        return tasks[name]
    near = difflib.get_close_matches(name, list(tasks), n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    raise UserError(f"unknown task {name!r}{hint}; choose one of {', '.join(tasks)}")


def task_of_run(config: Mapping[str, Any], *, where: object = "the run") -> Any:
    """The task a run folder's config.json belongs to."""
    for task in registered_tasks().values():
        if task.owns(config):
            return task
    raise UserError(f"{where} is a run of task {config.get('task')!r}, which no installed task reads; "
                    "reinstall calibkit or the package that provides that task")
