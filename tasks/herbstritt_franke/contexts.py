"""Herbstritt & Franke's urn contexts as calibkit prompts (speaker and listener).

The scenario, in our own words: an urn holds 10 balls, each red or blue. A
speaker draws ``access`` balls (or all 10), sees ``observation`` of them red,
puts them back, and before a new ball is drawn tells a friend how likely it
is to be red. The 15 (access, observation) contexts are those of the
experiments (:data:`CONTEXTS`). This module only builds
strings: it must never import torch, touch a model, or tokenize.

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
from typing import Callable, Iterable, Iterator, Sequence

from calibkit.records import Prompt, Turn

TASK = "herbstritt_franke"
N_BALLS = 10  # balls in the urn; red-ball answers run 0..N_BALLS
CONTEXTS: tuple[tuple[int, int], ...] = (
    (2, 0), (2, 2), (4, 1), (4, 2), (4, 3),
    (8, 0), (8, 2), (8, 4), (8, 6), (8, 8),
    (10, 2), (10, 3), (10, 5), (10, 7), (10, 8),
)  # the 15 production contexts (access, observation), in table order
SIMPLE_EXPRESSIONS = ("certainly not", "probably not", "possibly", "probably", "certainly")
COMPLEX_OUTER = ("is", "is probably", "might be", "is certainly")
COMPLEX_INNER = ("probable", "possible", "unlikely", "likely")
MERGED_INNER = ("possible", "unlikely", "likely")  # the authors fold "probable" into "likely"
COMPLEX_EXPRESSIONS = tuple(f"{o} {i}" for o in COMPLEX_OUTER for i in COMPLEX_INNER)  # 16, e.g. "might be likely"
MERGED_COMPLEX_EXPRESSIONS = tuple(f"{o} {i}" for o in COMPLEX_OUTER for i in MERGED_INNER)  # 12
UNCERTAINTY_LEVELS = ("none", "low", "high")
# Every (access, observation) answer in the interpretation studies' value space.
ACCESS_OBSERVATION_GRID: tuple[tuple[int, int], ...] = tuple(
    (a, o) for a in range(1, N_BALLS + 1) for o in range(a + 1)
)


def uncertainty_level(access: int) -> str:
    """The authors' higher-order uncertainty level of a context with this access.

    As in the authors' ``clean_explore.r``: **none** when the speaker saw the
    whole urn (access 10), **low** when they drew more than half of it
    (access 8), **high** otherwise (access 2 or 4). Each level holds 5 of
    the 15 production contexts.

    >>> [uncertainty_level(a) for a in (2, 4, 8, 10)]
    ['high', 'high', 'low', 'none']
    """
    if not 0 <= access <= N_BALLS:
        raise ValueError(f"access must be in 0..{N_BALLS}, got {access}")
    return "none" if access == N_BALLS else ("low" if access > N_BALLS // 2 else "high")

EXPRESSION_SETS = ("simple", "complex")
READINGS = ("sentence", "choice")  # speaker readings; the listener is switched on separately
LETTERS = "ABCDEFGHIJKLMNOP"  # enough for the 16 complex messages
STATES = tuple(range(N_BALLS + 1))  # listener answers: red balls in the urn
PROMPT_VERSION = 1  # bump when any text below changes: it is part of a run's config hash

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


# --------------------------------------------------------------------------- sentences


def speaker_expressions(expression_set: str) -> tuple[str, ...]:
    """The expressions a speaker chooses from, in :mod:`calibkit.tasks.herbstritt_franke.human` column order."""
    return SIMPLE_EXPRESSIONS if _check_set(expression_set) == "simple" else COMPLEX_EXPRESSIONS


def listener_expressions(expression_set: str) -> tuple[str, ...]:
    """The expressions of the interpretation study (5 simple, 12 merged complex)."""
    return SIMPLE_EXPRESSIONS if _check_set(expression_set) == "simple" else MERGED_COMPLEX_EXPRESSIONS


def sentence_head(expression_set: str) -> str:
    """The words before the expression slot: ``"The next ball will"`` or ``"It"``."""
    return "The next ball will" if _check_set(expression_set) == "simple" else "It"


def sentence_tail(expression: str, expression_set: str) -> str:
    """The scored continuation for one expression, from its word-boundary space to the full stop.

    >>> sentence_tail("might be likely", "complex")
    ' might be likely that the next ball will be red.'
    """
    if _check_set(expression_set) == "simple":
        return f" {expression} be red."
    return f" {expression} that the next ball will be red."


def sentence(expression: str, expression_set: str) -> str:
    """The whole message, e.g. ``"The next ball will probably be red."``."""
    return sentence_head(expression_set) + sentence_tail(expression, expression_set)


def _frame(expression_set: str) -> str:
    # How the chat question shows the sentence form without naming any expression.
    if expression_set == "simple":
        return '"The next ball will ... be red."'
    return '"It ... that the next ball will be red."'


def _answer(state: int) -> str:
    return f" {state} red {'ball' if state == 1 else 'balls'}."


# --------------------------------------------------------------------------- templates


def _t1_scene(access: int, observation: int) -> str:
    drew = f"all {N_BALLS} balls" if access == N_BALLS else f"{access} balls"
    if observation == 0:
        saw = "none of them are red"
    elif observation == access:
        saw = "both of them are red" if access == 2 else f"all {access} of them are red"
    elif observation == 1:
        saw = "1 of them is red"
    else:
        saw = f"{observation} of them are red"
    return (
        f"An urn contains {N_BALLS} balls. Each ball is either red or blue, and you do not know how many "
        f"of each there are. You draw {drew} from the urn and see that {saw}. You put them back and "
        "shake the urn. A new ball is about to be drawn from it, and before anyone sees it, you tell "
        "a friend how likely it is that this ball is red."
    )


def _t2_scene(access: int, observation: int) -> str:
    words = _NUMBER_WORDS
    drew = f"all {words[N_BALLS]} balls" if access == N_BALLS else f"{words[access]} balls"
    if observation == 0:
        saw = "none of them is red"
    elif observation == access:
        saw = "both are red" if access == 2 else f"all {words[access]} are red"
    elif observation == 1:
        saw = "one of them is red"
    else:
        saw = f"{words[observation]} of them are red"
    return (
        f"Alex and a friend are playing a game with an urn that holds {words[N_BALLS]} balls. Each ball "
        "is red or blue, but neither of them knows the mix. "
        f"Alex takes {drew} out of the urn, looks at them and finds that {saw}, then returns them "
        "and shakes the urn. One more ball is about to come out, and before it is seen, Alex tells "
        "the friend how likely it is to be red."
    )


def _t3_scene(access: int, observation: int) -> str:
    drew = f"all {N_BALLS} balls" if access == N_BALLS else f"{access} balls"
    if observation == 0:
        saw = "none were red"
    elif observation == access:
        saw = "both were red" if access == 2 else "all were red"
    elif observation == 1:
        saw = "1 was red"
    else:
        saw = f"{observation} were red"
    return (
        f"Urn: {N_BALLS} balls, each red or blue (the number of red balls is unknown).\n"
        f"Draw: the speaker took {drew} out of the urn, saw that {saw}, and put them back.\n"
        "Now: another ball is about to be drawn from the urn.\n"
        "The speaker tells a friend how likely it is that this ball is red."
    )


def _t1_listener(message: str) -> str:
    return (
        f"An urn contains {N_BALLS} balls. Each ball is either red or blue. A friend of yours drew some "
        "of the balls, looked at them and put them back; you did not see how many or which. A new ball "
        f'is about to be drawn from the urn, and your friend tells you: "{message}" How many of the '
        f"{N_BALLS} balls do you think are red?"
    )


def _t2_listener(message: str) -> str:
    return (
        f"Alex and a friend are playing a game with an urn that holds {_NUMBER_WORDS[N_BALLS]} balls. "
        "Each ball is red or blue, but neither of them knows the mix. Alex takes some balls out of the "
        "urn without the friend seeing how many, looks at them, then returns them and shakes the urn. "
        f'Before the next ball comes out, Alex tells the friend: "{message}" How many red balls does '
        "the friend now think are in the urn?"
    )


def _t3_listener(message: str) -> str:
    return (
        f"Urn: {N_BALLS} balls, each red or blue (the number of red balls is unknown).\n"
        "Draw: the speaker took some balls out of the urn, looked at them, and put them back.\n"
        f'Message from the speaker: "{message}"\n'
        f"Task: guess how many of the {N_BALLS} balls are red."
    )


@dataclass(frozen=True)
class Template:
    """One paraphrase of the scenario, for the speaker and the listener side."""

    name: str  # short id used in prompt ids: "t1", "t2", "t3"
    description: str  # one line for reports
    scene: Callable[[int, int], str]  # (access, observation) -> the speaker's situation
    speak: str  # base form: what follows the scene before the sentence head (may open a quote)
    ask: str  # chat form: the question after the scene; {frame} is the sentence form
    offer: str  # forced choice: the line introducing the lettered messages (first in the prompt)
    choose: str  # forced choice: the question after the situation
    listener_scene: Callable[[str], str]  # message sentence -> the listener's situation and question
    guess: str  # base form: what follows the listener scene before "The urn holds"
    ask_guess: str  # chat form: the instruction after the listener scene


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            name="t1",
            description="second person, digits, quoted speech",
            scene=_t1_scene,
            speak='\n\nYou say: "',
            ask="\n\nWhat do you say? Answer with one sentence of the form {frame}",
            offer="You can send your friend one of these messages:",
            choose="\n\nWhich message do you send?",
            listener_scene=_t1_listener,
            guess='\n\nYou answer: "',
            ask_guess='\n\nAnswer with one sentence of the form "The urn holds N red balls."',
        ),
        Template(
            name="t2",
            description="third person (Alex), number words, quoted speech",
            scene=_t2_scene,
            speak='\n\nAlex says: "',
            ask="\n\nWhat does Alex say? Answer as Alex, with one sentence of the form {frame}",
            offer="Alex can send the friend one of these messages:",
            choose="\n\nWhich message does Alex send?",
            listener_scene=_t2_listener,
            guess='\n\nThe friend says: "',
            ask_guess='\n\nAnswer as the friend, with one sentence of the form "The urn holds N red balls."',
        ),
        Template(
            name="t3",
            description="terse labelled lines, 'the speaker', no quotes",
            scene=_t3_scene,
            speak="\nThe speaker's message: ",
            ask="\nWrite the speaker's message as one sentence of the form {frame}",
            offer="Messages the speaker can send:",
            choose="\nWhich message does the speaker send?",
            listener_scene=_t3_listener,
            guess="\nGuess: ",
            ask_guess='\nAnswer with one sentence of the form "The urn holds N red balls."',
        ),
    )
}
TEMPLATE_NAMES = tuple(TEMPLATES)


def context_text(access: int, observation: int, *, template: str = "t1") -> str:
    """The speaker's situation in one template's words (no question, no answer).

    >>> context_text(10, 2, template="t3").splitlines()[1]
    'Draw: the speaker took all 10 balls out of the urn, saw that 2 were red, and put them back.'
    """
    if not (isinstance(access, int) and isinstance(observation, int) and 0 <= observation <= access <= N_BALLS
            and access >= 1):
        raise ValueError(f"access/observation must satisfy 0 <= observation <= access <= {N_BALLS}, "
                         f"access >= 1; got ({access!r}, {observation!r})")
    return _template(template).scene(access, observation)


# --------------------------------------------------------------------------- builders


def sentence_prompts(
    expression_set: str, *, templates: Sequence[str] = TEMPLATE_NAMES, contexts: Iterable[tuple[int, int]] = CONTEXTS
) -> list[Prompt]:
    """Sentence-scoring prompts: one per template x context, options = the set's sentence tails."""
    expression_set = _check_set(expression_set)
    expressions = speaker_expressions(expression_set)
    head = sentence_head(expression_set)
    options = tuple(sentence_tail(e, expression_set) for e in expressions)
    out = []
    for name in check_templates(templates):
        t = TEMPLATES[name]
        for access, observation in contexts:
            scene = context_text(access, observation, template=name)
            user = scene + t.ask.format(frame=_frame(expression_set))
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
    expression_set = _check_set(expression_set)
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
    expression_set = _check_set(expression_set)
    expressions = listener_expressions(expression_set)
    options = tuple(_answer(s) for s in STATES)
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


def load(
    *,
    expression_set: str = "both",
    readings: Sequence[str] = READINGS,
    templates: Sequence[str] = TEMPLATE_NAMES,
    permutations: int | None = None,
    listener: bool = True,
    seed: int = 0,
) -> Iterator[Prompt]:
    """Every prompt of a study: sets x readings (x permutations) x templates x contexts, then listeners.

    ``expression_set``: "simple", "complex" or "both"; ``readings``: any of
    "sentence", "choice"; ``permutations``: orders per forced-choice prompt,
    capped at each set's size (None: the set's size, a Latin square).
    """
    sets = expression_sets(expression_set)
    readings = check_readings(readings)
    templates = check_templates(templates)
    for s in sets:
        if "sentence" in readings:
            yield from sentence_prompts(s, templates=templates)
        if "choice" in readings:
            yield from choice_prompts(s, templates=templates, permutations=orders_for(s, permutations), seed=seed)
        if listener:
            yield from listener_prompts(s, templates=templates)


def orders_for(expression_set: str, permutations: int | None) -> int:
    """Forced-choice orders a set gets: its size when None, else ``permutations`` capped at its size."""
    n = len(speaker_expressions(expression_set))
    if permutations is None:
        return n
    if not isinstance(permutations, int) or isinstance(permutations, bool) or permutations < 1:
        raise ValueError(f"permutations must be a positive integer or None, got {permutations!r}")
    return min(permutations, n)


# --------------------------------------------------------------------------- checks


def expression_sets(expression_set: str) -> tuple[str, ...]:
    """``"both"`` -> ``("simple", "complex")``; a single set name -> itself."""
    if expression_set == "both":
        return EXPRESSION_SETS
    return (_check_set(expression_set),)


def check_readings(readings: Sequence[str]) -> tuple[str, ...]:
    """Validated speaker readings, in :data:`READINGS` order."""
    if isinstance(readings, str):
        readings = (readings,)
    bad = [r for r in readings if r not in READINGS]
    if bad:
        raise ValueError(f"readings: unknown {bad!r}; choose from {READINGS}")
    return tuple(r for r in READINGS if r in readings)


def _check_set(expression_set: str) -> str:
    if expression_set not in EXPRESSION_SETS:
        raise ValueError(f"expression_set must be one of {EXPRESSION_SETS}, got {expression_set!r}")
    return expression_set


def _template(name: str) -> Template:
    if name not in TEMPLATES:
        raise ValueError(f"templates: unknown template {name!r}; choose from {TEMPLATE_NAMES}")
    return TEMPLATES[name]


def check_templates(templates: Sequence[str]) -> tuple[str, ...]:
    """Validated template names; ``"all"`` means every template."""
    if isinstance(templates, str):
        templates = TEMPLATE_NAMES if templates == "all" else (templates,)
    names = tuple(templates)
    if not names:
        raise ValueError("templates must name at least one template")
    for name in names:
        _template(name)
    if len(set(names)) != len(names):
        raise ValueError(f"templates: duplicate names in {names!r}")
    return names


def _meta(expression_set: str, reading: str, template: str, expressions: tuple[str, ...], **fields) -> dict:
    return {"set": expression_set, "reading": reading, "template": template,
            "expressions": list(expressions), **fields}
