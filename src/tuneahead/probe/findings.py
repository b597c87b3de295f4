"""Probe findings: what the short run says is going wrong, with the numbers and a fix.

Each rule reads the dynamic features (and the recipe) and returns a `Finding` or None; thresholds
are module constants so they are visible and testable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from tuneahead.data.findings import SEVERITY_ORDER, Finding
from tuneahead.recipe.model import Recipe

ProbeRule = Callable[[Mapping[str, float], Recipe], "Finding | None"]
_RULES: list[ProbeRule] = []

FLAT_LOSS = 0.01  # the loss moved less than 1 % over the probe
VANISHING_RATIO = 0.01  # first block's gradient < 1 % of the last block's
EXPLODING_RATIO = 100.0
GRAD_GROWTH = math.log(10.0)  # gradient norm grew 10x from the first to the last window
EVAL_RISE = 0.02  # held-out loss rose by more than 2 %
EMPTY_STEPS = 0.5  # half the steps had no loss-bearing token
SPIKES_WARN = 3  # loss spikes in one probe
# Update-to-weight ratio per step; ~1e-3 is the usual healthy order for full fine-tunes (LoRA adapters
# start from B = 0, so their ratio is naturally larger and is not judged by this rule).
UPDATE_RATIO_WARN = 1e-2


def _rule(fn: ProbeRule) -> ProbeRule:
    _RULES.append(fn)
    return fn


def probe_findings(features: Mapping[str, float], recipe: Recipe) -> list[Finding]:
    """All probe findings, most severe first."""
    found = [f for r in _RULES if (f := r(features, recipe)) is not None]
    return sorted(found, key=lambda f: SEVERITY_ORDER[f.severity])


def _is(value: float) -> bool:
    return value is not None and not math.isnan(value)


@_rule
def diverged(f: Mapping[str, float], recipe: Recipe) -> Finding | None:
    if f.get("probe_diverged") != 1.0:
        return None
    if f.get("probe_nonfinite") == 1.0:
        evidence = f"the loss or gradient became NaN/inf at step {f['probe_nonfinite_step']:.0f} of the probe"
    else:
        evidence = (
            f"the training loss rose from {f['probe_initial_loss']:.3g} to {f['probe_final_loss']:.3g} nats "
            "over the probe (a diverged model ends near the no-information level, about ln of the "
            "vocabulary size, whether or not its floats overflow)"
        )
    return Finding(
        code="probe_diverged",
        severity="error",
        title="Training diverges",
        evidence=(
            f"{evidence} (learning rate {recipe.learning_rate:g}, max_grad_norm {recipe.max_grad_norm})."
        ),
        fix="lower the learning rate (e.g. 3-10x), add warm-up, and keep gradient clipping at 1.0",
        numbers={
            k: f[k] for k in ("probe_initial_loss", "probe_final_loss", "probe_nonfinite_step") if k in f
        },
    )


@_rule
def nothing_to_learn(f: Mapping[str, float], recipe: Recipe) -> Finding | None:
    share = f.get("probe_empty_step_share", math.nan)
    if not _is(share) or share < EMPTY_STEPS:
        return None
    return Finding(
        code="probe_no_loss_tokens",
        severity="error",
        title="Training batches carry no loss",
        evidence=(
            f"{share:.0%} of the probe's steps had no token to learn from: the answers are masked out "
            "or cut off "
            f"by max_seq_length={recipe.max_seq_length} (loss_on={recipe.loss_on})."
        ),
        fix="raise max_seq_length so answers fit, and check the chat template marks the assistant turns",
        numbers={"probe_empty_step_share": share},
    )


@_rule
def exploding_gradients(f: Mapping[str, float], recipe: Recipe) -> Finding | None:
    trend = f.get("probe_grad_norm_trend", math.nan)
    if f.get("probe_diverged") == 1.0 or not _is(trend) or trend < GRAD_GROWTH:
        return None
    return Finding(
        code="probe_exploding_gradients",
        severity="warning",
        title="Gradient norm grows during the probe",
        evidence=(
            f"the gradient norm grew {math.exp(trend):.0f}x from the first to the last steps "
            f"(max {f['probe_grad_norm_max']:.3g}; {f['probe_clipped_share']:.0%} of steps clipped)."
        ),
        fix="lower the learning rate or lengthen the warm-up; make sure max_grad_norm is set",
        numbers={"probe_grad_norm_trend": trend, "probe_grad_norm_max": f["probe_grad_norm_max"]},
    )


@_rule
def loss_spikes(f: Mapping[str, float], recipe: Recipe) -> Finding | None:
    spikes = f.get("probe_loss_spikes", math.nan)
    if f.get("probe_diverged") == 1.0 or not _is(spikes) or spikes < SPIKES_WARN:
        return None
    return Finding(
        code="probe_loss_spikes",
        severity="warning",
        title="The training loss spikes",
        evidence=(
            f"{spikes:.0f} loss spikes in {f['probe_steps']:.0f} probe steps (noise "
            f"{f['probe_loss_noise']:.2g} of the mean loss; learning rate {recipe.learning_rate:g})."
        ),
        fix="lower the learning rate or lengthen the warm-up; keep max_grad_norm at 1.0",
        numbers={"probe_loss_spikes": spikes},
    )


@_rule
def large_updates(f: Mapping[str, float], recipe: Recipe) -> Finding | None:
    ratio = f.get("probe_update_ratio", math.nan)
    if (
        not recipe.adapter.is_full
        or f.get("probe_diverged") == 1.0
        or not _is(ratio)
        or ratio <= UPDATE_RATIO_WARN
    ):
        return None
    return Finding(
        code="probe_large_updates",
        severity="warning",
        title="Each step changes the weights a lot",
        evidence=(
            f"the update-to-weight ratio is {ratio:.2g} per step (healthy full fine-tunes stay near 1e-3); "
            f"the weights' norm changed by {f.get('probe_weight_norm_change', math.nan):+.1%} over the probe."
        ),
        fix="lower the learning rate (a full fine-tune usually uses 1e-5-5e-5)",
        numbers={"probe_update_ratio": ratio},
    )


@_rule
def layer_gradients(f: Mapping[str, float], recipe: Recipe) -> Finding | None:
    ratio = f.get("probe_grad_layer_ratio", math.nan)
    if not _is(ratio) or VANISHING_RATIO <= ratio <= EXPLODING_RATIO:
        return None
    vanishing = ratio < VANISHING_RATIO
    return Finding(
        code="probe_vanishing_gradients" if vanishing else "probe_layer_gradient_imbalance",
        severity="warning",
        title="Gradients vanish before the first layers"
        if vanishing
        else "First layers get far larger gradients",
        evidence=f"the first block's gradient norm is {ratio:.2g}x the last block's (median over the probe).",
        fix=(
            "the early layers barely train: check the learning rate, precision and adapter placement"
            if vanishing
            else "check for exploding activations in the early layers: lower the learning rate, keep clipping"
        ),
        numbers={"probe_grad_layer_ratio": ratio},
    )


@_rule
def loss_not_moving(f: Mapping[str, float], recipe: Recipe) -> Finding | None:
    drop = f.get("probe_loss_drop_rel", math.nan)
    if f.get("probe_diverged") == 1.0 or not _is(drop) or abs(drop) >= FLAT_LOSS:
        return None
    return Finding(
        code="probe_loss_flat",
        severity="warning",
        title="The loss barely moves",
        evidence=(
            f"the training loss changed by {drop:+.2%} over {f['probe_steps']:.0f} probe steps "
            f"(learning rate {recipe.learning_rate:g}, update/weight ratio "
            f"{f.get('probe_update_ratio', math.nan):.2g})."
        ),
        fix=(
            "raise the learning rate (LoRA usually 1e-4-3e-4, full fine-tunes 1e-5-5e-5) "
            "or check that labels are not masked out"
        ),
        numbers={"probe_loss_drop_rel": drop},
    )


@_rule
def eval_loss_rising(f: Mapping[str, float], recipe: Recipe) -> Finding | None:
    rise = f.get("probe_eval_loss_change_rel", math.nan)
    if f.get("probe_diverged") == 1.0 or not _is(rise) or rise <= EVAL_RISE:
        return None
    train_drop = f.get("probe_loss_drop_rel", math.nan)
    return Finding(
        code="probe_eval_loss_rising",
        severity="warning",
        title="Held-out loss rises while training",
        evidence=(
            f"held-out loss went from {f['probe_eval_loss_start']:.3g} to {f['probe_eval_loss_end']:.3g} "
            f"nats ({rise:+.1%}) while the training loss changed by {-train_drop:+.1%}: what the model "
            "learns from the training data does not carry over (noisy or mismatched labels, train/eval "
            "format mismatch, or memorising)."
        ),
        fix=(
            "check label quality and that train and eval share the format and chat template; "
            "lower the learning rate"
        ),
        numbers={"probe_eval_loss_change_rel": rise, "probe_loss_drop_rel": train_drop},
    )
