"""`calibkit run herbstritt-franke`: uncertainty expressions vs people, per urn scene."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import click

from calibkit.records import Prompt
from calibkit.runs.runner import ActiveRun, Job
from calibkit.runs.store import RunStore
from calibkit.tasks.base import Outcome, Task

from .design import READINGS, TASK
from .run import score_study, study_job


def _float3(x: float) -> str:
    return f"{x:.3f}"


class HerbstrittFranke(Task):
    name = "herbstritt-franke"
    run_name = TASK
    title = "uncertainty expressions vs people"
    description = """Uncertainty expressions vs people (Herbstritt & Franke 2016, 2019).

    Rebuilds the urn scenes as text, reads the model's probabilities over
    "certainly / probably / possibly / probably not / certainly not" (and
    the complex forms) per scene, and compares them with the human response
    distributions: Jensen-Shannon divergence, Pearson and Spearman r over
    cells with bootstrap CIs, by uncertainty level, against an RSA model
    and a uniform speaker.
    """
    examples = """
\b
Examples:
  calibkit run herbstritt-franke                           # embedded SmolLM2, simple expressions, 3 templates
  calibkit run herbstritt-franke --experiment both         # + "might be likely", ... (about 8 min on a CPU)
  calibkit run herbstritt-franke --model gemma-3-270m      # a base model, plain-text form
  calibkit compare runs/herbstritt_franke/gemma-3-270m/*/ runs/herbstritt_franke/smollm2-135m-instruct/*/
"""

    def options(self) -> list[click.Parameter]:
        return [
            click.Option(["--experiment", "--expressions", "expression_set"],
                         type=click.Choice(["simple", "complex", "both"]), default="simple", show_default=True,
                         help="simple: certainly ... certainly not (Exp. 1); complex: 'It might be likely that ...' "
                              "(Exp. 2)."),
            click.Option(["--method", "--readings", "readings"], default="both", show_default=True,
                         metavar="sentence|choice|both",
                         help="sentence: P(whole sentence | scene) over the set; choice: lettered options, orders "
                              "balanced."),
            click.Option(["--templates"], default="all", show_default=True, metavar="LIST",
                         help="Scene paraphrases t1,t2,t3 (the spread over them is reported)."),
            click.Option(["--permutations"], type=click.IntRange(min=1), default=None,
                         help="Forced-choice option orders per prompt (default: one per expression, a Latin square)."),
            click.Option(["--no-listener"], is_flag=True,
                         help="Skip the listener side (expression -> number of red balls)."),
            click.Option(["--seed"], type=int, default=0, show_default=True, help="Seed of the option orders."),
        ]

    def load(self, options: Mapping[str, Any]) -> list[Job]:
        readings, templates = options["readings"].strip(), options["templates"].strip()
        return [study_job(
            expression_set=options["expression_set"],
            readings=READINGS if readings == "both" else tuple(r.strip() for r in readings.split(",") if r.strip()),
            templates="all" if templates == "all" else [t.strip() for t in templates.split(",") if t.strip()],
            permutations=options["permutations"], listener=not options["no_listener"], seed=options["seed"],
        )]

    def run(self, run: ActiveRun, items: Sequence[Prompt]) -> None:
        score_study(run, items)

    def summarize(self, store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
        from .study import summarize_store

        return summarize_store(store, n_resamples=n_resamples, seed=seed).to_json()

    def write_report(self, store: RunStore) -> Path:
        from .report import write_run_report

        return write_run_report(store)

    def summary_text(self, summary: Mapping[str, Any]) -> str:
        from .report import summary_frame

        return summary_frame(summary).to_string(index=False, float_format=_float3)

    def compare(self, stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
        from calibkit.tasks.reporting import comparison_text

        from .report import write_comparison_report
        from .study import compare_runs

        comparison = compare_runs(stores, n_resamples=n_resamples)
        page = write_comparison_report(stores, comparison, out)
        text = comparison_text(comparison.table, n_items=comparison.n_contexts, what="urn contexts, paired")
        return Outcome(json=comparison.to_json(), text=text, report=page)

    def paper_parts(self, stores: Sequence[RunStore]) -> list[Any]:
        from .report import paper_parts

        return paper_parts(stores)
