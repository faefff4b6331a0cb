"""The one look of calibkit's paper figures: ACL sizes, fonts, the colour-blind-safe palette, base vs chat colours.

Sizes follow the ACL style files (a4/letter, two columns): one column is
7.7 cm wide, both columns 16 cm. Fonts are 9 pt (legends and annotations 8 pt)
beside the paper's 10-11 pt text, in a sans-serif that every machine has
(DejaVu Sans, matplotlib's own), embedded as TrueType (``pdf.fonttype`` 42:
conference checkers reject Type 3 fonts). Colours are Okabe & Ito's palette;
a base model is always blue and a chat model always vermillion, in every
figure, and no other run takes those two colours.

Settings are applied with :func:`matplotlib.rc_context` around each figure's
drawing and saving (:func:`paper_style`), never to matplotlib's global state,
and pyplot is never imported (no GUI backend, no browser: a bare machine
draws). This module never computes a statistic.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Mapping, Sequence

CM = 1 / 2.54  # inches per centimetre (matplotlib sizes figures in inches)
WIDTHS = {"column": 7.7 * CM, "page": 16.0 * CM}  # ACL: one column, both columns
DPI = 300  # the PNG's resolution; the PDF is vector
FONT_SIZE = 9  # pt: axis titles and tick labels
SMALL_SIZE = 8  # pt: legends and notes

ROLE_COLORS = {"base": "#0072B2", "chat": "#D55E00"}  # Okabe-Ito blue and vermillion, in every figure
#: the colours of runs that are neither base nor chat, in order (Okabe-Ito without blue, vermillion, yellow)
OTHER_COLORS = ("#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
ROLE_MARKERS = {"base": "o", "chat": "s"}  # a second cue, for grey-scale print
OTHER_MARKERS = ("^", "D", "v", "P", "X")
ROLES = tuple(ROLE_COLORS)
GREY = "#666666"  # the diagonal, reference lines
INTERVAL_ALPHA = 0.22  # a band's opacity

RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": SMALL_SIZE,
    "legend.frameon": False,
    "legend.handlelength": 1.6,
    "legend.borderaxespad": 0.3,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,  # grid lines behind bars and bands
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "errorbar.capsize": 1.5,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "savefig.dpi": DPI,
    "figure.dpi": 100,
}


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """The paper settings for the figures drawn and saved inside; matplotlib's globals are restored after."""
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def figure_size(width: str, height_ratio: float) -> tuple[float, float]:
    """(width, height) in inches: ``width`` ``"column"`` (7.7 cm) or ``"page"`` (16 cm), height = ratio x width."""
    if width not in WIDTHS:
        raise ValueError(f"width must be one of {', '.join(WIDTHS)}; got {width!r}")
    if not 0.1 <= height_ratio <= 3:
        raise ValueError(f"height_ratio must be in [0.1, 3]; got {height_ratio!r}")
    return WIDTHS[width], WIDTHS[width] * height_ratio


def run_looks(labels: Sequence[str], roles: Mapping[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """Each run's (colour, marker): base blue circles, chat vermillion squares, other runs the rest in order.

    Several runs of one role (two model families' chat variants) share its
    colour and differ by marker.

    Example:
        >>> run_looks(["a", "b", "c"], {"a": "chat", "b": "base"})
        {'a': ('#D55E00', 's'), 'b': ('#0072B2', 'o'), 'c': ('#009E73', '^')}
    """
    roles = dict(roles or {})
    unknown = sorted({r for r in roles.values() if r not in ROLES})
    if unknown:
        raise ValueError(f"roles must be 'base' or 'chat'; got {', '.join(map(repr, unknown))}")
    looks, seen, others = {}, {role: 0 for role in ROLES}, 0
    for label in labels:
        role = roles.get(label)
        if role is None:
            looks[label] = (OTHER_COLORS[others % len(OTHER_COLORS)], OTHER_MARKERS[others % len(OTHER_MARKERS)])
            others += 1
            continue
        k = seen[role]
        seen[role] += 1
        looks[label] = (ROLE_COLORS[role], ROLE_MARKERS[role] if k == 0 else OTHER_MARKERS[(k - 1) % len(OTHER_MARKERS)])
    return looks
