"""Tests for calibkit.draw.plots: the figures draw exactly the statistics they are given."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plotly.offline import get_plotlyjs

from calibkit.draw import export, plots
from calibkit.draw.plots import (
    PALETTE,
    StaticExportError,
    pooled_calibration_chart,
    reliability_diagram,
    risk_coverage_curve,
    save_figure,
    temperature_curve,
)
from calibkit.stats.binning import BinStats, bin_stats
from calibkit.stats.metrics import risk_coverage

# 7 items in 5 equal-width bins; bin [0.2, 0.4) is empty.
CONF = [0.15, 0.18, 0.55, 0.62, 0.95, 0.97, 1.0]
CORRECT = [0, 1, 1, 0, 1, 1, 1]


@pytest.fixture()
def stats() -> BinStats:
    return bin_stats(CONF, CORRECT, n_bins=5)


@pytest.fixture()
def other() -> BinStats:
    return bin_stats([0.1, 0.3, 0.35, 0.5, 0.9], [0, 0, 1, 1, 1], n_bins=5)


def trace(fig: go.Figure, name: str):
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, f"expected one trace named {name!r}, got {[t.name for t in fig.data]}"
    return found[0]


def shapes(fig: go.Figure) -> list:
    return list(fig.layout.shapes)


def rgb(color: str) -> tuple[int, int, int]:
    """'#0072B2' or 'rgba(0,114,178,0.3)' -> (0, 114, 178)."""
    if color.startswith("#"):
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(int(float(v)) for v in color[color.index("(") + 1 : -1].split(",")[:3])


# ---------------------------------------------------------------------------
# reliability_diagram


def test_reliability_single_run_draws_non_empty_bins_exactly(stats):
    fig = reliability_diagram(stats, ece=0.12345)
    assert [t.name for t in fig.data] == ["perfect calibration", "accuracy gap", "accuracy", "count"]
    acc = trace(fig, "accuracy")
    # Hand-computed: bins [0,.2) {.15,.18}, [.4,.6) {.55}, [.6,.8) {.62}, [.8,1] {.95,.97,1}; [.2,.4) empty.
    np.testing.assert_allclose(acc.x, [0.165, 0.55, 0.62, (0.95 + 0.97 + 1.0) / 3], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(acc.y, [0.5, 1.0, 0.0, 1.0])
    keep = stats.count > 0
    np.testing.assert_array_equal(acc.x, stats.mean_confidence[keep])
    np.testing.assert_array_equal(acc.y, stats.accuracy[keep])
    assert not np.isnan(np.asarray(acc.x, dtype=float)).any()
    # Wilson bars reach exactly the interval ends.
    np.testing.assert_allclose(np.asarray(acc.y) + acc.error_y.array, stats.accuracy_high[keep], atol=1e-15)
    np.testing.assert_allclose(np.asarray(acc.y) - acc.error_y.arrayminus, stats.accuracy_low[keep], atol=1e-15)
    # Histogram: one bar per non-empty bin, centred on it, as wide as it, as tall as its count.
    bars = trace(fig, "count")
    np.testing.assert_array_equal(bars.y, [2, 1, 1, 3])
    np.testing.assert_allclose(bars.x, [0.1, 0.5, 0.7, 0.9], atol=1e-12)
    np.testing.assert_allclose(bars.width, [0.2] * 4, atol=1e-12)
    assert bars.xaxis == "x2" and bars.yaxis == "y2"
    assert "ECE = 0.123" in fig.layout.title.text


def test_reliability_gap_rectangles_span_accuracy_to_confidence(stats):
    gap = trace(reliability_diagram(stats), "accuracy gap")
    assert gap.fill == "toself"
    x = np.asarray(gap.x, dtype=float).reshape(-1)
    y = np.asarray(gap.y, dtype=float).reshape(-1)
    # Four rectangles of five corners each, separated by NaN.
    pieces = np.split(np.column_stack([x, y]), np.flatnonzero(np.isnan(x)))
    pieces = [p[~np.isnan(p[:, 0])] for p in pieces]
    assert len(pieces) == 4
    keep = stats.count > 0
    for piece, lo, hi, acc, conf in zip(
        pieces, stats.edges[:-1][keep], stats.edges[1:][keep], stats.accuracy[keep], stats.mean_confidence[keep]
    ):
        assert set(piece[:, 0]) == {lo, hi}
        assert set(piece[:, 1]) == {acc, conf}


def test_reliability_empty_bins_are_absent_not_zero():
    empty_middle = BinStats(
        edges=np.array([0.0, 0.5, 1.0]),
        count=np.array([0, 4]),
        mean_confidence=np.array([np.nan, 0.8]),
        accuracy=np.array([np.nan, 0.75]),
        accuracy_low=np.array([np.nan, 0.3]),
        accuracy_high=np.array([np.nan, 0.95]),
        n_items=4,
        strategy="uniform",
    )
    fig = reliability_diagram(empty_middle)
    assert list(trace(fig, "accuracy").x) == [0.8]
    assert list(trace(fig, "accuracy").y) == [0.75]
    assert list(trace(fig, "count").y) == [4]


def test_reliability_overlaid_runs_keep_their_colour(stats, other):
    fig = reliability_diagram({"llama-2-7b": stats, "llama-2-7b-chat": other}, ece={"llama-2-7b": 0.2, "llama-2-7b-chat": 0.0456})
    a = trace(fig, "llama-2-7b (ECE = 0.200)")
    b = trace(fig, "llama-2-7b-chat (ECE = 0.046)")
    for label, line, color in (("llama-2-7b", a, PALETTE[0]), ("llama-2-7b-chat", b, PALETTE[1])):
        assert line.line.color == color
        assert rgb(trace(fig, f"{label} gap").fillcolor) == rgb(color)
        assert trace(fig, f"{label} count").marker.line.color == color
        assert {t.legendgroup for t in fig.data if t.name.startswith(label + " ") or t is line} == {label}
    np.testing.assert_array_equal(b.x, other.mean_confidence[other.count > 0])
    np.testing.assert_array_equal(trace(fig, "llama-2-7b-chat count").y, other.count[other.count > 0])
    # Side by side: run 0 takes the left half of each bin, run 1 the right half.
    np.testing.assert_allclose(trace(fig, "llama-2-7b count").width, [0.1] * 4, atol=1e-12)
    np.testing.assert_allclose(trace(fig, "llama-2-7b count").x, [0.05, 0.45, 0.65, 0.85], atol=1e-12)
    np.testing.assert_allclose(trace(fig, "llama-2-7b-chat count").x[:2], [0.15, 0.35], atol=1e-12)
    # The same run gets the same colour in another figure.
    pooled = pooled_calibration_chart({"llama-2-7b": stats, "llama-2-7b-chat": other})
    assert trace(pooled, "llama-2-7b-chat").line.color == PALETTE[1]


def test_reliability_options(stats):
    fig = reliability_diagram(stats, band="none", show_histogram=False, title="MMLU")
    assert trace(fig, "accuracy").error_y.array is None
    assert not [t for t in fig.data if isinstance(t, go.Bar)]
    assert fig.layout.title.text == "MMLU"
    assert fig.layout.xaxis.title.text == "confidence"


def test_figures_ignore_the_global_template(stats, monkeypatch):
    monkeypatch.setattr(pio.templates, "default", "plotly_dark")
    fig = reliability_diagram(stats)
    assert fig.layout.template.layout.paper_bgcolor is None
    assert fig.layout.plot_bgcolor == "white"
    assert fig.to_dict()["layout"]["template"].get("layout", {}) == {}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"band": "bootstrap"}, "band must be one of"),
        ({"ece": {"a": 0.1}}, "ece must be a number when one run"),
        ({"ece": float("nan")}, "ece must be finite"),
        ({"ece": "0.1"}, "ece must be a number"),
        ({"show_histogram": "yes"}, "show_histogram"),
    ],
)
def test_reliability_rejects_bad_options(stats, kwargs, match):
    with pytest.raises(ValueError, match=match):
        reliability_diagram(stats, **kwargs)


def test_reliability_rejects_bad_stats(stats):
    with pytest.raises(ValueError, match="stats must be a BinStats"):
        reliability_diagram([0.1, 0.2])
    with pytest.raises(ValueError, match="stats must not be an empty mapping"):
        reliability_diagram({})
    with pytest.raises(ValueError, match=r"stats\['b'\] must be a BinStats"):
        reliability_diagram({"a": stats, "b": None})
    with pytest.raises(ValueError, match="ece must be a mapping"):
        reliability_diagram({"a": stats}, ece=0.1)
    with pytest.raises(ValueError, match="ece has labels that are not among the runs: 'c'"):
        reliability_diagram({"a": stats}, ece={"c": 0.1})
    broken = BinStats(
        edges=np.array([0.0, 1.0]), count=np.array([1, 1]), mean_confidence=np.array([0.5, 0.6]),
        accuracy=np.array([1.0, 0.0]), accuracy_low=np.array([0.2, 0.0]), accuracy_high=np.array([1.0, 0.8]),
        n_items=2, strategy="uniform",
    )
    with pytest.raises(ValueError, match="stats is inconsistent"):
        reliability_diagram(broken)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.0, 1.0), st.booleans()), min_size=1, max_size=40),
    st.integers(1, 12),
    st.sampled_from(["uniform", "quantile"]),
)
def test_reliability_points_are_the_non_empty_bins(pairs, n_bins, strategy):
    conf, correct = zip(*pairs)
    s = bin_stats(np.array(conf), np.array(correct), n_bins=n_bins, strategy=strategy)
    fig = reliability_diagram(s)
    keep = s.count > 0
    np.testing.assert_array_equal(trace(fig, "accuracy").x, s.mean_confidence[keep])
    np.testing.assert_array_equal(trace(fig, "accuracy").y, s.accuracy[keep])
    assert int(np.sum(trace(fig, "count").y)) == s.n_items


# ---------------------------------------------------------------------------
# pooled_calibration_chart


def test_pooled_chart_linear_and_log():
    s = bin_stats([0.0, 0.0, 0.02, 0.1, 0.3, 0.9], [0, 0, 0, 1, 0, 1], n_bins=3, strategy="quantile")
    keep = s.count > 0
    fig = pooled_calibration_chart(s, ece=0.05)
    assert [t.name for t in fig.data] == ["perfect calibration", "options"]
    np.testing.assert_array_equal(trace(fig, "options").x, s.mean_confidence[keep])
    np.testing.assert_array_equal(trace(fig, "options").y, s.accuracy[keep])
    assert fig.layout.xaxis.type == "linear"
    assert "ECE = 0.050" in fig.layout.title.text

    log = pooled_calibration_chart(s, x_scale="log", band="none")
    assert log.layout.xaxis.type == "log"
    # The bin of the two zeros (mean probability 0) has no place on a log axis.
    assert s.mean_confidence[0] == 0.0
    np.testing.assert_array_equal(trace(log, "options").x, s.mean_confidence[keep][1:])
    diagonal = trace(log, "perfect calibration")
    np.testing.assert_allclose(diagonal.x, diagonal.y)
    assert min(diagonal.x) > 0
    with pytest.raises(ValueError, match="x_scale must be one of"):
        pooled_calibration_chart(s, x_scale="logit")


# ---------------------------------------------------------------------------
# temperature_curve


def sweep_table(scale: float = 1.0) -> pd.DataFrame:
    t = pd.DataFrame({"temperature": [2.0, 0.5, 1.0, 4.0]})
    t["accuracy"] = 0.6
    for i, m in enumerate(("ece", "brier", "nll")):
        t[m] = scale * np.array([0.10, 0.30, 0.20, 0.15]) + i
        t[f"{m}_low"] = t[m] - 0.05
        t[f"{m}_high"] = t[m] + 0.05
    return t


def test_temperature_curve_draws_metric_band_and_marks():
    fig = temperature_curve(sweep_table(), metric="brier", fitted_temperature=1.7)
    band, line = fig.data
    np.testing.assert_array_equal(line.x, [0.5, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(line.y, [1.30, 1.20, 1.10, 1.15])
    np.testing.assert_array_equal(band.x, [0.5, 1.0, 2.0, 4.0, 4.0, 2.0, 1.0, 0.5])
    np.testing.assert_allclose(band.y, [1.35, 1.25, 1.15, 1.20, 1.10, 1.05, 1.15, 1.25])
    assert band.fill == "toself"
    (fitted, mark) = shapes(fig)
    assert (fitted.x0, fitted.x1, fitted.name) == (1.7, 1.7, "fitted T = 1.70")
    assert (mark.x0, mark.x1, mark.name) == (2.5, 2.5, "T = 2.5")
    assert (fitted.yref, fitted.y0, fitted.y1) == ("paper", 0, 1)
    assert fig.layout.yaxis.title.text == "Brier score"


def test_temperature_curve_overlays_and_named_marks():
    sweeps = {"base": sweep_table(), "chat": sweep_table(2.0)}
    fig = temperature_curve(sweeps, fitted_temperature={"chat": 2.2}, marks={"Kadavath et al.": 2.5}, x_scale="log")
    assert trace(fig, "chat").line.color == PALETTE[1]
    assert rgb(trace(fig, "chat 95% interval").fillcolor) == rgb(PALETTE[1])
    fitted, mark = shapes(fig)
    assert fitted.name == "chat: fitted T = 2.20" and fitted.line.color == PALETTE[1] and fitted.x0 == 2.2
    assert mark.name == "Kadavath et al." and mark.x0 == 2.5
    assert fig.layout.xaxis.type == "log"
    assert list(fig.layout.xaxis.ticktext) == ["0.5", "1", "2", "4"]


def test_temperature_curve_skips_missing_values():
    t = sweep_table()
    t.loc[1, "ece"] = np.nan  # the T = 0.5 row
    t.loc[0, "ece_low"] = np.nan  # the T = 2 row has no lower bound
    band, line = temperature_curve(t, marks=()).data
    np.testing.assert_array_equal(line.x, [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(band.x, [1.0, 4.0, 4.0, 1.0])


def test_estimates_below_the_small_n_rule_are_drawn_without_whiskers_and_say_why():
    note = "n too small for an interval (n=8 < 20)"
    table = pd.DataFrame({"benchmark": ["arc", "boolq"], "model": ["base", "base"], "estimate": [0.3, 0.6],
                          "low": [0.2, np.nan], "high": [0.4, np.nan], "n": [120, 8], "note": [None, note]})
    bar = plots.benchmark_chart(table, metric="ece")
    (trace_,) = bar.data
    # no whisker and no cap on the 8-item bar: NaN, which plotly draws as nothing (0 would draw a cap)
    np.testing.assert_allclose(trace_.error_y.array, [0.1, np.nan])
    assert list(trace_.text) == ["", "n=8"] and list(trace_.customdata) == ["[0.2000, 0.4000] n=120", note]
    assert bar.layout.annotations[0].text == f"no interval drawn: {note}"
    sizes = plots.size_curve({"chat": table.assign(n_parameters=[7e9, 13e9])}, metric="ece")
    assert list(sizes.data[0].text) == ["", "n=8"] and sizes.layout.annotations[0].text.endswith(note)
    sweep = sweep_table().assign(n=8, note=note, ece_low=np.nan, ece_high=np.nan)
    band, line = temperature_curve(sweep, marks=()).data
    assert len(band.x) == 0 and set(line.customdata) == {note}
    assert temperature_curve(sweep, marks=()).layout.annotations[0].text == f"no interval drawn: {note}"
    # without n or note columns a chart is drawn as before, with no annotation
    assert not plots.benchmark_chart(table.drop(columns=["n", "note"]), metric="ece").layout.annotations


@pytest.mark.parametrize(
    ("sweep", "kwargs", "match"),
    [
        (sweep_table().drop(columns=["nll_high"]), {"metric": "nll"}, "missing the column.*nll_high"),
        (sweep_table(), {"metric": "accuracy"}, "metric must be one of"),
        (sweep_table(), {"fitted_temperature": -1.0}, "fitted_temperature must be positive"),
        (sweep_table(), {"marks": "2.5"}, "marks must be a sequence"),
        (sweep_table(), {"marks": (0.0,)}, "marks must be positive"),
        ({"a": sweep_table()}, {"fitted_temperature": 1.5}, "fitted_temperature must be a mapping"),
        (sweep_table().iloc[:0], {}, "sweep has no rows"),
        ([1, 2], {}, "sweep must be a pandas DataFrame"),
    ],
)
def test_temperature_curve_rejects_bad_input(sweep, kwargs, match):
    with pytest.raises(ValueError, match=match):
        temperature_curve(sweep, **kwargs)


# ---------------------------------------------------------------------------
# risk_coverage_curve


def test_risk_coverage_curve():
    rc = risk_coverage([0.9, 0.8, 0.7], [1, 0, 1])
    fig = risk_coverage_curve(rc)
    (line,) = fig.data
    np.testing.assert_allclose(line.x, [1 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(line.y, [1.0, 0.5, 2 / 3])
    assert "AURC = 0.278" in fig.layout.title.text  # (0 + 1/2 + 1/3) / 3

    two = risk_coverage_curve({"a": rc, "b": risk_coverage([0.6, 0.6, 0.9], [0, 1, 1])})
    # b: 0.9 is right; then a tie at 0.6 (one right, one wrong) whose risk averages over both
    # orders: (0 + (1/2 + 0) / 2 + 1/3) / 3 = 0.194.
    assert [t.name for t in two.data] == ["a (AURC = 0.278)", "b (AURC = 0.194)"]
    assert [t.line.color for t in two.data] == list(PALETTE[:2])
    with pytest.raises(ValueError, match=r"rc\['b'\] must be a RiskCoverage"):
        risk_coverage_curve({"a": rc, "b": 0.3})


# ---------------------------------------------------------------------------
# save_figure


def test_save_figure_html_is_self_contained(stats, tmp_path):
    path = save_figure(reliability_diagram(stats), tmp_path / "out" / "fig.html")
    text = path.read_text(encoding="utf-8")
    bundle = get_plotlyjs()
    assert text.startswith("<html>") or text.lstrip().lower().startswith(("<html", "<!doctype"))
    assert bundle[:400] in text and text.count(bundle[:400]) == 1
    assert "<script src=" not in text
    # The only cdn.plot.ly inside is plotly.js's own default topojson URL (for geo maps), never a script source.
    assert text.count("cdn.plot.ly") == bundle.count("cdn.plot.ly")
    assert [p.name for p in path.parent.iterdir()] == ["fig.html"]


def test_save_figure_png_works_or_says_how(stats, tmp_path):
    path = tmp_path / "fig.png"
    try:
        save_figure(reliability_diagram(stats), path, width=500, height=400, scale=1)
    except StaticExportError as err:
        assert "pip install kaleido" in str(err)
        assert "Chrome" in str(err)
        assert not path.exists()
    else:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_figure_without_kaleido_raises_clear_error(stats, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(export.importlib.util, "find_spec", lambda name, *a: None if name == "kaleido" else real(name, *a))
    with pytest.raises(StaticExportError, match="kaleido is not installed.*pip install kaleido") as info:
        save_figure(reliability_diagram(stats), tmp_path / "fig.svg")
    assert "never downloads a browser" in str(info.value)
    assert not (tmp_path / "fig.svg").exists()


def test_save_figure_wraps_a_missing_browser(stats, tmp_path, monkeypatch):
    def no_chrome(*args, **kwargs):
        raise RuntimeError("Kaleido requires Google Chrome to be installed.")

    monkeypatch.setattr(export.importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setattr(export.pio, "to_image", no_chrome)
    with pytest.raises(StaticExportError, match="static export to pdf failed: Kaleido requires Google Chrome") as info:
        save_figure(reliability_diagram(stats), tmp_path / "fig.pdf")
    assert "apt-get install chromium" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert list(tmp_path.iterdir()) == []


def test_save_figure_rejects_unknown_format(stats, tmp_path):
    with pytest.raises(ValueError, match="path must end in .html"):
        save_figure(reliability_diagram(stats), tmp_path / "fig.jpg")
    with pytest.raises(ValueError, match="fig must be a plotly"):
        save_figure({"data": []}, tmp_path / "fig.html")


# ---------------------------------------------------------------------------
# Error bars with no interval, margins for axis titles, log axes that start at a labelled tick


def _bar_table(low, high, dtype=None):
    table = pd.DataFrame({"benchmark": ["arc", "boolq", "mmlu"], "model": ["base"] * 3, "estimate": [0.3, 0.6, 0.5],
                          "low": low, "high": high})
    return table.astype({"low": dtype, "high": dtype}) if dtype else table


@pytest.mark.parametrize("dtype", [None, "Float64"])  # NaN in a float column; pandas' NA in a nullable one
def test_a_bar_whose_interval_is_nan_draws_no_whisker_or_cap(dtype):
    table = _bar_table([0.2, np.nan, 0.45], [0.4, np.nan, np.nan], dtype)  # boolq: no CI; mmlu: half a CI
    for fig in (plots.benchmark_chart(table, metric="ece"),
                plots.size_curve({"chat": table.assign(n_parameters=[7e9, 13e9, 70e9])}, metric="ece")):
        err = fig.data[0].error_y
        # NaN on both sides draws nothing; a zero there would draw a cap that reads as a tight interval
        np.testing.assert_allclose(err.array, [0.1, np.nan, np.nan])
        np.testing.assert_allclose(err.arrayminus, [0.1, np.nan, np.nan])
        assert list(fig.data[0].customdata) == ["[0.2000, 0.4000]", "no interval", "no interval"]
        assert json.loads(fig.to_json())["data"][0]["error_y"]["width"] > 0  # the figure serialises (no crash)


def test_margins_leave_room_for_axis_titles_at_the_default_sizes(stats):
    """Left: tick, 7 characters of tick label (0.5 em each), standoff, a 1.6 em title line; bottom: one row."""
    sweep = sweep_table()
    figures = [reliability_diagram(stats), pooled_calibration_chart(stats), temperature_curve(sweep),
               risk_coverage_curve(risk_coverage(CONF, CORRECT)),
               plots.benchmark_chart(_bar_table([0.2] * 3, [0.4] * 3), metric="ece")]
    for fig in figures:
        font = fig.layout.font.size
        axes = [fig.layout[k] for k in fig.layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]
        assert all(ax.ticklen == 5 and ax.title.standoff == 8 for ax in axes)
        assert {k[0] for k in fig.layout.to_plotly_json() if k[1:5] == "axis" and fig.layout[k].title.text} == {"x", "y"}
        need_left = 5 + 7 * 0.5 * font + 8 + 1.6 * font
        need_bottom = 5 + 1.3 * font + 8 + 1.6 * font
        assert fig.layout.margin.l >= need_left and fig.layout.margin.b >= need_bottom, fig.layout.title.text


def test_log_size_axis_starts_at_a_labelled_tick():
    # 160M .. 2.8B: plotly began the axis just below 160M, so its first label was a bare "2" (200M)
    table = pd.DataFrame({"n_parameters": [1.6e8, 4.1e8, 1.4e9, 2.8e9], "estimate": [0.1] * 4, "low": [0.05] * 4,
                          "high": [0.15] * 4})
    x = plots.size_curve({"pythia": table}, metric="ece").layout.xaxis
    assert x.type == "log"
    assert list(x.tickvals) == [1e8, 2e8, 5e8, 1e9, 2e9, 5e9]
    assert list(x.ticktext) == ["100M", "200M", "500M", "1B", "2B", "5B"]
    assert x.range[0] < np.log10(1e8) < np.log10(1.6e8) and x.range[1] > np.log10(5e9)


def test_log_probability_and_temperature_axes_start_at_a_labelled_tick():
    s = bin_stats([0.004, 0.03, 0.2, 0.5, 0.9], [0, 0, 0, 1, 1], n_bins=5, strategy="quantile")
    x = pooled_calibration_chart(s, x_scale="log").layout.xaxis
    assert x.dtick == 1 and x.range[0] <= np.log10(1e-3) < np.log10(0.004)  # the decade 10^-3 is on the axis
    temps = np.geomspace(0.3, 8.0, 20)  # more Ts than get a label each
    sweep = pd.concat([sweep_table()] * 5, ignore_index=True).assign(temperature=temps)
    x = temperature_curve(sweep, x_scale="log").layout.xaxis
    assert x.tickvals[0] == 0.2 and x.ticktext[0] == "0.2" and x.range[0] < np.log10(0.2)
