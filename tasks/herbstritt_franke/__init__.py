"""Herbstritt & Franke (2016, 2019): uncertainty expressions in the urn paradigm, models vs people.

The pipeline, one module per step: :mod:`.contexts` (the experiments'
design and the urn scenes as prompts), :mod:`.human` (the people's response
tables and model-vs-people comparison), :mod:`.rsa` (the authors' RSA
speaker and listener), :mod:`.run` (score the prompts into a run folder),
:mod:`.study` (model distributions and their comparison with people, from
disk), :mod:`.report` and :mod:`.plots` (pages and figures; they load
plotly, so import them when drawing) and :mod:`.task` (`calibkit run
herbstritt-franke`).
"""
from . import contexts, human, rsa, run, study
from .contexts import (
    CONTEXTS,
    EXPRESSION_SETS,
    MERGED_COMPLEX_EXPRESSIONS,
    READINGS,
    SIMPLE_EXPRESSIONS,
    TEMPLATE_NAMES,
    choice_prompts,
    listener_prompts,
    sentence_prompts,
)
from .human import compare_models, compare_to_humans, load_simple_production, merged_complex_production
from .run import run_herbstritt_franke, study_job
from .study import analyze_study, compare_runs, summarize_store
from .task import HerbstrittFranke

__all__ = [
    "CONTEXTS", "EXPRESSION_SETS", "HerbstrittFranke", "MERGED_COMPLEX_EXPRESSIONS", "READINGS",
    "SIMPLE_EXPRESSIONS", "TEMPLATE_NAMES", "analyze_study", "choice_prompts", "compare_models", "compare_runs",
    "compare_to_humans", "contexts", "human", "listener_prompts", "load_simple_production",
    "merged_complex_production", "rsa", "run", "run_herbstritt_franke", "sentence_prompts", "study", "study_job",
    "summarize_store",
]
