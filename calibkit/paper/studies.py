"""What `calibkit sweep` and `calibkit scale` leave for a write-up: their tables drawn as paper figures.

A sweep folder holds ``sweep.csv`` (one row per run and temperature: each
metric with its 95% interval, as :func:`calibkit.stats.temperature.temperature_sweep`
computes it, the run in column ``run``); a scale folder holds ``scale.csv``
(one row per run and metric: ``line``, ``n_parameters``, ``estimate``,
``low``, ``high``, ``n``, ``note``). Both are read from disk as their
commands wrote them; nothing here computes a metric.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from calibkit.paper import figures
from calibkit.paper.parts import PaperPart

SWEEP_FILE = "sweep.csv"  # written by `calibkit sweep --out DIR`
SCALE_FILE = "scale.csv"  # written by `calibkit scale --out DIR`
#: the metrics drawn against size, each its own figure: Kadavath et al.'s ECE (equal-mass) and accuracy
SCALE_FIGURES = ("ece_quantile", "accuracy")


def study_folders(paths: Sequence[str | Path]) -> list[Path]:
    """The folders among ``paths``, or below them, that hold a sweep's or a scale study's table (sorted, each once)."""
    found: dict[str, Path] = {}
    for path in map(Path, paths):
        for name in (SWEEP_FILE, SCALE_FILE):
            for table in ([path / name] if (path / name).is_file() else sorted(path.rglob(name))):
                found.setdefault(str(table.parent.resolve()), table.parent)
    return sorted(found.values())


def study_parts(folder: Path) -> list[PaperPart]:
    """The figures of one sweep or scale folder: ECE against T per run; ECE and accuracy against size per line."""
    import pandas as pd

    parts, source = [], (str(folder),)
    if (folder / SWEEP_FILE).is_file():
        table = pd.read_csv(folder / SWEEP_FILE)
        sweeps = {str(run): rows.reset_index(drop=True) for run, rows in table.groupby("run", sort=False)}
        parts.append(PaperPart(f"sweep-{folder.name}-ece", figures.temperature_figure(sweeps, metric="ece"), source,
                               caption="Top-label ECE (10 equal-width bins) when the stored option log-probs are "
                                       "divided by T, with its 95% bootstrap band; dotted: Kadavath et al.'s T = 2.5."))
    if (folder / SCALE_FILE).is_file():
        table = pd.read_csv(folder / SCALE_FILE)
        for metric in SCALE_FIGURES:
            rows = table[table.metric == metric]
            lines = {str(line): part[["n_parameters", "estimate", "low", "high", "n", "note"]].reset_index(drop=True)
                     for line, part in rows.groupby("line", sort=True)}
            if lines:
                parts.append(PaperPart(f"scale-{folder.name}-{metric}", figures.size_figure(lines, metric=metric),
                                       source, caption=f"{metric.replace('_', ' ')} against the number of parameters, "
                                                       "a line per model family and variant, 95% bootstrap intervals "
                                                       "on the items every run holds."))
    return parts
