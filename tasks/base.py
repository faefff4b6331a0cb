"""The Task interface as task folders import it, and how a task reads its runs back with its own modules.

:class:`Task` and :class:`Outcome` are :mod:`calibkit.runs.task`'s (the core
holds the one description of a task, which the command line, the registry
and the run loop read); a new task is one folder under ``tasks/`` with a
subclass of :class:`Task`, and one line in ``tasks/__init__.py``'s
``REGISTRY``.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping

from calibkit.runs.store import RunStore
from calibkit.runs.task import Outcome, Task

__all__ = ["OwnReading", "Outcome", "RunReading", "Task"]


@dataclass(frozen=True)
class RunReading:
    """How a task reads its runs back: the three functions its ``study`` and ``report`` modules hold."""

    summarize_store: Callable[..., dict[str, Any]]  # (store, *, n_resamples, seed) -> summary.json's content
    write_run_report: Callable[[RunStore], Path]  # store -> report.html (summary.json written too)
    summary_text: Callable[[Mapping[str, Any]], str]  # summary -> lines for a terminal

    @classmethod
    def of(cls, study: ModuleType, report: ModuleType) -> RunReading:
        """``study.summarize_store``, ``report.write_run_report`` and ``report.summary_text``."""
        return cls(study.summarize_store, report.write_run_report, report.summary_text)


class OwnReading:
    """``summarize``, ``write_report`` and ``summary_text`` from the task's :meth:`reading` (mix in before the task base).

    A task writes one method that imports its own modules when first used
    (they pull in pandas and plotly)::

        def reading(self) -> RunReading:
            from . import report, study

            return RunReading.of(study, report)
    """

    @abstractmethod
    def reading(self) -> RunReading:
        """The task's own study and report functions."""

    def summarize(self, store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
        return self.reading().summarize_store(store, n_resamples=n_resamples, seed=seed)

    def write_report(self, store: RunStore) -> Path:
        return self.reading().write_run_report(store)

    def summary_text(self, summary: Mapping[str, Any]) -> str:
        return self.reading().summary_text(summary)
