"""The Task interface: what one task folder gives calibkit's command line and API.

A task turns its command-line options into runs (:meth:`Task.load`), writes
rows for the items of a run (:meth:`~calibkit.runs.runner.ItemRunner.run`,
after :meth:`~calibkit.runs.runner.ItemRunner.prepare`), and works from a
run folder on disk without a model afterwards: :meth:`Task.summarize`,
:meth:`Task.write_report`, :meth:`Task.summary_text`, :meth:`Task.compare`
and, where it means something, :meth:`Task.sweep`, :meth:`Task.scale` and
:meth:`Task.paper_parts` (its figures and tables for ``calibkit paper``).
The shared start-up and resume loop (model loading, config.json, resume) is
:func:`calibkit.runs.runner.run_jobs`; a task never re-implements it.

It lives in the core so that the command line, the registry and the run
loop know one description of a task; the task folders implement it (their
``base`` module re-exports it). Every hook is declared here with its
default: nothing is looked up by name.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

from calibkit.errors import UserError
from calibkit.runs.runner import ItemRunner, Job
from calibkit.runs.store import RunStore

if TYPE_CHECKING:
    import click


@dataclass(frozen=True)
class Outcome:
    """What a comparison or a study wrote: its JSON form, its terminal form and its page."""

    json: Any  # plain JSON types (NaN as null), as `--json` prints it
    text: str  # lines for a terminal
    report: Path  # the self-contained HTML page


class TaskBase(ABC):
    """A registered task: its CLI name, its `calibkit run <name>` command, and how its runs are read back.

    Subclassed by :class:`Task` (one model, the shared run loop) and by the
    two-model tasks' base (``PairTask``, in the freeform family's ``pair`` module).
    """

    name: ClassVar[str]  # `calibkit run <name>`
    run_name: ClassVar[str]  # config.json's "task" and the runs/<run_name>/ folder
    title: ClassVar[str]  # one line: what the task measures
    description: ClassVar[str] = ""  # the paragraph `calibkit run <name> --help` shows
    examples: ClassVar[str] = ""  # the --help epilog: example command lines
    runnable: ClassVar[bool] = True  # False: its runs come from a command of its own (an importer); no `calibkit run`

    @abstractmethod
    def run_command(self) -> click.Command:
        """`calibkit run <name>`: its options (the model options among them), and what running it does."""

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

    def paper_parts(self, stores: Sequence[RunStore]) -> list[Any]:
        """The figures, tables and files this task's runs give a paper (``calibkit paper``); default none.

        Returns :class:`calibkit.paper.PaperPart` records (typed ``Any`` here:
        the write-up layer sits above the runs and is imported by the task, never
        by this module). ``stores``: every run folder of the write-up this task
        owns, in the order given; a part names the folders its numbers come from.
        """
        return []


class Task(TaskBase, ItemRunner):
    """A one-model task: its options become runs (:meth:`load`), whose items the shared run loop hands to :meth:`run`."""

    def run_command(self) -> click.Command:
        """The task's options, then the model options; running it is :func:`calibkit.runs.command.run_model_task`."""
        from calibkit.runs.command import model_task_command

        return model_task_command(self)

    def options(self) -> list[click.Parameter]:
        """The options `calibkit run <name>` adds to the model options (click parameters)."""
        return []

    @abstractmethod
    def load(self, options: Mapping[str, Any]) -> list[Job]:
        """The runs the command asks for: each run's items and its part of config.json.

        Checks the options (``UserError`` with the fix on bad input) and reads
        the data; loads no model. Most commands ask for one run.
        """
