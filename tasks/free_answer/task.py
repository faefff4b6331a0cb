"""The free-answer task: free answers, P(True) and the other confidence signals, each calibrated.

:class:`FreeAnswerTask` is that run over one row of the free-answer spec
table (:data:`.specs.SOURCES`: loader, layout, matcher, decoding); a task
folder registers a row by subclassing it (``calibkit run triviaqa``,
``calibkit run nq_open``).
"""
from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import click

from calibkit.errors import UserError
from calibkit.runs.runner import ActiveRun, Job
from calibkit.runs.store import RunStore, write_atomic
from calibkit.stats.signals import NLI_SIGNALS
from calibkit.stats.temperature import parse_temperatures
from calibkit.tasks.base import Outcome, Task

from . import signals as free_signals
from . import study
from .comparison import compare_runs
from .nli_fields import NLI_INPUTS
from .proposals import PTRUE_ANSWERS, PTRUE_MIXES
from .ptrue import PTRUE_PROMPTS
from .question import Question
from .specs import Request, Source
from .triviaqa_data import DEFAULT_CONFIG
from .verbal import METHODS as VERBAL_METHODS
from .words import WORDS_MODES, WORDS_SETS
from .run import (
    STOP_RULES,
    TriviaSettings,
    prepare_questions,
    run_questions,
    triviaqa_job,
)


class FreeAnswerTask(Task):
    """Free answers, P(True) and the other signals, over one row of the free-answer spec table.

    A subclass names its row (``spec``: loader, layout, matcher, default
    shots and decoding), its data options and its help texts.
    """

    spec: ClassVar[Source]  # the question source's row
    stop_rule_help: ClassVar[str]  # --stop-rule's help
    max_new_tokens_help: ClassVar[str]  # --max-new-tokens' help

    @abstractmethod
    def data_options(self) -> list[click.Parameter]:
        """Where the questions come from (--split, --data, ...)."""

    def questions(self, options: Mapping[str, Any]) -> tuple[list[Question], dict[str, Any]]:
        """The questions, with seeded shots, and the data part of config.json (the row's loader)."""
        o = options
        loaded = self.spec.load(Request(data=o["data"], split=o["split"], limit=o["limit"], shots=o["shots"],
                                        seed=o["seed"], hub_config=o.get("hub_config", DEFAULT_CONFIG)))
        return list(loaded.questions), dict(loaded.config)

    def options(self) -> list[click.Parameter]:
        return [
            click.Option(["--limit"], type=click.IntRange(min=1), default=None, help="First N questions of the split."),
            click.Option(["--shots"], type=click.IntRange(0, 20), default=self.spec.default_shots, show_default=True,
                         help="Few-shot Q/A examples, drawn seeded from the same split without the question."),
            click.Option(["--samples"], type=click.IntRange(0, 50), default=10, show_default=True,
                         help="Sampled answers per question (the agreement signal; 0 turns it off)."),
            click.Option(["--sample-temperature"], default="1.0", show_default=True, metavar="T[,T...]",
                         help="Sampling temperature; several (comma list or START:STOP:STEP) give one run each "
                              "plus a study."),
            click.Option(["--top-p"], type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True,
                         help="Nucleus sampling for the samples: keep the most likely tokens holding this much mass."),
            click.Option(["--brainstorm"], type=click.IntRange(min=0), default=0, show_default=True,
                         help="P(True) prompt shows this many answers first, the evaluated one among them "
                              "(Kadavath et al.'s variant)."),
            click.Option(["--ptrue-answer"], type=click.Choice(PTRUE_ANSWERS), default="sample", show_default=True,
                         help="The answer P(True) evaluates: the first T=1 sample (Kadavath et al.'s protocol) or "
                              "the greedy one."),
            click.Option(["--ptrue-shots"], type=click.IntRange(0, 20), default=0, show_default=True,
                         help="Few-shot P(True): solved self-evaluations (the model's own answers to other "
                              "questions, labelled by exact match) shown first."),
            click.Option(["--ptrue-mix"], type=click.Choice(PTRUE_MIXES), default="accuracy", show_default=True,
                         help="Few-shot P(True) examples drawn at random (True share = the model's accuracy) or "
                              "alternating True/False."),
            click.Option(["--ptrue-prompt"], type=click.Choice(PTRUE_PROMPTS), default="paper", show_default=True,
                         help="P(True) without --ptrue-shots: 'paper' shows Kadavath et al.'s six hand-written "
                              "examples first (appendix A.5), 'none' shows no example (calibkit's variant, not the "
                              "paper's)."),
            click.Option(["--signals"], default="all", show_default=True, metavar="all|NAME[,NAME...]",
                         help="Free-answer confidence signals reported beside P(True), likelihood and agreement "
                              f"(AUROC, AURC, PRR, Spearman, ECE): all is {', '.join(free_signals.DEFAULT)}; "
                              f"{', '.join(free_signals.ON_REQUEST)} only when named (one more forward per "
                              f"question); {', '.join(free_signals.BY_OPTION)} with --verbal; "
                              f"{', '.join(free_signals.BY_NLI_MODEL)} with --nli-model."),
            click.Option(["--verbal"], type=click.Choice(VERBAL_METHODS), default=None,
                         help="Also ask the model for the probability that an answer is right (Tian et al. 2023, "
                              "Verb. 1S/2S top-1): one-stage, a separate reply with its own guess and probability; "
                              "two-stage, a follow-up turn about the greedy answer. Off by default."),
            click.Option(["--words"], type=click.Choice(WORDS_MODES), default=None,
                         help="Also ask how sure the model is of its greedy answer in Herbstritt & Franke's "
                              "expressions ('probably', 'possibly', ...): 'choose' scores them (log-probs), "
                              "'generate' parses a written reply; reported against the model's accuracy and "
                              "people's readings of each word. Off by default (calibkit's addition)."),
            click.Option(["--words-set"], type=click.Choice(WORDS_SETS), default="simple", show_default=True,
                         help="With --words: simple (certainly not ... certainly, 5) or complex ('It might be "
                              "likely that ...', 12) expressions."),
            click.Option(["--nli-model"], default=None, metavar="NAME_OR_PATH",
                         help="Also cluster the samples by bidirectional entailment with this NLI model (Kuhn et al. "
                              "2023; any Hugging Face sequence-classification NLI model, e.g. "
                              "microsoft/deberta-large-mnli, the papers' and LM-Polygraph's) and report "
                              f"{', '.join(NLI_SIGNALS)}. Off by default: semantic sets come from the answer matcher."),
            click.Option(["--nli-input"], type=click.Choice(NLI_INPUTS), default="question_answer", show_default=True,
                         help="What the NLI model reads of each sample: the question and the answer (Kuhn et al. "
                              "2023, Farquhar et al. 2024) or the answer alone (LM-Polygraph's variant)."),
            click.Option(["--max-new-tokens"], type=click.IntRange(1, 256), default=self.spec.max_new_tokens,
                         show_default=True, help=self.max_new_tokens_help),
            click.Option(["--stop-rule"], type=click.Choice(STOP_RULES), default=self.spec.stop_rule,
                         show_default=True, help=self.stop_rule_help),
            *self.data_options(),
            click.Option(["--seed"], type=int, default=0, show_default=True,
                         help="Seed of the few-shot draw and the samples."),
        ]

    def settings(self, options: Mapping[str, Any], temperature: float) -> TriviaSettings:
        """How the run generates and self-evaluates (one-line errors for options that do not fit together)."""
        o = options
        if o["brainstorm"] > o["samples"]:
            raise UserError(f"--brainstorm {o['brainstorm']} is more than --samples {o['samples']}; "
                            "raise --samples or lower --brainstorm")
        if o["ptrue_answer"] == "sample" and o["samples"] < 1:
            raise UserError("--ptrue-answer sample evaluates a sampled answer; use --samples 1 or more, "
                            "or --ptrue-answer greedy")
        if o["ptrue_prompt"] == "none" and o["ptrue_shots"]:
            raise UserError(f"--ptrue-prompt none shows no examples, --ptrue-shots {o['ptrue_shots']} shows some; "
                            "drop one of them (few-shot examples replace the paper's six anyway)")
        if o.get("nli_model") and o["samples"] < 1:
            raise UserError("--nli-model clusters the sampled answers; use --samples 1 or more")
        return TriviaSettings(
            samples=o["samples"], sample_temperature=float(temperature), top_p=o["top_p"], brainstorm=o["brainstorm"],
            ptrue_answer=o["ptrue_answer"], ptrue_shots=o["ptrue_shots"], ptrue_mix=o["ptrue_mix"],
            ptrue_prompt=o["ptrue_prompt"], max_new_tokens=o["max_new_tokens"], stop_rule=o["stop_rule"],
            seed=o["seed"], layout=self.spec.layout, matcher=self.spec.matcher,
            signals=free_signals.parse_signals(o.get("signals", "all")), verbal=o.get("verbal"),
            nli_model=o.get("nli_model"), nli_input=o.get("nli_input") or "question_answer",
            words=o.get("words"), words_set=o.get("words_set") or "simple",
        )

    def load(self, options: Mapping[str, Any]) -> list[Job]:
        o = options
        try:
            temps = parse_temperatures(o["sample_temperature"])
        except ValueError as exc:
            raise UserError(str(exc).replace("--temperatures", "--sample-temperature")) from None
        settings = self.settings(o, temps[0])
        questions, task_config = self.questions(o)
        if o["ptrue_shots"] >= len(questions):
            raise UserError(f"--ptrue-shots {o['ptrue_shots']} needs more than {o['ptrue_shots']} questions, got "
                            f"{len(questions)}; raise --limit or lower --ptrue-shots")
        if len(temps) == 1:
            return [triviaqa_job(questions, task_config, settings)]
        from . import sampling

        return sampling.temperature_jobs(questions, task_config, settings, temperatures=list(temps))

    def prepare(self, run: ActiveRun, items: Sequence[Question]) -> None:
        prepare_questions(run, items)

    def run(self, run: ActiveRun, items: Sequence[Question]) -> None:
        run_questions(run, items)

    def write_study(self, stores: Sequence[RunStore], out: Path) -> Outcome:
        from . import report, sampling

        for store in stores:
            report.write_run_report(store)
        table = sampling.sampling_table(stores)
        folder = out / "triviaqa-sampling"
        temps = "_".join(f"{s.config['sample_temperature']:g}" for s in stores)
        name = f"{stores[0].path.parent.name}-{stores[0].path.name}-T{temps}"
        write_atomic(folder / f"{name}.csv", table.to_csv(index=False))
        page = sampling.write_sampling_report(table, folder / f"{name}.html")
        text = "\n".join(f"T={s.config['sample_temperature']:g}: {s.path}" for s in stores)
        return Outcome(json={"runs": [str(s.path) for s in stores], "report": str(page)}, text=text, report=page)

    def summarize(self, store: RunStore, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
        return study.summarize_store(store, n_resamples=n_resamples, seed=seed)

    def write_report(self, store: RunStore) -> Path:
        from .report import write_run_report

        return write_run_report(store)

    def summary_text(self, summary: Mapping[str, Any]) -> str:
        from .report import summary_text

        return summary_text(summary)

    def compare(self, stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
        from . import report

        comparison = compare_runs(stores, n_resamples=n_resamples)
        page = report.write_comparison_report(stores, comparison, out)
        return Outcome(json=comparison.to_json(), text=report.comparison_text(comparison), report=page)

    def paper_parts(self, stores: Sequence[RunStore]) -> list[Any]:
        from .paper import paper_parts

        return paper_parts(stores, prefix=self.name)

    def sweep(self, stores: Sequence[RunStore], temperatures: Sequence[float], *, out: Path,
              n_resamples: int = 200) -> Outcome:
        raise UserError(f"{stores[0].path} is a triviaqa run; sweep rescales option log-probs (multiple-choice runs). "
                        "For TriviaQA sampling temperatures use `calibkit run triviaqa --sample-temperature 0.5,1,1.5`")
