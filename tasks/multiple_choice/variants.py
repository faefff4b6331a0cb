"""Two ways Kadavath et al. (2022, section 3) change a multiple-choice question, as prompt-level transforms.

* **None of the above** (section 3.1): the paper replaces the *final*
  option of each question (MMLU's D) by "none of the above", which is then
  right exactly when the replaced option was; the answer's position never
  moves. ``position="random"`` (calibkit's variant) replaces a seeded random
  option instead. It only makes sense where the prompt lists the options
  (MMLU, CommonsenseQA): a cloze-scored question shows none, so "none of the
  above" would have nothing above it.
* **True/False self-evaluation** (section 3.2): a prompt that proposes an
  answer and asks whether it is true, with no list of choices and no letter
  before the proposed answer; P(True) is P(" (A)") renormalized over
  " (A)" / " (B)". The paper's evaluation set is, per question, the right
  answer and one randomly chosen wrong answer, so half the pairs are true
  (``pairs="paper"``); ``pairs="all"`` (calibkit's variant) proposes every
  option, so only 1/n of the pairs are true.

Both read a multiple-choice prompt's ``meta["question"]`` and
``meta["choices"]`` (every multiple-choice task records them) and build
strings only; the runs and the paired analysis are the task's.
"""
from __future__ import annotations

import random
from typing import Sequence

from calibkit.records import Prompt, Turn

NOTA_TEXT = "None of the above"
NOTA_POSITIONS = ("final", "random")  # Kadavath et al. 3.1 replace the final option; random is calibkit's
SELF_EVAL_PAIRS = ("paper", "all")  # right + one random wrong answer (Kadavath et al. 3.2); every option
PTRUE_OPTIONS = (" (A)", " (B)")  # True, False
SELF_EVAL_SUFFIX = "self_eval"  # the self-evaluation prompts' task is "<task>_self_eval"
# the departures from the paper these variants allow, as the run's config.json records them ("departures")
NOTA_RANDOM_NOTE = ("'None of the above' replaced a seeded random option of each question (--nota-position random); "
                    "Kadavath et al. (3.1) replace the final one.")
SELF_EVAL_ALL_NOTE = ("P(True) was asked for every option (--self-eval-pairs all), so only 1/n of the pairs are true; "
                      "Kadavath et al. (3.2) pair the right answer with one random wrong one (half true), and ECE "
                      "and Brier depend on that share.")


def none_of_the_above(choices: Sequence[str], *, key: str, seed: int,
                      position: str = "final") -> tuple[tuple[str, ...], int]:
    """``choices`` with one of them replaced by :data:`NOTA_TEXT`, and which one.

    ``position="final"`` (the paper's) replaces the last choice;
    ``"random"`` replaces ``random.Random(f"{seed}/none-of-the-above/{key}")``'s
    pick, so an item's variant depends only on the seed and its key (its id).

    Example:
        >>> none_of_the_above(("Paris", "Lyon", "Nice"), key="q1", seed=0)
        (('Paris', 'Lyon', 'None of the above'), 2)
        >>> none_of_the_above(("Paris", "Lyon", "Nice"), key="q1", seed=0, position="random")[1]
        2
    """
    if len(choices) < 2:
        raise ValueError(f"choices: need at least two options to replace one, got {len(choices)}")
    if position not in NOTA_POSITIONS:
        raise ValueError(f"position: unknown position {position!r}; use one of {', '.join(NOTA_POSITIONS)}")
    if position == "final":
        k = len(choices) - 1
    else:
        k = random.Random(f"{seed}/none-of-the-above/{key}").randrange(len(choices))
    return tuple(NOTA_TEXT if j == k else c for j, c in enumerate(choices)), k


def self_eval_text(question: str, proposed: str) -> str:
    """Kadavath et al.'s True/False form of one (question, proposed answer) pair (section 3.2).

    Example:
        >>> print(self_eval_text("Who was the first president of the United States?", "George Washington"))
        Question: Who was the first president of the United States?
        Proposed Answer: George Washington
        Is the proposed answer:
         (A) True
         (B) False
        The proposed answer is:
    """
    return (
        f"Question: {question.strip()}\nProposed Answer: {proposed.strip()}\n"
        "Is the proposed answer:\n (A) True\n (B) False\nThe proposed answer is:"
    )


def proposed_options(n_options: int, answer: int, *, pairs: str, key: str, seed: int) -> tuple[int, ...]:
    """Which options of a question are proposed, in option order.

    ``pairs="paper"``: the right one and one wrong one drawn with
    ``random.Random(f"{seed}/self-eval/{key}")``; ``"all"``: every option.

    Example:
        >>> proposed_options(4, 2, pairs="all", key="q", seed=0)
        (0, 1, 2, 3)
        >>> len(proposed_options(4, 2, pairs="paper", key="q", seed=0))
        2
    """
    if pairs not in SELF_EVAL_PAIRS:
        raise ValueError(f"pairs: unknown choice {pairs!r}; use one of {', '.join(SELF_EVAL_PAIRS)}")
    if not 0 <= answer < n_options or n_options < 2:
        raise ValueError(f"answer must index one of at least two options, got {answer} of {n_options}")
    if pairs == "all":
        return tuple(range(n_options))
    wrong = random.Random(f"{seed}/self-eval/{key}").choice([j for j in range(n_options) if j != answer])
    return tuple(sorted((answer, wrong)))


def self_eval_prompts(prompt: Prompt, *, pairs: str = "paper", seed: int = 0) -> list[Prompt]:
    """The True/False prompts of a multiple-choice prompt (answer 0 = True for the right option).

    One per option :func:`proposed_options` picks. Chat form, as for
    TriviaQA's P(True): the user turn holds everything but the last line,
    which opens the assistant turn. Ids are ``<prompt id>/self_eval/<option>``.
    """
    question, choices = prompt.meta.get("question"), prompt.meta.get("choices")
    if not isinstance(question, str) or not isinstance(choices, (list, tuple)) or prompt.answer is None:
        raise ValueError(f"prompt {prompt.id!r}: self-evaluation needs meta['question'], meta['choices'] and an answer")
    out = []
    for j in proposed_options(len(choices), prompt.answer, pairs=pairs, key=prompt.id, seed=seed):
        text = self_eval_text(question, str(choices[j]))
        user, last_line = text.rsplit("\n", 1)
        out.append(Prompt(
            id=f"{prompt.id}/{SELF_EVAL_SUFFIX}/{j}", task=f"{prompt.task}_{SELF_EVAL_SUFFIX}", text=text,
            options=PTRUE_OPTIONS, answer=0 if j == prompt.answer else 1,
            turns=(Turn("user", user),), assistant_prefix=last_line,
            meta={**{k: v for k, v in prompt.meta.items() if k in ("subject", "category", "split")},
                  "question_id": prompt.id, "proposed": j, "n_options": len(choices)},
        ))
    return out
