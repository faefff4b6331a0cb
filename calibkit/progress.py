"""The progress bar every long loop shows: items/s and ETA on stderr.

Silent when disabled (``--quiet``) or when stderr is not a terminal, so
logs and CI output stay clean. Never touches results.
"""
from __future__ import annotations

import sys


class ProgressBar:
    """A tqdm bar that exists only when asked for and stderr is a terminal."""

    def __init__(self, total: int, *, enabled: bool, unit: str = "item", desc: str | None = None) -> None:
        self.bar = None
        if enabled and total and sys.stderr.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, dynamic_ncols=True)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
