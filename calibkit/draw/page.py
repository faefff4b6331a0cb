"""One self-contained HTML page built from titled sections.

A :class:`Report` collects a header (key/value fields), paragraphs of text,
tables and plotly figures, in the order they are added, and renders them to
a single HTML file that opens offline: the CSS is inline, no web fonts are
fetched, and plotly.js is inlined exactly once (with the first figure).
Every string the caller supplies is HTML-escaped, so a model name or a
question text can never inject markup.

This module knows nothing about calibration: the CLI decides what goes in a
report. It must never compute statistics or touch plotly's global settings.

Example:
    >>> page = Report("MMLU calibration").add_header({"model": "llama-2-7b", "items": 14042})
    >>> page = page.add_table("Summary", [{"metric": "ECE", "value": 0.05234}])
    >>> '<td class="num">0.05234</td>' in page.to_html()
    True
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from importlib import metadata
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from calibkit.files import write_atomic

MISSING = "\u2013"  # shown for None / NaN cells (an en dash)

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1f2328;
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 32px 48px; background: #fff;
  min-height: 100vh; box-shadow: 0 0 0 1px #e4e6ea; }
h1 { font-size: 1.75rem; margin: 0 0 4px; line-height: 1.25; }
h2 { font-size: 1.2rem; margin: 0 0 10px; padding-bottom: 4px; border-bottom: 1px solid #e4e6ea; }
.subtitle { color: #57606a; margin: 0 0 18px; }
section { margin: 30px 0 0; }
nav.toc { margin: 16px 0 0; padding: 10px 16px; background: #f6f8fa; border: 1px solid #e4e6ea; border-radius: 6px; }
nav.toc ol { margin: 4px 0; padding-left: 22px; columns: 2; column-gap: 32px; }
nav.toc a { color: #0b5cad; text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0;
  padding: 12px 16px; background: #f6f8fa; border: 1px solid #e4e6ea; border-radius: 6px; }
dl.fields dt { font-weight: 600; color: #57606a; }
dl.fields dd { margin: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
p { margin: 0 0 10px; max-width: 75ch; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 12px; border-bottom: 1px solid #e4e6ea; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; border-bottom: 2px solid #d0d7de; position: sticky; top: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.na { color: #8c959f; text-align: center; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #f0f4fa; }
.empty { color: #57606a; font-style: italic; }
.caption { color: #57606a; font-size: 0.9rem; margin: 6px 0 0; max-width: 75ch; }
.figure { width: 100%; }
.passage { margin: 10px 0 14px; }
.passage-label { color: #57606a; font-size: 0.85rem; }
.passage-text { white-space: pre-wrap; line-height: 1.9; font-size: 0.95rem; }
footer { margin-top: 40px; color: #8c959f; font-size: 0.85rem; }
"""


@dataclass(frozen=True)
class Marked:
    """A piece of text in :meth:`Report.add_marked_text`: shaded by a value, optionally marked, with a tooltip."""

    text: str
    shade: float | None = None  # 0..1: how strongly to shade (None: plain)
    marked: bool = False  # underlined
    note: str = ""  # shown on hover


@dataclass(frozen=True)
class _Block:
    """A rendered section (header, text or table)."""

    title: str | None  # section heading, None for none
    body: str  # HTML, already escaped


@dataclass(frozen=True)
class _FigureBlock:
    """A figure section; rendered at ``to_html`` time, when it is known whether it comes first."""

    title: str | None  # section heading
    figure: go.Figure  # a copy, so later changes to the caller's figure do not leak in
    caption: str | None  # plain text under the figure


class Report:
    """An HTML page assembled from sections, in the order they are added.

    Every ``add_*`` method returns the report, so calls chain. Nothing is
    rendered for the page until :meth:`to_html` or :meth:`save`.

    Example:
        >>> r = Report("Run 3").add_text("Scores on the test split.").add_header({"model": "gpt2"})
        >>> r.to_html().count("<section")
        2
    """

    def __init__(self, title: str, *, subtitle: str | None = None) -> None:
        self._title = _check_text("title", title)
        self._subtitle = None if subtitle is None else _check_text("subtitle", subtitle)
        self._blocks: list[_Block | _FigureBlock] = []

    @property
    def title(self) -> str:
        return self._title

    def add_header(self, fields: Mapping[str, Any], *, title: str | None = None) -> Report:
        """Key/value fields (model, task, date, ...) shown as a compact grid.

        Values are shown as text; numbers are formatted as in tables.
        """
        if not isinstance(fields, Mapping):
            raise ValueError(f"fields must be a mapping {{name: value}}, got {type(fields).__name__}")
        rows = "".join(
            f"<dt>{_esc(str(key))}</dt><dd>{_esc(_format_scalar(value, digits=6))}</dd>" for key, value in fields.items()
        )
        body = f'<dl class="fields">{rows}</dl>' if rows else '<p class="empty">(no fields)</p>'
        return self._add(_Block(_check_optional_text("title", title), body))

    def add_text(self, text: str, *, title: str | None = None) -> Report:
        """Plain text; blank lines separate paragraphs. No markup is interpreted."""
        text = _check_text("text", text, allow_empty=True)
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        body = "".join(f"<p>{_esc(p)}</p>" for p in paragraphs)
        return self._add(_Block(_check_optional_text("title", title), body))

    def add_table(
        self,
        title: str | None,
        table: pd.DataFrame | Sequence[Mapping[str, Any]],
        *,
        caption: str | None = None,
        digits: int = 4,
    ) -> Report:
        """A table from a DataFrame or from rows (a sequence of mappings, one per row).

        Floating-point columns get a common number of decimals, chosen so the
        column's largest magnitude shows ``digits`` significant digits
        (``0.05234, 0.1234`` -> ``0.0523, 0.1234``), or none when every value
        is a whole number; integers get thousands separators; None/NaN show
        as an en dash. A DataFrame index
        other than the default 0..n-1 is shown as the first column.
        """
        if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 10:
            raise ValueError(f"digits must be an integer in [1, 10], got {digits!r}")
        frame = _as_frame(table)
        body = _table_html(frame, digits=digits) + _caption(caption)
        return self._add(_Block(_check_optional_text("title", title), body))

    def add_figure(self, title: str | None, fig: go.Figure, *, caption: str | None = None) -> Report:
        """A plotly figure, interactive in the page."""
        if not isinstance(fig, go.Figure):
            raise ValueError(f"fig must be a plotly.graph_objects.Figure, got {type(fig).__name__}")
        return self._add(
            _FigureBlock(
                _check_optional_text("title", title),
                go.Figure(fig),
                None if caption is None else _check_text("caption", caption),
            )
        )

    def add_marked_text(self, title: str | None, passages: Sequence[tuple[str, Sequence[Marked]]], *,
                        caption: str | None = None) -> Report:
        """Passages of text, each headed by a label, shaded piece by piece (red, stronger = higher) and marked.

        ``passages`` are ``(label, pieces)``; a piece's ``shade`` in [0, 1]
        sets its background, ``marked`` underlines it, ``note`` is its hover
        text. All text is escaped.
        """
        blocks = []
        for label, pieces in passages:
            spans = []
            for m in pieces:
                style = []
                if m.shade is not None and math.isfinite(m.shade):
                    style.append(f"background: rgba(214, 39, 40, {0.75 * min(max(m.shade, 0.0), 1.0):.3f})")
                if m.marked:
                    style.append("border-bottom: 2px solid #1f4e9c")
                attrs = f' style="{"; ".join(style)}"' if style else ""
                attrs += f' title="{_esc(m.note)}"' if m.note else ""
                spans.append(f"<span{attrs}>{_esc(m.text)}</span>" if attrs else _esc(m.text))
            blocks.append(f'<div class="passage"><div class="passage-label">{_esc(label)}</div>'
                          f'<div class="passage-text">{"".join(spans)}</div></div>')
        body = "".join(blocks) if blocks else '<p class="empty">(no passages)</p>'
        return self._add(_Block(_check_optional_text("title", title), body + _caption(caption)))

    def to_html(self) -> str:
        """The whole page as one HTML string (UTF-8 text, no external resources)."""
        ids = _section_ids([b.title for b in self._blocks])
        sections = []
        n_figures = 0
        for block, sid in zip(self._blocks, ids):
            if isinstance(block, _FigureBlock):
                body = (
                    pio.to_html(
                        block.figure,
                        full_html=False,
                        # plotly.js (~4.8 MB) goes in once, before the first figure; later figures reuse it.
                        include_plotlyjs=n_figures == 0,
                        div_id=f"figure-{n_figures + 1}",
                        config={"displaylogo": False, "responsive": True},
                    )
                    + _caption(block.caption)
                )
                body = f'<div class="figure">{body}</div>'
                n_figures += 1
            else:
                body = block.body
            heading = f"<h2>{_esc(block.title)}</h2>" if block.title else ""
            sections.append(f'<section id="{sid}">{heading}{body}</section>')
        titled = [(b.title, sid) for b, sid in zip(self._blocks, ids) if b.title]
        toc = ""
        if len(titled) >= 3:
            items = "".join(f'<li><a href="#{sid}">{_esc(t)}</a></li>' for t, sid in titled)
            toc = f'<nav class="toc"><strong>Contents</strong><ol>{items}</ol></nav>'
        subtitle = f'<p class="subtitle">{_esc(self._subtitle)}</p>' if self._subtitle else ""
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_esc(self._title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            f"<h1>{_esc(self._title)}</h1>\n{subtitle}{toc}\n"
            + "\n".join(sections)
            + f"\n<footer>{_esc(_generator())}</footer>\n</main>\n</body>\n</html>\n"
        )

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` atomically (temporary file, then rename) and return the path."""
        return write_atomic(path, self.to_html())

    def _add(self, block: _Block | _FigureBlock) -> Report:
        self._blocks.append(block)
        return self


# ---------------------------------------------------------------------------
# Tables


def _as_frame(table: object) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table
    if isinstance(table, (str, bytes, Mapping)) or not isinstance(table, Sequence):
        raise ValueError(f"table must be a pandas DataFrame or a sequence of row mappings, got {type(table).__name__}")
    rows = list(table)
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ValueError(f"table rows must be mappings {{column: value}}; row {i} is {type(row).__name__}")
    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame()


def _table_html(frame: pd.DataFrame, *, digits: int) -> str:
    # A default 0..n-1 index carries no information; any other index (subject, model) is a column.
    if not (isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1):
        names = [n if n is not None else "" for n in frame.index.names]
        frame = frame.reset_index(names=names if len(names) > 1 else names[0])
    if frame.shape[1] == 0:
        return '<p class="empty">(empty table)</p>'
    headers = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in frame.columns]
    columns = [_format_column(frame.iloc[:, j], digits=digits) for j in range(frame.shape[1])]
    numeric = [pd.api.types.is_numeric_dtype(frame.iloc[:, j]) and not pd.api.types.is_bool_dtype(frame.iloc[:, j])
               for j in range(frame.shape[1])]
    num_class = ' class="num"'
    head = "".join(f'<th{num_class if num else ""} scope="col">{_esc(h)}</th>' for h, num in zip(headers, numeric))
    body_rows = []
    for i in range(frame.shape[0]):
        cells = []
        for j, col in enumerate(columns):
            text, kind = col[i]
            cls = {"num": ' class="num"', "na": ' class="na"'}.get(kind, "")
            cells.append(f"<td{cls}>{_esc(text)}</td>")
        body_rows.append(f"<tr>{''.join(cells)}</tr>")
    if not body_rows:
        body_rows.append(f'<tr><td class="empty" colspan="{len(headers)}">(no rows)</td></tr>')
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body_rows)}</tbody></table></div>'


def _format_column(col: pd.Series, *, digits: int) -> list[tuple[str, str]]:
    """(text, kind) per cell; kind is "num", "na" or "text"."""
    if pd.api.types.is_float_dtype(col):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        largest = float(np.abs(finite).max()) if finite.size else 0.0
        if finite.size and largest < 1e15 and np.all(finite == np.round(finite)):
            # Whole numbers stored as floats (counts that gained a NaN) read best as integers.
            return [_format_float(v, 0, digits) for v in values]
        decimals = _decimals(largest, digits)
        return [_format_float(v, decimals, digits) for v in values]
    return [_format_cell(v, digits=digits) for v in col.tolist()]


def _decimals(largest: float, digits: int) -> int | None:
    """Decimals that give ``largest`` ``digits`` significant digits; None means use scientific notation."""
    if largest == 0.0:
        return digits - 1
    magnitude = math.floor(math.log10(largest))
    if magnitude >= 15 or magnitude < -(digits + 2):
        return None
    return max(0, digits - 1 - magnitude)


def _format_float(v: float, decimals: int | None, digits: int) -> tuple[str, str]:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MISSING, "na"
    if math.isinf(v):
        return ("\u221e" if v > 0 else "\u2212\u221e"), "num"
    if decimals is None:
        return f"{v:.{digits - 1}e}", "num"
    return f"{v:,.{decimals}f}", "num"


def _format_cell(v: object, *, digits: int) -> tuple[str, str]:
    if v is None or v is pd.NA or v is pd.NaT:
        return MISSING, "na"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower(), "text"
    if isinstance(v, Integral):
        return f"{int(v):,}", "num"
    if isinstance(v, Real):
        f = float(v)
        if math.isnan(f):
            return MISSING, "na"
        return _format_float(f, _decimals(abs(f), digits) if math.isfinite(f) else 0, digits)
    return str(v), "text"


def _format_scalar(v: object, *, digits: int) -> str:
    return _format_cell(v, digits=digits)[0]


# ---------------------------------------------------------------------------
# Small helpers


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _caption(caption: str | None) -> str:
    if caption is None:
        return ""
    return f'<p class="caption">{_esc(_check_text("caption", caption))}</p>'


def _check_text(name: str, value: object, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _check_optional_text(name: str, value: object) -> str | None:
    return None if value is None else _check_text(name, value)


def _section_ids(titles: list[str | None]) -> list[str]:
    """Unique, URL-safe anchors ``sec-<slug>`` for the sections, in order."""
    used: set[str] = set()
    out = []
    for i, title in enumerate(titles):
        slug = re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-") or f"section-{i + 1}"
        candidate, n = f"sec-{slug}", 1
        while candidate in used:
            n += 1
            candidate = f"sec-{slug}-{n}"
        used.add(candidate)
        out.append(candidate)
    return out


def _generator() -> str:
    try:
        return f"Generated by calibkit {metadata.version('calibkit')}"
    except metadata.PackageNotFoundError:
        return "Generated by calibkit"
