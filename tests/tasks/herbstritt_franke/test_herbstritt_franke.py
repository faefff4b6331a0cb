"""The urn-context prompts: exact texts, every context and template, both forms, balanced orders."""
from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter

import numpy as np
import pytest

from calibkit.tasks.herbstritt_franke import contexts, design, wording
from calibkit.tasks.herbstritt_franke.design import (
    COMPLEX_EXPRESSIONS,
    MERGED_COMPLEX_EXPRESSIONS,
    SIMPLE_EXPRESSIONS,
)
from calibkit.tasks.herbstritt_franke.human import load_complex_production, load_simple_production

# sha256 (first 16 hex digits) of every prompt of contexts.load(expression_set="both"), see the last test
PINNED_PROMPTS = "92563704615efc4b"
SCENES_4_1 = {
    "t1": (
        "An urn contains 10 balls. Each ball is either red or blue, and you do not know how many of each "
        "there are. You draw 4 balls from the urn and see that 1 of them is red. You put them back and "
        "shake the urn. A new ball is about to be drawn from it, and before anyone sees it, you tell a "
        "friend how likely it is that this ball is red."
    ),
    "t2": (
        "Alex and a friend are playing a game with an urn that holds ten balls. Each ball is red or blue, "
        "but neither of them knows the mix. Alex takes four balls out of the urn, looks at them and finds "
        "that one of them is red, then returns them and shakes the urn. One more ball is about to come "
        "out, and before it is seen, Alex tells the friend how likely it is to be red."
    ),
    "t3": (
        "Urn: 10 balls, each red or blue (the number of red balls is unknown).\n"
        "Draw: the speaker took 4 balls out of the urn, saw that 1 was red, and put them back.\n"
        "Now: another ball is about to be drawn from the urn.\n"
        "The speaker tells a friend how likely it is that this ball is red."
    ),
}
BASE_ENDINGS = {
    "t1": '\n\nYou say: "The next ball will',
    "t2": '\n\nAlex says: "The next ball will',
    "t3": "\nThe speaker's message: The next ball will",
}
CHAT_ENDINGS = {
    "t1": '\n\nWhat do you say? Answer with one sentence of the form "The next ball will ... be red."',
    "t2": '\n\nWhat does Alex say? Answer as Alex, with one sentence of the form "The next ball will ... be red."',
    "t3": '\nWrite the speaker\'s message as one sentence of the form "The next ball will ... be red."',
}


def by_id(prompts):
    return {p.id: p for p in prompts}


@pytest.mark.parametrize("template", wording.TEMPLATE_NAMES)
def test_one_context_per_template_is_byte_exact(template):
    p = by_id(contexts.sentence_prompts("simple"))[f"herbstritt_franke/simple/sentence/{template}/a4o1"]
    assert p.text == SCENES_4_1[template] + BASE_ENDINGS[template]
    assert [(t.role, t.content) for t in p.turns] == [("user", SCENES_4_1[template] + CHAT_ENDINGS[template])]
    assert p.assistant_prefix == "The next ball will"
    assert p.options == (" certainly not be red.", " probably not be red.", " possibly be red.",
                         " probably be red.", " certainly be red.")
    assert wording.context_text(4, 1, template=template) == SCENES_4_1[template]


def test_edge_wordings():
    assert "see that none of them are red" in wording.context_text(8, 0, template="t1")
    assert "see that both of them are red" in wording.context_text(2, 2, template="t1")
    assert "see that all 8 of them are red" in wording.context_text(8, 8, template="t1")
    assert "You draw all 10 balls from the urn and see that 7 of them are red" in wording.context_text(10, 7)
    assert "Alex takes all ten balls out of the urn, looks at them and finds that five of them are red" in \
        wording.context_text(10, 5, template="t2")
    assert "finds that all eight are red" in wording.context_text(8, 8, template="t2")
    assert "took 2 balls out of the urn, saw that both were red" in wording.context_text(2, 2, template="t3")
    assert "saw that none were red" in wording.context_text(8, 0, template="t3")


def test_the_fifteen_contexts_of_the_experiments():
    for table in (load_simple_production(), load_complex_production()):
        pairs = [tuple(map(int, c)) for c in table.contexts]
        for s in design.EXPRESSION_SETS:
            prompts = contexts.sentence_prompts(s, templates=["t2"])
            assert [(p.meta["access"], p.meta["observation"]) for p in prompts] == pairs
    assert len(contexts.sentence_prompts("simple", templates=["t1"])) == 15
    for name in wording.TEMPLATE_NAMES:  # every context reads differently in every template
        assert len({wording.context_text(a, o, template=name) for a, o in pairs}) == 15


def test_complex_sentences_are_the_stimulus_frame():
    p = contexts.sentence_prompts("complex", templates=["t1"])[0]
    assert p.text.endswith('You say: "It') and p.assistant_prefix == "It"
    assert len(p.options) == 16
    assert p.options[COMPLEX_EXPRESSIONS.index("might be likely")] == " might be likely that the next ball will be red."
    assert wording.sentence("is probably unlikely", "complex") == "It is probably unlikely that the next ball will be red."
    assert wording.sentence("possibly", "simple") == "The next ball will possibly be red."
    assert p.meta["expressions"] == list(COMPLEX_EXPRESSIONS)


def test_every_prompt_in_both_forms():
    prompts = list(contexts.load())
    ids = [p.id for p in prompts]
    assert len(ids) == len(set(ids)) == 45 + 225 + 15 + 45 + 720 + 36
    for p in prompts:
        assert len(set(p.options)) == len(p.options), p.id
        assert all(o.startswith(" ") and not o.startswith("  ") for o in p.options), p.id
        assert p.text == p.text.rstrip() and p.text.strip() == p.text, p.id  # the space belongs to the option
        assert len(p.turns) == 1 and p.turns[0].role == "user", p.id
        user = p.turns[0].content
        assert user == user.strip(), p.id
        # The chat context ends in a word, so no template newline is moved onto the options.
        assert p.assistant_prefix and p.assistant_prefix == p.assistant_prefix.rstrip(), p.id
        m = p.meta
        assert p.id.startswith(f"herbstritt_franke/{m['set']}/{m['reading']}/{m['template']}/")
        if m["reading"] == "sentence":
            assert p.text.endswith(wording.sentence_head(m["set"])) and p.assistant_prefix == wording.sentence_head(m["set"])
            assert p.id.endswith(f"/a{m['access']}o{m['observation']}")
            # The chat question shows the sentence form but never names an expression.
            assert not any(f" {e} " in user for e in m["expressions"]), p.id
        elif m["reading"] == "choice":
            assert p.text.endswith("\nAnswer:") and p.assistant_prefix == "Answer:"
            assert user.endswith('\nReply with "Answer:" and the letter of the message.')
            assert p.options == tuple(f" {c}" for c in contexts.LETTERS[: len(m["expressions"])])
            assert p.id.endswith(f"/p{m['permutation']}/a{m['access']}o{m['observation']}")
        else:
            assert p.text.endswith("The urn holds") and p.assistant_prefix == "The urn holds"
            assert f'"{wording.sentence(m["expression"], m["set"])}"' in p.text
            assert p.id.endswith("/" + m["expression"].replace(" ", "_"))


def test_listener_answers_are_not_prefixes_of_each_other():
    p = contexts.listener_prompts("simple", templates=["t1"])[0]
    assert p.options[:3] == (" 0 red balls.", " 1 red ball.", " 2 red balls.") and p.options[-1] == " 10 red balls."
    for a, b in itertools.permutations(p.options, 2):
        assert not b.startswith(a)
    assert [q.meta["expression"] for q in contexts.listener_prompts("complex", templates=["t3"])] == \
        list(MERGED_COMPLEX_EXPRESSIONS)
    assert [q.meta["expression"] for q in contexts.listener_prompts("simple", templates=["t3"])] == list(SIMPLE_EXPRESSIONS)


def test_choice_listing_matches_meta_order():
    for p in contexts.choice_prompts("complex", templates=["t2"], permutations=2)[:20]:
        lines = re.findall(r"^([A-P])\. (.*)$", p.text, flags=re.M)
        expressions = p.meta["expressions"]
        assert [letter for letter, _ in lines] == list(contexts.LETTERS[:16])
        assert [s for _, s in lines] == [wording.sentence(expressions[k], "complex") for k in p.meta["order"]]
        assert p.text.startswith("Alex can send the friend one of these messages:\nA. ")


@pytest.mark.parametrize("expression_set", design.EXPRESSION_SETS)
def test_permutations_cover_positions_evenly(expression_set):
    n = len(design.speaker_expressions(expression_set))
    # The default, as many orders as options: a Latin square, every expression once at every position.
    prompts = [p for p in contexts.choice_prompts(expression_set) if p.id.endswith("/a4o2")]
    for name in wording.TEMPLATE_NAMES:
        orders = np.array([p.meta["order"] for p in prompts if p.meta["template"] == name])
        assert orders.shape == (n, n)
        for e in range(n):
            where = np.argwhere(orders == e)  # (order, position) pairs
            assert sorted(where[:, 0]) == list(range(n))  # once per order...
            assert sorted(where[:, 1]) == list(range(n))  # ...and once at every position
    # Fewer orders (4 of 16): each expression once in each quarter of the list.
    if expression_set == "complex":
        orders = np.array([p.meta["order"] for p in contexts.choice_prompts("complex", templates=["t1"], permutations=4)
                           if p.id.endswith("/a2o0")])
        assert orders.shape == (4, 16)
        for e in range(16):
            assert sorted(np.argwhere(orders == e)[:, 1] // 4) == [0, 1, 2, 3]


def test_orders_are_seeded_and_the_same_for_every_context():
    a = contexts.choice_prompts("simple", templates=["t1"], seed=3)
    b = contexts.choice_prompts("simple", templates=["t1"], seed=3)
    c = contexts.choice_prompts("simple", templates=["t1"], seed=4)
    assert [p.meta["order"] for p in a] == [p.meta["order"] for p in b]
    assert [p.meta["order"] for p in a] != [p.meta["order"] for p in c]
    per_perm = {}
    for p in a:
        per_perm.setdefault(p.meta["permutation"], set()).add(tuple(p.meta["order"]))
    assert all(len(v) == 1 for v in per_perm.values()) and len(per_perm) == 5
    assert contexts.permutation_orders(3, 3, seed=0) == [(2, 1, 0), (1, 0, 2), (0, 2, 1)]


def test_load_selects_sets_readings_and_templates():
    prompts = list(contexts.load(expression_set="simple", readings=["sentence"], templates=["t3"], listener=False))
    assert len(prompts) == 15 and {p.meta["template"] for p in prompts} == {"t3"}
    prompts = list(contexts.load(expression_set="complex", readings=("choice",), templates="all", permutations=2))
    assert Counter(p.meta["reading"] for p in prompts) == {"choice": 90, "listener": 36}
    prompts = list(contexts.load(readings=("choice",), templates=["t1"], permutations=8, listener=False))
    assert Counter(p.meta["set"] for p in prompts) == {"simple": 5 * 15, "complex": 8 * 15}  # capped per set
    assert contexts.orders_for("simple", None) == 5 and contexts.orders_for("complex", None) == 16


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: contexts.sentence_prompts("medium"), "expression_set must be one of"),
        (lambda: contexts.sentence_prompts("simple", templates=["t9"]), "templates: unknown template 't9'"),
        (lambda: contexts.sentence_prompts("simple", templates=[]), "templates must name at least one"),
        (lambda: contexts.sentence_prompts("simple", templates=["t1", "t1"]), "templates: duplicate"),
        (lambda: contexts.choice_prompts("simple", permutations=6), r"permutations must be an integer in 1..5"),
        (lambda: contexts.choice_prompts("complex", permutations=0), r"permutations must be an integer in 1..16"),
        (lambda: list(contexts.load(readings=["vibes"])), "readings: unknown"),
        (lambda: wording.context_text(4, 5), "access/observation must satisfy"),
        (lambda: contexts.permutation_orders(3, 4), "permutations must be an integer in 1..3"),
        (lambda: list(contexts.load(permutations=0)), "permutations must be a positive integer or None"),
    ],
)
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_every_prompt_text_is_pinned():
    """All 1,086 prompts (both sets, every reading, template and order, listeners), byte for byte.

    A change of wording, order or metadata changes this digest: bump
    contexts.PROMPT_VERSION (it enters the run's config hash) and pin the new digest.
    """
    digest = hashlib.sha256()
    prompts = list(contexts.load(expression_set="both"))
    for p in prompts:
        record = {"id": p.id, "text": p.text, "options": p.options, "turns": [[t.role, t.content] for t in p.turns],
                  "assistant_prefix": p.assistant_prefix, "meta": p.meta}
        digest.update(json.dumps(record, sort_keys=True).encode())
    assert len(prompts) == 1086 and contexts.PROMPT_VERSION == 1
    assert digest.hexdigest()[:16] == PINNED_PROMPTS


def test_templates_share_their_frames():
    """The frames every template shares are built once: the gap after the scene and the chat questions' form."""
    for name, t in wording.TEMPLATES.items():
        gap = "\n" if name == "t3" else "\n\n"  # t3 is the terse one
        for text in (t.speak, t.ask, t.choose, t.guess, t.ask_guess):
            assert text.startswith(gap) and not text.startswith(gap + "\n"), (name, text)
        assert t.ask.endswith(" one sentence of the form {frame}")
        assert t.ask_guess.endswith(' one sentence of the form "The urn holds N red balls."')
        assert re.fullmatch(r"\n+Which message (do you|does \w+( \w+)?) send\?", t.choose)
    assert wording.TEMPLATES["t2"].ask == "\n\nWhat does Alex say? Answer as Alex, with one sentence of the form {frame}"


def test_study_job_scores_the_study_that_load_lists():
    from calibkit.tasks.herbstritt_franke import run

    options = {"readings": ("choice",), "templates": ["t2"], "permutations": 3, "seed": 4}
    job = run.study_job(expression_set="both", **options)
    assert [p.id for p in job.items] == [p.id for p in contexts.load(expression_set="both", **options)]
    assert job.config["permutations"] == {"simple": 3, "complex": 3} and job.config["templates"] == ["t2"]
    study = contexts.Study(readings="sentence", templates="all")
    assert study.sets == design.EXPRESSION_SETS and study.readings == ("sentence",)
    assert study.templates == wording.TEMPLATE_NAMES
    with pytest.raises(ValueError, match="expression_set must be one of"):
        contexts.Study(expression_set="medium")
    with pytest.raises(TypeError, match="bogus"):
        run.study_job(bogus=1)
