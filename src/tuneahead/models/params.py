"""Parameter counts from a model config alone (no weights): total and trainable under an adapter.

Used for the trainable-parameter share descriptor and the FLOPs cost model. Covers Llama-style
decoder-only transformers (Llama, Mistral, Qwen2, SmolLM, ...), which is what `config.json`
of most causal LMs describes with these keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tuneahead.recipe.model import AdapterConfig

_ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
_MLP = ("gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class ParamCount:
    total: int
    trainable: int
    non_embedding: int

    @property
    def trainable_share(self) -> float:
        return self.trainable / self.total if self.total else float("nan")


def linear_shapes(config: dict) -> dict[str, tuple[int, int]]:
    """(in_features, out_features) of each per-layer linear module of a Llama-style block."""
    h = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    kv_heads = int(config.get("num_key_value_heads") or heads)
    head_dim = int(config.get("head_dim") or h // heads)
    inter = int(config["intermediate_size"])
    return {
        "q_proj": (h, heads * head_dim),
        "k_proj": (h, kv_heads * head_dim),
        "v_proj": (h, kv_heads * head_dim),
        "o_proj": (heads * head_dim, h),
        "gate_proj": (h, inter),
        "up_proj": (h, inter),
        "down_proj": (inter, h),
    }


def count_params(config: dict, adapter: AdapterConfig) -> ParamCount:
    shapes = linear_shapes(config)
    h = int(config["hidden_size"])
    layers = int(config["num_hidden_layers"])
    vocab = int(config["vocab_size"])
    per_layer = sum(i * o for i, o in shapes.values()) + 2 * h  # two RMSNorm weights
    non_embedding = layers * per_layer + h  # final norm
    embeddings = vocab * h * (1 if config.get("tie_word_embeddings", False) else 2)
    total = non_embedding + embeddings
    if adapter.is_full:
        return ParamCount(total, total, non_embedding)
    targets = list(shapes) if adapter.target_modules == "all-linear" else list(adapter.target_modules)
    lora = sum(adapter.rank * (shapes[m][0] + shapes[m][1]) for m in targets if m in shapes) * layers
    return ParamCount(total + lora, lora, non_embedding)


def read_config(model_dir: str | Path) -> dict | None:
    """config.json of a local model folder, or None when absent/unreadable."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    needed = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size")
    return data if all(k in data for k in needed) else None
