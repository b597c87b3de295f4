"""The probe's trace recorded from a training loop someone else runs (a user's `Trainer`).

`run_probe` drives its own loop; inside a real run the loop belongs to the trainer, so `LiveProbe`
is told what happened and writes the same `StepRecord`s, from which `features_from_trace` computes
the same dynamic features (`probe.features`, the one feature code). It never changes the training:
it reads losses, gradients and weights, and copies them on measured steps only.

What it is told, per optimizer step (a trainer callback maps its events onto these calls):

    start_step(step)                       before the step's first micro-batch
    add_micro_batch(...)                   after each micro-batch's forward (loss sum, token counts)
    after_first_micro_batch()              once the first micro-batch's backward is done (measured steps)
    before_update(lr)                      after the last backward (and the trainer's clipping), before the
                                           optimizer step
    after_update() -> StepRecord           after the optimizer step

Gradient norms before clipping: trainers clip before their callbacks see the gradients, so the
probe hooks each trainable weight (`register_post_accumulate_grad_hook`) and keeps the norm of its
accumulated gradient; the last backward of a step leaves the pre-clip norms. Statistics read from
the gradients afterwards (the noise scale, the agreement between the batch's parts) are scaled back
by the clipping factor the recipe's `max_grad_norm` implies.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from tuneahead.probe.trace import NAN, EvalPoint, StepRecord

# torch's clip_grad_norm_ divides by (total norm + this), so the factor it applied is reproducible.
CLIP_EPS = 1e-6


def probe_window(total_steps: int, steps: int | None = None) -> int:
    """Steps of a live run that are its probe: `steps`, or as `run_probe` sizes a default probe (a budget
    share of the run's compute; every step of a live run costs alike, so a share of its steps), floored and
    capped, and never past the run's end."""
    from tuneahead.probe.cost import DEFAULT_BUDGET, MAX_PROBE_STEPS, MIN_PROBE_STEPS

    if not steps:
        steps = min(max(math.floor(DEFAULT_BUDGET * total_steps), MIN_PROBE_STEPS), MAX_PROBE_STEPS)
    return max(1, min(steps, total_steps)) if total_steps > 0 else steps


class LiveProbe:
    """Records a probe trace from the first steps of a real training run."""

    def __init__(
        self,
        trainable: list[tuple[str, Any]],
        *,
        max_grad_norm: float | None,
        measure_every: int,
        vocab_size: int | None = None,
        last_micro_batch: Callable[[], bool] | None = None,
    ) -> None:
        from tuneahead.probe.instrument import Instrument

        self.inst = Instrument(trainable)
        self.max_grad_norm = max_grad_norm if max_grad_norm and max_grad_norm > 0 else None
        self.measure_every = measure_every
        self.vocab_size = vocab_size
        # Whether the backward now running is the step's last (the only one whose gradient norms count);
        # without a way to tell, norms are taken on every micro-batch and the last ones kept.
        self._last_micro_batch = last_micro_batch or (lambda: True)
        self.trace: list[StepRecord] = []
        self.evals: list[EvalPoint] = []
        self._hooks: list[Any] = []
        self._norms: list[Any] = [None] * len(self.inst.params)
        self._record: StepRecord | None = None
        self._loss_sum = 0.0  # summed token losses of the step's micro-batches
        self._small: Any = None  # flat gradient after the first micro-batch (measured steps)
        self._small_tokens = 0
        self._before: Any = None  # flat weights before the update (measured steps)
        self._started = 0.0

    # ---- gradient hooks (pre-clip norms)

    def install_hooks(self) -> None:
        def keep_norm(index: int):
            def hook(param) -> None:
                if param.grad is not None and self._last_micro_batch():
                    self._norms[index] = param.grad.detach().norm()
            return hook

        for i, param in enumerate(self.inst.params):
            self._hooks.append(param.register_post_accumulate_grad_hook(keep_norm(i)))

    def remove_hooks(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()

    # ---- one optimizer step

    @property
    def in_step(self) -> bool:
        """Between `start_step` and `after_update`."""
        return self._record is not None

    def measured(self, step: int) -> bool:
        """The costlier measurements run on the same steps as in `run_probe` (1, 1 + k, 1 + 2k, ...)."""
        return (step - 1) % self.measure_every == 0

    def start_step(self, step: int) -> None:
        self._record = StepRecord(step=step, lr=NAN, loss=NAN, grad_norm=NAN, clipped=False, tokens=0,
                                  loss_tokens=0, seconds=0.0, micro_batches=0)
        self._loss_sum = 0.0
        self._small = None
        self._small_tokens = 0
        self._norms = [None] * len(self.inst.params)
        self._started = time.perf_counter()

    def add_micro_batch(self, *, loss_sum: float, loss_tokens: int, tokens: int, correct: int, answer: int) -> None:
        r = self._require_step()
        self._loss_sum += loss_sum
        r.loss_tokens += loss_tokens
        r.tokens += tokens
        r.correct_tokens += correct
        r.completion_tokens += answer
        r.micro_batches += 1

    def after_first_micro_batch(self) -> None:
        """Keep the first micro-batch's gradient on measured steps (to compare it with the whole batch's)."""
        r = self._require_step()
        if self.measured(r.step) and r.micro_batches == 1:
            self._small = self.inst.flat_grads()
            self._small_tokens = r.loss_tokens

    def before_update(self, lr: float) -> None:
        import torch

        r = self._require_step()
        r.lr = float(lr)
        r.loss = self._loss_sum / r.loss_tokens if r.loss_tokens else NAN
        seen = next((n for n in self._norms if n is not None), None)
        if seen is not None:  # a weight no gradient reached counts as zero, as in `run_probe`
            norms = [n if n is not None else torch.zeros((), device=seen.device) for n in self._norms]
        else:  # no hook fired (a wrapper that hides the weights' gradients): read the gradients as they are now
            norms = list(torch._foreach_norm(self.inst.grads()))
        stats = self.inst.summarise_norms(norms)
        total = stats.total_value
        r.grad_norm, r.grad_norm_first, r.grad_norm_last = total, stats.first, stats.last
        if (r.loss_tokens and not math.isfinite(r.loss)) or not math.isfinite(total):
            r.nonfinite = True
        factor = 1.0  # what clipping multiplied the gradients by
        if self.max_grad_norm is not None:
            r.clipped = total > self.max_grad_norm
            factor = min(1.0, self.max_grad_norm / (total + CLIP_EPS)) if math.isfinite(total) else 1.0
        if self._small is not None and not r.nonfinite and factor > 0:
            noise = self.inst.noise(self._small, self._small_tokens, r.loss_tokens, big_scale=1.0 / factor)
            if noise is not None:
                r.grad_sq_small, r.grad_sq_big = noise.grad_sq_small, noise.grad_sq_big
                r.batch_small, r.batch_big = noise.batch_small, noise.batch_big
                r.grad_cosine = noise.cosine
        self._small = None
        if self.measured(r.step) and not r.nonfinite:
            self._before = self.inst.flat_params()

    def after_update(self) -> StepRecord:
        import torch

        r = self._require_step()
        if self._before is not None:
            with torch.no_grad():
                r.param_norm_before, r.param_norm, r.update_norm = self.inst.update_stats(self._before)
            self._before = None
        r.seconds = time.perf_counter() - self._started
        self.trace.append(r)
        self._record = None
        return r

    def add_eval(self, point: EvalPoint) -> None:
        self.evals.append(point)

    def features(self, upto_step: int | None = None) -> dict[str, float]:
        from tuneahead.probe.features import features_from_trace

        return features_from_trace(self.trace, self.evals, upto_step=upto_step, vocab_size=self.vocab_size)

    def _require_step(self) -> StepRecord:
        if self._record is None:
            raise RuntimeError("LiveProbe: start_step() was not called for this optimizer step")
        return self._record

