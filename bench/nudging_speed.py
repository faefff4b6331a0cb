"""Throughput of nudged decoding next to the base model's plain batched greedy decoding, on the same questions.

A script, not a test: ``python bench/nudging_speed.py --limit 32 --rounds 2``.
It loads the embedded pair once (Gemma-3-270M base, SmolLM2-135M-Instruct
nudger, both dequantized to float32 on the CPU), builds the TriviaQA
contexts of the first ``--limit`` validation questions (the base model's
base-form few-shot prompt, the nudger's chat template and its separator)
and, alternating within each round so that machine load hits all alike,
times:

* ``plain``: :func:`calibkit.engine.generation.generate`, greedy, batched;
* ``<rule> gamma=G``: :func:`calibkit.engine.nudging.nudge` by each rule of
  ``--rules`` at each gamma, batched the same way;
* with ``--before FILE`` (an earlier ``calibkit/engine/nudging.py``, e.g.
  ``git show REV:calibkit/engine/nudging.py > /tmp/before.py``), ``before
  gamma=G``: that engine's ``nudge`` in the same rounds, for a before/after
  on the same machine and load.

Two ratios per round, medians over rounds reported: nudged wall time over
plain wall time, and the cost per generated token (nudged seconds per
token over plain seconds per token; the issue's target: at most 2x at
gamma = 0.4). They differ when nudged answers are longer than the base
model's (a chat nudger's words lead on to longer answers). With CPU time
and the share of words nudged. Model loading is excluded. Prints a
markdown table and one JSON line.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time

import torch

from calibkit.engine.generation import GenerationConfig, generate
from calibkit.engine.models import load_model, set_cpu_threads
from calibkit.engine.nudging import NudgeConfig, nudge
from calibkit.tasks.freeform.pair import Reader, answer_separator, context_for
from calibkit.tasks.free_answer.specs import load_questions


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def load_before(path: str):
    """An earlier engine module, loaded from a file beside the current one."""
    spec = importlib.util.spec_from_file_location("nudging_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def measure(run, wall: float, n_plain: int) -> dict:
    """Time one nudged decoding; its cost next to plain decoding's ``wall`` seconds for ``n_plain`` tokens."""
    answers, wall_n, cpu_n = timed(run)
    words = sum(len(a.words) for a in answers)
    nudged = sum(w.by == "nudger" for a in answers for w in a.words)
    n_tokens = sum(a.n_base_tokens + a.n_nudger_tokens for a in answers)
    return {"wall": wall_n, "cpu": cpu_n, "ratio": wall_n / wall, "share": nudged / max(words, 1), "tokens": n_tokens,
            "token_ratio": (wall_n / max(n_tokens, 1)) / (wall / max(n_plain, 1))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--gammas", default="0.4,0.2")
    ap.add_argument("--rules", default="reference,word-start")
    ap.add_argument("--before", default=None, metavar="FILE", help="an earlier calibkit/engine/nudging.py to time too")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    set_cpu_threads(args.threads)
    gammas = [float(g) for g in args.gammas.split(",")]
    before = load_before(args.before) if args.before else None
    base, nudger = load_model("gemma-3-270m"), load_model("smollm2-135m-instruct")
    qs = load_questions("triviaqa", limit=args.limit)
    chat = Reader("nudger", nudger, True)
    base_ctx = [context_for(qs, q, Reader("base", base, False)) for q in qs.questions]
    nudger_ctx = [context_for(qs, q, chat) for q in qs.questions]
    separators = [answer_separator(qs, q, chat) for q in qs.questions]
    gen = GenerationConfig(max_new_tokens=qs.max_new_tokens, stop=qs.layout.stop, max_batch_contexts=args.batch_size,
                           progress=False)
    results: dict[str, list[dict]] = {}
    for _ in range(args.rounds):
        plain, wall, cpu = timed(lambda: generate(base, base_ctx, config=gen))
        n_plain = sum(len(g.greedy.token_ids) for g in plain)
        results.setdefault("plain", []).append({"wall": wall, "cpu": cpu, "share": 0.0, "tokens": n_plain,
                                                "ratio": 1.0, "token_ratio": 1.0})
        for g in gammas:
            if before is not None:
                old = before.NudgeConfig(gamma=g, max_new_tokens=qs.max_new_tokens, stop=qs.layout.stop,
                                         batch_size=args.batch_size, progress=False)
                results.setdefault(f"before gamma={g}", []).append(
                    measure(lambda: before.nudge(base, nudger, base_ctx, nudger_ctx, config=old), wall, n_plain))
            for rule in args.rules.split(","):
                cfg = NudgeConfig(gamma=g, rule=rule, max_new_tokens=qs.max_new_tokens, stop=qs.layout.stop,
                                  batch_size=args.batch_size, progress=False)
                results.setdefault(f"{rule} gamma={g}", []).append(measure(
                    lambda: nudge(base, nudger, base_ctx, nudger_ctx, config=cfg, nudger_separators=separators),
                    wall, n_plain))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{args.threads} thread(s); {args.limit} TriviaQA questions, batch {args.batch_size}, "
          f"{args.rounds} rounds")
    print("| decoding | wall s | CPU s | tokens | tokens/s | words nudged | wall x plain | per-token cost x plain |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    summary = {}
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        summary[name] = med
        print(f"| {name} | {med['wall']:.1f} | {med['cpu']:.1f} | {med['tokens']:.0f} | "
              f"{med['tokens'] / med['wall']:.2f} | {med['share']:.3f} | {med['ratio']:.2f} | "
              f"{med['token_ratio']:.2f} |")
    print(json.dumps({"limit": args.limit, "rounds": args.rounds, "threads": args.threads, "results": summary}))


if __name__ == "__main__":
    main()
