"""NQ-open as a free-answer task: lm-evaluation-harness's prompt and exact-match rule, TriviaQA's signals.

:mod:`.task` is `calibkit run nq_open`: the free-answer run over the
``nq_open`` row of :data:`calibkit.tasks.free_answer.specs.SOURCES` (its
loader :mod:`calibkit.tasks.free_answer.nq_open_data`, lm-eval's layout
and the ``nq_open`` matcher).
"""
from .task import NQOpen

__all__ = ["NQOpen"]
