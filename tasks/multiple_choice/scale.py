"""Calibration against model size (Kadavath et al. 2022, figure 4): one line per model family and variant.

Reads stored option runs of one task, keeps the items every run holds, and
gives each run's accuracy, ECE, Brier and AUROC with bootstrap CIs and n
(the shared items) against its parameter count (recorded in config.json
when the run was made, counted from the model itself). Below the small-n
rule (:func:`calibkit.stats.bootstrap.too_few`) the estimates stand without
intervals, and the table's ``note``, the text and the charts say why. The
headline ECE is Kadavath et al.'s: top-label, 10 equal-mass bins (their
figure 4 and appendix A.1-A.2; ``ece_quantile``); the equal-width ECE
(``ece``, calibkit's default elsewhere) stands beside it. Runs are grouped
into lines by their model's name: family (``llama-2``) and variant
(``base`` or ``chat``), see :func:`model_line`. Pure pandas/numpy plus the
page: it never loads a model.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from calibkit.errors import UserError
from calibkit.runs.store import RunStore
from calibkit.stats import bootstrap, multiple_choice
from calibkit.stats.bootstrap import MIN_ITEMS
from calibkit.tasks.reporting import frame_records, interval_text, page_table, run_labels

from .report import METRIC_LABELS

# Kadavath et al.'s ECE (10 equal-mass bins) first; the equal-width ECE beside it
SCALE_METRICS = ("accuracy", "ece_quantile", "ece", "brier", "auroc")
# short names for the terminal, each saying what it computes
SHORT_NAMES = {"accuracy": "acc", "ece_quantile": "ECE equal-mass", "ece": "ECE equal-width", "brier": "Brier",
               "auroc": "AUROC"}
_SIZE = re.compile(r"(?:^|[-_.])\d+(?:\.\d+)?[bmk](?=$|[-_.])")  # 7b, 13B, 135M, 1.5b
_CHAT = re.compile(r"(?:^|[-_.])(chat|instruct|it|rlhf|sft|dpo)(?=$|[-_.])")
_PACKAGING = re.compile(r"(?:^|[-_.])(hf|gguf|q4_k_m|q4_1|q8_0|fp16|bf16|awq|gptq)(?=$|[-_.])")


def model_line(model: str) -> tuple[str, str]:
    """The (family, variant) a model name belongs to: size and packaging dropped, chat-tuning read off.

    Example:
        >>> model_line("meta-llama/Llama-2-13b-chat-hf"), model_line("llama-2-70b")
        (('llama-2', 'chat'), ('llama-2', 'base'))
        >>> model_line("smollm2-135m-instruct"), model_line("gemma-3-270m")
        (('smollm2', 'chat'), ('gemma-3', 'base'))
    """
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    variant = "chat" if _CHAT.search(name) else "base"
    family = name
    for pattern in (_SIZE, _CHAT, _PACKAGING):
        family = pattern.sub("-", family)
    family = re.sub(r"[-_.]{2,}", "-", family).strip("-_.")
    return family or name, variant


@dataclass(frozen=True)
class ScaleStudy:
    """Metrics of several runs on the items they share, with each run's size and line."""

    n_items: int  # items every run holds
    # one row per (run, metric): run, model, family, variant, line, n_parameters, metric, estimate, low, high, n
    # (the items), note (why there is no interval: the small-n rule; None when there is one)
    table: pd.DataFrame

    def to_json(self) -> dict[str, Any]:
        return {"n_items": self.n_items, "rows": frame_records(self.table)}


def scale_study(stores: Sequence[RunStore], *, n_resamples: int = 1000, seed: int = 0) -> ScaleStudy:
    """Each run's metrics with 95% CIs on the shared items, beside its parameter count and line."""
    runs = dict(zip(run_labels(stores), stores))
    sizes = {label: _n_parameters(store) for label, store in runs.items()}
    lines = {label: model_line(str(store.config.get("model", label))) for label, store in runs.items()}
    _one_run_per_point(runs, sizes, lines)
    aligned = multiple_choice.shared_items({label: store.items() for label, store in runs.items()})
    rows = []
    for label, items in aligned.items():
        arr = multiple_choice.option_arrays(items)
        intervals = bootstrap.option_intervals(arr.probs(), arr.labels, metrics=SCALE_METRICS,
                                               n_resamples=n_resamples, seed=seed)
        family, variant = lines[label]
        for metric, iv in intervals.items():
            rows.append({"run": label, "model": runs[label].config.get("model"), "family": family,
                         "variant": variant, "line": f"{family} {variant}", "n_parameters": sizes[label],
                         "metric": metric, "estimate": iv.estimate, "low": iv.low, "high": iv.high, "n": iv.n,
                         "note": iv.note})
    table = pd.DataFrame(rows).sort_values(["line", "n_parameters", "metric"], kind="stable", ignore_index=True)
    return ScaleStudy(n_items=len(next(iter(aligned.values()))), table=table)


def _n_parameters(store: RunStore) -> int:
    n = store.config.get("n_parameters")
    if not isinstance(n, int) or n <= 0:
        raise UserError(f"{store.path}: config.json records no n_parameters (a run made before calibkit recorded "
                        "model size); rerun it with this calibkit, which resumes and records it")
    return n


def _one_run_per_point(runs: dict[str, RunStore], sizes: dict[str, int], lines: dict[str, tuple[str, str]]) -> None:
    seen: dict[tuple[tuple[str, str], int], str] = {}
    for label in runs:
        key = (lines[label], sizes[label])
        if key in seen:
            raise UserError(f"{runs[seen[key]].path} and {runs[label].path} are both {' '.join(key[0])} at "
                            f"{key[1]:,} parameters; give scale one run per model")
        seen[key] = label


def scale_text(study: ScaleStudy) -> str:
    """One line per run, grouped by line and size: each metric with its CI, n once per line; below the small-n
    rule each estimate stands alone and the line says why, once."""
    out = [f"{study.n_items} shared items"]
    for (line, n, _), rows in study.table.groupby(["line", "n_parameters", "run"], sort=False):
        by = {r["metric"]: r for r in rows.to_dict(orient="records")}
        cells = "  ".join(f"{SHORT_NAMES[m]} {interval_text(by[m]['estimate'], by[m]['low'], by[m]['high'])}"
                          for m in SCALE_METRICS if m in by)
        out.append(f"{line:<24} {n / 1e6:>10,.1f}M  n={study.n_items}  {cells}{small_n_marker(rows['note'])}")
    return "\n".join(out)


def small_n_marker(notes: Iterable[Any]) -> str:
    """The small-n notes among a line's rows, each once, as the line's tail ("" when every row has its interval).

    Example:
        >>> small_n_marker([None, "n too small for an interval (n=2 < 20)", "n too small for an interval (n=2 < 20)"])
        '  [n too small for an interval (n=2 < 20)]'
    """
    return "".join(f"  [{x}]" for x in dict.fromkeys(notes) if isinstance(x, str) and x)


def write_scale_report(study: ScaleStudy, out: Path) -> tuple[Path, Path]:
    """scale.html (one figure per metric, a line per family and variant) and scale.csv in ``out``."""
    from calibkit.draw import plots
    from calibkit.draw.page import Report
    from calibkit.files import write_atomic

    out.mkdir(parents=True, exist_ok=True)
    csv = write_atomic(out / "scale.csv", study.table.to_csv(index=False))
    report = Report("calibkit: calibration vs model size")
    report.add_text(f"{study.n_items} items that every run holds. Parameter counts were recorded from each model "
                    "when its run was made; lines join the runs of one model family and variant (read off the "
                    "model names). ECE is top-label; the first ECE uses Kadavath et al.'s 10 equal-mass bins "
                    "(their figure 4), the second calibkit's default 10 equal-width bins. Brier is the "
                    "multiclass score (0-2). Error bars: percentile bootstrap 95% intervals over items; n: the "
                    f"{study.n_items} shared items (below {MIN_ITEMS} a point has no error bar, is marked with its "
                    "n, and the chart says why).")
    for metric in SCALE_METRICS:
        rows = study.table[study.table.metric == metric]
        lines = {line: part[["n_parameters", "estimate", "low", "high", "n", "note"]].reset_index(drop=True)
                 for line, part in rows.groupby("line", sort=True)}
        name = METRIC_LABELS[metric]
        figure = plots.size_curve(lines, metric=metric, title=f"{name} vs parameters")
        report.add_figure(None, figure.update_yaxes(title_text=name))
    report.add_table("Runs", page_table(study.table.assign(metric=study.table.metric.map(METRIC_LABELS))))
    return report.save(out / "scale.html"), csv
