"""Read lm-evaluation-harness ``--log_samples`` files as calibkit runs.

lm-eval writes one JSON object per document to
``samples_<task>_<date>.jsonl``; for multiple-choice tasks it holds each
choice's request (``arguments.gen_args_<i>.arg_0/arg_1``: context and
continuation) and its log-likelihood (``filtered_resps[i][0]``, stringified).
This module turns those into :class:`~calibkit.records.ScoredItem` rows of a
run folder, so calibration can be computed for evaluations already run.
It never imports lm-eval or torch.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Mapping

import click

from calibkit.errors import UserError
from calibkit.records import ScoredItem
from calibkit.runs.runner import Job
from calibkit.runs.store import RunError, RunStore
from calibkit.tasks.multiple_choice import MultipleChoiceTask

_SAMPLES_NAME = re.compile(r"^samples_(?P<task>.+?)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.]+)$")


class ImportProblem(RunError):
    """The file is not lm-eval multiple-choice samples output."""


def task_from_filename(path: Path) -> str:
    """``samples_mmlu_anatomy_2024-05-01T10-00-00.123.jsonl`` -> ``mmlu_anatomy``."""
    m = _SAMPLES_NAME.match(path.stem)
    return m.group("task") if m else path.stem


def _pairs(arguments: Any) -> list[tuple[str, str]]:
    # Saved files hold {"gen_args_0": {"arg_0": ctx, "arg_1": cont}, ...};
    # the in-memory form (and older versions) a list of [ctx, cont].
    if isinstance(arguments, Mapping):
        keys = sorted(arguments, key=lambda k: int(str(k).rsplit("_", 1)[-1]))
        return [(arguments[k]["arg_0"], arguments[k]["arg_1"]) for k in keys]
    return [(a[0], a[1]) for a in arguments]


def _loglikelihood(resp: Any) -> float:
    # filtered_resps[i] is [ll, is_greedy] (strings after lm-eval's sanitising)
    # or, in some versions, the string "(ll, is_greedy)".
    if isinstance(resp, str):
        resp = ast.literal_eval(resp)
    if isinstance(resp, (list, tuple)):
        resp = resp[0]
    return float(resp)


def _answer(target: Any, continuations: list[str]) -> int | None:
    # lm-eval's doc_to_target gives an index (int) or the right choice's
    # text; after --log_samples both arrive as strings. Match the text first,
    # so a target "2" among choices " 1", " 2", " 3" is the choice "2".
    if isinstance(target, int) and not isinstance(target, bool):
        return target if 0 <= target < len(continuations) else None
    text = str(target).strip()
    stripped = [c.strip() for c in continuations]
    if text in stripped:
        return stripped.index(text)
    if re.fullmatch(r"\d+", text) and int(text) < len(continuations):
        return int(text)
    return None


def sample_item(row: Mapping[str, Any], task: str) -> ScoredItem:
    """One lm-eval sample as a scored item (natural-log likelihoods, as lm-eval reports)."""
    try:
        pairs = _pairs(row["arguments"])
        logprobs = tuple(_loglikelihood(r) for r in row["filtered_resps"])
    except (KeyError, TypeError, ValueError, SyntaxError, IndexError):
        raise ImportProblem(
            "a sample has no per-choice arguments/filtered_resps; only multiple-choice tasks "
            "(output_type: multiple_choice) logged with --log_samples can be imported"
        ) from None
    if len(pairs) != len(logprobs) or len(pairs) < 2:
        raise ImportProblem("a sample is not multiple choice (needs one log-likelihood per choice, at least two)")
    doc = row.get("doc") or {}
    continuations = [c for _, c in pairs]
    meta: dict[str, Any] = {"lm_eval_task": task, "context": pairs[0][0]}
    subject = task[len("mmlu_"):] if task.startswith("mmlu_") else None
    if subject:
        from calibkit.tasks.mmlu import CATEGORIES

        meta["subject"] = subject
        if subject in CATEGORIES:
            meta["category"] = CATEGORIES[subject]
    if isinstance(doc, Mapping) and "question" in doc:
        meta["question"] = str(doc["question"])
    return ScoredItem(
        id=f"lm-eval/{task}/{row.get('doc_id')}",
        task=f"lm-eval/{task}",
        options=tuple(continuations),
        logprobs=logprobs,
        answer=_answer(row.get("target"), continuations),
        meta=meta,
    )


def import_samples(path: str | Path, *, out: str | Path = "runs", model: str | None = None) -> RunStore:
    """Write ``out/lm-eval/<model>/<hash>/`` from one samples file; returns the store."""
    path = Path(path)
    if not path.is_file():
        raise ImportProblem(f"no such samples file: {path}; pass the samples_<task>_<date>.jsonl that "
                            "lm-eval wrote with --log_samples")
    task = task_from_filename(path)
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ImportProblem(f"{path} line {number} is not JSON; pass an lm-eval samples .jsonl file") from None
        items.append(sample_item(row, task))
    if not items:
        raise ImportProblem(f"{path} holds no samples")
    model_name = model or path.parent.name or "lm-eval-model"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    config = {"task": f"lm-eval/{task}", "model": model_name, "imported_from": digest, "source_file": path.name}
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("_") or "model"
    store = RunStore.create(out, task="lm-eval", model=slug, config=config)
    done = store.completed_ids()
    store.append(it.to_json() for it in items if it.id not in done)
    return store


class LmEvalImport(MultipleChoiceTask):
    """Multiple-choice runs imported from lm-evaluation-harness: read like any other, never run here."""

    name = "lm-eval"
    run_name = "lm-eval"
    runnable = False  # runs come from `calibkit import-lm-eval`, not `calibkit run`
    title = "lm-evaluation-harness multiple-choice samples, imported"

    def owns(self, config: Mapping[str, Any]) -> bool:
        return str(config.get("task", "")).startswith("lm-eval/")

    def options(self) -> list[click.Parameter]:
        return []

    def prompts(self, options: Mapping[str, Any], *, none_of_the_above: bool) -> tuple[list, dict[str, Any]]:
        raise UserError("lm-eval runs are imported, not run: calibkit import-lm-eval SAMPLES.jsonl")

    def load(self, options: Mapping[str, Any]) -> list[Job]:
        return self.prompts(options, none_of_the_above=False)[0]

    def commands(self) -> list[click.Command]:
        return [click.Command(
            "import-lm-eval", callback=functools.partial(_import_command, self),
            params=[
                click.Argument(["samples"], type=click.Path(path_type=Path)),
                click.Option(["--model", "model"], default=None,
                             help="Model name to record (default: the samples file's folder name, as lm-eval "
                                  "names it)."),
                click.Option(["--out"], type=click.Path(path_type=Path), default=Path("runs"), show_default=True),
                click.Option(["--json", "as_json"], is_flag=True),
            ],
            help="""Turn lm-evaluation-harness --log_samples output into a calibkit run.

    Works for multiple-choice tasks (output_type multiple_choice), whose
    samples hold each choice's log-likelihood.

    \\b
    Example:
      calibkit import-lm-eval results/samples_mmlu_abstract_algebra_2024.jsonl --model llama-2-7b
    """,
            short_help="turn lm-evaluation-harness multiple-choice samples into a run",
        )]


def _import_command(task: LmEvalImport, samples: Path, model: str | None, out: Path, as_json: bool) -> None:
    from calibkit.cli import check_writable, echo_run_summary

    check_writable(out)
    store = import_samples(samples, out=out, model=model)
    echo_run_summary(task, store, task.write_report(store), as_json=as_json)
