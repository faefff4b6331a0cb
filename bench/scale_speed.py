"""Items/s of one `calibkit run mmlu` in one process and shared by several (torchrun), side by side.

A script, not a test::

    python bench/scale_speed.py --rounds 2                  # CPU: 1 process (1 and all threads) vs N x 1 thread
    python bench/scale_speed.py --processes 8 --gpu         # a GPU machine: 1 GPU vs 8 GPUs

Each configuration runs the real command (`python -m calibkit run mmlu` or
`torchrun --standalone --nproc-per-node N -m calibkit run mmlu`) on the same
MMLU items with the embedded SmolLM2-135M-Instruct (or ``--model``), into a
fresh folder. The clock starts when config.json appears (every rank has
loaded its model by then: the load is a collective step) and stops when
the command exits, so it covers scoring, the merge of the rank files and
the summary, not interpreter start-up or model loading. Configurations
alternate within each round so that machine load hits all alike; medians
over rounds are reported with the ratio to one process. Prints a markdown
table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(cmd: list[str], out: Path, env: dict[str, str]) -> float:
    """Seconds from the run folder's config.json appearing to the command's exit."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    start = None
    while proc.poll() is None:
        if start is None and any(out.glob("*/*/*/config.json")):
            start = time.perf_counter()
        time.sleep(0.005)
    end = time.perf_counter()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read()[-2000:]}")
    if start is None:
        raise SystemExit(f"{' '.join(cmd)}: no run folder appeared under {out}")
    return end - start


def configurations(args: argparse.Namespace) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Name -> (command prefix, extra environment)."""
    one = [sys.executable, "-m", "calibkit"]
    many = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(args.processes),
            "-m", "calibkit"]
    if args.gpu:
        return {"1 GPU": (one, {"CUDA_VISIBLE_DEVICES": "0"}), f"{args.processes} GPUs": (many, {})}
    cores = os.cpu_count() or 1
    return {
        "1 process x 1 thread": (one, {"OMP_NUM_THREADS": "1"}),
        f"1 process x {cores} threads": (one, {"OMP_NUM_THREADS": str(cores)}),
        f"{args.processes} processes x 1 thread": (many, {"OMP_NUM_THREADS": "1"}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--subjects", default="anatomy,astronomy,virology,marketing")
    ap.add_argument("--limit", type=int, default=16, help="questions per subject")
    ap.add_argument("--shots", type=int, default=5)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--gpu", action="store_true", help="compare one GPU with --processes GPUs")
    args = ap.parse_args()
    task = ["run", "mmlu", "--model", args.model, "--subjects", args.subjects, "--limit", str(args.limit),
            "--shots", str(args.shots), "--quiet"]
    n_items = args.limit * len(args.subjects.split(","))
    configs = configurations(args)
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    root = Path(tempfile.mkdtemp(prefix="scale-speed-"))
    try:
        for r in range(args.rounds):
            for name, (prefix, extra) in configs.items():
                out = root / f"{r}-{len(seconds[name])}-{name.replace(' ', '_')}"
                env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", **extra}
                seconds[name].append(timed_run([*prefix, *task, "--out", str(out)], out, env))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = statistics.median(next(iter(seconds.values())))
    print(f"MMLU, {n_items} items ({args.subjects}, {args.shots}-shot), {args.model}, median of {args.rounds} rounds, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores\n")
    print("| configuration | seconds | items/s | speed-up vs first |")
    print("|---|---:|---:|---:|")
    result = {}
    for name, values in seconds.items():
        med = statistics.median(values)
        result[name] = {"seconds": med, "items_per_s": n_items / med, "speedup": base / med}
        print(f"| {name} | {med:.1f} | {n_items / med:.2f} | {base / med:.2f}x |")
    print(json.dumps({"items": n_items, "rounds": args.rounds, "configurations": result}))


if __name__ == "__main__":
    main()
