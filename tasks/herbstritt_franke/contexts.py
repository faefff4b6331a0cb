"""Herbstritt & Franke's urn contexts as calibkit prompts (speaker and listener).

The scenario, in our own words: an urn holds 10 balls, each red or blue. A
speaker draws ``access`` balls (or all 10), sees ``observation`` of them red,
puts them back, and before a new ball is drawn tells a friend how likely it
is to be red. The 15 (access, observation) contexts are those of the
experiments (:data:`.design.CONTEXTS`). This module assembles the design
(:mod:`.design`) and its words (:mod:`.wording`) into prompt records: it
must never import torch, touch a model, or tokenize.

Stimuli (the experiments' sentence frames)::

    simple   The next ball will [certainly not | probably not | possibly | probably | certainly] be red.
    complex  It [is | is probably | might be | is certainly] [probable | possible | unlikely | likely]
             that the next ball will be red.                                  (16 combinations)

Three readings, each a list of :class:`~calibkit.records.Prompt` records:

``"sentence"`` (speaker): one prompt per template x context; the options are
    the sentence continuations from the expression slot to the full stop,
    word-boundary space included: the base context ends in ``...The next ball
    will`` (simple) or ``...It`` (complex) and the options are ``" certainly
    not be red."`` or ``" might be likely that the next ball will be red."``.
    The sentence head before the slot is the same for every option, so it
    cancels when the scores are renormalized over the set; everything after
    the slot is scored because it is part of what the speaker says (and
    ``"that the next ball..."`` is not equally likely after every operator).
    The base form may open a quotation mark before the head; the closing
    mark is not scored, so options are identical in both forms.
``"choice"`` (speaker, forced choice): the messages listed with letters
    ``A.``, ``B.``, ..., then the situation, the question and ``Answer:``;
    options ``" A"``, ``" B"``, ... as in MMLU. The list comes first so that
    every context of one order shares it as a prefix (the scorer runs a
    shared prefix once; the 16 complex messages are most of the prompt).
    Each template x context comes in several orders (``permutations``):
    order ``k`` is a seeded random order rotated by ``k * E // permutations``
    places. The default, ``permutations == E``, puts every expression at
    every position exactly once (a Latin square), so position bias cancels
    in the average. Fewer orders do not cancel it: small models put most of
    their mass on "A" whatever it says, and only the expressions that ever
    sit at "A" collect it. ``meta["order"][k]`` is the index (in the set's
    expression order) of the expression shown at letter ``k``.
``"listener"``: one prompt per template x expression: a friend who drew an
    unknown number of balls says the sentence; options are the answers
    ``" 0 red balls."`` ... ``" 10 red balls."`` after ``...The urn holds``.
    The number is followed by more text so that ``" 1"`` is not a prefix of
    ``" 10"`` (digit-splitting tokenizers would otherwise count every "10"
    as a "1"). The complex set uses the authors' 12 merged expressions,
    the ones their interpretation study showed.

Base and chat form live in the same Prompt: ``text`` is the base-model
context; ``turns`` hold the scenario and question as one user turn and
``assistant_prefix`` opens the answer (``"The next ball will"``, ``"It"``,
``"The urn holds"``, and ``"Answer:"`` for forced choice). Every chat
context thus ends in a word, never in the template's newline: the scorer
moves a context's trailing whitespace onto the options, which would turn
the one-token letters into two tokens each and cost one forward pass per
option instead of one per prompt.

Ids are stable: ``herbstritt_franke/<set>/<reading>/<template>/...`` ending in
``a4o2`` (access 4, observation 2), ``p3/a4o2`` (choice, permutation 3) or
the expression with underscores (listener, ``might_be_likely``).

Example::

    >>> from calibkit.tasks.herbstritt_franke import contexts
    >>> p = contexts.sentence_prompts("simple", templates=["t1"])[3]
    >>> p.id, p.options[0], p.meta["access"], p.meta["observation"]
    ('herbstritt_franke/simple/sentence/t1/a4o2', ' certainly not be red.', 4, 2)
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from calibkit.records import Prompt, Turn

from .design import (
    CONTEXTS,
    READINGS,
    STATES,
    TASK,
    check_readings,
    check_set,
    expression_sets,
    listener_expressions,
    speaker_expressions,
)
from .wording import (
    TEMPLATE_NAMES,
    TEMPLATES,
    answer_text,
    check_templates,
    context_text,
    sentence,
    sentence_frame,
    sentence_head,
    sentence_tail,
)

LETTERS = "ABCDEFGHIJKLMNOP"  # enough for the 16 complex messages
PROMPT_VERSION = 1  # bump when any text of .wording or here changes: it is part of a run's config hash


def sentence_prompts(
    expression_set: str, *, templates: Sequence[str] = TEMPLATE_NAMES, contexts: Iterable[tuple[int, int]] = CONTEXTS
) -> list[Prompt]:
    """Sentence-scoring prompts: one per template x context, options = the set's sentence tails."""
    expression_set = check_set(expression_set)
    expressions = speaker_expressions(expression_set)
    head = sentence_head(expression_set)
    options = tuple(sentence_tail(e, expression_set) for e in expressions)
    out = []
    for name in check_templates(templates):
        t = TEMPLATES[name]
        for access, observation in contexts:
            scene = context_text(access, observation, template=name)
            user = scene + t.ask.format(frame=sentence_frame(expression_set))
            out.append(
                Prompt(
                    id=f"{TASK}/{expression_set}/sentence/{name}/a{access}o{observation}",
                    task=TASK,
                    text=scene + t.speak + head,
                    options=options,
                    turns=(Turn("user", user),),
                    assistant_prefix=head,
                    meta=_meta(expression_set, "sentence", name, expressions,
                               access=access, observation=observation),
                )
            )
    return out


def permutation_orders(n_options: int, permutations: int, *, seed: int = 0, key: str = "") -> list[tuple[int, ...]]:
    """``permutations`` orders of ``n_options`` items: rotations of one seeded shuffle.

    Order ``k`` is the shuffle rotated left by ``k * n_options // permutations``
    places; entry ``j`` is the item shown at position ``j``. With
    ``permutations == n_options`` every item takes every position once.

    >>> permutation_orders(3, 3, seed=0)
    [(2, 1, 0), (1, 0, 2), (0, 2, 1)]
    """
    if not isinstance(n_options, int) or n_options < 1:
        raise ValueError(f"n_options must be a positive integer, got {n_options!r}")
    if not isinstance(permutations, int) or not 1 <= permutations <= n_options:
        raise ValueError(f"permutations must be an integer in 1..{n_options}, got {permutations!r}")
    base = list(range(n_options))
    random.Random(f"{seed}/{key}").shuffle(base)
    orders = []
    for k in range(permutations):
        shift = k * n_options // permutations
        orders.append(tuple(base[shift:] + base[:shift]))
    return orders


def choice_prompts(
    expression_set: str,
    *,
    templates: Sequence[str] = TEMPLATE_NAMES,
    permutations: int | None = None,
    seed: int = 0,
    contexts: Iterable[tuple[int, int]] = CONTEXTS,
) -> list[Prompt]:
    """Forced-choice prompts: one per template x permutation x context, options = letters.

    ``permutations`` defaults to the set's size (a Latin square: every
    expression once at every letter). The same orders serve every context of
    a template (seeded by set and template).
    """
    expression_set = check_set(expression_set)
    expressions = speaker_expressions(expression_set)
    n = len(expressions)
    permutations = n if permutations is None else permutations
    if not isinstance(permutations, int) or isinstance(permutations, bool) or not 1 <= permutations <= n:
        raise ValueError(f"permutations must be an integer in 1..{n} for the {expression_set} set, got {permutations!r}")
    letters = LETTERS[:n]
    out = []
    contexts = tuple(contexts)
    for name in check_templates(templates):
        t = TEMPLATES[name]
        for k, order in enumerate(permutation_orders(n, permutations, seed=seed, key=f"{expression_set}/{name}")):
            listing = "".join(
                f"\n{letter}. {sentence(expressions[e], expression_set)}" for letter, e in zip(letters, order)
            )
            for access, observation in contexts:
                body = t.offer + listing + "\n\n" + context_text(access, observation, template=name) + t.choose
                out.append(
                    Prompt(
                        id=f"{TASK}/{expression_set}/choice/{name}/p{k}/a{access}o{observation}",
                        task=TASK,
                        text=body + "\nAnswer:",
                        options=tuple(f" {c}" for c in letters),
                        turns=(Turn("user", body + '\nReply with "Answer:" and the letter of the message.'),),
                        assistant_prefix="Answer:",
                        meta=_meta(expression_set, "choice", name, expressions, access=access,
                                   observation=observation, permutation=k, order=list(order)),
                    )
                )
    return out


def listener_prompts(expression_set: str, *, templates: Sequence[str] = TEMPLATE_NAMES) -> list[Prompt]:
    """Listener prompts: one per template x expression, options = " 0 red balls." ... " 10 red balls."."""
    expression_set = check_set(expression_set)
    expressions = listener_expressions(expression_set)
    options = tuple(answer_text(s) for s in STATES)
    out = []
    for name in check_templates(templates):
        t = TEMPLATES[name]
        for expression in expressions:
            scene = t.listener_scene(sentence(expression, expression_set))
            out.append(
                Prompt(
                    id=f"{TASK}/{expression_set}/listener/{name}/{expression.replace(' ', '_')}",
                    task=TASK,
                    text=scene + t.guess + "The urn holds",
                    options=options,
                    turns=(Turn("user", scene + t.ask_guess),),
                    assistant_prefix="The urn holds",
                    meta=_meta(expression_set, "listener", name, expressions, expression=expression),
                )
            )
    return out


@dataclass(frozen=True)
class Study:
    """Which prompts make up a study (the options of :func:`load` and :func:`.run.study_job`).

    ``expression_set``: "simple", "complex" or "both"; ``readings``: any of
    "sentence", "choice" (stored checked, in :data:`.design.READINGS` order);
    ``templates``: names from :data:`.wording.TEMPLATE_NAMES` or "all"
    (stored checked); ``permutations``: orders per forced-choice prompt,
    capped at each set's size (None: the set's size, a Latin square);
    ``listener``: also the red-ball question for each expression; ``seed``:
    the option-order seed.
    """

    expression_set: str = "both"
    readings: Sequence[str] = READINGS
    templates: Sequence[str] = TEMPLATE_NAMES
    permutations: int | None = None
    listener: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        expression_sets(self.expression_set)
        object.__setattr__(self, "readings", check_readings(self.readings))
        object.__setattr__(self, "templates", check_templates(self.templates))

    @property
    def sets(self) -> tuple[str, ...]:
        """The expression sets, in study order."""
        return expression_sets(self.expression_set)

    def prompts(self) -> Iterator[Prompt]:
        """Every prompt: sets x readings (x permutations) x templates x contexts, then listeners."""
        for s in self.sets:
            if "sentence" in self.readings:
                yield from sentence_prompts(s, templates=self.templates)
            if "choice" in self.readings:
                yield from choice_prompts(s, templates=self.templates, permutations=orders_for(s, self.permutations),
                                          seed=self.seed)
            if self.listener:
                yield from listener_prompts(s, templates=self.templates)


def load(**options: Any) -> Iterator[Prompt]:
    """Every prompt of a study; ``options``: the fields of :class:`Study` (default: both sets, everything)."""
    yield from Study(**options).prompts()


def orders_for(expression_set: str, permutations: int | None) -> int:
    """Forced-choice orders a set gets: its size when None, else ``permutations`` capped at its size."""
    n = len(speaker_expressions(expression_set))
    if permutations is None:
        return n
    if not isinstance(permutations, int) or isinstance(permutations, bool) or permutations < 1:
        raise ValueError(f"permutations must be a positive integer or None, got {permutations!r}")
    return min(permutations, n)


def _meta(expression_set: str, reading: str, template: str, expressions: tuple[str, ...], **fields) -> dict:
    return {"set": expression_set, "reading": reading, "template": template,
            "expressions": list(expressions), **fields}
