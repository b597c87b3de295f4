"""Token counts per example, gathered a batch at a time, equal the counts taken one example at a time."""

from __future__ import annotations

import numpy as np

from tuneahead.data.render import Tokenized
from tuneahead.data.stats import LengthStats


def _one(tok: Tokenized, max_len: int, eos_id: int) -> tuple:
    ids, comp, loss = tok.input_ids, tok.completion_mask, tok.loss_mask
    return (tok.length, int(comp.sum()), int(loss.sum()), int(comp[:max_len].sum()), int(loss[:max_len].sum()),
            bool((ids[:max_len][loss[:max_len]] == eos_id).any()))


def test_batch_counts_equal_per_example_counts():
    rng = np.random.default_rng(0)
    toks = []
    for length in [5, 0, 12, 3, 0, 30, 1, 0]:  # empty rows, also last
        ids = rng.integers(0, 6, length).astype(np.int32)
        comp = rng.random(length) < 0.5
        loss = comp | (rng.random(length) < 0.2)
        toks.append(Tokenized(ids, loss, comp))
    stats = LengthStats()
    stats.add_batch(toks, max_len=8, eos_id=2)
    got = list(zip(stats.total, stats.completion, stats.loss, stats.completion_kept, stats.loss_kept,
                   stats.eos_target))
    assert got == [_one(t, 8, 2) for t in toks]
    assert any(e for *_, e in got) and not all(e for *_, e in got)
    none = LengthStats()
    none.add_batch(toks, max_len=8, eos_id=None)
    assert not any(none.eos_target) and none.loss_kept == stats.loss_kept
