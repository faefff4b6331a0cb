"""Every task calibkit knows, installed as ``calibkit.tasks``; one folder per task.

``REGISTRY`` lists them; the command line and ``calibkit.task(name)`` find
it through the ``calibkit.task_registry`` entry point (``setup.cfg``). A new
task is one folder with a :class:`~calibkit.tasks.base.Task` subclass and
one line below. ``COMMANDS`` lists the commands that are not tasks (entry
point ``calibkit.commands``): they run tasks or write run folders, and own
no kind of run of their own.
"""
from __future__ import annotations

from calibkit.tasks.benchmarks import BENCHMARKS
from calibkit.tasks.herbstritt_franke.task import HerbstrittFranke
from calibkit.tasks.idk import IdkBenchmark
from calibkit.tasks.idk.task import idk_command
from calibkit.tasks.mmlu.task import MMLU
from calibkit.runs.registry import Command
from calibkit.tasks.multiple_choice.lm_eval_import import LmEvalImport, import_command
from calibkit.tasks.nq_open import NQOpen
from calibkit.tasks.nudging import Nudging
from calibkit.tasks.pik import Pik
from calibkit.tasks.rhymes import Rhymes
from calibkit.tasks.suite import suite_command
from calibkit.tasks.tokens import Tokens
from calibkit.tasks.triviaqa.task import TriviaQA

REGISTRY = (
    MMLU(),
    TriviaQA(),
    NQOpen(),
    Pik(),
    IdkBenchmark(),
    Tokens(),
    Nudging(),
    Rhymes(),
    HerbstrittFranke(),
    LmEvalImport(),  # reads the runs `calibkit import-lm-eval` writes
    *BENCHMARKS,  # arc_easy ... social_iqa: one Spec each in tasks/benchmarks/specs.py
)

COMMANDS = (
    Command("suite", suite_command, under_run=True),
    Command("import-lm-eval", import_command),
    Command("idk", idk_command),  # `calibkit idk build`
)
