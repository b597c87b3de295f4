"""Answer-token accuracy read from a forward pass: scored on answer positions only, as defined over all."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from tuneahead.integrations.trainer_batches import read_forward
from tuneahead.probe.batches import IGNORE_INDEX, MicroBatch
from tuneahead.probe.forward import forward_stats


class _Fixed(torch.nn.Module):
    """A stand-in model whose logits are given."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, **kwargs):
        return SimpleNamespace(logits=self.logits)


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    b, length, vocab = 4, 12, 7
    ids = torch.randint(0, vocab, (b, length), generator=g)
    mask = torch.ones(b, length, dtype=torch.long)
    mask[1, 9:] = 0  # padding
    completion = torch.zeros(b, length, dtype=torch.bool)
    completion[:, 6:] = True
    completion[3] = False  # a row without an answer
    labels = torch.where(completion & mask.bool(), ids, torch.full_like(ids, IGNORE_INDEX))
    logits = torch.randn(b, length, vocab, generator=g)
    # Make some answer tokens right: put the next token's logit on top.
    logits[0, 5:11].scatter_(1, ids[0, 6:12, None], 10.0)
    logits[2, 5:8].scatter_(1, ids[2, 6:9, None], 10.0)
    mb = MicroBatch(ids, mask, labels, completion, tokens=int(mask.sum()),
                    loss_tokens=int((labels[:, 1:] != IGNORE_INDEX).sum()), example_ids=[("x",)] * b)
    return mb, logits


def test_forward_accuracy_equals_the_argmax_over_every_position():
    mb, logits = _batch()
    stats = forward_stats(_Fixed(logits), mb, "cpu")
    answer = mb.completion[:, 1:] & mb.attention_mask[:, 1:].bool()
    right = (logits[:, :-1].argmax(-1) == mb.input_ids[:, 1:]) & answer
    scored = answer.any(dim=1)
    assert stats.answer == int(answer.sum())
    assert stats.correct == int(right.sum()) and stats.correct >= 9
    assert stats.scored == int(scored.sum()) == 3
    assert stats.whole == int((scored & (right.sum(1) == answer.sum(1))).sum()) == 1


def test_the_trainer_reading_counts_the_same_right_tokens():
    mb, logits = _batch(1)
    kwargs = {"labels": mb.labels, "attention_mask": mb.attention_mask, "input_ids": mb.input_ids}
    reading = read_forward(kwargs, SimpleNamespace(loss=torch.tensor(1.0), logits=logits))
    targets = mb.labels[:, 1:] != IGNORE_INDEX
    expected = ((logits[:, :-1].argmax(-1) == mb.labels[:, 1:]) & targets).sum()
    assert reading is not None and reading.correct == int(expected) and reading.answer == int(targets.sum())
