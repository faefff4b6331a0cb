"""Two ways Kadavath et al. (2022, section 3) change a multiple-choice question, as prompt-level transforms.

* **None of the above** (section 3.1): one option of each item, chosen with
  a seeded draw, is replaced by "None of the above". When it replaced the
  right option, "None of the above" is the answer, so the answer's position
  never moves.
* **True/False self-evaluation** (section 3.2): for each question and each
  of its options, a prompt that proposes that option and asks whether it is
  true; P(True) is P(" (A)") renormalized over " (A)" / " (B)".

Both read a multiple-choice prompt's ``meta["question"]`` and
``meta["choices"]`` (every multiple-choice task records them) and build
strings only; the runs and the paired analysis are the task's.
"""
from __future__ import annotations

import random
from typing import Sequence

from calibkit.records import Prompt, Turn

NOTA_TEXT = "None of the above"
PTRUE_OPTIONS = (" (A)", " (B)")  # True, False
SELF_EVAL_SUFFIX = "self_eval"  # the self-evaluation prompts' task is "<task>_self_eval"
_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def none_of_the_above(choices: Sequence[str], *, key: str, seed: int) -> tuple[tuple[str, ...], int]:
    """``choices`` with one of them replaced by :data:`NOTA_TEXT`, and which one.

    The replaced position is ``random.Random(f"{seed}/none-of-the-above/{key}")``'s
    pick, so an item's variant depends only on the seed and its key (its id).

    Example:
        >>> none_of_the_above(("Paris", "Lyon", "Nice"), key="q1", seed=0)
        (('Paris', 'Lyon', 'None of the above'), 2)
    """
    if len(choices) < 2:
        raise ValueError(f"choices: need at least two options to replace one, got {len(choices)}")
    k = random.Random(f"{seed}/none-of-the-above/{key}").randrange(len(choices))
    return tuple(NOTA_TEXT if j == k else c for j, c in enumerate(choices)), k


def self_eval_text(question: str, choices: Sequence[str], proposed: int) -> str:
    """Kadavath et al.'s True/False form of one (question, option) pair.

    Example:
        >>> print(self_eval_text("2 + 2 = ?", ["3", "4"], 1))
        Question: 2 + 2 = ?
        Choices:
         (A) 3
         (B) 4
        Proposed Answer: (B) 4
        Is the proposed answer:
         (A) True
         (B) False
        The proposed answer is:
    """
    if not 0 <= proposed < len(choices) <= len(_LABELS):
        raise ValueError(f"proposed must index one of the {len(choices)} choices, got {proposed}")
    listed = "\n".join(f" ({_LABELS[j]}) {c}" for j, c in enumerate(choices))
    return (
        f"Question: {question.strip()}\nChoices:\n{listed}\n"
        f"Proposed Answer: ({_LABELS[proposed]}) {choices[proposed]}\n"
        "Is the proposed answer:\n (A) True\n (B) False\nThe proposed answer is:"
    )


def self_eval_prompts(prompt: Prompt) -> list[Prompt]:
    """One True/False prompt per option of a multiple-choice prompt (answer 0 = True for the right option).

    Chat form, as for TriviaQA's P(True): the user turn holds everything but
    the last line, which opens the assistant turn. Ids are
    ``<prompt id>/self_eval/<option>``.
    """
    question, choices = prompt.meta.get("question"), prompt.meta.get("choices")
    if not isinstance(question, str) or not isinstance(choices, (list, tuple)) or prompt.answer is None:
        raise ValueError(f"prompt {prompt.id!r}: self-evaluation needs meta['question'], meta['choices'] and an answer")
    out = []
    for j in range(len(choices)):
        text = self_eval_text(question, choices, j)
        user, last_line = text.rsplit("\n", 1)
        out.append(Prompt(
            id=f"{prompt.id}/{SELF_EVAL_SUFFIX}/{j}", task=f"{prompt.task}_{SELF_EVAL_SUFFIX}", text=text,
            options=PTRUE_OPTIONS, answer=0 if j == prompt.answer else 1,
            turns=(Turn("user", user),), assistant_prefix=last_line,
            meta={**{k: v for k, v in prompt.meta.items() if k in ("subject", "category", "split")},
                  "question_id": prompt.id, "proposed": j, "n_options": len(choices)},
        ))
    return out
