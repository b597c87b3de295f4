"""The recipe's training setup applied to a model: adapter, optimizer, learning-rate schedule.

Each function returns what it built plus notes (in words) wherever the probe has to approximate
the full run, e.g. an 8-bit optimizer run as plain AdamW, or QLoRA without 4-bit weights on CPU.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

from tuneahead.recipe.model import Recipe

# Optimizer names of HF TrainingArguments / Axolotl / LLaMA-Factory that all mean AdamW.
_ADAMW = {
    "adamw_torch",
    "adamw_torch_fused",
    "adamw_hf",
    "adamw",
    "adam",
    "adamw_8bit",
    "adamw_bnb_8bit",
    "paged_adamw_8bit",
    "paged_adamw_32bit",
    "adamw_apex_fused",
    "adamw_anyprecision",
    "adamw_torch_xla",
    "adamw_torch_npu_fused",
    "adamw_torch_4bit",
    "adamw_torch_8bit",
}
_ADAMW_EXACT = {"adamw_torch", "adamw_torch_fused", "adamw_hf", "adamw", "adam"}
# HF Trainer's decay filter: no weight decay on biases and normalisation weights.
_NO_DECAY_PATTERNS = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]


@dataclass
class Adapted:
    model: Any  # torch.nn.Module (a PEFT wrapper under LoRA), trainable parameters set
    trainable: list  # [(name, parameter)] in a fixed order
    notes: list[str]


def apply_adapter(model, recipe: Recipe, *, device: str) -> Adapted:
    """Full fine-tune (every weight trains) or LoRA through PEFT as the recipe says."""
    notes: list[str] = []
    adapter = recipe.adapter
    if adapter.is_full:
        for p in model.parameters():
            p.requires_grad_(True)
    else:
        from peft import LoraConfig, get_peft_model

        if adapter.type == "qlora":
            notes.append(
                "QLoRA: the probe trains LoRA on the unquantised base model (4-bit weights need bitsandbytes "
                "on a GPU); losses can differ slightly from a 4-bit run"
            )
        config = LoraConfig(
            r=adapter.rank,
            lora_alpha=adapter.alpha,  # type: ignore[arg-type]  # PEFT types it int; floats work
            lora_dropout=adapter.dropout,
            target_modules=adapter.target_modules,
            bias="none",
            task_type="CAUSAL_LM",
        )
        try:
            with warnings.catch_warnings():
                # PEFT calls a transformers API deprecated in 5.x; the warning is not the user's business.
                warnings.filterwarnings(
                    "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
                )
                model = get_peft_model(model, config)
        except ValueError as exc:  # e.g. target modules that the model does not have
            from tuneahead.errors import Location, RecipeError

            raise RecipeError(
                f"cannot attach the LoRA adapter: {exc}", Location(field="adapter.target_modules")
            ) from None
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return Adapted(model, trainable, notes)


def build_optimizer(model, trainable: list, recipe: Recipe):
    """The recipe's optimizer over the trainable parameters; returns (optimizer, notes)."""
    import torch
    from transformers.trainer_pt_utils import get_parameter_names

    notes: list[str] = []
    decay_names = set(get_parameter_names(model, [torch.nn.LayerNorm], _NO_DECAY_PATTERNS))
    decay = [p for n, p in trainable if n in decay_names]
    no_decay = [p for n, p in trainable if n not in decay_names]
    groups = [
        {"params": decay, "weight_decay": recipe.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    name = recipe.optimizer.lower()
    lr = recipe.learning_rate
    opt: torch.optim.Optimizer
    if name in _ADAMW:
        if name not in _ADAMW_EXACT:
            notes.append(
                f"optimizer {recipe.optimizer}: the probe uses torch AdamW (same update rule, 32-bit states)"
            )
        opt = torch.optim.AdamW(groups, lr=lr, betas=(recipe.adam_beta1, recipe.adam_beta2), eps=1e-8)
    elif name == "sgd":
        opt = torch.optim.SGD(groups, lr=lr)
    elif name == "adafactor":
        from transformers.optimization import Adafactor

        # HF Trainer's settings for optim="adafactor": the recipe's learning rate, no relative step.
        opt = Adafactor(groups, lr=lr, scale_parameter=False, relative_step=False, warmup_init=False)
    elif name == "adagrad":
        opt = torch.optim.Adagrad(groups, lr=lr)
    elif name == "rmsprop":
        opt = torch.optim.RMSprop(groups, lr=lr)
    else:
        notes.append(
            f"optimizer {recipe.optimizer!r} is not modelled: the probe uses AdamW with the recipe's settings"
        )
        opt = torch.optim.AdamW(groups, lr=lr, betas=(recipe.adam_beta1, recipe.adam_beta2), eps=1e-8)
    return opt, notes


def warmup_fraction(recipe: Recipe, full_steps: int) -> float:
    """Share of the full run spent warming up (warmup_steps wins over warmup_ratio, as in HF)."""
    if full_steps <= 0:
        return 0.0
    return recipe.warmup_steps_for(full_steps) / full_steps


def build_scheduler(optimizer, recipe: Recipe, *, probe_steps: int, full_steps: int):
    """The recipe's schedule compressed to the probe: warm-up = round(warm-up share × probe steps)."""
    from transformers import get_scheduler

    notes: list[str] = []
    warmup = round(warmup_fraction(recipe, full_steps) * probe_steps)
    name = recipe.lr_scheduler
    kwargs: dict = {}
    if name == "reduce_lr_on_plateau":
        notes.append("reduce_lr_on_plateau needs eval metrics: the probe keeps the learning rate constant")
        name = "constant"
    elif name == "cosine_with_min_lr":
        kwargs = {"min_lr_rate": 0.1}
        notes.append("cosine_with_min_lr: the recipe gives no floor; the probe assumes min_lr_rate=0.1")
    elif name == "warmup_stable_decay":
        kwargs = {"num_decay_steps": max(1, math.ceil(0.1 * probe_steps))}
        notes.append("warmup_stable_decay: the probe decays over the last 10 % of its steps")
    scheduler = get_scheduler(
        name,
        optimizer,
        num_warmup_steps=warmup,
        num_training_steps=probe_steps,
        scheduler_specific_kwargs=kwargs or None,
    )
    return scheduler, warmup, notes
