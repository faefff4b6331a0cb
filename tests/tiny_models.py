"""Tiny, seeded, randomly initialised models of real architectures for tests.

Throughput and correctness of the scorer do not depend on trained weights;
what matters is the architecture code path (Llama: full attention; Gemma-3:
sliding-window layers mixed with global ones).
"""
from __future__ import annotations

from pathlib import Path

import torch

from calibkit.engine.models import LoadedModel, ResolvedModel


def tiny_llama(vocab_size: int, *, seed: int = 0, hidden_size: int = 64):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=2 * hidden_size, num_hidden_layers=2,
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


class ScriptedLM(torch.nn.Module):
    """A real tiny Llama whose next-token logits are overridden to write a fixed script.

    After a context of ``n_context`` tokens, generated token ``k`` is
    ``script[k]`` (logit 0 against -1e4 elsewhere), read off the position ids;
    past the script, ``after`` is written. Everything else (cache, masks,
    batching) runs through the real model, so the generation code path is
    exercised unchanged.
    """

    def __init__(self, vocab_size: int, script: list[int], *, n_context: int, after: int, seed: int = 0):
        super().__init__()
        self.inner = tiny_llama(vocab_size, seed=seed)
        self.script, self.n_context, self.after = list(script), n_context, after
        self.config = self.inner.config
        self.generation_config = self.inner.generation_config

    def get_input_embeddings(self):
        return self.inner.get_input_embeddings()

    def forward(self, input_ids=None, position_ids=None, cache=None, **kwargs):
        out = self.inner(input_ids=input_ids, position_ids=position_ids, cache=cache, **kwargs)
        step = position_ids[:, -1] - (self.n_context - 1)  # tokens generated before the one predicted now
        logits = torch.full_like(out.logits, -1e4)
        for b, k in enumerate(step.tolist()):
            token = self.script[k] if 0 <= k < len(self.script) else self.after
            logits[b, -1, token] = 0.0
        out.logits = logits
        return out


def tiny_nli(folder: Path, *, seed: int = 0) -> Path:
    """A tiny seeded BERT NLI classifier saved as a model folder, labels in DeBERTa-MNLI's order.

    Its WordPiece vocabulary is the letters, digits and a few marks (each
    as a word start and as ``##`` piece), so any lower-case English text
    tokenizes without [UNK]; id2label is {0: CONTRADICTION, 1: NEUTRAL,
    2: ENTAILMENT}, as microsoft/deberta-large-mnli's. A wide weight init
    makes the classes far apart, so argmax does not flip on round-off.
    """
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    chars = [*"abcdefghijklmnopqrstuvwxyz0123456789", ".", ",", "?", "'", "-"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, initializer_range=0.5, num_labels=3,
                     id2label={0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"},
                     label2id={"CONTRADICTION": 0, "NEUTRAL": 1, "ENTAILMENT": 2})
    BertForSequenceClassification(cfg).eval().save_pretrained(folder)
    return folder
