"""Paper tables (calibkit.paper.tables): one table object, LaTeX (booktabs), Markdown and CSV."""
from __future__ import annotations

import io
import math

import pandas as pd
import pytest

from calibkit.paper.numbers import Cell
from calibkit.paper.tables import PValue, Table, comparison_table, to_csv, to_latex, to_markdown, write_table
from latex_compile import assert_compiles

TABLE = Table(
    name="mmlu-base-chat",
    columns=("metric", "base", "chat", "Δ chat − base", "p"),
    rows=(("ECE_10 & 100%", Cell(0.1234, 0.101, 0.1451, n=200), Cell(0.2, 0.15, 0.25, n=200),
           Cell(0.0766, 0.031, 0.12, n=200, signed=True), PValue(0.0004, "permutation (1,000 random swaps)")),
          ("accuracy", Cell(0.5, 0.4, 0.6, n=12), Cell(0.4, 0.3, 0.5, n=12),
           Cell(-0.1, -0.3, 0.1, n=12, signed=True), PValue(0.31, "exact sign-flip (2^12 swaps)"))),
    caption="Base vs chat on MMLU.",
)


def test_booktabs_latex_exact_text():
    assert to_latex(TABLE) == r"""\begin{table}[t]
\centering
\small
\begin{tabular}{lrrrr}
\toprule
metric & base & chat & $\Delta$ chat $-$ base & $p$ \\
\midrule
ECE\_\allowbreak{}10 \& 100\% & 0.123 [0.101, 0.145] & 0.200 [0.150, 0.250] & \textbf{+0.077 [+0.031, +0.120]} & $<$ 0.001 \\
accuracy & 0.500 ($n$=12) & 0.400 ($n$=12) & $-$0.100 ($n$=12) & 0.310 \\
\bottomrule
\end{tabular}
\caption{Base vs chat on MMLU.}
\label{tab:mmlu-base-chat}
\end{table}
"""


def test_markdown_bold_and_alignment():
    assert to_markdown(TABLE) == (
        "| metric | base | chat | Δ chat − base | p |\n"
        "| --- | ---: | ---: | ---: | ---: |\n"
        "| ECE_10 & 100% | 0.123 [0.101, 0.145] | 0.200 [0.150, 0.250] | **+0.077 [+0.031, +0.120]** | < 0.001 |\n"
        "| accuracy | 0.500 (n=12) | 0.400 (n=12) | -0.100 (n=12) | 0.310 |\n"
        "\nBase vs chat on MMLU.\n")


def test_csv_keeps_full_precision_and_withholds_small_n_bounds():
    frame = pd.read_csv(io.StringIO(to_csv(TABLE)))
    assert list(frame.columns[:5]) == ["metric", "base", "base_low", "base_high", "base_n"]
    assert frame.loc[0, "base"] == 0.1234 and frame.loc[0, "base_high"] == 0.1451 and frame.loc[0, "p"] == 0.0004
    assert frame.loc[0, "p_test"] == "permutation (1,000 random swaps)"
    assert math.isnan(frame.loc[1, "base_low"]) and frame.loc[1, "base_n"] == 12  # n=12: no interval, as printed


def test_a_paired_comparison_becomes_one_row_per_measure():
    frame = pd.DataFrame([
        {"run": "base", "metric": "ece", "estimate": 0.10, "low": 0.08, "high": 0.12, "n": 100, "note": None,
         "difference": math.nan, "diff_low": math.nan, "diff_high": math.nan, "p_value": math.nan, "test": None},
        {"run": "chat", "metric": "ece", "estimate": 0.25, "low": 0.2, "high": 0.3, "n": 100, "note": None,
         "difference": 0.15, "diff_low": 0.09, "diff_high": 0.21, "p_value": 0.001, "test": "permutation (999)"},
    ])
    table = comparison_table(frame, name="t")
    assert table.columns == ("metric", "base", "chat", "Δ chat − base", "p")
    assert table.rows[0][3] == Cell(0.15, 0.09, 0.21, n=100, signed=True) and table.rows[0][3].bold
    assert table.rows[0][4] == PValue(0.001, "permutation (999)") and "permutation (999)" in table.notes


def test_rows_must_match_the_header():
    with pytest.raises(ValueError, match="one per column"):
        Table(name="t", columns=("a", "b"), rows=(("x",),))
    with pytest.raises(ValueError, match="file stem"):
        Table(name="a b", columns=("a",), rows=())


def test_the_latex_compiles(tmp_path):
    write_table(TABLE, tmp_path)
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
                                      "\\begin{document}\n\\input{mmlu-base-chat.tex}\n\\end{document}\n")
    assert_compiles(tmp_path, "doc.tex")
