"""prompts.jsonl: each distinct chunk once, resumable, one file per rank merged in item order (no model)."""
from __future__ import annotations

import json

import pytest

from calibkit.records import Prompt, Turn
from calibkit.runs import prompts as P
from calibkit.runs.files import RunError
from calibkit.runs.store import RunStore

SHOTS = "The following are questions.\n\nQ: 1+1?\nA: 2\n\nQ: 2+2?\nA: 4\n\n"


def reading(question: str, *, chat: bool = False) -> P.Reading:
    prompt = Prompt(id="x", task="t", text=SHOTS + f"Q: {question}\nA:", options=(" yes", " no"))
    return P.scored_reading(prompt, [(prompt.text, o) for o in prompt.options], chat=chat, system_prompt="Be brief.")


def lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.mark.parametrize("text", ["", "a", "a\n", "\n\n\n", SHOTS, SHOTS + "Q: x\nA:", "l\n" * 40 + "end\n\n tail"])
def test_chunks_join_back_to_the_text(text):
    assert "".join(P.chunks(text)) == text


def test_two_items_sharing_a_text_store_it_once(tmp_path):
    log = P.TextLog(tmp_path)
    assert log.keep([("a", reading("3+3?")), ("b", reading("4+4?"))]) == 2
    stored = [x["text"] for x in lines(tmp_path / P.PROMPTS_FILE) if "hash" in x]
    assert stored == ["The following are questions.\n\n", "Q: 1+1?\nA: 2\n\n", "Q: 2+2?\nA: 4\n\n", "Q: 3+3?\n",
                      "A:", " yes", " no", "Q: 4+4?\n"]  # b adds only its question line
    assert P.read_texts(tmp_path) == {"a": (reading("3+3?"),), "b": (reading("4+4?"),)}


def test_chat_turns_are_kept_with_the_system_prompt():
    (got,) = [reading("3+3?", chat=True).turns]
    assert got == (Turn("system", "Be brief."), Turn("user", SHOTS + "Q: 3+3?\nA:"))


def test_a_resumed_log_skips_what_is_stored_and_repairs_a_torn_line(tmp_path):
    P.TextLog(tmp_path).keep([("a", reading("3+3?"))])
    path = tmp_path / P.PROMPTS_FILE
    with open(path, "a") as f:
        f.write('{"hash": "torn')  # a kill in mid-write
    before = len(path.read_text().splitlines())  # the torn line counted
    log = P.TextLog(tmp_path)
    assert log.keep([("a", reading("3+3?")), ("b", reading("4+4?"))]) == 1  # a is stored already
    assert log.keep([("b", reading("4+4?"))]) == 0
    assert len(path.read_text().splitlines()) == before - 1 + 2  # torn line cut; b's question chunk and record
    assert set(P.read_texts(tmp_path)) == {"a", "b"}


def test_rank_files_merge_into_what_one_process_writes(tmp_path):
    order = ["a", "b", "c"]
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    P.TextLog(one).keep([("c", reading("5+5?")), ("a", reading("3+3?"))])  # batches finish out of order
    P.TextLog(one).keep([("b", reading("4+4?"))])
    P.TextLog(two, rank=1).keep([("b", reading("4+4?")), ("c", reading("5+5?"))])
    P.TextLog(two, rank=0).keep([("a", reading("3+3?")), ("b", reading("4+4?"))])  # tensor parallel: both do b
    assert P.read_texts(two) == P.read_texts(one)  # read across the rank files before the merge
    assert P.consolidate(one, order) and P.consolidate(two, order)
    assert sorted(p.name for p in two.iterdir()) == [P.PROMPTS_FILE]
    assert (two / P.PROMPTS_FILE).read_bytes() == (one / P.PROMPTS_FILE).read_bytes()
    assert [x["item"] for x in lines(one / P.PROMPTS_FILE) if "item" in x] == order
    assert not P.consolidate(one, order)  # a finished run is left alone


def test_the_store_records_per_rank_and_merges_on_consolidate(tmp_path):
    store = RunStore.at(tmp_path, config={"task": "t"})
    store.for_rank(1).keep_texts([("b", reading("4+4?"))])
    store.for_rank(1).append([{"id": "b"}])
    store.keep_texts([("a", reading("3+3?"))])
    store.append([{"id": "a"}])
    assert store.consolidate(["a", "b"])
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == ["prompts.jsonl", "results.jsonl"]
    assert store.texts() == {"a": (reading("3+3?"),), "b": (reading("4+4?"),)}


def test_a_run_before_prompt_records_reads_none_and_an_edited_text_is_refused(tmp_path):
    assert P.read_texts(tmp_path) is None
    P.TextLog(tmp_path).keep([("a", reading("3+3?"))])
    path = tmp_path / P.PROMPTS_FILE
    path.write_text(path.read_text().replace("Q: 3+3?", "Q: 9+9?"))
    with pytest.raises(RunError, match="does not match its hash; the file was edited"):
        P.read_texts(tmp_path)
