"""LLaMA-Factory YAML/JSON configs (`llamafactory-cli train cfg.yaml`) -> `Recipe`.

Defaults applied where a key is absent (LLaMA-Factory 0.9.x, `hparams/{finetuning,data,model}_args.py`;
training keys are transformers' `Seq2SeqTrainingArguments`, see `_hf.py` for their defaults):

| Recipe field                | LLaMA-Factory key(s)                   | default when absent                          |
| --------------------------- | -------------------------------------- | -------------------------------------------- |
| base_model                  | model_name_or_path                     | required                                     |
| adapter.type                | finetuning_type (+ quantization_bit 4) | lora                                         |
| adapter.rank                | lora_rank                              | 8                                            |
| adapter.alpha               | lora_alpha                             | 2 x lora_rank                                |
| adapter.dropout             | lora_dropout                           | 0.0                                          |
| adapter.target_modules      | lora_target (`all` or a comma list)    | all -> "all-linear"                          |
| max_seq_length              | cutoff_len                             | 2048                                         |
| loss_on                     | train_on_prompt (stage: pt -> all)     | false: loss on responses only                |
| packing                     | packing / neat_packing                 | false for stage sft, true for stage pt       |
| chat_template               | template                               | none: the tokenizer's own template           |
| precision                   | bf16 / fp16 / pure_bf16                | fp32 (transformers: bf16 and fp16 false)     |
| datasets / eval_datasets    | dataset / eval_dataset (+ dataset_dir) | none                                         |
| val_set_size                | val_size                               | 0.0                                          |
| learning_rate, num_epochs, micro_batch_size, gradient_accumulation_steps, lr_scheduler, warmup, optimizer, weight_decay, betas, max_grad_norm, seed | transformers keys | transformers defaults (5e-5, 3, 8, 1, linear, 0, adamw_torch, 0.0, 0.9/0.999, 1.0, 42) |

Dataset names resolve through `<dataset_dir>/dataset_info.json` when it exists (dataset_dir is relative
to the recipe file, default `data`): `file_name` becomes a path, `formatting: alpaca` -> alpaca,
`formatting: sharegpt` -> messages with OpenAI-style tags (role/content/user/assistant) or sharegpt with
the default ones (from/value/human/gpt). A name with no entry is kept as a path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tuneahead.errors import Location, RecipeError
from tuneahead.recipe._files import RawConfig
from tuneahead.recipe._hf import HF_DEFAULTS, HF_TRAINING_ARGUMENT_KEYS, read_training_arguments
from tuneahead.recipe._reader import MODEL_SUFFIXES, ConfigReader, resolve_local, show
from tuneahead.recipe.model import Recipe

DEFAULTS: dict[str, Any] = {
    **HF_DEFAULTS,
    "adapter.type": "lora",
    "adapter.rank": 8,
    "adapter.dropout": 0.0,
    "adapter.target_modules": "all-linear",
    "max_seq_length": 2048,
    "loss_on": "completion",
    "packing": False,
    "chat_template": None,
    "precision": "fp32",
    "val_set_size": 0.0,
}

MAPPED_KEYS: frozenset[str] = frozenset({
    "model_name_or_path", "stage", "finetuning_type", "lora_rank", "lora_alpha", "lora_dropout", "lora_target",
    "quantization_bit", "dataset", "eval_dataset", "dataset_dir", "template", "cutoff_len", "train_on_prompt",
    "packing", "neat_packing", "val_size", "pure_bf16", "bf16", "fp16",
})

# LLaMA-Factory's own arguments that TuneAhead does not model (transformers' keys are added below).
_LF_IGNORED: frozenset[str] = frozenset({
    # model arguments
    "adapter_name_or_path", "adapter_folder", "cache_dir", "use_fast_tokenizer", "resize_vocab",
    "split_special_tokens", "add_tokens", "add_special_tokens", "new_special_tokens", "model_revision",
    "low_cpu_mem_usage", "rope_scaling", "flash_attn", "shift_attn", "mixture_of_depths", "use_unsloth",
    "use_unsloth_gc", "enable_liger_kernel", "moe_aux_loss_coef", "disable_gradient_checkpointing",
    "use_reentrant_gc", "upcast_layernorm", "upcast_lmhead_output", "train_from_scratch", "infer_backend",
    "offload_folder", "use_kv_cache", "infer_dtype", "hf_hub_token", "ms_hub_token", "om_hub_token",
    "print_param_status", "trust_remote_code", "quantization_method", "quantization_type",
    "double_quantization", "quantization_device_map", "image_resolution", "image_max_pixels",
    "image_min_pixels", "image_do_pan_and_scan", "crop_to_patches", "video_resolution", "video_max_pixels",
    "video_min_pixels", "video_fps", "video_maxlen", "use_audio_in_video", "audio_sampling_rate",
    "export_dir", "export_size", "export_device", "export_quantization_bit", "export_quantization_dataset",
    "export_quantization_nsamples", "export_quantization_maxlen", "export_legacy_format",
    "export_hub_model_id", "vllm_maxlen", "vllm_gpu_util", "vllm_enforce_eager", "vllm_max_lora_rank",
    "vllm_config", "sglang_maxlen", "sglang_mem_fraction", "sglang_tp_size", "sglang_config",
    "sglang_lora_backend",
    # data arguments
    "media_dir", "mask_history", "streaming", "buffer_size", "mix_strategy", "interleave_probs",
    "overwrite_cache", "preprocessing_batch_size", "preprocessing_num_workers", "max_samples",
    "eval_num_beams", "ignore_pad_token_for_loss", "eval_on_each_dataset", "tool_format", "default_system",
    "enable_thinking", "tokenized_path", "data_shared_file_system",
    # fine-tuning arguments
    "freeze_trainable_layers", "freeze_trainable_modules", "freeze_extra_modules", "additional_target",
    "loraplus_lr_ratio", "loraplus_lr_embedding", "use_rslora", "use_dora", "pissa_init", "pissa_iter",
    "pissa_convert", "create_new_adapter", "pref_beta", "pref_ftx", "pref_loss", "dpo_label_smoothing",
    "kto_chosen_weight", "kto_rejected_weight", "simpo_gamma", "ppo_buffer_size", "ppo_epochs",
    "ppo_score_norm", "ppo_target", "ppo_whiten_rewards", "ref_model", "ref_model_adapters",
    "ref_model_quantization_bit", "reward_model", "reward_model_adapters", "reward_model_quantization_bit",
    "reward_model_type", "ld_alpha", "use_galore", "galore_target", "galore_rank", "galore_update_interval",
    "galore_scale", "galore_proj_type", "galore_layerwise", "use_apollo", "apollo_target", "apollo_rank",
    "apollo_update_interval", "apollo_scale", "apollo_proj", "apollo_proj_type", "apollo_scale_type",
    "apollo_layerwise", "apollo_scale_front", "use_badam", "badam_mode", "badam_start_block",
    "badam_switch_mode", "badam_switch_interval", "badam_update_ratio", "badam_mask_mode", "badam_verbose",
    "use_swanlab", "swanlab_project", "swanlab_workspace", "swanlab_run_name", "swanlab_mode",
    "swanlab_api_key", "swanlab_logdir", "swanlab_lark_webhook_url", "swanlab_lark_secret", "use_llama_pro",
    "use_adam_mini", "use_muon", "freeze_vision_tower", "freeze_multi_modal_projector",
    "freeze_language_model", "train_mm_proj_only", "compute_accuracy", "disable_shuffling",
    "early_stopping_steps", "plot_loss", "include_effective_tokens_per_second", "use_dft_loss",
    # generation arguments
    "do_sample", "temperature", "top_p", "top_k", "num_beams", "max_length", "max_new_tokens",
    "repetition_penalty", "length_penalty", "skip_special_tokens",
    # training arguments of LLaMA-Factory and Seq2SeqTrainingArguments
    "ray_run_name", "ray_storage_path", "ray_storage_filesystem", "ray_num_workers", "resources_per_worker",
    "placement_strategy", "ray_init_kwargs", "fp8", "fp8_backend", "fp8_enable_fsdp_float8_all_gather",
    "predict_with_generate", "sortish_sampler", "generation_max_length", "generation_num_beams",
    "generation_config",
    # evaluation (llamafactory-cli eval)
    "task", "task_dir", "batch_size", "lang", "n_shot", "save_dir", "download_mode",
})
IGNORED_KEYS: frozenset[str] = (_LF_IGNORED | HF_TRAINING_ARGUMENT_KEYS) - MAPPED_KEYS
KNOWN_KEYS: frozenset[str] = MAPPED_KEYS | IGNORED_KEYS | HF_TRAINING_ARGUMENT_KEYS

_LORA_KEYS = ("lora_rank", "lora_alpha", "lora_dropout", "lora_target")
_SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}


def read_llamafactory(raw: RawConfig) -> Recipe:
    r = ConfigReader(raw, "llamafactory")
    model = r.string("model_name_or_path")
    if not model:
        raise r.error("model_name_or_path", "LLaMA-Factory requires 'model_name_or_path'")
    r.set("base_model", resolve_local(model, r.base_dir, MODEL_SUFFIXES), "model_name_or_path")

    stage = r.string("stage") or "sft"
    if stage not in ("sft", "pt"):
        raise r.error("stage", f"stage {stage!r} is not supervised fine-tuning; TuneAhead models 'sft' and 'pt'")

    _read_method(r)
    read_training_arguments(r, DEFAULTS)
    _read_precision(r)

    r.field("max_seq_length", "cutoff_len", r.integer, DEFAULTS["max_seq_length"])
    r.field("chat_template", "template", r.chat_template, DEFAULTS["chat_template"])
    on_prompt = r.boolean("train_on_prompt")
    if stage == "pt":
        r.set("loss_on", "all", "stage")
    elif on_prompt is None:
        r.default("loss_on", DEFAULTS["loss_on"])
    else:
        r.set("loss_on", "all" if on_prompt else "completion", "train_on_prompt")
    packing = r.boolean("packing")
    neat = r.boolean("neat_packing")
    if neat:
        r.set("packing", True, "neat_packing")
    elif packing is not None:
        r.set("packing", packing, "packing")
    else:
        r.default("packing", stage == "pt")
    r.field("val_set_size", "val_size", r.number, DEFAULTS["val_set_size"])

    _read_datasets(r)
    r.classify_leftovers(KNOWN_KEYS)
    return r.build()


def _read_method(r: ConfigReader) -> None:
    method = r.string("finetuning_type")
    bits = r.integer("quantization_bit")
    if method is None:
        method = DEFAULTS["adapter.type"]
        r.default("adapter.type", method)
    elif method not in ("lora", "full", "freeze"):
        raise r.error("finetuning_type", f"expected 'lora', 'full' or 'freeze', got {show(method)}")
    if bits is not None and method != "lora":
        raise r.error("quantization_bit", "quantization_bit works only with finetuning_type: lora in LLaMA-Factory")

    if method != "lora":
        r.set("adapter.type", "full", "finetuning_type")
        if method == "freeze":
            r.unsupported.append("finetuning_type")
            r.note("finetuning_type freeze (only some layers train) is read as full fine-tuning")
        if any(r.has(k) for k in _LORA_KEYS):
            r.note(f"LoRA settings are ignored: finetuning_type is {method}")
        r.mark_used(*_LORA_KEYS)
        return

    if "adapter.type" not in r.fields:
        r.set("adapter.type", "lora", "finetuning_type")
    if bits == 4:
        r.set("adapter.load_in_4bit", True, "quantization_bit")
    elif bits is not None:
        r.unsupported.append("quantization_bit")
        r.note(f"quantization_bit {bits}: only 4-bit bases are modelled; the base is treated as 16-bit")
    rank = r.field("adapter.rank", "lora_rank", r.integer, DEFAULTS["adapter.rank"])
    r.field("adapter.alpha", "lora_alpha", r.number, float(rank * 2))  # LLaMA-Factory: alpha = 2 x rank
    r.field("adapter.dropout", "lora_dropout", r.number, DEFAULTS["adapter.dropout"])
    targets = r.string_list("lora_target", comma_separated=True)
    if targets is None:
        r.default("adapter.target_modules", DEFAULTS["adapter.target_modules"])
    elif targets == ["all"]:
        r.set("adapter.target_modules", "all-linear", "lora_target")
    else:
        r.set("adapter.target_modules", targets, "lora_target")


def _read_precision(r: ConfigReader) -> None:
    pure_bf16 = r.boolean("pure_bf16")
    bf16 = r.boolean("bf16")
    fp16 = r.boolean("fp16")
    if bf16 and fp16:
        raise r.error("fp16", "bf16 and fp16 cannot both be true")
    if pure_bf16:
        r.set("precision", "bf16", "pure_bf16")
    elif bf16:
        r.set("precision", "bf16", "bf16")
    elif fp16:
        r.set("precision", "fp16", "fp16")
    elif bf16 is None and fp16 is None:
        r.default("precision", DEFAULTS["precision"])
    else:
        r.set("precision", "fp32", "bf16" if bf16 is not None else "fp16")


# ---- datasets ----


def _read_datasets(r: ConfigReader) -> None:
    dataset_dir = r.string("dataset_dir") or "data"
    online = dataset_dir == "ONLINE"  # LLaMA-Factory's marker for "every name is a hub dataset"
    folder = None if online else Path(os.path.normpath(r.base_dir / os.path.expanduser(dataset_dir)))
    info = _load_dataset_info(folder) if folder is not None else None
    for key, field in (("dataset", "datasets"), ("eval_dataset", "eval_datasets")):
        names = r.string_list(key, comma_separated=True)
        if names is None:
            r.default(field, [])
            continue
        refs = [_dataset_ref(r, name, info, folder) for name in names]
        r.set(field, refs, key)


def _load_dataset_info(folder: Path) -> dict[str, Any] | None:
    path = folder / "dataset_info.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"cannot read dataset_info.json: {exc}", Location(file=str(path))) from exc
    except json.JSONDecodeError as exc:
        raise RecipeError(f"cannot parse JSON: {exc.msg}", Location(file=str(path), line=exc.lineno)) from exc
    if not isinstance(data, dict):
        raise RecipeError("dataset_info.json must map dataset names to entries", Location(file=str(path)))
    return data


def _dataset_ref(r: ConfigReader, name: str, info: dict[str, Any] | None, folder: Path | None) -> dict[str, Any]:
    entry = info.get(name) if info else None
    if info is not None and name not in info:
        # LLaMA-Factory itself refuses a name its dataset_info.json does not define.
        known = ", ".join(sorted(map(str, info))[:10]) + (" …" if len(info) > 10 else "")
        raise r.error(
            "dataset" if name in (r.string_list("dataset", comma_separated=True) or []) else "eval_dataset",
            f"dataset {name!r} is not defined in {folder}/dataset_info.json",
            hint=f"add an entry for it there (LLaMA-Factory needs one too); defined: {known or 'none'}",
        )
    if not isinstance(entry, dict):
        return {"path": resolve_local(name, r.base_dir), "format": "auto", "split": None}

    split = entry.get("split")
    if entry.get("file_name") and folder is not None:
        path = resolve_local(str(folder / str(entry["file_name"])), r.base_dir)
    else:
        hub = entry.get("hf_hub_url") or entry.get("ms_hub_url") or entry.get("om_hub_url")
        path = str(hub or entry.get("script_url") or name)
    if entry.get("ranking"):
        r.note(f"dataset {name!r} is a preference (ranking) dataset; only its chosen answers matter for SFT")
    for extra in ("subset", "folder", "num_samples"):
        if entry.get(extra) is not None:
            r.note(f"dataset {name!r}: dataset_info '{extra}' is not modelled")
    fmt, columns, roles = _format(r, name, entry)
    return {"path": path, "format": fmt, "split": split if isinstance(split, str) else None, "columns": columns,
            "roles": roles}


# LLaMA-Factory's column names (dataset_info.json `columns`) -> the keys of our formats.
_ALPACA_KEYS = {"prompt": "instruction", "query": "input", "response": "output", "system": "system",
                "history": "history"}


def _format(r: ConfigReader, name: str, entry: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, str]]:
    """(data format, column mapping, role mapping) of a dataset_info entry, after its `columns` and `tags`."""
    formatting = entry.get("formatting", "alpaca")
    columns = entry.get("columns") or {}
    tags = entry.get("tags") or {}
    if not isinstance(columns, dict) or not isinstance(tags, dict):
        raise r.error("dataset", f"dataset {name!r}: dataset_info 'columns' and 'tags' must be mappings")
    if formatting == "alpaca":
        mapping = {ours: str(columns[theirs]) for theirs, ours in _ALPACA_KEYS.items()
                   if theirs in columns and columns[theirs] != ours}
        return "alpaca", mapping, {}
    if formatting == "sharegpt":
        messages = str(columns.get("messages", "conversations"))
        t = {**_SHAREGPT_TAGS, **{k: str(v) for k, v in tags.items()}}
        if messages == "conversations" and all(t[k] == v for k, v in _SHAREGPT_TAGS.items()):
            return "sharegpt", {}, {}
        roles = {t["user_tag"]: "user", t["assistant_tag"]: "assistant", t.get("system_tag", "system"): "system"}
        mapping = {"messages": messages, "role": t["role_tag"], "content": t["content_tag"]}
        return "messages", {k: v for k, v in mapping.items() if k != v}, {k: v for k, v in roles.items() if k != v}
    r.note(f"dataset {name!r}: formatting {formatting!r} is not modelled; the data format is auto-detected")
    return "auto", {}, {}


__all__ = ["DEFAULTS", "KNOWN_KEYS", "read_llamafactory"]
