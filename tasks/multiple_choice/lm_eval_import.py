"""Read lm-evaluation-harness ``--log_samples`` files as calibkit runs.

lm-eval writes one JSON object per document to
``samples_<task>_<date>.jsonl``; for multiple-choice tasks it holds each
choice's request (``arguments.gen_args_<i>.arg_0/arg_1``: context and
continuation) and its log-likelihood (``filtered_resps[i][0]``, stringified).
This module turns those into :class:`~calibkit.records.ScoredItem` rows of a
run folder, so calibration can be computed for evaluations already run.

Each item's right choice is lm-eval's own gold (:func:`answers`): for a
multiple-input task (Winogrande) ``doc_to_text(doc)``, read off the doc as
lm-eval's task code does; otherwise ``doc_to_target(doc)``, which the file
holds as ``target`` (an index written as its digits, or the right choice's
text). Every answer is checked against the ``acc`` lm-eval logged for the
sample; a file whose verdicts no reading reproduces is refused, never
imported with guessed answers. It never imports lm-eval or torch.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import click
import numpy as np

from calibkit.errors import UserError
from calibkit.records import ScoredItem
from calibkit.runs.runner import Job
from calibkit.runs.store import RunError, RunStore
from calibkit.tasks.multiple_choice import MultipleChoiceTask
from calibkit.tasks.multiple_choice.mmlu_subjects import CATEGORIES

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


@dataclass(frozen=True)
class Sample:
    """One line of an lm-eval samples file, as lm-eval 0.4 writes it (``evaluator.py``, ``save_results_samples``)."""

    doc_id: Any  # lm-eval's doc_id (the doc's row in the split it scored)
    doc: Mapping[str, Any]  # the doc as lm-eval read it, after its process_docs
    contexts: tuple[str, ...]  # each request's context (arg_0); all equal unless the task is multiple-input
    continuations: tuple[str, ...]  # each request's continuation (arg_1): target delimiter + choice
    logprobs: tuple[float, ...]  # each request's log-likelihood, natural log (filtered_resps[i][0])
    target: Any  # str(doc_to_target(doc)) as written; an int in the in-memory form
    acc: Any  # the sample's logged "acc" (lm-eval's own verdict, 1.0 or 0.0), None when not logged

    @property
    def multiple_input(self) -> bool:
        """lm-eval's multiple-input mode (Winogrande): one continuation after a context per choice."""
        return len(set(self.continuations)) == 1 and len(set(self.contexts)) == len(self.contexts)

    @property
    def pred(self) -> int:
        """lm-eval's prediction, ``np.argmax(lls)`` (the first on ties)."""
        return int(np.argmax(self.logprobs))

    def where(self) -> str:
        """How an error names the sample."""
        return f"sample doc_id {self.doc_id}"


def parse_sample(row: Mapping[str, Any]) -> Sample:
    """A samples line as a :class:`Sample`; :class:`ImportProblem` when it is not multiple-choice output."""
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
    doc = row.get("doc")
    return Sample(doc_id=row.get("doc_id"), doc=doc if isinstance(doc, Mapping) else {},
                  contexts=tuple(str(c) for c, _ in pairs), continuations=tuple(str(o) for _, o in pairs),
                  logprobs=logprobs, target=row.get("target"), acc=row.get("acc"))


# ------------------------------------------------------------------ the answer, as lm-eval derives it
#
# lm-eval's gold (ConfigurableTask.process_results): doc_to_text(doc) for a
# multiple-input task, else doc_to_target(doc); an int is the choice's index,
# a str is looked up with choices.index(). The samples file writes
# str(doc_to_target(doc)), so an index arrives as a digit string, and a
# multiple-input task's target is the shared continuation, never the answer.

TARGET_READINGS = ("index", "text")  # what a single-input task's `target` holds


def _index_reading(s: Sample) -> int | None:
    """``target`` as lm-eval's choice index (doc_to_target gave an int), or None when it cannot be one."""
    t = s.target
    if isinstance(t, int) and not isinstance(t, bool):
        value = t
    elif isinstance(t, str) and t.isdigit():
        value = int(t)
    else:
        return None
    return value if value < len(s.continuations) else None


def _text_reading(s: Sample) -> int | None:
    """``target`` as a choice's text: ``choices.index(target)``, the choice being the continuation after its
    target delimiter (the whitespace every continuation starts with: " ", or "" under a chat template)."""
    if not isinstance(s.target, str):
        return None
    delimiter = os.path.commonprefix(list(s.continuations))
    delimiter = delimiter[: len(delimiter) - len(delimiter.lstrip())]
    for choices in ([c[len(delimiter):] for c in s.continuations], list(s.continuations)):
        if s.target in choices:
            return choices.index(s.target)
    return None


def _readings(s: Sample) -> dict[str, int | None]:
    return {"index": _index_reading(s), "text": _text_reading(s)}


def _verdict(s: Sample) -> bool | None:
    """lm-eval's logged acc as a bool; None when not logged. A value other than 0/1 is not lm-eval's
    accuracy against one right answer (truthfulqa_mc2 logs the mass on its true answers)."""
    if s.acc is None:
        return None
    try:
        acc = float(s.acc)
    except (TypeError, ValueError):
        acc = math.nan
    if acc not in (0.0, 1.0):
        raise ImportProblem(f"{s.where()} logs acc={s.acc!r}, not lm-eval's 0/1 accuracy against one right "
                            "answer (a task with several right answers, such as truthfulqa_mc2); calibkit's items "
                            "have exactly one, so these samples cannot be imported")
    return acc == 1.0


def target_reading(samples: Sequence[Sample], *, forced: str | None = None) -> str:
    """Whether the single-input samples' ``target`` holds choice indices or choice texts.

    lm-eval writes an index as its digits, so a digit target reads both ways
    when the choices are numbers ("1" is choice 1, or the choice " 1"). The
    reading must give every sample a choice; between two that do and differ,
    lm-eval's logged acc decides (the reading whose right answer reproduces
    every logged verdict). ``forced``: the reading the user chose.
    """
    candidates = (forced,) if forced else TARGET_READINGS
    valid = [r for r in candidates if all(_readings(s)[r] is not None for s in samples)]
    if not valid:
        bad = next((s for s in samples if all(_readings(s)[r] is None for r in candidates)), None)
        raise ImportProblem(_unreadable(bad, forced) if bad else
                            "some samples' targets read only as choice indices and others only as choice texts; "
                            "pass --targets index or --targets text to say which this task writes")
    if len(valid) == 1 or all(_readings(s)["index"] == _readings(s)["text"] for s in samples):
        return valid[0]
    agree = [r for r in valid if all(_verdict(s) in (None, (s.pred == _readings(s)[r])) for s in samples)]
    if len(agree) == 1:
        return agree[0]
    raise ImportProblem("the samples' targets are digits that read both as choice indices and as the texts of "
                        "numeric choices (lm-eval writes an index as its digits), and lm-eval's logged acc "
                        f"{'does not tell which' if agree else 'agrees with neither'}; pass --targets index "
                        "(doc_to_target gives the index, e.g. '{{label}}') or --targets text (it gives the "
                        "right choice's text)")


def _unreadable(s: Sample, forced: str | None) -> str:
    target = str(s.target)
    if target.startswith("[") and target.endswith("]"):
        return (f"{s.where()}: target {target} lists several right answers (a multiple-target task); calibkit's "
                "items have exactly one, so these samples cannot be imported")
    how = f"a choice's {'index' if forced == 'index' else 'text'}" if forced else "a choice index or a choice's text"
    return (f"{s.where()}: target {target!r} is not {how} among its {len(s.continuations)} choices; "
            "lm-eval scores such an item as wrong (gold -100), so its samples cannot be imported")


def multiple_input_answer(s: Sample) -> int:
    """The answer of a multiple-input sample: lm-eval's ``doc_to_text(doc)``.

    lm-eval's multiple-input tasks write it as ``{"1": 0, "2": 1}[doc["answer"]]``
    (winogrande and its translations, xwinograd) or ``doc["label"]`` (wsc273);
    failing those, the logged acc of a two-choice sample gives it.
    """
    doc, k = s.doc, len(s.continuations)
    if str(doc.get("answer")) in ("1", "2") and "option1" in doc and "option2" in doc and k == 2:
        return int(str(doc["answer"])) - 1
    label = doc.get("label")
    if isinstance(label, int) and not isinstance(label, bool) and 0 <= label < k:
        return label
    verdict = _verdict(s)
    if verdict is not None and (verdict or k == 2):
        return s.pred if verdict else 1 - s.pred
    raise ImportProblem(f"{s.where()} is from a multiple-input task (one continuation after a context per choice), "
                        "whose answer lm-eval takes from doc_to_text(doc); the samples do not record it and its doc "
                        "has no winogrande-style 'answer' or wsc273-style 'label' field")


def answers(samples: Sequence[Sample], *, targets: str | None = None) -> tuple[list[int], str]:
    """Each sample's right choice, derived as lm-eval derives it, and how (``"index"``, ``"text"``,
    ``"multiple-input"`` or a mix joined by "+"). Every answer must reproduce lm-eval's logged acc."""
    single = [s for s in samples if not s.multiple_input]
    reading = target_reading(single, forced=targets) if single else None
    out = [multiple_input_answer(s) if s.multiple_input else _readings(s)[reading] for s in samples]
    for s, gold in zip(samples, out):
        verdict = _verdict(s)
        if verdict is not None and verdict != (s.pred == gold):
            raise ImportProblem(f"{s.where()}: lm-eval logged acc={s.acc!r}, but its highest log-likelihood is "
                                f"choice {s.pred} and the answer read from the sample is choice {gold}; this task "
                                "scores in its own way (a custom process_results or acc_mutual_info), so its "
                                "samples cannot be imported as one right answer per item")
    kinds = ([reading] if single else []) + (["multiple-input"] if len(single) < len(samples) else [])
    return out, "+".join(kinds)


def sample_item(s: Sample, task: str, answer: int) -> ScoredItem:
    """One lm-eval sample as a scored item (natural-log likelihoods, as lm-eval reports)."""
    meta: dict[str, Any] = {"lm_eval_task": task, "context": s.contexts[0]}
    if s.multiple_input:
        meta["contexts"] = list(s.contexts)
    subject = task[len("mmlu_"):] if task.startswith("mmlu_") else None
    if subject:
        meta["subject"] = subject
        if subject in CATEGORIES:
            meta["category"] = CATEGORIES[subject]
    if "question" in s.doc:
        meta["question"] = str(s.doc["question"])
    return ScoredItem(id=f"lm-eval/{task}/{s.doc_id}", task=f"lm-eval/{task}", options=s.continuations,
                      logprobs=s.logprobs, answer=answer, meta=meta)


def read_samples(path: Path) -> list[Sample]:
    """Every sample of an lm-eval samples file."""
    if not path.is_file():
        raise ImportProblem(f"no such samples file: {path}; pass the samples_<task>_<date>.jsonl that "
                            "lm-eval wrote with --log_samples")
    samples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ImportProblem(f"{path} line {number} is not JSON; pass an lm-eval samples .jsonl file") from None
        samples.append(parse_sample(row))
    if not samples:
        raise ImportProblem(f"{path} holds no samples")
    return samples


def import_samples(path: str | Path, *, out: str | Path = "runs", model: str | None = None,
                   targets: str | None = None) -> RunStore:
    """Write ``out/lm-eval/<model>/<hash>/`` from one samples file; returns the store, holding its writer lock.

    ``targets``: ``"index"`` or ``"text"`` forces how a single-input task's
    ``target`` is read (default: derived, see :func:`target_reading`).
    """
    path = Path(path)
    task = task_from_filename(path)
    samples = read_samples(path)
    golds, answer_from = answers(samples, targets=targets)
    items = [sample_item(s, task, gold) for s, gold in zip(samples, golds)]
    model_name = model or path.parent.name or "lm-eval-model"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    config = {"task": f"lm-eval/{task}", "model": model_name, "imported_from": digest, "source_file": path.name,
              "answer_from": answer_from}
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("_") or "model"
    store = RunStore.create(out, task="lm-eval", model=slug, config=config, hold=True)
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


def import_command() -> click.Command:
    """`calibkit import-lm-eval SAMPLES`: a command, not a task (the runs it writes are read by :class:`LmEvalImport`)."""
    return click.Command(
            "import-lm-eval", callback=functools.partial(_import_command, LmEvalImport()),
            params=[
                click.Argument(["samples"], type=click.Path(path_type=Path)),
                click.Option(["--model", "model"], default=None,
                             help="Model name to record (default: the samples file's folder name, as lm-eval "
                                  "names it)."),
                click.Option(["--out"], type=click.Path(path_type=Path), default=Path("runs"), show_default=True),
                click.Option(["--targets"], type=click.Choice(TARGET_READINGS), default=None,
                             help="How the samples' `target` names the right choice: its index or its text. "
                                  "Default: as lm-eval reads it, checked against each sample's logged acc; "
                                  "needed only when numeric choices leave that open."),
                click.Option(["--json", "as_json"], is_flag=True),
            ],
            help="""Turn lm-evaluation-harness --log_samples output into a calibkit run.

    Works for multiple-choice tasks (output_type multiple_choice), whose
    samples hold each choice's log-likelihood. The right choice is lm-eval's
    own: doc_to_text(doc) for multiple-input tasks (Winogrande), else
    doc_to_target(doc) (the file's `target`: an index or the choice's text),
    checked against the acc lm-eval logged for each sample.

    \\b
    Example:
      calibkit import-lm-eval results/samples_mmlu_abstract_algebra_2024.jsonl --model llama-2-7b
    """,
            short_help="turn lm-evaluation-harness multiple-choice samples into a run",
        )


def _import_command(task: LmEvalImport, samples: Path, model: str | None, out: Path, targets: str | None,
                    as_json: bool) -> None:
    from calibkit.runs.command import check_writable
    from calibkit.runs.echo import echo_run_summary

    check_writable(out)
    store = import_samples(samples, out=out, model=model, targets=targets)
    echo_run_summary(task, store, task.write_report(store), as_json=as_json)
