"""--nli-model end to end: a run stores the samples' NLI clusters and matrices, and the study reports the NLI signals."""
from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_models import llama2_tokenizer, loaded, tiny_llama, tiny_nli

from calibkit.runs.runner import RunSettings
from calibkit.stats.signals import NLI_SIGNALS
from calibkit.tasks.free_answer import signals as free_signals
from calibkit.tasks.triviaqa import TriviaSettings, load, run_triviaqa, summarize_rows
from conftest import shared_path

pytestmark = pytest.mark.usefixtures("one_thread")
QUESTIONS = [("Which planet is the largest?", ["Jupiter"]), ("Who wrote Hamlet?", ["Shakespeare"]),
             ("What is the capital of France?", ["Paris"]), ("How many legs has a spider?", ["8", "eight"])]
TASK_CONFIG = {"config": "rc.wikipedia.nocontext", "split": "validation", "shots": 1, "data_source": "test"}


def test_a_run_with_an_nli_model_stores_the_nli_fields_and_reports_the_nli_signals(tmp_path):
    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    path = tmp_path / "tq.jsonl"
    path.write_text("".join(json.dumps({"question": q, "aliases": a}) + "\n" for q, a in QUESTIONS))
    questions = load(data=path, shots=1, seed=0)
    nli = str(tiny_nli(tmp_path / "nli"))
    outcome = run_triviaqa(questions, TASK_CONFIG, RunSettings(model="tiny", out=tmp_path / "runs", progress=False),
                           loaded=loaded(tiny_llama(tok.vocab_size), tok, name="tiny"),
                           settings=TriviaSettings(samples=3, max_new_tokens=4, batch_questions=4, nli_model=nli))
    config = outcome.store.config
    assert config["nli_model"] == nli and config["nli_input"] == "question_answer"
    rows = outcome.store.rows()
    for r in rows:
        assert len(r["sample_clusters_nli"]) == 3 and np.shape(r["sample_nli_entail"]) == (3, 3)
    assert set(NLI_SIGNALS) <= set(free_signals.selected(config))
    table = summarize_rows(rows, n_resamples=20, config=config)["signal_table"]
    assert set(NLI_SIGNALS) <= set(table["signals"]) and not set(NLI_SIGNALS) & set(table["not_computed"])
    assert TriviaSettings.from_config(config).nli_model == nli


def test_without_an_nli_model_the_config_and_the_selection_are_as_before():
    assert "nli_model" not in TriviaSettings().config()
    assert not set(NLI_SIGNALS) & set(free_signals.selected({}))
    assert set(free_signals.not_computed(free_signals.DEFAULT)) >= set(NLI_SIGNALS)
    with pytest.raises(Exception, match="--nli-model"):
        free_signals.parse_signals("semantic_entropy_nli")


def test_the_answer_alone_is_a_reported_departure() -> None:
    from calibkit.tasks.free_answer.departures import departures

    base = {"ptrue_examples": 0, "ptrue_prompt": "paper", "brainstorm": 0, "nli_model": "m"}
    assert not any("NLI" in d for d in departures({**base, "nli_input": "question_answer"}))
    (line,) = [d for d in departures({**base, "nli_input": "answer"}) if "NLI" in d]
    assert line.startswith("The NLI model reads each sampled answer alone (--nli-input answer")
