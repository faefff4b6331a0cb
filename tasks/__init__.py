"""Task adapters, one module per task; installed as ``calibkit.tasks``.

Each adapter turns a data set into :class:`~calibkit.records.Prompt`
records (or generation questions) and never touches a model. ``TASKS`` maps
the name used on the command line to the adapter's ``load`` function.
"""
from __future__ import annotations

from types import MappingProxyType

from calibkit.tasks import herbstritt_franke, mmlu, triviaqa

TASKS = MappingProxyType({
    "mmlu": mmlu.load, "triviaqa": triviaqa.load, "herbstritt_franke": herbstritt_franke.load,
})
