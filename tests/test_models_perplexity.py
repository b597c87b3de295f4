"""Base-model answer perplexity: finite, seeded, and lower on text the model has just learned."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tuneahead.data.example import Example, Message
from tuneahead.data.render import resolve_template, tokenize_batch
from tuneahead.errors import ModelError
from tuneahead.models.loading import load_model
from tuneahead.probe.perplexity import answer_perplexities, completion_perplexity

WORDS = ["apple", "river", "stone", "cloud", "garden", "window", "letter", "market", "yellow", "quiet"]


def chat(i: int, answer: str) -> Example:
    return Example(
        f"t:{i}", "messages", (Message("user", f"Tell me code number {i}."), Message("assistant", answer))
    )


def test_finite_and_reproducible() -> None:
    loaded = load_model("tiny-0.2m")
    template = resolve_template(loaded.bundle, None)
    examples = [chat(i, " ".join(random.Random(i).sample(WORDS, 4))) for i in range(40)]
    mean, std = completion_perplexity("tiny-0.2m", examples, loaded.bundle, template, max_len=128, sample=8)
    assert math.isfinite(mean) and math.isfinite(std) and std >= 0
    # Log-perplexity in nats/token: no worse than near-uniform over 2,048 tokens (random init or pretrained).
    assert 0 < mean < math.log(8000)
    assert (mean, std) == completion_perplexity(
        loaded, examples, loaded.bundle, template, max_len=128, sample=8
    )


def test_lower_on_text_the_model_was_trained_on() -> None:
    loaded = load_model("tiny-0.2m", seed=0)
    model, bundle = loaded.model, loaded.bundle
    template = resolve_template(bundle, None)
    rng = random.Random(0)
    seen = [chat(i, " ".join(rng.sample(WORDS, 5))) for i in range(4)]
    unseen = [chat(i, " ".join(rng.sample(WORDS, 5))) for i in range(4, 8)]

    tokens = tokenize_batch(seen, bundle, template, loss_on="completion")
    width = max(t.length for t in tokens)
    ids = torch.full((len(tokens), width), bundle.pad_id, dtype=torch.long)
    labels = torch.full((len(tokens), width), -100, dtype=torch.long)
    for row, t in enumerate(tokens):
        ids[row, : t.length] = torch.from_numpy(t.input_ids.astype(np.int64))
        labels[row, : t.length] = torch.where(torch.from_numpy(t.loss_mask), ids[row, : t.length], -100)
    torch.manual_seed(0)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(30):
        optimizer.zero_grad()
        model(input_ids=ids, attention_mask=(ids != bundle.pad_id).long(), labels=labels).loss.backward()
        optimizer.step()

    seen_ppl, _ = completion_perplexity(loaded, seen, bundle, template, max_len=128)
    unseen_ppl, _ = completion_perplexity(loaded, unseen, bundle, template, max_len=128)
    assert seen_ppl < math.log(10) and unseen_ppl > seen_ppl + math.log(100)  # log space
    assert model.training  # the caller's mode is restored


def test_answers_beyond_max_len_are_skipped_and_batching_is_exact() -> None:
    loaded = load_model("tiny-0.2m")
    bundle = loaded.bundle
    template = resolve_template(bundle, None)
    long_prompt = Example("t:long", "messages", (Message("user", "word " * 300), Message("assistant", "yes")))
    short = [chat(i, "apple " * (i + 1)) for i in range(6)]
    tokens = tokenize_batch([long_prompt, *short], bundle, template, loss_on="completion")
    batched = answer_perplexities(loaded.model, tokens, max_len=64, pad_id=bundle.pad_id)
    assert np.isnan(batched[0]) and np.isfinite(batched[1:]).all()
    # Padding in a batch changes nothing: each sequence alone gives the same value.
    alone = [answer_perplexities(loaded.model, [t], max_len=64, pad_id=bundle.pad_id)[0] for t in tokens[1:]]
    np.testing.assert_allclose(batched[1:], alone, rtol=1e-4)
    assert completion_perplexity(loaded, [long_prompt], bundle, template, max_len=64) == pytest.approx(
        (math.nan, math.nan), nan_ok=True
    )


def test_tokenizer_of_another_model_is_refused(default_bundle) -> None:
    examples = [chat(i, "a long answer with many different words in it " * 3) for i in range(4)]
    template = resolve_template(default_bundle, None)
    with pytest.raises(ModelError, match="outside the model's vocabulary"):
        completion_perplexity("tiny-0.2m", examples, default_bundle, template, max_len=256)
