"""Paper figures (calibkit.paper.figures): exact ACL sizes, intervals drawn, base and chat in their colours."""
from __future__ import annotations

import re
import struct
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from calibkit.paper import figures
from calibkit.paper.style import ROLE_COLORS, run_looks
from calibkit.stats.binning import bin_stats
from calibkit.stats.discrimination import risk_coverage
from calibkit.stats.intervals import Interval

RNG = np.random.default_rng(0)
CONF = RNG.uniform(0.25, 1.0, 300)
RIGHT = RNG.uniform(size=300) < CONF * 0.8
STATS = {"base": bin_stats(CONF, RIGHT), "chat": bin_stats(np.sqrt(CONF), RIGHT)}
ROLES = {"base": "base", "chat": "chat"}


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def pdf_media_box(path) -> list[float]:
    box = re.search(rb"/MediaBox\s*\[\s*([\d.\s]+)\]", path.read_bytes())
    return [float(x) for x in box.group(1).split()]


def test_files_have_the_acl_width_exactly(tmp_path):
    assert figures.rejection_figure(risk_coverage(CONF, RIGHT), width="page").get_figwidth() == pytest.approx(
        16.0 / 2.54)  # both columns (the files are written the same way as below)
    fig = figures.reliability_figure(STATS, roles=ROLES, width="column")
    pdf, png = figures.save_figure(fig, tmp_path / "rel")
    inches = 7.7 / 2.54
    x0, y0, x1, y1 = pdf_media_box(pdf)
    assert (x0, y0) == (0, 0) and x1 == pytest.approx(inches * 72, abs=0.01)  # vector, in points
    w, h = png_size(png)
    # 300 dpi; matplotlib truncates to whole pixels (7.7 cm: 909.45 -> 909)
    assert abs(w - inches * 300) < 1 and abs(h - fig.get_figheight() * 300) < 1
    assert y1 == pytest.approx(fig.get_figheight() * 72, abs=0.01)


def test_reliability_draws_one_interval_per_nonempty_bin_in_the_role_colours():
    fig = figures.reliability_figure(STATS, roles=ROLES)
    ax = fig.axes[0]
    bars = [c for c in ax.collections if type(c).__name__ == "LineCollection"]  # errorbar whiskers
    assert [len(c.get_segments()) for c in bars] == [int((s.count > 0).sum()) for s in STATS.values()]
    colours = [line.get_color() for line in ax.get_lines() if line.get_label() in ("base", "chat")]
    assert colours == [ROLE_COLORS["base"], ROLE_COLORS["chat"]]
    for bar, s in zip(bars, STATS.values()):  # whisker ends are the Wilson bounds
        ends = np.array([[seg[0][1], seg[1][1]] for seg in bar.get_segments()])
        keep = s.count > 0
        np.testing.assert_allclose(np.sort(ends, axis=1), np.c_[s.accuracy_low[keep], s.accuracy_high[keep]])


def test_every_figure_draws_and_carries_its_intervals():
    sweep = pd.DataFrame({"temperature": [0.5, 1.0, 2.0], "ece": [0.2, 0.1, 0.15], "ece_low": [0.15, 0.05, 0.1],
                          "ece_high": [0.25, 0.15, 0.2]})
    sizes = pd.DataFrame({"n_parameters": [1.6e8, 1.4e9, 6.9e9], "estimate": [0.2, 0.15, 0.1],
                          "low": [0.15, 0.1, np.nan], "high": [0.25, 0.2, np.nan], "n": [100, 100, 8],
                          "note": [None, None, "n too small for an interval (n=8 < 20)"]})
    bars = pd.DataFrame({"benchmark": ["unshifted", "shifted"] * 2, "model": ["base", "base", "chat", "chat"],
                         "estimate": [0.8, 0.1, 0.7, 0.2], "low": [0.7, 0.05, 0.6, 0.1], "high": [0.9, 0.15, 0.8, 0.3]})
    people = SimpleNamespace(model_probs=RNG.dirichlet(np.ones(3), 4), human_probs=RNG.dirichlet(np.ones(3), 4),
                             expressions=("unlikely", "possible", "likely"),
                             pearson=Interval(0.8, 0.6, 0.9, 0.95, 1000, n=60))
    made = {
        "temperature": figures.temperature_figure({"base": sweep, "chat": sweep}, roles=ROLES),
        "size": figures.size_figure({"chat": sizes}, metric="ece", roles={"chat": "chat"}),
        "bars": figures.grouped_bars(bars, metric="share", roles=ROLES),
        "pooled": figures.pooled_figure(STATS["base"], x_scale="log"),
        "rejection": figures.rejection_figure({"base": risk_coverage(CONF, RIGHT)}, roles=ROLES),
        "people": figures.people_figure({"base": people, "chat": people}, roles=ROLES),
    }
    ax = made["temperature"].axes[0]
    assert sum(type(c).__name__ in ("PolyCollection", "FillBetweenPolyCollection") for c in ax.collections) == 2
    whiskers = [c for c in made["size"].axes[0].collections if type(c).__name__ == "LineCollection"]
    assert [len(c.get_segments()) for c in whiskers] == [2]  # the n=8 point stands without one ...
    assert any(t.get_text() == "n=8" for t in made["size"].axes[0].texts)  # ... and says its n
    whiskers = [c for c in made["bars"].axes[0].collections if type(c).__name__ == "LineCollection"]
    assert [len(c.get_segments()) for c in whiskers] == [2, 2]
    assert made["people"].axes[0].get_title(loc="left") == "r = 0.800 [0.600, 0.900]"
    assert made["pooled"].axes[0].get_xscale() == "log" and len(made["people"].axes) == 2


def test_roles_fix_the_colours_and_refuse_others():
    assert run_looks(["x", "c", "b"], {"c": "chat", "b": "base"}) == {
        "x": ("#009E73", "^"), "c": (ROLE_COLORS["chat"], "s"), "b": (ROLE_COLORS["base"], "o")}
    with pytest.raises(ValueError, match="roles must be 'base' or 'chat'"):
        run_looks(["x"], {"x": "instruct"})
    with pytest.raises(ValueError, match="width must be one of"):
        figures.reliability_figure(STATS, width="a4")
