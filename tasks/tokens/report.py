"""A token-profile run's page and terminal lines: tables, plots, and the answers coloured by uncertainty."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from calibkit.runs.store import REPORT_FILE, RunStore
from calibkit.runs.task import Outcome
from calibkit.tasks.freeform.words import CLASSES
from calibkit.tasks.reporting import ci_columns, iv_text, page_table, run_header, run_labels
from calibkit.tasks.reporting import comparison_caption, comparison_outcome

from .study import POSITION_BINS, shifted_counts, summarize_store

HEADER_KEYS = ("source", "limit", "shots", "writers", "max_new_tokens", "data_source")
N_PASSAGES = 30  # questions shown coloured on the page


def _est(iv: Mapping[str, Any] | None) -> float | None:
    return None if iv is None else iv.get("estimate")


def _with_ci(row: dict[str, Any], name: str, iv: Mapping[str, Any]) -> None:
    """The estimate and bounds under ``name``; the row's n (answers) and small-n note once, after them."""
    row[name], row[f"{name} low"], row[f"{name} high"] = iv.get("estimate"), iv.get("low"), iv.get("high")
    row["n"] = row.get("n") if row.get("n") is not None else iv.get("n")
    row["note"] = row.get("note") or iv.get("note")


def profile_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for p in summary["profiles"]:
        row = {"answers by": p["writer"], "read by": p["reader"], "tokens": p["tokens"]}
        for name in ("logprob", "entropy", "top1"):
            _with_ci(row, {"logprob": "log-prob", "entropy": "entropy (nats)", "top1": "top-1 prob"}[name], p[name])
        rows.append(row)
    return pd.DataFrame(rows)


def shift_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for s in summary["shifts"]:
        row = {"answers by": s["writer"], "read by": s["reader"], "tokens": s["tokens"]}
        for name in ("unshifted", "marginal", "shifted"):
            _with_ci(row, name, s[name])
        rows.append(row)
    return pd.DataFrame(rows)


def word_class_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for s in summary["shifted_words"]:
        for cls in CLASSES:
            row = {"answers by": s["writer"], "read by": s["reader"], "class": cls}
            _with_ci(row, "share of shifted words", s[cls]["among_shifted"])
            _with_ci(row, "share of all words", s[cls]["among_all"])
            rows.append(row)
    return pd.DataFrame(rows)


def summary_text(summary: Mapping[str, Any]) -> str:
    def cell(x: Any) -> str:
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"

    lines = [f"questions {summary['n_items']}  models {', '.join(summary['models'])}"]
    for w, iv in summary["accuracy"].items():
        lines.append(f"accuracy of {w:<24} {iv_text(iv)}")
    for p in summary["profiles"]:
        lines.append(f"{p['writer']} read by {p['reader']:<12} tokens {p['tokens']:>6}  entropy "
                     f"{cell(_est(p['entropy']))}  top-1 {cell(_est(p['top1']))}")
    for s, w in zip(summary["shifts"], summary["shifted_words"]):
        lines.append(f"{s['writer']} read by {s['reader']:<12} unshifted {cell(_est(s['unshifted']))}  marginal "
                     f"{cell(_est(s['marginal']))}  shifted {cell(_est(s['shifted']))}  shifted words that are "
                     f"function words {cell(_est(w['function']['among_shifted']))} (all words "
                     f"{cell(_est(w['function']['among_all']))})")
    return "\n".join(lines)


def passages(rows: Sequence[Mapping[str, Any]], shade_by: str, n: int = N_PASSAGES) -> list[tuple[str, list]]:
    """Each answer word by word: shaded by ``shade_by``'s uncertainty (1 - top-1 probability at the word's start),
    underlined where another model ranks the word's first token below first (the models disagree)."""
    from calibkit.draw.page import Marked

    out = []
    for r in sorted(rows, key=lambda r: r["id"])[:n]:
        for writer, a in r["answers"].items():
            pieces, at = [], 0
            for w in a["words"]:
                pieces.append(Marked(a["text"][at:w["start"]]))
                mine = w.get(shade_by)
                others = [w[m] for m in w if isinstance(w[m], dict) and m != writer]
                note = "; ".join(f"{m}: top-1 {w[m]['top1']:.2f}, entropy {w[m]['entropy']:.2f}, rank {w[m]['rank']}"
                                 for m in w if isinstance(w[m], dict))
                pieces.append(Marked(w["text"], shade=None if mine is None else 1.0 - mine["top1"],
                                     marked=any(o["rank"] > 1 for o in others), note=note))
                at = w["end"]
            pieces.append(Marked(a["text"][at:]))
            verdict = {True: "right", False: "wrong", None: "not judged"}[a["correct"]]
            out.append((f"{r['question']}  —  {writer} ({verdict})", pieces))
    return out


def write_run_report(store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> Path:
    from calibkit.draw import plots
    from calibkit.draw.page import Report

    summary = summarize_store(store, n_resamples=n_resamples, seed=seed)
    models = summary["models"]
    names = {role: m.get("model", role) for role, m in store.config.get("models", {}).items()}
    report = Report(f"calibkit: token profiles of {' and '.join(names.get(m, m) for m in models)}",
                    subtitle="How sure each model is, token by token, of each model's answers (URIAL's token "
                             "classes, Lin et al. 2023).")
    report.add_header({**run_header(store, summary["n_items"], keys=HEADER_KEYS),
                       **{f"{role} model": name for role, name in names.items()}}, title="Run")
    if summary["accuracy"]:
        report.add_table("Accuracy of each model's answers", page_table(pd.DataFrame(
            [{"answers by": w, **ci_columns(iv)} for w, iv in summary["accuracy"].items()])))
    report.add_table("Per-token readings", page_table(profile_frame(summary)),
                     caption="Mean over tokens; 95% percentile-bootstrap CIs over answers (n: answers; below 20 no "
                             "interval, and the note says so). Entropy of the reader's next-token distribution in "
                             "nats.")
    if summary["shifts"]:
        report.add_table("URIAL token classes", page_table(shift_frame(summary)),
                         caption="A token of one model's answer is unshifted when the other model ranks it first, "
                                 "marginal at rank 2-3, shifted beyond (Lin et al. 2023).")
        where = pd.DataFrame([{"benchmark": label, "model": f"{s['writer']} read by {s['reader']}",
                               "estimate": s["shifted_by_position"][label], "low": math.nan, "high": math.nan}
                              for s in summary["shifts"] for label in POSITION_BINS])
        report.add_figure("Where the shifted tokens stand", plots.benchmark_chart(
            where, metric="share of tokens shifted", x_title="position in the answer (share of its tokens)",
            title="Shifted tokens by position"))
        report.add_table("Which words are shifted", page_table(word_class_frame(summary)),
                         caption="A word is shifted when the reader ranks its first token beyond 3. Function words: "
                                 "scikit-learn's English stop-word list and their contractions.")
        classes = pd.DataFrame([{"benchmark": f"{cls} ({s['writer']} read by {s['reader']})", "model": which,
                                 "estimate": s[cls][key]["estimate"], "low": s[cls][key]["low"],
                                 "high": s[cls][key]["high"], "n": s[cls][key].get("n"),
                                 "note": s[cls][key].get("note")}
                                for s in summary["shifted_words"] for cls in CLASSES
                                for key, which in (("among_shifted", "shifted words"), ("among_all", "all words"))])
        report.add_figure("Function words among the shifted words", plots.benchmark_chart(
            classes, metric="share", x_title="word class", title="Word classes: shifted words vs all words"))
        for s in summary["shifts"]:
            if s["most_shifted"]:
                report.add_table(f"Most frequent shifted tokens ({s['writer']} read by {s['reader']})",
                                 pd.DataFrame(s["most_shifted"], columns=["token", "count"]))
    if summary.get("entropy_difference"):
        report.add_table("Entropy at word starts, paired", page_table(pd.DataFrame(summary["entropy_difference"])),
                         caption="Mean entropy (nats) at each word's first token under each model, on the words both "
                                 "read; the difference is paired over answers: 95% paired-bootstrap interval, p by "
                                 "the test named in 'test'; n: answers (below 20 no interval or p, and the note "
                                 "says so).")
    shade_by = "base" if "base" in models else models[0]
    report.add_marked_text("Answers", passages(store.rows(), shade_by),
                           caption=f"Shading: {shade_by}'s uncertainty at each word's start (1 - top-1 probability). "
                                   "Underlined: another model ranks the word's first token below first. Hover a word "
                                   "for each model's reading.")
    return report.save(store.path / REPORT_FILE)


def comparison_frame(stores: Sequence[RunStore], *, n_resamples: int = 1000) -> tuple[list[str], int, Any]:
    """(run labels, shared questions, table): URIAL's shifted share per run, each paired with the first run.

    Per (answers by, read by) pair that every run holds: the share of
    shifted tokens (sum over answers of shifted tokens / tokens) with a
    bootstrap CI over questions, and its paired difference from the first
    run's (:func:`calibkit.stats.comparison.paired_comparison`); the
    ``tokens`` column counts the tokens behind each share, beside its n (questions).
    """
    from calibkit.stats.comparison import Measure, paired_comparison, shared
    from calibkit.stats.metrics import ratio_of_sums

    labels = run_labels(stores)
    aligned = shared({label: s.rows() for label, s in zip(labels, stores)}, key=lambda r: r["id"], what="questions")
    counts = {label: shifted_counts(rows) for label, rows in aligned.items()}
    pairs = [pair for pair in counts[labels[0]] if all(pair in c for c in counts.values())]
    measures = [Measure({"answers by": w, "read by": r, "metric": "shifted share"}, ratio_of_sums,
                        lambda c, pair=(w, r): c[pair]) for w, r in pairs]
    frame = paired_comparison(counts, measures, n_resamples=n_resamples)
    frame.insert(4, "tokens", [int(counts[r.run][(r[1], r[2])][1].sum()) for r in frame.itertuples(index=False)])
    return labels, len(next(iter(aligned.values()))), frame


def compare_runs(stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
    """URIAL's shifted share per run on the questions all runs share, each paired with the first run
    (:func:`comparison_frame`), as a page, terminal text and JSON."""
    labels, n_items, frame = comparison_frame(stores, n_resamples=n_resamples)
    return comparison_outcome(frame, labels, n_items, out=out, title="calibkit: token profiles compared",
                              heading=f"Share of shifted tokens on {n_items} shared questions",
                              caption=comparison_caption(what="questions"), what="shared questions",
                              text_frame=frame.drop(columns="tokens"))


def paper_parts(stores: Sequence[RunStore]) -> list[Any]:
    """The write-up's token-shift bars and table: the shifted share per (answers by, read by) pair and run."""
    from calibkit.paper import PaperPart, comparison_table, figures
    from calibkit.paper.parts import folders, relabel

    labels, n_items, frame = comparison_frame(stores)
    frame = relabel(frame, labels, stores)
    bars = frame.assign(benchmark=frame["answers by"] + " read by " + frame["read by"], model=frame["run"])
    return [PaperPart("tokens-shifted-bars", figures.grouped_bars(bars, metric="share of tokens shifted"),
                      folders(stores), caption=f"Share of the answers' tokens the reader ranks beyond 3 (URIAL's "
                                               f"shifted tokens) on {n_items} shared questions, 95% bootstrap "
                                               "intervals over questions."),
            PaperPart("tokens-shifted", comparison_table(
                frame.drop(columns=["tokens", "metric"]), name="tokens-shifted",
                caption=f"Share of shifted tokens (URIAL's token distribution shift) on {n_items} shared questions."),
                folders(stores))]
