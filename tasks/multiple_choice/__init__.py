"""Multiple-choice tasks: options scored by log-probability, calibration read from their probabilities.

:class:`MultipleChoiceTask` is what every such task shares: its run scores
the prompts (:func:`calibkit.runs.runner.score_into`), and summary, report,
comparison and logit-temperature sweep come from the stored option
log-probs (:mod:`calibkit.stats.multiple_choice`, :mod:`.report`). A
benchmark subclasses it with its own options and :meth:`~MultipleChoiceTask.prompts`.
Runs imported from lm-evaluation-harness are read the same way
(:mod:`.lm_eval_import`).
"""
from __future__ import annotations

import math
from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import click

from calibkit.errors import UserError
from calibkit.records import Prompt
from calibkit.runs.runner import ActiveRun, Job, score_into
from calibkit.runs.store import RunStore
from calibkit.tasks import reporting
from calibkit.tasks.base import Outcome, Task
from calibkit.tasks.reporting import iv_text

from .study import variant_of
from .variants import NOTA_POSITIONS, NOTA_RANDOM_NOTE, SELF_EVAL_ALL_NOTE, SELF_EVAL_PAIRS, self_eval_prompts

if TYPE_CHECKING:
    from .report import Comparison


def _fmt(x: Any) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def summary_text(summary: Mapping[str, Any]) -> str:
    """The headline metrics of a multiple-choice run as aligned lines, n beside every interval.

    Example:
        >>> iv = {"estimate": 0.5, "low": 0.4, "high": 0.6, "n": 200}
        >>> print(summary_text({"n_items": 200, "metrics": {k: iv for k in ("accuracy", "ece", "ece_quantile",
        ...       "brier", "nll", "auroc")}, "option_mass_mean": 0.9}).splitlines()[2])
        ECE (10 bins)   0.500 [0.400, 0.600] n=200
        >>> few = {"estimate": 0.5, "low": None, "high": None, "n": 5, "note": "n too small for an interval (n=5 < 20)"}
        >>> print(summary_text({"n_items": 5, "metrics": {k: few for k in ("accuracy", "ece", "ece_quantile",
        ...       "brier", "nll", "auroc")}, "option_mass_mean": 0.9}).splitlines()[1])
        accuracy        0.500 [n too small for an interval (n=5 < 20)]
    """
    m = summary["metrics"]
    rows = [
        ("n", f"{summary['n_items']}"),
        ("accuracy", iv_text(m["accuracy"])),
        *([("accuracy (acc_norm)", iv_text(summary["accuracy_norm"]))] if "accuracy_norm" in summary else []),
        ("ECE (10 bins)", iv_text(m["ece"])),
        ("ECE equal-mass", _fmt(m.get("ece_quantile", {}).get("estimate")) + "  (Kadavath et al.'s binning)"),
        ("Brier", _fmt(m["brier"]["estimate"])),
        ("NLL", _fmt(m["nll"]["estimate"])),
        ("AUROC", _fmt(m["auroc"]["estimate"])),
        ("option mass", _fmt(summary["option_mass_mean"])),
    ]
    rows += nota_rows(summary.get("none_of_the_above"))
    return _aligned(rows) + departures_text(summary)


def _aligned(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def nota_text(nota: Mapping[str, Any]) -> str:
    """The replaced option's calibration (:func:`.study.nota_summary`) as aligned lines."""
    return _aligned(nota_rows(nota))


def nota_rows(nota: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """A none-of-the-above run's lines about the replaced option itself (none for other runs)."""
    if not nota:
        return []
    ece = nota["ece"]
    return [
        ("'None of the above' right", f"{_fmt(nota['share_right'])}  (share of items)"),
        ("  mean P(it)", _fmt(nota["mean_p"])),
        ("  ECE of P(it) (10 bins)", iv_text(ece)),
        ("  picked", f"{nota['n_picked']} items, right {_fmt(nota['right_when_picked'])}, "
                     f"mean P {_fmt(nota['mean_p_when_picked'])}"),
    ]


def comparison_text(comparison: Comparison) -> str:
    """Each metric per run, with the paired difference to the first run; smooth ECE first, and why."""
    table = comparison.table.drop(columns="metric") if "measure" in comparison.table else comparison.table
    return reporting.comparison_text(table, n_items=comparison.n_items, headline=comparison.headline)


VARIANT_FLAGS = (
    ("--self-eval", "Also ask whether a proposed answer is true, with no list of choices (P(True); Kadavath et al. "
                    "3.2), and compare that calibration with the unmodified run's (see --self-eval-pairs)."),
    ("--none-of-the-above", "Also run with the final option of each question replaced by 'None of the above' "
                            "(Kadavath et al. 3.1; see --nota-position), paired with the unmodified run, and report "
                            "the calibration of that option itself. Only for tasks whose prompt lists the options "
                            "(MMLU, commonsense_qa); refused for the cloze-scored ones."),
)


def variant_options(nota_refusal: str | None = None) -> list[click.Parameter]:
    """The options of Kadavath et al.'s variants that every multiple-choice task takes.

    ``nota_refusal``: why this task refuses ``--none-of-the-above``, said in its help.
    """
    helps = dict(VARIANT_FLAGS)
    if nota_refusal:
        helps["--none-of-the-above"] = f"Refused here: {nota_refusal} (Kadavath et al. 3.1 need listed options)."
    return [
        *(click.Option([flag], is_flag=True, help=text) for flag, text in helps.items()),
        click.Option(["--nota-position"], type=click.Choice(NOTA_POSITIONS), default="final", show_default=True,
                     help="Which option 'None of the above' replaces: final (the paper's) or random (seeded by "
                          "--seed, calibkit's variant)."),
        click.Option(["--self-eval-pairs"], type=click.Choice(SELF_EVAL_PAIRS), default="paper", show_default=True,
                     help="paper: the right answer and one random wrong answer per question (half the pairs true, "
                          "as Kadavath et al.); all: every option (calibkit's variant, 1/n of the pairs true)."),
    ]


def with_departures(config: Mapping[str, Any], *departures: str | None) -> dict[str, Any]:
    """``config`` with ``departures`` added to its ``"departures"`` list (left out while there are none).

    A run's departures say, one sentence each, where it departs from the method
    it names; the summary text and the pages print them beside the numbers.
    """
    merged = [*config.get("departures", ()), *(d for d in departures if d)]
    return {**{k: v for k, v in config.items() if k != "departures"}, **({"departures": merged} if merged else {})}


def departures_text(summary: Mapping[str, Any]) -> str:
    """The run's departures from the method it names, one ``departure:`` line each (empty when there are none)."""
    return "".join(f"\ndeparture: {d}" for d in summary.get("departures", ()))


def self_eval_text(summary: Mapping[str, Any]) -> str:
    """A self-evaluation run's summary as aligned lines."""
    p = summary["pairs"]
    rows = [("questions", str(summary["n_questions"])), ("(question, answer) pairs", str(summary["n_pairs"])),
            ("share of true pairs", _fmt(summary["share_true"])),
            ("accuracy of max P(True)", iv_text(summary["choice_accuracy"])),
            ("P(True) ECE (10 bins)", iv_text(p["ece"])), ("P(True) ECE equal-mass", iv_text(p["ece_quantile"])),
            ("P(True) Brier", iv_text(p["brier"])), ("P(True) AUROC", iv_text(p["auroc"])),
            ("mean P(True)", _fmt(summary["mean_p_true"]))]
    return _aligned(rows) + departures_text(summary)


class MultipleChoiceTask(Task):
    """A task whose items are :class:`~calibkit.records.Prompt` records with an answer option.

    A benchmark gives its own options and :meth:`prompts`; every such task
    also takes ``--self-eval`` and ``--none-of-the-above``, each of which adds
    a run (Kadavath et al.'s variants) beside the unmodified one and a study
    page that reads them together.
    """

    def task_options(self) -> list[click.Parameter]:
        """The benchmark's own options (data, shots, limit, ...)."""
        return []

    @abstractmethod
    def prompts(self, options: Mapping[str, Any], *, none_of_the_above: bool) -> tuple[list[Prompt], dict[str, Any]]:
        """The benchmark's prompts and its part of config.json; one option replaced when ``none_of_the_above``."""

    def nota_refusal(self) -> str | None:
        """Why ``--none-of-the-above`` cannot apply to this task (None: it can), for ``--help`` and the error."""
        return None

    def options(self) -> list[click.Parameter]:
        return [*self.task_options(), *variant_options(self.nota_refusal())]

    def load(self, options: Mapping[str, Any]) -> list[Job]:
        refusal = self.nota_refusal()
        if options.get("none_of_the_above") and refusal:
            raise UserError(f"--none-of-the-above: {refusal}; drop the flag (MMLU and commonsense_qa list their "
                            "options)")
        prompts, config = self.prompts(options, none_of_the_above=False)
        jobs = [Job(prompts, config)]
        seed = options.get("seed", 0)
        if options.get("none_of_the_above"):
            position = options.get("nota_position", "final")
            nota, _ = self.prompts(options, none_of_the_above=True)
            variant = {"variant": "none_of_the_above", "nota_position": position,
                       "variant_seed": seed if position == "random" else None}
            jobs.append(Job(nota, with_departures({**config, **variant}, NOTA_RANDOM_NOTE if position == "random" else None),
                            subfolder="none_of_the_above"))
        if options.get("self_eval"):
            mode = options.get("self_eval_pairs", "paper")
            pairs = [pair for p in prompts for pair in self_eval_prompts(p, pairs=mode, seed=seed)]
            variant = {"variant": "self_eval", "self_eval_pairs": mode,
                       "variant_seed": seed if mode == "paper" else None}
            jobs.append(Job(pairs, with_departures({**config, **variant}, SELF_EVAL_ALL_NOTE if mode == "all" else None),
                            subfolder="self_eval"))
        return jobs

    def run(self, run: ActiveRun, items: Sequence[Prompt]) -> None:
        score_into(run, items)

    def write_study(self, stores: Sequence[RunStore], out: Path) -> Outcome:
        from .report import write_variants_report

        return write_variants_report(stores, out)

    # The report module draws (plotly): imported on use, so running never needs it.

    def summarize(self, store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
        from .report import summarize_store

        return summarize_store(store, n_resamples=n_resamples, seed=seed)  # a self-evaluation run's own summary too

    def write_report(self, store: RunStore) -> Path:
        from .report import write_run_report

        return write_run_report(store)

    def summary_text(self, summary: Mapping[str, Any]) -> str:
        return self_eval_text(summary) if summary.get("variant") == "self_eval" else summary_text(summary)

    def compare(self, stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
        from .report import compare_runs, write_comparison_report

        _refuse_self_eval(stores, "compare the letter-format runs; each self-evaluation is read in its study page")
        comparison = compare_runs(stores, n_resamples=n_resamples)
        page = write_comparison_report(stores, comparison, out)
        return Outcome(json=comparison.to_json(), text=comparison_text(comparison), report=page)

    def sweep(self, stores: Sequence[RunStore], temperatures: Sequence[float], *, out: Path,
              n_resamples: int = 200) -> Outcome:
        from .report import sweep_runs

        _refuse_self_eval(stores, "sweep the letter-format runs")
        return sweep_runs(stores, temperatures, out=out, n_resamples=n_resamples)


    def scale(self, stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
        from .scale import scale_study, scale_text, write_scale_report

        _refuse_self_eval(stores, "scale the letter-format runs")
        study = scale_study(stores, n_resamples=n_resamples)
        page, csv = write_scale_report(study, out)
        return Outcome(json={**study.to_json(), "csv": str(csv)}, text=f"{scale_text(study)}\ncsv: {csv}",
                       report=page)


def _refuse_self_eval(stores: Sequence[RunStore], fix: str) -> None:
    for store in stores:
        if variant_of(store.config) == "self_eval":
            raise UserError(f"{store.path} is a True/False self-evaluation run; {fix}")
