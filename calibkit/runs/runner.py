"""One run, load -> score -> store: the glue behind ``calibkit run``.

Builds the run's config (everything that determines the numbers), opens or
resumes its folder, scores only the prompts not yet stored, and appends
each finished batch to ``results.jsonl`` as it comes. Analysis and drawing
happen afterwards, from disk (:mod:`calibkit.stats.multiple_choice`, :mod:`calibkit.run_report`).
"""
from __future__ import annotations

import datetime as _dt
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from calibkit.engine.models import DEFAULT_MODEL, LoadedModel, LoadOptions, ModelError, load_model
from calibkit.records import Prompt
from calibkit.runs.store import RunStore


@dataclass(frozen=True)
class RunSettings:
    """Model and engine settings shared by every task's ``run``."""

    model: str = DEFAULT_MODEL  # alias, embedded name, hub id, folder or .gguf file
    load: LoadOptions = field(default_factory=LoadOptions)  # dtype, quantization, device map, revision
    chat_template: str = "auto"  # auto: on when the tokenizer has a chat template; on; off
    system_prompt: str | None = None  # chat form: a system turn before each conversation
    token_budget: int | None = None  # scorer batch budget in tokens; None picks by device
    prefix_caching: bool = True  # reuse shared-prefix KV caches (numbers do not change)
    progress: bool = True  # progress bar on stderr
    out: Path = Path("runs")  # runs go to out/<task>/<model>/<config-hash>/
    run_dir: Path | None = None  # an explicit run folder instead of the hashed one


@dataclass(frozen=True)
class RunOutcome:
    """What a run call did."""

    store: RunStore  # the run folder
    n_total: int  # prompts in the run
    n_scored_now: int  # prompts scored by this call (the rest were on disk)


def versions() -> dict[str, str]:
    """Versions of the packages that can move the numbers."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("calibkit", "torch", "transformers", "tokenizers", "numpy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def use_chat(loaded: LoadedModel, mode: str) -> bool:
    """Resolve ``--chat-template auto|on|off`` for a loaded model."""
    if mode == "auto":
        return loaded.has_chat_template
    if mode == "on":
        if not loaded.has_chat_template:
            raise ModelError(f"{loaded.resolved.name!r} has no chat template; use --chat-template off or auto")
        return True
    if mode == "off":
        return False
    raise ModelError(f"unknown --chat-template {mode!r}; use auto, on or off")


def model_config(loaded: LoadedModel, settings: RunSettings, chat: bool) -> dict[str, Any]:
    """The model part of config.json."""
    r = loaded.resolved
    return {
        "model": r.name,
        "model_source": r.source if r.kind in ("alias", "hub") else r.kind,
        "model_file": r.gguf_file,
        "revision": settings.load.revision,
        "dtype": loaded.dtype,
        "quantization": loaded.quantization,
        "chat_template": chat,
        "system_prompt": settings.system_prompt,
    }


def open_store(task: str, slug: str, config: Mapping[str, Any], settings: RunSettings) -> RunStore:
    """The run folder for a config: explicit ``run_dir`` or the hashed default."""
    full = dict(config)
    full["versions"] = versions()
    full["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    if settings.run_dir is not None:
        return RunStore.at(settings.run_dir, config=full)
    return RunStore.create(settings.out, task=task, model=slug, config=full)


def run_option_task(
    task: str,
    prompts: Sequence[Prompt],
    task_config: Mapping[str, Any],
    settings: RunSettings,
    *,
    loaded: LoadedModel | None = None,
    on_store: Callable[[RunStore], None] | None = None,
) -> RunOutcome:
    """Score ``prompts`` into a run folder, resuming whatever is already there.

    ``task_config`` holds the task's own settings (format, shots, split...).
    ``on_store`` is called with the store as soon as it is open, so a caller
    can report where results go even if scoring is interrupted.
    """
    from calibkit.engine.scoring import ScoreConfig, score_batches

    loaded = loaded or load_model(settings.model, options=settings.load)
    chat = use_chat(loaded, settings.chat_template)
    config = {"task": task, **task_config, **model_config(loaded, settings, chat)}
    store = open_store(task, loaded.resolved.slug, config, settings)
    if on_store is not None:
        on_store(store)
    done = store.completed_ids()
    todo = [p for p in prompts if p.id not in done]
    score_config = ScoreConfig(
        chat=chat,
        system_prompt=settings.system_prompt,
        token_budget=settings.token_budget,
        prefix_caching=settings.prefix_caching,
        progress=settings.progress,
    )
    for batch in score_batches(loaded, todo, config=score_config):
        store.append(item.to_json() for item in batch)
    return RunOutcome(store=store, n_total=len(prompts), n_scored_now=len(todo))
