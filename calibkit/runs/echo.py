"""What a command prints after a run, a comparison or a study: terminal lines, or JSON with ``--json``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


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


def echo_run_outcomes(task, outcomes, settings, *, as_json: bool) -> None:
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
