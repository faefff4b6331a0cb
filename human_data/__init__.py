"""People's data: Herbstritt & Franke's urn experiments, as committed CSV tables (see README.md here).

:func:`read_table` is the one reader; the H&F task (:mod:`calibkit.tasks.herbstritt_franke.human`)
builds its tables from it, and the free-answer words stage
(:mod:`calibkit.tasks.free_answer.words`) reads people's interpretations with it.
"""
from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path


def read_table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of one committed ``calibkit.human_data`` CSV file, as string dicts.

    Reads the installed package data, or this folder in a checkout that is
    not installed. Example: ``read_table("rsa_simple_params.csv")``.
    """
    if "/" in name or "\\" in name or not name.endswith(".csv"):
        raise ValueError(f"name must be a bare .csv file name, got {name!r}")
    try:
        text = resources.files("calibkit.human_data").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        path = Path(__file__).resolve().parent / name
        if not path.is_file():
            raise ValueError(f"name: no human data table {name!r}") from None
        text = path.read_text(encoding="utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))
