"""From run folders to a write-up: paper figures (matplotlib, ACL sizes), tables (LaTeX, Markdown, CSV), provenance.

Reads computed statistics and run folders; never loads a model and never
imports torch or a task. :func:`write_paper` is the entry point; each task
contributes its parts (:class:`PaperPart`) through ``paper_parts(stores)``.
The one number format is :mod:`calibkit.paper.numbers`.
"""
from __future__ import annotations

from calibkit.paper.numbers import Cell, cell_latex, cell_text, p_text
from calibkit.paper.parts import Attachment, PaperPart
from calibkit.paper.tables import PValue, Table, comparison_table
from calibkit.paper.write import PaperIndex, write_paper

__all__ = ["write_paper", "PaperIndex", "PaperPart", "Attachment", "Table", "PValue", "Cell", "cell_text",
           "cell_latex", "p_text", "comparison_table"]
