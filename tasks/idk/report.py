"""The abstention benchmark's page and terminal lines."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from calibkit.runs.store import REPORT_FILE, RunStore
from calibkit.tasks.free_answer.report import signal_table_frame, signal_table_text
from calibkit.tasks.reporting import ci_columns, interval_text, iv_text, p_text, page_table, run_header

from .study import PAIR_OUTCOMES, idk_arrays, summarize_store

HEADER_KEYS = ("dataset", "split", "limit", "max_new_tokens", "likelihood", "judge", "chat_template", "dtype")
LABELS = {
    "appropriate": "appropriate replies (right answer, or abstention where due)",
    "over_abstention": "over-abstention: abstained on answerable rows",
    "accuracy_when_answering": "accuracy of the replies to answerable rows it answered",
    "accuracy": "answerable rows answered right",
    "hedged": "answers given with a hedge (of all replies that did not abstain)",
    "abstention": "abstention on unanswerable rows",
    "under_abstention": "under-abstention: answered unanswerable rows",
    "over_abstention_likelihood": "over-abstention by likelihood of \" I don't know.\" (per-token means)",
    "abstention_likelihood": "abstention by likelihood of \" I don't know.\" (per-token means)",
}
EVASIVENESS_CAPTION = (
    "Each constructed unanswerable row and its answerable twin (same topic) form a pair. abstention: declined the "
    "unanswerable row; twins declined: over-abstention on the twins (evasiveness); difference: abstention minus "
    "twins declined over the same pairs, with its 95% paired-bootstrap interval; p: two-sided, by the paired "
    "permutation test (every swap up to 16 pairs, else 1,000 random swaps; none below 6 pairs); near 0 with "
    "both rates high: evasive, with both low: answers everything. 95% percentile bootstrap intervals over pairs; "
    "below 20 pairs no interval, and the note says so.")

SIGNAL_CAPTION = (
    "The {n} replies the judge read as answers (abstentions left out: their likelihood is confidence in declining, "
    "not in an answer), each signal of the greedy reply judged against an appropriate reply (a right answer to an "
    "answerable row; an answer to an unanswerable row is not appropriate), with the free-answer run's metrics "
    "(AUROC, AURC, PRR, Spearman, and ECE where the signal is a probability; percentile bootstrap over replies, "
    "95% CIs). A run has no samples, so only the greedy reply's signals are computed.")


def rates_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"rate": LABELS[k], **ci_columns(v)} for k, v in summary["rates"].items()])


def _difference_text(d: Mapping[str, Any] | None) -> str:
    if not d:
        return "-"
    text = interval_text(d.get("difference"), d.get("low"), d.get("high"), n=d.get("n"), note=d.get("note"),
                         signed=True)
    p = p_text(d.get("p_value"), d.get("test"))
    return f"{text} {p}" if p else text


def _cell(estimate: Any, low: Any = None, high: Any = None, *, signed: bool = False) -> str:
    """An estimate with its interval where there is one; the small-n note goes to its own column, once."""
    return interval_text(estimate, low, high, signed=signed)


def _iv(iv: Mapping[str, Any] | None) -> str:
    iv = iv or {}
    return _cell(iv.get("estimate"), iv.get("low"), iv.get("high"))


def evasiveness_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per category: pairs, the paired rates with intervals, the difference and its p, and the small-n note
    (the same for every rate of a row: they are all over its pairs). The pair outcomes are drawn beside it."""
    rows = []
    for r in summary.get("evasiveness", ()):
        d = r["difference"] or {}
        rows.append({"category": r["category"], "pairs": r["pairs"], "abstention": _iv(r["abstention"]),
                     "twins declined": _iv(r["over_abstention_twins"]),
                     "difference": _cell(d.get("difference"), d.get("low"), d.get("high"), signed=True),
                     "p": d.get("p_value"), "twins answered right": _iv(r["twin_accuracy"]),
                     "note": r["abstention"].get("note")})
    frame = pd.DataFrame(rows)
    return frame.drop(columns="note") if frame.empty or frame["note"].isna().all() else frame


def evasiveness_text(summary: Mapping[str, Any]) -> list[str]:
    """The terminal lines of the twin-paired evasiveness, one per category."""
    rows = summary.get("evasiveness") or []
    if not rows or not rows[0]["pairs"]:
        return ["twin pairs: none in this split (a dataset built before twins, or a split without them)"]
    lines = ["twin pairs: abstention on the unanswerable row vs on its answerable twin (declined twins = evasive)"]
    for r in rows:
        d = r["difference"] or {}
        note = d.get("note")
        if note:  # one note for the whole line: every rate here is over the same pairs
            rates = (f"abstained {_share(r['abstention'])}, declined twins {_share(r['over_abstention_twins'])}, "
                     f"difference {_signed(d.get('difference'))} {p_text(d.get('p_value'), d.get('test'))}".rstrip()
                     + f" [{note}]")
        else:
            rates = (f"abstained {iv_text(r['abstention'])}, declined twins {iv_text(r['over_abstention_twins'])}, "
                     f"difference {_difference_text(d)}")
        outcomes = ", ".join(f"{name} {_share(r[name])}" for name in PAIR_OUTCOMES)
        lines.append(f"  {r['category']:<15} {r['pairs']:>3} pairs: {rates}; {outcomes}")
    return lines


def _share(iv: Mapping[str, Any] | None) -> str:
    value = (iv or {}).get("estimate")
    return "-" if value is None else f"{value:.3f}"


def _signed(value: Any) -> str:
    return "-" if value is None else f"{value:+.3f}"


def summary_text(summary: Mapping[str, Any]) -> str:
    lines = [f"rows {summary['n_items']} ({summary['n_answer']} answerable, {summary['n_abstain']} unanswerable; "
             f"{summary.get('n_pairs', 0)} twin pairs)"]
    for key in (k for k in LABELS if k in summary["rates"]):
        v = summary["rates"][key]
        lines.append(f"{key:<26} {iv_text(v)}")
    return "\n".join(lines + evasiveness_text(summary) + _signal_lines(summary))


def _has_signals(summary: Mapping[str, Any]) -> bool:
    """Whether there is a signal table to show: a reply that answers, or the note why the signals are missing
    (summaries written before the table have none)."""
    table = summary.get("signal_table") or {}
    return bool(table.get("signals") or table.get("not_stored"))


def _signal_lines(summary: Mapping[str, Any]) -> list[str]:
    if not _has_signals(summary):
        return []
    table = summary["signal_table"]
    return [f"free-answer signals of the {table['n']} replies that answer, vs an appropriate reply:",
            *signal_table_text(summary)]


def pair_outcomes_figure(summary: Mapping[str, Any]):
    """A stacked bar per category: the shares of discerning, evasive, hallucinating and inverted pairs."""
    import plotly.graph_objects as go

    from calibkit.draw.style import MARGIN

    rows = [r for r in summary.get("evasiveness", ()) if r["pairs"]]
    labels = [f"{r['category']} ({r['pairs']})" for r in rows]
    colours = {"discerning": "#2a9d8f", "evasive": "#e9c46a", "hallucinating": "#e76f51", "inverted": "#8d99ae"}
    fig = go.Figure([go.Bar(name=name, y=labels, x=[(r[name] or {}).get("estimate") for r in rows],
                            orientation="h", marker_color=colours[name]) for name in PAIR_OUTCOMES])
    # calibkit's margins, not 10 px: the x-axis title and the category labels need the room (automargin grows it)
    fig.update_layout(barmode="stack", xaxis={"title": "share of pairs", "range": [0, 1], "automargin": True},
                      yaxis={"autorange": "reversed", "automargin": True}, height=160 + 40 * len(rows),
                      legend={"orientation": "h", "traceorder": "normal", "y": 1.02, "yanchor": "bottom"},
                      margin={**MARGIN, "t": 40})
    return fig


def write_run_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    from calibkit.draw import plots
    from calibkit.draw.page import Report
    from calibkit.stats import metrics

    summary = summarize_store(store, n_resamples=n_resamples, seed=seed)
    a = idk_arrays(store.rows())
    report = Report(f"calibkit: does {store.config.get('model')} say \"I don't know\" when it should?")
    report.add_header(run_header(store, summary["n_items"], keys=HEADER_KEYS), title="Run")
    report.add_table("Rates", page_table(rates_frame(summary)), caption="An abstention is what the judge reads as one "
                     "(tasks/idk/abstain.py: decline phrases at word boundaries, quotes and titles masked; a decline "
                     "with a guess is a hedged answer); answers are judged by TriviaQA's normalisation (exact or "
                     "containment). Percentile bootstrap over rows, 95% CIs; n: the rows behind each rate (below 20 no "
                     "interval, and the note says so).")
    _add_evasiveness(report, summary)
    if _has_signals(summary):
        report.add_table("The answers' confidence signals vs an appropriate reply", signal_table_frame(summary),
                         caption=SIGNAL_CAPTION.format(n=summary["signal_table"]["n"]))
    report.add_table("By reason", pd.DataFrame(summary["by_reason"]))
    report.add_table("By source", pd.DataFrame(summary["by_source"]))
    report.add_figure("Appropriate replies vs the model's confidence", plots.risk_coverage_curve(
        {"appropriate reply": metrics.risk_coverage(a.confidence, a.appropriate)}),
        caption="Rows ordered by the sequence probability of the reply; an abstention is appropriate on an "
                "unanswerable row.")
    return report.save(store.path / REPORT_FILE)


def _add_evasiveness(report: Any, summary: Mapping[str, Any]) -> None:
    if not summary.get("n_pairs"):
        report.add_text("No twin pairs in this split: the dataset was built before answerable twins, or the split "
                        "holds none. Rebuild it with `calibkit idk build`.", title="Evasiveness: twin pairs")
        return
    report.add_table("Evasiveness: twin pairs", evasiveness_frame(summary), caption=EVASIVENESS_CAPTION)
    report.add_figure("Pair outcomes per category", pair_outcomes_figure(summary),
                      caption="Shares of pairs (the number of pairs in brackets). discerning: declines the "
                              "unanswerable row and answers the twin, the behaviour the dataset asks for; evasive: "
                              "declines both; hallucinating: answers both; inverted: the reverse of discerning.")

