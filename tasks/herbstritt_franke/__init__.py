"""Herbstritt & Franke (2016, 2019): uncertainty expressions in the urn paradigm, models vs people.

The pipeline, one module per step: :mod:`.design` (the experiments' urn
contexts, expressions and readings), :mod:`.wording` (the sentences and
the three paraphrases of the scene), :mod:`.contexts` (the urn scenes as
prompts), :mod:`.human` (the people's response tables), :mod:`.agreement`
(a model's expression choices vs people's), :mod:`.rsa` (the authors' RSA
speaker and listener), :mod:`.run` (score the prompts into a run folder),
:mod:`.items` (a run's items by part of the study), :mod:`.speaker` and
:mod:`.listener` (the model's distributions from disk, each beside
people's), :mod:`.study` (the whole comparison, summary.json, and runs
compared), :mod:`.report` and :mod:`.plots` (pages and figures; they load
plotly, so import them when drawing) and :mod:`.task` (`calibkit run
herbstritt-franke`).
"""
from . import agreement, contexts, design, human, items, listener, rsa, run, speaker, study, wording
from .agreement import compare_models, compare_to_humans
from .contexts import choice_prompts, listener_prompts, sentence_prompts
from .design import (
    CONTEXTS,
    EXPRESSION_SETS,
    MERGED_COMPLEX_EXPRESSIONS,
    READINGS,
    SIMPLE_EXPRESSIONS,
)
from .human import load_simple_production, merged_complex_production
from .run import run_herbstritt_franke, study_job
from .study import analyze_study, compare_runs, summarize_store
from .task import HerbstrittFranke
from .wording import TEMPLATE_NAMES

__all__ = [
    "CONTEXTS", "EXPRESSION_SETS", "HerbstrittFranke", "MERGED_COMPLEX_EXPRESSIONS", "READINGS",
    "SIMPLE_EXPRESSIONS", "TEMPLATE_NAMES", "agreement", "analyze_study", "choice_prompts", "compare_models",
    "compare_runs", "compare_to_humans", "contexts", "design", "human", "items", "listener",
    "listener_prompts", "load_simple_production", "merged_complex_production", "rsa", "run",
    "run_herbstritt_franke", "sentence_prompts", "speaker", "study", "study_job", "summarize_store", "wording",
]
