"""Nudging: the authors' rule against a step-by-step transcription of their code; the text, the token counts,
what the nudger reads and the words, on two tokenizers; calibkit's word-start rule; batching changes nothing."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np

import pytest
import torch

from calibkit.engine.chat import reading
from calibkit.engine.detokenize import end_token_ids, text_after
from calibkit.engine.generation import GenerationConfig, encode_context, generate
from calibkit.engine.nudging import NudgeConfig, nudge
from calibkit.engine.nudging_word_start import _whole_word

from conftest import shared_path
from tiny_models import ScriptedLM, llama2_tokenizer, loaded, tiny_llama

pytestmark = pytest.mark.usefixtures("one_thread")

CONTEXTS = [f"Question: What is {n} plus {n}?\nAnswer:" for n in ("one", "two", "seven", "a dozen", "ten")]
NUDGER_CONTEXTS = [c.replace("Question:", "Q:").replace("Answer:", "A:") for c in CONTEXTS]
MULTIBYTE = " 😀 José 東京 ok."  # an emoji (4 bytes), an accented name, CJK (3 bytes a character)


def bpe_tokenizer():
    """A byte-level BPE tokenizer (GPT-2's scheme) trained in a blink on a few sentences: 320 tokens, so an
    emoji, an "é" or a CJK character spans several tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = ["The capital of France is Paris, on the Seine.", "Question: What is two plus two?\nAnswer: four",
              "William Shakespeare wrote Hamlet in 1600 and it was played in London.", "It is 18, 19 and 20."] * 20
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=320, special_tokens=["<|endoftext|>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                       show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>", pad_token="<|endoftext|>")


@pytest.fixture(scope="module")
def llama_tok():
    return llama2_tokenizer(shared_path("llama2_tokenizer"))


@pytest.fixture(scope="module")
def bpe_tok():
    return bpe_tokenizer()


def scripted_models(tok) -> tuple:
    """A tokenizer, two scripted models on it (a base model and a nudger; scripts set per test) and an unsure one."""
    return (tok, ScriptedLM(len(tok), [], n_context=1, after=tok.eos_token_id, seed=0),
            ScriptedLM(len(tok), [], n_context=1, after=tok.eos_token_id, seed=1), unsure(tok))


@pytest.fixture(scope="module")
def llama_models(llama_tok):
    return scripted_models(llama_tok)


@pytest.fixture(scope="module", params=["byte-level BPE", "llama-2"])
def scripted(request, bpe_tok):
    return scripted_models(bpe_tok) if request.param == "byte-level BPE" else request.getfixturevalue("llama_models")


def answer_ids(tok, context: str, answer: str) -> list[int]:
    """The answer's tokens as they follow ``context`` (the two encoded together)."""
    head, full = encode_context(tok, context), encode_context(tok, context + answer)
    assert full[:len(head)] == head
    return full[len(head):]


def script(model: ScriptedLM, tok, context: str, answer: str) -> list[int]:
    """Make ``model`` write ``answer`` after ``context``, then end-of-sequence; returns the answer's tokens."""
    ids = answer_ids(tok, context, answer)
    model.script, model.n_context, model.after = ids, len(encode_context(tok, context)), tok.eos_token_id
    return ids


class Peaked(torch.nn.Module):
    """A tiny seeded Llama whose logits are sharpened and kept to a few tokens: greedy text made of words,
    with top-1 probabilities spread over (0, 1) and an end-of-sequence now and then."""

    def __init__(self, tok, allowed: list[int], *, seed: int, scale: float, eos_bias: float) -> None:
        super().__init__()
        self.inner, self.scale = tiny_llama(len(tok), seed=seed), scale
        self.config, self.generation_config = self.inner.config, self.inner.generation_config
        bias = torch.full((len(tok),), -1e4)
        bias[allowed] = 0.0
        bias[tok.eos_token_id] = eos_bias
        self.register_buffer("bias", bias)

    def forward(self, input_ids=None, cache=None, **kwargs):
        out = self.inner(input_ids=input_ids, cache=cache, **kwargs)
        out.logits = out.logits * self.scale + self.bias
        return out


def unsure(tok) -> Peaked:
    """A base model that is never sure (two tokens at 0.5 each, neither opens a word) and never ends."""
    return Peaked(tok, tok.convert_tokens_to_ids(["8", "s"]), seed=0, scale=0.0, eos_bias=-1e4).eval()


def peaked_pair(tok, *, seeds=(0, 3), scale=40.0, eos_bias=0.0):
    pieces = [t for t in tok.convert_ids_to_tokens(list(range(len(tok)))) if t.startswith("Ġ") and len(t) > 2]
    pieces += ["Ġ", "s", ",", ".", "ing", "8", "Ã", "©", "ð", "Ł", "ĺ", "Ģ"]  # a lone space, suffixes, split characters
    allowed = [i for i in tok.convert_tokens_to_ids(pieces) if i is not None]
    return tuple(loaded(Peaked(tok, allowed, seed=s, scale=scale, eos_bias=eos_bias).eval(), tok, name=name)
                 for s, name in zip(seeds, ("base", "nudger")))


# ------------------------------------------------------------------------------------------------- item 8: text


def test_text_after_holds_back_an_unfinished_character(scripted):
    tok = scripted[0]
    ids = answer_ids(tok, "Answer:", MULTIBYTE)
    anchor = encode_context(tok, "Answer:")
    texts = [text_after(tok, anchor, ids[:k]) for k in range(len(ids) + 1)]
    assert texts[-1] == MULTIBYTE and not any("\ufffd" in t for t in texts)
    assert all(MULTIBYTE.startswith(t) for t in texts)


@pytest.mark.parametrize("rule", ["word-start", "reference"])
def test_characters_of_several_tokens_come_through_whole(scripted, rule):
    """generate gives ' 😀 José 東京 ok.'; so must nudging, and the base model must read it so."""
    tok, base, nudger, _ = scripted
    context = "Question: Say hello.\nAnswer:"
    script(base, tok, context, MULTIBYTE)
    script(nudger, tok, context, MULTIBYTE)
    b, n = loaded(base, tok, name="base"), loaded(nudger, tok, name="nudger")
    greedy = generate(b, [context], config=GenerationConfig(max_new_tokens=32, stop=("\n",), progress=False))[0].greedy
    assert greedy.text == MULTIBYTE
    for gamma in (0.0, 0.5, 1.0):
        a = nudge(b, n, [context], [context], config=NudgeConfig(gamma=gamma, rule=rule, progress=False))[0]
        assert a.text == MULTIBYTE and a.finish_reason == "eos"
        assert [w.text for w in a.words] == [" 😀", " José", " 東京", " ok."]
        assert a.n_base_tokens + a.n_nudger_tokens == len(answer_ids(tok, context, MULTIBYTE))
        if rule == "word-start" and gamma == 0.0:
            assert a.n_nudger_tokens == 0


# ------------------------------------------------------------------------------------------- item 9: counting


@pytest.mark.parametrize("rule", ["word-start", "reference"])
def test_the_nudger_counts_only_the_tokens_of_its_kept_words(scripted, rule):
    """At gamma 1 every word is the nudger's: the answer is its greedy answer, cut at exactly its token count."""
    tok, _, nudger, base = scripted
    context = "Question: Capital of France?\nAnswer:"
    text = " Paris is the capital of France, on the Seine."
    ids = script(nudger, tok, context, text)
    b, n = loaded(base, tok, name="base"), loaded(nudger, tok, name="nudger")
    for limit, finish in ((len(ids), "length"), (len(ids) + 5, "eos")):
        alone = generate(n, [context], config=GenerationConfig(max_new_tokens=limit, stop=("\n",), progress=False))
        a = nudge(b, n, [context], [context], config=NudgeConfig(gamma=1.0, rule=rule, max_new_tokens=limit,
                                                                  progress=False))[0]
        assert (a.text, a.finish_reason) == (alone[0].greedy.text, alone[0].greedy.finish_reason) == (text, finish)
        assert (a.n_nudger_tokens, a.n_base_tokens) == (len(ids), 0)
        assert all(w.by == "nudger" for w in a.words)


# -------------------------------------------------------------------------------------- item 10: what it reads


class Recording(torch.nn.Module):
    """Passes through to a model and keeps the token ids of every prefill (left padding dropped)."""

    def __init__(self, inner) -> None:
        super().__init__()
        self.inner, self.read = inner, []
        self.config, self.generation_config = inner.config, inner.generation_config

    def forward(self, input_ids=None, attention_mask=None, cache=None, **kwargs):
        if cache is None:
            self.read += [row[m.bool()].tolist() for row, m in zip(input_ids, attention_mask)]
        return self.inner(input_ids=input_ids, attention_mask=attention_mask, cache=cache, **kwargs)


def test_reading_is_the_scorers_separator_rule():
    assert reading("[/INST]", " ", " William") == "[/INST] William"
    assert reading("<|im_start|>assistant\n", "", " Paris") == "<|im_start|>assistant\nParis"
    assert reading("Answer:", None, " Paris") == "Answer: Paris"
    assert reading("[/INST]", " ", "") == reading("[/INST]", " ", " \n") == "[/INST]"


@pytest.mark.parametrize("rule", ["word-start", "reference"])
def test_the_nudger_reads_its_template_separator_before_the_answer(llama_models, rule):
    """Llama-2-chat continues `[/INST] William`, never `[/INST]William`; a base-form nudger `Answer: William`."""
    tok, _, writer, base = llama_models
    chat = tok.apply_chat_template([{"role": "user", "content": "Who wrote Hamlet?"}], tokenize=False,
                                   add_generation_prompt=True)
    assert chat.endswith("[/INST]")
    for context, separator in ((chat, " "), ("Question: Who wrote Hamlet?\nAnswer:", None)):
        script(writer, tok, context, " William Shakespeare wrote it.")
        nudger = Recording(writer)
        a = nudge(loaded(base, tok), loaded(nudger, tok), ["Question: Who wrote Hamlet?\nAnswer:"], [context],
                  config=NudgeConfig(gamma=1.0, rule=rule, nudger_tokens=2, progress=False),
                  nudger_separators=[separator])[0]
        assert a.text == " William Shakespeare wrote it."
        first = a.words[0].text
        assert nudger.read[0] == encode_context(tok, context)
        assert nudger.read[1] == encode_context(tok, context + " " + first.lstrip())


# ----------------------------------------------------------------------------------------------- item 11: words


@pytest.mark.parametrize("rule", ["word-start", "reference"])
def test_words_are_the_answers_whitespace_separated_words(llama_models, rule):
    """Llama-2 writes ' 18' as '▁', '1', '8': the whitespace token is no word of its own."""
    tok, base, nudger, _ = llama_models
    context = "Question: Which numbers?\nAnswer:"
    text = " 18, 19 and 20."
    assert tok.convert_ids_to_tokens(answer_ids(tok, context, text))[:3] == ["▁", "1", "8"]
    script(base, tok, context, text)
    script(nudger, tok, context, text)
    for gamma in (0.0, 1.0):
        a = nudge(loaded(base, tok), loaded(nudger, tok), [context], [context],
                  config=NudgeConfig(gamma=gamma, rule=rule, progress=False))[0]
        assert a.text == text
        assert [w.text for w in a.words] == [" 18,", " 19", " and", " 20."]
        assert [w.index for w in a.words] == [0, 1, 2, 3]


# -------------------------------------------------------------------------- item 12: the authors' rule, golden


def run_reference(base, nudger, context: str, nudger_context: str, config: NudgeConfig, budget: int) -> dict:
    encoding.tokenizer = base.tokenizer
    return completion_with_nudging(
        full_prefix_base=context, full_prefix_nudging=nudger_context, completion_token_num=config.base_tokens,
        completion_token_num_nudging=config.nudger_tokens, max_token_total=budget, max_round=config.max_rounds,
        client_base=LocalClient(base), client_nudging=LocalClient(nudger), top_prob_thres=config.gamma,
        stop=config.stop)


FINISH = {"nudging_model_stop": "eos", "repeated_nudging_words": "repeat", "round": "rounds", "stop": "stop"}


def assert_same_as_reference(answer, out: dict, config: NudgeConfig) -> None:
    """Text and who wrote each character equal; an answer cut at max_new_tokens is the start of the authors'
    (they bound GPT-3.5 tokens at round ends; the transcription runs with room to spare)."""
    text = out["output_before_cleanup"]
    at = _first_stop(text, config.stop)
    text = text if at < 0 else text[:at]
    if answer.finish_reason == "length":
        assert text.startswith(answer.text) and answer.n_base_tokens + answer.n_nudger_tokens <= config.max_new_tokens
    else:
        assert answer.text == text
        assert answer.finish_reason == ("stop" if at >= 0 else FINISH[out["stop_reason"]])
    assert list(answer.spans) == reference_spans(out, len(answer.text))


@pytest.mark.parametrize("gamma", [0.0, 0.4, 0.8])  # 1.0: test_reference_rule_rounds_and_repeats
def test_reference_rule_is_the_authors_code(bpe_tok, gamma):
    """Batched, with a KV cache, against the authors' loop call by call, on 5 questions: equal text and writers."""
    base, nudger = peaked_pair(bpe_tok, seeds=(0, 3), eos_bias=1.0)
    config = NudgeConfig(gamma=gamma, max_new_tokens=24, nudger_tokens=6, base_tokens=4, stop=("\n",),
                         batch_size=3, progress=False)
    answers = nudge(base, nudger, CONTEXTS, NUDGER_CONTEXTS, config=config)
    for context, nudger_context, answer in zip(CONTEXTS, NUDGER_CONTEXTS, answers):
        assert_same_as_reference(answer, run_reference(base, nudger, context, nudger_context, config, 48), config)


def test_reference_rule_is_the_authors_code_with_their_defaults(llama_tok):
    """16-token rounds and chunks, no stop string, Llama-2's tokenizer (byte fallback, its own spaces)."""
    base, nudger = peaked_pair(llama_tok, seeds=(1, 4), scale=80.0, eos_bias=2.0)
    for gamma in (0.3, 0.7):
        config = NudgeConfig(gamma=gamma, max_new_tokens=40, stop=(), progress=False)
        answers = nudge(base, nudger, CONTEXTS[:3], NUDGER_CONTEXTS[:3], config=config)
        for context, nudger_context, answer in zip(CONTEXTS, NUDGER_CONTEXTS, answers):
            assert_same_as_reference(answer, run_reference(base, nudger, context, nudger_context, config, 80), config)


def test_reference_rule_rounds_and_repeats(bpe_tok):
    base, nudger = peaked_pair(bpe_tok, seeds=(0, 3))
    config = NudgeConfig(gamma=1.0, max_new_tokens=64, nudger_tokens=3, max_rounds=2, progress=False)
    answers = nudge(base, nudger, CONTEXTS[:2], NUDGER_CONTEXTS[:2], config=config)
    for context, nudger_context, answer in zip(CONTEXTS, NUDGER_CONTEXTS, answers):
        out = run_reference(base, nudger, context, nudger_context, config, 128)
        assert_same_as_reference(answer, out, config)
    assert {a.finish_reason for a in answers} & {"rounds", "repeat"}


def test_the_authors_nudger_writes_the_first_word_even_at_gamma_0(bpe_tok):
    base, nudger = peaked_pair(bpe_tok)
    config = NudgeConfig(gamma=0.0, max_new_tokens=12, progress=False)
    answers = [a for a in nudge(base, nudger, CONTEXTS, NUDGER_CONTEXTS, config=config) if a.text.strip()]
    assert answers and all(a.words[0].by == "nudger" and a.spans[0][1] == "nudger" for a in answers)


# ------------------------------------------------------------------------ calibkit's word-start rule, batching


WORD_START = NudgeConfig(rule="word-start", max_new_tokens=10, stop=("\n",), progress=False)


def test_whole_word():
    assert _whole_word(" Paris is") == " Paris" and _whole_word(" Paris") is None and _whole_word("\n") is None
    assert _whole_word("Paris,\nQ") == "Paris,"


def test_word_start_gamma_0_is_the_base_models_greedy_answer(bpe_tok):
    base, nudger = peaked_pair(bpe_tok)
    answers = nudge(base, nudger, CONTEXTS, NUDGER_CONTEXTS, config=replace(WORD_START, gamma=0.0))
    greedy = generate(base, CONTEXTS, config=GenerationConfig(max_new_tokens=10, stop=("\n",), progress=False))
    for a, g in zip(answers, greedy):
        assert a.text == g.greedy.text and a.finish_reason == g.greedy.finish_reason
        assert all(w.by == "base" for w in a.words) and a.n_nudger_tokens == 0
        assert a.n_base_tokens == len(g.greedy.token_ids)
        assert "".join(w.text for w in a.words) == a.text.rstrip()


def test_word_start_gamma_1_gives_every_word_to_the_nudger(bpe_tok):
    base, nudger = peaked_pair(bpe_tok)
    for a in nudge(base, nudger, CONTEXTS, NUDGER_CONTEXTS, config=replace(WORD_START, gamma=1.0)):
        assert all(w.by == "nudger" for w in a.words) and a.n_base_tokens == 0
        assert not a.words or a.nudged_share == 1.0


@pytest.mark.parametrize("rule", ["word-start", "reference"])
def test_batched_equals_one_question_at_a_time(bpe_tok, rule):
    base, nudger = peaked_pair(bpe_tok, seeds=(2, 5), eos_bias=1.0)
    for gamma in (0.5,):
        config = replace(WORD_START, gamma=gamma, rule=rule, max_new_tokens=16, nudger_tokens=6, base_tokens=4)
        batched = nudge(base, nudger, CONTEXTS, NUDGER_CONTEXTS, config=config)
        alone = [nudge(base, nudger, [c], [n], config=replace(config, batch_size=1))[0]
                 for c, n in zip(CONTEXTS, NUDGER_CONTEXTS)]
        def key(a):
            words = [(w.text, w.by) for w in a.words]
            return a.text, a.finish_reason, a.n_base_tokens, a.n_nudger_tokens, a.spans, words

        assert [key(a) for a in batched] == [key(a) for a in alone]
        top1 = [w.base_top1 for a in batched for w in a.words]
        assert top1 == pytest.approx([w.base_top1 for a in alone for w in a.words], abs=1e-5, nan_ok=True)


def test_config_checks():
    with pytest.raises(ValueError, match="gamma must be in"):
        NudgeConfig(gamma=1.5)
    with pytest.raises(ValueError, match="rule must be one of"):
        NudgeConfig(rule="paper")
    with pytest.raises(ValueError, match="nudger_separators"):
        nudge(None, None, ["a"], ["b"], nudger_separators=[None, None])


# ==================================================================================================================
# The reference: the authors' Nudging (github.com/fywalter/nudging, utils.py, commit 2ffbf1f), transcribed step by step.
# Their structure, names and comments are kept; what changes is marked `# local:` (greedy decoding of a local model
# in place of their API calls) or `# calibkit:` (the adaptations calibkit's engine makes on purpose, so that what
# is equal can be compared). Plain and unbatched: one call, one question, no cache shared between calls.
# ==================================================================================================================

NUM_LOGPROBS = {"top_prob": 1}


def empty_nudging_info(nudging_method):
    """calibkit: their empty nudging info, a dict literal they write out four times (two of them spell the key
    "top_logprobs" as "logprobs"; no one reads it before the next call fills it): one helper, a new dict each call."""
    return {
        "completion": "",
        "tokens": [],
        "top_logprobs": [],
        "stop_reason": None,
        "num_logprobs": NUM_LOGPROBS[nudging_method],
    }


def complete_base_info(client_base, current_base_info, *, model, prompt, max_tokens, temperature, top_p):
    """calibkit: their base-model call and the three fields of ``current_base_info`` it fills, written out at both
    of their calls; returns the response."""
    response = client_base.completions.create(
        model=model,
        prompt=prompt,
        max_tokens=max_tokens,
        temperature=temperature,
        logprobs=current_base_info["num_logprobs"],
        top_p=top_p,
        )
    current_base_info["tokens"] = response.choices[0].logprobs.tokens
    current_base_info["top_logprobs"] = response.choices[0].logprobs.top_logprobs
    current_base_info["completion"] = response.choices[0].text
    return response


class LocalCompletions:
    """local: ``client.completions.create(model, prompt, max_tokens, temperature=0, logprobs=1)`` on vLLM.

    Greedy decoding of the encoded prompt, one token at a time with a KV cache. The end-of-sequence is a
    token with empty text that ends the completion (``finish_reason="stop"``), as vLLM reports it; a token's
    text is what it adds to the decoded completion, the bytes of an unfinished character held back (vLLM's
    incremental detokenizer).
    """

    def __init__(self, loaded):
        self.model, self.tok, self.eos = loaded.model, loaded.tokenizer, end_token_ids(loaded)

    def _text(self, ids):
        return self.tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    @torch.inference_mode()
    def create(self, model=None, prompt="", max_tokens=16, temperature=0.0, logprobs=1, top_p=1.0):
        assert temperature == 0.0
        ids = encode_context(self.tok, prompt)
        tokens, top_logprobs, finish, cache, new = [], [], "length", None, ids
        before, made = self._text(ids), []
        for _ in range(max_tokens):
            n = len(ids) + len(made) - len(new)
            out = self.model(input_ids=torch.tensor([new]), position_ids=torch.arange(n, n + len(new))[None],
                             cache=cache, use_cache=True, logits_to_keep=1)
            cache = out.cache
            probs = torch.softmax(out.logits[0, -1].float(), dim=-1)
            p, t = (float(x) for x in probs.max(dim=-1))
            t = int(t)
            if t in self.eos:
                tokens.append("")
                top_logprobs.append({"": float(np.log(p))})
                finish = "stop"
                break
            made.append(t)
            text = self._text(ids + made)[len(before):].rstrip("\ufffd")  # hold back an unfinished character
            piece = text[len("".join(tokens)):]
            tokens.append(piece)
            top_logprobs.append({piece: float(np.log(p))})
            new = [t]
        choice = SimpleNamespace(text="".join(tokens), finish_reason=finish,
                                 logprobs=SimpleNamespace(tokens=tokens, top_logprobs=top_logprobs))
        return SimpleNamespace(choices=[choice])


class LocalClient:
    def __init__(self, loaded):
        self.completions = LocalCompletions(loaded)


def repetition_check(new_completion, full_prefix, subseq_len=5):
    words = new_completion.split(" ")
    if len(words) > subseq_len and new_completion in full_prefix:
        return True
    return False


def check_need_nudging(nudging_method, base_token_id, current_base_info, thresholds):
    if nudging_method == 'top_prob':
        # check if the token prob is below the threshold
        sorted_base_top_logprobs = {k: v for k, v in sorted(current_base_info["top_logprobs"][base_token_id].items(),
                                                            key=lambda item: item[1], reverse=True)}
        base_top_prob = np.exp(list(sorted_base_top_logprobs.values())[0])
        need_nudging = base_top_prob < thresholds['top_prob']
    else:
        raise ValueError(f"Unknown nudging method {nudging_method}")
    return need_nudging


class _Encoding:
    """local: the authors count GPT-3.5 tokens (tiktoken) to bound lengths; here the base model's tokens."""

    tokenizer = None

    def encode(self, text):
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


encoding = _Encoding()


def complete_with_base(nudging_method='top_prob',
                       base_model="davinci-002",
                       full_prefix_base="",
                       output="",
                       current_base_info=None,
                       max_completion_token=256,
                       completion_token_num=16,
                       client_base=None,
                       thresholds=None,
                       temperature=0.0,
                       top_p=0.9,
                       ):
    # accept the first token from the 1st round which is the acc token from the first stage
    completion_base = "" if len(current_base_info["completion"]) == 0 else current_base_info["tokens"][0]
    # completion_all records all the tokens from the base model including the tokens that are not accepted in the last
    # round, for debugging and visualization
    completion_all = "" if len(current_base_info["completion"]) == 0 else current_base_info["tokens"][0]
    found_nudging_token = False
    response = None
    # if the current_base_info["completion"] is not empty, it means the first token in base completion is accepted from
    # the 1st stage
    has_acc_token_stage_1 = True if len(current_base_info["completion"]) > 0 else False
    EMPTY_INFO_DICT = empty_nudging_info(nudging_method)
    # for nudging methods that compute nudging info during base completion, we can save the info for the next round,
    # currently not used for top_prob nudging
    next_nudging_info = EMPTY_INFO_DICT
    while len(encoding.encode(completion_base)) < max_completion_token and not found_nudging_token:

        if current_base_info["completion"] == "":
            # complete the sentence using the base model
            response = complete_base_info(client_base, current_base_info, model=base_model,
                                          prompt=full_prefix_base + output + completion_base,
                                          max_tokens=completion_token_num, temperature=temperature, top_p=top_p)

        if has_acc_token_stage_1:
            # pop the first token from the 1st round as it is already accepted from stage 1
            current_base_info["tokens"] = current_base_info["tokens"][1:]
            current_base_info["top_logprobs"] = current_base_info["top_logprobs"][1:]
            current_base_info["completion"] = "".join(current_base_info["tokens"])
            has_acc_token_stage_1 = False

        completion = current_base_info["completion"]
        tokens = current_base_info["tokens"]

        if completion in completion_base:
            break   # repeated completion, break

        nudging_position = -1

        # find the first token that violates the nudging criteria
        for base_idx in range(len(tokens)):
            found_nudging_token = check_need_nudging(nudging_method=nudging_method, base_token_id=base_idx,
                                                     current_base_info=current_base_info, thresholds=thresholds)
            if found_nudging_token:
                nudging_position = base_idx
                break

        if nudging_position == -1:
            new_completion = "".join(tokens)
        else:
            new_completion = "".join(tokens[:nudging_position])   # include the last agreed token
        # avoid repetition in answer
        if repetition_check(new_completion, output + completion_base):
            break
        else:
            completion_base += new_completion

        # if found the nudging token, break the loop, concat the last base completion to completion_all
        if found_nudging_token:
            completion_all += completion
        else:
            completion_all += new_completion

        next_nudging_info = EMPTY_INFO_DICT
        if response is not None and response.choices[0].finish_reason == "stop":
            break

        # reset the current_base_info
        current_base_info['completion'] = ""
        current_base_info['tokens'] = []
        current_base_info['top_logprobs'] = []

    return completion_base, completion_all, next_nudging_info


def _first_stop(text, stops):
    """calibkit: a stop string after the answer's leading whitespace (as generation reads one)."""
    start = len(text) - len(text.lstrip())
    hits = [i for i in (text.find(s, start) for s in stops) if i >= 0] if start < len(text) else []
    return min(hits) if hits else -1


def completion_with_nudging(
        base_model="davinci-002",
        nudging_model="gpt-3.5-turbo",
        full_prefix_base="",        # local: the rendered prompts are given (apply_instruct_template is the caller's)
        full_prefix_nudging="",
        completion_token_num=16,
        completion_token_num_nudging=16,
        max_token_total=256,
        client_base=None,
        client_nudging=None,
        max_round=150,
        nudging_temperature=0.0,    # deterministic for nudging
        base_temperature=0.0,       # deterministic for base model
        nudging_method='top_prob',
        top_prob_thres=0.3,
        top_p=0.9,
        stop=(),                    # calibkit: the task's stop strings end the answer
        ):
    thresholds = {
        'top_prob': top_prob_thres,
    }

    output = ""
    nudging_round = 0
    all_nudging_words = []
    all_nudging_and_completions = []
    current_nudging_info = empty_nudging_info(nudging_method)
    stop_reason = None
    repeat_nudging_word = 0
    last_nudging_word = ""
    # use the number of gpt-3.5 token to approximately control the length
    while len(encoding.encode(output)) < max_token_total and nudging_round < max_round:
        if _first_stop(output, stop) >= 0:  # calibkit: the answer has ended at a stop string
            stop_reason = "stop"
            break
        nudging_round += 1
        if current_nudging_info["completion"] == "":
            response = client_nudging.completions.create(
                model=nudging_model,
                prompt=full_prefix_nudging + output,
                max_tokens=completion_token_num_nudging,
                temperature=nudging_temperature,
                logprobs=current_nudging_info["num_logprobs"],
                )
            current_nudging_info["completion"] = response.choices[0].text
            current_nudging_info["tokens"] = response.choices[0].logprobs.tokens
            current_nudging_info["top_logprobs"] = response.choices[0].logprobs.top_logprobs
            current_nudging_info["stop_reason"] = response.choices[0].finish_reason
            # calibkit: the answer's first text gets a space when the base prompt would run into it
            text = current_nudging_info["completion"]
            if not output and full_prefix_base[-1:] and not full_prefix_base[-1].isspace() and text[:1] \
                    and not text[0].isspace():
                current_nudging_info["completion"] = " " + text

        # if finish_reason is stop, break the loop, also handles nudging completion from previous round
        if current_nudging_info["stop_reason"] == "stop":
            stop_reason = "nudging_model_stop"
            if len(current_nudging_info["completion"]) > 0:
                all_nudging_words.append(current_nudging_info["completion"])
                all_nudging_and_completions.append(current_nudging_info["completion"])
                output += current_nudging_info["completion"]
            break

        # ===================================================================
        # Stage 1: use base model to find the first token that violates the nudging criteria (no need to nudge)
        # ===================================================================
        found_acc_token = False
        current_base_info = {   # will be passed to the next stage
            "completion": "",
            "tokens": [],
            "top_logprobs": [],
            "num_logprobs": NUM_LOGPROBS[nudging_method],
        }
        nudging_text = current_nudging_info["completion"]
        num_whitespaces = len(nudging_text) - len(nudging_text.lstrip(" "))
        space_prefix = " " * num_whitespaces
        # token leads to some unexpected behaviors, still use nudging word
        current_nudging_words = nudging_text.lstrip(" ").split(" ")
        # if only one word, always accept the word and go to the next round: it won't go into the loop and
        # found_acc_token will be False
        nudging_word_id = 0 if len(current_nudging_words) > 1 else 1
        while not found_acc_token and nudging_word_id < len(current_nudging_words) - 1:
            nudging_word_id += 1                # always accept the first word
            nudging_gen_prefix = space_prefix + " ".join(current_nudging_words[:nudging_word_id])
            # add a leading space to the current nudging word since the nudging words a split by space
            current_nudging_word = " " + current_nudging_words[nudging_word_id]
            if current_nudging_word == " ":     # skip the multiple space
                continue
            prefix = full_prefix_base + output + nudging_gen_prefix
            response = complete_base_info(client_base, current_base_info, model=base_model, prompt=prefix,
                                          max_tokens=completion_token_num, temperature=base_temperature, top_p=top_p)

            # look for the first token that meets the nudging criteria
            first_base_token = current_base_info["tokens"][0]
            # check if the current nudging word is the same or starts with the first base token
            if current_nudging_word.startswith(first_base_token):
                found_acc_token = True
            else:
                # check if the token violates the nudging criteria (no need to nudge)
                found_acc_token = not check_need_nudging(nudging_method,
                                                         base_token_id=0,
                                                         current_base_info=current_base_info,
                                                         thresholds=thresholds)

        # here we have either prefix_idx == len(current_nudging_info["tokens"]):
        #     if no token meets the nudging criteria, use the current nudging completion
        # or found_acc_token == True:    if a token violates the nudging criteria, we use the prefix as nudging tokens

        nudging_words = space_prefix + " ".join(current_nudging_words[:nudging_word_id])

        # Heuristic: if the nudging words are the same as the last one for three rounds, break the loop
        if nudging_words == last_nudging_word:
            repeat_nudging_word += 1
            if repeat_nudging_word >= 3:
                stop_reason = "repeated_nudging_words"
                break
        else:
            last_nudging_word = nudging_words
            repeat_nudging_word = 0
        all_nudging_words.append(nudging_words)
        output += nudging_words

        # if no base token can be accepted, use the current nudging completion and go to the next round
        if not found_acc_token:
            all_nudging_and_completions.append(nudging_words)
            # reset the current nudging info and continue to the next round
            current_nudging_info = empty_nudging_info(nudging_method)
            continue
        # the base model thinks the completion is done, go to the next round. Make sure current_base_info["completion"]
        # is not empty if proceed to the next stage
        if current_base_info["completion"] == "":
            all_nudging_and_completions.append(nudging_words)
            current_nudging_info = empty_nudging_info(nudging_method)
            continue

        # ===================================================================
        # Stage 2: use nudging model to find the first token that meets the nudging criteria (need to nudge)
        # ===================================================================
        max_completion_token = max_token_total - len(encoding.encode(output))
        completion_base, completion_base_all, current_nudging_info = complete_with_base(
            nudging_method=nudging_method,
            base_model=base_model,
            full_prefix_base=full_prefix_base,
            output=output,
            current_base_info=current_base_info,
            max_completion_token=max_completion_token,
            completion_token_num=completion_token_num,
            client_base=client_base,
            thresholds=thresholds,
            temperature=base_temperature,
            top_p=top_p,
        )
        output += completion_base
        # the generated tokens in each round, concating all completion would be the final output
        all_nudging_and_completions.append(nudging_words + completion_base)

    if nudging_round >= max_round and not stop_reason:
        stop_reason = "round"
    if len(encoding.encode(output)) >= max_token_total and not stop_reason:
        stop_reason = "length"
    raw_output = output  # calibkit: the text before remove_redundant_repetitions, which calibkit does not apply
    output = remove_redundant_repetitions(output)
    return {"raw_answer": output, "output_before_cleanup": raw_output, "all_nudging_words": all_nudging_words,
            "all_completions": all_nudging_and_completions, "stop_reason": stop_reason}


def find_longest_repeated_suffix(s):

    # Helper function to check if a substring repeats
    def has_repeated(s, length):
        if length < 30:
            return False
        # Extract the suffix of length 'length'
        suffix = s[-length:]
        # Check the rest of the string for another occurrence
        # return s[:-length].find(suffix) != -1
        return s[:-length].endswith(suffix)

    left, right = 0, len(s)
    result = 0

    # Binary search for the longest repeated suffix
    while left <= right:
        mid = (left + right) // 2
        if has_repeated(s, mid):
            result = mid  # Store the longest length found
            left = mid + 1  # Try for a longer suffix
        else:
            right = mid - 1  # Try for a shorter suffix

    # Return the longest repeated suffix
    if result > 0:
        return s[-result:]
    return None  # Return an empty string if no repetition is found


def remove_redundant_repetitions(s):
    s = s.strip()
    # Find the longest repeated suffix
    longest_repeated_suffix = find_longest_repeated_suffix(s)
    while longest_repeated_suffix:
        # Remove the longest repeated suffix
        s = s[:-len(longest_repeated_suffix)]
        # Find the longest repeated suffix again
        longest_repeated_suffix = find_longest_repeated_suffix(s)
    return s



# calibkit: helpers of the tests above, not the authors' code.


def reference_spans(out, n):
    """(text, writer) runs of the authors' answer, cut at n characters (their rounds are nudged words + base text)."""
    runs = []
    for words, completion in zip(out["all_nudging_words"], out["all_completions"]):
        assert completion.startswith(words)
        for text, by in ((words, "nudger"), (completion[len(words):], "base")):
            if text and runs and runs[-1][1] == by:
                runs[-1][0] += text
            elif text:
                runs.append([text, by])
    cut, at = [], 0
    for text, by in runs:
        if at < n:
            cut.append((text[:n - at], by))
        at += len(text)
    return cut
