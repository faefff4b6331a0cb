"""The shared text forms of tasks/reporting.py: the comparison caption's small-n rules, a difference near zero."""
from __future__ import annotations

from calibkit.stats.bootstrap import MIN_ITEMS
from calibkit.stats.paired import MIN_TEST_ITEMS
from calibkit.tasks.reporting import comparison_caption, comparison_line, interval_text


def test_the_caption_states_both_small_n_rules():
    """No interval below MIN_ITEMS (20), but the exact permutation test's p-value from MIN_TEST_ITEMS (6) on."""
    text = comparison_caption(what="couplets")
    assert text.endswith(f"n: the couplets behind each row; below {MIN_ITEMS} there is no interval ('note' says "
                         f"so), and below {MIN_TEST_ITEMS} no p-value either.")
    assert "no interval and no p-value" not in text


def test_a_value_that_rounds_to_zero_prints_without_a_minus():
    """-0.0001 is +0.000 (signed) or 0.000, never -0.000; -0.0006 stays -0.001."""
    assert interval_text(-0.0001, -0.0204, 0.0101, n=30, signed=True) == "+0.000 [-0.020, +0.010] n=30"
    assert interval_text(-0.0004, -0.0003, -0.0001, signed=True) == "+0.000 [+0.000, +0.000]"
    assert interval_text(-0.0001) == "0.000" and interval_text(-0.0006, signed=True) == "-0.001"
    small = {"run": "chat", "estimate": 0.5, "note": "n too small for an interval (n=8 < 20)", "difference": -1e-5,
             "p_value": 1.0, "test": "exact sign-flip (2^8 swaps)"}
    assert comparison_line(small, width=4) == ("  chat 0.500  diff +0.000  [n too small for an interval (n=8 < 20)] "
                                               "p=1 by exact sign-flip (2^8 swaps)")


def test_pages_put_each_estimate_and_its_interval_in_one_cell():
    """Issue 27: a page's table shows `0.548 [0.436, 0.640]` in one cell (the paper's format, three decimals),
    the difference signed, the small-n estimate with its n; the numbers themselves stay in the frame."""
    import math

    import pandas as pd

    from calibkit.tasks.reporting import DIFFERENCE_CELL, ESTIMATE_CELL, ci_columns, page_table

    comparison = pd.DataFrame([
        {"run": "base", "metric": "ece", "estimate": 0.5482, "low": 0.4359, "high": 0.64, "n": 40, "note": None,
         "difference": math.nan, "diff_low": math.nan, "diff_high": math.nan, "p_value": math.nan, "test": None},
        {"run": "chat", "metric": "ece", "estimate": 0.5, "low": 0.4, "high": 0.61, "n": 40, "note": None,
         "difference": -0.0482, "diff_low": -0.1, "diff_high": 0.00004, "p_value": 0.0004, "test": "permutation"},
    ])
    shown = page_table(comparison, drop=["metric"])
    assert list(shown.columns) == ["run", ESTIMATE_CELL, "n", DIFFERENCE_CELL, "p_value", "test"]
    assert shown[ESTIMATE_CELL].tolist() == ["0.548 [0.436, 0.640]", "0.500 [0.400, 0.610]"]
    assert shown[DIFFERENCE_CELL].tolist() == ["–", "-0.048 [-0.100, +0.000]"]
    assert pd.isna(shown["p_value"][0]) and shown["p_value"][1] == "< 0.001"  # three decimals show no more
    # a ci_columns table below the small-n rule: the estimate with its n, never a bare 0 beside 0.5000
    small = pd.DataFrame([{"rate": "abstention", **ci_columns({"estimate": 0.5, "low": 0.2, "high": 0.8, "n": 12,
                                                               "note": "n too small"})},
                          {"rate": "share", **ci_columns({"estimate": 0})}])
    assert page_table(small)[ESTIMATE_CELL].tolist() == ["0.500 (n=12)", "0.000"]
    # named ends (Herbstritt-Franke's "r low"/"r high") and "X low"/"X high" columns
    hf = pd.DataFrame([{"Pearson r": 0.15634, "r low": 0.119, "r high": 0.192, "log-prob": -1.23456,
                        "log-prob low": -1.5, "log-prob high": -1.0}])
    from calibkit.tasks.reporting import interval_cells

    one = interval_cells(hf, ends={"Pearson r": ("r low", "r high")})
    assert one.to_dict(orient="records") == [{"Pearson r": "0.156 [0.119, 0.192]",
                                              "log-prob": "-1.235 [-1.500, -1.000]"}]
