"""Hedges and certainty markers in free answers: a documented lexicon, whole-word matching, four classes.

The classes follow Mielke et al. (2022, "Reducing conversational agents'
overconfidence through linguistic calibration", TACL), who label an answer's
linguistic confidence as DK (no answer / "I don't know"), LO, MID or HI;
they train a classifier on annotated answers and publish no lexicon. So the
markers here come from Hyland (2005, *Metadiscourse*, appendix: hedges and
boosters), kept to the epistemic items that occur in short answers and
dropped where they mostly mean something else in an answer ("may" the month,
"about" the topic, "certain" as in "a certain king", "would", "should").
Departure from Hyland: first-person "I think" / "I believe" are hedges here
(in an answer they lower commitment), where Hyland lists think/believe as
boosters. Matching is case-insensitive on whole words; longer phrases win
("not sure" is a hedge and its "sure" is not read again).

Classes, first that applies: ``dont_know`` (a DK marker), ``hedged`` (a
hedge), ``certain`` (a booster), ``plain`` (no marker).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: explicit ignorance or refusal: Mielke et al.'s DK class
DONT_KNOW = (
    "i don't know", "i do not know", "i dont know", "don't know", "do not know", "no idea", "not know",
    "i have no idea", "i can't answer", "i cannot answer", "can't answer", "cannot answer", "no way to know",
    "i'm unable to answer", "i am unable to answer", "unable to answer", "i can't say", "i cannot say",
    "i'm not able to answer", "impossible to know", "no clue",
)
#: hedges (Hyland 2005, epistemic subset) and approximators
HEDGES = (
    "probably", "possibly", "perhaps", "maybe", "might", "may be", "may have", "could be", "could have",
    "likely", "unlikely", "presumably", "apparently", "seemingly", "seems", "seem to", "appears", "appear to",
    "i think", "i believe", "i guess", "i suppose", "i suspect", "i assume", "i'd say", "i would say",
    "my guess", "my best guess", "best guess", "if i recall", "if i remember", "if memory serves",
    "as far as i know", "to my knowledge", "not sure", "not certain", "not entirely sure", "unsure",
    "uncertain", "can't be sure", "cannot be sure", "pretty sure", "fairly sure", "fairly confident",
    "reasonably sure", "reasonably confident", "not 100% sure", "approximately", "roughly", "sort of",
    "kind of", "or so", "something like", "i'm guessing", "guessing", "if i'm not mistaken",
    "if i am not mistaken", "not completely sure", "i doubt", "doubtful", "i don't think", "i do not think",
)
#: certainty markers: Hyland's boosters, epistemic subset
BOOSTERS = (
    "certainly", "definitely", "definitively", "undoubtedly", "undeniably", "without a doubt", "without doubt",
    "no doubt", "beyond doubt", "of course", "clearly", "obviously", "surely", "absolutely", "i'm sure",
    "i am sure", "i'm certain", "i am certain", "i'm confident", "i am confident", "i'm positive",
    "i am positive", "i know", "for sure", "for certain", "100% sure", "100% certain", "it is certain",
    "without question", "unquestionably", "indisputably", "quite sure", "very sure", "completely sure",
)

CLASSES = ("dont_know", "hedged", "certain", "plain")
_KIND = {**{p: "certain" for p in BOOSTERS}, **{p: "hedged" for p in HEDGES}, **{p: "dont_know" for p in DONT_KNOW}}
# one alternation, longest phrase first, so "not sure" is taken before "sure that" could be and "i'm not sure" wins
_PATTERN = re.compile(
    r"(?<![\w'])(" + "|".join(re.escape(p) for p in sorted(_KIND, key=len, reverse=True)) + r")(?![\w'])"
)


def _normalise(text: str) -> str:
    """Lower-case, straight apostrophes, single spaces: the form the lexicon is written in."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text)


@dataclass(frozen=True)
class HedgeMarkers:
    """The markers found in one answer, in order of appearance, and its class."""

    #: DK markers found ("i don't know", ...)
    dont_know: tuple[str, ...]
    #: hedges found ("probably", "i think", ...)
    hedges: tuple[str, ...]
    #: certainty markers found ("definitely", ...)
    boosters: tuple[str, ...]

    @property
    def hedge_class(self) -> str:
        """dont_know > hedged > certain > plain: the first class with a marker."""
        if self.dont_know:
            return "dont_know"
        if self.hedges:
            return "hedged"
        return "certain" if self.boosters else "plain"


def find_markers(text: str) -> HedgeMarkers:
    """The lexicon's markers in ``text`` (whole words, case-insensitive, longest phrase first).

    >>> m = find_markers("I'm not sure, but it's probably Paris.")
    >>> m.hedges, m.hedge_class
    (('not sure', 'probably'), 'hedged')
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    found: dict[str, list[str]] = {"dont_know": [], "hedged": [], "certain": []}
    for m in _PATTERN.finditer(_normalise(text)):
        found[_KIND[m.group(1)]].append(m.group(1))
    return HedgeMarkers(dont_know=tuple(found["dont_know"]), hedges=tuple(found["hedged"]),
                        boosters=tuple(found["certain"]))


def hedge_class(text: str) -> str:
    """The class of one answer: ``dont_know``, ``hedged``, ``certain`` or ``plain``.

    >>> [hedge_class(t) for t in ["Paris.", "Definitely Paris.", "Maybe Paris?", "I don't know."]]
    ['plain', 'certain', 'hedged', 'dont_know']
    """
    return find_markers(text).hedge_class
