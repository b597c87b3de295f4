"""Dynamic features: small pure functions of a probe's trace, registered in the feature catalogue.

Every feature reads a `TraceView` — the trace cut at `upto_step` — so the features of a shorter
probe can be recomputed from the trace of a longer one (`features_from_trace(trace, evals, upto_step=20)`).
Held-out features use the eval points measured at or before `upto_step` (the latest one stands for
"the end"); a corpus that wants held-out features at many probe lengths records more eval points.

Windows: "start" and "end" are the first and last `window` finite losses, window = max(2, n // 10),
so that one noisy batch does not decide a feature. Features that cannot be computed are NaN.
Features in the group "speed" depend on the hardware and are the only ones that differ between two
runs with the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from tuneahead.features.catalogue import NAN, compute_all, feature
from tuneahead.probe.trace import EvalPoint, StepRecord


# A step's loss is a spike when it exceeds the median of the previous SPIKE_WINDOW steps by more than
# SPIKE_SIGMAS robust standard deviations of such jumps and by more than SPIKE_MIN_REL of the level.
SPIKE_WINDOW = 5
SPIKE_SIGMAS = 4.0
SPIKE_MIN_REL = 0.05
# The loss diverged when NaN/inf appeared, when the end window is this much above where the loss started
# (the first step's loss, before any update, or the start window, whichever is lower), or when it climbed
# to the no-information level and stayed there: every loss of the end window at least NO_INFO_SHARE of
# ln(vocabulary size), the loss of a uniform guess over the vocabulary, having started below it. A model
# blown up by a huge learning rate often lands there with finite floats (whether it overflows to NaN
# first depends on the CPU's kernels), and a run at that level has learnt nothing either way.
DIVERGED_RISE = 1.25
NO_INFO_SHARE = 0.9


class TraceView:
    """The part of a probe trace up to a step, with the arrays features read (computed once)."""

    def __init__(
        self,
        trace: Sequence[StepRecord],
        eval_points: Sequence[EvalPoint],
        upto_step: int | None = None,
        vocab_size: int | None = None,
    ):
        limit = math.inf if upto_step is None else upto_step
        self.records = [r for r in trace if r.step <= limit]
        self.evals = sorted((e for e in eval_points if e.step <= limit), key=lambda e: e.step)
        # ln(V): the loss of a uniform guess over the vocabulary (NaN when the vocabulary is not known).
        self.no_information_loss = math.log(vocab_size) if vocab_size and vocab_size > 1 else NAN

    # ---- steps
    @property
    def n_steps(self) -> int:
        return len(self.records)

    def _col(self, name: str, records: Sequence[StepRecord] | None = None) -> np.ndarray:
        rows = self.records if records is None else records
        return np.array([getattr(r, name) for r in rows], dtype=float)

    @cached_property
    def loss_records(self) -> list[StepRecord]:
        """Steps whose loss is a finite number over at least one loss-bearing token."""
        return [r for r in self.records if r.loss_tokens > 0 and math.isfinite(r.loss)]

    @cached_property
    def losses(self) -> np.ndarray:
        return self._col("loss", self.loss_records)

    @cached_property
    def loss_steps(self) -> np.ndarray:
        return self._col("step", self.loss_records)

    @cached_property
    def grad_norms(self) -> np.ndarray:
        g = self._col("grad_norm")
        return g[np.isfinite(g)]

    @property
    def window(self) -> int:
        return max(2, len(self.losses) // 10)

    def start_loss(self) -> float:
        return _mean(self.losses[: self.window])

    def end_loss(self) -> float:
        return _mean(self.losses[-self.window :])

    def first_nonfinite(self) -> StepRecord | None:
        return next((r for r in self.records if r.nonfinite), None)

    def measured(self, name: str) -> np.ndarray:
        v = self._col(name)
        return v[np.isfinite(v)]

    # ---- held-out
    @property
    def eval_start(self) -> EvalPoint | None:
        return self.evals[0] if self.evals and self.evals[0].step == 0 else None

    @property
    def eval_end(self) -> EvalPoint | None:
        return self.evals[-1] if len(self.evals) >= 2 else None


def features_from_trace(
    trace: Sequence[StepRecord],
    eval_points: Sequence[EvalPoint],
    upto_step: int | None = None,
    *,
    vocab_size: int | None = None,
) -> dict[str, float]:
    """Every dynamic feature of the probe, as if it had stopped after `upto_step` steps.

    `vocab_size` (the model's) lets divergence be recognised as a loss that climbed to the
    no-information level; without it only NaN/inf and the relative rise count."""
    with np.errstate(all="ignore"):
        return compute_all("dynamic", TraceView(trace, eval_points, upto_step, vocab_size))


def _dynamic(name: str, group: str, unit: str, meaning: str):
    return feature(name, kind="dynamic", group=group, unit=unit, meaning=meaning)


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if len(x) else NAN


def _rel(a: float, b: float) -> float:
    return (a - b) / b if b else NAN


# ================================================================ loss


@_dynamic("probe_initial_loss", "loss", "nats", "training loss of the first step's batch, before any update")
def initial_loss(v: TraceView) -> float:
    return float(v.losses[0]) if len(v.losses) and v.loss_steps[0] == 1 else NAN


@_dynamic("probe_final_loss", "loss", "nats", "mean training loss over the last window of steps")
def final_loss(v: TraceView) -> float:
    return v.end_loss()


@_dynamic(
    "probe_loss_drop_rel",
    "loss",
    "share",
    "relative drop of the training loss from the first to the last window of steps (negative: rose)",
)
def loss_drop_rel(v: TraceView) -> float:
    start = v.start_loss()
    return (start - v.end_loss()) / start if start else NAN


def _power_fit(v: TraceView) -> tuple[float, float] | None:
    """(α, R²) of log(loss) = log(a) − α·log(step), least squares; None with too few points."""
    ok = v.losses > 0
    if ok.sum() < 5:
        return None
    x, y = np.log(v.loss_steps[ok]), np.log(v.losses[ok])
    slope, intercept = np.polyfit(x, y, 1)
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - (intercept + slope * x)) ** 2)) / total if total > 0 else NAN
    return -float(slope), r2


@_dynamic(
    "probe_loss_powerlaw_exponent",
    "loss",
    "ratio",
    "α of the power law loss ≈ a·step^(−α) fitted in log-log space (negative: the loss rises)",
)
def powerlaw_exponent(v: TraceView) -> float:
    fit = _power_fit(v)
    return fit[0] if fit else NAN


@_dynamic(
    "probe_loss_powerlaw_r2", "loss", "share", "share of the log-loss variance the power-law fit explains"
)
def powerlaw_r2(v: TraceView) -> float:
    fit = _power_fit(v)
    return fit[1] if fit else NAN


@_dynamic(
    "probe_loss_late_slope_rel",
    "loss",
    "share",
    "loss change over the last half of the probe (linear fit), relative to the start loss; "
    "negative: still falling",
)
def late_slope(v: TraceView) -> float:
    n = len(v.losses)
    if n < 4:
        return NAN
    x, y = v.loss_steps[n // 2 :], v.losses[n // 2 :]
    slope = float(np.polyfit(x, y, 1)[0])
    start = v.start_loss()
    return slope * float(x[-1] - x[0]) / start if start else NAN


def _residuals(losses: np.ndarray) -> np.ndarray:
    """Loss minus the median of the previous SPIKE_WINDOW steps."""
    w = SPIKE_WINDOW
    if len(losses) <= w:
        return np.empty(0)
    windows = np.lib.stride_tricks.sliding_window_view(losses[:-1], w)
    return losses[w:] - np.median(windows, axis=1)


@_dynamic(
    "probe_loss_noise",
    "stability",
    "ratio",
    "step-to-step noise of the training loss: robust std of its deviation from the recent "
    "median, relative to the mean loss",
)
def loss_noise(v: TraceView) -> float:
    r = _residuals(v.losses)
    if len(r) < 3:
        return NAN
    sigma = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    return sigma / float(np.mean(v.losses))


@_dynamic(
    "probe_loss_spikes",
    "stability",
    "count",
    f"steps whose loss jumps {SPIKE_SIGMAS:g} robust std (and {SPIKE_MIN_REL:.0%}) above the "
    f"median of the previous {SPIKE_WINDOW} steps",
)
def loss_spikes(v: TraceView) -> float:
    r = _residuals(v.losses)
    if len(r) < 3:
        return NAN
    sigma = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    level = np.median(np.lib.stride_tricks.sliding_window_view(v.losses[:-1], SPIKE_WINDOW), axis=1)
    return float(np.sum((r > SPIKE_SIGMAS * sigma) & (r > SPIKE_MIN_REL * level)))


# ================================================================ divergence


@_dynamic(
    "probe_empty_step_share",
    "stability",
    "share",
    "share of steps whose batch had no loss-bearing token (answers masked or truncated away)",
)
def empty_step_share(v: TraceView) -> float:
    return float(np.mean([r.loss_tokens == 0 for r in v.records])) if v.records else NAN


@_dynamic(
    "probe_nonfinite",
    "stability",
    "bool",
    "the loss or the gradient became NaN/inf (the probe stopped there)",
)
def nonfinite(v: TraceView) -> float:
    return float(v.first_nonfinite() is not None)


@_dynamic(
    "probe_nonfinite_step",
    "stability",
    "steps",
    "step at which NaN/inf first appeared (NaN when it never did)",
)
def nonfinite_step(v: TraceView) -> float:
    r = v.first_nonfinite()
    return float(r.step) if r is not None else NAN


@_dynamic(
    "probe_diverged",
    "stability",
    "bool",
    f"NaN/inf appeared, the loss ended {DIVERGED_RISE:g}x above where it started, or it climbed to the "
    "no-information level (about ln of the vocabulary size) and stayed there",
)
def diverged(v: TraceView) -> float:
    if v.first_nonfinite() is not None:
        return 1.0
    start, end = v.start_loss(), v.end_loss()
    if not (math.isfinite(start) and math.isfinite(end)):
        return NAN
    if end > DIVERGED_RISE * min(start, float(v.losses[0])):
        return 1.0
    return float(at_no_information_level(v))


def at_no_information_level(v: TraceView) -> bool:
    """The loss started below the no-information level and every loss of the end window is at it."""
    level = NO_INFO_SHARE * v.no_information_loss
    if not math.isfinite(level) or len(v.losses) < 2 * v.window:
        return False
    return bool(v.start_loss() < level and np.all(v.losses[-v.window :] >= level))


# ================================================================ gradients


@_dynamic("probe_grad_norm_mean", "gradients", "norm", "mean total gradient norm (before clipping)")
def grad_norm_mean(v: TraceView) -> float:
    return _mean(v.grad_norms)


@_dynamic("probe_grad_norm_max", "gradients", "norm", "largest total gradient norm (before clipping)")
def grad_norm_max(v: TraceView) -> float:
    return float(np.max(v.grad_norms)) if len(v.grad_norms) else NAN


@_dynamic(
    "probe_grad_norm_trend",
    "gradients",
    "log-ratio",
    "log of the last window's mean gradient norm over the first window's (> 0: growing)",
)
def grad_norm_trend(v: TraceView) -> float:
    g = v.grad_norms
    w = max(2, len(g) // 10)
    if len(g) < 2 * w:
        return NAN
    first, last = float(np.mean(g[:w])), float(np.mean(g[-w:]))
    return math.log(last / first) if first > 0 and last > 0 else NAN


@_dynamic(
    "probe_grad_norm_cv", "gradients", "ratio", "coefficient of variation of the gradient norm across steps"
)
def grad_norm_cv(v: TraceView) -> float:
    g = v.grad_norms
    m = _mean(g)
    return float(np.std(g)) / m if len(g) >= 2 and m > 0 else NAN


@_dynamic(
    "probe_clipped_share", "gradients", "share", "share of steps whose gradient was clipped by max_grad_norm"
)
def clipped_share(v: TraceView) -> float:
    return _mean(v._col("clipped")) if v.records else NAN


@_dynamic(
    "probe_grad_layer_ratio",
    "gradients",
    "ratio",
    "median over steps of the first block's gradient norm over the last block's "
    "(<< 1: gradients vanish toward the input; >> 1: they grow)",
)
def grad_layer_ratio(v: TraceView) -> float:
    first, last = v._col("grad_norm_first"), v._col("grad_norm_last")
    ok = np.isfinite(first) & np.isfinite(last) & (last > 0) & (first > 0)
    return float(np.exp(np.median(np.log(first[ok] / last[ok])))) if ok.any() else NAN


@_dynamic(
    "probe_grad_noise_scale",
    "gradients",
    "tokens",
    "simple gradient noise scale B = tr(Σ)/|G|² (McCandlish et al. 2018) from the first part "
    "of the batch vs the whole batch, averaged over measured steps; batch sizes beyond it waste compute",
)
def grad_noise_scale(v: TraceView) -> float:
    rows = [r for r in v.records if math.isfinite(r.grad_sq_small) and r.batch_big > r.batch_small > 0]
    if not rows:
        return NAN
    bs, bb = np.array([r.batch_small for r in rows]), np.array([r.batch_big for r in rows])
    gs, gb = np.array([r.grad_sq_small for r in rows]), np.array([r.grad_sq_big for r in rows])
    g2 = float(np.mean((bb * gb - bs * gs) / (bb - bs)))  # unbiased |G|²
    trace_sigma = float(np.mean((gs - gb) / (1.0 / bs - 1.0 / bb)))  # unbiased tr(Σ)
    if not g2 > 0:
        return NAN  # the mean gradient is lost in the noise: no finite batch size suffices
    return max(trace_sigma, 0.0) / g2  # a non-positive noise estimate: the gradient noise is negligible


@_dynamic(
    "probe_grad_cosine",
    "gradients",
    "cosine",
    "mean cosine between the gradients of two halves of a batch (1: they agree; ~0: noise)",
)
def grad_cosine(v: TraceView) -> float:
    return _mean(v.measured("grad_cosine"))


# ================================================================ updates


@_dynamic(
    "probe_update_ratio",
    "updates",
    "ratio",
    "mean update-to-weight norm ratio |Δθ|/|θ| of the trainable weights (measured steps)",
)
def update_ratio(v: TraceView) -> float:
    ratios = np.array([r.update_ratio for r in v.records], dtype=float)
    return _mean(ratios[np.isfinite(ratios)])


@_dynamic(
    "probe_weight_norm_change",
    "updates",
    "share",
    "relative change of the trainable weights' (adapter's, under LoRA) norm from the start",
)
def weight_norm_change(v: TraceView) -> float:
    rows = [r for r in v.records if math.isfinite(r.param_norm)]
    if not rows or not rows[0].param_norm_before > 0:
        return NAN
    return rows[-1].param_norm / rows[0].param_norm_before - 1.0


# ================================================================ held-out


@_dynamic("probe_eval_loss_start", "heldout", "nats", "held-out loss before training")
def eval_loss_start(v: TraceView) -> float:
    return v.eval_start.loss if v.eval_start else NAN


@_dynamic("probe_eval_loss_end", "heldout", "nats", "held-out loss at the last eval point")
def eval_loss_end(v: TraceView) -> float:
    return v.eval_end.loss if v.eval_end else NAN


@_dynamic(
    "probe_eval_loss_change",
    "heldout",
    "nats",
    "held-out loss at the last eval point minus before training (negative: improved)",
)
def eval_loss_change(v: TraceView) -> float:
    return v.eval_end.loss - v.eval_start.loss if v.eval_start and v.eval_end else NAN


@_dynamic(
    "probe_eval_loss_change_rel", "heldout", "share", "held-out loss change relative to its start value"
)
def eval_loss_change_rel(v: TraceView) -> float:
    return _rel(v.eval_end.loss, v.eval_start.loss) if v.eval_start and v.eval_end else NAN


@_dynamic(
    "probe_train_eval_gap",
    "heldout",
    "nats",
    "training loss (last window) minus held-out loss at the last eval point (strongly negative: memorising)",
)
def train_eval_gap(v: TraceView) -> float:
    return v.end_loss() - v.eval_end.loss if v.eval_end else NAN


@_dynamic(
    "probe_eval_token_accuracy",
    "accuracy",
    "share",
    "share of held-out answer tokens predicted right (argmax) at the last eval point",
)
def eval_token_accuracy(v: TraceView) -> float:
    return v.eval_end.token_accuracy if v.eval_end else NAN


@_dynamic(
    "probe_eval_token_accuracy_gain",
    "accuracy",
    "share",
    "held-out answer-token accuracy at the last eval point minus before training",
)
def eval_token_accuracy_gain(v: TraceView) -> float:
    return v.eval_end.token_accuracy - v.eval_start.token_accuracy if v.eval_start and v.eval_end else NAN


@_dynamic(
    "probe_eval_sequence_accuracy",
    "accuracy",
    "share",
    "share of held-out answers the probed model would reproduce exactly by greedy decoding at the last eval point",
)
def eval_sequence_accuracy(v: TraceView) -> float:
    return v.eval_end.sequence_accuracy if v.eval_end else NAN


@_dynamic(
    "probe_train_token_accuracy",
    "accuracy",
    "share",
    "share of answer tokens predicted right in the last window of training batches",
)
def train_token_accuracy(v: TraceView) -> float:
    rows = v.records[-max(2, v.n_steps // 10) :]
    total = sum(r.completion_tokens for r in rows)
    return sum(r.correct_tokens for r in rows) / total if total else NAN


# ================================================================ speed (hardware-dependent)


@_dynamic(
    "probe_tokens_per_second",
    "speed",
    "tokens/s",
    "training throughput of the probe (non-padding tokens per second of step time)",
)
def tokens_per_second(v: TraceView) -> float:
    seconds = float(np.sum(v._col("seconds")))
    return float(np.sum(v._col("tokens"))) / seconds if seconds > 0 else NAN


@_dynamic("probe_seconds_per_step", "speed", "seconds", "median wall time of one optimizer step")
def seconds_per_step(v: TraceView) -> float:
    return float(np.median(v._col("seconds"))) if v.records else NAN


@_dynamic("probe_steps", "size", "steps", "optimizer steps the probe completed")
def steps_done(v: TraceView) -> float:
    return float(v.n_steps)
