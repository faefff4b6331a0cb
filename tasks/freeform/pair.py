"""Two models in one run (a base model and a post-trained one): loading, the run folder, each one's context.

The run folder is ``<out>/<task>/<first>__<second>/<hash>/``; config.json
holds the task's settings and each model's settings under ``models``, so a
changed model or dtype is another folder and a rerun resumes.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from calibkit.engine.models import LoadedModel, render_chat
from calibkit.runs.runner import RunSettings, load_run_model, model_config, open_store
from calibkit.runs.store import RunStore
from calibkit.tasks.triviaqa.data import TriviaQuestion
from calibkit.tasks.triviaqa.prompts import generation_context

from .sources import QuestionSet


@dataclass(frozen=True)
class Reader:
    """One loaded model, the role it plays and whether it reads prompts through its chat template."""

    role: str  # "base", "chat", "nudger", ...
    model: LoadedModel
    chat: bool


def load_pair(settings: RunSettings, models: Mapping[str, str]) -> dict[str, Reader]:
    """Each role's model, loaded once with the shared settings (``--chat-template auto`` decides per model)."""
    out = {}
    for role, name in models.items():
        loaded, chat = load_run_model(replace(settings, model=name))
        out[role] = Reader(role, loaded, chat)
    return out


def open_pair_run(task: str, task_config: Mapping[str, Any], readers: Mapping[str, Reader],
                  settings: RunSettings) -> RunStore:
    """Open (or resume) the run folder of ``task_config`` with these models."""
    models = {role: model_config(r.model, replace(settings, model=r.model.resolved.name), r.chat)
              for role, r in readers.items()}
    label = "__".join(r.model.resolved.slug for r in readers.values())
    config = {"task": task, **task_config, "model": " + ".join(r.model.resolved.name for r in readers.values()),
              "models": models}
    return open_store(task, label, config, settings)


def context_for(questions: QuestionSet, question: TriviaQuestion, reader: Reader,
                system_prompt: str | None = None) -> str:
    """The text a model continues to answer ``question``: its base-form prompt, or its chat template's."""
    ctx = generation_context(question, layout=questions.layout, instruction=questions.instruction)
    if reader.chat:
        return render_chat(reader.model.tokenizer, ctx.turns, system_prompt=system_prompt)
    return ctx.text
