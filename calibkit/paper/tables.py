"""Paper tables: one :class:`Table`, written as LaTeX (booktabs), Markdown and CSV.

A table holds its cells as computed values (:class:`~calibkit.paper.numbers.Cell`
for an estimate with its interval or a difference, :class:`PValue`, text,
counts), never as pre-formatted strings, so each form prints them its own
way from one source: LaTeX and Markdown in the one number format
(:mod:`calibkit.paper.numbers`, bold where a difference's interval excludes
zero), CSV with every number at full precision in its own column (estimate,
low, high, n) for whoever recomputes from it. :func:`comparison_table` turns
a paired comparison (:func:`calibkit.stats.comparison.paired_comparison`'s
table) into the base-vs-chat table: one row per measure, one column per run,
then each later run's difference from the first and its p-value.

Formats only; never computes a statistic or reads a run folder.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Sequence

from calibkit.paper.numbers import Cell, cell_latex, cell_text, escape_latex, finite, fixed, p_latex, p_text
from calibkit.files import write_atomic


@dataclass(frozen=True)
class PValue:
    """A p-value cell (a column headed "p"): ``0.013``, ``< 0.001``; the test is named in the table's notes."""

    p: float | None  # two-sided p-value; None where the small-n rule or a missing test left none
    test: str | None = None  # what produced it (kept for the CSV and the notes)


@dataclass(frozen=True)
class Table:
    """A paper table: header, rows of computed cells, caption and notes.

    Cells: :class:`~calibkit.paper.numbers.Cell`, :class:`PValue`, ``str``,
    ``int``, ``float`` (printed with :data:`~calibkit.paper.numbers.DIGITS`
    decimals) or None (empty).
    """

    name: str  # file stem (tables/<name>.tex ...) and LaTeX label tab:<name>
    columns: tuple[str, ...]  # header cells, plain text
    rows: tuple[tuple[Any, ...], ...]  # one tuple of cells per row, len(columns) each
    caption: str = ""  # plain text; placed below the table (ACL style)
    notes: str = ""  # plain text appended to the caption: what the intervals, differences and p-values are
    wide: bool = False  # LaTeX: table* across both columns instead of one column
    align: str = ""  # LaTeX column spec (e.g. "llp{5cm}" to wrap long text); default: l for text, r for numbers

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.name):
            raise ValueError(f"name must be a file stem of letters, digits, '-', '_' or '.'; got {self.name!r}")
        bad = [i for i, row in enumerate(self.rows) if len(row) != len(self.columns)]
        if bad:
            raise ValueError(f"rows {bad} have not {len(self.columns)} cells (one per column)")


def to_latex(table: Table) -> str:
    """The table as a LaTeX float with a booktabs tabular (needs ``\\usepackage{booktabs}``).

    Text columns are left-aligned, columns of numbers right-aligned; the
    caption (and notes) goes below the table, as ACL's style asks.
    """
    env = "table*" if table.wide else "table"
    lines = [f"\\begin{{{env}}}[t]", "\\centering", "\\small",
             f"\\begin{{tabular}}{{{table.align or _alignment(table)}}}", "\\toprule",
             " & ".join(_latex_header(c) for c in table.columns) + " \\\\", "\\midrule"]
    lines += [" & ".join(_latex_cell(c) for c in row) + " \\\\" for row in table.rows]
    lines += ["\\bottomrule", "\\end{tabular}"]
    caption = " ".join(x for x in (table.caption, table.notes) if x)
    if caption:
        lines.append(f"\\caption{{{escape_latex(caption)}}}")
    lines += [f"\\label{{tab:{table.name}}}", f"\\end{{{env}}}"]
    return "\n".join(lines) + "\n"


def to_markdown(table: Table) -> str:
    """The table as a Markdown pipe table (bold where a difference's interval excludes 0), caption below."""
    right = _numeric_columns(table)
    head = "| " + " | ".join(_md_escape(c) for c in table.columns) + " |"
    rule = "| " + " | ".join("---:" if r else "---" for r in right) + " |"
    body = ["| " + " | ".join(_md_escape(text_cell(c, markup="markdown")) for c in row) + " |" for row in table.rows]
    caption = " ".join(x for x in (table.caption, table.notes) if x)
    return "\n".join([head, rule, *body]) + ("\n\n" + caption if caption else "") + "\n"


def to_csv(table: Table) -> str:
    """The table as CSV, numbers at full precision: a column of cells becomes ``C, C_low, C_high, C_n``.

    A p-value column is ``C`` and ``C_test``. Read back with pandas, it
    gives the numbers behind every printed cell.
    """
    expand = [_csv_kind(table, j) for j in range(len(table.columns))]
    header: list[str] = []
    for name, kind in zip(table.columns, expand):
        header += {"cell": [name, f"{name}_low", f"{name}_high", f"{name}_n"],
                   "p": [name, f"{name}_test"]}.get(kind, [name])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in table.rows:
        out: list[Any] = []
        for cell, kind in zip(row, expand):
            out += _csv_values(cell, kind)
        writer.writerow(out)
    return buffer.getvalue()


def text_frame(table: Table, *, markup: str = "plain"):
    """The table as a pandas DataFrame of text, one cell per statistic (for HTML pages and notebooks)."""
    import pandas as pd

    return pd.DataFrame([[text_cell(c, markup=markup) for c in row] for row in table.rows],
                        columns=list(table.columns))


def write_table(table: Table, folder: Path) -> list[Path]:
    """Write ``<name>.tex``, ``<name>.md`` and ``<name>.csv`` into ``folder``; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    forms = ((".tex", to_latex), (".md", to_markdown), (".csv", to_csv))
    paths = [folder / f"{table.name}{suffix}" for suffix, _ in forms]
    for path, (_, form) in zip(paths, forms):
        write_atomic(path, form(table))
    return paths


def text_cell(cell: Any, *, markup: str = "plain") -> str:
    """One cell in the number format (:func:`~calibkit.paper.numbers.cell_text` for a Cell)."""
    if isinstance(cell, Cell):
        return cell_text(cell, markup=markup)
    if isinstance(cell, PValue):
        return p_text(cell.p, bare=True)
    if cell is None:
        return ""
    if isinstance(cell, (str, bool)):
        return str(cell)
    if isinstance(cell, Integral):
        return str(int(cell))
    return fixed(cell) if isinstance(cell, Real) else str(cell)


def comparison_table(frame: Any, *, name: str, caption: str = "", difference: str = "Δ",
                     wide: bool | None = None) -> Table:
    """A paired comparison as a paper table: one row per measure, the runs side by side, then each later
    run's difference from the first (bold where its interval excludes 0) and its p-value.

    Args:
        frame: :func:`calibkit.stats.comparison.paired_comparison`'s table
            (``run``, the measure's label columns, ``estimate, low, high, n,
            note, difference, diff_low, diff_high, p_value, test``); the
            first run is the reference.
        name: the table's file stem.
        caption: what the table shows; the notes (intervals, test, bold) are added.
        difference: the sign of a difference in the header: ``"Δ chat − base"``.
        wide: LaTeX ``table*``; default: when runs are compared (the estimates with intervals and the
            difference do not fit one 7.7 cm column at 9 pt).
    """
    runs = list(dict.fromkeys(frame["run"]))
    labels = [c for c in frame.columns if c not in ("run", "estimate", "low", "high", "n", "note", "difference",
                                                      "diff_low", "diff_high", "p_value", "test")]
    columns = [*labels, *runs]
    for run in runs[1:]:
        columns += [f"{difference} {run} − {runs[0]}", "p"]
    rows, tests = [], set()
    records = frame.to_dict(orient="records")
    for key in dict.fromkeys(tuple(r[c] for c in labels) for r in records):
        by_run = {r["run"]: r for r in records if tuple(r[c] for c in labels) == key}
        row: list[Any] = [*("" if v is None else v for v in key)]
        row += [Cell.of(by_run[run]) if run in by_run else None for run in runs]
        for run in runs[1:]:
            r = by_run.get(run)
            row += [Cell.of_difference(r), PValue(finite(r["p_value"]), r["test"])] if r else [None, None]
            tests.update({r["test"]} if r and r["test"] else set())
        rows.append(tuple(row))
    return Table(name=name, columns=tuple(columns), rows=tuple(rows), caption=caption,
                 notes=comparison_notes(sorted(tests)), wide=len(runs) > 1 if wide is None else wide)


def comparison_notes(tests: Sequence[str]) -> str:
    """What a comparison table's brackets, differences, bold and p-values are, in one sentence each."""
    test = "; ".join(tests) if tests else "the paired permutation test"
    return ("Brackets: 95% percentile bootstrap intervals over items; below 20 items the estimate stands alone "
            f"with its n. Differences are paired (same items); bold: the difference's interval excludes 0. "
            f"p: two-sided, {test}.")


def _latex_header(name: str) -> str:
    return "$p$" if name == "p" else escape_latex(name)  # the p-value column's head is the statistic's symbol


def _latex_cell(cell: Any) -> str:
    if isinstance(cell, Cell):
        return cell_latex(cell)
    if isinstance(cell, PValue):
        return p_latex(cell.p, bare=True)
    text = text_cell(cell)
    if _is_number(cell):
        return escape_latex(text).replace("-", "$-$")
    # a signal name such as mc_normalized_sequence_entropy may break after its underscores in a wrapping column
    return escape_latex(text).replace("\\_", "\\_\\allowbreak{}")


def _is_number(cell: Any) -> bool:
    return not isinstance(cell, (str, bool)) and cell is not None and finite(cell) is not None


def _numeric_columns(table: Table) -> list[bool]:
    """Per column: whether every non-empty cell holds a number (right-aligned)."""
    out = []
    for j in range(len(table.columns)):
        cells = [row[j] for row in table.rows if row[j] is not None and row[j] != ""]
        out.append(bool(cells) and all(isinstance(c, (Cell, PValue)) or _is_number(c) for c in cells))
    return out


def _alignment(table: Table) -> str:
    return "".join("r" if r else "l" for r in _numeric_columns(table))


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def _csv_kind(table: Table, j: int) -> str:
    cells = [row[j] for row in table.rows]
    if any(isinstance(c, Cell) for c in cells):
        return "cell"
    if any(isinstance(c, PValue) for c in cells):
        return "p"
    return "plain"


def _csv_values(cell: Any, kind: str) -> list[Any]:
    if kind == "cell":
        if not isinstance(cell, Cell):
            return [text_cell(cell), "", "", ""]
        shown = cell.has_interval  # the CSV carries no bound the printed table withholds (small-n rule)
        return [_raw(cell.estimate), _raw(cell.low if shown else None), _raw(cell.high if shown else None),
                "" if cell.n is None else cell.n]
    if kind == "p":
        return [_raw(cell.p), cell.test or ""] if isinstance(cell, PValue) else [text_cell(cell), ""]
    return [cell if isinstance(cell, (int, float)) and not isinstance(cell, bool) else text_cell(cell)]


def _raw(x: Any) -> Any:
    value = finite(x)
    return "" if value is None else repr(value)
