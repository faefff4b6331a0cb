"""calibkit: how well do language models know what they know?

The public API for notebooks; nothing here imports torch (scoring and model
loading live in :mod:`calibkit.engine.scoring` and :mod:`calibkit.engine.models`), and the
plotting functions load plotly on first use, so a scoring job that never
draws does not need it.

    >>> import numpy as np, calibkit as ck
    >>> conf, correct = np.array([0.9, 0.8, 0.6, 0.3]), np.array([1, 1, 0, 0])
    >>> round(ck.ece(conf, correct), 3)
    0.3
"""
from calibkit.records import Prompt, ScoredItem, Turn
from calibkit.runs.registry import registered_tasks, task_named
from calibkit.runs.runner import RunSettings, run_task
from calibkit.runs.store import RunStore
from calibkit.stats.binning import BinStats, bin_stats
from calibkit.stats.intervals import Interval, PairedDifference
from calibkit.stats.bootstrap import bootstrap_ci, paired_bootstrap, summarize
from calibkit.stats.metrics import (
    accuracy,
    aurc,
    auroc,
    brier_reliability,
    brier_score,
    classwise_ece,
    debiased_l2_ce,
    ece,
    mce,
    murphy_decomposition,
    nll,
    pooled_ece,
    risk_coverage,
    rms_ce,
    top_label,
)
from calibkit.stats.multiple_choice import option_arrays, pooled_stats, reliability_stats, run_summary
from calibkit.stats.paired import paired_test, permutation_test
from calibkit.stats.smooth import smooth_ece
from calibkit.stats.temperature import apply_temperature, cross_fit_temperature, fit_temperature, temperature_sweep

_PLOTTING = (
    "benchmark_chart", "layer_curve", "pooled_calibration_chart", "reliability_diagram", "risk_coverage_curve",
    "save_figure", "size_curve", "temperature_curve",
)


def __getattr__(name: str):
    if name in _PLOTTING:
        from calibkit.draw import plots

        return getattr(plots, name)
    raise AttributeError(f"module 'calibkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_run(path) -> list[ScoredItem]:
    """The scored items of a run folder written by ``calibkit run``."""
    return RunStore.open(path).items()


def task(name: str):
    """The registered task `calibkit run <name>` runs (its load, run, summarize, write_report, compare...)."""
    return task_named(name)


def tasks() -> list[str]:
    """The names of every registered task."""
    return list(registered_tasks())


__all__ = [
    "BinStats", "Interval", "PairedDifference", "Prompt", "RunSettings", "RunStore", "ScoredItem", "Turn",
    "accuracy", "apply_temperature", "auroc", "aurc", "benchmark_chart", "bin_stats", "bootstrap_ci",
    "brier_reliability", "brier_score", "classwise_ece", "cross_fit_temperature", "debiased_l2_ce", "ece",
    "fit_temperature", "layer_curve", "load_run", "mce", "murphy_decomposition", "nll", "option_arrays",
    "paired_bootstrap", "paired_test", "permutation_test", "pooled_calibration_chart", "pooled_ece", "pooled_stats",
    "reliability_diagram", "reliability_stats", "risk_coverage", "risk_coverage_curve", "rms_ce", "run_summary",
    "run_task", "save_figure", "size_curve", "smooth_ece", "summarize", "task", "tasks", "temperature_curve",
    "temperature_sweep", "top_label",
]
