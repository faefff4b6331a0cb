"""Moved to :mod:`calibkit.tasks.free_answer.answers`; re-exported for the importers outside this folder."""
# one line for run.py and tests/engine/test_generation.py, until they import the layer
from calibkit.tasks.free_answer.answers import MATCHERS, Matcher, extract_answer, sample_agreement  # noqa: F401
