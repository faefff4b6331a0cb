"""The abstention benchmark run: the model replies to every prompt of an "I don't know" dataset split.

Each prompt is asked as it is, greedy: base form ``"Question: <prompt>\\nAnswer:"``
(the reply ends at a blank line), chat form the prompt as the user turn
(the reply ends at the end of the turn). The reply is classified as an
abstention by :mod:`.abstain`; an answer row's reply is judged against its
accepted answers by TriviaQA's rules (exact match of the normalised answer,
and containment, which credits a chatty reply that holds the answer). With
``likelihood``, the log-probability of " I don't know." after the same
context is scored too, and a reply counts as a likelihood abstention when
that beats the model's own reply. Rows are appended batch by batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from calibkit.records import Prompt, Turn
from calibkit.runs.runner import ActiveRun, run_in_batches
from calibkit.tasks.triviaqa.answers import match_answer

from .abstain import abstains, appropriate

TASK = "idk"
IDK_CONTINUATION = " I don't know."
BASE_STOP = ("\n\n", "\nQuestion:")


@dataclass(frozen=True)
class IdkItem:
    """One dataset row to ask."""

    id: str
    prompt: str
    kind: str  # "answer" or "abstain"
    reason: str
    source: str
    answers: tuple[str, ...]


def items_of(rows: Sequence[Mapping[str, Any]]) -> list[IdkItem]:
    return [IdkItem(r["id"], r["prompt"], r["kind"], r["reason"], r.get("source", ""), tuple(r["answers"]))
            for r in rows]


def context_of(item: IdkItem, run: ActiveRun) -> str:
    """The text the model continues: the base-form question, or the chat template with the prompt as user turn."""
    from calibkit.engine.models import render_chat

    if run.chat:
        return render_chat(run.model.tokenizer, (Turn("user", item.prompt),), system_prompt=run.settings.system_prompt)
    return f"Question: {item.prompt}\nAnswer:"


def run_idk(run: ActiveRun, items: Sequence[IdkItem], *, batch: int = 8) -> None:
    """Reply to ``items`` and append one row each to ``run.store``."""
    from calibkit.engine.generation import GenerationConfig, generate

    config = run.store.config
    gen = GenerationConfig(max_new_tokens=config["max_new_tokens"], stop=() if run.chat else BASE_STOP,
                           progress=False, **({"token_budget": run.settings.token_budget}
                                              if run.settings.token_budget else {}))

    def reply(chunk: Sequence[IdkItem]) -> list[dict[str, Any]]:
        contexts = [context_of(it, run) for it in chunk]
        outs = generate(run.model, contexts, config=gen)
        idk = _idk_logprobs(run, chunk) if config.get("likelihood") else [None] * len(chunk)
        return [_row(it, o.greedy, lp) for it, o, lp in zip(chunk, outs, idk)]

    run_in_batches(run, items, reply, batch_size=batch, unit="prompt", desc="idk")


def _idk_logprobs(run: ActiveRun, chunk: Sequence[IdkItem]) -> list[float]:
    from calibkit.engine.scoring import ScoreConfig, score

    prompts = [Prompt(id=f"idk/{it.id}", task="idk_likelihood", text=f"Question: {it.prompt}\nAnswer:",
                      options=(IDK_CONTINUATION,), turns=(Turn("user", it.prompt),)) for it in chunk]
    s = run.settings
    scored = score(run.model, prompts, config=ScoreConfig(chat=run.chat, system_prompt=s.system_prompt,
                                                          token_budget=s.token_budget, progress=False))
    return [float(x.logprobs[0]) for x in scored]


def _row(item: IdkItem, greedy: Any, idk_logprob: float | None) -> dict[str, Any]:
    reply = greedy.text.strip()
    abstained = abstains(reply)
    match = match_answer(reply, item.answers) if item.answers and reply else None
    correct = bool(match and (match.exact or match.contains))
    mean = greedy.mean_logprob if greedy.token_ids and reply else None
    by_likelihood = None if idk_logprob is None else (not reply or idk_logprob > greedy.total_logprob)
    return {
        "id": item.id, "prompt": item.prompt, "kind": item.kind, "reason": item.reason, "source": item.source,
        "answers": list(item.answers), "reply": reply, "finish_reason": greedy.finish_reason,
        "abstained": abstained, "correct_exact": bool(match and match.exact), "correct": correct,
        "appropriate": appropriate(item.kind, abstained, correct),
        "seq_logprob": greedy.total_logprob if mean is not None else None,
        "seq_prob": math.exp(mean) if mean is not None else None,
        "idk_logprob": idk_logprob, "abstained_by_likelihood": by_likelihood, "task": TASK,
    }
