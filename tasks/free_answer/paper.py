"""What TriviaQA and NQ-open runs give `calibkit paper`: P(True)'s reliability, rejection curves, the paired table.

Computed by :mod:`.study` (the same arrays and comparison the pages and
``calibkit compare`` use) and drawn by :mod:`calibkit.paper`; nothing here
computes a metric of its own.
"""
from __future__ import annotations

from typing import Any, Sequence

from calibkit.runs.store import RunStore

from . import signals as free
from . import comparison, study

#: the rejection curves of one run: the run's own signals, then a likelihood and a sampling signal (the paper's
#: palette tells five curves apart; every signal is in the run's page and table)
CURVES = ("p_true", "seq_prob", "agreement", "mean_token_entropy", "semantic_entropy")


def paper_parts(stores: Sequence[RunStore], *, prefix: str) -> list[Any]:
    """P(True)'s reliability diagram (runs overlaid), the rejection curves of every signal of the first run (one
    run) or of P(True) per run (several), and with several runs the paired comparison table.

    ``prefix``: the parts' name prefix (the task's name, ``"triviaqa"`` or ``"nq_open"``).
    """
    from calibkit.paper import PaperPart, comparison_table, figures
    from calibkit.paper.parts import folders, role_of, run_labels
    from calibkit.stats.binning import bin_stats
    from calibkit.stats.discrimination import risk_coverage
    from calibkit.stats.metrics import calibration_error

    labels = run_labels(stores)
    roles = {label: role_of(s.config) for label, s in zip(labels, stores)}
    rows = comparison.shared_rows(stores) if len(stores) > 1 else [stores[0].rows()]
    arrays = {label: study.signal_arrays(r) for label, r in zip(labels, rows)}
    bins = {label: bin_stats(a.signals["p_true"], a.target("p_true"), strategy=study.DIAGRAM_STRATEGY)
            for label, a in arrays.items()}
    eces = {label: calibration_error(b) for label, b in bins.items()}
    n, runs = len(next(iter(arrays.values())).ids), folders(stores)
    parts = [PaperPart(f"{prefix}-ptrue-reliability", figures.reliability_figure(bins, ece=eces, roles=roles), runs,
                       caption=f"P(True) against how often the answer it evaluated is right ({n} questions, "
                               "10 equal-mass bins, 95% Wilson intervals); questions per bin beneath.")]
    if len(stores) == 1:
        label, a = next(iter(arrays.items()))
        curves = {**a.signals, **free.confidences(rows[0], free.selected(stores[0].config))}
        rc = {name: risk_coverage(curves[name], a.target(name)) for name in CURVES if name in curves}
        what = f"each signal of {label}"
    else:
        rc = {label: risk_coverage(a.signals["p_true"], a.target("p_true")) for label, a in arrays.items()}
        what = "P(True) per run"
    parts.append(PaperPart(f"{prefix}-rejection", figures.rejection_figure(rc, roles=roles if len(stores) > 1 else None),
                           runs, caption=f"Selective accuracy when only the answers {what} is most confident in "
                                         f"are kept ({n} questions); AURC in the legend."))
    if len(stores) > 1:
        c = comparison.compare_runs(stores)
        parts.append(PaperPart(f"{prefix}-comparison", comparison_table(
            c.table, name=f"{prefix}-comparison",
            caption=f"P(True), the answers' likelihood and agreement, and the free-answer signals on {c.n_items} "
                    "shared questions."), runs))
    return parts
