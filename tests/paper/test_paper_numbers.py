"""The one number format (calibkit.paper.numbers) on hand-made values."""
from __future__ import annotations

import math

import pytest

from calibkit.paper.numbers import Cell, cell_latex, cell_text, escape_latex, fixed, p_latex, p_text
from calibkit.stats.intervals import Interval, PairedDifference


def test_an_estimate_with_its_interval_at_one_precision():
    assert cell_text(Cell(0.1234, 0.101, 0.1451, n=200)) == "0.123 [0.101, 0.145]"
    assert cell_text(Cell(0.5, 0.0, 1.0, n=20)) == "0.500 [0.000, 1.000]"  # never "0" beside "0.5000"
    assert cell_text(Cell(0.5, 0.4, 0.6, n=200), show_n=True) == "0.500 [0.400, 0.600] n=200"


def test_below_the_small_n_rule_the_estimate_stands_alone_with_its_n():
    # 19 items: the interval exists in the input but is never printed (calibkit.stats.intervals.MIN_ITEMS = 20)
    assert cell_text(Cell(0.4123, 0.3, 0.5, n=19)) == "0.412 (n=19)"
    assert cell_text(Cell.of(Interval(0.25, math.nan, math.nan, 0.95, 0, n=4,
                                      note="n too small for an interval (n=4 < 20)"))) == "0.250 (n=4)"
    assert cell_text(Cell(0.25, 0.2, 0.3, n=20)) == "0.250 [0.200, 0.300]"


def test_differences_are_signed_and_never_minus_zero():
    assert fixed(-0.0004) == "0.000" and fixed(-0.0004, signed=True) == "+0.000"
    assert fixed(-0.0006, signed=True) == "-0.001" and fixed(0.0, signed=True) == "+0.000"
    assert cell_text(Cell(-0.0001, -0.0203, 0.0198, n=50, signed=True)) == "+0.000 [-0.020, +0.020]"
    assert cell_text(Cell(-0.04449, -0.0781, -0.0119, n=50, signed=True)) == "-0.044 [-0.078, -0.012]"


def test_bold_exactly_where_the_printed_interval_excludes_zero():
    excludes = Cell(-0.045, -0.078, -0.012, n=100, signed=True)
    touches = Cell(0.03, 0.0001, 0.06, n=100, signed=True)  # printed as +0.000: the reader sees 0 in it
    small = Cell(0.3, 0.2, 0.4, n=10, signed=True)  # no interval printed: nothing to exclude 0
    assert excludes.bold and not touches.bold and not small.bold
    assert not Cell(0.3, 0.2, 0.4, n=100).bold  # an estimate, not a difference
    assert cell_text(excludes, markup="markdown") == "**-0.045 [-0.078, -0.012]**"
    assert cell_text(excludes, markup="html") == "<strong>-0.045 [-0.078, -0.012]</strong>"
    assert cell_text(touches, markup="markdown") == "+0.030 [+0.000, +0.060]"


def test_p_values():
    assert [p_text(p) for p in (0.0126, 0.05, 0.001, 0.00099, 1.0)] == [
        "p = 0.013", "p = 0.050", "p = 0.001", "p < 0.001", "p = 1.000"]
    assert p_text(None) == p_text(math.nan) == ""
    assert p_text(0.0004, bare=True) == "< 0.001" and p_text(0.2, bare=True) == "0.200"
    assert p_text(0.03125, test="exact sign-flip (2^5 swaps)") == "p = 0.031 (exact sign-flip (2^5 swaps))"
    assert p_latex(0.0004) == "$p < 0.001$" and p_latex(0.0004, bare=True) == "$<$ 0.001"


def test_a_paired_difference_and_a_comparison_row_give_the_same_cell():
    d = PairedDifference(0.6, 0.5, 0.1, 0.04, 0.16, 0.0126, 1000, n=80)
    row = {"difference": 0.1, "diff_low": 0.04, "diff_high": 0.16, "low": 0.55, "high": 0.65, "n": 80,
           "note": None, "p_value": 0.0126}
    assert Cell.of_difference(d) == Cell.of_difference(row)
    assert cell_text(Cell.of_difference(d, with_p=True), markup="markdown") == "**+0.100 [+0.040, +0.160]**, p = 0.013"


def test_latex_cells_use_math_minus_and_textbf():
    assert cell_latex(Cell(-0.045, -0.078, -0.012, n=100, signed=True, p_value=0.0004)) == \
        r"\textbf{$-$0.045 [$-$0.078, $-$0.012]}, $p < 0.001$"
    assert cell_latex(Cell(0.5, None, None, n=8)) == "0.500 ($n$=8)"
    assert cell_latex(Cell(None)) == "--"


def test_latex_escaping_of_every_special_character():
    assert escape_latex(r"a_b & 50% #1 $x$ {y} ~ ^ \ <>") == \
        r"a\_b \& 50\% \#1 \$x\$ \{y\} \textasciitilde{} \textasciicircum{} \textbackslash{} \textless{}\textgreater{}"
    assert escape_latex("Δ chat − base, ρ") == r"$\Delta$ chat $-$ base, $\rho$"


def test_bad_markup_is_refused_by_name():
    with pytest.raises(ValueError, match="markup must be one of"):
        cell_text(Cell(0.1), markup="rtf")
