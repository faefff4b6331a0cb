"""A Herbstritt & Franke run: score the study's prompts into a (resumable) run folder."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

from calibkit.records import Prompt
from calibkit.runs.runner import ActiveRun, ItemRunner, Job, RunOutcome, RunSettings, run_jobs, score_into
from calibkit.runs.store import RunStore

from . import contexts
from .design import TASK
from .items import StudyError


def with_token_counts(prompts: Sequence[Prompt], tokenizer: Any, *, chat: bool,
                       system_prompt: str | None) -> list[Prompt]:
    """Record each option's token count (``meta["option_tokens"]``), for the per-token mean.

    Counted exactly as the scorer splits context and continuation.
    """
    from calibkit.engine.chat import render_context
    from calibkit.engine.encoding import encode_pair

    out = []
    for p in prompts:
        if p.meta.get("reading") != "sentence":
            out.append(p)
            continue
        context, options = render_context(p, tokenizer, chat=chat, system_prompt=system_prompt)
        counts = [len(encode_pair(tokenizer, context, o)[1]) for o in options]
        out.append(dataclasses.replace(p, meta={**p.meta, "option_tokens": counts}))
    return out


def study_job(*, expression_set: str = "simple", **options: Any) -> Job:
    """The study's prompts and config as one run (checks the options; loads no model).

    ``expression_set``: "simple" (default), "complex" or "both";
    ``options``: the other fields of :class:`.contexts.Study` (``readings``
    empty: listener only; the default ``permutations``, each set's size, is a
    Latin square that cancels position bias).
    """
    study = contexts.Study(expression_set=expression_set, **options)
    if not study.readings and not study.listener:
        raise StudyError("readings: nothing to run (no speaker reading and no listener); "
                         "pass --method or drop --no-listener")
    prompts = list(study.prompts())
    config = {
        "expression_set": list(study.sets),
        "readings": list(study.readings),
        "templates": list(study.templates),
        "permutations": ({s: contexts.orders_for(s, study.permutations) for s in study.sets}
                         if "choice" in study.readings else None),
        "listener": bool(study.listener),
        "seed": int(study.seed),
        "prompt_version": contexts.PROMPT_VERSION,
    }
    return Job(items=prompts, config=config)


def score_study(run: ActiveRun, prompts: Sequence[Prompt]) -> None:
    """The task's run: record each sentence option's token count, then score the prompts into the run.

    The scorer groups prompts by shared prefix itself: every option of a
    sentence or listener prompt, or every context of one forced-choice order.
    """
    annotated = with_token_counts(prompts, run.model.tokenizer, chat=run.chat,
                                   system_prompt=run.settings.system_prompt)
    score_into(run, annotated)


class _Runner(ItemRunner):
    run_name = TASK

    def run(self, run: ActiveRun, items: Sequence[Prompt]) -> None:
        score_study(run, items)


def run_herbstritt_franke(
    settings: RunSettings, *, loaded: Any = None, on_store: Callable[[RunStore], None] | None = None,
    **study: Any,
) -> RunOutcome:
    """Build the study's prompts (``study`` are :func:`study_job`'s options) and score them, resumably.

    With the defaults, SmolLM2-135M on one CPU thread takes about 2 minutes
    for the simple set and 8 for both; most of the complex set's time goes to
    forced choice (720 prompts: 16 orders x 3 templates x 15 contexts).
    ``loaded``: an already loaded model; ``on_store``: called with the run
    folder as soon as it is open. Then :func:`.report.write_run_report`
    makes the report from the folder.
    """
    (outcome,) = run_jobs(_Runner(), [study_job(**study)], settings, loaded=loaded, on_store=on_store)
    return outcome
