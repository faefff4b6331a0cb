"""Eleven multiple-choice benchmarks as lm-evaluation-harness scores them.

``calibkit run arc_easy`` (and ``arc_challenge``, ``openbookqa``, ``sciq``,
``commonsense_qa``, ``piqa``, ``hellaswag``, ``winogrande``, ``boolq``,
``copa``, ``social_iqa``: lm-eval's task names) scores lm-eval's
continuations after lm-eval's prompt, byte for byte, and reads calibration
from the probabilities renormalised over the options, as for MMLU.

Modules, in pipeline order: :mod:`.specs` (one transcription of each lm-eval
task config), :mod:`.data` (where rows come from), :mod:`.prompts` (rows to
prompts, lm-eval's few-shot draw), :mod:`.task` (the command). A further
benchmark is one :class:`~.specs.Spec` in :data:`~.specs.SPECS`.

Example::

    >>> from calibkit.tasks.benchmarks import BENCHMARKS
    >>> [b.name for b in BENCHMARKS][:3]
    ['arc_easy', 'arc_challenge', 'openbookqa']
"""
from __future__ import annotations

from .specs import SPECS, Doc, Spec
from .task import Benchmark

BENCHMARKS: tuple[Benchmark, ...] = tuple(Benchmark(spec) for spec in SPECS)

__all__ = ["BENCHMARKS", "Benchmark", "Doc", "SPECS", "Spec"]
