"""`calibkit run suite`: every task of a named set, for one model after another, then one page.

Each task's run is an ordinary, resumable run folder (``OUT/<task>/<model>/<hash>/``
with its own report), so a suite interrupted at any point resumes where it
stopped and its runs can be compared, swept or scaled on their own. Each
model is loaded once for all tasks and let go before the next one loads.
"""
from __future__ import annotations

import dataclasses
import gc
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from calibkit.errors import UserError
from calibkit.runs.registry import task_named
from calibkit.runs.runner import Job, RunSettings, load_run_model, run_jobs, task_values
from calibkit.runs.store import RunStore

from .report import write_suite_report
from .sets import SUITES
from .study import SuiteStudy, suite_study

if TYPE_CHECKING:
    from calibkit.engine.distributed import Ranks
    from calibkit.engine.models import LoadedModel


@dataclass(frozen=True)
class SuiteOutcome:
    """What a suite command did and wrote."""

    study: SuiteStudy  # the numbers
    report: Path  # suite.html
    csv: Path  # suite.csv
    n_scored_now: int  # items scored by this call, over all tasks and models (0: everything was on disk)


def plan(suite: str, *, limit: int | None) -> list[tuple[Any, list[Job]]]:
    """Each task of the suite with its jobs: options checked and data read before any model loads."""
    if suite not in SUITES:
        raise UserError(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}")
    out = []
    for entry in SUITES[suite]:
        task = task_named(entry.task)
        out.append((task, task.load(task_values(task, {**entry.options, "limit": limit}))))
    return out


def run_suite(models: Sequence[str], *, suite: str = "kadavath", limit: int | None = None,
              settings: RunSettings | None = None, out: Path | None = None, n_resamples: int = 1000,
              ranks: Ranks | None = None) -> SuiteOutcome | None:
    """Run the suite for each model (the first is the reference of the paired differences); write its page.

    ``out``: the page's folder (default ``<settings.out>/suite/<suite>/<models>``).
    ``ranks``: the processes of a torchrun launch, which share every run
    (:func:`calibkit.runs.runner.run_jobs`); rank 0 writes the reports and
    the page and gets the outcome, the other ranks None.
    """
    settings = settings or RunSettings()
    if not models:
        raise UserError("--model: give at least one model")
    if len(set(models)) < len(models):
        raise UserError("--model: the same model is given twice; give each model once")
    if settings.run_dir is not None:
        raise UserError("--run-dir: a suite writes one run folder per task and model; use --out instead")
    tasks = plan(suite, limit=limit)
    stores: dict[str, list[RunStore]] = {task.name: [] for task, _ in tasks}
    n_now = 0
    for model in models:
        model_settings = dataclasses.replace(settings, model=model)
        loaded = _load(model_settings, ranks)
        for task, jobs in tasks:
            (outcome,) = run_jobs(task, jobs, model_settings, loaded=loaded, ranks=ranks)
            if ranks is None or ranks.launch.main:
                task.write_report(outcome.store)
            stores[task.name].append(outcome.store)
            n_now += outcome.n_scored_now
        del loaded
        gc.collect()  # the next model may need all the memory
    if ranks is not None and not ranks.launch.main:
        return None
    labels = [str(runs[0].config.get("model", m)) for m, runs in zip(models, zip(*stores.values()))]
    study = suite_study(suite, stores, labels, n_resamples=n_resamples)
    folder = out or settings.out / "suite" / suite / "-vs-".join(_slug(x) for x in labels)
    page, csv = write_suite_report(study, folder)
    return SuiteOutcome(study=study, report=page, csv=csv, n_scored_now=n_now)


def _load(settings: RunSettings, ranks: Ranks | None) -> LoadedModel:
    """The model, loaded on this process's device; under torchrun a failure on any rank stops every rank."""
    if ranks is None:
        return load_run_model(settings)[0]
    return ranks.check(lambda: load_run_model(settings)[0], "loading the model")


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label.rstrip("/").rsplit("/", 1)[-1])
