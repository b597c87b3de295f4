"""Cost model: FLOPs, wall-clock, GPU-hours and money for the probe and for the full run.

FLOPs per trained token (Kaplan et al. 2020, "6N"; weight matmuls only, attention scores ignored,
which is accurate to a few % at the sequence lengths of instruction tuning):

    full fine-tune:  6 · N                 forward 2N + backward 4N (activation and weight gradients)
    LoRA / QLoRA:    4 · N + 6 · N_train   forward 2N + activation gradients 2N through the frozen
                                           weights (no weight gradients for them), plus forward and
                                           both backward passes through the N_train adapter weights
    evaluation:      2 · N                 forward only

N counts the weights a token is multiplied through: every parameter except the input embedding
table, plus the output head (= the embedding table when the two are tied). T counts non-padding
tokens; padding and packing overhead is not charged.

Full run: T_full = optimizer steps × effective batch × mean sequence tokens, i.e. dataset tokens ×
epochs seen. Time on an accelerator = FLOPs / (peak bf16 FLOP/s × MFU); GPU-hours are device-hours
(a run on 8 devices takes 1/8 of them in wall time); money = GPU-hours × price. The probe's own
measured throughput gives the "here" estimate (same per-token cost as the full run on this machine).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from tuneahead.errors import InputError, Location


@dataclass(frozen=True)
class Accelerator:
    name: str
    peak_flops: float  # dense bf16 tensor FLOP/s (fp32 for CPUs)
    description: str
    default_mfu: float


# Peak dense (no sparsity) bf16 throughput from the vendors' datasheets.
ACCELERATORS: dict[str, Accelerator] = {
    a.name.lower(): a
    for a in (
        Accelerator("H100", 989e12, "NVIDIA H100 SXM, dense BF16", 0.35),
        Accelerator("H200", 989e12, "NVIDIA H200 SXM, dense BF16 (same compute as H100 SXM)", 0.35),
        Accelerator("A100", 312e12, "NVIDIA A100 (40/80 GB), dense BF16", 0.40),
        Accelerator("L4", 121e12, "NVIDIA L4, dense BF16", 0.35),
        Accelerator("A10G", 70e12, "NVIDIA A10G (AWS g5), dense BF16", 0.35),
        Accelerator("RTX4090", 165.2e12, "NVIDIA GeForce RTX 4090, dense BF16 with FP32 accumulate", 0.35),
        Accelerator("CPU", 1e12, "a 16-32 core server CPU, FP32 with AVX-512 FMA (nominal)", 0.30),
    )
}
DEFAULT_ACCELERATOR = "H100"


def accelerator(name: str) -> Accelerator:
    key = name.lower().replace(" ", "").replace("-", "")
    key = {"4090": "rtx4090", "geforcertx4090": "rtx4090"}.get(key, key)
    try:
        return ACCELERATORS[key]
    except KeyError:
        known = ", ".join(a.name for a in ACCELERATORS.values())
        raise InputError(f"unknown accelerator {name!r}; known: {known}", Location(field="accelerator")) from None


def flops_per_train_token(n_params: int, n_trainable: int, full: bool) -> float:
    """Training FLOPs per token (see the module docstring for the formula)."""
    return 6.0 * n_params if full else 4.0 * n_params + 6.0 * n_trainable


def flops_per_eval_token(n_params: int) -> float:
    return 2.0 * n_params


@dataclass(frozen=True)
class CostEstimate:
    params: int  # N, weights a token passes through
    trainable_params: int
    full_finetune: bool
    flops_per_train_token: float
    full_tokens: float  # tokens the full run trains on (dataset tokens × epochs)
    full_steps: int
    full_flops: float
    probe_train_tokens: int
    probe_eval_tokens: int
    probe_flops: float
    probe_share: float  # probe FLOPs / full-run FLOPs
    probe_seconds: float  # measured (steps + evals)
    local_flops_per_second: float  # achieved by the probe here (training steps only)
    full_seconds_local: float  # full run at the probe's measured throughput
    accelerator: str
    peak_flops: float
    mfu: float
    num_devices: int
    full_gpu_hours: float
    full_wall_hours: float  # on num_devices devices
    probe_gpu_hours: float  # the probe's FLOPs on the same accelerator
    usd_per_gpu_hour: float | None
    full_usd: float | None
    probe_usd: float | None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def estimate_cost(
    *,
    n_params: int,
    n_trainable: int,
    full: bool,
    full_tokens: float,
    full_steps: int,
    probe_train_tokens: int,
    probe_eval_tokens: int,
    probe_train_seconds: float,
    probe_seconds: float,
    accelerator_name: str = DEFAULT_ACCELERATOR,
    mfu: float | None = None,
    num_devices: int = 1,
    usd_per_gpu_hour: float | None = None,
) -> CostEstimate:
    acc = accelerator(accelerator_name)
    mfu = acc.default_mfu if mfu is None else mfu
    if not 0 < mfu <= 1:
        raise InputError(f"MFU must be in (0, 1], got {mfu}", Location(field="mfu"))
    per_token = flops_per_train_token(n_params, n_trainable, full)
    full_flops = per_token * full_tokens
    probe_train_flops = per_token * probe_train_tokens
    probe_flops = probe_train_flops + flops_per_eval_token(n_params) * probe_eval_tokens
    local = probe_train_flops / probe_train_seconds if probe_train_seconds > 0 else math.nan
    full_gpu_hours = full_flops / (acc.peak_flops * mfu) / 3600.0
    probe_gpu_hours = probe_flops / (acc.peak_flops * mfu) / 3600.0
    price = usd_per_gpu_hour
    return CostEstimate(
        params=n_params,
        trainable_params=n_trainable,
        full_finetune=full,
        flops_per_train_token=per_token,
        full_tokens=full_tokens,
        full_steps=full_steps,
        full_flops=full_flops,
        probe_train_tokens=probe_train_tokens,
        probe_eval_tokens=probe_eval_tokens,
        probe_flops=probe_flops,
        probe_share=probe_flops / full_flops if full_flops > 0 else math.nan,
        probe_seconds=probe_seconds,
        local_flops_per_second=local,
        full_seconds_local=full_flops / local if local > 0 else math.nan,
        accelerator=acc.name,
        peak_flops=acc.peak_flops,
        mfu=mfu,
        num_devices=num_devices,
        full_gpu_hours=full_gpu_hours,
        full_wall_hours=full_gpu_hours / num_devices,
        probe_gpu_hours=probe_gpu_hours,
        usd_per_gpu_hour=price,
        full_usd=None if price is None else full_gpu_hours * price,
        probe_usd=None if price is None else probe_gpu_hours * price,
    )


# ---------------------------------------------------------------- probe length from a budget

DEFAULT_BUDGET = 0.02  # the probe may cost at most 2 % of the full run's FLOPs
MIN_PROBE_STEPS = 20  # fewer steps give features too noisy to use (loss windows, fits, eval points)
MAX_PROBE_STEPS = 200  # a default probe never runs longer than this; set steps explicitly for more


@dataclass(frozen=True)
class StepChoice:
    steps: int
    budget_steps: int  # what the budget alone allows
    reason: str  # in words, for the notes


def choose_probe_steps(
    *,
    budget: float,
    full_flops: float,
    flops_per_step: float,
    eval_flops: float,
    full_steps: int,
    min_steps: int = MIN_PROBE_STEPS,
    max_steps: int = MAX_PROBE_STEPS,
) -> StepChoice:
    """Steps K such that K·flops_per_step + eval_flops ≤ budget·full_flops, floored and capped.

    The floor wins over the budget (a probe too short to measure anything saves nothing), and no
    probe runs longer than the full run itself.
    """
    if not 0 < budget <= 1:
        raise InputError(f"budget must be a share of the full run in (0, 1], got {budget}", Location(field="budget"))
    allowed = budget * full_flops - eval_flops
    budget_steps = max(0, math.floor(allowed / flops_per_step)) if flops_per_step > 0 else 0
    steps = min(max(budget_steps, min_steps), max_steps)
    if steps > full_steps:
        return StepChoice(
            full_steps, budget_steps, f"the full run is only {full_steps} steps: the probe runs all of them"
        )
    if budget_steps < min_steps:
        reason = (
            f"{budget:.1%} of the full run allows only {budget_steps} steps; the probe runs the minimum of "
            f"{min_steps} steps for stable features"
        )
    elif budget_steps > max_steps:
        reason = (
            f"{budget:.1%} of the full run allows {budget_steps} steps; capped at {max_steps} "
            "(set steps for more)"
        )
    else:
        reason = f"{steps} steps = {budget:.1%} of the full run's FLOPs"
    return StepChoice(steps, budget_steps, reason)
