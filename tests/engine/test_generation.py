"""Batched generation: left padding, seeded sampling, untempered log-probs, stop strings."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from hypothesis import given
from hypothesis import strategies as st

from calibkit.engine.detokenize import end_token_ids
from calibkit.engine.decode_rows import chosen_logp_and_entropy as _chosen_logp_and_entropy
from calibkit.engine.generation import (
    GenerationConfig,
    GenerationError,
    encode_context,
    generate,
)
from calibkit.engine.unconditional import unconditional_logprobs
from calibkit.engine.sampling import _inverse_cdf, _sampling_probs

from conftest import shared_path
from tiny_models import llama2_tokenizer, loaded, tiny_gemma3, tiny_llama

CONTEXTS = [
    "Question: What is the capital of France?\nAnswer:",
    "Q: hi\nA:",
    "Question: Which river flows through the city of Vienna in Austria, and into which sea?\nAnswer:",
]
NO_STOP = ("\x00never\x00",)  # a stop string random weights will not write




pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tok():
    return llama2_tokenizer(shared_path("llama2_tokenizer"))


@pytest.fixture(scope="module", params=["llama", "gemma3"])
def lm(request, tok):
    make = tiny_llama if request.param == "llama" else tiny_gemma3
    return loaded(make(tok.vocab_size), tok, name=request.param)


def teacher_forced(model, ids: list[int], cont: tuple[int, ...], *, temperature: float = 1.0) -> np.ndarray:
    """ln softmax(logits / T) of each continuation token: one full forward, no cache, no padding."""
    with torch.no_grad():
        logits = model(torch.tensor([ids + list(cont)])).logits[0].float()
    logp = torch.log_softmax(logits / temperature, dim=-1)
    return np.array([logp[len(ids) - 1 + k, t].item() for k, t in enumerate(cont)])


def teacher_forced_entropy(model, ids: list[int], cont: tuple[int, ...]) -> np.ndarray:
    """Entropy (nats) of the untempered next-token distribution before each continuation token, plainly."""
    with torch.no_grad():
        logits = model(torch.tensor([ids + list(cont)])).logits[0].float()
    dist = torch.distributions.Categorical(logits=logits[len(ids) - 1: len(ids) - 1 + len(cont)])
    return dist.entropy().numpy()


# ------------------------------------------------------------------ greedy


def test_greedy_batched_left_padding_equals_each_context_alone(lm) -> None:
    cfg = GenerationConfig(max_new_tokens=10, stop=NO_STOP, samples=3, temperature=1.0, progress=False)
    batched = generate(lm, CONTEXTS, config=cfg)
    lengths = {len(encode_context(lm.tokenizer, c)) for c in CONTEXTS}
    assert len(lengths) == len(CONTEXTS)  # the batch really is padded
    for context, out in zip(CONTEXTS, batched):
        alone = generate(lm, [context], config=cfg)[0]
        assert out.greedy.token_ids == alone.greedy.token_ids
        assert len(out.greedy.token_ids) == 10 and out.greedy.finish_reason == "length"
        np.testing.assert_allclose(out.greedy.logprobs, alone.greedy.logprobs, atol=1e-4)
        # a context's samples do not depend on its batch neighbours
        assert [s.token_ids for s in out.samples] == [s.token_ids for s in alone.samples]


def test_greedy_matches_transformers_generate(lm) -> None:
    cfg = GenerationConfig(max_new_tokens=8, stop=NO_STOP, progress=False)
    for context, out in zip(CONTEXTS, generate(lm, CONTEXTS, config=cfg)):
        ids = encode_context(lm.tokenizer, context)
        ref = lm.model.generate(
            torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long), do_sample=False,
            max_new_tokens=8, min_new_tokens=8, pad_token_id=lm.tokenizer.pad_token_id,
        )[0, len(ids):].tolist()
        assert list(out.greedy.token_ids) == ref
        assert out.greedy.sampling_logprobs is None and out.greedy.greedy


def test_logprobs_equal_a_teacher_forced_forward_pass(lm) -> None:
    cfg = GenerationConfig(max_new_tokens=8, stop=NO_STOP, samples=2, temperature=0.7, progress=False)
    for context, out in zip(CONTEXTS, generate(lm, CONTEXTS, config=cfg)):
        ids = encode_context(lm.tokenizer, context)
        for g in (out.greedy, *out.samples):
            np.testing.assert_allclose(g.logprobs, teacher_forced(lm.model, ids, g.token_ids), atol=1e-4)
        for s in out.samples:
            # samples: logprobs stay untempered; sampling_logprobs are those of softmax(logits / 0.7)
            np.testing.assert_allclose(s.sampling_logprobs, teacher_forced(lm.model, ids, s.token_ids, temperature=0.7),
                                       atol=1e-4)
        g = out.greedy
        assert g.total_logprob == pytest.approx(sum(g.logprobs))
        assert g.mean_logprob == pytest.approx(sum(g.logprobs) / len(g.logprobs))


def test_entropies_equal_those_of_a_teacher_forced_forward_pass(lm) -> None:
    # untempered whatever T: the samples' entropies are those of softmax(logits), not softmax(logits / 0.7)
    cfg = GenerationConfig(max_new_tokens=6, stop=NO_STOP, samples=2, temperature=0.7, progress=False)
    for context, out in zip(CONTEXTS[:2], generate(lm, CONTEXTS[:2], config=cfg)):
        ids = encode_context(lm.tokenizer, context)
        for g in (out.greedy, *out.samples):
            assert len(g.entropies) == len(g.token_ids) == 6
            np.testing.assert_allclose(g.entropies, teacher_forced_entropy(lm.model, ids, g.token_ids), atol=1e-4)
            assert g.terminator_logprob is None  # cut by length: no terminator
    # random weights over a 32k vocabulary are near-uniform: the entropy is close to ln(vocab), a real value
    assert out.greedy.entropies[0] == pytest.approx(math.log(lm.tokenizer.vocab_size), rel=0.05)


def test_a_ruled_out_token_adds_nothing_to_the_entropy() -> None:
    # two equal tokens and one at -inf (a masked logit): ln 2 nats, not NaN; the chosen token's ln p = ln 1/2
    logits = torch.tensor([[0.0, 0.0, -math.inf], [0.0, 0.0, 0.0]])
    logp, entropy = _chosen_logp_and_entropy(logits, torch.tensor([1, 2]))
    assert logp == pytest.approx([math.log(0.5), math.log(1 / 3)])
    assert entropy == pytest.approx([math.log(2), math.log(3)])


def test_unconditional_logprobs_read_the_tokens_after_the_start_token_alone(lm) -> None:
    out = generate(lm, CONTEXTS, config=GenerationConfig(max_new_tokens=5, stop=NO_STOP, progress=False))
    ids = [o.greedy.token_ids for o in out] + [(), out[0].greedy.token_ids[:2]]  # ragged, one empty
    got = unconditional_logprobs(lm, ids, batch_size=2)
    start = lm.tokenizer.bos_token_id
    for cont, lp in zip(ids, got):
        assert len(lp) == len(cont)
        np.testing.assert_allclose(lp, teacher_forced(lm.model, [start], cont), atol=1e-4)


def test_hidden_states_are_the_last_context_tokens_of_a_direct_forward(lm) -> None:
    """Read in the prefill of the batched, left-padded generation: every layer, the context's last token."""
    plain = GenerationConfig(max_new_tokens=6, stop=NO_STOP, samples=2, progress=False)
    with_states = generate(lm, CONTEXTS, config=replace(plain, hidden_states=True))
    without = generate(lm, CONTEXTS, config=plain)
    n_layers = lm.model.config.num_hidden_layers
    for context, out, ref in zip(CONTEXTS, with_states, without):
        ids = encode_context(lm.tokenizer, context)
        with torch.no_grad():
            direct = lm.model(torch.tensor([ids]), output_hidden_states=True).hidden_states
        expected = np.stack([h[0, -1].float().numpy() for h in direct])
        assert out.hidden_states.shape == (n_layers + 1, lm.model.config.hidden_size)
        assert out.hidden_states.dtype == np.float16
        np.testing.assert_allclose(out.hidden_states.astype(np.float32), expected, rtol=2e-3, atol=2e-3)
        assert out.greedy.token_ids == ref.greedy.token_ids and ref.hidden_states is None  # decoding unchanged


# ------------------------------------------------------------------ sampling


def test_seeded_sampling_is_deterministic_and_seed_sensitive(tok) -> None:
    lm = loaded(tiny_llama(tok.vocab_size), tok)
    cfg = GenerationConfig(max_new_tokens=6, stop=NO_STOP, greedy=False, samples=4, temperature=1.5,
                           seed=7, progress=False)
    a = generate(lm, CONTEXTS, config=cfg)
    b = generate(lm, list(reversed(CONTEXTS)), config=cfg)[::-1]  # other order, other batches
    c = generate(lm, CONTEXTS, config=replace(cfg, seed=8))
    tokens = lambda outs: [[s.token_ids for s in o.samples] for o in outs]  # noqa: E731
    assert tokens(a) == tokens(b)
    assert tokens(a) != tokens(c)
    assert all(o.greedy is None and len(o.samples) == 4 for o in a)
    # the four samples of a context are not copies of each other
    assert all(len(set(s.token_ids for s in o.samples)) > 1 for o in a)
    # the global RNG is left alone
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    generate(lm, CONTEXTS[:1], config=cfg)
    assert torch.equal(torch.rand(1), before)


def test_sampling_probs_temperature_and_top_p_by_hand() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    np.testing.assert_allclose(_sampling_probs(logits, 1.0, 1.0).numpy(), [[0.5, 0.3, 0.2]], atol=1e-7)
    # top_p = 0.6: 0.5 alone is not enough, 0.5 + 0.3 is: keep two, renormalize
    np.testing.assert_allclose(_sampling_probs(logits, 1.0, 0.6).numpy(), [[0.625, 0.375, 0.0]], atol=1e-7)
    # T = 2 takes square roots before normalizing
    root = np.sqrt([0.5, 0.3, 0.2])
    np.testing.assert_allclose(_sampling_probs(logits, 2.0, 1.0).numpy(), [root / root.sum()], atol=1e-7)


def test_inverse_cdf_by_hand() -> None:
    probs = torch.tensor([[0.5, 0.0, 0.3, 0.2]] * 4, dtype=torch.float64)
    u = torch.tensor([0.0, 0.49, 0.5, 0.999], dtype=torch.float64)
    assert _inverse_cdf(probs, u).tolist() == [0, 0, 2, 3]  # a zero-probability token is never drawn


def test_top_p_samples_stay_in_the_nucleus(tok) -> None:
    lm = loaded(tiny_llama(tok.vocab_size), tok)
    cfg = GenerationConfig(max_new_tokens=4, stop=NO_STOP, greedy=False, samples=6, temperature=1.0, top_p=0.05,
                           progress=False)
    ids = encode_context(tok, CONTEXTS[0])
    out = generate(lm, CONTEXTS[:1], config=cfg)[0]
    with torch.no_grad():
        first = torch.softmax(lm.model(torch.tensor([ids])).logits[0, -1].double(), -1)
    nucleus = _sampling_probs(torch.log(first)[None], 1.0, 0.05)[0]
    for s in out.samples:
        assert nucleus[s.token_ids[0]] > 0
        assert s.sampling_logprobs[0] == pytest.approx(math.log(nucleus[s.token_ids[0]].item()), abs=1e-5)


# ------------------------------------------------------------- stop and end


def test_stop_strings_trim_text_and_logprobs_consistently(tok) -> None:
    lm = loaded(tiny_llama(tok.vocab_size), tok)
    full = generate(lm, CONTEXTS[:1], config=GenerationConfig(max_new_tokens=12, stop=NO_STOP, progress=False))[0].greedy
    # a two-character stop string whose first occurrence is mid-text
    for p in range(len(full.text) // 2, len(full.text) - 1):
        stop = full.text[p: p + 2]
        if full.text[: full.text.index(stop)].strip():
            break
    else:
        pytest.fail(f"no usable stop string in {full.text!r}")
    cut = generate(lm, CONTEXTS[:1], config=GenerationConfig(max_new_tokens=12, stop=(stop,), progress=False))[0].greedy
    assert cut.finish_reason == "stop"
    assert cut.text == full.text[: full.text.index(stop)]
    k = len(cut.token_ids)
    assert cut.token_ids == full.token_ids[:k]
    assert cut.logprobs == full.logprobs[:k]
    assert cut.entropies == pytest.approx(full.entropies[:k], abs=1e-6)
    # the kept tokens are the shortest prefix whose text begins with `text`
    anchor = tok("Answer:")["input_ids"][-1]
    decoded = lambda ids: tok.decode([anchor, *ids])[len(tok.decode([anchor])):]  # noqa: E731
    assert decoded(cut.token_ids).startswith(cut.text)
    assert k == 0 or not decoded(cut.token_ids[:-1]).startswith(cut.text)
    # the terminator is the first token after the kept ones (LM-Polygraph's newline), never kept itself;
    # none when the last kept token already holds the whole stop string
    if stop in decoded(cut.token_ids):
        assert cut.terminator_logprob is None
    else:
        assert cut.terminator_logprob == pytest.approx(full.logprobs[k], abs=1e-6)


def test_a_stop_token_of_its_own_is_the_terminator(tok) -> None:
    lm = loaded(tiny_llama(tok.vocab_size), tok)
    full = generate(lm, CONTEXTS[:1], config=GenerationConfig(max_new_tokens=8, stop=NO_STOP, progress=False))[0].greedy
    anchor = tok("Answer:")["input_ids"][-1]
    decoded = lambda ids: tok.decode([anchor, *ids])[len(tok.decode([anchor])):]  # noqa: E731
    # the stop string is the 4th token's whole text, so it ends the answer as a token of its own
    j = next(j for j in range(2, 8) if decoded(full.token_ids[j:j + 1]).strip()
             and decoded(full.token_ids[j:j + 1]) not in decoded(full.token_ids[:j])
             and decoded(full.token_ids[:j]).strip())
    stop = decoded(full.token_ids[j:j + 1])
    cut = generate(lm, CONTEXTS[:1], config=GenerationConfig(max_new_tokens=8, stop=(stop,), progress=False))[0].greedy
    assert cut.finish_reason == "stop" and cut.token_ids == full.token_ids[:j]
    assert cut.terminator_logprob == pytest.approx(full.logprobs[j], abs=1e-5)


def test_a_stop_string_at_the_start_gives_an_empty_generation(tok) -> None:
    lm = loaded(tiny_llama(tok.vocab_size), tok)
    full = generate(lm, CONTEXTS[:1], config=GenerationConfig(max_new_tokens=3, stop=NO_STOP, progress=False))[0].greedy
    lead = len(full.text) - len(full.text.lstrip())
    stop = full.text[lead]  # the first character after any leading whitespace
    cut = generate(lm, CONTEXTS[:1], config=GenerationConfig(max_new_tokens=3, stop=(stop,), progress=False))[0].greedy
    assert (cut.text, cut.finish_reason) == (full.text[:lead], "stop")
    if not lead:
        assert (cut.token_ids, cut.logprobs) == ((), ())
        assert cut.total_logprob == 0.0 and math.isnan(cut.mean_logprob)


def test_leading_whitespace_never_triggers_a_stop(tok) -> None:
    """A reply that opens with a newline is read past it; the next newline ends it."""
    from tiny_models import ScriptedLM

    context = "Question: What is the capital of France?\nAnswer:"
    n_context = len(encode_context(tok, context))
    newline, paris = tok.convert_tokens_to_ids(["<0x0A>", "▁Paris"])
    model = ScriptedLM(tok.vocab_size, [newline, newline, paris, newline], n_context=n_context, after=paris)
    lm = loaded(model, tok)
    out = generate(lm, [context], config=GenerationConfig(max_new_tokens=8, stop=("\n", "Q:"), samples=2,
                                                          progress=False))[0]
    for g in (out.greedy, *out.samples):
        assert g.finish_reason == "stop"
        assert g.text == "\n\n Paris"
        assert g.token_ids == (newline, newline, paris)
    from calibkit.tasks.free_answer.answers import extract_answer

    assert extract_answer(out.greedy.text) == "Paris"
    # Only whitespace until the token limit: nothing to cut, the answer is empty.
    model.script, model.after = [newline], newline
    only = generate(lm, [context], config=GenerationConfig(max_new_tokens=3, progress=False))[0].greedy
    assert (only.text, only.finish_reason) == ("\n\n\n", "length") and extract_answer(only.text) == ""


def lm_eval_postprocess(generation: str, stop: list[str]) -> str:
    """lm-eval 0.4.13, lm_eval/models/utils.py, postprocess_generated_text (no thinking token), verbatim."""
    for term in stop:
        if len(term) > 0:
            generation = generation.split(term)[0]
    return generation


@given(st.text(alphabet=" \n.,aQ:", max_size=12), st.lists(st.sampled_from(["\n", ".", ",", "Q:", " ."]),
                                                            min_size=1, max_size=3, unique=True))
def test_first_stop_rule_cuts_where_lm_eval_cuts(text, stops) -> None:
    from calibkit.engine.detokenize import find_stop as _find_stop

    at = _find_stop(text, stops, "first")
    assert (text if at < 0 else text[:at]) == lm_eval_postprocess(text, stops)
    # calibkit's rule: the earliest stop string that starts after the leading whitespace
    start = len(text) - len(text.lstrip())
    kept = _find_stop(text, stops)
    starts = [i for i in range(start, len(text)) if any(text.startswith(s, i) for s in stops)]
    assert kept == (starts[0] if starts and start < len(text) else -1)


def test_first_stop_rule_cuts_at_a_leading_newline(tok) -> None:
    """lm-eval's rule: a reply opening with "\\n" is empty (calibkit's default reads on to "Paris")."""
    from calibkit.engine.generation import STOP_RULES
    from tiny_models import ScriptedLM

    assert STOP_RULES == ("after_leading_whitespace", "first") and GenerationConfig().stop_rule == STOP_RULES[0]
    context = "Q: capital of France?\nA:"
    newline, paris = tok.convert_tokens_to_ids(["<0x0A>", "▁Paris"])
    model = ScriptedLM(tok.vocab_size, [newline, paris, newline], n_context=len(encode_context(tok, context)),
                       after=paris)
    lm = loaded(model, tok)
    config = GenerationConfig(max_new_tokens=8, stop=("\n", ".", ","), samples=1, progress=False)
    first = generate(lm, [context], config=replace(config, stop_rule="first"))[0]
    for g in (first.greedy, *first.samples):
        assert (g.text, g.token_ids, g.logprobs, g.finish_reason) == ("", (), (), "stop")
    kept = generate(lm, [context], config=config)[0].greedy
    assert (kept.text, kept.token_ids, kept.finish_reason) == ("\n Paris", (newline, paris), "stop")


def test_an_end_token_ends_the_continuation_and_is_not_kept(tok) -> None:
    model = tiny_llama(tok.vocab_size)
    lm = loaded(model, tok)
    full = generate(lm, CONTEXTS[:1], config=GenerationConfig(max_new_tokens=8, stop=NO_STOP, progress=False))[0].greedy
    end = full.token_ids[3]
    assert end not in full.token_ids[:3]
    model.generation_config.eos_token_id = [tok.eos_token_id, end]
    try:
        assert end in end_token_ids(lm)
        out = generate(lm, CONTEXTS[:1], config=GenerationConfig(max_new_tokens=8, stop=NO_STOP, progress=False))[0]
    finally:
        model.generation_config.eos_token_id = tok.eos_token_id
    assert out.greedy.finish_reason == "eos"
    assert out.greedy.token_ids == full.token_ids[:3]
    assert out.greedy.logprobs == pytest.approx(full.logprobs[:3], abs=1e-5)
    assert len(out.greedy.entropies) == 3
    # the EOS's own log-prob: the token the full run wrote fourth
    assert out.greedy.terminator_logprob == pytest.approx(full.logprobs[3], abs=1e-5)


def test_chat_context_gets_no_second_bos(tok) -> None:
    text = tok.apply_chat_template([{"role": "user", "content": "Capital of France?"}], tokenize=False,
                                   add_generation_prompt=True)
    assert text.startswith(tok.bos_token)
    ids = encode_context(tok, text)
    assert ids[0] == tok.bos_token_id and ids[1] != tok.bos_token_id
    assert encode_context(tok, "Q: x\nA:")[0] == tok.bos_token_id  # plain text: the tokenizer's default BOS


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("kwargs, message", [
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"samples": -1}, "samples"),
    ({"greedy": False, "samples": 0}, "nothing to generate"),
    ({"samples": 2, "temperature": 0.0}, "temperature"),
    ({"top_p": 0.0}, "top_p"),
    ({"stop": "\n"}, "stop"),
    ({"stop_rule": "anywhere"}, "stop_rule must be one of after_leading_whitespace, first"),
    ({"seed": -1}, "seed"),
])
def test_config_checks_its_fields(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        GenerationConfig(**kwargs)


def test_inputs_are_checked(tok) -> None:
    lm = loaded(tiny_llama(tok.vocab_size), tok)
    with pytest.raises(ValueError, match="contexts must be a sequence"):
        generate(lm, "Q: x\nA:")
    with pytest.raises(ValueError, match=r"contexts\[1\]"):
        generate(lm, ["a", 3])
    assert generate(lm, []) == []


def test_a_context_longer_than_the_window_is_refused(tok) -> None:
    model = tiny_llama(tok.vocab_size)
    model.config.max_position_embeddings = 20
    lm = loaded(model, tok)
    with pytest.raises(GenerationError, match="exceeds the model's 20-token window"):
        generate(lm, [CONTEXTS[2]], config=GenerationConfig(max_new_tokens=4, progress=False))


def test_out_of_memory_halves_the_batch(tok, monkeypatch) -> None:
    from calibkit.engine import generation

    lm = loaded(tiny_llama(tok.vocab_size), tok)
    cfg = GenerationConfig(max_new_tokens=5, stop=NO_STOP, samples=2, progress=False)
    expected = generate(lm, CONTEXTS, config=cfg)
    real_run = generation._Decoder.run
    sizes = []

    def flaky(self, contexts, texts):
        sizes.append(len(contexts))
        if len(contexts) > 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        return real_run(self, contexts, texts)

    monkeypatch.setattr(generation._Decoder, "run", flaky)
    got = generate(lm, CONTEXTS, config=cfg)
    assert sizes[0] == 3 and max(sizes[1:]) < 3
    assert [o.greedy.token_ids for o in got] == [o.greedy.token_ids for o in expected]
    assert [[s.token_ids for s in o.samples] for o in got] == [[s.token_ids for s in o.samples] for o in expected]
