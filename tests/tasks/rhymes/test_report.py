"""A rhymes run's numbers from hand-built rows: `compare` through the one paired comparison, the summary's
paired rows at small n (the p-value and its test from 6 couplets on), and the page's charts and captions."""
from __future__ import annotations

import html
import json

import numpy as np
import pytest

from calibkit.runs.store import RunStore
from calibkit.stats.bootstrap import MIN_ITEMS, bootstrap_ci, too_few
from calibkit.stats.metrics import ratio_of_sums
from calibkit.stats.paired import MIN_TEST_ITEMS, permutation_test
from calibkit.tasks.reporting import comparison_caption, interval_text
from calibkit.tasks.rhymes import report
from calibkit.tasks.rhymes.study import summarize_rows

R = 40  # resamples and random swaps: enough for the checks, cheap


def _line(kind: str, mass: float | None, *, greedy: bool = False) -> dict:
    slot = None if mass is None else {"rhyme_mass": mass, "rhyme_entropy": 0.5, "rank": 1, "word_logprob": -1.0}
    return {"greedy": greedy, "kind": kind, "word": "day" if kind == "rhyme" else "night", "slot": slot}


def _rows(n: int, roles: dict[str, tuple[list[int], list[float | None]]]) -> list[dict]:
    """n couplets; per role, per couplet: how many of its 3 samples rhyme and their slots' mass (None: no slot)."""
    return [{"id": f"rhymes/t/{i:03d}", "models": {
        role: {"lines": [_line("non_rhyme", None, greedy=True)]
               + [_line("rhyme" if j < rhymed[i] else "non_rhyme", mass[i]) for j in range(3)], "forced": []}
        for role, (rhymed, mass) in roles.items()}} for i in range(n)]


def _store(folder, rows) -> RunStore:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"task": "rhymes"}))
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return RunStore.open(folder)


def test_compare_pairs_each_later_run_with_the_first_through_the_shared_comparison(tmp_path):
    """25 couplets: each run's rhyme share with its interval and n, the difference with its interval and the
    permutation test's p (as computed directly); the slot's mass over the couplets with a slot in every run;
    the first run is the reference (no test of it against itself)."""
    rng = np.random.default_rng(1)
    n = 25
    first_k, second_k = rng.integers(0, 4, n), rng.integers(0, 4, n)
    mass_1 = [None if i % 5 == 0 else float(x) for i, x in enumerate(rng.random(n))]  # 5 couplets without a slot
    mass_2 = [None if i == 1 else float(x) for i, x in enumerate(rng.random(n))]
    stores = [_store(tmp_path / "one", _rows(n, {"base": (list(first_k), mass_1), "chat": (list(first_k), mass_1)})),
              _store(tmp_path / "two", _rows(n, {"base": (list(second_k), mass_2), "chat": (list(first_k), mass_1)}))]
    outcome = report.compare_runs(stores, out=tmp_path / "c.html", n_resamples=R)
    metrics = outcome.json["metrics"]
    assert outcome.json["n_items"] == n and len(metrics) == 8
    assert [(m["run"], m["model"], m["measure"]) for m in metrics[:2]] == [("one", "base", "rhyme share"),
                                                                          ("one", "base", "rhyme mass at the slot")]
    lines = np.full(n, 3.0)
    share = {m["run"]: m for m in metrics if m["model"] == "base" and m["measure"] == "rhyme share"}
    iv = bootstrap_ci(ratio_of_sums, second_k.astype(float), lines, n_resamples=R, seed=0)
    assert share["two"]["estimate"] == pytest.approx(second_k.sum() / (3 * n)) and share["two"]["n"] == n
    assert (share["two"]["low"], share["two"]["high"]) == pytest.approx((iv.low, iv.high))  # each run's interval
    expected = permutation_test(ratio_of_sums, (second_k.astype(float), lines), (first_k.astype(float), lines),
                                n_permutations=R, seed=0)
    assert share["two"]["difference"] == pytest.approx((second_k.sum() - first_k.sum()) / (3 * n))
    assert share["two"]["diff_low"] <= share["two"]["difference"] <= share["two"]["diff_high"]
    assert share["two"]["p_value"] == pytest.approx(expected.p_value) and share["two"]["test"] == expected.test
    # the first run is the reference: no difference, no p, no test
    assert share["one"]["difference"] is share["one"]["p_value"] is share["one"]["test"] is None
    # the mass: per couplet the mean of its lines' slots, over the couplets with a slot in both runs
    both = [i for i in range(n) if mass_1[i] is not None and mass_2[i] is not None]
    mass = {m["run"]: m for m in metrics if m["model"] == "base" and m["measure"] == "rhyme mass at the slot"}
    assert mass["one"]["n"] == len(both) == 19
    assert mass["one"]["estimate"] == pytest.approx(np.mean([mass_1[i] for i in both]))
    assert mass["two"]["difference"] == pytest.approx(np.mean([mass_2[i] - mass_1[i] for i in both]))
    assert mass["one"]["note"] == too_few(19) and mass["two"]["p_value"] is not None  # 19: a p, no interval
    chat = [m for m in metrics if m["run"] == "two" and m["model"] == "chat"]
    assert all(m["difference"] == 0.0 for m in chat)
    # the text: each run's interval with n, the difference's interval, p with its test
    row = share["two"]
    assert f"{interval_text(row['estimate'], row['low'], row['high'], n=n)}  diff " + interval_text(
        row["difference"], row["diff_low"], row["diff_high"], signed=True) in outcome.text
    assert f"by {expected.test}" in outcome.text and f"{n} shared couplets" in outcome.text
    assert html.escape(comparison_caption(what="couplets")) in outcome.report.read_text()


def test_compare_leaves_out_a_role_the_first_run_lacks(tmp_path):
    """A one-model first run and a two-model second: only the role both hold is compared (the chat model of
    the second run is not compared with itself)."""
    n = 6
    rhymed, mass = [1, 2, 0, 3, 1, 2], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    stores = [_store(tmp_path / "one", _rows(n, {"base": (rhymed, mass)})),
              _store(tmp_path / "two", _rows(n, {"base": (rhymed[::-1], mass), "chat": ([3] * n, mass)}))]
    metrics = report.compare_runs(stores, out=tmp_path / "c.html", n_resamples=R).json["metrics"]
    assert {m["model"] for m in metrics} == {"base"} and len(metrics) == 4


@pytest.mark.parametrize("n", [4, 10])
def test_paired_rows_name_the_test_exactly_where_there_is_a_p_value(n):
    """Below 20 couplets no interval; from 6 on the exact permutation test's p with its name, below 6 neither
    (the summary, the page's table and the text agree)."""
    rhymed = [i % 4 for i in range(n)]
    summary = summarize_rows(_rows(n, {"base": (rhymed, [0.2] * n), "chat": (rhymed[::-1], [0.4] * n)}),
                             n_resamples=R)
    (share,) = [p for p in summary["paired"] if p["measure"] == "share rhyme"]
    assert share["note"] == too_few(n) and share["low"] is None
    if n >= MIN_TEST_ITEMS:
        assert share["p_value"] is not None and share["test"] == f"exact sign-flip (2^{n} swaps)"
    else:
        assert share["p_value"] is None and share["test"] is None
    for p in summary["paired"]:
        assert (p["test"] is None) == (p.get("p_value") is None), p
    frame = report.paired_frame(summary)
    assert (frame["test"].isna() == frame["p_value"].isna()).all()
    text = report.summary_text(summary)
    assert (f"by exact sign-flip (2^{n} swaps)" in text) == (n >= MIN_TEST_ITEMS)


def test_the_page_marks_small_n_bars_and_its_captions_follow_the_rule(tmp_path, monkeypatch):
    """10 couplets: the class and slot charts label each bar with its n and say why there are no whiskers;
    the captions name the interval rule (MIN_ITEMS) and the p-value rule (MIN_TEST_ITEMS)."""
    n = 10
    summary = summarize_rows(_rows(n, {"base": ([i % 4 for i in range(n)], [0.2] * n),
                                       "chat": ([1] * n, [0.4] * n)}), n_resamples=R)
    summary["models"] = {"base": "b", "chat": "c"}
    for role in summary["roles"]:
        summary["per_role"][role]["planning"] = {"lens_word_ranks": [], "error": "too few couplets"}
    store = _store(tmp_path / "run", [])
    monkeypatch.setattr(report, "summarize_store", lambda *a, **k: summary)
    chart = report.measure_frame(summary, "classes", ["rhyme"])
    fig = report._bars(chart, metric="share", x="measure", title="t")
    assert [list(tr.text) for tr in fig.data] == [[f"n={n}"], [f"n={n}"]]
    assert any(a.text.startswith("no interval drawn: " + too_few(n)) for a in fig.layout.annotations)
    page = report.write_run_report(store, n_resamples=R).read_text()
    assert f"Below {MIN_ITEMS} couplets" in page and f"below {MIN_TEST_ITEMS} no p-value" in page
    assert "Below 20 couplets: the estimates and the note, no interval, no p." not in page
    # three charts (classes, slot, half-written lines) say why their bars have no whiskers (plotly's JSON: < as \u003c)
    assert page.count("no interval drawn: " + too_few(n).replace("<", "\\u003c")) == 3
