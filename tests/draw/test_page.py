"""Tests for calibkit.draw.page: a safe, self-contained, atomically written HTML page."""
from __future__ import annotations

import os
import re
import stat

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

import calibkit.files
from calibkit.draw import page as report_module
from calibkit.draw.page import MISSING, Report, write_atomic

EVIL = '<script>alert("x")</script>'
EVIL_ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
BUNDLE_HEAD = get_plotlyjs()[:400]  # the plotly.js licence header and the start of the bundle


def small_figure(title: str) -> go.Figure:
    return go.Figure(go.Scatter(x=[0, 1], y=[1, 0], name="line"), layout=dict(title=title))


def cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html)


def test_every_user_string_is_escaped():
    page = (
        Report(EVIL, subtitle=EVIL)
        .add_header({EVIL: EVIL}, title=EVIL)
        .add_text(f"first {EVIL}\n\nsecond & last", title=EVIL)
        .add_table(EVIL, pd.DataFrame({EVIL: [EVIL, "a & b"]}), caption=EVIL)
        .add_figure(EVIL, small_figure("fig"), caption=EVIL)
        .to_html()
    )
    assert "<script>alert" not in page
    # <title>, h1, subtitle, header key and value, 4 section headings and their 4 contents
    # entries, the text, the table's column name and cell, and 2 captions.
    assert page.count(EVIL_ESCAPED) == 18
    assert "<p>second &amp; last</p>" in page
    assert "<td>a &amp; b</td>" in page


def test_plotly_js_is_inlined_exactly_once():
    r = Report("Figures")
    for i in range(3):
        r.add_figure(f"Figure {i}", small_figure(f"f{i}"))
    page = r.to_html()
    assert page.count(BUNDLE_HEAD) == 1
    assert page.count("Plotly.newPlot(") == 3
    assert page.index(BUNDLE_HEAD) < page.index("Plotly.newPlot(")
    assert "<script src=" not in page
    assert [m for m in re.findall(r'id="(figure-\d+)"', page)] == ["figure-1", "figure-2", "figure-3"]
    # No figures, no plotly.js.
    assert BUNDLE_HEAD not in Report("Text only").add_text("hello").to_html()


def test_page_is_deterministic_and_offline():
    r = Report("Run").add_header({"model": "gpt2"}).add_figure("F", small_figure("f"))
    page = r.to_html()
    assert page == r.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    # No external stylesheet, font or script.
    assert not re.search(r'<link\b|@import|url\(|src="http', page.split(BUNDLE_HEAD)[0])


def test_added_figure_is_a_snapshot():
    fig = small_figure("before")
    r = Report("R").add_figure("F", fig)
    fig.update_layout(title="after")
    assert '"text":"before"' in r.to_html().replace(" ", "")


def test_table_numbers_are_formatted_per_column():
    frame = pd.DataFrame(
        {
            "metric": ["ECE", "Brier", "NLL"],
            "value": [0.05234, 0.1234, np.nan],
            "big": [12345.6, 2.0, 3.25],
            "tiny": [1.5e-9, 2e-10, 0.0],
            "n": [14042, 100, 7],
            "ok": [True, False, True],
        }
    )
    html = Report("T").add_table("Summary", frame).to_html()
    got = cells(html)
    assert got[0:6] == ["ECE", "0.0523", "12,346", "1.500e-09", "14,042", "true"]
    assert got[6:12] == ["Brier", "0.1234", "2", "2.000e-10", "100", "false"]
    assert got[12:18] == ["NLL", MISSING, "3", "0.000e+00", "7", "true"]
    assert '<td class="num">0.0523</td>' in html
    assert f'<td class="na">{MISSING}</td>' in html
    assert '<th class="num" scope="col">value</th>' in html
    assert '<th scope="col">metric</th>' in html


def test_table_digits_and_index():
    frame = pd.DataFrame({"ece": [0.5, 0.25]}, index=pd.Index(["abstract_algebra", "anatomy"], name="subject"))
    html = Report("T").add_table("By subject", frame, digits=2).to_html()
    assert cells(html) == ["abstract_algebra", "0.50", "anatomy", "0.25"]
    assert '<th scope="col">subject</th>' in html
    # The default 0..n-1 index is not shown.
    plain = Report("T").add_table("Plain", pd.DataFrame({"a": [1, 2]})).to_html()
    assert cells(plain) == ["1", "2"]


def test_table_from_rows_and_object_columns():
    rows = [{"model": "a", "ece": 0.1, "n": 3}, {"model": "b", "ece": None, "note": "x"}]
    html = Report("T").add_table("Rows", rows).to_html()
    headers = re.findall(r"<th\b[^>]*>(.*?)</th>", html)
    assert headers == ["model", "ece", "n", "note"]
    assert cells(html) == ["a", "0.1000", "3", MISSING, "b", MISSING, MISSING, "x"]
    mixed = Report("T").add_table("Mixed", pd.DataFrame({"v": [1, 0.123456, "text", None]}, dtype=object)).to_html()
    assert cells(mixed) == ["1", "0.1235", "text", MISSING]
    empty = Report("T").add_table("Empty", []).to_html()
    assert "(empty table)" in empty
    no_rows = Report("T").add_table("No rows", pd.DataFrame({"a": []})).to_html()
    assert "(no rows)" in no_rows


def test_header_fields_and_sections():
    page = Report("R").add_header({"items": 14042, "ece": 0.0523412, "model": "llama"}).to_html()
    assert "<dt>items</dt><dd>14,042</dd>" in page
    assert "<dt>ece</dt><dd>0.0523412</dd>" in page
    r = Report("R").add_text("a", title="Same").add_text("b", title="Same").add_text("c", title="Other").add_text("d")
    page = r.to_html()
    assert re.findall(r'<section id="([^"]+)"', page) == ["sec-same", "sec-same-2", "sec-other", "sec-section-4"]
    assert '<a href="#sec-same-2">Same</a>' in page  # a contents list appears from three titled sections


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda r: r.add_table("T", "not a table"), "table must be a pandas DataFrame"),
        (lambda r: r.add_table("T", [1, 2]), "table rows must be mappings"),
        (lambda r: r.add_table("T", [], digits=0), "digits must be an integer"),
        (lambda r: r.add_figure("F", {"data": []}), "fig must be a plotly"),
        (lambda r: r.add_header([("a", 1)]), "fields must be a mapping"),
        (lambda r: r.add_text(3), "text must be a non-empty string"),
        (lambda r: r.add_text("x", title=""), "title must be a non-empty string"),
    ],
)
def test_bad_input_is_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call(Report("R"))
    with pytest.raises(ValueError, match="title must be a non-empty string"):
        Report("  ")


def test_save_writes_atomically(tmp_path):
    target = tmp_path / "runs" / "report.html"
    r = Report("R").add_text("new")
    assert r.save(target) == target
    assert target.read_text(encoding="utf-8") == r.to_html()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o640)
    seen = []

    def broken_replace(src, dst):
        seen.append((os.path.dirname(src), os.path.exists(src)))
        raise OSError("disk full")

    monkeypatch.setattr(calibkit.files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        Report("R").add_text("new").save(target)
    assert target.read_text(encoding="utf-8") == "old"
    assert seen == [(str(tmp_path), True)]  # the temporary file sat next to the target
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # and was cleaned up
    monkeypatch.undo()
    write_atomic(target, b"new bytes")
    assert target.read_bytes() == b"new bytes"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # a replaced file keeps its permissions


def test_marked_text_shades_marks_and_escapes():
    from calibkit.draw.page import Marked

    html_page = Report("t").add_marked_text("Answers", [
        ("Q <1>", [Marked("The"), Marked(" "), Marked("<b>Paris</b>", shade=0.5, marked=True, note='a "note"'),
                   Marked(" x", shade=2.0), Marked(" y", shade=float("nan"))]),
    ]).to_html()
    body = html_page.split("<h2>Answers</h2>")[1].split("</section>")[0]
    assert "Q &lt;1&gt;" in body and "&lt;b&gt;Paris&lt;/b&gt;" in body and "<b>" not in body
    assert ('<span style="background: rgba(214, 39, 40, 0.375); border-bottom: 2px solid #1f4e9c" '
            'title="a &quot;note&quot;">') in body
    assert "rgba(214, 39, 40, 0.750)" in body  # a shade above 1 is clipped
    assert 'The <span style="background: rgba(214, 39, 40, 0.375)' in body and " y</div>" in body  # NaN: plain
    assert "(no passages)" in Report("t").add_marked_text(None, []).to_html()
