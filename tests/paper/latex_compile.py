"""Compile a LaTeX file of a write-up with pdflatex, where pdflatex is installed (the paper tests' one check of it)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def assert_compiles(folder: Path, tex: str = "paper.tex") -> Path:
    """Run ``pdflatex`` on ``folder/tex`` (skip the test where pdflatex is not installed); returns the PDF's path.

    Fails with the end of pdflatex's output when it stops on an error.
    """
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed here (CI installs it where it fits the time budget)")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    return Path(folder) / Path(tex).with_suffix(".pdf")
