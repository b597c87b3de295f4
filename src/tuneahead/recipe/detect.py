"""Tell which framework a config file was written for, from its keys alone.

1. `tuneahead_recipe:` at the top level -> native.
2. The model key narrows the field: `base_model` -> native or Axolotl; `model_name_or_path` ->
   LLaMA-Factory or TRL; `model` -> TRL.
3. Among those, the framework whose distinctive keys appear wins (native: its own field names such as
   `max_seq_length`, `loss_on`, a nested `adapter:` mapping or dataset `format:`; Axolotl: `sequence_len`,
   `lora_r`, a string `adapter:` or dataset `type:`, ...;
   LLaMA-Factory: `finetuning_type`, `stage`, `cutoff_len`, `template`, ...; TRL: `max_length`,
   `completion_only_loss`, `dataset_name`, `use_peft`, ...). A `model_name_or_path` file with no
   LLaMA-Factory key but transformers training keys is TRL / `TrainingArguments` style.

Anything else is ambiguous: the error lists the keys seen and asks for an explicit framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuneahead.errors import Location, RecipeError
from tuneahead.recipe import axolotl, llamafactory, native, trl
from tuneahead.recipe._hf import HF_TRAINING_ARGUMENT_KEYS

FRAMEWORKS = ("native", "axolotl", "llamafactory", "trl")
_ALIASES = {"llama-factory": "llamafactory", "llama_factory": "llamafactory", "lf": "llamafactory",
            "tuneahead": "native", "sft": "trl", "sftconfig": "trl"}

# Keys that point at one framework only (shared keys such as learning_rate prove nothing).
_NATIVE_ONLY = frozenset({"tokenizer", "num_devices", "max_seq_length", "loss_on", "precision", "eval_datasets",
                          "packing"})
_AXOLOTL_ONLY = axolotl.KNOWN_KEYS - native.NATIVE_KEYS
_LF_ONLY = llamafactory.KNOWN_KEYS - trl.KNOWN_KEYS - HF_TRAINING_ARGUMENT_KEYS
# max_length is also a LLaMA-Factory *generation* key, but in a training config it is SFTConfig's.
_TRL_ONLY = (trl.KNOWN_KEYS - llamafactory.KNOWN_KEYS - HF_TRAINING_ARGUMENT_KEYS) | {"max_length"}
_LF_ONLY = _LF_ONLY - {"max_length"}


def normalize_framework(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FRAMEWORKS:
        raise RecipeError(f"unknown framework {name!r}; expected one of {', '.join(FRAMEWORKS)}")
    return key


def detect_framework(data: Mapping[str, Any], file: str | None = None) -> str:
    """The framework a parsed config belongs to, or a RecipeError naming the keys seen."""
    keys = set(data)
    if native.MARKER in keys:
        return "native"

    hits: dict[str, list[str]] = {}
    if "base_model" in keys:
        native_hits = sorted(keys & _NATIVE_ONLY)
        if isinstance(data.get("adapter"), Mapping):
            native_hits.append("adapter (a mapping)")
        axolotl_hits = sorted(keys & _AXOLOTL_ONLY)
        if isinstance(data.get("adapter"), str):
            axolotl_hits.append("adapter (a string)")
        # Dataset entries tell them apart too: Axolotl's carry `type`, native ones `format`.
        entries = [e for e in data.get("datasets") or [] if isinstance(e, Mapping)] if isinstance(
            data.get("datasets"), list) else []
        if any("type" in e for e in entries):
            axolotl_hits.append("datasets[].type")
        if any("format" in e for e in entries):
            native_hits.append("datasets[].format")
        hits["native"], hits["axolotl"] = native_hits, axolotl_hits
    if "model_name_or_path" in keys:
        hits["llamafactory"] = sorted(keys & _LF_ONLY)
        hits["trl"] = sorted(keys & _TRL_ONLY)
    if "model" in keys and "model_name_or_path" not in keys:
        hits["trl"] = sorted(keys & _TRL_ONLY) or ["model"]

    winners = [fw for fw, found in hits.items() if found]
    if len(winners) == 1:
        return winners[0]
    if not winners and "model_name_or_path" in keys and keys & HF_TRAINING_ARGUMENT_KEYS:
        return "trl"

    seen = ", ".join(sorted(keys)) or "(none)"
    if winners:
        detail = "; ".join(f"{fw}: {', '.join(hits[fw])}" for fw in winners)
        message = f"cannot tell which framework this config is for: it has keys of several ({detail})"
    elif hits:
        message = f"cannot tell which framework this config is for ({' or '.join(hits)}); keys seen: {seen}"
    else:
        message = (
            "cannot tell which framework this config is for: no base_model, model_name_or_path or model key; "
            f"keys seen: {seen}"
        )
    raise RecipeError(
        message,
        Location(file=file),
        hint=f"pass the framework explicitly ({', '.join(FRAMEWORKS)}), "
        f"or add `{native.MARKER}: 1` to a TuneAhead recipe",
    )
