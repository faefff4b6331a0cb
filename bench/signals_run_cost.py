"""Issue 25's speed goal: what storing and reporting the free-answer signals adds to ``calibkit run triviaqa --samples 10``.

The same command, ``calibkit run triviaqa --limit N --samples K --threads 1
--quiet``, from two commits of this repository: ``--before`` (default
0e42170, the last commit before the runs stored the signals' inputs) and
``--after`` (default HEAD). Each commit is exported with ``git archive``
into ``--work/<sha>/`` (this checkout's working tree and venv are never
touched) and run by the venv's Python with a shim that maps the export's
``calibkit`` and ``calibkit.tasks`` (``tasks/``, as setup.cfg's package_dir
does) ahead of the venv's editable install. Runs alternate
(before, after, after, before, ...), each into a fresh folder; per run the
process CPU time (user + sys of the child, ``RUSAGE_CHILDREN``), the wall
time and the 1-minute load average before and after. Prints a markdown table,
the medians and the after/before ratio, and checks that both commits gave
the same greedy answers and P(True) values.

    .venv/bin/python bench/signals_run_cost.py --limit 16 --samples 10 --rounds 3

The embedded SmolLM2-135M-Instruct by default (``--model``); one torch
thread, so the CPU time does not include spinning threads on a busy machine.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: runs an exported tree's CLI: its calibkit package and its tasks/ as calibkit.tasks, ahead of any installed copy
SHIM = """
import importlib.util, sys
tree = sys.argv[1]
sys.path.insert(0, tree)
import calibkit
spec = importlib.util.spec_from_file_location("calibkit.tasks", tree + "/tasks/__init__.py",
                                              submodule_search_locations=[tree + "/tasks"])
tasks = importlib.util.module_from_spec(spec)
sys.modules["calibkit.tasks"] = tasks
spec.loader.exec_module(tasks)
calibkit.tasks = tasks
assert calibkit.__file__.startswith(tree), calibkit.__file__
from calibkit.cli import main
sys.argv = ["calibkit", *sys.argv[2:]]
main()
"""


def export_tree(commit: str, work: Path) -> tuple[str, Path]:
    """``git archive`` of ``commit`` under ``work/<sha>`` (reused when there); its full sha and folder."""
    sha = subprocess.run(["git", "rev-parse", commit], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    tree = work / sha[:12]
    if not (tree / "calibkit" / "__init__.py").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return sha, tree


def run_once(python: str, tree: Path, out: Path, args) -> dict:
    """One run of the command from ``tree`` into the fresh folder ``out``: CPU s, wall s, load before/after."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["nice", "-n", str(args.nice), python, "-c", SHIM, str(tree), "run", "triviaqa", "--limit", str(args.limit),
           "--samples", str(args.samples), "--threads", "1", "--quiet", "--model", args.model, "--run-dir", str(out)]
    load0 = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"{tree}: the run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    return {"cpu": cpu, "wall": wall, "load": (load0, os.getloadavg()[0]), "rows": rows,
            "bytes_per_row": (out / "results.jsonl").stat().st_size / max(1, len(rows))}


def _median(values: list[float]) -> float:
    v = sorted(values)
    return (v[len(v) // 2] + v[(len(v) - 1) // 2]) / 2


def _same_outputs(a: list[dict], b: list[dict]) -> tuple[int, float]:
    """Questions with the same greedy answer, and the largest |P(True) difference|, between two runs."""
    by = {r["id"]: r for r in b}
    same = sum(r["greedy_raw"] == by[r["id"]]["greedy_raw"] for r in a if r["id"] in by)
    diff = max(abs(r["p_true"] - by[r["id"]]["p_true"]) for r in a if r["id"] in by)
    return same, diff


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="0e42170")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each commit, alternated")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--python", default=sys.executable, help="the venv whose packages both commits use")
    parser.add_argument("--work", default="/tmp/signals_run_cost")
    parser.add_argument("--nice", type=int, default=5)
    args = parser.parse_args(argv)
    work = Path(args.work)
    trees = {"before": export_tree(args.before, work), "after": export_tree(args.after, work)}
    results: dict[str, list[dict]] = {"before": [], "after": []}
    for r in range(args.rounds):
        for name in (("before", "after") if r % 2 == 0 else ("after", "before")):
            res = run_once(args.python, trees[name][1], work / "runs" / f"{name}-{r}", args)
            results[name].append(res)
            print(f"round {r} {name}: {res['cpu']:.1f} s CPU, {res['wall']:.1f} s wall, load {res['load'][0]:.2f} -> "
                  f"{res['load'][1]:.2f}", file=sys.stderr, flush=True)
    print(f"`calibkit run triviaqa --limit {args.limit} --samples {args.samples} --threads 1 --quiet --model "
          f"{args.model}`; before = {trees['before'][0][:7]}, after = {trees['after'][0][:7]}; "
          f"{args.rounds} runs each, alternated\n")
    print("| round | commit | CPU s (user + sys) | wall s | load avg (1 min) before -> after | bytes/row |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in range(args.rounds):
        for name in ("before", "after"):
            x = results[name][r]
            print(f"| {r} | {name} {trees[name][0][:7]} | {x['cpu']:.1f} | {x['wall']:.1f} | {x['load'][0]:.2f} -> "
                  f"{x['load'][1]:.2f} | {x['bytes_per_row']:,.0f} |")
    med = {n: _median([x["cpu"] for x in results[n]]) for n in results}
    spread = {n: (min(x["cpu"] for x in results[n]), max(x["cpu"] for x in results[n])) for n in results}
    same, diff = _same_outputs(results["before"][0]["rows"], results["after"][0]["rows"])
    print(f"\nMedian CPU: before {med['before']:.1f} s (range {spread['before'][0]:.1f}-{spread['before'][1]:.1f}), "
          f"after {med['after']:.1f} s (range {spread['after'][0]:.1f}-{spread['after'][1]:.1f}); after / before = "
          f"{med['after'] / med['before']:.3f} ({100 * (med['after'] / med['before'] - 1):+.1f}%).")
    print(f"Same greedy answers before and after: {same} / {len(results['before'][0]['rows'])}; "
          f"max |P(True) difference| {diff:.2e}.")


if __name__ == "__main__":
    main()
