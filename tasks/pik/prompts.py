"""The prompted P(IK): asking the model, before it answers, whether it knows the answer.

The prompt (few-shot, no training)::

    Question: Who wrote Romeo and Juliet?
    Do you know the answer to this question?
     (A) Yes
     (B) No
    Answer: (A)

    ...

    Question: <question>
    Do you know the answer to this question?
     (A) Yes
     (B) No
    Answer:

with scored options ``" (A)"`` / ``" (B)"``; P(IK) is P(" (A)") renormalised
over the two. The examples are fixed and hand-written for this project:
questions most people, and language models, can answer (Yes) alternating
with questions no one could answer from general knowledge (No), so they
teach the format without revealing anything about the model's own answers.
Chat form: the user turn holds all but the last line, which opens the
assistant turn. This module only builds strings.
"""
from __future__ import annotations

from calibkit.records import Prompt, Turn
from calibkit.tasks.free_answer.question import Question

PIK_OPTIONS = (" (A)", " (B)")  # Yes, No
PIK_EXAMPLES: tuple[tuple[str, bool], ...] = (
    ("Who wrote Romeo and Juliet?", True),
    ("What was the population of the hamlet of Little Snoring in Norfolk in the census of 1801?", False),
    ("What is the capital of France?", True),
    ("What was the winning number in the Ohio Pick 3 lottery draw of the evening of 3 March 1987?", False),
    ("How many legs does a spider have?", True),
    ("What is the middle name of the second cousin of the current mayor of Tromso?", False),
)
MAX_PIK_SHOTS = len(PIK_EXAMPLES)


def pik_text(question: str) -> str:
    """One question's block, ending with ``"Answer:"``.

    Example:
        >>> print(pik_text("Capital of Peru?"))
        Question: Capital of Peru?
        Do you know the answer to this question?
         (A) Yes
         (B) No
        Answer:
    """
    flat = " ".join(question.split())
    return f"Question: {flat}\nDo you know the answer to this question?\n (A) Yes\n (B) No\nAnswer:"


def pik_prompt(item: Question, *, shots: int) -> Prompt:
    """The prompted-P(IK) prompt of one question with the first ``shots`` examples (no answer: labels come later)."""
    if isinstance(shots, bool) or not isinstance(shots, int) or not 0 <= shots <= MAX_PIK_SHOTS:
        raise ValueError(f"shots must be an int in [0, {MAX_PIK_SHOTS}]; got {shots!r}")
    examples = "".join(f"{pik_text(q)}{PIK_OPTIONS[0 if yes else 1]}\n\n" for q, yes in PIK_EXAMPLES[:shots])
    text = examples + pik_text(item.question)
    user, last = text.rsplit("\n", 1)
    return Prompt(id=f"pik_prompt/{item.id}", task="pik_prompt", text=text, options=PIK_OPTIONS,
                  turns=(Turn("user", user),), assistant_prefix=last, meta={"question_id": item.id, "shots": shots})
