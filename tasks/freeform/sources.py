"""Moved to :mod:`calibkit.tasks.free_answer.specs`; re-exported for the importers outside the free-answer layer."""
from calibkit.tasks.free_answer import specs
# pair.py; tokens/task.py and nudging/task.py (lazily), until they import the layer
from calibkit.tasks.free_answer.specs import QuestionSet, load_questions  # noqa: F401

SOURCES = tuple(specs.SOURCES)  # pair.py's question-source choice: the spec table's names
