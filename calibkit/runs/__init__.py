"""Runs on disk and the run loop every task shares.

A run folder (:mod:`calibkit.runs.store`), the start-up and resume loop
(:mod:`calibkit.runs.runner`) and the registry that finds the tasks
(:mod:`calibkit.runs.registry`). Everything after the store works from disk
without a model.
"""
