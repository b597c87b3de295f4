"""The recipe of a live `Trainer` / `SFTTrainer` run, read from the trainer's own objects: nothing retyped.

TrainingArguments (and TRL's SFTConfig, a subclass) go through the same key mapping as recipe files
(`recipe._hf.training_argument_fields`); the adapter comes from the model's PEFT config; the loss
setting from the training rows (labels equal to the inputs everywhere: loss on every token).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tuneahead.recipe.model import Recipe

IGNORE_INDEX = -100
SANE_MODEL_MAX_LENGTH = 1_000_000  # tokenizers without a limit report ~1e30
ROWS_TO_INSPECT = 64


def recipe_from_trainer(args: Any, model: Any, tokenizer: Any = None, train_rows: Iterable[Mapping] = ()) -> tuple[Recipe, list[str]]:
    """(the run's recipe, notes on what had to be inferred)."""
    notes: list[str] = []
    arguments = {k: v for k, v in args.to_dict().items() if v is not None}
    fields: dict[str, Any] = training_fields(arguments)
    fields["base_model"] = _base_model(model, notes)
    fields["adapter"] = _adapter(model, notes)
    fields["num_devices"] = max(1, int(getattr(args, "world_size", 1) or 1))
    fields["precision"] = "bf16" if getattr(args, "bf16", False) else "fp16" if getattr(args, "fp16", False) else "fp32"
    if getattr(args, "packing", False):
        fields["packing"] = True
    if "max_seq_length" not in fields:
        limit = getattr(tokenizer, "model_max_length", None)
        if isinstance(limit, int) and 8 <= limit < SANE_MODEL_MAX_LENGTH:
            fields["max_seq_length"] = limit
            notes.append(f"max_seq_length {limit}: the tokenizer's model_max_length (the arguments name none)")
        else:
            notes.append("max_seq_length unknown (the arguments and the tokenizer name none): the recipe default is used")
    loss_on = _loss_on(arguments, train_rows)
    if loss_on is not None:
        fields["loss_on"] = loss_on
    fields["source"] = {"framework": "python", "notes": ["read from a live Trainer"]}
    return _tolerant_recipe(fields, notes), notes


def _tolerant_recipe(fields: dict[str, Any], notes: list[str]) -> Recipe:
    """The recipe, with any setting TuneAhead cannot model left at its default and said so: inside a
    user's run the gate must not stop their training over a value it does not know."""
    from pydantic import ValidationError

    try:
        return Recipe(**fields)
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            if key in fields and key not in ("base_model", "source"):
                notes.append(f"{key} {fields.pop(key)!r} is not a value TuneAhead models: the recipe default is used")
    return Recipe(**fields)


def training_fields(arguments: dict[str, Any]) -> dict[str, Any]:
    from tuneahead.recipe._hf import training_argument_fields

    return training_argument_fields(arguments, Path("TrainingArguments").resolve(), "TrainingArguments")


def _base_model(model: Any, notes: list[str]) -> str:
    peft = _peft_config(model)
    name = getattr(peft, "base_model_name_or_path", None) if peft is not None else None
    config = getattr(model, "config", None)
    name = name or getattr(config, "_name_or_path", None) or getattr(model, "name_or_path", None)
    if not name:
        notes.append("the model does not name where it was loaded from: recorded as 'in-memory model'")
        return "in-memory model"
    return str(name)


def _peft_config(model: Any) -> Any:
    configs = getattr(model, "peft_config", None)
    if isinstance(configs, Mapping) and configs:
        active = getattr(model, "active_adapter", None)
        key = active if isinstance(active, str) and active in configs else next(iter(configs))
        return configs[key]
    return None


def _adapter(model: Any, notes: list[str]) -> dict[str, Any]:
    peft = _peft_config(model)
    if peft is None:
        return {"type": "full"}
    kind = str(getattr(peft, "peft_type", "LORA")).split(".")[-1].upper()
    if kind != "LORA":
        notes.append(f"adapter {kind} is not LoRA: recorded as LoRA's nearest settings")
    targets = getattr(peft, "target_modules", None)
    return {
        "type": "lora",
        "rank": int(getattr(peft, "r", 8) or 8),
        "alpha": float(getattr(peft, "lora_alpha", 16) or 16),
        "dropout": float(getattr(peft, "lora_dropout", 0.0) or 0.0),
        "target_modules": "all-linear" if targets in (None, "all-linear") or isinstance(targets, str) else sorted(targets),
        "load_in_4bit": bool(getattr(getattr(model, "config", None), "quantization_config", None)),
    }


def _loss_on(arguments: Mapping[str, Any], rows: Iterable[Mapping]) -> str | None:
    """"all" or "completion" when the arguments or the rows say; None when neither does."""
    if arguments.get("completion_only_loss") is False and not arguments.get("assistant_only_loss"):
        return "all"
    if arguments.get("completion_only_loss") or arguments.get("assistant_only_loss"):
        return "completion"
    masked = seen = 0
    for i, row in enumerate(rows):
        if i >= ROWS_TO_INSPECT:
            break
        labels, ids = row.get("labels"), row.get("input_ids")
        if labels is None or ids is None:
            if "completion_mask" in row or "assistant_masks" in row:
                return "completion"
            continue
        seen += 1
        labels = list(_plain(labels))
        masked += int(any(v == IGNORE_INDEX for v in labels) or labels != list(_plain(ids)))
    if not seen:
        return None
    return "completion" if masked else "all"


def _plain(values: Any) -> list[int]:
    return [int(v) for v in (values.tolist() if hasattr(values, "tolist") else values)]
