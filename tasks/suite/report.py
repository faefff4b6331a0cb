"""A suite's page: the table, one chart per metric, and where each run lives."""
from __future__ import annotations

from pathlib import Path

from .sets import NOTES
from .study import SUITE_METRICS, SuiteStudy


def write_suite_report(study: SuiteStudy, out: Path) -> tuple[Path, Path]:
    """suite.html and suite.csv in ``out``; returns their paths."""
    from calibkit.draw import plots
    from calibkit.draw.page import Report, write_atomic

    out.mkdir(parents=True, exist_ok=True)
    csv = write_atomic(out / "suite.csv", study.table.to_csv(index=False))
    report = Report(f"calibkit: the {study.suite} suite", subtitle=", ".join(study.models))
    paired = (f" Differences are each model minus {study.models[0]} on the items both runs hold, with "
              "paired-bootstrap 95% intervals and two-sided p-values." if len(study.models) > 1 else "")
    report.add_text(NOTES.get(study.suite, "") + " Calibration is read from the probabilities renormalised over "
                    "each item's options; intervals are percentile bootstrap 95% over items." + paired)
    for metric in SUITE_METRICS:
        rows = study.table[study.table.metric == metric]
        report.add_figure(None, plots.benchmark_chart(rows, metric=metric))
    report.add_table("All numbers", study.table)
    runs = [{"benchmark": b, "model": m, "run folder": p} for b, paths in study.runs.items()
            for m, p in zip(study.models, paths)]
    report.add_table("Run folders (each has its own report.html)", runs)
    return report.save(out / "suite.html"), csv
