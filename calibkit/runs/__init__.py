"""Runs on disk and the run loop every task shares.

A run folder (:mod:`calibkit.runs.store`), the start-up and resume loop
(:mod:`calibkit.runs.runner`), the one description of a task
(:mod:`calibkit.runs.task`), the registry that finds the tasks and the
commands that are not tasks (:mod:`calibkit.runs.registry`), and the
plumbing every command shares below the command line (model options, run
settings, checks, the torchrun launch: :mod:`calibkit.runs.command`; what
it prints: :mod:`calibkit.runs.echo`). Everything after the store works
from disk without a model.
"""
