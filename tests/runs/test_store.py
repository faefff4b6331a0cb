"""The run store: durable appends, resume, truncated lines, config identity."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from calibkit.records import ScoredItem
from calibkit.runs.store import RESULTS_FILE, RunError, RunStore, config_hash

CONFIG = {"task": "mmlu", "model": "m", "shots": 5, "versions": {"torch": "x"}}


def row(i):
    return ScoredItem(id=f"t/{i}", task="t", options=(" A", " B"), logprobs=(-0.5, -1.5),
                      answer=i % 2, meta={"k": i}).to_json()


def test_append_and_reload(tmp_path):
    store = RunStore.create(tmp_path, task="mmlu", model="m", config=CONFIG)
    assert store.path == tmp_path / "mmlu" / "m" / config_hash(CONFIG)
    store.append([row(0), row(1)])
    store.append([row(2)])
    again = RunStore.create(tmp_path, task="mmlu", model="m", config=CONFIG)
    assert [r["id"] for r in again.rows()] == ["t/0", "t/1", "t/2"]
    assert again.completed_ids() == {"t/0", "t/1", "t/2"}
    assert again.items()[2].answer == 0
    df = again.dataframe()
    assert list(df["meta.k"]) == [0, 1, 2]


def test_versions_do_not_change_identity():
    assert config_hash(CONFIG) == config_hash({**CONFIG, "versions": {"torch": "y"}})
    assert config_hash(CONFIG) != config_hash({**CONFIG, "shots": 0})


def test_recorded_outcomes_keep_the_run_identity(tmp_path):
    config = {"task": "t", "model": "m", "seed": 1}
    store = RunStore.create(tmp_path, task="t", model="m", config=config)
    store.record({"pool": [{"id": "q1", "correct": True}]})
    store.record({"pool_true": 1})
    assert store.recorded == {"pool": [{"id": "q1", "correct": True}], "pool_true": 1}
    assert store.config == {**config, "recorded": store.recorded}
    assert RunStore.create(tmp_path, task="t", model="m", config=config).path == store.path  # resumes the same folder
    store.record({"seed": 2})  # a recorded field never touches the identity of the same name
    assert store.config["seed"] == 1 and store.recorded["seed"] == 2


def test_truncated_last_line_ignored_then_repaired(tmp_path):
    store = RunStore.create(tmp_path, task="mmlu", model="m", config=CONFIG)
    store.append([row(0), row(1)])
    with open(store.path / RESULTS_FILE, "a") as f:
        f.write(json.dumps(row(2))[:25])  # a kill in mid-write
    assert [r["id"] for r in store.rows()] == ["t/0", "t/1"]
    store.append([row(2)])
    assert [r["id"] for r in store.rows()] == ["t/0", "t/1", "t/2"]
    assert (store.path / RESULTS_FILE).read_text().count("\n") == 3


def test_damaged_middle_line_is_an_error(tmp_path):
    store = RunStore.create(tmp_path, task="mmlu", model="m", config=CONFIG)
    store.append([row(0)])
    with open(store.path / RESULTS_FILE, "a") as f:
        f.write("{oops\n")
    with pytest.raises(RunError, match="line 2 is not valid JSON"):
        store.rows()


def test_other_config_in_same_folder_refused(tmp_path):
    RunStore.at(tmp_path / "run", config=CONFIG)
    with pytest.raises(RunError, match=r"another configuration \(differs in: shots\)"):
        RunStore.at(tmp_path / "run", config={**CONFIG, "shots": 0})


def test_open_requires_a_run_folder(tmp_path):
    with pytest.raises(RunError, match="not a calibkit run folder"):
        RunStore.open(tmp_path)


def test_kill_9_loses_at_most_the_item_in_flight(tmp_path):
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from calibkit.runs.store import RunStore
from calibkit.records import ScoredItem
s = RunStore.at({str(tmp_path / 'run')!r}, config={{"task": "t"}})
i = 0
while True:
    s.append([ScoredItem(id=f"t/{{i}}", task="t", options=("a", "b"), logprobs=(-1.0, -2.0)).to_json()])
    i += 1
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    store = RunStore(tmp_path / "run")
    deadline = time.time() + 30
    while time.time() < deadline and len(store.rows()) < 50:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ids = [r["id"] for r in store.rows()]
    assert len(ids) >= 50
    assert ids == [f"t/{i}" for i in range(len(ids))]  # contiguous: nothing lost, nothing doubled


def test_reopening_adds_what_newer_calibkit_records_without_changing_the_folder(tmp_path):
    old = RunStore.create(tmp_path, task="t", model="m", config={"task": "t", "model": "m"})
    again = RunStore.create(tmp_path, task="t", model="m", config={"task": "t", "model": "m", "n_parameters": 135})
    assert again.path == old.path and again.config["n_parameters"] == 135


# ------------------------------------------------------------------ rank files (data-parallel runs)


def test_ranks_append_to_their_own_files_and_every_reader_sees_all(tmp_path):
    store = RunStore.create(tmp_path, task="mmlu", model="m", config=CONFIG)
    store.append([row(0)])
    store.for_rank(1).append([row(3), row(1)])
    store.for_rank(0).append([row(2)])
    assert sorted(p.name for p in store.path.glob("results*.jsonl")) == [
        "results.jsonl", "results.rank-0.jsonl", "results.rank-1.jsonl"]
    # results.jsonl first, then the ranks in rank order, each file in its own order
    assert [r["id"] for r in RunStore.open(store.path).rows()] == ["t/0", "t/2", "t/3", "t/1"]
    assert store.completed_ids() == {"t/0", "t/1", "t/2", "t/3"}


def test_consolidate_merges_the_rank_files_in_item_order(tmp_path):
    store = RunStore.create(tmp_path, task="mmlu", model="m", config=CONFIG)
    store.for_rank(1).append([row(3), row(1)])
    store.for_rank(0).append([row(2), row(0)])
    with open(store.path / "results.rank-2.jsonl", "w") as f:
        f.write(json.dumps(row(1)) + "\n" + json.dumps(row(4))[:20])  # a duplicate, then a killed write
    assert store.consolidate(["t/0", "t/1", "t/2", "t/3"]) is True
    assert [p.name for p in store.path.glob("results*.jsonl")] == ["results.jsonl"]
    lines = (store.path / RESULTS_FILE).read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["t/0", "t/1", "t/2", "t/3"]  # one copy each, no tail
    assert store.consolidate(["t/0", "t/1", "t/2", "t/3"]) is False  # already one file in order: untouched


def test_consolidate_keeps_rows_of_other_ids_after_the_ordered_ones(tmp_path):
    store = RunStore.create(tmp_path, task="mmlu", model="m", config=CONFIG)
    store.append([row(9), row(1), row(0)])
    store.consolidate(["t/0", "t/1"])
    assert [r["id"] for r in store.rows()] == ["t/0", "t/1", "t/9"]


def test_a_crash_inside_consolidate_leaves_every_row_once(tmp_path):
    store = RunStore.create(tmp_path, task="mmlu", model="m", config=CONFIG)
    store.for_rank(0).append([row(1), row(0)])
    merged = store.path / RESULTS_FILE
    merged.write_text(json.dumps(row(0)) + "\n" + json.dumps(row(1)) + "\n")  # written, rank file not yet removed
    assert [r["id"] for r in store.rows()] == ["t/0", "t/1"]
    store.consolidate(["t/0", "t/1"])
    assert [r["id"] for r in store.rows()] == ["t/0", "t/1"] and not (store.path / "results.rank-0.jsonl").exists()


def test_rank_must_be_a_non_negative_int(tmp_path):
    with pytest.raises(ValueError, match="rank must be a non-negative int"):
        RunStore(tmp_path).for_rank(-1)
