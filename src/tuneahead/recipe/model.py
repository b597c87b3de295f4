"""The `Recipe`: everything about a fine-tune that decides how it will end.

Framework readers (native, Axolotl, LLaMA-Factory, TRL) all produce this one model, so the rest of
TuneAhead never needs to know which tool the user trains with.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AdapterType = Literal["full", "lora", "qlora"]

# What the loss is computed on.
#   completion: prompt / user / system tokens are masked; loss on the answers (assistant turns) only.
#   all: loss on every token, prompts included.
#   completion_for_prompt_completion: TRL's default — completion-only for prompt–completion
#       datasets, all tokens for conversational `messages` and plain `text` datasets.
LossOn = Literal["completion", "all", "completion_for_prompt_completion"]

SchedulerType = Literal[
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
    "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr", "warmup_stable_decay",
]

DatasetFormat = Literal[
    "auto", "messages", "prompt_completion", "conversational_prompt_completion", "text", "alpaca", "sharegpt",
]


class _Strict(BaseModel):
    # No NaN or inf in any number: `learning_rate: .inf` is as wrong as `.nan`.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class AdapterConfig(_Strict):
    """Full fine-tuning or a low-rank adapter."""

    type: AdapterType = "lora"
    rank: int = Field(8, ge=1, description="LoRA rank r")
    alpha: float = Field(16.0, gt=0, description="LoRA alpha (scaling = alpha / rank)")
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    # Module names, or "all-linear" for every linear layer except the output head.
    target_modules: list[str] | Literal["all-linear"] = Field(default_factory=lambda: ["q_proj", "v_proj"])
    load_in_4bit: bool = False

    @property
    def is_full(self) -> bool:
        return self.type == "full"

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank


class DatasetRef(_Strict):
    """A dataset the recipe trains or evaluates on: a local path and its format.

    `columns` maps the format's own keys to the data's (Axolotl `field_messages` and
    `message_property_mappings`, LLaMA-Factory `columns` and `tags`): {"messages": "conversations",
    "role": "from", "content": "value"} or {"instruction": "question", "output": "answer"}; `roles` maps
    the data's role names to user / assistant / system ({"human": "user", "gpt": "assistant"})."""

    path: str
    format: DatasetFormat = "auto"
    split: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    roles: dict[str, str] = Field(default_factory=dict)


class RecipeSource(_Strict):
    """Where a recipe came from, and what the reader could not map (never silently dropped)."""

    framework: Literal["native", "axolotl", "llamafactory", "trl", "python"] = "python"
    path: str | None = None
    unknown_keys: list[str] = Field(default_factory=list)  # keys the framework does not define
    unsupported_keys: list[str] = Field(default_factory=list)  # known keys TuneAhead cannot model
    defaults_applied: list[str] = Field(default_factory=list)  # fields filled from framework defaults
    notes: list[str] = Field(default_factory=list)  # approximations the reader made, in words


class Recipe(_Strict):
    """A fine-tuning recipe: base model + adapter + optimisation + data shaping."""

    base_model: str = Field(description="local model folder / GGUF file, built-in name, or hub id")
    tokenizer: str | None = Field(None, description="tokenizer path when it differs from the base model")
    adapter: AdapterConfig = Field(default_factory=AdapterConfig)

    optimizer: str = "adamw_torch"
    learning_rate: float = Field(2e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    adam_beta1: float = Field(0.9, ge=0, lt=1)
    adam_beta2: float = Field(0.999, ge=0, lt=1)
    max_grad_norm: float | None = Field(1.0, description="gradient clipping; None or 0 disables")
    lr_scheduler: SchedulerType = "linear"
    warmup_ratio: float = Field(0.0, ge=0, le=1)
    warmup_steps: int = Field(0, ge=0, description="overrides warmup_ratio when > 0")

    num_epochs: float = Field(3.0, gt=0)
    max_steps: int | None = Field(None, description="overrides num_epochs when set and > 0")
    micro_batch_size: int = Field(8, ge=1, description="per-device batch size")
    gradient_accumulation_steps: int = Field(1, ge=1)
    num_devices: int = Field(1, ge=1, description="data-parallel world size")

    max_seq_length: int = Field(2048, ge=8)
    packing: bool = False
    loss_on: LossOn = "completion"
    chat_template: str | None = Field(
        None, description="None: the tokenizer's own; else a Jinja template string or a named template"
    )
    seed: int = 42
    precision: Literal["fp32", "fp16", "bf16"] = "bf16"

    datasets: list[DatasetRef] = Field(default_factory=list)
    val_set_size: float = Field(
        0.0, ge=0, description="training data held out for evaluation: a share (< 1) or a count of examples (>= 1)"
    )
    eval_datasets: list[DatasetRef] = Field(default_factory=list)

    source: RecipeSource = Field(default_factory=RecipeSource)

    @field_validator("max_steps")
    @classmethod
    def _non_positive_steps_mean_unset(cls, v: int | None) -> int | None:
        # HF TrainingArguments uses max_steps=-1 for "not set".
        return v if v is not None and v > 0 else None

    @field_validator("max_grad_norm")
    @classmethod
    def _zero_clip_means_off(cls, v: float | None) -> float | None:
        return v if v is not None and v > 0 else None

    @model_validator(mode="after")
    def _check_adapter_model(self) -> Recipe:
        if self.adapter.load_in_4bit and self.adapter.type == "lora":
            # 4-bit base + LoRA is QLoRA whatever the framework called it.
            object.__setattr__(self.adapter, "type", "qlora")
        return self

    # ---- derived quantities (pure functions of the recipe and the dataset size) ----

    @property
    def effective_batch_size(self) -> int:
        """Sequences per optimizer step."""
        return self.micro_batch_size * self.gradient_accumulation_steps * self.num_devices

    def steps_per_epoch(self, num_sequences: int) -> int:
        """Optimizer steps per epoch over `num_sequences` training sequences (packed or not)."""
        if num_sequences <= 0:
            return 0
        return max(1, math.ceil(num_sequences / self.effective_batch_size))

    def total_steps(self, num_sequences: int) -> int:
        """Optimizer steps of the full run (max_steps wins over epochs, as in HF Trainer)."""
        if self.max_steps is not None:
            return self.max_steps
        return max(1, math.ceil(self.steps_per_epoch(num_sequences) * self.num_epochs))

    def epochs_seen(self, num_sequences: int) -> float:
        """Passes over the data the full run makes (differs from num_epochs when max_steps is set)."""
        if num_sequences <= 0:
            return 0.0
        return self.total_steps(num_sequences) * self.effective_batch_size / num_sequences

    def warmup_steps_for(self, total_steps: int) -> int:
        if self.warmup_steps > 0:
            return min(self.warmup_steps, total_steps)
        return math.ceil(self.warmup_ratio * total_steps)
