"""`run_probe`: a short fine-tune of the real model under the recipe, with a per-step trace.

The loop (read `_Attempt.run`) is a plain PyTorch training loop: for each optimizer step, forward
and backward over its micro-batches with the loss summed over tokens and divided by the step's
loss-token count (as HF Trainer normalises under gradient accumulation), clip, step, schedule.
Around it: the recipe's adapter / optimizer / schedule (`training`), cheap measurements
(`instrument`), held-out evaluations at planned steps, and three ways to end early that still
return a result — NaN/inf (diverged), Ctrl-C (interrupted) — plus an out-of-memory retry with half
the micro-batch and twice the accumulation (same sequences per step).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuneahead.data.example import Example
from tuneahead.errors import EmptyDatasetError, InputError, Location, ModelError
from tuneahead.probe import cost as costs
from tuneahead.probe.batches import StepBatch, eval_batches, rebatch, step_batches
from tuneahead.probe.config import ProbeConfig
from tuneahead.probe.forward import EvalHook, ForwardStats, evaluate_held_out, forward_stats
from tuneahead.probe.plan import ProbePlan, make_plan
from tuneahead.probe.result import ProbeEvent, ProbeResult, ProbeSetup
from tuneahead.probe.trace import NAN, EvalPoint, StepRecord
from tuneahead.recipe.model import Recipe


if TYPE_CHECKING:
    from tuneahead.models.loading import LoadedModel



class ProbeOutOfMemory(ModelError):
    """The probe does not fit in memory even with one sequence per micro-batch."""


def _is_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


# ---------------------------------------------------------------- one attempt (fresh weights)


@dataclass
class _Outcome:
    trace: list[StepRecord]
    evals: list[EvalPoint]
    interrupted: bool
    model: Any
    train_seconds: float
    eval_seconds: float
    trainable_params: int
    warmup_steps: int
    notes: list[str]


class _Attempt:
    def __init__(
        self,
        *,
        model,
        recipe: Recipe,
        steps: list[StepBatch],
        evals: list,
        plan: ProbePlan,
        device: str,
        seed: int,
        progress: Callable[[ProbeEvent], None] | None,
        on_eval: EvalHook | None = None,
    ):
        self.model_in = model
        self.recipe = recipe
        self.steps = steps
        self.evals = evals
        self.plan = plan
        self.device = device
        self.seed = seed
        self.progress = progress or (lambda event: None)
        self.on_eval = on_eval

    def _forward(self, model, mb) -> ForwardStats:
        return forward_stats(model, mb, self.device, self.recipe.precision, per_row=False)

    def _evaluate(self, model, step: int) -> EvalPoint:
        point = evaluate_held_out(
            model, self.evals, step, device=self.device, precision=self.recipe.precision, on_eval=self.on_eval
        )
        self.progress(ProbeEvent("eval", len(self.steps), eval_point=point))
        return point

    def run(self) -> _Outcome:
        import torch

        from tuneahead.probe.instrument import Instrument
        from tuneahead.probe.training import apply_adapter, build_optimizer, build_scheduler

        recipe, total = self.recipe, len(self.steps)
        torch.manual_seed(self.seed)
        adapted = apply_adapter(self.model_in, recipe, device=self.device)
        model = adapted.model.to(self.device)
        model.train()
        optimizer, opt_notes = build_optimizer(model, adapted.trainable, recipe)
        scheduler, warmup, sched_notes = build_scheduler(
            optimizer, recipe, probe_steps=total, full_steps=self.plan.full_steps
        )
        inst = Instrument(adapted.trainable)
        trace: list[StepRecord] = []
        evals: list[EvalPoint] = []
        interrupted = False
        train_seconds = 0.0
        self.progress(ProbeEvent("start", total))
        try:
            if 0 in self.plan.eval_at and self.evals:
                evals.append(self._evaluate(model, 0))
            for number, batch in enumerate(self.steps, start=1):
                record = self._step(model, optimizer, scheduler, inst, batch, number)
                trace.append(record)
                train_seconds += record.seconds
                self.progress(ProbeEvent("step", total, record=record))
                if record.nonfinite:
                    if self.evals:
                        evals.append(self._evaluate(model, number))
                    break
                if number in self.plan.eval_at and self.evals:
                    evals.append(self._evaluate(model, number))
        except KeyboardInterrupt:
            interrupted = True
            optimizer.zero_grad(set_to_none=True)
        self.progress(ProbeEvent("done", total))
        return _Outcome(
            trace=trace,
            evals=evals,
            interrupted=interrupted,
            model=model,
            train_seconds=train_seconds,
            eval_seconds=sum(e.seconds for e in evals),
            trainable_params=sum(p.numel() for _, p in adapted.trainable),
            warmup_steps=warmup,
            notes=adapted.notes + opt_notes + sched_notes,
        )

    def _step(self, model, optimizer, scheduler, inst, batch: StepBatch, number: int) -> StepRecord:
        import torch

        started = time.perf_counter()
        measure = number in self.plan.measure_at
        parts = batch.micro
        if measure and len(parts) == 1 and parts[0].size > 1:
            parts = _halves(parts[0])  # two parts to compare gradients; the summed gradient is the same
        n_loss = batch.loss_tokens
        denom = max(n_loss, 1)  # a step without loss tokens yields zero gradient, not NaN
        lr = float(scheduler.get_last_lr()[0])
        loss_sum, correct, answer = 0.0, 0, 0
        small = None  # flat gradient after the first part of the batch (measured steps)
        for i, mb in enumerate(parts):
            out = self._forward(model, mb)  # row counts: eval only (training rows may be packed)
            (out.loss_sum / denom).backward()
            loss_sum += float(out.loss_sum.detach())
            correct, answer = correct + out.correct, answer + out.answer
            if measure and i == 0 and len(parts) > 1:
                small = inst.flat_grads()
        loss_value = loss_sum / n_loss if n_loss else NAN
        stats = inst.grad_stats()
        record = StepRecord(
            step=number,
            lr=lr,
            loss=loss_value,
            grad_norm=stats.total_value,
            clipped=False,
            tokens=batch.tokens,
            loss_tokens=n_loss,
            seconds=0.0,
            micro_batches=len(batch.micro),
            completion_tokens=answer,
            correct_tokens=correct,
            grad_norm_first=stats.first,
            grad_norm_last=stats.last,
        )
        if (n_loss and not math.isfinite(loss_value)) or not math.isfinite(stats.total_value):
            # Do not apply a NaN/inf update: the weights stay usable for a last evaluation.
            record.nonfinite = True
            optimizer.zero_grad(set_to_none=True)
            record.seconds = time.perf_counter() - started
            return record
        if small is not None:
            noise = inst.noise(small, parts[0].loss_tokens, n_loss)
            if noise is not None:
                record.grad_sq_small, record.grad_sq_big = noise.grad_sq_small, noise.grad_sq_big
                record.batch_small, record.batch_big = noise.batch_small, noise.batch_big
                record.grad_cosine = noise.cosine
        max_norm = self.recipe.max_grad_norm
        if max_norm is not None:
            record.clipped = stats.total_value > max_norm
            inst.clip(max_norm, stats)
        before = inst.flat_params() if measure else None
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if before is not None:
            with torch.no_grad():
                record.param_norm_before, record.param_norm, record.update_norm = inst.update_stats(before)
        record.seconds = time.perf_counter() - started
        return record


def _halves(mb):
    """Split a micro-batch into two by rows (padding columns kept: they carry no loss)."""
    from tuneahead.probe.batches import IGNORE_INDEX, MicroBatch

    h = mb.size // 2
    out = []
    for rows in (slice(0, h), slice(h, mb.size)):
        labels = mb.labels[rows]
        out.append(
            MicroBatch(
                mb.input_ids[rows],
                mb.attention_mask[rows],
                labels,
                mb.completion[rows],
                tokens=int(mb.attention_mask[rows].sum()),
                loss_tokens=int((labels[:, 1:] != IGNORE_INDEX).sum()),
                example_ids=mb.example_ids[rows],
                position_ids=None if mb.position_ids is None else mb.position_ids[rows],
            )
        )
    return out


# ---------------------------------------------------------------- public entry point


@contextlib.contextmanager
def _torch_settings(threads: int, deterministic: bool):
    """Thread count and deterministic algorithms for the probe; the caller's settings come back after."""
    import torch

    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


def run_probe(
    recipe: Recipe,
    train_examples: Sequence[Example],
    eval_examples: Sequence[Example] | None = None,
    *,
    config: ProbeConfig | None = None,
    model: str | LoadedModel | None = None,
    progress: Callable[[ProbeEvent], None] | None = None,
    return_model: bool = False,
    return_batches: bool = False,
    on_eval: EvalHook | None = None,
    **settings: Any,
) -> ProbeResult:
    """Run a short fine-tune of the recipe's model on a sample of the training data.

    `config` says how the probe runs (`ProbeConfig`: steps, budget, threads, device, seed, held-out
    evaluation, cost accounting); `settings` are keyword shortcuts for its fields (`steps=50`), applied
    on top and validated (a bad value is an InputError naming the field).
    `model`: a model reference for `load_model` (default: the recipe's base model), or an already
    loaded model, which is copied and left untouched. `steps` fixes the probe length; otherwise it is
    the largest that costs at most `budget` of the full run's FLOPs (with a floor, see `cost`).
    Held-out loss is measured at `eval_points` evenly spaced steps (0 and the last included) on up to
    `eval_size` sequences of `eval_examples`, or of training examples split off when none are given.
    The same seed (default: the recipe's) gives the same trace, up to the timing columns.
    `on_eval(model, step)`, when given, runs at each eval point (model in eval mode, no grad) and its
    numbers are kept in `EvalPoint.extra` — e.g. a generation metric along a full training run.
    """
    started = time.perf_counter()
    cfg = ProbeConfig.build(config, **settings)
    if not train_examples:
        raise EmptyDatasetError("no training examples to probe with")
    steps, budget, threads, device, seed = cfg.steps, cfg.budget, cfg.threads, cfg.device, cfg.seed
    eval_size, eval_points, measure_every = cfg.eval_size, cfg.eval_points, cfg.measure_every
    accelerator, mfu, usd_per_gpu_hour = cfg.accelerator, cfg.mfu, cfg.usd_per_gpu_hour
    _check_device(device)
    seed = recipe.seed if seed is None else seed
    threads = threads or os.cpu_count() or 1
    notes: list[str] = []

    loaded, owned = _resolve_model(model, recipe, seed)
    if isinstance(model, str) and model != recipe.base_model:
        notes.append(
            f"probed {model}, a stand-in for the recipe's model {recipe.base_model}: every figure here is the "
            "stand-in's"
        )
    with _torch_settings(threads, deterministic=not device.startswith("cuda")):
        base = loaded.model if owned else copy.deepcopy(loaded.model)
        plan = make_plan(
            recipe,
            train_examples,
            eval_examples,
            loaded,
            base,
            steps=steps,
            budget=budget,
            seed=seed,
            eval_size=eval_size,
            eval_points=eval_points,
            measure_every=measure_every,
        )
        notes += plan.notes
        run = _run_with_retries(
            base,
            plan,
            recipe,
            pad_id=_pad_id(loaded.bundle),
            device=device,
            seed=seed,
            progress=progress,
            fresh_model=lambda: _fresh_model(model, recipe, seed),
            on_eval=on_eval,
        )
    outcome = run.outcome
    notes += run.notes + outcome.notes + _run_notes(recipe, plan, outcome, device)

    from tuneahead.probe.features import features_from_trace
    from tuneahead.probe.findings import probe_findings

    features = features_from_trace(outcome.trace, outcome.evals, vocab_size=_vocab_size(loaded))
    estimate = costs.estimate_cost(
        n_params=plan.n_params,
        n_trainable=outcome.trainable_params,
        full=recipe.adapter.is_full,
        full_tokens=plan.full_tokens,
        full_steps=plan.full_steps,
        probe_train_tokens=sum(r.tokens for r in outcome.trace),
        probe_eval_tokens=plan.eval_tokens * len(outcome.evals),
        probe_train_seconds=outcome.train_seconds,
        probe_seconds=outcome.train_seconds + outcome.eval_seconds,
        accelerator_name=accelerator,
        mfu=mfu,
        num_devices=recipe.num_devices,
        usd_per_gpu_hour=usd_per_gpu_hour,
    )
    per_step = recipe.effective_batch_size
    setup = ProbeSetup(
        model=loaded.name,
        model_source=str(getattr(loaded, "source", "")),
        adapter=recipe.adapter.type,
        device=device,
        threads=threads,
        steps_planned=plan.steps,
        step_choice=plan.step_choice,
        micro_batch_size=run.micro,
        gradient_accumulation_steps=math.ceil(per_step / run.micro),
        sequences_per_step=per_step,
        max_seq_length=recipe.max_seq_length,
        packing=recipe.packing,
        loss_on=recipe.loss_on,
        optimizer=recipe.optimizer,
        lr_scheduler=recipe.lr_scheduler,
        warmup_steps=outcome.warmup_steps,
        learning_rate=recipe.learning_rate,
        train_pool_examples=plan.pool_size,
        eval_examples=len(plan.eval_sequences),
        eval_source=plan.eval_source,
        eval_steps=plan.eval_at,
        measure_every=measure_every,
        seed=seed,
    )
    return ProbeResult(
        setup=setup,
        trace=outcome.trace,
        eval_points=outcome.evals,
        features=features,
        cost=estimate,
        findings=probe_findings(features, recipe),
        notes=notes,
        diverged=features.get("probe_diverged") == 1.0,
        interrupted=outcome.interrupted,
        seconds=time.perf_counter() - started,
        load_seconds=float(getattr(loaded, "load_seconds", 0.0)) if owned else 0.0,
        model=outcome.model if return_model else None,
        batches=run.steps if return_batches else [],
    )


@dataclass
class _Run:
    outcome: _Outcome
    micro: int  # micro-batch size the successful attempt used
    steps: list[StepBatch]  # the batches as run
    notes: list[str]


def _run_with_retries(
    base,
    plan: ProbePlan,
    recipe: Recipe,
    *,
    pad_id: int,
    device: str,
    seed: int,
    progress: Callable[[ProbeEvent], None] | None,
    fresh_model: Callable[[], Any],
    on_eval: EvalHook | None = None,
) -> _Run:
    """Train; on out-of-memory, halve the micro-batch (same sequences per step) and start again."""
    per_step = recipe.effective_batch_size
    micro = min(recipe.micro_batch_size, per_step)
    train_steps = step_batches(plan.sequences, per_step=per_step, micro=micro, pad_id=pad_id)
    notes: list[str] = []
    while True:
        attempt = _Attempt(
            model=base,
            recipe=recipe,
            steps=train_steps,
            evals=eval_batches(plan.eval_sequences, micro, pad_id),
            plan=plan,
            device=device,
            seed=seed,
            progress=progress,
            on_eval=on_eval,
        )
        try:
            return _Run(attempt.run(), micro, train_steps, notes)
        except Exception as exc:
            if not _is_oom(exc):
                raise
            if micro == 1:
                raise ProbeOutOfMemory(
                    "the probe runs out of memory even with one sequence per micro-batch",
                    hint="lower max_seq_length for the probe, use LoRA, or run on a machine with more memory",
                ) from None
        # Out of the except block, so the failed attempt's tensors can be freed before retrying.
        del attempt
        base = None
        _free_memory(device)
        micro //= 2
        message = (
            f"out of memory: retried with micro-batch {micro} and {math.ceil(per_step / micro)} "
            f"accumulation steps (same {per_step} sequences per step)"
        )
        notes.append(message)
        if progress:
            progress(ProbeEvent("retry", plan.steps, message=message))
        train_steps = rebatch(train_steps, micro, pad_id)
        base = fresh_model()


def _run_notes(recipe: Recipe, plan: ProbePlan, outcome: _Outcome, device: str) -> list[str]:
    """Where the probe differs from the full run, and how it ended, in words."""
    notes: list[str] = []
    if recipe.num_devices > 1:
        notes.append(
            f"{recipe.num_devices} data-parallel devices simulated by accumulation on one device "
            f"({recipe.effective_batch_size} sequences per step)"
        )
    if not device.startswith("cuda") and recipe.precision != "fp32":
        notes.append(f"precision {recipe.precision}: the probe computes in fp32 on CPU")
    elif device.startswith("cuda") and recipe.precision == "fp16":
        notes.append("precision fp16: the probe uses bf16 autocast (no loss scaling)")
    if outcome.interrupted:
        notes.append(
            f"interrupted after {len(outcome.trace)} of {plan.steps} steps: features use the partial trace"
        )
    nonfinite = next((r for r in outcome.trace if r.nonfinite), None)
    if nonfinite is not None:
        notes.append(f"NaN/inf loss or gradient at step {nonfinite.step}: the probe stopped there")
    return notes


def _vocab_size(loaded: LoadedModel) -> int | None:
    size = loaded.config.get("vocab_size")
    return size if isinstance(size, int) and size > 1 else None


def _resolve_model(model, recipe: Recipe, seed: int) -> tuple[LoadedModel, bool]:
    """(loaded model, whether the probe owns it and may train it in place)."""
    if model is None or isinstance(model, str):
        from tuneahead.models.loading import load_model

        return load_model(model or recipe.base_model, seed=seed), True
    return model, False


def _fresh_model(model, recipe: Recipe, seed: int):
    """Untrained weights for a retry: a new copy of the caller's model, or a reload of ours."""
    if model is None or isinstance(model, str):
        from tuneahead.models.loading import load_model

        return load_model(model or recipe.base_model, seed=seed).model
    return copy.deepcopy(model.model)


def _check_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device 'cuda' requested but no CUDA GPU is available", Location(field="device"))
    if not device.startswith(("cpu", "cuda")):
        raise InputError(f"unknown device {device!r}; use cpu or cuda", Location(field="device"))


def _free_memory(device: str) -> None:
    import gc

    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def _pad_id(bundle) -> int:
    for candidate in (bundle.pad_id, bundle.eos_id):
        if candidate is not None:
            return int(candidate)
    return 0  # padding positions are masked out of attention and loss: the id itself does not matter
