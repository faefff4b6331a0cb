"""The Task interface: what one task folder gives calibkit's command line and API.

A task turns its command-line options into runs (:meth:`Task.load`), writes
rows for the items of a run (:meth:`Task.run`), and works from a run folder
on disk without a model afterwards: :meth:`Task.summarize`,
:meth:`Task.write_report`, :meth:`Task.summary_text`, :meth:`Task.compare`
and, where it means something, :meth:`Task.sweep`. The shared start-up and
resume loop (model loading, config.json, resume) is
:func:`calibkit.runs.runner.run_jobs`; a task never re-implements it.

A new task is one folder under ``tasks/`` with a subclass of :class:`Task`,
and one line in ``tasks/__init__.py``'s ``REGISTRY``.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence

from calibkit.errors import UserError
from calibkit.runs.runner import ActiveRun, Job
from calibkit.runs.store import RunStore

if TYPE_CHECKING:
    import click


@dataclass(frozen=True)
class Outcome:
    """What a comparison or a study wrote: its JSON form, its terminal form and its page."""

    json: Any  # plain JSON types (NaN as null), as `--json` prints it
    text: str  # lines for a terminal
    report: Path  # the self-contained HTML page


class Task(ABC):
    """One task: its CLI name, how it runs, and how its runs are read back."""

    name: ClassVar[str]  # `calibkit run <name>`
    run_name: ClassVar[str]  # config.json's "task" and the runs/<run_name>/ folder
    title: ClassVar[str]  # one line: what the task measures
    description: ClassVar[str] = ""  # the paragraph `calibkit run <name> --help` shows
    examples: ClassVar[str] = ""  # the --help epilog: example command lines

    # ------------------------------------------------------------------ running

    def options(self) -> list[click.Parameter]:
        """The options `calibkit run <name>` adds to the model options (click parameters)."""
        return []

    @abstractmethod
    def load(self, options: Mapping[str, Any]) -> list[Job]:
        """The runs the command asks for: each run's items and its part of config.json.

        Checks the options (``UserError`` with the fix on bad input) and reads
        the data; loads no model. Most commands ask for one run.
        """

    @abstractmethod
    def run(self, run: ActiveRun, items: Sequence[Any]) -> None:
        """Write rows to ``run.store`` for ``items`` (those not stored yet), batch by batch."""

    def write_study(self, stores: Sequence[RunStore], out: Path) -> Outcome:
        """The page that reads several runs of one command together (only for tasks whose load gives several)."""
        raise UserError(f"{self.name} has no study of several runs")

    # --------------------------------------------------------------- from disk

    def owns(self, config: Mapping[str, Any]) -> bool:
        """Whether a run folder's config.json belongs to this task."""
        return config.get("task") == self.run_name

    @abstractmethod
    def summarize(self, store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
        """Recompute summary.json from the stored rows, write it and return it."""

    @abstractmethod
    def write_report(self, store: RunStore) -> Path:
        """summary.json and report.html of one run; returns the report."""

    @abstractmethod
    def summary_text(self, summary: Mapping[str, Any]) -> str:
        """The summary as aligned lines for a terminal."""

    @abstractmethod
    def compare(self, stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
        """Runs of this task on their shared items, each against the first, with paired tests."""

    def sweep(self, stores: Sequence[RunStore], temperatures: Sequence[float], *, out: Path,
              n_resamples: int = 200) -> Outcome:
        """A post-hoc logit-temperature study of stored option log-probs, where the task has them."""
        raise UserError(f"{self.name} runs have no option log-probs to rescale; sweep takes multiple-choice runs")

    def scale(self, stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
        """Metrics against parameter count, one line per model family and variant, where the task has them."""
        raise UserError(f"{self.name} runs have no option probabilities to plot against size; "
                        "scale takes multiple-choice runs")

    def commands(self) -> list[click.Command]:
        """Top-level commands the task adds besides `calibkit run <name>` (e.g. an importer)."""
        return []


class OwnStudyAndReport:
    """``summarize``, ``write_report`` and ``summary_text`` read from the task package's ``study`` and ``report``.

    For a task whose package holds ``study.summarize_store(store, *,
    n_resamples, seed)``, ``report.write_run_report(store)`` and
    ``report.summary_text(summary)``: mix this in before :class:`Task`
    instead of writing the three delegations. The modules are imported when
    first used (they pull in pandas and plotly).
    """

    def summarize(self, store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
        return self._own("study").summarize_store(store, n_resamples=n_resamples, seed=seed)

    def write_report(self, store: RunStore) -> Path:
        return self._own("report").write_run_report(store)

    def summary_text(self, summary: Mapping[str, Any]) -> str:
        return self._own("report").summary_text(summary)

    def _own(self, module: str) -> Any:
        return importlib.import_module(f"{type(self).__module__.rpartition('.')[0]}.{module}")


class CommandTask(OwnStudyAndReport, Task):
    """A task whose `calibkit run <name>` has a shape of its own (e.g. two models, ``--base`` and ``--nudger``).

    :meth:`run_command` builds the command from the shared model options;
    :meth:`load` and :meth:`run` (the one-model run loop) do not apply. Runs
    are read back from disk like any task's, through the package's
    ``study`` and ``report`` (:class:`OwnStudyAndReport`).
    """

    def load(self, options: Mapping[str, Any]) -> list[Job]:
        raise UserError(f"{self.name} has its own command: see `calibkit run {self.name} --help`")

    def run(self, run: ActiveRun, items: Sequence[Any]) -> None:
        raise UserError(f"{self.name} has its own command: see `calibkit run {self.name} --help`")

    @abstractmethod
    def run_command(self, model_options: Sequence[click.Option],
                    settings_of: Callable[..., Any]) -> click.Command:
        """`calibkit run <name>`: its own options, then ``model_options``; ``settings_of`` turns them into settings.

        ``settings_of(values, launch)``: with the process's
        :class:`~calibkit.engine.distributed.Launch` (as
        :func:`calibkit.cli.command_launch` passes it), for a command that
        can run under torchrun; without it the command refuses a torchrun
        launch.
        """
