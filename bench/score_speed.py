"""Speed of calibkit's scorer next to a naive loop and lm-evaluation-harness, on identical prompts.

A script, not a test, and never imported by calibkit or its tests. One run
builds MMLU 5-shot prompts (hendrycks format, as lm-eval's ``mmlu`` task)
with calibkit's adapter and scores the same prompts four ways:

(a) ``naive``: what a simple research script does: one forward pass per
    (prompt, option) pair over context + option, full logits at every
    position, log-softmax, sum the option's token log-probs;
(b) ``lm-eval``: lm-evaluation-harness's ``HFLM.loglikelihood`` (hf backend)
    on the same (context, continuation) requests, when ``lm_eval`` is
    importable in the running interpreter (see bench/README.md for the bench
    venv); skipped with a note otherwise;
(c) ``calibkit``: ``calibkit.engine.scoring.score`` with shared-prefix KV caching;
(d) ``calibkit-no-cache``: the same with ``prefix_caching=False``.

Every method runs in its own subprocess (so peak memory is its own): it
loads the model with ``calibkit.engine.models.load_model`` (same weights and
tokenizer for all four; lm-eval gets the loaded model object), scores the
first prompt once to warm up, resets the kernel's peak-RSS counter
(``/proc/self/clear_refs``), then scores all prompts under the clock.
``--repeat R`` runs R rounds of the four subprocesses, interleaved, and
reports the best round (the least disturbed by other jobs on a shared
machine) and the median. Peak RSS is ``VmHWM`` from ``/proc/self/status``:
for the scoring alone (after the reset) and for the whole process (model
load included). Log-probs of every method are compared with the naive
loop's; they must agree to ~1e-4.

Example (defaults: 3 subjects x 6 questions, SmolLM2-135M float32, CPU)::

    /work/lmeval-venv/bin/python bench/score_speed.py --subjects 3 --per-subject 6
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METHODS = ("naive", "lm-eval", "calibkit", "calibkit-no-cache")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mmlu"


# ------------------------------------------------------------------ worker


def _proc_status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else -1


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _naive(loaded, prompts: list[dict]) -> list[list[float]]:
    """One forward per (prompt, option), full logits: the loop a research script writes."""
    import torch

    tok, model = loaded.tokenizer, loaded.model
    out = []
    with torch.inference_mode():
        for p in prompts:
            row = []
            for option in p["options"]:
                context = p["text"]
                # lm-eval's rule: the context's trailing whitespace belongs to the continuation
                n = len(context) - len(context.rstrip())
                if n:
                    context, option = context[:-n], context[-n:] + option
                whole = tok(context + option)["input_ids"]
                ctx = tok(context)["input_ids"]
                cont = whole[len(ctx):]
                logits = model(torch.tensor([ctx + cont], device=model.device)).logits[0]
                logp = torch.log_softmax(logits.float(), dim=-1)
                row.append(sum(float(logp[len(ctx) - 1 + k, t]) for k, t in enumerate(cont)))
            out.append(row)
    return out


def _lmeval_runner(loaded, batch_size: int | str):
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=loaded.model, tokenizer=loaded.tokenizer, batch_size=batch_size, device=loaded.device)

    def run(prompts: list[dict]) -> list[list[float]]:
        requests = [
            Instance(request_type="loglikelihood", doc={}, arguments=(p["text"], o), idx=j)
            for p in prompts
            for j, o in enumerate(p["options"])
        ]
        results = lm.loglikelihood(requests, disable_tqdm=True)
        out, k = [], 0
        for p in prompts:
            out.append([float(results[k + j][0]) for j in range(len(p["options"]))])
            k += len(p["options"])
        return out

    return run


def _calibkit_runner(loaded, *, prefix_caching: bool):
    from calibkit.engine.scoring import ScoreConfig, score
    from calibkit.records import Prompt

    config = ScoreConfig(prefix_caching=prefix_caching, progress=False)

    def run(prompts: list[dict]) -> list[list[float]]:
        records = [
            Prompt(id=p["id"], task="mmlu", text=p["text"], options=tuple(p["options"]), answer=p["answer"])
            for p in prompts
        ]
        return [list(s.logprobs) for s in score(loaded, records, config=config)]

    return run


def worker(args: argparse.Namespace) -> int:
    import torch

    from calibkit.engine.models import LoadOptions, load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    prompts = json.loads(Path(args.prompts).read_text(encoding="utf-8"))
    used = list(range(len(prompts)))
    if args.worker == "naive" and args.naive_limit and args.naive_limit < len(prompts):
        # Naive has no cross-prompt state, so its items/s on an evenly spread
        # subset is its items/s on the whole set.
        step = len(prompts) / args.naive_limit
        used = sorted({int(i * step) for i in range(args.naive_limit)})
        prompts = [prompts[i] for i in used]
    start = time.perf_counter()
    loaded = load_model(args.model, options=LoadOptions(dtype=args.dtype, device="cpu"))
    load_s = time.perf_counter() - start
    if args.worker == "naive":
        run = lambda ps: _naive(loaded, ps)  # noqa: E731
    elif args.worker == "lm-eval":
        run = _lmeval_runner(loaded, args.lmeval_batch_size)
    else:
        run = _calibkit_runner(loaded, prefix_caching=args.worker == "calibkit")
    run(prompts[:1])  # warm-up: one-time kernel and allocator set-up stays off the clock
    peak_process_kb = _proc_status_kb("VmHWM")
    rss_before_kb = _proc_status_kb("VmRSS")
    reset = _reset_peak_rss()
    start, start_cpu = time.perf_counter(), time.process_time()
    logprobs = run(prompts)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak_scoring_kb = _proc_status_kb("VmHWM")
    result = {
        "method": args.worker,
        "used": used,
        "load_s": load_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "threads": torch.get_num_threads(),
        "rss_before_kb": rss_before_kb,
        "peak_rss_scoring_kb": peak_scoring_kb if reset else None,
        "peak_rss_process_kb": max(peak_process_kb, peak_scoring_kb),
        "logprobs": logprobs,
    }
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")
    return 0


# ------------------------------------------------------------------ driver


def _build_prompts(args: argparse.Namespace) -> list[dict]:
    from calibkit.tasks import mmlu

    if args.subjects.isdigit():
        subjects = list(mmlu.SUBJECTS[: int(args.subjects)])
    else:
        subjects = mmlu.resolve_subjects(args.subjects)
    data = args.data if args.data else (str(DEFAULT_DATA) if DEFAULT_DATA.exists() else None)
    prompts = mmlu.load(
        data=data, subjects=subjects, shots=5, format="hendrycks", limit_per_subject=args.per_subject
    )
    return [{"id": p.id, "text": p.text, "options": list(p.options), "answer": p.answer} for p in prompts]


def _lscpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        match = re.search(r"^Model name:\s*(.+)$", out, re.M)
        return match.group(1).strip() if match else platform.processor()
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _max_abs_diff(a: list[list[float]], b: list[list[float]]) -> float:
    return max(abs(x - y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))


def _mb(kb: int | None) -> str:
    return "n/a" if kb is None or kb < 0 else f"{kb / 1024:.0f}"


def driver(args: argparse.Namespace) -> int:
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"--methods: unknown {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    notes = []
    if "lm-eval" in methods and importlib.util.find_spec("lm_eval") is None:
        methods.remove("lm-eval")
        notes.append(
            f"(b) lm-eval skipped: lm_eval is not importable in {sys.executable}; "
            "run this script with the bench venv's python (bench/README.md)"
        )
    prompts = _build_prompts(args)
    n = len(prompts)
    load_before = os.getloadavg()
    print(f"{n} prompts ({args.subjects} subjects x {args.per_subject}), model {args.model} {args.dtype} CPU; "
          f"methods {', '.join(methods)}; {args.repeat} round(s)", file=sys.stderr, flush=True)

    runs: dict[str, list[dict]] = {m: [] for m in methods}
    with tempfile.TemporaryDirectory(prefix="score_speed-") as tmp:
        prompt_file = Path(tmp) / "prompts.json"
        prompt_file.write_text(json.dumps(prompts), encoding="utf-8")
        for r in range(args.repeat):
            for m in methods:
                out = Path(tmp) / f"{m}-{r}.json"
                cmd = [sys.executable, __file__, "--worker", m, "--prompts", str(prompt_file), "--out", str(out),
                       "--model", args.model, "--dtype", args.dtype,
                       "--lmeval-batch-size", str(args.lmeval_batch_size)]
                if args.threads:
                    cmd += ["--threads", str(args.threads)]
                if args.naive_limit:
                    cmd += ["--naive-limit", str(args.naive_limit)]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    sys.stderr.write(proc.stderr[-4000:])
                    raise SystemExit(f"method {m} failed (exit {proc.returncode})")
                res = json.loads(out.read_text(encoding="utf-8"))
                runs[m].append(res)
                print(f"  round {r + 1} {m:18s} {res['wall_s']:8.1f} s wall {res['cpu_s']:8.1f} s CPU",
                      file=sys.stderr, flush=True)
    load_after = os.getloadavg()

    reference_method = "naive" if "naive" in methods else methods[0]
    ref_run = runs[reference_method][0]
    reference = dict(zip(ref_run["used"], ref_run["logprobs"]))
    best = {m: min(rs, key=lambda x: x["wall_s"] / len(x["used"])) for m, rs in runs.items()}
    rate = {m: len(b["used"]) / b["wall_s"] for m, b in best.items()}

    def diff_vs_reference(r: dict) -> float:
        mine = dict(zip(r["used"], r["logprobs"]))
        shared = sorted(set(mine) & set(reference))
        return _max_abs_diff([mine[i] for i in shared], [reference[i] for i in shared])

    max_diff_all = max(diff_vs_reference(r) for rs in runs.values() for r in rs)

    import torch

    print(f"## score_speed: {datetime.date.today().isoformat()}")
    print()
    print(f"- command: `{shlex.join([Path(sys.executable).as_posix(), *sys.argv])}`")
    threads = sorted({r["threads"] for rs in runs.values() for r in rs})
    print(f"- machine: {os.cpu_count()} CPU cores, {_lscpu_model()}; torch {torch.__version__} "
          f"({'/'.join(map(str, threads))} thread(s) per worker), transformers {_version('transformers')}, "
          f"lm_eval {_version('lm_eval')}, python {platform.python_version()}")
    print(f"- load average (1/5/15 min) before: {'/'.join(f'{x:.1f}' for x in load_before)}, "
          f"after: {'/'.join(f'{x:.1f}' for x in load_after)}")
    print(f"- prompts: {n} MMLU 5-shot (hendrycks) items, {args.subjects} subjects x {args.per_subject}, "
          f"4 options each; model {args.model}, {args.dtype}, CPU; lm-eval batch size {args.lmeval_batch_size}")
    if "naive" in runs and len(runs["naive"][0]["used"]) < n:
        print(f"- naive: an evenly spread {len(runs['naive'][0]['used'])} of the {n} prompts (--naive-limit; "
              "it keeps no state between prompts, so its items/s carries over)")
    print(f"- each method in its own process; best of {args.repeat} interleaved round(s)"
          + (" (median in brackets)" if args.repeat > 1 else ""))
    for note in notes:
        print(f"- {note}")
    print()
    print("| method | items/s | wall s | CPU s | RSS after load MB | peak RSS scoring MB | "
          "x naive | x lm-eval | max abs diff vs " + reference_method + " |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in methods:
        b = best[m]
        walls = [r["wall_s"] for r in runs[m]]
        wall = f"{b['wall_s']:.1f}" + (f" ({statistics.median(walls):.1f})" if len(walls) > 1 else "")
        vs_naive = f"{rate[m] / rate['naive']:.2f}" if "naive" in rate else "n/a"
        vs_lmeval = f"{rate[m] / rate['lm-eval']:.2f}" if "lm-eval" in rate else "n/a"
        diff = max(diff_vs_reference(r) for r in runs[m])
        print(f"| {m} | {rate[m]:.2f} | {wall} | {b['cpu_s']:.1f} | "
              f"{_mb(max(r['rss_before_kb'] for r in runs[m]))} | "
              f"{_mb(max(r['peak_rss_scoring_kb'] or r['peak_rss_process_kb'] for r in runs[m]))} | "
              f"{vs_naive} | {vs_lmeval} | {diff:.2e} |")
    print()
    print(f"Largest |Δ log-prob| between any two runs of any methods: {max_diff_all:.2e}. "
          "'x naive' and 'x lm-eval' are speed-ups in items/s (this method's / that one's). "
          "RSS after load: model loaded and warmed up; peak RSS scoring: VmHWM while scoring "
          "(the whole process's peak where /proc/self/clear_refs cannot reset it).")
    if args.json:
        Path(args.json).write_text(json.dumps({"prompts": [p["id"] for p in prompts], "runs": runs}), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", default="3",
                        help="a number (the first N subjects, alphabetical) or names/categories, comma-separated")
    parser.add_argument("--per-subject", type=int, default=6, help="test questions per subject (first rows)")
    parser.add_argument("--model", default="smollm2-135m-instruct", help="any name calibkit.engine.models.load_model takes")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds; the best is reported")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ", ".join(METHODS))
    parser.add_argument("--lmeval-batch-size", type=int, default=8, help="HFLM batch_size")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per worker (default: torch's)")
    parser.add_argument("--naive-limit", type=int, default=None,
                        help="score only this many evenly spread prompts with the naive loop (its items/s carries over)")
    parser.add_argument("--data", default=None, help="MMLU data for calibkit.tasks.mmlu.load (default ../shared/data/mmlu if present)")
    parser.add_argument("--json", default=None, help="also write every run's raw numbers here")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--prompts", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.per_subject < 1:
        parser.error("--repeat and --per-subject must be at least 1")
    return worker(args) if args.worker else driver(args)


if __name__ == "__main__":
    raise SystemExit(main())
