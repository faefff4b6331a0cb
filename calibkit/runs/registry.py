"""Where the command line and the API find the tasks.

Tasks live outside this package: a distribution declares its task registry
under the entry-point group :data:`GROUP` (calibkit's own tasks in
``setup.cfg``; a separate package can add its tasks the same way), and a
registry is an iterable of task objects with ``name``, ``run_name`` and
``owns(config)``. This module never names a task.
"""
from __future__ import annotations

import difflib
import functools
from importlib import metadata
from typing import Any, Mapping

from calibkit.errors import UserError

GROUP = "calibkit.task_registry"  # entry points whose object is an iterable of tasks


@functools.cache
def registered_tasks() -> Mapping[str, Any]:
    """Every registered task by its command-line name, in registration order."""
    out: dict[str, Any] = {}
    for entry in metadata.entry_points(group=GROUP):
        for task in entry.load():
            if task.name in out:
                raise RuntimeError(f"two tasks are registered as {task.name!r} (entry point {entry.name})")
            out[task.name] = task
    return out


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
