"""Tiny, seeded, randomly initialised models of real architectures for tests.

Throughput and correctness of the scorer do not depend on trained weights;
what matters is the architecture code path (Llama: full attention; Gemma-3:
sliding-window layers mixed with global ones).
"""
from __future__ import annotations

from pathlib import Path

import torch

from calibkit.models import LoadedModel, ResolvedModel


def tiny_llama(vocab_size: int, *, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
    )
    return LlamaForCausalLM(cfg).eval()


def tiny_gemma3(vocab_size: int, *, seed: int = 0, sliding_window: int = 16):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    cfg = Gemma3TextConfig(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=4096,
        sliding_window=sliding_window,
        layer_types=["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
    )
    return Gemma3ForCausalLM(cfg).eval()


def loaded(model, tokenizer, name: str = "tiny") -> LoadedModel:
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return LoadedModel(
        resolved=ResolvedModel(name=name, source=name, gguf_file=None, kind="local"),
        model=model, tokenizer=tokenizer, dtype="float32", device="cpu", quantization=None,
    )


def llama2_tokenizer(folder: Path):
    """The Llama-2 SentencePiece tokenizer as transformers loads it, BOS on (as on the hub)."""
    from transformers import LlamaTokenizer

    tok = LlamaTokenizer.from_pretrained(str(folder), add_bos_token=True)
    tok.chat_template = (folder / "chat_template.jinja").read_text()
    return tok
