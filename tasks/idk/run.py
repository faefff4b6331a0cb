"""The abstention benchmark run: the model replies to every prompt of an "I don't know" dataset split.

Each prompt is asked as it is, greedy: base form ``"Question: <prompt>\\nAnswer:"``
(the reply ends at a blank line), chat form the prompt as the user turn
(the reply ends at the end of the turn). The reply is read by the judge of
:mod:`.abstain` (abstain, hedged answer, answer, empty); an answer row's
reply is judged against its accepted answers by TriviaQA's rules (exact
match of the normalised answer, and containment, which credits a chatty
reply that holds the answer), and an MMLU row's also by its letter alone
("B", "(B)", "B."). With ``likelihood``, the per-token log-probabilities of
" I don't know." after the same context are read too, and a reply counts as
a likelihood abstention when their mean beats the mean of the reply's own
tokens (means, so that a short phrase is not favoured over a long reply for
its length alone). The replies are decoded by the free-answer layer's
answering routine (:class:`calibkit.tasks.free_answer.answering.Answerer`,
which records each context in the run's prompt records) with
:data:`IDK_LAYOUT`. Rows are appended batch by batch; a row keeps its
constructed twin (``pair``) and ``group`` for the paired study, and the
inputs of the free-answer confidence signals of its reply
(:func:`calibkit.tasks.free_answer.signal_inputs.signal_fields`: the greedy
reply's token log-probs, entropies and terminator log-prob; the sample
fields are empty, as a run without samples keeps them).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from calibkit.records import Prompt, Turn
from calibkit.runs.runner import ActiveRun, run_in_batches, scored_reading_of
from calibkit.tasks.free_answer.answering import Answerer, Decoding
from calibkit.tasks.free_answer.answers import MATCHERS, match_answer
from calibkit.tasks.free_answer.layouts import GenerationContext, QALayout, generation_context
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.signal_inputs import signal_fields

from .abstain import appropriate, judge

TASK = "idk"
IDK_CONTINUATION = " I don't know."
BASE_STOP = ("\n\n", "\nQuestion:")
#: a prompt asked as it is: "Question: <prompt>\nAnswer:" (not flattened), the reply ending at a blank line
IDK_LAYOUT = QALayout(name="idk", question_prefix="Question:", answer_prefix="Answer:", separator="\n",
                      stop=BASE_STOP, flatten=False)


@dataclass(frozen=True)
class IdkItem:
    """One dataset row to ask."""

    id: str
    prompt: str
    kind: str  # "answer" or "abstain"
    reason: str
    source: str
    answers: tuple[str, ...]
    group: str = ""  # the dataset's split unit
    pair: str = ""  # the id of the row's constructed twin; "" for model-relative rows


def items_of(rows: Sequence[Mapping[str, Any]]) -> list[IdkItem]:
    """Dataset rows (a split's JSON lines) as items; datasets written before twins have no group or pair."""
    return [IdkItem(r["id"], r["prompt"], r["kind"], r["reason"], r.get("source", ""), tuple(r["answers"]),
                    r.get("group", ""), r.get("pair", "")) for r in rows]


def context_of(item: IdkItem) -> GenerationContext:
    """What the model continues: the base-form question, or (chat form) the prompt alone as the user turn."""
    question = Question(id=item.id, question=item.prompt, aliases=item.answers or ("",))
    return generation_context(question, shots=0, layout=IDK_LAYOUT, instruction=None)


def decoding(max_new_tokens: int) -> Decoding:
    """Greedy, no samples; base form stops at :data:`BASE_STOP`, a chat reply at the end of its turn."""
    return Decoding(layout=IDK_LAYOUT, max_new_tokens=max_new_tokens, instruction=None, stop_in_chat=False)


def run_idk(run: ActiveRun, items: Sequence[IdkItem], *, batch: int = 8) -> None:
    """Reply to ``items`` and append one row each to ``run.store``."""
    config = run.store.config
    answerer = Answerer(run, decoding(config["max_new_tokens"]), answer_fields=("reply",))

    def reply(chunk: Sequence[IdkItem]) -> list[dict[str, Any]]:
        outs = answerer.generate([context_of(it) for it in chunk])
        idk = _idk_logprobs(run, chunk) if config.get("likelihood") else [None] * len(chunk)
        # beside each row, the free-answer signals' inputs of the reply (greedy only: no samples, no clusters)
        return [{**_row(it, o.greedy, lp), **signal_fields(o, (), MATCHERS["triviaqa"])}
                for it, o, lp in zip(chunk, outs, idk)]

    run_in_batches(run, items, reply, batch_size=batch, unit="prompt", desc="idk")


def _idk_logprobs(run: ActiveRun, chunk: Sequence[IdkItem]) -> list[tuple[float, ...]]:
    """Per-token ln P of " I don't know." after each item's context (its own tokens: the joining space is context)."""
    from calibkit.engine.scoring import ScoreConfig, profile_tokens

    prompts = [Prompt(id=f"idk/{it.id}", task="idk_likelihood", text=f"Question: {it.prompt}\nAnswer:",
                      options=(IDK_CONTINUATION,), turns=(Turn("user", it.prompt),)) for it in chunk]
    run.store.keep_texts((it.id, scored_reading_of(run, p, label=p.task, logprobs_field="idk_logprob"))
                         for it, p in zip(chunk, prompts))
    s = run.settings
    read = profile_tokens(run.model, prompts, config=ScoreConfig(chat=run.chat, system_prompt=s.system_prompt,
                                                                 token_budget=s.token_budget, progress=False))
    return [tuple(float(x) for x in p.logprobs) for p in read]


def mmlu_letter_right(reply: str, answers: Sequence[str]) -> bool:
    """Whether a reply to an MMLU row is the right option's letter alone ("B", "(B)", "B.", "B) ...").

    The right letter is the one the row's first accepted answer starts with (``"B. <choice>"``).

    >>> mmlu_letter_right("B", ["B. Paris", "Paris"]), mmlu_letter_right("(B) Paris", ["B. Paris"])
    (True, True)
    >>> mmlu_letter_right("Because", ["B. Paris"]), mmlu_letter_right("A", ["B. Paris"])
    (False, False)
    """
    right = re.match(r"([A-D])\. ", answers[0]) if answers else None
    said = re.match(r"\(?([A-D])(?:\)|\.|:|,|\s|$)", reply.strip())
    return bool(right and said and said.group(1) == right.group(1))


def likelihood_abstains(reply: str, reply_logprobs: Sequence[float], idk_logprobs: Sequence[float]) -> bool:
    """The ``--likelihood`` reading: " I don't know." is more likely per token than the reply (an empty reply abstains).

    >>> likelihood_abstains("Paris", [-0.5], [-0.2, -0.4, -0.3, -0.1])  # -0.25 per token beats -0.5
    True
    >>> likelihood_abstains("The capital is Paris.", [-0.1] * 6, [-2.0] * 4)
    False
    """
    if not reply or not reply_logprobs:
        return True
    return sum(idk_logprobs) / len(idk_logprobs) > sum(reply_logprobs) / len(reply_logprobs)


def _row(item: IdkItem, greedy: Any, idk_logprobs: Sequence[float] | None) -> dict[str, Any]:
    reply = greedy.text.strip()
    judged = judge(reply)
    match = match_answer(reply, item.answers) if item.answers and reply else None
    correct = bool(match and (match.exact or match.contains)) or (
        item.source == "mmlu" and mmlu_letter_right(reply, item.answers))
    mean = greedy.mean_logprob if greedy.token_ids and reply else None
    return {
        "id": item.id, "prompt": item.prompt, "kind": item.kind, "reason": item.reason, "source": item.source,
        "group": item.group, "pair": item.pair, "answers": list(item.answers), "reply": reply,
        "finish_reason": greedy.finish_reason, "judgement": judged.label, "judge_phrase": judged.phrase,
        "abstained": judged.abstained, "hedged": judged.label == "hedged",
        "correct_exact": bool(match and match.exact), "correct": correct,
        "appropriate": appropriate(item.kind, judged.abstained, correct),
        "seq_logprob": greedy.total_logprob if mean is not None else None,
        "seq_prob": math.exp(mean) if mean is not None else None,
        "idk_logprob": None if idk_logprobs is None else float(sum(idk_logprobs)),
        "idk_mean_logprob": None if idk_logprobs is None else float(sum(idk_logprobs) / len(idk_logprobs)),
        "reply_mean_logprob": mean,
        "abstained_by_likelihood": None if idk_logprobs is None else likelihood_abstains(
            reply, greedy.logprobs, idk_logprobs),
        "task": TASK,
    }
