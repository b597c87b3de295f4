"""Hugging Face `TrainingArguments`: the keys it defines and how the ones TuneAhead models map.

Shared by the LLaMA-Factory reader (its `TrainingArguments` subclasses `Seq2SeqTrainingArguments`) and
the TRL reader (`SFTConfig` subclasses `TrainingArguments`).

| Recipe field                | key                          | default (transformers 4.5x / 5.x)            |
| --------------------------- | ---------------------------- | -------------------------------------------- |
| learning_rate               | learning_rate                | 5e-5 (TRL's SFTConfig overrides it: 2e-5)    |
| num_epochs                  | num_train_epochs             | 3.0                                          |
| max_steps                   | max_steps                    | -1 (unset)                                   |
| micro_batch_size            | per_device_train_batch_size  | 8                                            |
| gradient_accumulation_steps | gradient_accumulation_steps  | 1                                            |
| lr_scheduler                | lr_scheduler_type            | linear                                       |
| warmup_ratio / warmup_steps | warmup_ratio / warmup_steps  | 0 / 0 (5.x: a float warmup_steps < 1 is a ratio) |
| weight_decay                | weight_decay                 | 0.0                                          |
| adam_beta1 / adam_beta2     | adam_beta1 / adam_beta2      | 0.9 / 0.999                                  |
| max_grad_norm               | max_grad_norm                | 1.0                                          |
| optimizer                   | optim                        | adamw_torch (5.x names the fused kernel of the same AdamW) |
| seed                        | seed                         | 42                                           |
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneahead.recipe._reader import ConfigReader

HF_DEFAULTS: dict[str, Any] = {
    "learning_rate": 5e-5,
    "num_epochs": 3.0,
    "max_steps": None,
    "micro_batch_size": 8,
    "gradient_accumulation_steps": 1,
    "lr_scheduler": "linear",
    "warmup_ratio": 0.0,
    "warmup_steps": 0,
    "weight_decay": 0.0,
    "adam_beta1": 0.9,
    "adam_beta2": 0.999,
    "max_grad_norm": 1.0,
    "optimizer": "adamw_torch",
    "seed": 42,
}

# Every init field of TrainingArguments in transformers 5.x, plus fields of 4.x releases that users'
# configs still carry. Keys here that no reader maps are reported as unsupported, not unknown.
HF_TRAINING_ARGUMENT_KEYS: frozenset[str] = frozenset({
    "accelerator_config", "activation_checkpointing", "activation_checkpointing_kwargs", "adam_beta1",
    "adam_beta2", "adam_epsilon", "auto_find_batch_size", "average_tokens_across_devices",
    "batch_eval_metrics", "bf16", "bf16_full_eval", "data_seed", "dataloader_drop_last",
    "dataloader_in_order", "dataloader_multiprocessing_context", "dataloader_num_workers",
    "dataloader_persistent_workers", "dataloader_pin_memory", "dataloader_prefetch_factor", "ddp_backend",
    "ddp_broadcast_buffers", "ddp_bucket_cap_mb", "ddp_find_unused_parameters", "ddp_static_graph",
    "ddp_timeout", "debug", "deepspeed", "disable_tqdm", "do_eval", "do_predict", "do_train",
    "enable_jit_checkpoint", "eval_accumulation_steps", "eval_delay", "eval_do_concat_batches",
    "eval_on_start", "eval_steps", "eval_strategy", "eval_use_gather_object", "fp16", "fp16_full_eval",
    "fsdp", "fsdp_config", "full_determinism", "gradient_accumulation_steps", "gradient_checkpointing",
    "gradient_checkpointing_kwargs", "greater_is_better", "hub_always_push", "hub_model_id",
    "hub_private_repo", "hub_revision", "hub_strategy", "hub_token", "ignore_data_skip",
    "include_for_metrics", "include_num_input_tokens_seen", "label_names", "label_smoothing_factor",
    "learning_rate", "length_column_name", "liger_kernel_config", "load_best_model_at_end", "local_rank",
    "log_level", "log_level_replica", "log_on_each_node", "logging_first_step", "logging_nan_inf_filter",
    "logging_steps", "logging_strategy", "lr_scheduler_kwargs", "lr_scheduler_type", "max_grad_norm",
    "max_steps", "metric_for_best_model", "neftune_noise_alpha", "num_train_epochs", "optim", "optim_args",
    "optim_target_modules", "output_dir", "parallelism_config", "per_device_eval_batch_size",
    "per_device_train_batch_size", "prediction_loss_only", "project", "push_to_hub",
    "remove_unused_columns", "report_to", "restore_callback_states_from_checkpoint",
    "resume_from_checkpoint", "run_name", "save_on_each_node", "save_only_model", "save_steps",
    "save_strategy", "save_total_limit", "seed", "skip_memory_metrics", "tf32", "torch_compile",
    "torch_compile_backend", "torch_compile_mode", "torch_empty_cache_steps", "trackio_bucket_id",
    "trackio_space_id", "trackio_static_space_id", "train_sampling_strategy", "use_cache", "use_cpu",
    "use_liger_kernel", "warmup_ratio", "warmup_steps", "weight_decay",
    # transformers 4.x fields removed or renamed in 5.x
    "evaluation_strategy", "overwrite_output_dir", "logging_dir", "save_safetensors", "no_cuda",
    "use_mps_device", "fp16_opt_level", "fp16_backend", "half_precision_backend", "jit_mode_eval",
    "use_ipex", "tpu_num_cores", "tpu_metrics_debug", "past_index", "sharded_ddp", "fsdp_min_num_params",
    "fsdp_transformer_layer_cls_to_wrap", "mp_parameters", "group_by_length", "push_to_hub_model_id",
    "push_to_hub_organization", "push_to_hub_token", "include_inputs_for_metrics",
    "include_tokens_per_second", "split_batches", "dispatch_batches", "ray_scope", "torchdynamo",
    "use_legacy_prediction_loop", "xpu_backend", "per_gpu_train_batch_size", "per_gpu_eval_batch_size",
    "adafactor",
})


def read_training_arguments(r: ConfigReader, defaults: dict[str, Any]) -> None:
    """Map the TrainingArguments keys TuneAhead models; `defaults` is HF_DEFAULTS with framework overrides."""
    r.field("learning_rate", "learning_rate", r.number, defaults["learning_rate"])
    r.field("num_epochs", "num_train_epochs", r.number, defaults["num_epochs"])
    r.field("max_steps", "max_steps", r.integer, defaults["max_steps"])
    r.field("micro_batch_size", "per_device_train_batch_size", r.integer, defaults["micro_batch_size"])
    r.field(
        "gradient_accumulation_steps", "gradient_accumulation_steps", r.integer,
        defaults["gradient_accumulation_steps"],
    )
    r.field("lr_scheduler", "lr_scheduler_type", r.string, defaults["lr_scheduler"])
    r.field("weight_decay", "weight_decay", r.number, defaults["weight_decay"])
    r.field("adam_beta1", "adam_beta1", r.number, defaults["adam_beta1"])
    r.field("adam_beta2", "adam_beta2", r.number, defaults["adam_beta2"])
    r.field("max_grad_norm", "max_grad_norm", r.number, defaults["max_grad_norm"])
    r.field("optimizer", "optim", r.string, defaults["optimizer"])
    r.field("seed", "seed", r.integer, defaults["seed"])
    read_warmup(r, defaults)


def read_warmup(r: ConfigReader, defaults: dict[str, Any]) -> None:
    ratio = r.number("warmup_ratio")
    steps = r.number("warmup_steps")
    if steps is not None and 0 < steps < 1:
        # transformers 5.x: a float warmup_steps below 1 is a share of the total steps.
        if ratio is not None and ratio != steps:
            raise r.error("warmup_steps", f"warmup_steps {steps} is a ratio and conflicts with warmup_ratio {ratio}")
        r.set("warmup_ratio", steps, "warmup_steps")
        r.default("warmup_steps", defaults["warmup_steps"])
        return
    if steps is not None and not steps.is_integer():
        raise r.error("warmup_steps", f"expected an integer (or a ratio below 1), got {steps!r}")
    if ratio is None:
        r.default("warmup_ratio", defaults["warmup_ratio"])
    else:
        r.set("warmup_ratio", ratio, "warmup_ratio")
    if steps is None:
        r.default("warmup_steps", defaults["warmup_steps"])
    else:
        r.set("warmup_steps", int(steps), "warmup_steps")


# Sequence-length keys of the frameworks built on TrainingArguments (TRL, LLaMA-Factory, Axolotl, ...).
SEQUENCE_LENGTH_KEYS = ("max_seq_length", "max_length", "cutoff_len", "sequence_len")


def training_argument_fields(arguments: dict[str, Any], path: Path, display: str) -> dict[str, Any]:
    """Recipe fields from the TrainingArguments keys `arguments` has (a run's argument file, or a live
    `TrainingArguments.to_dict()`), read as the TRL and LLaMA-Factory readers read them: the same names,
    checks and warm-up rule. Keys that are absent stay unset (no defaults are filled in)."""
    from tuneahead.recipe._files import RawConfig

    reader = ConfigReader(RawConfig(arguments, path, display), "python")
    read_training_arguments(reader, HF_DEFAULTS)
    fields = {k: v for k, v in reader.fields.items() if k not in reader.defaults_applied}
    for key in SEQUENCE_LENGTH_KEYS:
        value = arguments.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and "max_seq_length" not in fields:
            fields["max_seq_length"] = value
    return fields
