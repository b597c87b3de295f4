"""The base model's perplexity on the answers of a dataset sample, before any fine-tuning.

A static descriptor (`base_completion_ppl_mean` / `_std`): answers the base model already finds
likely are easy to fit; very high perplexity hints at a distribution the model has never seen.
Sequences come from the shared renderer with completion-only masks, truncated at the run's
`max_seq_length`, so the tokens scored are exactly the answer tokens the fine-tune would train on.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from tuneahead.data.example import Example
from tuneahead.data.render import Tokenized, tokenize_batch
from tuneahead.errors import ModelError
from tuneahead.models.tokenizer import TokenizerBundle

if TYPE_CHECKING:
    from tuneahead.models.loading import LoadedModel

LOGITS_BUDGET_BYTES = 1 << 28  # float32 logits held at once (256 MiB): bounds memory for big vocabularies
MAX_BATCH = 4


def _batches(lengths: Sequence[int], vocab: int) -> list[list[int]]:
    """Indices grouped by similar length, each group's padded logits within the budget."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    max_tokens = max(1, LOGITS_BUDGET_BYTES // (4 * vocab))
    groups: list[list[int]] = []
    for i in order:
        group = groups[-1] if groups else None
        # Sorted ascending, so the newcomer is the longest: the padded size is len(group+1) * its length.
        if group and len(group) < MAX_BATCH and (len(group) + 1) * lengths[i] <= max_tokens:
            group.append(i)
        else:
            groups.append([i])
    return groups


def answer_perplexities(
    model, tokenized: Sequence[Tokenized], *, max_len: int, pad_id: int | None
) -> np.ndarray:
    """Per-sequence perplexity on answer tokens (loss mask) within the first `max_len` tokens.

    NaN for a sequence whose answer falls entirely beyond `max_len`.
    """
    import torch
    import torch.nn.functional as F

    vocab = int(model.get_input_embeddings().weight.shape[0])
    ids = [t.input_ids[:max_len].astype(np.int64) for t in tokenized]
    masks = [t.loss_mask[:max_len] for t in tokenized]
    top = max((int(x.max()) for x in ids if len(x)), default=-1)
    if top >= vocab:
        raise ModelError(
            f"token id {top} is outside the model's vocabulary ({vocab} tokens)",
            hint="the tokenizer does not belong to this model; use the model's own tokenizer",
        )
    out = np.full(len(tokenized), np.nan)
    pad = 0 if pad_id is None else int(pad_id)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for group in _batches([len(x) for x in ids], vocab):
                width = max(len(ids[i]) for i in group)
                batch = torch.full((len(group), width), pad, dtype=torch.long)
                attention = torch.zeros((len(group), width), dtype=torch.long)
                target = torch.zeros((len(group), width), dtype=torch.bool)
                for row, i in enumerate(group):
                    n = len(ids[i])
                    batch[row, :n] = torch.from_numpy(ids[i])
                    attention[row, :n] = 1
                    target[row, :n] = torch.from_numpy(masks[i])
                logits = model(input_ids=batch, attention_mask=attention).logits
                # Token t is predicted from position t-1; the first token is never scored.
                scored = target[:, 1:]
                losses = F.cross_entropy(
                    logits[:, :-1][scored].float(), batch[:, 1:][scored], reduction="none"
                )
                rows = scored.nonzero()[:, 0]
                for row, i in enumerate(group):
                    mine = losses[rows == row]
                    if mine.numel():
                        nll = float(mine.mean())
                        out[i] = math.exp(nll) if nll < 700 else math.inf  # exp overflows past ~709
    finally:
        model.train(was_training)
    return out


def completion_perplexity(
    model_ref: str | LoadedModel,
    examples: list[Example],
    bundle: TokenizerBundle,
    template: str,
    max_len: int,
    sample: int = 32,
) -> tuple[float, float]:
    """Mean and std of the base model's per-example answer *log*-perplexity (nats/token) on a sample.

    Log space, because per-example perplexities of short answers span orders of magnitude and a mean
    of raw perplexities is dominated by a few outliers.

    `model_ref` is anything `tuneahead.models.loading.load_model` accepts, or an already loaded model.
    Returns (nan, nan) when no sampled example has an answer token within `max_len`.
    """
    if not examples:
        return math.nan, math.nan
    from tuneahead.models.loading import LoadedModel, load_model

    loaded = model_ref if isinstance(model_ref, LoadedModel) else load_model(model_ref)
    picked = sorted(random.Random(0).sample(range(len(examples)), min(sample, len(examples))))
    tokenized = tokenize_batch([examples[i] for i in picked], bundle, template, loss_on="completion")
    pad_id = bundle.pad_id if bundle.pad_id is not None else bundle.eos_id
    values = answer_perplexities(loaded.model, tokenized, max_len=max_len, pad_id=pad_id)
    values = values[~np.isnan(values)]
    if not len(values):
        return math.nan, math.nan
    logs = np.log(values)
    return float(logs.mean()), float(logs.std())
