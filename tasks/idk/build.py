"""`calibkit idk build`: run (or resume) a model's P(IK) and MMLU runs and write its "I don't know" dataset.

The model is loaded once; each source's run is an ordinary resumable run
folder under ``--runs`` (``pik/<model>/<hash>/``, ``mmlu/<model>/<hash>/``),
so a second build with the same settings reads them back without scoring,
and they can be reported on their own. Then :mod:`.dataset` picks the rows,
:mod:`.constructed` adds the hand-written ones with their answerable twins
(so both kinds are present whatever the model knows), and the folder is
written.
"""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from calibkit.runs.registry import task_named
from calibkit.runs.runner import RunSettings, load_run_model, run_jobs, task_values, versions
from calibkit.tasks.free_answer.specs import benchmark_names

from . import constructed
from .card import dataset_card
from .dataset import (
    DatasetError,
    Row,
    Thresholds,
    assign_splits,
    constructed_to_rows,
    free_answer_rows,
    mmlu_rows,
    write_dataset,
)

SOURCES = (*benchmark_names(), "mmlu")  # the free-answer tasks (asked through P(IK)) and MMLU's multiple choice
MMLU_SUBJECTS = 57


@dataclass(frozen=True)
class BuildSettings:
    """What goes into the dataset; the model and engine are a RunSettings."""

    sources: tuple[str, ...] = ("triviaqa", "nq_open")  # model-relative sources
    limit: int | None = 200  # questions per source (MMLU: spread over its 57 subjects)
    samples: int = 10  # T=1 samples per free-answer question (the share right decides known / unknown)
    thresholds: Thresholds = field(default_factory=Thresholds)
    cutoff: datetime.date | None = None  # the model's training cutoff; None: no after-cutoff rows
    seed: int = 0  # sampling, response phrasing and split seed
    shares: tuple[float, float, float] = (0.8, 0.1, 0.1)  # train, validation, test


@dataclass(frozen=True)
class BuildOutcome:
    folder: Path  # the dataset folder
    rows: tuple[Row, ...]  # every row, with its split
    left_out: Mapping[str, int]  # per source: questions neither known nor unknown
    runs: Mapping[str, str]  # per source: the run folder its rows came from


def check(settings: BuildSettings, *, today: datetime.date) -> None:
    """One-line errors for what cannot be built: unknown source, no samples, a cutoff in the future."""
    unknown = [s for s in settings.sources if s not in SOURCES]
    if unknown:
        raise DatasetError(f"--questions {unknown[0]!r} is unknown; use any of {', '.join(SOURCES)}")
    if settings.samples < 1 and any(s != "mmlu" for s in settings.sources):
        raise DatasetError("--samples 0: a free-answer question is known or unknown by the share of its samples that "
                           "are right; use --samples 5 or more")
    if settings.cutoff is not None and settings.cutoff > today:
        raise DatasetError(f"--cutoff {settings.cutoff} is after today ({today}): a training cutoff cannot be in the "
                           "future; pass a past date")


def build(settings: BuildSettings, run_settings: RunSettings, out: Path, *,
          today: datetime.date | None = None) -> BuildOutcome:
    """Run or resume the source runs, pick and split the rows, write the dataset folder."""
    today = today or datetime.date.today()
    check(settings, today=today)
    loaded, _ = load_run_model(run_settings)
    rows: list[Row] = []
    left_out, runs = {}, {}
    for source in settings.sources:
        store = _source_run(source, settings, run_settings, loaded)
        picked, left_out[source] = _rows_of(source, store, settings)
        rows += picked
        runs[source] = str(store.path)
    rows += dataset_constructed(settings, today=today)
    rows = assign_splits(rows, shares=settings.shares, seed=settings.seed)
    manifest = _manifest(settings, loaded.resolved.name, runs, left_out, today=today)
    write_dataset(rows, out, manifest=manifest, card=dataset_card(rows, manifest=manifest))
    return BuildOutcome(out, tuple(rows), left_out, runs)


def dataset_constructed(settings: BuildSettings, *, today: datetime.date) -> list[Row]:
    """The constructed rows, each abstention followed by its twin (after-cutoff rows only with ``--cutoff``)."""
    seed = settings.seed
    made = [] if settings.cutoff is None else constructed.after_cutoff_rows(settings.cutoff, today=today, seed=seed)
    made += constructed.false_premise_rows(seed=seed)
    for reason in constructed.SEED_REASONS:
        made += constructed.seed_rows(reason, seed=seed)
    return constructed_to_rows(made)


def _source_run(source: str, settings: BuildSettings, run_settings: RunSettings, loaded: Any):
    if source == "mmlu":
        task = task_named("mmlu")
        per_subject = None if settings.limit is None else max(1, math.ceil(settings.limit / MMLU_SUBJECTS))
        values = task_values(task, {"limit": per_subject, "shots": 5})
    else:
        task = task_named("pik")
        values = task_values(task, {"questions": source, "limit": settings.limit, "samples": settings.samples,
                                    "seed": settings.seed})
    (outcome,) = run_jobs(task, task.load(values), run_settings, loaded=loaded)
    return outcome.store


def _rows_of(source: str, store: Any, settings: BuildSettings) -> tuple[list[Row], int]:
    if source == "mmlu":
        return mmlu_rows(store.items(), run=str(store.path), thresholds=settings.thresholds, seed=settings.seed)
    return free_answer_rows(store.rows(), source=source, run=str(store.path), thresholds=settings.thresholds,
                            seed=settings.seed)


def _manifest(settings: BuildSettings, model: str, runs: Mapping[str, str], left_out: Mapping[str, int], *,
              today: datetime.date) -> dict[str, Any]:
    t = settings.thresholds
    return {
        "model": model, "sources": list(settings.sources), "limit": settings.limit, "samples": settings.samples,
        "thresholds": {"answer": t.answer, "idk": t.idk, "pik": t.pik},
        "cutoff": None if settings.cutoff is None else settings.cutoff.isoformat(), "seed": settings.seed,
        "shares": list(settings.shares), "runs": dict(runs), "left_out": dict(left_out),
        "after_cutoff_without_twin": [] if settings.cutoff is None else
        constructed.unpaired_after_cutoff(settings.cutoff, today=today),
        "created": today.isoformat(), "calibkit_version": versions().get("calibkit", "?"),
    }
