"""Axolotl YAML configs -> `Recipe`.

Defaults applied where a key is absent (Axolotl 0.9-0.12, `utils/schemas/{config,training,peft}.py` and
the trainer builder; keys Axolotl passes straight to transformers / PEFT take their defaults):

| Recipe field                | Axolotl key(s)                            | default when absent                         |
| --------------------------- | ----------------------------------------- | ------------------------------------------- |
| base_model                  | base_model                                | required                                    |
| tokenizer                   | tokenizer_config                          | the base model's tokenizer                  |
| adapter.type                | adapter (+ load_in_4bit)                  | no adapter: full fine-tune                  |
| adapter.rank                | lora_r                                    | 8 (PEFT LoraConfig)                         |
| adapter.alpha               | lora_alpha                                | 8 (PEFT LoraConfig)                         |
| adapter.dropout             | lora_dropout                              | 0.0                                         |
| adapter.target_modules      | lora_target_modules / lora_target_linear  | PEFT's per-architecture list: q_proj, v_proj for Llama-family models |
| learning_rate               | learning_rate                             | required                                    |
| num_epochs                  | num_epochs                                | 1.0                                         |
| max_steps                   | max_steps                                 | unset                                       |
| micro_batch_size            | micro_batch_size                          | 1                                           |
| gradient_accumulation_steps | gradient_accumulation_steps (or batch_size / micro_batch_size) | 1      |
| optimizer                   | optimizer                                 | adamw_torch_fused                           |
| lr_scheduler                | lr_scheduler                              | cosine                                      |
| warmup_steps / warmup_ratio | warmup_steps / warmup_ratio               | min(3 % of steps, 100): recorded as warmup_ratio 0.03 (exact up to 3,333 steps) |
| weight_decay                | weight_decay                              | 0.0                                         |
| adam_beta1 / adam_beta2     | adam_beta1 / adam_beta2                   | 0.9 / 0.999 (transformers)                  |
| max_grad_norm               | max_grad_norm                             | 1.0 (transformers)                          |
| seed                        | seed                                      | 42 (transformers)                           |
| max_seq_length              | sequence_len                              | 512                                         |
| packing                     | sample_packing                            | false                                       |
| loss_on                     | train_on_inputs                           | false: loss on completions only             |
| chat_template               | chat_template (+ chat_template_jinja)     | tokenizer_default: the tokenizer's own      |
| precision                   | bf16 / fp16 / bfloat16 / float16          | bf16: auto (bf16 on current GPUs)           |
| datasets / eval_datasets    | datasets / test_datasets                  | none                                        |
| val_set_size                | val_set_size                              | 0.0                                         |

Dataset `type` -> format: alpaca* -> alpaca; chat_template -> messages (role/content in `messages`) or
sharegpt (from/value in `conversations`); sharegpt* -> sharegpt; completion -> text; anything else
(input_output, custom prompt formats) -> auto, with a note.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tuneahead.chat_templates import check_name

from tuneahead.recipe._files import RawConfig
from tuneahead.recipe._reader import (
    MODEL_SUFFIXES,
    ConfigReader,
    resolve_local,
    show,
    to_boolean,
    to_string,
    to_string_list,
)
from tuneahead.recipe.model import Recipe

DEFAULTS: dict[str, Any] = {
    "adapter.type": "full",
    "adapter.rank": 8,
    "adapter.alpha": 8.0,
    "adapter.dropout": 0.0,
    "adapter.target_modules": ["q_proj", "v_proj"],
    "num_epochs": 1.0,
    "micro_batch_size": 1,
    "gradient_accumulation_steps": 1,
    "optimizer": "adamw_torch_fused",
    "lr_scheduler": "cosine",
    "warmup_ratio": 0.03,
    "warmup_steps": 0,
    "weight_decay": 0.0,
    "adam_beta1": 0.9,
    "adam_beta2": 0.999,
    "max_grad_norm": 1.0,
    "seed": 42,
    "max_seq_length": 512,
    "packing": False,
    "loss_on": "completion",
    "chat_template": None,
    "precision": "bf16",
    "val_set_size": 0.0,
}

# Keys TuneAhead maps (consumed by the reader below).
MAPPED_KEYS: frozenset[str] = frozenset({
    "base_model", "tokenizer_config", "adapter", "load_in_4bit", "load_in_8bit", "lora_r", "lora_alpha",
    "lora_dropout", "lora_target_modules", "lora_target_linear", "learning_rate", "num_epochs", "max_steps",
    "micro_batch_size", "gradient_accumulation_steps", "batch_size", "optimizer", "lr_scheduler",
    "warmup_steps", "warmup_ratio", "weight_decay", "adam_beta1", "adam_beta2", "max_grad_norm", "seed",
    "sequence_len", "sample_packing", "train_on_inputs", "chat_template", "chat_template_jinja", "bf16",
    "fp16", "bfloat16", "float16", "datasets", "test_datasets", "val_set_size", "rl",
})

# Keys Axolotl defines that TuneAhead does not model: reported in source.unsupported_keys.
IGNORED_KEYS: frozenset[str] = frozenset({
    # model loading
    "base_model_config", "base_model_ignore_patterns", "revision_of_model", "model_revision", "model_type",
    "tokenizer_type", "processor_type", "trust_remote_code", "tokenizer_use_fast", "tokenizer_legacy",
    "tokenizer_use_mistral_common", "tokenizer_save_jinja_files", "resize_token_embeddings_to_32x",
    "mean_resizing_embeddings", "shrink_embeddings", "embeddings_skip_upcast", "random_init_weights",
    "is_falcon_derived_model", "is_llama_derived_model", "is_qwen_derived_model", "is_mistral_derived_model",
    "overrides_of_model_config", "overrides_of_model_kwargs", "model_config", "model_kwargs",
    "bnb_config_kwargs", "qat", "quantization", "gptq", "fp8", "tf32", "float32", "gpu_memory_limit",
    "lora_on_cpu", "plugins", "cls_model_config", "num_labels", "rope_scaling", "device", "device_map",
    "max_memory", "low_cpu_mem_usage", "special_tokens", "tokens", "added_tokens_overrides",
    "fix_untrained_tokens", "unfrozen_parameters", "llama4_linearized_experts",
    # data preparation
    "shuffle_merged_datasets", "shuffle_before_merging_datasets", "dataset_exact_deduplication",
    "dataset_prepared_path", "push_dataset_to_hub", "dataset_processes", "dataset_num_proc",
    "dataset_keep_in_memory", "hf_use_auth_token", "dataset_shard_num", "dataset_shard_idx",
    "skip_prepare_dataset", "pretraining_dataset", "min_sample_len", "max_prompt_len", "pad_to_sequence_len",
    "eval_sample_packing", "sample_packing_eff_est", "total_num_tokens", "total_supervised_tokens",
    "sample_packing_group_size", "sample_packing_bin_size", "sample_packing_sequentially",
    "sample_pack_sequentially", "multipack_real_batches", "pretraining_sample_concatenation",
    "pretrain_multipack_buffer_size", "pretrain_multipack_attn", "curriculum_sampling", "batch_flattening",
    "chat_template_kwargs", "eot_tokens", "default_system_message", "max_packed_sequence_len",
    "is_preprocess", "preprocess_iterable", "dataloader_pin_memory", "dataloader_num_workers",
    "dataloader_prefetch_factor", "dataloader_drop_last", "remove_unused_columns", "group_by_length",
    # preference / reward training
    "rl_beta", "dpo_use_weighting", "dpo_use_logits_to_keep", "dpo_beta", "dpo_label_smoothing",
    "dpo_norm_loss", "rpo_alpha", "orpo_alpha", "kto_desirable_weight", "kto_undesirable_weight",
    "cpo_alpha", "simpo_gamma", "trl", "vllm", "reward_model", "process_reward_model",
    # adapters beyond plain LoRA
    "lora_model_dir", "lora_modules_to_save", "lora_fan_in_fan_out", "lora_mlp_kernel", "lora_qkv_kernel",
    "lora_o_kernel", "lora_embedding_kernel", "peft_layers_to_transform", "peft_layers_pattern",
    "peft_use_dora", "peft_use_rslora", "peft_layer_replication", "peft_init_lora_weights",
    "peft_trainable_token_indices", "loraplus_lr_ratio", "loraplus_lr_embedding", "peft", "relora_steps",
    "relora_warmup_steps", "relora_anneal_steps", "relora_prune_ratio", "relora_cpu_offload",
    "jagged_restart_steps", "jagged_restart_warmup_steps", "jagged_restart_anneal_steps",
    "qlora_sharded_model_loading", "merge_lora", "lisa_n_layers", "lisa_step_interval",
    "lisa_layers_attribute",
    # optimisation extras
    "attention", "eval_batch_size", "auto_find_batch_size", "lr_quadratic_warmup", "lr_scheduler_kwargs",
    "cosine_min_lr_ratio", "cosine_constant_lr_ratio", "lr_div_factor", "lr_groups", "optim_args",
    "optim_target_modules", "torchdistx_path", "adam_beta3", "adam_epsilon", "adam_epsilon2", "embedding_lr",
    "embedding_lr_scale", "neftune_noise_alpha", "noisy_embedding_alpha", "gradient_checkpointing",
    "gradient_checkpointing_kwargs", "early_stopping_patience", "loss_watchdog_threshold",
    "loss_watchdog_patience", "gc_steps", "dion_lr", "dion_momentum", "dion_rank_fraction",
    "dion_rank_multiple_of",
    # kernels and attention
    "flash_optimum", "xformers_attention", "flash_attention", "flash_attn_cross_entropy",
    "flash_attn_rms_norm", "flash_attn_fuse_qkv", "flash_attn_fuse_mlp", "sdp_attention", "s2_attention",
    "flex_attention", "flex_attn_compile_kwargs", "eager_attention", "attn_implementation",
    "unsloth_cross_entropy_loss", "unsloth_lora_mlp", "unsloth_lora_qkv", "unsloth_lora_o",
    "unsloth_rms_norm", "unsloth_rope", "torch_compile", "torch_compile_backend", "torch_compile_mode",
    "use_pose", "pose_split_on_token_ids", "pose_max_context_len", "pose_num_chunks", "liger_rope",
    "liger_rms_norm", "liger_glu_activation", "liger_layer_norm", "liger_fused_linear_cross_entropy",
    "cut_cross_entropy",
    # distribution
    "fsdp", "fsdp_config", "fsdp_version", "fsdp_final_state_dict_type", "deepspeed", "ddp", "ddp_timeout",
    "ddp_bucket_cap_mb", "ddp_broadcast_buffers", "ddp_find_unused_parameters", "sequence_parallel_degree",
    "context_parallel_size", "tensor_parallel_size", "heads_k_stride", "ring_attn_func", "local_rank",
    "world_size", "accelerator_config", "ray_num_workers", "resources_per_worker", "ray_run_name", "use_ray",
    # output, evaluation and logging
    "output_dir", "hub_model_id", "hub_strategy", "save_safetensors", "resume_from_checkpoint",
    "auto_resume_from_checkpoints", "logging_steps", "eval_steps", "evals_per_epoch", "eval_strategy",
    "evaluation_strategy", "save_strategy", "save_steps", "saves_per_epoch", "save_total_limit",
    "save_only_model", "save_first_step", "load_best_model_at_end", "metric_for_best_model",
    "greater_is_better", "include_tokens_per_second", "eval_table_size", "eval_max_new_tokens",
    "do_causal_lm_eval", "eval_causal_lm_metrics", "do_bench_eval", "bench_dataset", "bench_split",
    "profiler_steps", "use_tensorboard", "wandb_mode", "wandb_project", "wandb_entity", "wandb_watch",
    "wandb_name", "wandb_run_id", "wandb_log_model", "mlflow_tracking_uri", "mlflow_experiment_name",
    "mlflow_run_name", "hf_mlflow_log_artifacts", "use_comet", "comet_api_key", "comet_workspace",
    "comet_project_name", "comet_experiment_key", "comet_mode", "comet_online", "comet_experiment_config",
    "gradio_title", "gradio_share", "gradio_server_name", "gradio_server_port", "gradio_max_new_tokens",
    "gradio_temperature", "image_size", "image_resize_algorithm", "debug", "strict", "axolotl_config_path",
})

KNOWN_KEYS: frozenset[str] = MAPPED_KEYS | IGNORED_KEYS

# Keys of one `datasets:` / `test_datasets:` entry.
DATASET_MAPPED_KEYS = frozenset({
    "path", "type", "split", "data_files", "ds_type", "field_messages", "message_property_mappings",
    "message_field_role", "message_field_content", "chat_template",
})
DATASET_KEYS: frozenset[str] = DATASET_MAPPED_KEYS | frozenset({
    "name", "revision", "trust_remote_code", "shards", "shards_idx", "preprocess_shards", "conversation",
    "chat_template_jinja", "input_format", "input_transform", "field", "field_human", "field_model",
    "field_tools", "field_thinking", "field_system", "field_instruction", "field_input", "field_output",
    "system_prompt", "system_format", "format", "no_input_format", "message_field_training",
    "message_field_training_detail", "roles_to_train", "train_on_eos", "train_on_eot", "roles",
    "drop_system_message", "split_thinking", "template_thinking_key", "logprobs_field", "temperature",
    "train_on_split", "data_dir", "eot_tokens", "field_prompt", "field_chosen", "field_rejected",
})
# Sub-keys whose default value changes nothing TuneAhead models: consumed silently when at the default.
_DATASET_DEFAULT_SUBKEYS = {"roles_to_train": ["assistant"], "train_on_eos": "turn", "train_on_eot": "turn"}
_BUILDERS = {"json", "csv", "parquet", "text", "arrow"}


def read_axolotl(raw: RawConfig) -> Recipe:
    r = ConfigReader(raw, "axolotl")
    rl = r.take("rl")
    if rl:
        raise r.error("rl", f"rl: {show(rl)} is preference/RL training; TuneAhead models supervised fine-tuning")

    base_model = r.string("base_model")
    if not base_model:
        raise r.error("base_model", "Axolotl requires 'base_model'")
    r.set("base_model", resolve_local(base_model, r.base_dir, MODEL_SUFFIXES), "base_model")
    tokenizer = r.string("tokenizer_config")
    if tokenizer:
        r.set("tokenizer", resolve_local(tokenizer, r.base_dir, MODEL_SUFFIXES), "tokenizer_config")

    _read_adapter(r)
    _read_optimisation(r)
    _read_data_shaping(r)
    _read_precision(r)
    _read_all_datasets(r)

    r.classify_leftovers(KNOWN_KEYS)
    return r.build()


def _read_adapter(r: ConfigReader) -> None:
    adapter = r.string("adapter")
    in_4bit = r.boolean("load_in_4bit") or False
    in_8bit = r.boolean("load_in_8bit") or False
    lora_keys = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "lora_target_linear")
    if not adapter:
        if in_4bit or in_8bit:
            key = "load_in_4bit" if in_4bit else "load_in_8bit"
            raise r.error(key, f"{key} needs an adapter (lora or qlora); Axolotl refuses it for full fine-tuning")
        r.default("adapter.type", DEFAULTS["adapter.type"])
        if any(r.has(k) for k in lora_keys):
            r.note("LoRA settings are ignored: no `adapter` is set, so Axolotl fine-tunes all weights")
        r.mark_used(*lora_keys)
        return
    if adapter not in ("lora", "qlora"):
        raise r.error("adapter", f"expected 'lora', 'qlora' or no adapter (full fine-tune), got {show(adapter)}")
    if adapter == "qlora" and not in_4bit:
        raise r.error("adapter", "adapter 'qlora' needs load_in_4bit: true (Axolotl requires it)")
    r.set("adapter.type", adapter, "adapter")
    r.set("adapter.load_in_4bit", in_4bit, "load_in_4bit")
    if in_8bit:
        r.unsupported.append("load_in_8bit")
        r.note("load_in_8bit: 8-bit base weights are not modelled; the base is treated as 16-bit")

    r.field("adapter.rank", "lora_r", r.integer, DEFAULTS["adapter.rank"])
    r.field("adapter.alpha", "lora_alpha", r.number, DEFAULTS["adapter.alpha"])
    r.field("adapter.dropout", "lora_dropout", r.number, DEFAULTS["adapter.dropout"])
    linear = r.boolean("lora_target_linear")
    modules = r.string_list("lora_target_modules")
    if linear:
        r.set("adapter.target_modules", "all-linear", "lora_target_linear")
        if modules:
            r.note("lora_target_modules are already covered by lora_target_linear: true")
    elif modules:
        value: list[str] | str = "all-linear" if modules == ["all-linear"] else modules
        r.set("adapter.target_modules", value, "lora_target_modules")
    else:
        r.default("adapter.target_modules", DEFAULTS["adapter.target_modules"])
        r.note("no LoRA target modules set: PEFT picks them per architecture (q_proj, v_proj for Llama-family)")


def _read_optimisation(r: ConfigReader) -> None:
    learning_rate = r.number("learning_rate")
    if learning_rate is None:
        raise r.error("learning_rate", "Axolotl requires 'learning_rate'")
    r.set("learning_rate", learning_rate, "learning_rate")
    r.field("num_epochs", "num_epochs", r.number, DEFAULTS["num_epochs"])
    r.field("max_steps", "max_steps", r.integer, None)

    micro = r.integer("micro_batch_size")
    accum = r.integer("gradient_accumulation_steps")
    total = r.integer("batch_size")
    if micro is None and total and accum:
        r.set("micro_batch_size", max(1, total // accum), "batch_size")
    elif micro is None:
        r.default("micro_batch_size", DEFAULTS["micro_batch_size"])
    else:
        r.set("micro_batch_size", micro, "micro_batch_size")
    if accum is None and total:
        # Axolotl derives accumulation from the total batch (per device; one device assumed here).
        r.set("gradient_accumulation_steps", max(1, total // r.fields["micro_batch_size"]), "batch_size")
    elif accum is None:
        r.default("gradient_accumulation_steps", DEFAULTS["gradient_accumulation_steps"])
    else:
        r.set("gradient_accumulation_steps", accum, "gradient_accumulation_steps")

    r.field("optimizer", "optimizer", r.string, DEFAULTS["optimizer"])
    r.field("lr_scheduler", "lr_scheduler", r.string, DEFAULTS["lr_scheduler"])
    r.field("weight_decay", "weight_decay", r.number, DEFAULTS["weight_decay"])
    r.field("adam_beta1", "adam_beta1", r.number, DEFAULTS["adam_beta1"])
    r.field("adam_beta2", "adam_beta2", r.number, DEFAULTS["adam_beta2"])
    r.field("max_grad_norm", "max_grad_norm", r.number, DEFAULTS["max_grad_norm"])
    r.field("seed", "seed", r.integer, DEFAULTS["seed"])

    raw = r.number("warmup_steps")
    if raw is not None and raw != int(raw):
        # transformers 5 reads a float below 1 as a ratio; Axolotl's config schema does not.
        raise r.error("warmup_steps", f"expected an integer, got {raw!r}: Axolotl's schema declares warmup_steps an "
                      "integer and refuses this too", hint="for a share of the steps, use warmup_ratio")
    steps = r.integer("warmup_steps")
    ratio = r.number("warmup_ratio")
    if steps is not None and ratio is not None:
        raise r.error("warmup_ratio", "set warmup_steps or warmup_ratio, not both (Axolotl refuses both)")
    if steps is not None:
        r.set("warmup_steps", steps, "warmup_steps")
        r.default("warmup_ratio", 0.0)
    elif ratio is not None:
        r.set("warmup_ratio", ratio, "warmup_ratio")
        r.default("warmup_steps", 0)
    else:
        r.default("warmup_ratio", DEFAULTS["warmup_ratio"])
        r.default("warmup_steps", DEFAULTS["warmup_steps"])
        r.note("no warmup set: Axolotl warms up for min(3% of steps, 100); recorded as warmup_ratio 0.03")


def _read_data_shaping(r: ConfigReader) -> None:
    r.field("max_seq_length", "sequence_len", r.integer, DEFAULTS["max_seq_length"])
    r.field("packing", "sample_packing", r.boolean, DEFAULTS["packing"])
    on_inputs = r.boolean("train_on_inputs")
    if on_inputs is None:
        r.default("loss_on", DEFAULTS["loss_on"])
    else:
        r.set("loss_on", "all" if on_inputs else "completion", "train_on_inputs")
    r.field("val_set_size", "val_set_size", r.number, DEFAULTS["val_set_size"])

    template = None if r.string("chat_template") == "jinja" else r.chat_template("chat_template")
    jinja = r.string("chat_template_jinja")
    if jinja and template is None:
        r.set("chat_template", _jinja_source(r, jinja), "chat_template_jinja")
    elif r.string("chat_template") == "jinja":
        raise r.error("chat_template", "chat_template: jinja needs chat_template_jinja (Axolotl requires it)")
    elif template is None or template == "tokenizer_default":
        if template is None:
            r.default("chat_template", DEFAULTS["chat_template"])
        else:
            r.set("chat_template", None, "chat_template")
    else:  # a named template, or tokenizer_default_fallback_<name> (resolved with the tokenizer)
        r.set("chat_template", template, "chat_template")


def _jinja_source(r: ConfigReader, value: str) -> str:
    """`chat_template_jinja` is Jinja source or, as Axolotl also accepts, the path of a .jinja file."""
    if "{" in value:
        return value
    path = Path(resolve_local(value, r.base_dir, (".jinja", ".j2")))
    if not os.path.isfile(path):
        raise r.error("chat_template_jinja", f"neither Jinja source nor an existing template file: {value!r}")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise r.error("chat_template_jinja", f"cannot read the chat template file: {exc}") from None


def _read_precision(r: ConfigReader) -> None:
    bf16_raw = r.take("bf16")
    bf16: bool | str | None = (
        "auto" if bf16_raw is None  # Axolotl's default
        else bf16_raw if bf16_raw in ("auto", "full")
        else to_boolean(bf16_raw, "bf16", r)
    )
    fp16 = r.boolean("fp16")
    pure_bf16 = r.boolean("bfloat16")
    pure_fp16 = r.boolean("float16")
    if fp16 or pure_fp16:  # an explicit fp16 wins over bf16: auto, as in Axolotl
        r.set("precision", "fp16", "fp16" if fp16 else "float16")
    elif bf16 in (True, "auto", "full") or pure_bf16:
        if bf16_raw is None and not pure_bf16:
            r.default("precision", DEFAULTS["precision"])
        else:
            r.set("precision", "bf16", "bf16" if bf16_raw is not None else "bfloat16")
    else:
        r.set("precision", "fp32", "bf16")


# ---- datasets ----


def _read_all_datasets(r: ConfigReader) -> None:
    per_dataset_templates: list[str] = []
    for key, field in (("datasets", "datasets"), ("test_datasets", "eval_datasets")):
        entries = r.take(key)
        if entries is None:
            r.default(field, [])
            continue
        if not isinstance(entries, list):
            raise r.error(key, f"expected a list of dataset entries, got {show(entries)}")
        refs: list[dict[str, Any]] = []
        for i, entry in enumerate(entries):
            refs.extend(_read_dataset(r, entry, f"{key}[{i}]", per_dataset_templates))
        r.set(field, refs, key)
    # A chat template set per dataset applies when there is no global one and they all agree.
    distinct = set(per_dataset_templates)
    if "chat_template" in r.defaults_applied and len(distinct) == 1:
        (template,) = distinct
        r.set("chat_template", None if template == "tokenizer_default" else template, "datasets")
        r.defaults_applied.remove("chat_template")
    elif distinct - {r.fields.get("chat_template") or "tokenizer_default"}:
        r.note("per-dataset chat_template values are not modelled; the global chat_template is used")


def _read_dataset(r: ConfigReader, entry: Any, prefix: str, templates: list[str]) -> list[dict[str, Any]]:
    if not isinstance(entry, dict):
        raise r.error(prefix, f"expected a dataset mapping with a 'path', got {show(entry)}")
    used: set[str] = set()

    def get(key: str) -> Any:
        used.add(key)
        return entry.get(key)

    path = to_string(get("path"), f"{prefix}.path", r)
    if not path:
        raise r.error(f"{prefix}.path", "a dataset entry needs a 'path'")
    split = to_string(get("split"), f"{prefix}.split", r)
    data_files = to_string_list(get("data_files"), f"{prefix}.data_files", r)
    get("ds_type")  # only tells the loader how to read the files
    template = to_string(get("chat_template"), f"{prefix}.chat_template", r)
    if template:
        problem = check_name(template)
        if problem:
            raise r.error(f"{prefix}.chat_template", problem)
        templates.append(template)
    fmt, columns, roles = _dataset_format(r, entry, get, prefix)
    for key, default in _DATASET_DEFAULT_SUBKEYS.items():
        if key in entry and entry[key] == default:
            used.add(key)

    if data_files and (path in _BUILDERS or all(_looks_local(f, r) for f in data_files)):
        paths = [resolve_local(f, r.base_dir) for f in data_files]
    else:
        if data_files:
            r.note(f"{prefix}.data_files inside the hub dataset {path!r} are not resolved")
        paths = [resolve_local(path, r.base_dir)]

    for key in entry:
        if key not in used:
            (r.unsupported if key in DATASET_KEYS else r.unknown).append(f"{prefix}.{key}")
    return [{"path": p, "format": fmt, "split": split, "columns": columns, "roles": roles} for p in paths]


def _looks_local(value: str, r: ConfigReader) -> bool:
    return os.path.isabs(os.path.expanduser(value)) or resolve_local(value, r.base_dir) != value


Format = tuple[str, dict[str, str], dict[str, str]]  # (data format, column mapping, role mapping)


def _dataset_format(r: ConfigReader, entry: dict[str, Any], get: Any, prefix: str) -> Format:
    kind = get("type")
    if kind is None:
        r.note(f"{prefix} has no type: the data format is auto-detected")
        return "auto", {}, {}
    if isinstance(kind, dict):
        r.note(f"{prefix} uses a custom prompt format: the data format is auto-detected")
        return "auto", {}, {}
    kind = to_string(kind, f"{prefix}.type", r) or ""
    if kind.startswith("alpaca"):
        return "alpaca", {}, {}
    if kind.startswith("sharegpt"):
        return "sharegpt", {}, {}
    if kind == "completion":
        field = to_string(get("field"), f"{prefix}.field", r)
        return "text", ({"text": field} if field and field != "text" else {}), {}
    if kind == "chat_template":
        return _chat_template_format(r, entry, get, prefix)
    r.note(f"{prefix} type {kind!r} is not read directly: the data format is auto-detected")
    return "auto", {}, {}


def _chat_template_format(r: ConfigReader, entry: dict[str, Any], get: Any, prefix: str) -> Format:
    """Axolotl's chat_template datasets: the turns' column (`field_messages`), their keys
    (`message_property_mappings`, or the older `message_field_role` / `message_field_content`) and the
    data's role names (`roles`: {user: [human, ...], assistant: [gpt, ...]}), read as Axolotl reads them."""
    field = to_string(get("field_messages"), f"{prefix}.field_messages", r) or "messages"
    mappings = get("message_property_mappings") or {}
    if not isinstance(mappings, dict):
        raise r.error(f"{prefix}.message_property_mappings", f"expected a mapping, got {show(mappings)}")
    role = str(mappings.get("role") or get("message_field_role") or "role")
    content = str(mappings.get("content") or get("message_field_content") or "content")
    roles: dict[str, str] = {"human": "user", "gpt": "assistant"}  # Axolotl's default role names, besides ours
    declared = get("roles") or {}
    if not isinstance(declared, dict):
        raise r.error(f"{prefix}.roles", f"expected a mapping of roles to lists of names, got {show(declared)}")
    for ours, names in declared.items():
        for name in [names] if isinstance(names, str) else (names or []):
            roles[str(name)] = str(ours)
    columns = {k: v for k, v in (("messages", field), ("role", role), ("content", content)) if k != v}
    if not columns and not get("roles"):
        return "messages", {}, {}
    return "messages", columns, roles


__all__ = ["DATASET_KEYS", "DEFAULTS", "KNOWN_KEYS", "read_axolotl"]
