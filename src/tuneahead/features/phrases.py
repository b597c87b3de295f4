"""Short user-facing names of features, for reasons a person acts on.

The catalogue's `meaning` defines a feature exactly ("log of the last window's mean gradient norm over the
first window's"); a reason needs the words a practitioner would use ("gradient norm growing over the
probe"). Features without a phrase here are shown by their meaning. JSON output keeps the feature names.
"""

from __future__ import annotations

PHRASES: dict[str, str] = {
    # recipe
    "recipe_log10_learning_rate": "learning rate (log10)",
    "log10_learning_rate": "learning rate (log10)",
    "recipe_num_epochs": "epochs",
    "epochs": "passes over the training data",
    "recipe_max_steps": "max steps",
    "recipe_effective_batch": "effective batch size",
    "effective_batch_size": "effective batch size",
    "recipe_full_finetune": "full fine-tune (not LoRA)",
    "recipe_lora_rank": "LoRA rank",
    "lora_rank": "LoRA rank",
    "recipe_max_seq_length": "max sequence length",
    "recipe_loss_on_all_tokens": "loss on prompt tokens too",
    "recipe_warmup_ratio": "warm-up share",
    "recipe_weight_decay": "weight decay",
    "log10_model_params": "model size (log10 parameters)",
    "optimizer_steps": "optimizer steps of the full run",
    "tokens_seen": "tokens the full run trains on",
    "loss_tokens_seen": "answer tokens the full run trains on",
    "loss_tokens_per_trainable_param": "answer tokens per trainable parameter",
    "trainable_param_share": "share of parameters trained",
    # the checks' findings
    "findings_errors": "errors the checks found",
    "findings_warnings": "warnings the checks found",
    # data size and lengths
    "n_examples": "training examples",
    "n_tokens": "training tokens",
    "n_completion_tokens": "answer tokens in the training set",
    "eval_n_examples": "eval examples",
    "completion_tokens_mean": "answer length (mean tokens)",
    "completion_tokens_p50": "answer length (median tokens)",
    "completion_tokens_p95": "answer length (95th percentile tokens)",
    "completion_tokens_max": "longest answer (tokens)",
    "prompt_tokens_mean": "prompt length (mean tokens)",
    "prompt_tokens_p50": "prompt length (median tokens)",
    "prompt_tokens_p95": "prompt length (95th percentile tokens)",
    "prompt_tokens_max": "longest prompt (tokens)",
    "sequence_tokens_p95": "example length (95th percentile tokens)",
    "max_len_over_p95": "max sequence length over the 95th-percentile example",
    # truncation
    "truncated_example_share": "examples longer than the context window",
    "answer_cut_share": "answers cut by the context window",
    "answer_lost_share": "answers cut off entirely",
    "completion_tokens_truncated_share": "answer tokens beyond the context window",
    "eval_answer_cut_share": "eval answers cut by the context window",
    # leakage, duplicates, labels
    "eval_exact_leak_share": "eval examples copied verbatim in train",
    "eval_near_leak_share": "eval examples (near-)copied in train",
    "eval_ngram_leak_share": "eval examples mostly found in train",
    "eval_ngram_overlap_mean": "eval text found in train",
    "eval_prompt_leak_share": "eval prompts also in train",
    "exact_duplicate_share": "exact duplicate examples",
    "near_duplicate_share": "near-duplicate examples",
    "duplicate_prompt_share": "prompts that occur more than once",
    "conflicting_answer_share": "prompts with conflicting answers",
    # answers
    "majority_answer_share": "examples with the commonest answer",
    "distinct_answers": "distinct answers",
    "distinct_answer_share": "distinct answers per example",
    "answer_entropy_norm": "how evenly answers are spread (1: even)",
    "answer_mattr": "word variety of answers",
    "repetitive_answer_share": "answers that repeat themselves",
    "distinct_bigram_share": "word-pair variety",
    # loss masking, template
    "loss_token_share": "tokens that carry loss",
    "prompt_loss_share": "loss on prompt tokens",
    "no_label_example_share": "examples with nothing to learn (no answer token left)",
    "eos_target_share": "examples that teach the model to stop",
    "pad_equals_eos": "pad token is EOS",
    "chat_template_present": "a chat template is set",
    "chat_example_share": "examples in chat form",
    "template_generation_tags": "template marks answers with generation tags",
    # the base model
    "base_answer_nll_mean": "base model's loss on the answers",
    "base_answer_nll_std": "spread of the base model's loss on the answers",
    # the probe
    "probe_eval_loss_end": "held-out loss after the probe",
    "probe_eval_loss_start": "held-out loss before the probe",
    "probe_eval_loss_change": "held-out loss change over the probe",
    "probe_eval_loss_change_rel": "held-out loss change over the probe (relative)",
    "probe_eval_sequence_accuracy": "held-out answers already right after the probe",
    "probe_eval_accuracy_over_majority": "held-out answers right after the probe, beyond always giving the commonest answer",
    "probe_eval_token_accuracy": "held-out answer tokens right after the probe",
    "probe_eval_token_accuracy_gain": "gain in held-out answer tokens right over the probe",
    "probe_train_token_accuracy": "training answer tokens right at the probe's end",
    "probe_train_eval_gap": "training loss minus held-out loss",
    "probe_initial_loss": "training loss at the start",
    "probe_final_loss": "training loss at the probe's end",
    "probe_loss_drop_rel": "training loss drop over the probe",
    "probe_loss_late_slope_rel": "training loss still falling late in the probe",
    "probe_loss_powerlaw_exponent": "how fast the training loss falls",
    "probe_loss_powerlaw_r2": "how steadily the training loss falls",
    "probe_loss_noise": "step-to-step noise of the training loss",
    "probe_loss_spikes": "loss spikes",
    "probe_diverged": "the probe diverged",
    "probe_nonfinite": "NaN or inf in the probe",
    "probe_empty_step_share": "probe steps with nothing to learn",
    "probe_grad_norm_mean": "gradient norm",
    "probe_grad_norm_max": "largest gradient norm",
    "probe_grad_norm_cv": "how much the gradient norm varies",
    "probe_grad_norm_trend": "gradient norm growing over the probe",
    "probe_grad_layer_ratio": "first layer's gradients over the last layer's",
    "probe_grad_cosine": "agreement of gradients within a batch",
    "probe_grad_noise_scale": "gradient noise scale",
    "probe_clipped_share": "steps with clipped gradients",
    "probe_update_ratio": "update size relative to the weights",
    "probe_weight_norm_change": "change of the trained weights' norm",
    "probe_steps": "probe steps",
}


def phrase(name: str, meaning: str) -> str:
    """The feature's short name, else its catalogue meaning."""
    return PHRASES.get(name, meaning)
