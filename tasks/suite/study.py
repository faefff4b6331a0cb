"""A suite's runs read together: one row per benchmark, model and metric, and base vs chat paired.

Reads stored runs only (their summary.json and rows): it never loads a
model and never draws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from calibkit.runs.store import RunStore
from calibkit.tasks.reporting import frame_records

SUITE_METRICS = ("accuracy", "ece", "brier", "auroc")
COLUMNS = ("benchmark", "model", "n_items", "metric", "estimate", "low", "high", "difference", "diff_low",
           "diff_high", "p_value")


@dataclass(frozen=True)
class SuiteStudy:
    """Every benchmark's metrics per model; paired differences to the first model when there are several."""

    suite: str  # the suite's name
    models: tuple[str, ...]  # model labels, the first is the reference of the differences
    table: pd.DataFrame  # COLUMNS; difference/diff_low/diff_high/p_value: model minus the first, NaN for the first
    runs: Mapping[str, tuple[str, ...]]  # benchmark -> each model's run folder

    def to_json(self) -> dict[str, Any]:
        return {"suite": self.suite, "models": list(self.models), "rows": frame_records(self.table),
                "runs": {k: list(v) for k, v in self.runs.items()}}


def suite_study(suite: str, runs: Mapping[str, Sequence[RunStore]], models: Sequence[str], *,
                n_resamples: int = 1000, seed: int = 0) -> SuiteStudy:
    """``runs``: benchmark -> one run per model, in the order of ``models``.

    One model: each run's summary (bootstrap CIs over its items). Several:
    the paired comparison of :func:`calibkit.tasks.multiple_choice.report.compare_runs`
    on the items the runs share, each model against the first.
    """
    from calibkit.tasks.multiple_choice.report import compare_runs

    frames = []
    for benchmark, stores in runs.items():
        if len(stores) == 1:
            frame = _summary_rows(stores[0])
        else:
            comparison = compare_runs(stores, n_resamples=n_resamples, seed=seed, labels=models)
            frame = comparison.table[comparison.table.metric.isin(SUITE_METRICS)].rename(columns={"run": "model"})
            frame.insert(2, "n_items", comparison.n_items)
        frame.insert(0, "benchmark", benchmark)
        if len(stores) == 1:
            frame.insert(1, "model", models[0])
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True).reindex(columns=list(COLUMNS))
    return SuiteStudy(suite, tuple(models), table, {k: tuple(str(s.path) for s in v) for k, v in runs.items()})


def _summary_rows(store: RunStore) -> pd.DataFrame:
    summary = store.read_summary()
    rows = [{"n_items": summary["n_items"], "metric": m, "estimate": summary["metrics"][m]["estimate"],
             "low": summary["metrics"][m]["low"], "high": summary["metrics"][m]["high"]} for m in SUITE_METRICS]
    return pd.DataFrame(rows).astype({"estimate": float, "low": float, "high": float})


def _cell(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def suite_text(study: SuiteStudy) -> str:
    """One line per benchmark and model: accuracy, ECE with its CI, Brier, AUROC; differences when paired."""
    paired = len(study.models) > 1
    out = [f"suite {study.suite}: " + ", ".join(study.models)]
    for (benchmark, model), rows in study.table.groupby(["benchmark", "model"], sort=False):
        acc, ece, brier, auroc = (rows[rows.metric == m].iloc[0] for m in SUITE_METRICS)
        line = (f"{benchmark:<16} {model:<28} n={int(acc.n_items):<5} acc {_cell(acc.estimate)}  "
                f"ECE {_cell(ece.estimate)} [{_cell(ece.low)}, {_cell(ece.high)}]  Brier {_cell(brier.estimate)}  "
                f"AUROC {_cell(auroc.estimate)}")
        if paired and model != study.models[0]:
            line += f"  ΔECE {ece.difference:+.3f} [{ece.diff_low:+.3f}, {ece.diff_high:+.3f}] p={ece.p_value:.3g}"
        out.append(line)
    return "\n".join(out)
