"""The probe's actual batches: loss masking token by token, truncation, padding and packing."""

from __future__ import annotations

import pytest
from test_probe_engine import recipe, sort_examples

from tuneahead.data.example import Example
from tuneahead.probe.batches import IGNORE_INDEX
from tuneahead.probe.engine import run_probe


@pytest.fixture(scope="module")
def tiny():
    from tuneahead.models.loading import load_model

    return load_model("tiny-0.2m")


def _rows(result):
    """(example ids, input ids, labels, attention) of every sequence the probe trained on."""
    for step in result.batches:
        for mb in step.micro:
            for r in range(mb.size):
                yield (
                    mb.example_ids[r],
                    mb.input_ids[r].tolist(),
                    mb.labels[r].tolist(),
                    mb.attention_mask[r].tolist(),
                )


def test_completion_only_masks_every_prompt_token(tiny):
    data = sort_examples(60)
    by_id = {e.id: e for e in data}
    result = run_probe(
        recipe(loss_on="completion"), data, steps=3, model=tiny, threads=1, return_batches=True
    )
    tok = tiny.bundle.tokenizer
    end_id = tok.token_to_id("<|im_end|>")
    pad_id = tok.token_to_id("<|pad|>")
    checked = 0
    for (example_id,), ids, labels, attention in _rows(result):
        ex = by_id[example_id]
        user, answer = ex.messages[0].content, ex.messages[1].content
        # Written out independently of the renderer: ChatML prompt, then the answer and its end-of-turn.
        prompt_ids = tok.encode(f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n").ids
        answer_ids = tok.encode(answer).ids
        p, a = len(prompt_ids), len(answer_ids)
        length = sum(attention)
        assert ids[:p] == prompt_ids
        assert ids[p : p + a] == answer_ids and ids[p + a] == end_id
        for i in range(len(ids)):
            if p <= i <= p + a:  # answer tokens and the closing <|im_end|>
                assert labels[i] == ids[i], (example_id, i)
            else:  # prompt, the newline after <|im_end|>, padding
                assert labels[i] == IGNORE_INDEX, (example_id, i)
            if i >= length:
                assert ids[i] == pad_id and attention[i] == 0
        checked += 1
    assert checked == 3 * 4


def test_loss_on_all_tokens(tiny):
    data = sort_examples(60)
    result = run_probe(recipe(loss_on="all"), data, steps=2, model=tiny, threads=1, return_batches=True)
    for _, ids, labels, attention in _rows(result):
        for i, keep in enumerate(attention):
            assert labels[i] == (ids[i] if keep else IGNORE_INDEX)


def test_truncation_to_max_seq_length(tiny):
    data = sort_examples(60)
    result = run_probe(recipe(max_seq_length=12), data, steps=2, model=tiny, threads=1, return_batches=True)
    lengths = [sum(att) for *_, att in _rows(result)]
    assert max(lengths) == 12
    # Cut before the answer: nothing left to learn, and the step reports zero loss tokens.
    assert all(r.loss_tokens == 0 for r in result.trace)
    assert result.features["probe_nonfinite"] == 0.0


def test_packing_fills_blocks_across_examples(tiny):
    data = [
        Example(
            id=f"p:{i}",
            source_format="prompt_completion",
            prompt=f"Question {i}? ",
            completion=f"Answer {i}.",
        )
        for i in range(80)
    ]
    result = run_probe(
        recipe(packing=True, max_seq_length=32, loss_on="completion"),
        data,
        steps=3,
        model=tiny,
        threads=1,
        return_batches=True,
    )
    rows = list(_rows(result))
    assert len(rows) == 12
    assert all(sum(att) == 32 for *_, att in rows)  # every block full: no padding
    assert all(len(example_ids) >= 2 for example_ids, *_ in rows)
    assert all(any(label != IGNORE_INDEX for label in labels) for _, _, labels, _ in rows)


def test_packed_examples_do_not_attend_to_each_other(tiny):
    """Positions restart at each example inside a packed block, and the model sees each example alone."""
    import torch

    data = [
        Example(id=f"p:{i}", source_format="prompt_completion", prompt=f"Question {i}? ", completion=f"Answer {i}.")
        for i in range(80)
    ]
    result = run_probe(
        recipe(packing=True, max_seq_length=32, loss_on="completion"), data, steps=1, model=tiny, threads=1,
        return_batches=True,
    )
    mb = result.batches[0].micro[0]
    pos = mb.position_ids[0]
    restarts = torch.nonzero(pos == 0).flatten().tolist()
    assert restarts[0] == 0 and len(restarts) >= 2  # more than one example starts in the block
    start, stop = restarts[1], (restarts[2] if len(restarts) > 2 else len(pos))
    assert pos[start:stop].tolist() == list(range(stop - start))
    model = tiny.model.eval()
    with torch.no_grad():
        packed = model(input_ids=mb.input_ids[:1], position_ids=mb.position_ids[:1], use_cache=False).logits
        alone = model(input_ids=mb.input_ids[:1, start:stop], use_cache=False).logits[0]
        packed = packed[0, start:stop]
    torch.testing.assert_close(packed, alone, atol=1e-4, rtol=1e-4)


def test_packed_probe_loss_is_the_loss_of_each_example_alone(tiny):
    """The probe's packed step loss equals the examples' losses computed one by one (no cross-talk)."""
    import torch
    import torch.nn.functional as F

    data = [
        Example(id=f"p:{i}", source_format="prompt_completion", prompt=f"Question {i}? ", completion=f"Answer {i}.")
        for i in range(80)
    ]
    result = run_probe(
        recipe(packing=True, max_seq_length=32, loss_on="completion", micro_batch_size=2), data, steps=1,
        model=tiny, threads=1, return_batches=True,
    )
    total, count = 0.0, 0
    model = tiny.model.eval()
    with torch.no_grad():
        for mb in result.batches[0].micro:
            for r in range(mb.size):
                pos = mb.position_ids[r].tolist()
                starts = [i for i, p in enumerate(pos) if p == 0] + [len(pos)]
                for a, b in zip(starts, starts[1:]):
                    ids, labels = mb.input_ids[r : r + 1, a:b], mb.labels[r, a:b]
                    if b - a < 2 or (labels[1:] == IGNORE_INDEX).all():
                        continue
                    logits = model(input_ids=ids, use_cache=False).logits[0, :-1]
                    total += float(F.cross_entropy(logits, labels[1:], reduction="sum"))
                    count += int((labels[1:] != IGNORE_INDEX).sum())
    assert count == result.trace[0].loss_tokens
    assert result.trace[0].loss == pytest.approx(total / count, rel=1e-4)
