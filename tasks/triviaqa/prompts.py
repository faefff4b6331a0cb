"""Moved to :mod:`calibkit.tasks.free_answer` (``layouts``, ``ptrue``); re-exported for tasks/freeform/pair.py."""
from calibkit.tasks.free_answer.layouts import generation_context  # noqa: F401  (tasks/freeform/pair.py)
