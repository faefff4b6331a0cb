"""A suite's runs read together: one row per benchmark, model and metric, and base vs chat paired.

Every metric is named by what it computes: ``ece_quantile`` is the top-label
ECE over 10 equal-mass bins (Kadavath et al.'s binning, figure 4 and
appendix A.1-A.2), ``ece`` the same over 10 equal-width bins; the suite's
headline ECE (:data:`.sets.HEADLINE_ECE`) leads and the other stands beside
it. Base vs chat (several models) goes through the one paired comparison
(:mod:`calibkit.stats.comparison`: paired-bootstrap intervals, the paired
permutation test, the small-n rule) and leads with smooth ECE, the
calibration measure with the most power at nominal size. A run's departures
(``config["departures"]``: where it departs from the method it names, one
sentence each) are carried to the rows they concern. Reads stored runs only
(their summary.json and rows): it never loads a model and never draws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from calibkit.runs.store import RunStore
from calibkit.stats import multiple_choice
from calibkit.stats.comparison import HEADLINE
from calibkit.stats.paired import HEADLINE_METRIC
from calibkit.tasks.reporting import frame_records, interval_text, p_text

from .sets import HEADLINE_ECE

# accuracy; both ECE binnings (equal-mass: Kadavath et al.'s; equal-width: calibkit's default); Brier; AUROC
SUITE_METRICS = ("accuracy", "ece_quantile", "ece", "brier", "auroc")
# the paired rows lead with smooth ECE (calibkit.stats.comparison.HEADLINE says why); one model's rows are its
# run's summary, which has no smooth ECE
PAIRED_METRICS = (HEADLINE_METRIC, *SUITE_METRICS)
COLUMNS = ("benchmark", "model", "n_items", "metric", "estimate", "low", "high", "note", "difference", "diff_low",
           "diff_high", "p_value", "test", "departures")


@dataclass(frozen=True)
class SuiteStudy:
    """Every benchmark's metrics per model; paired differences to the first model when there are several."""

    suite: str  # the suite's name
    models: tuple[str, ...]  # model labels, the first is the reference of the differences
    # COLUMNS; note: why the row has no interval (the small-n rule; with under 6 items no p-value either), None
    # when it has one;
    # difference/diff_low/diff_high/p_value: model minus the first, NaN for the first; test: what produced p_value;
    # departures: the run's departures as markers into `departures` ("[1]", "[1][2]"), "" for none
    table: pd.DataFrame
    runs: Mapping[str, tuple[str, ...]]  # benchmark -> each model's run folder
    departures: tuple[str, ...] = ()  # each distinct departure once, in order of first appearance; marker [i] is departures[i-1]

    @property
    def headline_ece(self) -> str:
        """The ECE this suite leads with (its namesake's binning)."""
        return HEADLINE_ECE.get(self.suite, "ece")

    def to_json(self) -> dict[str, Any]:
        return {"suite": self.suite, "models": list(self.models), "headline_ece": self.headline_ece,
                "rows": frame_records(self.table), "departures": list(self.departures),
                "runs": {k: list(v) for k, v in self.runs.items()}}


def suite_study(suite: str, runs: Mapping[str, Sequence[RunStore]], models: Sequence[str], *,
                n_resamples: int = 1000, seed: int = 0) -> SuiteStudy:
    """``runs``: benchmark -> one run per model, in the order of ``models``.

    One model: each run's summary (bootstrap CIs over its items). Several:
    :func:`calibkit.stats.multiple_choice.paired_table` (the one paired
    comparison, :mod:`calibkit.stats.comparison`) on the items the runs
    share, each model against the first, smooth ECE first. Below the small-n
    rule a row keeps its estimates and ``note`` says why it has no interval
    (the permutation test's p-value stays from
    :data:`calibkit.stats.paired.MIN_TEST_ITEMS` items on).
    """
    frames = []
    departures: dict[str, int] = {}  # departure -> its marker number
    for benchmark, stores in runs.items():
        if len(stores) == 1:
            frame = _summary_rows(stores[0])
            frame.insert(0, "model", models[0])
        else:
            frame = _paired_rows(stores, models, n_resamples=n_resamples, seed=seed)
        frame.insert(0, "benchmark", benchmark)
        markers = {model: _markers(store, departures) for model, store in zip(models, stores)}
        frame["departures"] = frame["model"].map(markers)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True).reindex(columns=list(COLUMNS))
    return SuiteStudy(suite, tuple(models), table, {k: tuple(str(s.path) for s in v) for k, v in runs.items()},
                      tuple(departures))


def _summary_rows(store: RunStore) -> pd.DataFrame:
    summary = store.read_summary()
    rows = [{"n_items": summary["n_items"], "metric": m, "estimate": summary["metrics"][m]["estimate"],
             "low": summary["metrics"][m]["low"], "high": summary["metrics"][m]["high"],
             "note": summary["metrics"][m].get("note")} for m in SUITE_METRICS]
    return pd.DataFrame(rows).astype({"estimate": float, "low": float, "high": float})


def _paired_rows(stores: Sequence[RunStore], models: Sequence[str], *, n_resamples: int, seed: int) -> pd.DataFrame:
    aligned = multiple_choice.shared_items({m: s.items() for m, s in zip(models, stores)})
    frame = multiple_choice.paired_table(aligned, metrics_=PAIRED_METRICS, n_resamples=n_resamples, seed=seed)
    frame = frame.rename(columns={"run": "model"})
    frame.insert(1, "n_items", len(next(iter(aligned.values()))))
    return frame


def _markers(store: RunStore, departures: dict[str, int]) -> str:
    """The run's departures as "[i]" markers, numbering those not seen before (``departures`` grows)."""
    out = []
    for text in store.config.get("departures") or ():
        out.append(f"[{departures.setdefault(str(text), len(departures) + 1)}]")
    return "".join(out)


def _cell(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _with_ci(row: Any) -> str:
    """The estimate with its interval; below the small-n rule the estimate alone (the line says why, once)."""
    return interval_text(row.estimate, row.low, row.high)


def _delta(name: str, row: Any) -> str:
    """A paired difference: its interval and p with its test, or the difference alone below the rule."""
    text = f"Δ{name} " + interval_text(row.difference, row.diff_low, row.diff_high, signed=True)
    p = p_text(row.p_value, row.test)
    return text + (f" {p}" if p else "")


def suite_text(study: SuiteStudy) -> str:
    """One line per benchmark and model: accuracy, both ECEs (the headline first) with CIs, Brier, AUROC; when
    paired, smooth ECE first and its difference (why: :data:`calibkit.stats.comparison.HEADLINE`) beside the
    headline ECE's, each with its interval and p; the departures' markers, and one line per departure at the end. Below
    the small-n rule the estimates stand alone and the line says why, once."""
    from calibkit.tasks.multiple_choice.scale import SHORT_NAMES, small_n_marker  # the terminal's, one copy

    paired = len(study.models) > 1
    eces = (study.headline_ece, *(m for m in ("ece_quantile", "ece") if m != study.headline_ece))
    deltas = (HEADLINE_METRIC, study.headline_ece) if paired else ()
    names = {**SHORT_NAMES, HEADLINE_METRIC: "smooth ECE"}
    out = [f"suite {study.suite}: " + ", ".join(study.models)] + ([HEADLINE] if paired else [])
    for (benchmark, model), rows in study.table.groupby(["benchmark", "model"], sort=False):
        row = {m: rows[rows.metric == m].iloc[0] for m in (*deltas[:1], *SUITE_METRICS)}
        acc = row["accuracy"]
        line = (f"{benchmark:<16} {model:<28} n={int(acc.n_items):<5} acc {_cell(acc.estimate)}  "
                + "  ".join(f"{names[m]} {_with_ci(row[m])}" for m in (*deltas[:1], *eces))
                + f"  Brier {_cell(row['brier'].estimate)}  AUROC {_cell(row['auroc'].estimate)}")
        if paired and model != study.models[0]:
            line += "".join(f"  {_delta(names[m], row[m])}" for m in deltas)
        line += small_n_marker(rows["note"])
        marks = acc.departures
        out.append(line + (f"  {marks}" if isinstance(marks, str) and marks else ""))
    out += [f"[{i}] {text}" for i, text in enumerate(study.departures, start=1)]
    return "\n".join(out)
