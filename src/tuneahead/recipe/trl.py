"""TRL `SFTConfig`-style YAML/JSON (`trl sft --config cfg.yaml`) -> `Recipe`.

Such a file mixes TRL's `ScriptArguments` (dataset), `SFTConfig` (a transformers `TrainingArguments`,
see `_hf.py`) and `ModelConfig` (model and LoRA). Defaults applied where a key is absent (TRL 0.20+):

| Recipe field                | TRL key(s)                                        | default when absent                    |
| --------------------------- | ------------------------------------------------- | -------------------------------------- |
| base_model                  | model_name_or_path (or model)                     | required                               |
| adapter.type                | use_peft (+ load_in_4bit)                         | false: full fine-tune                  |
| adapter.rank                | lora_r                                            | 16 (ModelConfig)                       |
| adapter.alpha               | lora_alpha                                        | 32 (ModelConfig)                       |
| adapter.dropout             | lora_dropout                                      | 0.05 (ModelConfig)                     |
| adapter.target_modules      | lora_target_modules                               | PEFT's per-architecture list: q_proj, v_proj for Llama-family models |
| learning_rate               | learning_rate                                     | 2e-5 (SFTConfig)                       |
| max_seq_length              | max_length (older: max_seq_length)                | 1024                                   |
| packing                     | packing                                           | false                                  |
| loss_on                     | assistant_only_loss / completion_only_loss        | completion_for_prompt_completion: completion-only for prompt-completion data, all tokens otherwise |
| chat_template               | chat_template_path                                | none: the tokenizer's own              |
| precision                   | bf16 / fp16                                       | bf16 (SFTConfig: bf16 unless fp16 is set) |
| datasets                    | dataset_name (aliases dataset_path, train_file) or datasets[] | none                       |
| eval_datasets               | validation_file / eval_file, or dataset_name's dataset_test_split when eval_strategy is steps/epoch | none |
| other training fields       | transformers keys                                 | transformers defaults (see `_hf.py`)   |
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneahead.recipe._files import RawConfig
from tuneahead.recipe._hf import HF_DEFAULTS, HF_TRAINING_ARGUMENT_KEYS, read_training_arguments
from tuneahead.recipe._reader import (
    MODEL_SUFFIXES,
    ConfigReader,
    resolve_local,
    show,
    to_string,
    to_string_list,
)
from tuneahead.recipe.model import Recipe

DEFAULTS: dict[str, Any] = {
    **HF_DEFAULTS,
    "learning_rate": 2e-5,
    "adapter.type": "full",
    "adapter.rank": 16,
    "adapter.alpha": 32.0,
    "adapter.dropout": 0.05,
    "adapter.target_modules": ["q_proj", "v_proj"],
    "max_seq_length": 1024,
    "packing": False,
    "loss_on": "completion_for_prompt_completion",
    "chat_template": None,
    "precision": "bf16",
}

MAPPED_KEYS: frozenset[str] = frozenset({
    "model_name_or_path", "model", "dataset_name", "dataset_path", "train_file", "validation_file", "eval_file",
    "datasets", "dataset_train_split", "dataset_test_split", "max_length", "max_seq_length",
    "completion_only_loss", "assistant_only_loss", "packing", "chat_template_path", "use_peft", "lora_r",
    "lora_alpha", "lora_dropout", "lora_target_modules", "load_in_4bit", "load_in_8bit", "bf16", "fp16",
})

_TRL_IGNORED: frozenset[str] = frozenset({
    # SFTConfig (current and deprecated fields)
    "model_init_kwargs", "dataset_text_field", "dataset_kwargs", "dataset_num_proc", "eos_token", "pad_token",
    "packing_strategy", "padding_free", "pad_to_multiple_of", "eval_packing", "loss_type",
    "activation_offloading", "shuffle_dataset", "dataset_batch_size", "num_of_sequences", "chars_per_token",
    "use_liger", "max_seq_length_warning",
    # ModelConfig
    "model_revision", "torch_dtype", "dtype", "trust_remote_code", "attn_implementation",
    "lora_target_parameters", "lora_modules_to_save", "lora_task_type", "use_rslora", "use_dora",
    "bnb_4bit_quant_type", "use_bnb_nested_quant", "bnb_4bit_quant_storage",
    # ScriptArguments and the CLI
    "dataset_config", "dataset_streaming", "gradient_checkpointing_use_reentrant", "ignore_bias_buffers",
    "streaming", "test_split_size", "config",
})
IGNORED_KEYS: frozenset[str] = (_TRL_IGNORED | HF_TRAINING_ARGUMENT_KEYS) - MAPPED_KEYS
KNOWN_KEYS: frozenset[str] = MAPPED_KEYS | IGNORED_KEYS | HF_TRAINING_ARGUMENT_KEYS

DATASET_KEYS: frozenset[str] = frozenset({"path", "name", "data_dir", "data_files", "split", "columns"})
_LORA_KEYS = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules")
_TRAIN_KEYS = ("dataset_name", "dataset_path", "train_file", "datasets")
_EVAL_KEYS = ("validation_file", "eval_file")
_BUILDERS = {"json", "csv", "parquet", "text", "arrow"}
_TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2")


def read_trl(raw: RawConfig) -> Recipe:
    r = ConfigReader(raw, "trl")
    _read_model(r)
    _read_adapter(r)
    read_training_arguments(r, DEFAULTS)
    _read_precision(r)
    _read_sequence(r)
    _read_datasets(r)
    r.classify_leftovers(KNOWN_KEYS)
    return r.build()


def _read_model(r: ConfigReader) -> None:
    name = r.string("model_name_or_path")
    alias = r.string("model")
    if name and alias and name != alias:
        raise r.error("model", f"model {alias!r} and model_name_or_path {name!r} disagree; keep one")
    model = name or alias
    if not model:
        raise r.error("model_name_or_path", "a TRL config needs 'model_name_or_path' (or 'model')")
    r.set("base_model", resolve_local(model, r.base_dir, MODEL_SUFFIXES), "model_name_or_path" if name else "model")


def _read_adapter(r: ConfigReader) -> None:
    use_peft = r.boolean("use_peft")
    in_4bit = r.boolean("load_in_4bit") or False
    in_8bit = r.boolean("load_in_8bit") or False
    if in_4bit and in_8bit:
        raise r.error("load_in_8bit", "load_in_4bit and load_in_8bit cannot both be true")
    if not use_peft:
        if in_4bit or in_8bit:
            key = "load_in_4bit" if in_4bit else "load_in_8bit"
            raise r.error(key, f"{key} works only with LoRA: set use_peft: true")
        if use_peft is None:
            r.default("adapter.type", DEFAULTS["adapter.type"])
        else:
            r.set("adapter.type", "full", "use_peft")
        if any(r.has(k) for k in _LORA_KEYS):
            r.note("LoRA settings are ignored: use_peft is not true, so all weights train")
        r.mark_used(*_LORA_KEYS)
        return
    r.set("adapter.type", "lora", "use_peft")
    r.set("adapter.load_in_4bit", in_4bit, "load_in_4bit")
    if in_8bit:
        r.unsupported.append("load_in_8bit")
        r.note("load_in_8bit: 8-bit base weights are not modelled; the base is treated as 16-bit")
    r.field("adapter.rank", "lora_r", r.integer, DEFAULTS["adapter.rank"])
    r.field("adapter.alpha", "lora_alpha", r.number, DEFAULTS["adapter.alpha"])
    r.field("adapter.dropout", "lora_dropout", r.number, DEFAULTS["adapter.dropout"])
    targets = r.string_list("lora_target_modules")
    if targets is None:
        r.default("adapter.target_modules", DEFAULTS["adapter.target_modules"])
        r.note("no lora_target_modules: PEFT picks them per architecture (q_proj, v_proj for Llama-family)")
    else:
        r.set("adapter.target_modules", "all-linear" if targets == ["all-linear"] else targets, "lora_target_modules")


def _read_precision(r: ConfigReader) -> None:
    bf16 = r.boolean("bf16")
    fp16 = r.boolean("fp16")
    if bf16 and fp16:
        raise r.error("fp16", "bf16 and fp16 cannot both be true")
    if fp16:
        r.set("precision", "fp16", "fp16")
    elif bf16:
        r.set("precision", "bf16", "bf16")
    elif bf16 is False:
        r.set("precision", "fp32", "bf16")
    else:
        r.default("precision", DEFAULTS["precision"])


def _read_sequence(r: ConfigReader) -> None:
    for key in ("max_length", "max_seq_length"):
        if key in r.data and r.data[key] is None:
            raise r.error(key, f"{key}: null (no truncation) is not modelled", hint="set the model's context length")
    length = r.integer("max_length")
    legacy = r.integer("max_seq_length")
    if length is not None and legacy is not None and length != legacy:
        raise r.error("max_seq_length", f"max_seq_length {legacy} and max_length {length} disagree; keep max_length")
    if length is not None:
        r.set("max_seq_length", length, "max_length")
    elif legacy is not None:
        r.set("max_seq_length", legacy, "max_seq_length")
    else:
        r.default("max_seq_length", DEFAULTS["max_seq_length"])
    r.field("packing", "packing", r.boolean, DEFAULTS["packing"])

    assistant_only = r.boolean("assistant_only_loss")
    completion_only = r.boolean("completion_only_loss")
    if assistant_only:
        r.set("loss_on", "completion", "assistant_only_loss")
    elif completion_only is False:
        r.set("loss_on", "all", "completion_only_loss")
    elif completion_only is None and assistant_only is None:
        r.default("loss_on", DEFAULTS["loss_on"])
    else:  # completion_only_loss true: completion-only for prompt-completion data, as with None
        r.set("loss_on", "completion_for_prompt_completion", "completion_only_loss")

    template = r.string("chat_template_path")
    if template is None:
        r.default("chat_template", DEFAULTS["chat_template"])
        return
    resolved = resolve_local(template, r.base_dir, _TEMPLATE_SUFFIXES)
    path = Path(resolved)
    if path.is_file() and path.suffix.lower() in _TEMPLATE_SUFFIXES:
        try:
            r.set("chat_template", path.read_text(encoding="utf-8"), "chat_template_path")
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise r.error("chat_template_path", f"cannot read the chat template file: {exc}") from exc
    r.set("chat_template", resolved, "chat_template_path")
    r.note(f"chat_template_path {template!r} is kept as a path (a tokenizer or a template not found here)")


def _read_datasets(r: ConfigReader) -> None:
    given = [k for k in _TRAIN_KEYS if r.has(k)]
    if len(given) > 1:
        raise r.error(given[1], f"give the training data once: {' and '.join(given)} are both set")
    train: list[dict[str, Any]] = []
    if given == ["datasets"]:
        train = _mixture(r)
        r.set("datasets", train, "datasets")
    elif given:
        key = given[0]
        name = r.string(key) or ""
        split = r.string("dataset_train_split")
        train = [{"path": resolve_local(name, r.base_dir), "format": "auto", "split": split}]
        r.set("datasets", train, key)
    else:
        r.default("datasets", [])

    eval_given = [k for k in _EVAL_KEYS if r.has(k)]
    if len(eval_given) > 1:
        raise r.error(eval_given[1], f"give the eval data once: {' and '.join(eval_given)} are both set")
    strategy = r.peek("eval_strategy") or r.peek("evaluation_strategy")
    if eval_given:
        key = eval_given[0]
        r.set("eval_datasets", [{"path": resolve_local(r.string(key) or "", r.base_dir)}], key)
    elif given == ["dataset_name"] and strategy in ("steps", "epoch"):
        # TRL's sft script evaluates on the test split of the same dataset when evaluation is on.
        split = r.string("dataset_test_split") or "test"
        r.set("eval_datasets", [{"path": train[0]["path"], "format": "auto", "split": split}], "dataset_test_split")
    else:
        r.default("eval_datasets", [])


def _mixture(r: ConfigReader) -> list[dict[str, Any]]:
    entries = r.take("datasets")
    if not isinstance(entries, list):
        raise r.error("datasets", f"expected a list of dataset entries, got {show(entries)}")
    refs: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        prefix = f"datasets[{i}]"
        if not isinstance(entry, dict):
            raise r.error(prefix, f"expected a dataset mapping with a 'path', got {show(entry)}")
        path = to_string(entry.get("path"), f"{prefix}.path", r)
        if not path:
            raise r.error(f"{prefix}.path", "a dataset entry needs a 'path'")
        split = to_string(entry.get("split"), f"{prefix}.split", r)
        files = to_string_list(entry.get("data_files"), f"{prefix}.data_files", r)
        if files and path in _BUILDERS:
            refs += [{"path": resolve_local(f, r.base_dir), "format": "auto", "split": split} for f in files]
        else:
            refs.append({"path": resolve_local(path, r.base_dir), "format": "auto", "split": split})
            if files:
                r.note(f"{prefix}.data_files inside {path!r} are not resolved")
        for key in entry:
            if key not in ("path", "split", "data_files"):
                (r.unsupported if key in DATASET_KEYS else r.unknown).append(f"{prefix}.{key}")
    return refs


__all__ = ["DATASET_KEYS", "DEFAULTS", "KNOWN_KEYS", "read_trl"]
