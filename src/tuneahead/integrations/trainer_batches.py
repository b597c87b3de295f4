"""A trainer's collated batches as the probe's micro-batches, and what one training forward measured.

The live probe evaluates held-out rows with the same `probe.forward` code as `tuneahead probe`; the
rows are collated by the trainer's own data collator, so the evaluation sees what training sees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tuneahead.probe.batches import IGNORE_INDEX, MicroBatch

# What the trainer's collator needs of a row; everything else (raw text columns) is left out.
MODEL_INPUT_KEYS = ("input_ids", "attention_mask", "labels", "position_ids", "completion_mask", "assistant_masks",
                    "seq_lengths")


def micro_batch(batch: Mapping[str, Any]) -> MicroBatch:
    """A collated batch (input_ids, optional attention_mask / labels / position_ids) as a MicroBatch.

    Without labels every token is a target; the answer tokens are those that carry loss.
    """
    import torch

    ids = batch["input_ids"]
    mask = batch.get("attention_mask")
    if mask is None:
        mask = torch.ones_like(ids)
    labels = batch.get("labels")
    if labels is None:
        labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
    return MicroBatch(
        input_ids=ids,
        attention_mask=mask,
        labels=labels,
        completion=labels != IGNORE_INDEX,
        tokens=int(mask.sum()),
        loss_tokens=int((labels[:, 1:] != IGNORE_INDEX).sum()),
        example_ids=[("",)] * int(ids.shape[0]),
        position_ids=batch.get("position_ids"),
    )


def held_out_batches(rows: Sequence[Mapping[str, Any]], collate: Callable[[list], Mapping[str, Any]],
                     micro: int) -> list[MicroBatch]:
    """Held-out rows collated `micro` at a time by the trainer's collator."""
    kept = [{k: v for k, v in row.items() if k in MODEL_INPUT_KEYS} for row in rows]
    return [micro_batch(collate(kept[i : i + micro])) for i in range(0, len(kept), micro)]


@dataclass(frozen=True)
class ForwardReading:
    """What one training forward of a causal LM showed: loss summed over target tokens, and counts."""

    loss_sum: float
    loss_tokens: int
    tokens: int
    correct: int  # target tokens that were the argmax given the right prefix
    answer: int  # target tokens


def read_forward(kwargs: Mapping[str, Any], output: Any) -> ForwardReading | None:
    """Read a forward call's loss and token counts; None when it computed no loss (no labels).

    HF causal-LM losses are the token sum over `num_items_in_batch` when the trainer passes it (so the
    micro-batches of a step add up to the step's token mean), else the mean over this batch's targets.
    """
    import torch

    loss = getattr(output, "loss", None)
    labels = kwargs.get("labels")
    if loss is None or labels is None:
        return None
    with torch.no_grad():
        targets = labels[:, 1:] != IGNORE_INDEX
        n = int(targets.sum())
        items = kwargs.get("num_items_in_batch")
        scale = float(items) if items is not None else float(n)
        logits = getattr(output, "logits", None)
        correct = 0
        if logits is not None and logits.dim() == 3:
            # The argmax over the vocabulary on target positions only: the rest of the sequence is not scored.
            rows, cols = targets.nonzero(as_tuple=True)
            correct = int((logits[rows, cols].argmax(-1) == labels[:, 1:][rows, cols]).sum())
        mask = kwargs.get("attention_mask")
        ids = kwargs.get("input_ids")
        tokens = int(mask.sum()) if mask is not None else int(ids.numel()) if ids is not None else n
    return ForwardReading(float(loss.detach()) * scale, n, tokens, correct, n)
