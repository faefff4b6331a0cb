"""The words stage's summary, text and page section: the model's accuracy per word next to what people read it as.

"When the chat model says *probably*, it is right 41% of the time; people
read *probably* as 61%": per expression the model used, its uses, its
accuracy with a bootstrap interval (:func:`calibkit.stats.words.word_accuracy`),
people's reading (the mean share of red balls under Herbstritt & Franke's
listener distribution, :func:`people_meaning`) and the gap; then the words
scored with people's reading as the confidence, and with the model's own
accuracy per word cross-fitted (never fitted on the items it scores).
:func:`words_comparison` pairs runs (base vs chat) on the questions where
every run said a word. Rows without the words fields give no section.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.stats import words as sw
from calibkit.stats.bootstrap import bootstrap_ci
from calibkit.stats.comparison import Measure, paired_comparison, shared
from calibkit.stats.metrics import binary_brier
from calibkit.tasks.reporting import iv_text

from .words import expressions, listener_rows

MEANING = ("people's reading: the mean of E[red balls] / 10 over the listeners of Herbstritt & Franke (2019), "
           "who read the expression in 'The next ball will ... be red.' (complex: 'It ... that the next ball will "
           "be red.') and guessed how many of the urn's 10 balls are red")
CORRECT_FIELD = "correct_exact"  # the greedy answer's correctness: what the words are about


def people_meaning(expression_set: str, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, sw.PeopleReading]:
    """People's reading of each expression of the set, from the H&F listener table in ``calibkit.human_data``.

    >>> round(people_meaning("simple", n_resamples=10)["probably"].mean, 4)  # 874 / 1440
    0.6069
    """
    rows = listener_rows(expression_set)
    return sw.people_readings([r["expression"] for r in rows], np.array([int(r["red_balls"]) for r in rows]),
                              np.array([int(r["count"]) for r in rows]), n_resamples=n_resamples, seed=seed)


def _words_of(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str | None], np.ndarray]:
    return [r.get("words_choice") for r in rows], np.array([bool(r[CORRECT_FIELD]) for r in rows], dtype=np.float64)


def words_summary(rows: Sequence[Mapping[str, Any]], *, n_resamples: int = 1000, seed: int = 0,
                  folds: int = 5) -> dict[str, Any] | None:
    """The words part of summary.json; None when the rows hold no words stage.

    Returns ``{"mode", "set", "n_items", "n_without_word", "meaning",
    "expressions": [{"expression", "n", "correct", "accuracy" (interval),
    "people" ({"mean", "low", "high", "sd", "n"}), "gap" (accuracy - people's
    mean)}], "against_people": {"n", "ece_words", "brier"}, "own_crossfit":
    {"folds", "n", "brier"}, "base_rate_crossfit": {"brier"}}`` (intervals in
    ``Interval.to_json`` form; correctness: exact match of the greedy answer).
    """
    rows = sorted((r for r in rows if "words_choice" in r), key=lambda r: r["id"])
    if not rows:
        return None
    words_set = rows[0].get("words_set", "simple")
    meaning = people_meaning(words_set, n_resamples=n_resamples, seed=seed)
    words, right = _words_of(rows)
    kw = dict(n_resamples=n_resamples, seed=seed)
    table = []
    for acc in sw.word_accuracy(words, right, expressions=expressions(words_set), **kw):
        p = meaning[acc.expression]
        table.append({"expression": acc.expression, "n": acc.n, "correct": acc.correct,
                      "accuracy": acc.accuracy.to_json(), "gap": acc.accuracy.estimate - p.mean,
                      "people": {"mean": p.mean, "low": p.interval.low, "high": p.interval.high, "sd": p.sd,
                                 "n": p.n}})
    people = sw.calibration_against(words, right, {k: v.mean for k, v in meaning.items()}, **kw)
    own, base = sw.crossfit_own_mapping(words, right, folds=folds, seed=seed)
    has = np.isfinite(own)
    crossfit = {name: (bootstrap_ci("mean", (conf[has] - right[has]) ** 2, **kw).to_json() if has.any() else None)
                for name, conf in (("own", own), ("base", base))}
    return {"mode": rows[0].get("words_mode"), "set": words_set, "n_items": len(rows),
            "n_without_word": sum(w is None for w in words), "meaning": MEANING, "expressions": table,
            "against_people": {"n": people.n, "ece_words": people.ece_words.to_json(),
                               "brier": people.brier.to_json()},
            "own_crossfit": {"folds": folds, "n": int(has.sum()), "brier": crossfit["own"]},
            "base_rate_crossfit": {"brier": crossfit["base"]}}


def _pct(x: float | None) -> str:
    return "-" if x is None or x != x else f"{100 * x:.0f}%"


def words_lines(summary: Mapping[str, Any] | None, *, who: str = "the model") -> list[str]:
    """The terminal lines: one sentence per expression used, then the calibration against people's reading."""
    if not summary:
        return []
    lines = [f"words ({summary['mode']}, {summary['set']} set): {summary['n_items']} answers, "
             f"{summary['n_without_word']} without an expression"]
    for e in summary["expressions"]:
        if e["n"]:
            iv = e["accuracy"]
            lines.append(f"  when {who} says \"{e['expression']}\", it is right {_pct(iv['estimate'])} of the time "
                         f"({iv_text(iv)}, {e['correct']}/{e['n']}); people read it as {_pct(e['people']['mean'])}")
    ap = summary["against_people"]
    lines.append(f"  against people's reading: ECE by word {iv_text(ap['ece_words'])}, Brier {iv_text(ap['brier'])}")
    own, base = summary["own_crossfit"]["brier"], summary["base_rate_crossfit"]["brier"]
    lines.append(f"  Brier of the model's own accuracy per word ({summary['own_crossfit']['folds']}-fold cross-fitted) "
                 f"{iv_text(own)}; of the base rate alone {iv_text(base)}")
    return lines


def words_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The page table: one row per expression (uses, accuracy with its 95% CI, people's reading, the gap)."""
    return pd.DataFrame([{
        "expression": e["expression"], "uses": e["n"], "right": e["correct"],
        "accuracy": e["accuracy"]["estimate"], "accuracy low": e["accuracy"]["low"],
        "accuracy high": e["accuracy"]["high"], "people's reading": e["people"]["mean"],
        "people low": e["people"]["low"], "people high": e["people"]["high"], "gap": e["gap"],
        "note": e["accuracy"]["note"] if e["n"] else "never used"} for e in summary["expressions"]])


def words_figure(summaries: Mapping[str, Mapping[str, Any]], *, chat: Mapping[str, bool]):
    """"The model's accuracy when it says X vs people's reading of X": one point per expression used, per run.

    Base runs blue, chat runs vermillion (:data:`calibkit.draw.style.PALETTE` 0 and 1); vertical bars are
    the accuracy's 95% CI, horizontal ones people's; the dashed diagonal is "the model means the word as
    people read it".
    """
    import plotly.graph_objects as go

    from calibkit.draw import style

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=style.DIAGONAL, name="as people read it",
                             hoverinfo="skip"))
    for label, s in summaries.items():
        used = [e for e in s["expressions"] if e["n"]]
        color = style.PALETTE[1] if chat.get(label) else style.PALETTE[0]
        x = np.array([e["people"]["mean"] for e in used], dtype=np.float64)
        y = np.array([e["accuracy"]["estimate"] for e in used], dtype=np.float64)
        lo, hi = (np.array([e["accuracy"][k] if e["accuracy"][k] is not None else np.nan for e in used],
                           dtype=np.float64) for k in ("low", "high"))
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="markers+text", name=label, text=[e["expression"] for e in used],
            textposition="top center", marker=dict(color=color, size=9), textfont=dict(color=color),
            error_y=style.error_bars(y, lo, hi, color=color),
            error_x=style.error_bars(x, np.array([e["people"]["low"] for e in used], dtype=np.float64),
                                     np.array([e["people"]["high"] for e in used], dtype=np.float64), color=color),
            customdata=[e["n"] for e in used],
            hovertemplate="%{text}: right %{y:.0%} of %{customdata} uses; people read it as %{x:.0%}<extra></extra>"))
    fig.update_layout(**style.layout(title="The model's accuracy when it says X vs people's reading of X",
                                     height=520))
    fig.update_xaxes(**style.axis(), range=[-0.02, 1.02], title_text="people's reading of X (mean share of red balls)")
    fig.update_yaxes(**style.axis(), range=[-0.02, 1.05], title_text="model's accuracy when it says X")
    return fig


def add_words_section(report: Any, summary: Mapping[str, Any] | None, *, label: str, chat: bool) -> None:
    """The words table and chart on a run's page (nothing when the run has no words stage)."""
    if not summary:
        return
    ap = summary["against_people"]
    report.add_table("Confidence in words: the model's accuracy per expression vs people's reading",
                     words_frame(summary),
                     caption=f"Mode: {summary['mode']}; {summary['n_without_word']} of {summary['n_items']} answers "
                             f"gave no expression. Accuracy: exact match of the greedy answer, percentile bootstrap "
                             f"95% CI (below 20 uses no interval). People's reading: {MEANING}; its CI is a bootstrap "
                             f"over listeners. Gap: accuracy - people's reading. Against people's reading: ECE by "
                             f"word {iv_text(ap['ece_words'])}, Brier {iv_text(ap['brier'])} (n={ap['n']}).")
    report.add_figure("Accuracy when the model says X vs people's reading of X",
                      words_figure({label: summary}, chat={label: chat}),
                      caption="One point per expression the model used; on the diagonal the model is right as "
                              "often as people take the word to promise.")


def _run_arrays(rows: Sequence[Mapping[str, Any]], meaning: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    words, right = _words_of(rows)
    return sw.people_confidence(words, meaning), right


def words_comparison(rows_by_run: Mapping[str, Sequence[Mapping[str, Any]]], *, n_resamples: int = 1000,
                     seed: int = 0) -> tuple[pd.DataFrame, int] | None:
    """Base vs chat (any runs, the first the reference) on the questions where every run said an expression.

    Measures, each with its paired difference from the first run
    (:func:`calibkit.stats.comparison.paired_comparison`: paired bootstrap
    interval, permutation p-value, small-n rule): the ECE by word and the
    Brier score with people's reading as the confidence, the mean people's
    reading of the words said, and the accuracy on those questions.
    Returns ``(table, n shared questions)``; None when a run has no words
    stage or the runs use different expression sets.
    """
    runs = {k: [r for r in rows if r.get("words_choice") is not None] for k, rows in rows_by_run.items()}
    sets = {r.get("words_set") for rows in rows_by_run.values() for r in rows if "words_choice" in r}
    if len(sets) != 1 or not all(runs.values()):
        return None
    meaning = {k: v.mean for k, v in people_meaning(sets.pop(), n_resamples=n_resamples, seed=seed).items()}
    aligned = shared(runs, key=lambda r: r["id"], what="questions with an expression",
                     fix="compare runs of the same questions with the same words stage")
    data = {k: _run_arrays(rows, meaning) for k, rows in aligned.items()}
    measures = [Measure({"measure": "ECE by word vs people's reading"}, sw.ece_by_value, lambda d: d),
                Measure({"measure": "Brier vs people's reading"}, binary_brier, lambda d: d),
                Measure({"measure": "mean people's reading of the words said"}, "mean", lambda d: (d[0],)),
                Measure({"measure": "accuracy (exact)"}, "mean", lambda d: (d[1],))]
    table = paired_comparison(data, measures, n_resamples=n_resamples, seed=seed)
    return table, len(next(iter(aligned.values())))
