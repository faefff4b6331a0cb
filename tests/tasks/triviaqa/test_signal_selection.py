"""`--signals` on run triviaqa and run nq_open: all by default, a list in table order, one-line refusals."""
from __future__ import annotations

import re

import pytest

from calibkit.errors import UserError
from calibkit.stats.signals import NLI_SIGNALS, SIGNALS
from calibkit.tasks.free_answer.run import TriviaSettings
from calibkit.tasks.free_answer.signals import (
    BY_NLI_MODEL,
    BY_OPTION,
    COMPUTED,
    DEFAULT,
    ON_REQUEST,
    parse_signals,
    selected,
)

from conftest import run_cli


def test_parse_signals_keeps_table_order_and_all_means_every_computed_one() -> None:
    # all: every signal of the library's table but PMI, which costs a forward more and is computed when named
    assert parse_signals("all") is None and selected({}) == DEFAULT
    assert set(DEFAULT) | {"mean_pmi"} | set(BY_NLI_MODEL) == set(COMPUTED) == set(SIGNALS)
    assert list(ON_REQUEST) == ["mean_pmi"] and set(BY_NLI_MODEL) == set(NLI_SIGNALS)
    assert parse_signals(" semantic_entropy,perplexity,mean_pmi ") == ("perplexity", "mean_pmi", "semantic_entropy")
    with pytest.raises(UserError, match="unknown signal 'entropy'; choose from all, max_sequence_probability"):
        parse_signals("entropy")
    # the stated probability is asked by --verbal (it needs a generation of its own), not selected here
    with pytest.raises(UserError, match=r"--signals verbal_confidence: asked with --verbal one-stage\|two-stage"):
        parse_signals("perplexity,verbal_confidence")
    assert "verbal_confidence" in BY_OPTION
    # the NLI signals are asked by --nli-model (the run must store an NLI model's judgements)
    with pytest.raises(UserError, match=r"--signals semantic_entropy_nli: asked with --nli-model NAME"):
        parse_signals("semantic_entropy_nli")
    assert set(NLI_SIGNALS) <= set(selected({"nli_model": "m"})) and not set(NLI_SIGNALS) & set(selected({}))


def test_a_selection_is_in_config_json_and_all_leaves_it_out() -> None:
    # the default leaves config.json (and so the run's folder) as it was before signals were selectable
    assert "signals" not in TriviaSettings().config()
    chosen = TriviaSettings(signals=("perplexity",))
    assert chosen.config()["signals"] == ["perplexity"]
    assert TriviaSettings.from_config(chosen.config()).signals == ("perplexity",)
    assert selected(chosen.config()) == ("perplexity",)


@pytest.mark.parametrize("task", ["triviaqa", "nq_open"])
@pytest.mark.parametrize("value,message", [
    ("verbal_confidence", r"--signals verbal_confidence: asked with --verbal one-stage\|two-stage"),
    ("bogus", r"--signals: unknown signal 'bogus'; choose from all, "),
])
def test_run_refuses_a_signal_it_cannot_compute_in_one_line(capsys, task, value, message) -> None:
    code, _, err = run_cli(capsys, "run", task, "--limit", "2", "--signals", value, "--quiet")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert re.search(message, err), err
