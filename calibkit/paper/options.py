"""The parts every multiple-choice family's runs give a write-up: reliability, pooled chart, rejection, table.

:func:`option_parts` reads runs whose rows are option items
(:class:`~calibkit.records.ScoredItem`: MMLU, the benchmarks, the suite's
runs) and returns their :class:`~calibkit.paper.parts.PaperPart` records;
a task of that family returns it from its ``paper_parts``. The numbers come
from :mod:`calibkit.stats.multiple_choice` (the same bins and paired table
the run pages use), so paper and pages never disagree.

Never loads a model; draws through :mod:`calibkit.paper.figures`.
"""
from __future__ import annotations

from typing import Sequence

from calibkit.paper import figures
from calibkit.paper.parts import PaperPart, folders, role_of, run_labels
from calibkit.paper.tables import comparison_table
from calibkit.runs.store import RunStore
from calibkit.stats import metrics
from calibkit.stats.discrimination import risk_coverage
from calibkit.stats.multiple_choice import option_arrays, paired_table, pooled_stats, reliability_stats, shared_items

#: the measures of the paper's table, headline first (smooth ECE: calibkit.stats.paired.HEADLINE_METRIC)
TABLE_METRICS = ("smooth_ece", "ece", "accuracy", "brier", "auroc")
METRIC_NAMES = {"smooth_ece": "smooth ECE", "ece": "ECE (10 bins)", "accuracy": "accuracy", "brier": "Brier score",
                "nll": "NLL", "auroc": "AUROC"}


def option_parts(stores: Sequence[RunStore], *, prefix: str, n_resamples: int = 1000) -> list[PaperPart]:
    """Reliability diagram (runs overlaid), pooled all-options chart, rejection curves, and the paired table.

    ``prefix``: the parts' name prefix (the task's name, e.g. ``"mmlu"``).
    The runs are compared on the items they share, the first run the
    reference of the differences; a base and a chat run keep their colours.
    """
    labels = run_labels(stores)
    roles = {label: role_of(s.config) for label, s in zip(labels, stores)}
    items = shared_items({label: s.items() for label, s in zip(labels, stores)})
    runs = folders(stores)
    rel = {label: reliability_stats(it) for label, it in items.items()}
    arrays = {label: option_arrays(it) for label, it in items.items()}
    tops = {label: metrics.top_label(a.probs(), a.labels) for label, a in arrays.items()}
    eces = {label: metrics.calibration_error(s) for label, s in rel.items()}
    table = paired_table(items, metrics_=TABLE_METRICS, n_resamples=n_resamples)
    table["metric"] = [METRIC_NAMES.get(m, m) for m in table["metric"]]
    n = len(next(iter(items.values())))
    return [
        PaperPart(f"{prefix}-reliability", figures.reliability_figure(rel, ece=eces, roles=roles), runs,
                  caption=f"Reliability diagram ({n} shared items, 10 equal-width bins): accuracy against mean "
                          "confidence per bin, 95% Wilson intervals; items per bin beneath."),
        PaperPart(f"{prefix}-pooled", figures.pooled_figure({k: pooled_stats(v) for k, v in items.items()},
                                                            roles=roles, x_scale="log"), runs,
                  caption="Every option's probability against how often it is the right one (all options pooled, "
                          "equal-count bins, 95% Wilson intervals), as Kadavath et al. (2022) draw it."),
        PaperPart(f"{prefix}-rejection", figures.rejection_figure(
            {label: risk_coverage(t.confidence, t.correct) for label, t in tops.items()}, roles=roles), runs,
                  caption="Selective accuracy when only the most confident answers are kept."),
        PaperPart(f"{prefix}-comparison", comparison_table(
            table, name=f"{prefix}-comparison",
            caption=f"Calibration and accuracy on {n} shared items."), runs),
    ]
