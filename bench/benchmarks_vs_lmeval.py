"""calibkit's accuracy on the eleven benchmarks beside lm-evaluation-harness's, on the same 200 items.

Reads bench/lmeval_benchmarks_200.json (made by bench/lmeval_benchmarks.py
in the bench venv), lays the embedded rows out the same way (first 200
rows, COPA 50, as the split lm-eval scores; the rest as train), runs
calibkit's own prompts through calibkit's scorer with the embedded SmolLM2
in float32, and prints one markdown table: items, lm-eval's acc (acc_norm),
calibkit's, and the largest |log-prob difference| over every request.
A benchmark whose rows are not lm-eval's real prompt (BoolQ: the embedded
google/boolq passages lack super_glue's "Title -- ", and lm-eval was fed
the same title-less rows) is marked in the table, with calibkit's note
under it: agreement there is not agreement with lm-eval's own BoolQ.
Runs in calibkit's own venv; never imports lm_eval.

Example (about 10 minutes on the 2-core dev machine)::

    .venv/bin/python bench/benchmarks_vs_lmeval.py --reference bench/lmeval_benchmarks_200.json
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def write_layout(task, n_eval: int, folder: Path) -> Path:
    """Embedded validation rows[:n_eval] as lm-eval's scored split, the rest as train, as JSONL."""
    from calibkit.tasks.benchmarks.data import open_source

    rows = open_source(task.spec, "embedded").rows("validation")
    out = folder / task.name
    out.mkdir()
    for split, part in ((task.spec.eval_split, rows[:n_eval]), ("train", rows[n_eval:])):
        with (out / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in part)
    return out


def accuracies(items) -> tuple[float, float | None]:
    from calibkit.stats.multiple_choice import length_normalised, option_arrays

    arr = option_arrays(items)
    acc = float((arr.logprobs.argmax(axis=1) == arr.labels).mean())
    norm = length_normalised(items)
    return acc, None if norm is None else float((norm.logprobs.argmax(axis=1) == norm.labels).mean())


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--tasks", default=None, help="comma-separated subset of the benchmarks (default: all)")
    args = parser.parse_args(argv)

    import torch

    from calibkit.engine.models import LoadOptions, load_model
    from calibkit.engine.scoring import ScoreConfig, score
    from calibkit.tasks.benchmarks import BENCHMARKS

    if args.threads:
        torch.set_num_threads(args.threads)
    reference = json.loads(args.reference.read_text(encoding="utf-8"))
    model = load_model("smollm2-135m-instruct", options=LoadOptions(dtype="float32", device="cpu"))
    print(f"reference: {reference['command']}\n")
    print("| benchmark | items | lm-eval acc | calibkit acc | lm-eval acc_norm | calibkit acc_norm "
          "| max abs Δ log-prob |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    notes: list[str] = []  # calibkit's notes of rows that are not lm-eval's prompt (footnotes of the table)
    with tempfile.TemporaryDirectory() as tmp:
        for task in BENCHMARKS:
            if args.tasks and task.name not in args.tasks.split(","):
                continue
            ref = reference["tasks"][task.name]
            data = write_layout(task, ref["n"], Path(tmp))
            options = dict(data=str(data), split=None, limit=ref["n"], shots=0, fewshot_as_multiturn=False,
                           seed=1234)
            prompts, config = task.prompts(options, none_of_the_above=False)
            own = list(config.get("departures", ()))
            marks = "".join(f" [{len(notes) + i + 1}]" for i in range(len(own)))
            notes += own
            items = score(model, prompts, config=ScoreConfig(progress=False))
            ref_lp = [lp for it in ref["items"] for lp in it["logprobs"]]
            got_lp = [lp for it in items for lp in it.logprobs]
            worst = float(np.abs(np.asarray(got_lp) - np.asarray(ref_lp)).max())
            acc, norm = accuracies(items)
            m = ref["metrics"]
            print(f"| {task.name}{marks} | {len(items)} | {fmt(m.get('acc'))} | {fmt(acc)} "
                  f"| {fmt(m.get('acc_norm'))} | {fmt(norm)} | {worst:.1e} |", flush=True)
    for i, note in enumerate(notes, 1):
        print(f"\n[{i}] not lm-eval's own prompt, on both sides: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
