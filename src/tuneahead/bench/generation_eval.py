"""Exact-match accuracy by greedy generation: how a TuneBench run is scored.

Prompts are rendered with the template the model is *served* with (which may differ from the
training template — that is one of the planted pitfalls), left-padded, and decoded greedily until
EOS or a few tokens past the longest reference answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from tuneahead.bench.tasks import exact_match
from tuneahead.data.example import Example
from tuneahead.data.render import render_generation_prompt
from tuneahead.models.tokenizer import TokenizerBundle

EXTRA_TOKENS = 4  # generation budget beyond the longest reference answer


def generate_answers(
    model,
    bundle: TokenizerBundle,
    template: str,
    examples: Sequence[Example],
    *,
    batch_size: int = 64,
    max_context: int = 512,
) -> tuple[list[str], list[str]]:
    """Greedy answers and references for `examples` (chat examples ending with the answer)."""
    import torch
    from tokenizers import Tokenizer

    tokenizer = cast(Tokenizer, bundle.tokenizer)
    prompts, references = zip(*(render_generation_prompt(e, bundle, template) for e in examples))
    answer_tokens = max(len(tokenizer.encode(r, add_special_tokens=False).ids) for r in references)
    max_new = answer_tokens + EXTRA_TOKENS
    keep = max(1, max_context - max_new)  # the model cannot see further back than its context
    encoded = [enc.ids[-keep:] for enc in tokenizer.encode_batch(list(prompts), add_special_tokens=False)]
    pad = bundle.pad_id if bundle.pad_id is not None else bundle.eos_id
    if pad is None:
        raise ValueError("the tokenizer has neither a pad nor an EOS token to pad prompts with")
    was_training = model.training
    model.eval()
    answers: list[str] = []
    try:
        with torch.no_grad():
            # Similar lengths together: less padding, and left-padding keeps the answer start aligned.
            order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
            out: dict[int, str] = {}
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                width = max(len(encoded[i]) for i in idx)
                ids = torch.full((len(idx), width), pad, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    seq = encoded[i]
                    ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
                    mask[row, width - len(seq) :] = 1
                generated = model.generate(
                    input_ids=ids, attention_mask=mask, max_new_tokens=max_new, do_sample=False,
                    eos_token_id=bundle.eos_id, pad_token_id=pad,
                )
                for row, i in enumerate(idx):
                    new = generated[row, width:].tolist()
                    if bundle.eos_id in new:
                        new = new[: new.index(bundle.eos_id)]
                    out[i] = tokenizer.decode(new, skip_special_tokens=True)
            answers = [out[i] for i in range(len(encoded))]
    finally:
        model.train(was_training)
    return answers, list(references)


def exact_match_accuracy(
    model, bundle: TokenizerBundle, template: str, examples: Sequence[Example], family: str, **kwargs
) -> float:
    if not examples:
        return float("nan")
    answers, references = generate_answers(model, bundle, template, examples, **kwargs)
    return sum(exact_match(family, a, r) for a, r in zip(answers, references)) / len(examples)
