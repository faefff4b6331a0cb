""""I don't know": a dataset of informative answers and abstentions, and an abstention benchmark.

:mod:`.constructed` (hand-written rows whose right response is to decline,
each with its criterion), :mod:`.dataset` (the rows, the rules that pick
them from a model's own runs, splits by question, writing), :mod:`.card`
(the dataset card), :mod:`.build` (`calibkit idk build`), :mod:`.abstain`
(what counts as an abstention), :mod:`.run`, :mod:`.study`, :mod:`.report`
and :mod:`.task` (`calibkit run idk`). P(IK) is :mod:`calibkit.tasks.pik`.
"""
from .task import IdkBenchmark

__all__ = ["IdkBenchmark"]
