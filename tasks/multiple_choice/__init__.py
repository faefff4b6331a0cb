"""Multiple-choice tasks: options scored by log-probability, calibration read from their probabilities.

:class:`MultipleChoiceTask` is what every such task shares: its run scores
the prompts (:func:`calibkit.runs.runner.score_into`), and summary, report,
comparison and logit-temperature sweep come from the stored option
log-probs (:mod:`calibkit.stats.multiple_choice`, :mod:`.report`). A
benchmark subclasses it with its own options and :meth:`~MultipleChoiceTask.load`.
Runs imported from lm-evaluation-harness are read the same way
(:mod:`.lm_eval_import`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from calibkit.records import Prompt
from calibkit.runs.runner import ActiveRun, score_into
from calibkit.runs.store import RunStore
from calibkit.tasks.base import Outcome, Task

if TYPE_CHECKING:
    from .report import Comparison


def _fmt(x: Any) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def summary_text(summary: Mapping[str, Any]) -> str:
    """The headline metrics of a multiple-choice run as aligned lines.

    Example:
        >>> iv = {"estimate": 0.5, "low": 0.4, "high": 0.6}
        >>> print(summary_text({"n_items": 2, "metrics": {k: iv for k in ("accuracy", "ece", "ece_quantile",
        ...       "brier", "nll", "auroc")}, "option_mass_mean": 0.9}).splitlines()[2])
        ECE (10 bins)   0.500  [0.400, 0.600]
    """
    m = summary["metrics"]

    def ci(name: str) -> str:
        return f"{_fmt(m[name]['estimate'])}  [{_fmt(m[name]['low'])}, {_fmt(m[name]['high'])}]"

    rows = [
        ("n", f"{summary['n_items']}"),
        ("accuracy", ci("accuracy")),
        ("ECE (10 bins)", ci("ece")),
        ("ECE equal-mass", _fmt(m.get("ece_quantile", {}).get("estimate")) + "  (Kadavath et al.'s binning)"),
        ("Brier", _fmt(m["brier"]["estimate"])),
        ("NLL", _fmt(m["nll"]["estimate"])),
        ("AUROC", _fmt(m["auroc"]["estimate"])),
        ("option mass", _fmt(summary["option_mass_mean"])),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def comparison_text(comparison: Comparison) -> str:
    """Each metric per run, with the paired difference to the first run."""
    lines = [f"{comparison.n_items} shared items"]
    for metric, rows in comparison.table.groupby("metric", sort=False):
        lines.append(f"{metric}:")
        for _, r in rows.iterrows():
            diff = "" if math.isnan(r.difference) else (
                f"  diff {r.difference:+.3f} [{r.diff_low:+.3f}, {r.diff_high:+.3f}] p={r.p_value:.3g}")
            lines.append(f"  {r.run:<32} {_fmt(r.estimate)} [{_fmt(r.low)}, {_fmt(r.high)}]{diff}")
    return "\n".join(lines)


class MultipleChoiceTask(Task):
    """A task whose items are :class:`~calibkit.records.Prompt` records with an answer option."""

    def run(self, run: ActiveRun, items: Sequence[Prompt]) -> None:
        score_into(run, items)

    # The report module draws (plotly): imported on use, so running never needs it.

    def summarize(self, store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
        from .report import summarize_store

        return summarize_store(store, n_resamples=n_resamples, seed=seed)

    def write_report(self, store: RunStore) -> Path:
        from .report import write_run_report

        return write_run_report(store)

    def summary_text(self, summary: Mapping[str, Any]) -> str:
        return summary_text(summary)

    def compare(self, stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
        from .report import compare_runs, write_comparison_report

        comparison = compare_runs(stores, n_resamples=n_resamples)
        page = write_comparison_report(stores, comparison, out)
        return Outcome(json=comparison.to_json(), text=comparison_text(comparison), report=page)

    def sweep(self, stores: Sequence[RunStore], temperatures: Sequence[float], *, out: Path,
              n_resamples: int = 200) -> Outcome:
        from .report import sweep_runs

        return sweep_runs(stores, temperatures, out=out, n_resamples=n_resamples)
