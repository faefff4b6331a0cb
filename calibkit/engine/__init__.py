"""The model engine: resolve and load models, score continuations, generate text.

The only layer that imports torch. It reads :class:`calibkit.records.Prompt`
records and yields :class:`calibkit.records.ScoredItem` records or
generations; it never computes a metric and never writes a file.
"""
