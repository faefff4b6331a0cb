"""A suite's page: the table, one chart per metric, and where each run lives."""
from __future__ import annotations

from pathlib import Path

from calibkit.stats.bootstrap import MIN_ITEMS
from calibkit.stats.paired import HEADLINE_METRIC

from .sets import NOTES
from .study import SUITE_METRICS, SuiteStudy


def write_suite_report(study: SuiteStudy, out: Path) -> tuple[Path, Path]:
    """suite.html and suite.csv in ``out``; returns their paths.

    Charts and table carry each row's n; a benchmark below the small-n rule
    is drawn without whiskers and marked with its n, and its note says why.
    """
    from calibkit.draw import plots
    from calibkit.draw.page import Report
    from calibkit.files import write_atomic
    from calibkit.tasks.multiple_choice.report import METRIC_LABELS
    from calibkit.tasks.reporting import page_table

    out.mkdir(parents=True, exist_ok=True)
    csv = write_atomic(out / "suite.csv", study.table.to_csv(index=False))
    report = Report(f"calibkit: the {study.suite} suite", subtitle=", ".join(study.models))
    report.add_text(_intro(study))
    table = study.table.rename(columns={"n_items": "n"})
    for metric in _charted(study):
        rows = table[table.metric == metric]
        name = METRIC_LABELS[metric]
        figure = plots.benchmark_chart(rows, metric=metric, title=f"{name} per benchmark")
        report.add_figure(None, figure.update_yaxes(title_text=name))
    report.add_table("All numbers", page_table(table.assign(metric=table.metric.map(METRIC_LABELS))))
    if study.departures:  # one line per distinct departure, right under the rows that carry its marker
        report.add_text("\n\n".join(f"[{i}] {text}" for i, text in enumerate(study.departures, start=1)))
    runs = [{"benchmark": b, "model": m, "run folder": p} for b, paths in study.runs.items()
            for m, p in zip(study.models, paths)]
    report.add_table("Run folders (each has its own report.html)", runs)
    return report.save(out / "suite.html"), csv


def _charted(study: SuiteStudy) -> list[str]:
    """The charts' metrics in order: smooth ECE first when paired, then the suite's headline ECE, then the rest."""
    lead = [HEADLINE_METRIC] if (study.table.metric == HEADLINE_METRIC).any() else []
    return [*lead, study.headline_ece, *(m for m in SUITE_METRICS if m != study.headline_ece)]


def _intro(study: SuiteStudy) -> str:
    """What the page's numbers are: the suite's note, the ECEs' binnings, the intervals and n, the small-n rule,
    the paired comparison (smooth ECE first, and why), the departures' markers."""
    from calibkit.tasks.reporting import comparison_caption

    binned = "Of the binned ECEs, the one" if len(study.models) > 1 else "The ECE"
    eces = (f"{binned} charted first is Kadavath et al.'s: top-label, 10 equal-mass bins; the equal-width ECE "
            "(10 bins on [0, 1]) is beside it." if study.headline_ece == "ece_quantile" else
            f"{binned} charted first is top-label over 10 equal-width bins; Kadavath et al.'s equal-mass ECE "
            "(10 bins) is beside it.")
    paired = (f"\n\nDifferences are each model minus {study.models[0]} on the items both runs hold. "
              + comparison_caption(headline=True) if len(study.models) > 1 else "")
    marked = ("\n\nRows marked [n] come from runs that depart from the method they name; the departures are "
              "listed under the table." if study.departures else "")
    return (NOTES.get(study.suite, "") + " Calibration is read from the probabilities renormalised over each "
            f"item's options; intervals are percentile bootstrap 95% over items, n: a benchmark's items (below "
            f"{MIN_ITEMS} a benchmark is charted without error bars and marked with its n, and its rows say "
            f"why). {eces} Brier is the multiclass score (0-2)." + paired + marked)
