"""Nudging (Fei et al. 2024): a base model answers and a small chat model writes the words it is unsure of.

:mod:`.run` (the three conditions per question, judged), :mod:`.study`
(accuracy with paired tests, nudged words by class and position,
calibration), :mod:`.report`, :mod:`.task` (`calibkit run nudging`). The
decoding itself is :mod:`calibkit.engine.nudging`.
"""
from .task import Nudging

__all__ = ["Nudging"]
