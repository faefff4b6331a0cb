"""Free-answer parts drawn from summary.json: the signal table, accuracy by hedge class, words vs people (tiny models).

Every cell is checked against the summary's own numbers, formatted here by hand in the paper's one format
(``0.123 [0.101, 0.145]``, ``0.412 (n=12)`` below 20 items), so a table that printed another number, or the
same number another way, fails.
"""
from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest

from calibkit.paper.style import ROLE_COLORS
from calibkit.paper.tables import text_cell, to_csv, to_latex, to_markdown
from calibkit.runs.registry import task_of_run
from calibkit.runs.store import RunStore
from calibkit.tasks.free_answer import paper

from conftest import REPO, run_cli
from latex_compile import assert_compiles

pytestmark = pytest.mark.usefixtures("one_thread")
DATA = str(REPO / "tests" / "fixtures" / "triviaqa_simple.jsonl")
NEW = ["triviaqa-signals", "triviaqa-hedging", "triviaqa-words"]


@pytest.fixture(scope="module")
def runs(tiny_base_dir, tiny_model_dir, tmp_path_factory) -> list[RunStore]:
    """3 TriviaQA questions with ``--words choose``, asked of the tiny base model and of the tiny chat model."""
    from calibkit.cli import main

    out = tmp_path_factory.mktemp("words-paper")
    argv = ["run", "triviaqa", "--data", DATA, "--limit", "3", "--shots", "1", "--samples", "1", "--max-new-tokens",
            "3", "--signals", "perplexity", "--words", "choose", "--quiet", "--out", str(out)]
    for model in (tiny_base_dir, tiny_model_dir):
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--model", str(model)])
        assert exc.value.code == 0
    by_model = {s.config["model"]: s for s in map(RunStore, (p.parent for p in out.glob("*/*/*/config.json")))}
    return [by_model[str(tiny_base_dir)], by_model[str(tiny_model_dir)]]


def by_hand(iv) -> str:
    """An interval of summary.json in the paper's format, written out here rather than by calibkit.paper.numbers."""
    if not iv or iv["estimate"] is None:
        return "–"
    if iv.get("note") or iv["low"] is None:
        return f"{iv['estimate']:.3f} (n={iv['n']})"
    return f"{iv['estimate']:.3f} [{iv['low']:.3f}, {iv['high']:.3f}]"


def interval(estimate: float, low: float, high: float, n: int) -> dict:
    return {"estimate": estimate, "low": low, "high": high, "level": 0.95, "n": n, "note": None}


def test_two_runs_give_the_three_parts_with_the_summaries_numbers(runs):
    parts = {p.name: p for p in task_of_run(runs[0].config).paper_parts(runs)}
    assert list(parts)[-3:] == NEW  # after the reliability diagram, rejection curves and paired comparison
    summaries = [s.read_summary() for s in runs]
    table = parts["triviaqa-signals"].content
    # several runs: a row per signal and run (a "run" column), so the table keeps the page's width
    assert table.columns == ("signal", "run", "AUROC", "PRR", "AURC")
    labels = list(dict.fromkeys(row[1] for row in table.rows))
    assert len(labels) == 2 and [row[1] for row in table.rows[:2]] == labels
    for summary, label in zip(summaries, labels):
        signals = summary["signal_table"]["signals"]
        mine = [row for row in table.rows if row[1] == label]
        assert [row[0] for row in mine] == [row[0] for row in table.rows[::2]]
        assert {row[0] for row in mine} == {s["label"] for s in signals.values()}
        for row in mine:
            (entry,) = [s for s in signals.values() if s["label"] == row[0]]
            assert [text_cell(c) for c in row[2:5]] == [by_hand(entry[k]) for k in ("auroc", "prr", "aurc")]
    assert table.rows[0][0] == "P(True)"  # the run's own signals first, as on its page
    hedging = parts["triviaqa-hedging"].content
    assert hedging.columns == ("hedge class", "run", "n", "accuracy")
    for row in hedging.rows:
        summary = summaries[labels.index(row[1])]
        (c,) = [c for c in summary["hedging"]["classes"].values() if c["label"] == row[0]]
        assert (row[2], text_cell(row[3])) == (c["n"], by_hand(c["accuracy"]))
    assert parts["triviaqa-words"].runs == tuple(str(s.path) for s in runs)


def test_words_figure_draws_each_runs_expressions_in_its_role_colour(runs):
    (part,) = [p for p in task_of_run(runs[0].config).paper_parts(runs) if p.name == "triviaqa-words"]
    ax = part.content.axes[0]
    points = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert [line.get_color() for line in points.values()] == [ROLE_COLORS["base"], ROLE_COLORS["chat"]]
    for line, store in zip(points.values(), runs):
        used = [e for e in store.read_summary()["words"]["expressions"] if e["n"]]
        np.testing.assert_allclose(line.get_xdata(), [e["people"]["mean"] for e in used])
        np.testing.assert_allclose(line.get_ydata(), [e["accuracy"]["estimate"] for e in used])
    whiskers = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    ends = sorted(tuple(np.round(sorted([seg[0][0], seg[1][0]]), 9)) for c in whiskers for seg in c.get_segments())
    people = sorted(tuple(np.round([e["people"]["low"], e["people"]["high"]], 9)) for s in runs
                    for e in s.read_summary()["words"]["expressions"] if e["n"])
    assert ends == people  # 3 uses per run: people's intervals drawn, the accuracy's withheld (small-n)
    texts = [t.get_text() for t in ax.texts]  # each expression named once; each point without an interval its n
    used = [e for s in runs for e in s.read_summary()["words"]["expressions"] if e["n"]]
    assert sorted(t for t in texts if not t.startswith("n=")) == sorted({e["expression"] for e in used})
    assert sorted(t for t in texts if t.startswith("n=")) == sorted(f"n={e['n']}" for e in used)


def test_intervals_print_in_the_one_format_and_the_csv_keeps_full_precision(runs):
    summary = copy.deepcopy(runs[0].read_summary())
    summary["signal_table"]["signals"]["p_true"]["auroc"] = interval(0.73449, 0.61234, 0.84567, 50)
    hedge = summary["hedging"]["classes"]["plain"]
    hedge.update(n=40, accuracy=interval(0.3, 0.15, 0.45, 40))
    table = paper.signal_table({"m": summary}, name="t")
    assert table.columns == ("signal", "AUROC", "PRR", "AURC")  # one run: no run in the heads
    assert "| P(True) | 0.734 [0.612, 0.846] |" in to_markdown(table)
    assert "0.734 [0.612, 0.846]" in to_latex(table) and "0.73449,0.61234,0.84567,50" in to_csv(table)
    rows = {r[0]: r for r in paper.hedging_table({"m": summary}, name="h").rows}
    assert (rows["plain (no marker)"][1], text_cell(rows["plain (no marker)"][2])) == (40, "0.300 [0.150, 0.450]")
    assert text_cell(rows["hedged"][2]) == "–"  # no answer hedged: no accuracy, not 0


def test_words_figure_draws_the_accuracy_interval_where_there_is_one(runs, tmp_path):
    from calibkit.paper.figures import save_figure, words_figure

    words = copy.deepcopy(runs[1].read_summary()["words"])
    for e, (n, acc) in zip(words["expressions"], [(0, None), (25, 0.2), (30, 0.5), (40, 0.6), (60, 0.9)]):
        e["n"], e["accuracy"] = n, (interval(acc, acc - 0.1, acc + 0.08, n) if n else e["accuracy"])
    frames = paper.words_tables({"chat": {"words": words}, "base": {"words": runs[0].read_summary()["words"]}})
    assert list(frames["chat"]["expression"]) == ["probably not", "possibly", "probably", "certainly"]
    fig = words_figure(frames, roles={"chat": "chat", "base": "base"})
    whiskers = [c for c in fig.axes[0].collections if type(c).__name__ == "LineCollection"]
    vertical = sorted(sorted([round(s[0][1], 9), round(s[1][1], 9)]) for c in whiskers for s in c.get_segments()
                      if s[0][0] == s[1][0])
    assert vertical == [[round(a - 0.1, 9), round(a + 0.08, 9)] for a in (0.2, 0.5, 0.6, 0.9)]
    pdf, png = save_figure(fig, tmp_path / "words")
    assert pdf.read_bytes()[:5] == b"%PDF-" and png.read_bytes()[:4] == b"\x89PNG"


def test_runs_made_before_these_summaries_give_no_such_part(runs, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(runs[0].path, old)
    summary = json.loads((old / "summary.json").read_text())
    for key in ("signal_table", "hedging", "words"):
        del summary[key]
    (old / "summary.json").write_text(json.dumps(summary))
    names = [p.name for p in task_of_run(runs[0].config).paper_parts([RunStore(old)])]
    assert names == ["triviaqa-ptrue-reliability", "triviaqa-rejection"]
    (old / "summary.json").unlink()  # a run stopped before its summary: still no error
    assert [p.name for p in task_of_run(runs[0].config).paper_parts([RunStore(old)])] == names
    mixed = [p for p in task_of_run(runs[0].config).paper_parts([RunStore(old), runs[1]]) if p.name in NEW]
    assert [(p.name, p.runs) for p in mixed] == [(n, (str(runs[1].path),)) for n in NEW]


def test_calibkit_paper_writes_them_and_paper_tex_compiles(runs, capsys, tmp_path):
    out = tmp_path / "paper"
    code, _, err = run_cli(capsys, "paper", *(str(s.path) for s in runs), "--out", str(out))
    assert code == 0, err
    for name in ("triviaqa-signals", "triviaqa-hedging"):
        assert all((out / "tables" / f"{name}.{ext}").is_file() for ext in ("tex", "md", "csv"))
    assert (out / "figures" / "triviaqa-words.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "figures" / "triviaqa-words.pdf").read_bytes()[:5] == b"%PDF-"
    assert "\\input{tables/triviaqa-signals.tex}" in (out / "paper.tex").read_text()
    assert_compiles(out).stat().st_size > 10_000
