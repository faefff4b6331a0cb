"""How a data-parallel run shares out its items: prefix groups, token balance, determinism."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibkit.engine.distributed import DistributedError, Launch, launch_from_env, work_timeout_s
from calibkit.records import Prompt, Turn
from calibkit.runs.parallel import assign_groups, prefix_groups, shard_plan, work_text


def words(texts):
    """A stand-in tokenizer: one token per whitespace-separated word."""
    return [len(t.split()) for t in texts]


def mmlu_like(subject: str, n: int, *, shots: int = 5) -> list[Prompt]:
    header = f"The following are multiple choice questions about {subject}.\n\n"
    prefix = header + "".join(f"Example {subject} question {k}?\nAnswer: A\n\n" for k in range(shots))
    return [Prompt(id=f"mmlu/{subject}/test/{i}", task="mmlu", options=(" A", " B", " C", " D"),
                   text=prefix + f"Question {i} " + "word " * i + "\nAnswer:") for i in range(n)]


def test_texts_sharing_a_long_prefix_form_one_group():
    texts = ["header\n" * 20 + "q1", "other", "header\n" * 20 + "q2"]
    assert prefix_groups(texts) == [(141, [0, 2]), (0, [1])]
    assert prefix_groups(["a" * 10 + "x", "a" * 10 + "y"]) == [(0, [0]), (0, [1])]  # too short to keep together


def test_a_text_that_would_halve_the_shared_prefix_starts_a_new_group():
    base = "p" * 200
    texts = [base + "1", base + "2", "p" * 80 + "q"]  # shares 80 of the group's 200
    assert prefix_groups(texts, min_shared=64) == [(200, [0, 1]), (0, [2])]


def test_longest_processing_time_assignment_by_hand():
    # 7 -> rank 0; 5 -> 1; 4 -> 1 (5 < 7, load 9); 3 -> 0 (7 < 9, load 10); 3 -> 1 (9 < 10, load 12)
    assert assign_groups([7, 5, 4, 3, 3], 2) == [0, 1, 1, 0, 1]  # 10 and 12, where 11 and 11 was possible
    assert assign_groups([1, 1, 1], 3) == [0, 1, 2]
    assert assign_groups([], 2) == []
    with pytest.raises(ValueError, match="world_size must be a positive int"):
        assign_groups([1], 0)


def test_subjects_stay_whole_and_ranks_are_balanced_by_tokens_not_items():
    # 30 short questions of one subject weigh about as much as 10 long questions of another
    short = mmlu_like("anatomy", 30)
    long_ = [Prompt(id=f"mmlu/law/test/{i}", task="mmlu", text="Law header. " * 10 + "long " * 300 + f"q{i}",
                    options=(" A", " B")) for i in range(10)]
    items = short + long_ + mmlu_like("virology", 12)
    plan = shard_plan(items, words, 2)
    assert sorted(itertools.chain(*plan)) == sorted(it.id for it in items)  # every item once
    for subject in ("anatomy", "virology", "law"):
        assert len({r for r, ids in enumerate(plan) for i in ids if f"/{subject}/" in i}) == 1  # one rank each
    tokens = {it.id: sum(words([work_text(it)[0] + work_text(it)[1]])) for it in items}
    loads = [sum(tokens[i] for i in ids) for ids in plan]
    half = len(items) // 2
    by_items = [sum(tokens[it.id] for it in items[:half]), sum(tokens[it.id] for it in items[half:])]
    assert max(loads) / min(loads) < max(by_items) / min(by_items)
    assert all(ids == [it.id for it in items if it.id in set(ids)] for ids in plan)  # item order within a rank


def test_the_plan_depends_only_on_the_items():
    items = mmlu_like("anatomy", 7) + mmlu_like("virology", 5)
    assert shard_plan(items, words, 3) == shard_plan(list(items), words, 3)
    assert shard_plan(items[::-1], words, 3) == [ids[::-1] for ids in shard_plan(items, words, 3)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=30), st.integers(1, 5))
def test_every_group_gets_exactly_one_rank(costs, world):
    ranks = assign_groups(costs, world)
    assert len(ranks) == len(costs) and all(0 <= r < world for r in ranks)
    loads = [sum(c for c, r in zip(costs, ranks) if r == k) for k in range(world)]
    assert max(loads) - min(loads) <= max(costs)  # the greedy rule never leaves a gap bigger than one group


def test_what_an_item_makes_the_model_read():
    plain = Prompt(id="a", task="t", text="ctx", options=(" A", " B"))
    chat = Prompt(id="b", task="t", text="ctx", options=(" A",), turns=(Turn("user", "hi"), Turn("assistant", "yo")))
    paired = Prompt(id="c", task="t", text="", options=(" x", " y"), option_contexts=("one", "two"))

    class Question:
        id = "q"

        def shard_text(self):
            return "shots then the question"

    class Bare:
        id = "bare/1"

    assert work_text(plain) == ("ctx", " A B")
    assert work_text(chat) == ("hi\nyo", " A")
    assert work_text(paired) == ("one\ntwo", " x y")
    assert work_text(Question()) == ("shots then the question", "")
    assert work_text(Bare()) == ("bare/1", "")


def test_launch_from_the_environment():
    assert launch_from_env({}) == Launch()
    got = launch_from_env({"RANK": "2", "WORLD_SIZE": "4", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2"})
    assert (got.rank, got.world_size, got.local_rank, got.local_world_size) == (2, 4, 0, 2)
    assert got.parallel and not got.main
    with pytest.raises(DistributedError, match="RANK='x' is not a non-negative integer"):
        launch_from_env({"RANK": "x", "WORLD_SIZE": "2"})
    with pytest.raises(DistributedError, match="RANK=2 is outside WORLD_SIZE=2"):
        launch_from_env({"RANK": "2", "WORLD_SIZE": "2"})
    assert work_timeout_s({"CALIBKIT_DIST_TIMEOUT_S": "90"}) == 90.0
    with pytest.raises(DistributedError, match="CALIBKIT_DIST_TIMEOUT_S='soon' must be a positive number"):
        work_timeout_s({"CALIBKIT_DIST_TIMEOUT_S": "soon"})


def test_rank_zeros_bar_counts_the_rows_every_rank_appends(tmp_path, monkeypatch):
    import io
    import sys

    from calibkit.runs.parallel import RankFilesProgress
    from calibkit.runs.store import RunStore

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    store = RunStore.create(tmp_path, task="t", model="m", config={"task": "t"})
    row = {"id": "old", "task": "t"}
    store.for_rank(0).append([row])  # stored before this run: not its progress
    with RankFilesProgress(store, 5, enabled=True, desc="t") as progress:
        store.for_rank(0).append([{**row, "id": "a"}, {**row, "id": "b"}])
        store.for_rank(2).append([{**row, "id": "c"}])
        progress.refresh()
        assert progress.bar.bar.n == 3
        store.for_rank(2).append([{**row, "id": "d"}, {**row, "id": "e"}])
    assert progress.bar.bar.n == 5  # the last count is taken on leaving


def test_a_rank_that_is_late_or_gone_is_an_error_not_a_hang(tmp_path):
    """Two real processes over gloo: rank 1 joins, then sleeps (or exits); rank 0's wait ends with one line."""
    import socket
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "from calibkit.engine.distributed import DistributedError, Launch, Ranks\n"
        "rank, mode = int(sys.argv[1]), sys.argv[2]\n"
        "ranks = Ranks(Launch(rank=rank, world_size=2), start_timeout_s=60, work_timeout_s=2)\n"
        "if rank == 1:\n"
        "    time.sleep(8 if mode == 'late' else 0)\n"
        "    sys.exit(0)\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    ranks.wait_for_all(every_s=0.1)\n"
        "except DistributedError as exc:\n"
        "    print(f'{time.monotonic() - t:.1f}', exc)\n"
    )
    for mode, why in (("late", "(timed out)"), ("gone", "(")):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**__import__("os").environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        procs = [subprocess.Popen([sys.executable, "-c", script, str(r), mode], stdout=subprocess.PIPE, text=True,
                                  env=env) for r in (0, 1)]
        out = procs[0].communicate(timeout=60)[0]
        procs[1].communicate(timeout=60)
        seconds, message = out.split(" ", 1)
        assert float(seconds) < 6, mode  # the work timeout (2 s), or sooner: the peer's socket closed
        assert message.startswith("rank 0: another rank stopped or never came while waiting for the other ranks")
        assert why in message and message.rstrip().endswith("rerun the command to resume")
