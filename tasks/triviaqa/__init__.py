"""TriviaQA (Joshi et al. 2017), closed-book, with Kadavath et al.'s P(True) self-evaluation.

The run is the free-answer family's (:mod:`calibkit.tasks.free_answer`:
questions, layouts, P(True) prompts, matchers, and one module per step:
``run`` (generate, check, self-evaluate into a run folder), ``study``
(signals and summary, from disk), ``comparison`` (runs paired),
``departures``, ``report`` (pages),
``sampling`` (the sampling-temperature study)); here :mod:`.task`
registers TriviaQA's row (`calibkit run triviaqa`), and the names a
notebook imports are re-exported.
"""
from calibkit.tasks.free_answer.answers import extract_answer, match_answer, normalize_answer, sample_agreement
from calibkit.tasks.free_answer.layouts import (
    CHAT_INSTRUCTION,
    KADAVATH_LAYOUT,
    QA_LAYOUT,
    GenerationContext,
    QALayout,
    fit_context,
    generation_context,
)
from calibkit.tasks.free_answer.ptrue import (
    KADAVATH_A5_EXAMPLES,
    PTRUE_OPTIONS,
    PTRUE_PROMPTS,
    PTrueExample,
    paper_ptrue_examples,
    ptrue_prompt,
    ptrue_text,
)
from calibkit.tasks.free_answer.question import Question, Shot, draw_shots
from calibkit.tasks.free_answer.triviaqa_data import CONFIGS, DEFAULT_CONFIG, DEFAULT_SHOTS, DataNotFoundError, load

from calibkit.tasks.free_answer.proposals import Proposal, ptrue_example_pool, ptrue_proposal
from calibkit.tasks.free_answer.run import TriviaResult, TriviaSettings, run_triviaqa
from calibkit.tasks.free_answer.comparison import compare_runs
from calibkit.tasks.free_answer.departures import departures
from calibkit.tasks.free_answer.study import (
    ECES,
    SignalArrays,
    signal_arrays,
    signal_intervals,
    summarize_rows,
    summarize_store,
)
from .task import TriviaQA

# Pages and figures load plotly: imported on first use, so a run that never draws does not need it.
_DRAWING = {
    "accuracy_frame": "report", "confidently_wrong": "report", "signals_frame": "report", "summary_text": "report",
    "write_comparison_report": "report", "write_run_report": "report", "run_sampling_temperatures": "sampling",
    "sampling_table": "sampling", "signal_temperature_figure": "sampling", "write_sampling_report": "sampling",
}


def __getattr__(name: str):
    if name in _DRAWING:
        import importlib

        return getattr(importlib.import_module(f"calibkit.tasks.free_answer.{_DRAWING[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "CHAT_INSTRUCTION", "CONFIGS", "DEFAULT_CONFIG", "DEFAULT_SHOTS", "DataNotFoundError", "ECES",
    "GenerationContext", "KADAVATH_A5_EXAMPLES", "KADAVATH_LAYOUT", "PTRUE_OPTIONS", "PTRUE_PROMPTS",
    "PTrueExample", "Proposal", "QALayout", "QA_LAYOUT", "Question", "Shot", "SignalArrays", "TriviaQA",
    "TriviaResult", "TriviaSettings", "accuracy_frame", "compare_runs", "confidently_wrong", "departures",
    "draw_shots", "extract_answer", "fit_context", "generation_context", "load", "match_answer", "normalize_answer",
    "paper_ptrue_examples", "ptrue_example_pool", "ptrue_prompt", "ptrue_proposal", "ptrue_text",
    "run_sampling_temperatures", "run_triviaqa", "sample_agreement", "sampling_table", "signal_arrays",
    "signal_intervals", "signal_temperature_figure", "signals_frame", "summarize_rows", "summarize_store",
    "summary_text", "write_comparison_report", "write_run_report", "write_sampling_report",
]
