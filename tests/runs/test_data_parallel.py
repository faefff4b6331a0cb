"""One run over several processes, launched as users launch it: ``torchrun ... -m calibkit run <task>``.

CPU processes talking over gloo, tiny seeded models. A run shared by 2 or 3
processes must store the rows a single process stores (the same ids in the
same order; float32 values within 1e-6, since the batches differ), and the
same summary; a rank killed mid-run loses only its batch in flight, and a
resume with another number of processes completes the run without a
duplicate. Bad launches fail on every rank with one line and exit code 2.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, run_cli, shared_path

pytestmark = pytest.mark.slow
TRIVIA = REPO / "tests" / "fixtures" / "triviaqa_simple.jsonl"
TOL = 1e-6  # float32 values of differently batched forward passes


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
            "OMP_NUM_THREADS": "1", **extra}


def torchrun(n: int, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc-per-node n -m calibkit argv...` (a free rendezvous port each time)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(n),
           "-m", "calibkit", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(), cwd=REPO)


def accelerate_launch(n: int, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`accelerate launch --multi_gpu --num_processes n -m calibkit argv...` (torchrun's workers, CPUs too)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(n),
           "--num_machines", "1", "--main_process_port", str(port), "--mixed_precision", "no",
           "--dynamo_backend", "no", "-m", "calibkit", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(), cwd=REPO)


def run_folder(out: Path) -> Path:
    (folder,) = [p.parent for p in out.glob("*/*/*/config.json")]
    return folder


def rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


def assert_same(got, want, where: str = "") -> None:
    """Equal, floats within TOL (relative or absolute); NaN (an empty statistic) equals NaN."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), f"{where}: keys differ"
        for k in want:
            assert_same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: lengths differ"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        same = math.isclose(got, want, rel_tol=TOL, abs_tol=TOL) or (math.isnan(got) and math.isnan(want))
        assert same, f"{where}: {got} != {want}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def assert_same_run(got: Path, want: Path) -> None:
    """The same rows, in the same order, the same prompt records, byte for byte, and the same summary; no rank file is left."""
    assert [p.name for p in got.glob("results*.jsonl")] == ["results.jsonl"]
    assert [p.name for p in got.glob("prompts*.jsonl")] == ["prompts.jsonl"]
    assert (got / "prompts.jsonl").read_bytes() == (want / "prompts.jsonl").read_bytes()
    got_rows, want_rows = rows(got), rows(want)
    assert [r["id"] for r in got_rows] == [r["id"] for r in want_rows]
    for g, w in zip(got_rows, want_rows):
        assert_same(g, w, g["id"])
    assert_same(json.loads((got / "summary.json").read_text()), json.loads((want / "summary.json").read_text()))


def one_process(capsys, out: Path, *argv: str) -> Path:
    code, _, err = run_cli(capsys, *argv, "--quiet", "--out", str(out))
    assert code == 0, err
    return run_folder(out)


@pytest.fixture(scope="module")
def mmlu_args(tiny_model_dir):
    return ("run", "mmlu", "--model", str(tiny_model_dir), "--data", str(shared_path("mmlu")),
            "--subjects", "anatomy,astronomy,virology", "--limit", "8", "--shots", "2", "--chat-template", "off")


@pytest.fixture(scope="module")
def trivia_args(tiny_model_dir):
    return ("run", "triviaqa", "--model", str(tiny_model_dir), "--data", str(TRIVIA), "--limit", "8", "--shots", "2",
            "--samples", "3", "--brainstorm", "2", "--ptrue-shots", "2", "--max-new-tokens", "6",
            "--chat-template", "on")


@pytest.mark.parametrize("launch, n", [
    pytest.param(torchrun, 2, id="torchrun-2"), pytest.param(torchrun, 3, id="torchrun-3"),
    pytest.param(accelerate_launch, 2, id="accelerate-2"),
])
def test_mmlu_over_n_processes_stores_what_one_process_stores(capsys, tmp_path, mmlu_args, launch, n):
    want = one_process(capsys, tmp_path / "one", *mmlu_args)
    done = launch(n, *mmlu_args, "--quiet", "--out", str(tmp_path / "many"), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    got = run_folder(tmp_path / "many")
    assert_same_run(got, want)
    assert json.loads(done.stdout)["report"] == str(got / "report.html")  # rank 0 alone prints the summary


@pytest.mark.parametrize("n", [2, 3])
def test_triviaqa_samples_do_not_depend_on_the_number_of_processes(capsys, tmp_path, trivia_args, n):
    want = one_process(capsys, tmp_path / "one", *trivia_args)
    done = torchrun(n, *trivia_args, "--quiet", "--out", str(tmp_path / "many"))
    assert done.returncode == 0, done.stderr[-2000:]
    got = run_folder(tmp_path / "many")
    assert_same_run(got, want)
    # the few-shot P(True) examples are chosen once, by rank 0, from every question
    assert json.loads((got / "config.json").read_text())["recorded"] == json.loads(
        (want / "config.json").read_text())["recorded"]


def test_two_model_nudging_shares_its_questions_too(capsys, tmp_path, tiny_base_dir, tiny_model_dir):
    argv = ("run", "nudging", "--base", str(tiny_base_dir), "--nudger", str(tiny_model_dir), "--questions",
            "basic_arithmetic", "--limit", "6", "--shots", "1", "--gamma", "0,0.3", "--max-new-tokens", "6",
            "--batch-size", "2")
    want = one_process(capsys, tmp_path / "one", *argv)
    done = torchrun(2, *argv, "--quiet", "--out", str(tmp_path / "many"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_run(run_folder(tmp_path / "many"), want)


def rank_pid(rank: int, marker: str) -> int | None:
    """The pid of a torchrun worker of the given rank whose command line holds ``marker``."""
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if f"RANK={rank}".encode() in environ and b"TORCHELASTIC_RUN_ID" in b" ".join(environ) \
                and marker.encode() in cmdline:
            return int(proc.name)
    return None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's process through /proc")
def test_a_rank_killed_mid_run_then_a_resume_with_two_processes_completes_without_duplicates(
        capsys, tmp_path, mmlu_args):
    argv = (*mmlu_args, "--limit", "16", "--token-budget", "64", "--quiet", "--out", str(tmp_path / "many"))
    want = one_process(capsys, tmp_path / "one", *mmlu_args, "--limit", "16", "--token-budget", "64")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "3", "-m", "calibkit",
           *argv]
    launch = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), cwd=REPO)
    deadline = time.monotonic() + 240
    killed = None
    while killed is None and time.monotonic() < deadline and launch.poll() is None:
        files = list((tmp_path / "many").glob("*/*/*/results.rank-1.jsonl"))
        if files and files[0].read_bytes().count(b"\n") >= 1:
            pid = rank_pid(1, str(tmp_path / "many"))
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed = pid
        time.sleep(0.01)
    _, stderr = launch.communicate(timeout=120)
    assert killed is not None, "rank 1 wrote no row before the launch ended"
    assert launch.returncode != 0  # torchrun stops the other ranks (SIGTERM) when one dies; they say how to resume
    assert "items are saved in" in stderr.decode() and "rerun the same command to resume" in stderr.decode()
    folder = run_folder(tmp_path / "many")
    stored = [json.loads(line) for f in sorted(folder.glob("results*.jsonl"))
              for line in f.read_text().splitlines() if line.endswith("}")]
    assert 0 < len(stored) < len(rows(want))  # killed mid-run: some rows kept, some missing

    resumed = torchrun(2, *argv)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{len(stored)} items were already scored, {len(rows(want)) - len(stored)} scored now" in resumed.stderr
    assert_same_run(folder, want)  # no duplicate, none missing, the same summary


def test_tensor_parallel_holds_one_model_over_two_processes(capsys, tmp_path, mmlu_args):
    want = one_process(capsys, tmp_path / "one", *mmlu_args)
    done = torchrun(2, *mmlu_args, "--tp", "--quiet", "--out", str(tmp_path / "tp"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_run(run_folder(tmp_path / "tp"), want)


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("calibkit: ")]


def by_hand(n: int, argv_of_rank, cwd_of_rank=lambda rank: REPO) -> list[tuple[int, str]]:
    """Start ``n`` ranks as torchrun would (the env:// variables), each with its own argv; (exit code, stderr) each.

    Unlike torchrun, nothing stops the other ranks when one fails: each
    must stop by itself.
    """
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [subprocess.Popen([sys.executable, "-m", "calibkit", *argv_of_rank(rank)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=cwd_of_rank(rank),
                              env=env(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(n),
                                      RANK=str(rank), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(n)))
             for rank in range(n)]
    stderrs = [proc.communicate(timeout=120)[1] for proc in procs]
    return [(proc.returncode, stderr) for proc, stderr in zip(procs, stderrs)]


def test_more_processes_than_items_fail_on_every_rank(tmp_path, mmlu_args):
    argv = (*mmlu_args, "--subjects", "anatomy", "--limit", "2", "--quiet", "--out", str(tmp_path))
    for code, stderr in by_hand(3, lambda rank: argv):
        assert code == 2
        assert errors(stderr) == ["calibkit: error: 3 processes for a run of 2 items; launch at most 2 processes "
                                  "(--nproc-per-node) or run more items"]
    done = torchrun(3, *argv)  # through torchrun, which stops the other ranks once one has failed
    assert done.returncode != 0 and "exitcode  : 2" in done.stderr and "calibkit/" not in done.stderr  # no traceback
    assert set(errors(done.stderr)) == {"calibkit: error: 3 processes for a run of 2 items; launch at most 2 "
                                        "processes (--nproc-per-node) or run more items"}


def test_ranks_started_with_different_settings_all_stop_without_waiting(tmp_path, mmlu_args):
    for code, stderr in by_hand(2, lambda rank: (*mmlu_args, "--limit", str(3 + rank), "--quiet", "--out",
                                                 str(tmp_path))):
        assert code == 2
        assert errors(stderr) == ["calibkit: error: the 2 processes were started with different settings (--limit); "
                                  "launch every process with the same command"]


def test_nodes_that_do_not_share_the_run_folder_stop_at_once(tmp_path, mmlu_args):
    """Two "nodes": the same relative --out from different folders, as on nodes without a shared filesystem."""
    for rank in (0, 1):
        (tmp_path / f"node{rank}").mkdir()
    results = by_hand(2, lambda rank: (*mmlu_args, "--quiet", "--out", "runs"), lambda rank: tmp_path / f"node{rank}")
    assert [code for code, _ in results] == [2, 2]
    (folder,) = [p.parent.relative_to(tmp_path / "node0") for p in (tmp_path / "node0").glob("runs/*/*/*/config.json")]
    expected = (f"rank 1 cannot see the run folder {folder} that rank 0 created; "
                "put --out on a filesystem every node shares")
    assert errors(results[0][1]) == [f"calibkit: error: rank 1: {expected}"]
    assert errors(results[1][1]) == [f"calibkit: error: {expected}"]


def test_commands_that_run_in_one_process_refuse_a_launch(capsys, tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    code, _, err = run_cli(capsys, "idk", "build", "--model", str(tiny_model_dir), "--out", str(tmp_path))
    assert code == 2
    assert err == ("calibkit: error: this command runs in one process; launch it without torchrun / "
                   "accelerate launch\n")


def test_tp_needs_torchrun(capsys, tmp_path, mmlu_args):
    code, _, err = run_cli(capsys, *mmlu_args, "--tp", "--out", str(tmp_path))
    assert code == 2
    assert err == ("calibkit: error: --tp splits one model over the processes torchrun starts; launch with "
                   "torchrun --nproc-per-node N -m calibkit run ... --tp\n")
