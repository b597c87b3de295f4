"""One forward pass over a micro-batch and one held-out evaluation: shared by the probe engine and the
live probe inside a user's trainer, so both measure loss and answer accuracy the same way."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tuneahead.probe.trace import NAN, EvalPoint

# Called at each eval point with (model, optimizer steps done); returns extra numbers to record.
EvalHook = Callable[[Any, int], Mapping[str, float]]


@dataclass
class ForwardStats:
    """One micro-batch: the summed token loss (a tensor, for backward) and the answer-token counts."""

    loss_sum: Any  # 0-d tensor: sum of the token losses where labels != -100
    correct: int  # answer tokens that are the argmax given the right prefix
    answer: int  # answer tokens
    whole: int  # rows whose every answer token is right (one sequence per row: eval only)
    scored: int  # rows with at least one answer token


def autocast_for(device: str, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA for a bf16 / fp16 recipe; full precision elsewhere."""
    import torch

    if device.startswith("cuda") and precision in ("bf16", "fp16"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def forward_stats(model, mb, device: str, precision: str = "fp32", *, per_row: bool = True) -> ForwardStats:
    """Forward one `probe.batches.MicroBatch`: token-summed loss and answer-token accuracy; with `per_row`,
    the rows answered whole too (held-out rows only: training rows may be packed, and each op counts on a
    small model's step)."""
    import torch
    import torch.nn.functional as F

    ids = mb.input_ids.to(device)
    with autocast_for(device, precision):
        # No KV cache in training (transformers also detects packed sequences only without one).
        if mb.position_ids is not None:  # packed: positions restart per example, attention stays inside it
            logits = model(input_ids=ids, position_ids=mb.position_ids.to(device), use_cache=False).logits
        else:
            logits = model(input_ids=ids, attention_mask=mb.attention_mask.to(device), use_cache=False).logits
    logits = logits[:, :-1].float()
    labels = mb.labels[:, 1:].to(device)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="sum")
    with torch.no_grad():
        answer = (mb.completion[:, 1:] & mb.attention_mask[:, 1:].bool()).to(device)
        rows, cols = answer.nonzero(as_tuple=True)
        # The argmax over the vocabulary on answer positions only: the rest of the sequence is not scored.
        hit = logits[rows, cols].argmax(-1) == ids[:, 1:][rows, cols]
        if not per_row:
            return ForwardStats(loss, int(hit.sum()), int(rows.numel()), 0, 0)
        right_per_row = torch.bincount(rows[hit], minlength=answer.shape[0])
        answer_per_row = answer.sum(dim=1)
        scored = answer_per_row > 0
        whole = scored & (right_per_row == answer_per_row)
    return ForwardStats(loss, int(hit.sum()), int(rows.numel()), int(whole.sum()), int(scored.sum()))


def evaluate_held_out(
    model,
    batches: Sequence[Any],
    step: int,
    *,
    device: str,
    precision: str = "fp32",
    on_eval: EvalHook | None = None,
) -> EvalPoint:
    """Held-out loss, answer-token accuracy and whole-answer accuracy after `step` optimizer steps.

    The model is put in eval mode for the measurement and back in train mode after it.
    """
    import torch

    started = time.perf_counter()
    was_training = model.training
    model.eval()
    loss_sum, correct, answer, n_loss, whole, scored = 0.0, 0, 0, 0, 0, 0
    try:
        with torch.no_grad():
            for mb in batches:
                stats = forward_stats(model, mb, device, precision)
                loss_sum += float(stats.loss_sum)
                correct, answer, n_loss = correct + stats.correct, answer + stats.answer, n_loss + mb.loss_tokens
                whole, scored = whole + stats.whole, scored + stats.scored
            extra = dict(on_eval(model, step)) if on_eval is not None else {}
    finally:
        if was_training:
            model.train()
    return EvalPoint(
        step=step,
        loss=loss_sum / n_loss if n_loss else NAN,
        token_accuracy=correct / answer if answer else NAN,
        sequence_accuracy=whole / scored if scored else NAN,
        loss_tokens=n_loss,
        completion_tokens=answer,
        seconds=time.perf_counter() - started,
        extra=extra,
    )
