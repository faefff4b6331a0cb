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
