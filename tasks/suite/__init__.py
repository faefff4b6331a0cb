"""`calibkit run suite`: named sets of multiple-choice tasks, run for one or more models and read together.

:mod:`.sets` (which tasks, with which options), :mod:`.run` (the runs,
model by model), :mod:`.study` (the numbers, paired base vs chat),
:mod:`.report` (the page), :mod:`.task` (the command).
"""
from .run import SuiteOutcome, run_suite
from .sets import SUITES
from .task import suite_command

__all__ = ["SUITES", "SuiteOutcome", "run_suite", "suite_command"]
