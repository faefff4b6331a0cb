"""The words of the Herbstritt & Franke prompts: the message sentences and three paraphrases of the scene.

Each :class:`Template` tells the urn scenario (:mod:`.design`) in its own
words, for the speaker (a context's draw) and for the listener (a friend's
message), with the base-model and chat forms of the question. The
sentences are the experiments' frames: ``"The next ball will [expression]
be red."`` and ``"It [expression] that the next ball will be red."``.
This module only builds strings; :mod:`.contexts` assembles them into
prompts. Changing any text here changes the prompts: bump
:data:`.contexts.PROMPT_VERSION`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from .design import N_BALLS, check_set

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


# --------------------------------------------------------------------------- sentences


def sentence_head(expression_set: str) -> str:
    """The words before the expression slot: ``"The next ball will"`` or ``"It"``."""
    return "The next ball will" if check_set(expression_set) == "simple" else "It"


def sentence_tail(expression: str, expression_set: str) -> str:
    """The scored continuation for one expression, from its word-boundary space to the full stop.

    >>> sentence_tail("might be likely", "complex")
    ' might be likely that the next ball will be red.'
    """
    if check_set(expression_set) == "simple":
        return f" {expression} be red."
    return f" {expression} that the next ball will be red."


def sentence(expression: str, expression_set: str) -> str:
    """The whole message, e.g. ``"The next ball will probably be red."``."""
    return sentence_head(expression_set) + sentence_tail(expression, expression_set)


def sentence_frame(expression_set: str) -> str:
    """How the chat question shows the sentence form without naming any expression."""
    if expression_set == "simple":
        return '"The next ball will ... be red."'
    return '"It ... that the next ball will be red."'


def answer_text(state: int) -> str:
    """A listener's scored answer, e.g. ``" 1 red ball."``; the full stop keeps " 1" from prefixing " 10"."""
    return f" {state} red {'ball' if state == 1 else 'balls'}."


# --------------------------------------------------------------------------- templates


def _draw(access: int, observation: int, saw: Sequence[str], *, words: bool = False) -> tuple[str, str]:
    """(what the speaker drew, what they saw) in one template's phrasing.

    ``saw``: the phrases for none / both / all / one / some of the drawn balls
    red, with ``{a}`` and ``{o}`` for access and observation; ``words``:
    numbers as words ("four") instead of digits.
    """
    number = _NUMBER_WORDS.__getitem__ if words else str
    drew = f"all {number(N_BALLS)} balls" if access == N_BALLS else f"{number(access)} balls"
    if observation == 0:
        k = 0
    elif observation == access:
        k = 1 if access == 2 else 2
    else:
        k = 3 if observation == 1 else 4
    return drew, saw[k].format(a=number(access), o=number(observation))


def _t1_scene(access: int, observation: int) -> str:
    drew, saw = _draw(access, observation, ("none of them are red", "both of them are red",
                                            "all {a} of them are red", "1 of them is red", "{o} of them are red"))
    return (
        f"An urn contains {N_BALLS} balls. Each ball is either red or blue, and you do not know how many "
        f"of each there are. You draw {drew} from the urn and see that {saw}. You put them back and "
        "shake the urn. A new ball is about to be drawn from it, and before anyone sees it, you tell "
        "a friend how likely it is that this ball is red."
    )


def _t2_scene(access: int, observation: int) -> str:
    drew, saw = _draw(access, observation, ("none of them is red", "both are red", "all {a} are red",
                                            "one of them is red", "{o} of them are red"), words=True)
    return (
        f"Alex and a friend are playing a game with an urn that holds {_NUMBER_WORDS[N_BALLS]} balls. Each ball "
        "is red or blue, but neither of them knows the mix. "
        f"Alex takes {drew} out of the urn, looks at them and finds that {saw}, then returns them "
        "and shakes the urn. One more ball is about to come out, and before it is seen, Alex tells "
        "the friend how likely it is to be red."
    )


def _t3_scene(access: int, observation: int) -> str:
    drew, saw = _draw(access, observation, ("none were red", "both were red", "all were red", "1 was red",
                                            "{o} were red"))
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


_FORM = "one sentence of the form"  # every chat question asks for the sentence by its form


def _paraphrase(name: str, description: str, *, gap: str, scene: Callable[[int, int], str], says: str, asks: str,
                offer: str, sender: str, listener_scene: Callable[[str], str], answers: str,
                asks_guess: str) -> Template:
    """A :class:`Template` from one paraphrase's own words; the frames all templates share are added here.

    ``gap`` separates the scene from what follows (a blank line in the prose
    templates, a line break in the terse one); ``says`` / ``answers`` open
    the speaker's / the listener's base-form answer; ``asks`` / ``asks_guess``
    are the chat question's words before "one sentence of the form ...";
    ``sender`` is who sends, in "Which message <sender> send?".
    """
    return Template(
        name=name, description=description, scene=scene, speak=gap + says,
        ask=f"{gap}{asks} {_FORM} {{frame}}", offer=offer, choose=f"{gap}Which message {sender} send?",
        listener_scene=listener_scene, guess=gap + answers,
        ask_guess=f'{gap}{asks_guess} {_FORM} "The urn holds N red balls."',
    )


# One row a template: its name and layout, the speaker's words, the forced-choice words, the listener's words.
TEMPLATES: dict[str, Template] = {t.name: t for t in (
    _paraphrase("t1", "second person, digits, quoted speech", gap="\n\n",
                scene=_t1_scene, says='You say: "', asks="What do you say? Answer with",
                offer="You can send your friend one of these messages:", sender="do you",
                listener_scene=_t1_listener, answers='You answer: "', asks_guess="Answer with"),
    _paraphrase("t2", "third person (Alex), number words, quoted speech", gap="\n\n",
                scene=_t2_scene, says='Alex says: "', asks="What does Alex say? Answer as Alex, with",
                offer="Alex can send the friend one of these messages:", sender="does Alex",
                listener_scene=_t2_listener, answers='The friend says: "', asks_guess="Answer as the friend, with"),
    _paraphrase("t3", "terse labelled lines, 'the speaker', no quotes", gap="\n",
                scene=_t3_scene, says="The speaker's message: ", asks="Write the speaker's message as",
                offer="Messages the speaker can send:", sender="does the speaker",
                listener_scene=_t3_listener, answers="Guess: ", asks_guess="Answer with"),
)}
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

