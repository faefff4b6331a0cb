"""The one number format of calibkit's write-ups, chosen once: ``0.123 [0.101, 0.145]``.

Every estimate a paper table, a figure label or a page prints goes through
:func:`cell_text` (plain text, Markdown, HTML) or :func:`cell_latex` (LaTeX),
both from one :class:`Cell`:

* an estimate with its 95% interval: ``0.123 [0.101, 0.145]``, the same
  number of decimals everywhere (:data:`DIGITS`; never ``0`` beside ``0.5000``);
* below the small-n rule (:data:`calibkit.stats.intervals.MIN_ITEMS` items,
  :func:`calibkit.stats.intervals.too_few`) the estimate alone with its n:
  ``0.412 (n=12)``, never an interval the bootstrap cannot back;
* a difference (``signed=True``): the sign always shown, ``+0.045 [+0.012, +0.078]``,
  and **bold** where its interval excludes zero; a value that rounds to zero
  is ``+0.000``, never ``-0.000``;
* a p-value: ``p = 0.013``, and ``p < 0.001`` below what three decimals show
  (:func:`p_text`), with the test that produced it where asked.

This module formats only: it reads numbers already computed and never
computes a statistic, draws or imports plotting code.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Mapping

from calibkit.stats.intervals import too_few

#: decimals of every estimate and bound (metrics in [0, 1] and NLL alike): one precision per paper
DIGITS = 3
#: a p-value below this is printed as "p < 0.001" (three decimals cannot show it)
P_FLOOR = 0.001
MARKUPS = ("plain", "markdown", "html")
MISSING = "–"  # an estimate that does not exist (AUROC of one class): an en dash, not a 0


def finite(x: Any) -> float | None:
    """A finite float, or None for None / NaN / inf / pandas' missing values / empty strings.

    Example:
        >>> finite("0.5"), finite(float("nan")), finite(None)
        (0.5, None, None)
    """
    if x is None or isinstance(x, bool) or (isinstance(x, str) and not x.strip()):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def fixed(x: Any, *, digits: int = DIGITS, signed: bool = False) -> str:
    """``x`` with ``digits`` decimals; ``signed`` shows ``+``; a value that rounds to zero carries no minus.

    A difference of -0.0001 printed as ``-0.000`` reads as a negative result: it is ``+0.000`` (signed)
    or ``0.000``. Missing values are :data:`MISSING`.

    Example:
        >>> fixed(-0.0001), fixed(-0.0001, signed=True), fixed(-0.0006, signed=True), fixed(0.5, digits=2)
        ('0.000', '+0.000', '-0.001', '0.50')
    """
    value = finite(x)
    if value is None:
        return MISSING
    text = f"{value:{'+' if signed else ''}.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        return ("+" if signed else "") + text[1:]
    return text


def p_text(p_value: Any, *, test: str | None = None, bare: bool = False) -> str:
    """A p-value as ``p = 0.013`` or ``p < 0.001``; empty where there is none.

    ``bare``: without the ``p`` (a table column headed "p": ``0.013``, ``< 0.001``).
    ``test``: the test that produced it, after the value (``p = 0.013 (exact sign-flip (2^5 swaps))``).

    Example:
        >>> p_text(0.0126), p_text(0.0004), p_text(0.0004, bare=True), p_text(None)
        ('p = 0.013', 'p < 0.001', '< 0.001', '')
        >>> p_text(0.21, test="permutation (1,000 random swaps)")
        'p = 0.210 (permutation (1,000 random swaps))'
    """
    p = finite(p_value)
    if p is None:
        return ""
    value = f"< {P_FLOOR:.{DIGITS}f}" if p < P_FLOOR else f"{'' if bare else '= '}{p:.{DIGITS}f}"
    text = value if bare else f"p {value}"
    return f"{text} ({test})" if test else text


@dataclass(frozen=True)
class Cell:
    """One statistic as a table cell: an estimate, its interval, its n, and whether it is a difference.

    Build one from the stored forms with :meth:`of` (an ``Interval`` or its
    JSON) and :meth:`of_difference` (a ``PairedDifference``, its JSON, or a
    row of :func:`calibkit.stats.comparison.paired_comparison`'s table).
    """

    estimate: float | None  # the point estimate; None where it does not exist
    low: float | None = None  # lower end of the 95% interval; None where there is none
    high: float | None = None  # upper end
    n: int | None = None  # items (or clusters) behind it; below MIN_ITEMS the interval is never shown
    signed: bool = False  # a difference: the sign is always printed, bold where the interval excludes 0
    note: str | None = None  # why there is no interval (the small-n rule's note), as the stats layer wrote it
    p_value: float | None = None  # a difference's p-value, printed after the interval (None: not printed)

    @classmethod
    def of(cls, interval: Any) -> "Cell":
        """From an :class:`~calibkit.stats.intervals.Interval` or its JSON (``estimate, low, high, n, note``)."""
        get = _getter(interval)
        return cls(finite(get("estimate")), finite(get("low")), finite(get("high")), _count(get("n")),
                   note=get("note") or None)

    @classmethod
    def of_difference(cls, diff: Any, *, with_p: bool = False) -> "Cell":
        """From a :class:`~calibkit.stats.intervals.PairedDifference`, its JSON, or a comparison-table row.

        A comparison row names the bounds ``diff_low`` / ``diff_high``; a
        ``PairedDifference`` names them ``low`` / ``high``. ``with_p``: print
        the p-value after the interval.
        """
        get = _getter(diff)
        low, high = (get("diff_low"), get("diff_high")) if get("diff_low") is not None else (get("low"), get("high"))
        return cls(finite(get("difference")), finite(low), finite(high), _count(get("n")), signed=True,
                   note=get("note") or None, p_value=finite(get("p_value")) if with_p else None)

    @property
    def has_interval(self) -> bool:
        """Whether the interval is printed: both ends finite and not left out by the small-n rule."""
        small = self.note is not None or (self.n is not None and too_few(self.n) is not None)
        return not small and None not in (self.estimate, self.low, self.high)

    @property
    def bold(self) -> bool:
        """A difference whose interval excludes zero (both ends on one side of it, as printed)."""
        if not (self.signed and self.has_interval):
            return False
        low, high = (float(fixed(x)) for x in (self.low, self.high))  # what the reader sees decides
        return low > 0 or high < 0


def cell_text(cell: Cell, *, markup: str = "plain", digits: int = DIGITS, show_n: bool = False,
              p_test: str | None = None) -> str:
    """A :class:`Cell` as text: ``0.123 [0.101, 0.145]``; ``0.412 (n=12)`` below the small-n rule.

    Args:
        cell: the statistic.
        markup: ``"plain"`` (no bold), ``"markdown"`` (``**...**``) or ``"html"``
            (escaped, ``<strong>...</strong>``) for a difference whose interval excludes 0.
        digits: decimals (keep :data:`DIGITS` unless a whole table uses another).
        show_n: append ``n=...`` to a cell with an interval too (small-n cells always say their n).
        p_test: the test named after the p-value (with ``cell.p_value``).

    Example:
        >>> cell_text(Cell(0.1234, 0.101, 0.1451, n=200))
        '0.123 [0.101, 0.145]'
        >>> cell_text(Cell(0.4123, 0.3, 0.5, n=12))
        '0.412 (n=12)'
        >>> cell_text(Cell(0.045, 0.012, 0.078, n=100, signed=True, p_value=0.0126), markup="markdown")
        '**+0.045 [+0.012, +0.078]**, p = 0.013'
        >>> cell_text(Cell(-0.0001, -0.02, 0.02, n=100, signed=True))
        '+0.000 [-0.020, +0.020]'
    """
    if markup not in MARKUPS:
        raise ValueError(f"markup must be one of {', '.join(MARKUPS)}; got {markup!r}")
    body = _body(cell, digits=digits, show_n=show_n)
    if cell.bold and markup == "markdown":
        body = f"**{body}**"
    elif markup == "html":
        body = html.escape(body)
        body = f"<strong>{body}</strong>" if cell.bold else body
    p = p_text(cell.p_value, test=p_test)
    return f"{body}, {html.escape(p) if markup == 'html' else p}" if p else body


def cell_latex(cell: Cell, *, digits: int = DIGITS, show_n: bool = False, p_test: str | None = None) -> str:
    """A :class:`Cell` for a LaTeX table: the text of :func:`cell_text`, minus signs as ``$-$``, bold as ``\\textbf``.

    Example:
        >>> cell_latex(Cell(-0.045, -0.078, -0.012, n=100, signed=True, p_value=0.0004))
        '\\\\textbf{$-$0.045 [$-$0.078, $-$0.012]}, $p < 0.001$'
        >>> cell_latex(Cell(0.5, None, None, n=8))
        '0.500 ($n$=8)'
    """
    body = latex_number_text(_body(cell, digits=digits, show_n=show_n))
    body = f"\\textbf{{{body}}}" if cell.bold else body
    p = p_latex(cell.p_value)
    if p and p_test:
        p += f" ({escape_latex(p_test)})"
    return f"{body}, {p}" if p else body


def p_latex(p_value: Any, *, bare: bool = False) -> str:
    """:func:`p_text` for LaTeX: ``$p = 0.013$``, ``$p < 0.001$`` (``bare``: ``0.013``, ``$<$ 0.001``).

    Example:
        >>> p_latex(0.0126), p_latex(0.0001, bare=True), p_latex(None)
        ('$p = 0.013$', '$<$ 0.001', '')
    """
    text = p_text(p_value, bare=bare)
    if not text:
        return ""
    return text.replace("<", "$<$") if bare else f"${text}$"


def latex_number_text(text: str) -> str:
    """Formatted numbers for LaTeX: a minus is ``$-$`` (a text hyphen is too short), ``n=`` in math italics,
    the missing-value dash ``--``."""
    return text.replace("-", "$-$").replace(MISSING, "--").replace("(n=", "($n$=").replace(" n=", " $n$=")


#: LaTeX's special characters and the few non-ASCII signs a table of statistics uses (pdflatex stops at Δ)
LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
    "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "Δ": r"$\Delta$", "−": "$-$", "ρ": r"$\rho$", "±": r"$\pm$", "≤": r"$\leq$", "≥": r"$\geq$", "×": r"$\times$",
    "–": "--", "—": "---",
}


def escape_latex(text: Any) -> str:
    """Plain text made safe for LaTeX: its special characters escaped, Δ/ρ/± and dashes spelled out.

    Example:
        >>> escape_latex("50% of a_b & {c} ~ $x^2$ Δ")
        '50\\\\% of a\\\\_b \\\\& \\\\{c\\\\} \\\\textasciitilde{} \\\\$x\\\\textasciicircum{}2\\\\$ $\\\\Delta$'
    """
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def _body(cell: Cell, *, digits: int, show_n: bool) -> str:
    """The estimate and its interval, or the estimate and its n below the small-n rule (no markup)."""
    text = fixed(cell.estimate, digits=digits, signed=cell.signed)
    if cell.estimate is None:
        return text
    if cell.has_interval:
        text += f" [{fixed(cell.low, digits=digits, signed=cell.signed)}, " \
                f"{fixed(cell.high, digits=digits, signed=cell.signed)}]"
        return f"{text} n={cell.n}" if show_n and cell.n is not None else text
    return f"{text} (n={cell.n})" if cell.n is not None else text


def _getter(value: Any):
    if isinstance(value, Mapping):
        return value.get
    return lambda name: getattr(value, name, None)


def _count(x: Any) -> int | None:
    value = finite(x)
    return None if value is None else int(value)
