"""Writing a figure to a file: self-contained ``.html``, or ``.png``/``.svg``/``.pdf`` through kaleido.

HTML inlines plotly.js (no CDN, opens offline). Static formats need the
optional kaleido package and a Chrome or Chromium already on the machine;
nothing here ever downloads a browser, and a missing one is a
:class:`StaticExportError` that says how to get it. Files are written
atomically (:func:`calibkit.draw.page.write_atomic`).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

from calibkit.files import write_atomic

STATIC_FORMATS = (".png", ".svg", ".pdf")


class StaticExportError(RuntimeError):
    """Static image export (PNG/SVG/PDF) is unavailable or failed; see the message for the fix."""


def save_figure(
    fig: go.Figure,
    path: str | Path,
    *,
    width: int | None = None,
    height: int | None = None,
    scale: float = 2.0,
) -> Path:
    """Write a figure to ``.html`` (self-contained) or ``.png``/``.svg``/``.pdf``.

    HTML inlines plotly.js (no CDN, opens offline). Static formats go through
    kaleido; when it is missing or cannot find a browser this raises
    :class:`StaticExportError` saying how to get it. A browser is never
    downloaded here. Files are written atomically (temporary file, then
    rename), so a failed export leaves any earlier file intact.

    Args:
        fig: the figure.
        path: target file; its suffix picks the format.
        width, height: static image size in CSS pixels; default the figure's
            own size, else 900 x its height (or 600).
        scale: static image pixel density (2 = sharp on high-DPI screens).

    Returns:
        The path written.

    Example:
        >>> save_figure(plots.reliability_diagram(stats), "runs/mmlu/reliability.html")  # doctest: +SKIP
    """
    if not isinstance(fig, go.Figure):
        raise ValueError(f"fig must be a plotly.graph_objects.Figure, got {type(fig).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        html = pio.to_html(fig, include_plotlyjs=True, full_html=True, config={"displaylogo": False})
        return write_atomic(path, html)
    if suffix not in STATIC_FORMATS:
        raise ValueError(f"path must end in .html, {', '.join(STATIC_FORMATS)}; got {str(path)!r}")
    image = _static_image(fig, fmt=suffix[1:], width=width, height=height, scale=scale)
    return write_atomic(path, image)


def _static_image(fig: go.Figure, *, fmt: str, width: int | None, height: int | None, scale: float) -> bytes:
    how = (
        "Static export (.png/.svg/.pdf) needs the optional kaleido package: `pip install kaleido` "
        "(or `pip install 'calibkit[png]'`). kaleido>=1.0 drives a Chrome or Chromium browser that must "
        "already be installed (e.g. `apt-get install chromium`; point BROWSER_PATH at it if it is not on "
        "PATH) - calibkit never downloads a browser. Saving as .html needs neither."
    )
    if importlib.util.find_spec("kaleido") is None:
        raise StaticExportError(f"kaleido is not installed. {how}")
    width = width or fig.layout.width or 900
    height = height or fig.layout.height or 600
    try:
        return pio.to_image(fig, format=fmt, width=width, height=height, scale=scale)
    except Exception as err:  # kaleido/choreographer raise many kinds; all mean "no static export here"
        raise StaticExportError(f"static export to {fmt} failed: {str(err).strip()}\n{how}") from err
