"""Moved to :mod:`calibkit.tasks.free_answer` (``question``, ``triviaqa_data``); re-exported for freeform/pair.py."""
from calibkit.tasks.free_answer.question import Question as TriviaQuestion  # noqa: F401  (tasks/freeform/pair.py)
