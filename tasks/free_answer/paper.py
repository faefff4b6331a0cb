"""What TriviaQA and NQ-open runs give `calibkit paper`: P(True)'s reliability, rejection curves, the paired table,
and from each run's summary.json its signal table, its accuracy by hedge class and (``--words``) its words vs people.

Computed by :mod:`.study` and :mod:`.comparison` (the same arrays and
comparison the pages and ``calibkit compare`` use) and drawn by :mod:`calibkit.paper`; nothing here
computes a metric of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from calibkit.paper.numbers import MISSING
from calibkit.runs.store import SUMMARY_FILE, RunStore

from . import signals as free
from . import comparison, study

#: the rejection curves of one run: the run's own signals, then a likelihood and a sampling signal (the paper's
#: palette tells five curves apart; every signal is in the run's page and table)
CURVES = ("p_true", "seq_prob", "agreement", "mean_token_entropy", "semantic_entropy")


def paper_parts(stores: Sequence[RunStore], *, prefix: str) -> list[Any]:
    """P(True)'s reliability diagram (runs overlaid), the rejection curves of every signal of the first run (one
    run) or of P(True) per run (several), with several runs the paired comparison table, then
    :func:`summary_parts` (the signal table, accuracy by hedge class, words vs people: where the runs have them).

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
    return parts + summary_parts(stores, prefix=prefix)


#: the signal table's metrics in the paper, in order (summary.json keys and column heads)
SIGNAL_METRICS = {"auroc": "AUROC", "prr": "PRR", "aurc": "AURC"}
LABEL_WIDTH = "2.8cm"  # the signal table's first column (LaTeX): "sequence likelihood (exp mean ...)" wraps
#: the signal table's row order, as on the run's page: the run's own signals, then the library's table
#: (summary.json keeps its keys sorted); a signal neither knows goes last
TABLE_ORDER = {name: i for i, name in enumerate((*study.SIGNALS, *free.COMPUTED))}
#: the summary.json keys the tables are drawn from, and what in each holds their rows
PARTS_OF = {"signal_table": "signals", "hedging": "classes"}
SIGNALS_CAPTION = (
    "Each signal's AUROC, PRR (higher: better) and AURC (lower: better) as a confidence in its answer: P(True) in "
    "the answer it evaluated, a one-stage verbalized confidence in its own guess, every other signal in the greedy "
    "answer (exact match). Signals that are not probabilities are ranked (an empty answer lowest). Brackets: 95% "
    "percentile bootstrap intervals over each run's own questions (not paired: the comparison table pairs runs); "
    "below 20 items the estimate stands alone with its n.")
HEDGING_CAPTION = (
    "Accuracy (exact match) of the greedy answers by how they hedge (Mielke et al. 2022), each answer's raw text "
    "classed by calibkit's lexicon (Hyland 2005's hedges and boosters; first class that applies). n: answers in "
    "the class; empty answers are in none. Brackets: 95% percentile bootstrap intervals; below 20 answers the "
    f"estimate stands alone with its n; {MISSING} where no answer is in the class.")


def summary_parts(stores: Sequence[RunStore], *, prefix: str) -> list[Any]:
    """The parts drawn from the runs' summary.json: the signal table (:func:`signal_table`), accuracy by hedge
    class (:func:`hedging_table`) and, for the runs asked with ``--words``, the model's accuracy per expression
    against people's reading (:func:`words_tables`). A part only where a run's summary has its key (runs made
    before it was computed give none), drawn from the runs that have it."""
    from calibkit.paper import PaperPart
    from calibkit.paper.figures import words_figure
    from calibkit.paper.parts import role_of, run_labels

    labels = run_labels(stores)
    summaries = {label: _summary(s) for label, s in zip(labels, stores)}
    paths = {label: str(s.path) for label, s in zip(labels, stores)}
    parts = []
    for key, table in (("signal_table", signal_table(summaries, name=f"{prefix}-signals")),
                       ("hedging", hedging_table(summaries, name=f"{prefix}-hedging"))):
        if table is not None:
            parts.append(PaperPart(table.name, table, tuple(paths[label] for label in _having(summaries, key))))
    points = words_tables(summaries)
    if points:
        roles = {label: role_of(s.config) for label, s in zip(labels, stores)}
        parts.append(PaperPart(f"{prefix}-words", words_figure(points, roles=roles), tuple(paths[k] for k in points),
                               caption=words_caption({k: summaries[k]["words"] for k in points})))
    return parts


def signal_table(summaries: Mapping[str, Mapping[str, Any]], *, name: str) -> Any:
    """The runs' signal tables as one paper table: a row per signal (the runs' own signals first, then the
    library's order) and, with several runs, per run (a "run" column: the table keeps the page's width),
    columns AUROC, PRR, AURC, each cell the summary's interval; None when no run has a signal table.

    ``summaries``: ``{run label: summary.json}``; runs without ``signal_table`` are left out, a signal a run
    does not have is an empty cell.
    """
    from calibkit.paper import Cell, Table

    having = _having(summaries, "signal_table")
    if not having:
        return None
    entries = {label: summaries[label]["signal_table"]["signals"] for label in having}
    order = sorted({n for label in having for n in entries[label]},
                   key=lambda n: (TABLE_ORDER.get(n, len(TABLE_ORDER)), n))
    runs = _run_column(having)
    columns = ["signal", *runs.head, *SIGNAL_METRICS.values()]
    rows = []
    for signal in order:
        label = next(entries[run][signal]["label"] for run in having if signal in entries[run])
        rows += [(label, *runs.cell(run), *(Cell.of(entries[run][signal].get(key)) for key in SIGNAL_METRICS))
                 for run in having if signal in entries[run]]
    return Table(name=name, columns=tuple(columns), rows=tuple(rows), caption=SIGNALS_CAPTION, wide=True,
                 align=f"p{{{LABEL_WIDTH}}}" + runs.align + "r" * len(SIGNAL_METRICS))  # long names wrap


def hedging_table(summaries: Mapping[str, Mapping[str, Any]], *, name: str) -> Any:
    """Accuracy by hedge class: a row per class (and, with several runs, per run), its answers in the class (n) and
    their accuracy (the summary's interval; the missing-value dash for an empty class); None when no run has the
    hedging summary."""
    from calibkit.paper import Cell, Table

    from .study import HEDGE_CLASSES

    having = _having(summaries, "hedging")
    if not having:
        return None
    runs = _run_column(having)
    rows = []
    for key in HEDGE_CLASSES:
        for run in having:
            c = summaries[run]["hedging"]["classes"].get(key)
            if c:  # an empty class has no accuracy: the missing-value dash, not a 0
                rows.append((c["label"], *runs.cell(run), c["n"], Cell.of(c["accuracy"]) if c["accuracy"] else Cell(None)))
    empty = sum(int(summaries[label]["hedging"].get("n_empty", 0)) for label in having)
    return Table(name=name, columns=("hedge class", *runs.head, "n", "accuracy"), rows=tuple(rows), wide=runs.several,
                 caption=HEDGING_CAPTION + (f" Empty greedy answers: {empty}." if empty else ""))


def words_tables(summaries: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``{run label: table}`` of :func:`calibkit.paper.figures.words_figure` for the runs asked with ``--words``:
    a row per expression the run used, its accuracy when the run says it (the summary's interval) and people's
    reading with its interval."""
    import pandas as pd

    out = {}
    for label, summary in summaries.items():
        used = [e for e in (summary.get("words") or {}).get("expressions", ()) if e["n"]]
        if not used:
            continue
        out[label] = pd.DataFrame([{
            "expression": e["expression"], "reading": e["people"]["mean"], "reading_low": e["people"]["low"],
            "reading_high": e["people"]["high"], "estimate": e["accuracy"]["estimate"], "low": e["accuracy"]["low"],
            "high": e["accuracy"]["high"], "n": e["n"], "note": e["accuracy"].get("note")}
            for e in used],
            columns=["expression", "reading", "reading_low", "reading_high", "estimate", "low", "high", "n", "note"])
    return out


def words_caption(words: Mapping[str, Mapping[str, Any]]) -> str:
    """The words figure's caption: what the axes and intervals are, and each run's calibration against people."""
    from calibkit.paper import Cell, cell_text

    against = "; ".join(f"{label}: ECE by word {cell_text(Cell.of(w['against_people']['ece_words']))}"
                        for label, w in words.items())
    return ("Per expression the model used (its words stage), its accuracy when it says it (exact match of the greedy "
            "answer) against people's reading of it: the mean share of red balls Herbstritt & Franke's (2019) "
            "listeners took it to promise. 95% bootstrap intervals, over questions (vertical) and listeners "
            "(horizontal); below 20 uses no interval and the n beside the point. Dashed: the model is right as "
            f"often as people read the word. Against people's reading, {against}.")


def _having(summaries: Mapping[str, Mapping[str, Any]], key: str) -> list[str]:
    """The runs whose summary holds a non-empty ``key`` (``"signal_table"``, ``"hedging"``)."""
    return [label for label, s in summaries.items() if (s.get(key) or {}).get(PARTS_OF[key])]


@dataclass(frozen=True)
class _RunColumn:
    """The "run" column of a table that holds several runs' rows; no column for one run."""

    several: bool

    @property
    def head(self) -> tuple[str, ...]:
        return ("run",) if self.several else ()

    @property
    def align(self) -> str:
        return f"p{{{LABEL_WIDTH}}}" if self.several else ""

    def cell(self, run: str) -> tuple[str, ...]:
        return (run,) if self.several else ()


def _run_column(runs: Sequence[str]) -> _RunColumn:
    return _RunColumn(len(runs) > 1)


def _summary(store: RunStore) -> dict[str, Any]:
    """The run's summary.json; empty for a run that has none yet (stopped before it was written)."""
    return store.read_summary() if (store.path / SUMMARY_FILE).exists() else {}
