"""Pieces every task's run report uses: a run's label, its header fields, tables as JSON, and the one text
form of an interval, a p-value and a paired comparison.

Reads run folders (config.json) and computed tables; draws and computes nothing. Every interval printed by a
task comes out of :func:`interval_text` (n beside it; below the small-n rule the estimate with the marker in
place of the interval), every p-value out of :func:`p_text` (with the test that produced it), every comparison
out of :func:`comparison_text` (:func:`calibkit.stats.comparison.paired_comparison`'s table).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calibkit.paper.numbers import finite
from calibkit.runs.store import RunStore
from calibkit.runs.task import Outcome
from calibkit.stats.bootstrap import MIN_ITEMS
from calibkit.stats.comparison import HEADLINE
from calibkit.stats.paired import EXACT_MAX_ITEMS, MIN_TEST_ITEMS


def run_label(store: RunStore) -> str:
    """A short name for a run: its model, plus the folder hash."""
    cfg = store.config
    return f"{cfg.get('model', '?')} [{store.path.name}]"


def run_labels(stores: Sequence[RunStore]) -> list[str]:
    """Each run's model name; with the folder hash too when two runs share a model."""
    labels = [str(s.config.get("model", s.path.name)) for s in stores]
    if len(set(labels)) < len(labels):
        labels = [run_label(s) for s in stores]
    return labels


def run_header(store: RunStore, n: int, *, keys: Sequence[str]) -> dict[str, Any]:
    """A report's run header: task, model, n items, the config ``keys`` present, folder, versions."""
    cfg = store.config
    fields: dict[str, Any] = {"task": cfg.get("task"), "model": cfg.get("model"), "items": n}
    fields.update({key: cfg[key] for key in keys if key in cfg})
    fields["run folder"] = str(store.path)
    fields.update(cfg.get("versions") or {})
    return fields


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON objects, NaN as null."""
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


# --------------------------------------------------------------------------- intervals, p-values, comparisons


def _text(x: Any) -> str | None:
    """A non-empty string, or None (pandas turns a missing note into NaN)."""
    return x if isinstance(x, str) and x else None


def _fixed(x: float, form: str) -> str:
    """``x`` in the format ``form``, without the minus of a value that rounds to zero.

    A difference of -0.0001 printed as ``-0.000`` reads as a negative result; it is ``+0.000`` (signed) or
    ``0.000``.

    Example:
        >>> _fixed(-0.0001, "+.3f"), _fixed(-0.0001, ".3f"), _fixed(-0.0006, "+.3f")
        ('+0.000', '0.000', '-0.001')
    """
    text = f"{x:{form}}"
    if text.startswith("-") and float(text) == 0:
        return ("+" if "+" in form else "") + text[1:]
    return text


def interval_text(estimate: Any, low: Any = None, high: Any = None, *, n: Any = None, note: Any = None,
                  signed: bool = False) -> str:
    """An estimate with its interval and n, or with the small-n marker where the rule left the interval out.

    Example:
        >>> interval_text(0.4123, 0.38, 0.445, n=200)
        '0.412 [0.380, 0.445] n=200'
        >>> interval_text(0.4123, None, None, n=10, note="n too small for an interval (n=10 < 20)")
        '0.412 [n too small for an interval (n=10 < 20)]'
        >>> interval_text(float("nan"), n=0)
        '- n=0'
    """
    form = "+.3f" if signed else ".3f"
    value, lo, hi, marker = finite(estimate), finite(low), finite(high), _text(note)
    text = "-" if value is None else _fixed(value, form)
    if marker:
        return f"{text} [{marker}]"
    if value is not None and lo is not None and hi is not None:
        text += f" [{_fixed(lo, form)}, {_fixed(hi, form)}]"
    count = finite(n)
    return text if count is None else f"{text} n={int(count)}"


def iv_text(iv: Mapping[str, Any] | None) -> str:
    """:func:`interval_text` of an interval's JSON form (``Interval.to_json``: estimate, low, high, n, note)."""
    if not iv:
        return "-"
    return interval_text(iv.get("estimate"), iv.get("low"), iv.get("high"), n=iv.get("n"), note=iv.get("note"))


def p_text(p_value: Any, test: Any) -> str:
    """A p-value with the test that produced it; empty where there is none.

    Example:
        >>> p_text(0.0312, "permutation (1,000 random swaps)"), p_text(float("nan"), None)
        ('p=0.0312 by permutation (1,000 random swaps)', '')
    """
    p = finite(p_value)
    if p is None:
        return ""
    return f"p={p:.3g}" + (f" by {_text(test)}" if _text(test) else "")


def ci_columns(iv: Mapping[str, Any] | None, *, low: str = "95% CI low", high: str = "95% CI high") -> dict[str, Any]:
    """An interval's page-table cells: estimate, its bounds, n, and the note that replaces them below the rule."""
    iv = iv or {}
    return {"estimate": iv.get("estimate"), low: iv.get("low"), high: iv.get("high"), "n": iv.get("n"),
            "note": iv.get("note")}


def label_columns(table: pd.DataFrame) -> list[str]:
    """A comparison table's label columns (between ``run`` and ``estimate``)."""
    columns = list(table.columns)
    return columns[columns.index("run") + 1: columns.index("estimate")]


def comparison_line(row: Mapping[str, Any], *, width: int = 32) -> str:
    """One run's line of a comparison: estimate, interval and n; for later runs the difference, its interval
    and p with its test. Below the small-n rule the estimate and difference stand with the marker, once.

    Example:
        >>> comparison_line({"run": "chat", "estimate": 0.4, "low": 0.3, "high": 0.5, "n": 40, "note": None,
        ...                  "difference": 0.1, "diff_low": -0.05, "diff_high": 0.2, "p_value": 0.21,
        ...                  "test": "permutation (1,000 random swaps)"}, width=6)
        '  chat   0.400 [0.300, 0.500] n=40  diff +0.100 [-0.050, +0.200] p=0.21 by permutation (1,000 random swaps)'
    """
    marker = _text(row.get("note"))
    head = f"  {str(row['run']):<{width}} "
    diff = finite(row.get("difference"))
    if marker:
        text = interval_text(row.get("estimate")) + ("" if diff is None else f"  diff {_fixed(diff, '+.3f')}")
        p = p_text(row.get("p_value"), row.get("test"))  # the exact permutation test needs no interval
        return f"{head}{text}  [{marker}]" + (f" {p}" if p else "")
    text = interval_text(row.get("estimate"), row.get("low"), row.get("high"), n=row.get("n"))
    if diff is not None:
        text += "  diff " + interval_text(diff, row.get("diff_low"), row.get("diff_high"), signed=True)
        p = p_text(row.get("p_value"), row.get("test"))
        text += f" {p}" if p else ""
    return head + text


def comparison_text(table: pd.DataFrame, *, n_items: int, what: str = "shared items", headline: bool = False) -> str:
    """The terminal form of a :func:`calibkit.stats.comparison.paired_comparison` table: one block per measure.

    ``headline``: the table leads with smooth ECE; its reason is printed
    under the first line (:data:`calibkit.stats.comparison.HEADLINE`).
    """
    labels = label_columns(table)
    width = max([len(str(r)) for r in table["run"]] + [8])
    lines = [f"{n_items} {what}"] + ([HEADLINE] if headline else [])
    for key, rows in table.groupby(labels, sort=False, dropna=False) if labels else [((), table)]:
        key = key if isinstance(key, tuple) else (key,)
        lines.append(" ".join(str(k) for k in key if not pd.isna(k) and str(k)) + ":")
        lines += [comparison_line(r, width=width) for r in rows.to_dict(orient="records")]
    return "\n".join(lines)


def page_table(table: pd.DataFrame, *, drop: Sequence[str] = ()) -> pd.DataFrame:
    """A table of estimates as a page shows it: each statistic in one cell with its interval
    (:func:`interval_cells`), without the columns ``drop`` (e.g. a label the page names another way) and
    without ``note`` where no row has one (every row has its interval then)."""
    shown = interval_cells(table.drop(columns=list(drop)))
    if "note" in shown and shown["note"].isna().all():
        shown = shown.drop(columns="note")
    return shown


#: the names a table gives an estimate's interval ends: ci_columns' and paired_comparison's
INTERVAL_ENDS = (("95% CI low", "95% CI high"), ("low", "high"))
ESTIMATE_CELL = "estimate [95% CI]"
DIFFERENCE_CELL = "difference [95% CI]"


def interval_cells(table: pd.DataFrame, *, ends: Mapping[str, tuple[str, str]] | None = None,
                   signed: Sequence[str] = ()) -> pd.DataFrame:
    """Each estimate with its interval in one cell, ``0.548 [0.436, 0.640]`` (:func:`calibkit.paper.cell_text`,
    the paper's format, three decimals everywhere). Pages only: JSON and terminal text keep the separate numbers.

    * ``estimate`` with ``95% CI low``/``high`` (or ``low``/``high``) becomes :data:`ESTIMATE_CELL`;
    * a paired ``difference`` with ``diff_low``/``diff_high`` (or, without an estimate, ``low``/``high``)
      becomes :data:`DIFFERENCE_CELL`, its sign always shown;
    * any column ``X`` with ``X low`` and ``X high`` becomes one column ``X``;
    * ``ends``: other names, ``{column: (its low column, its high column)}``; ``signed``: those that are
      differences;
    * ``p_value``: three decimals, ``< 0.001`` below.

    Below the small-n rule (``n``, or a ``note``) the estimate stands with its n: ``0.412 (n=12)``.

    Example:
        >>> interval_cells(pd.DataFrame([{"metric": "ECE", "estimate": 0.5482, "low": 0.436, "high": 0.64, "n": 40}]))
          metric     estimate [95% CI]   n
        0    ECE  0.548 [0.436, 0.640]  40
    """
    columns = set(table.columns)
    groups = {c: (f"{c} low", f"{c} high") for c in table.columns if {f"{c} low", f"{c} high"} <= columns}
    groups.update(ends or {})
    estimate = next((e for e in INTERVAL_ENDS if {"estimate", *e} <= columns), None)
    if estimate is not None:
        table = _one_cell(table, ("estimate", *estimate), ESTIMATE_CELL, signed=False)
    difference = next((e for e in (("diff_low", "diff_high"), ("low", "high")) if {"difference", *e} <= columns
                       and (e[0] == "diff_low" or estimate is None)), None)
    if difference is not None:
        table = _one_cell(table, ("difference", *difference), DIFFERENCE_CELL, signed=True)
    for column, (low, high) in groups.items():
        table = _one_cell(table, (column, low, high), column, signed=column in signed)
    if "p_value" in columns:  # three decimals as every other number, "< 0.001" below what they show
        from calibkit.paper.numbers import p_text as p_cell

        table = table.assign(p_value=[p_cell(p, bare=True) or None for p in table["p_value"]])
    return table


def _one_cell(table: pd.DataFrame, names: tuple[str, str, str], cell: str, *, signed: bool) -> pd.DataFrame:
    """``table`` with the three columns ``names`` (estimate, low, high) replaced, where the first stood, by one
    text column ``cell``."""
    from calibkit.paper.numbers import Cell, cell_text

    def text(r: Mapping[str, Any]) -> str:
        value, low, high = (r[name] for name in names)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and finite(low) is None:
            return str(int(value))  # a count (an object column keeps it one) is not printed as 12.000
        note = r.get("note") if isinstance(r.get("note"), str) and r.get("note") else None
        n = int(r["n"]) if finite(r.get("n")) is not None else None
        return cell_text(Cell(finite(value), finite(low), finite(high), n=n, signed=signed, note=note))

    texts = [text(r) for r in table.to_dict(orient="records")]
    out = table.drop(columns=list(names[1:]))
    at = list(out.columns).index(names[0])
    out = out.drop(columns=names[0])
    out.insert(at, cell, texts)
    return out


def comparison_caption(*, what: str = "items", headline: bool = False) -> str:
    """The page caption of a comparison table: what the difference, interval, p, test, n and note columns mean."""
    text = (f"difference = run - first run on the same {what}, [its 95% paired-bootstrap percentile interval]; "
            f"estimate [each run's 95% percentile bootstrap interval over {what}]. p: "
            "two-sided, by the test named in 'test' (the paired permutation test swaps the two runs' rows of "
            f"randomly chosen items; up to {EXACT_MAX_ITEMS} items it tries every swap). n: the {what} behind each "
            f"row; below {MIN_ITEMS} there is no interval ('note' says so), and below {MIN_TEST_ITEMS} no p-value "
            "either.")
    return f"{HEADLINE} {text}" if headline else text


def comparison_outcome(frame: pd.DataFrame, labels: Sequence[str], n_items: int, *, out: Path, title: str,
                       heading: str, caption: str, what: str, text_frame: pd.DataFrame | None = None,
                       intro: str | None = None, json: Any = None, headline: bool = False,
                       drop: Sequence[str] = ()) -> Outcome:
    """A paired comparison of runs (a :func:`calibkit.stats.comparison.paired_comparison` table) as the page
    (``intro``, then the table under ``heading`` without the ``drop`` columns), the terminal text
    (``text_frame``, or the table without ``drop``) and the JSON ``compare`` prints (``json``, or
    ``{"runs", "n_items", "metrics"}``)."""
    from calibkit.draw.page import Report

    report = Report(title, subtitle=" vs ".join(labels))
    if intro:
        report.add_text(intro)
    report.add_table(heading, page_table(frame, drop=drop), caption=caption)
    shown = frame.drop(columns=list(drop)) if text_frame is None else text_frame
    text = comparison_text(shown, n_items=n_items, what=what, headline=headline)
    if json is None:
        json = {"runs": list(labels), "n_items": n_items, "metrics": frame_records(frame)}
    return Outcome(json=json, text=text, report=report.save(out))
