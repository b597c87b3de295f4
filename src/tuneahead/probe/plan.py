"""The probe's plan: which sequences it trains and evaluates on, how long it runs, what the full run costs.

Everything here is decided once, before any training, and does not change on an out-of-memory
retry: the held-out sample (the user's eval set, else training examples split off), the seeded
stream of training sequences, the full run's size (steps and tokens, from a tokenized sample of
the training data), and the probe's length (given, or the largest within the FLOPs budget).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tuneahead.data.example import Example
from tuneahead.data.render import resolve_template
from tuneahead.errors import ModelError
from tuneahead.probe import cost as costs
from tuneahead.probe.batches import Renderer, SequenceStream, TrainSequence
from tuneahead.recipe.model import Recipe

STATS_SAMPLE = 1000  # examples tokenized to estimate the full run's tokens (reused for training)


@dataclass
class ProbePlan:
    steps: int
    step_choice: str
    sequences: list[TrainSequence]  # steps × per_step, in order
    eval_sequences: list[TrainSequence]
    eval_at: list[int]
    measure_at: set[int]
    full_steps: int
    full_tokens: float
    n_params: int  # weights a token passes through (for FLOPs)
    eval_tokens: int  # tokens of one held-out evaluation
    pool_size: int
    eval_source: str
    notes: list[str] = field(default_factory=list)


def _full_run_size(recipe: Recipe, n_train: int, mean_tokens: float) -> tuple[int, int, float]:
    """(training sequences, optimizer steps, tokens) of the full run implied by the recipe."""
    dataset_tokens = n_train * mean_tokens
    n_seq = math.ceil(dataset_tokens / recipe.max_seq_length) if recipe.packing else n_train
    steps = recipe.total_steps(n_seq)
    tokens_per_seq = dataset_tokens / n_seq if n_seq else 0.0
    return n_seq, steps, steps * recipe.effective_batch_size * tokens_per_seq


def _recipe_holdout(recipe: Recipe, n: int) -> int:
    size = recipe.val_set_size
    return int(size) if size >= 1 else round(size * n)


def eval_schedule(steps: int, points: int) -> list[int]:
    if points <= 0:
        return []
    if points == 1:
        return [steps]
    return sorted({round(i * steps / (points - 1)) for i in range(points)})


def flop_params(model) -> int:
    """Weights a token is multiplied through: all but the input embedding table, plus the output head."""
    total = sum(p.numel() for p in model.parameters())
    embed = model.get_input_embeddings()
    head = model.get_output_embeddings()
    n = total - (embed.weight.numel() if embed is not None else 0)
    if head is not None and embed is not None and head.weight is embed.weight:
        n += head.weight.numel()  # tied: the table is also the output matmul
    return n


def make_plan(
    recipe: Recipe,
    train_examples: Sequence[Example],
    eval_examples: Sequence[Example] | None,
    loaded,
    base_model,
    *,
    steps: int | None,
    budget: float,
    seed: int,
    eval_size: int,
    eval_points: int,
    measure_every: int,
) -> ProbePlan:
    """Split, sample and tokenize the data; size the full run; choose the probe length."""
    notes: list[str] = []
    rng = np.random.default_rng(seed)
    bundle = loaded.bundle
    renderer = Renderer(
        bundle,
        resolve_template(bundle, recipe.chat_template),
        recipe.loss_on,
        recipe.max_seq_length,
        recipe.packing,
    )
    n = len(train_examples)
    order = rng.permutation(n)
    if eval_examples:
        pick = rng.permutation(len(eval_examples))[:eval_size]
        eval_sample = [eval_examples[i] for i in sorted(pick)]
        pool = [train_examples[i] for i in order]
        eval_source = "eval set"
    else:
        n_hold = min(eval_size, n // 10)
        eval_sample = [train_examples[i] for i in sorted(order[:n_hold])]
        pool = [train_examples[i] for i in order[n_hold:]]
        eval_source = "split from training data" if n_hold else "none"
        if n_hold:
            notes.append(
                f"no eval set: {n_hold} training examples are held out for the probe's held-out loss"
            )
        else:
            notes.append("no eval set and too few training examples to split one off: no held-out loss")

    # Full run: the recipe's epochs over the whole training set (less the recipe's own validation split).
    stats_sample = pool[:STATS_SAMPLE]
    tokenized = renderer.tokenize(stats_sample)
    _check_vocab(tokenized, base_model)
    mean_tokens = float(np.mean([renderer.token_count(t) for t in tokenized]))
    n_full = n - (0 if eval_examples else _recipe_holdout(recipe, n))
    _, full_steps, full_tokens = _full_run_size(recipe, max(n_full, 1), mean_tokens)

    per_step = recipe.effective_batch_size
    stream = SequenceStream(pool, renderer, np.random.default_rng(seed + 1), pretokenized=tokenized)
    eval_sequences = renderer.sequences(eval_sample, renderer.tokenize(eval_sample)) if eval_sample else []
    eval_tokens = sum(s.length for s in eval_sequences)
    n_evals = max(eval_points, 0) if eval_sequences else 0  # at most this many evaluations

    from tuneahead.probe.cost import flops_per_eval_token, flops_per_train_token

    n_params = flop_params(base_model)
    if recipe.adapter.is_full:
        n_trainable = sum(p.numel() for p in base_model.parameters())
    else:
        n_trainable = _lora_params(base_model, recipe)
    per_token = flops_per_train_token(n_params, n_trainable, recipe.adapter.is_full)
    eval_flops = flops_per_eval_token(n_params) * eval_tokens * n_evals
    full_flops = per_token * full_tokens
    seq_tokens = (full_tokens / (full_steps * per_step)) if full_steps else mean_tokens

    if steps is not None:
        chosen = costs.StepChoice(steps, steps, f"{steps} steps as requested")
        sequences = stream.take(steps * per_step)
    else:
        chosen = costs.choose_probe_steps(
            budget=budget,
            full_flops=full_flops,
            flops_per_step=per_token * per_step * seq_tokens,
            eval_flops=eval_flops,
            full_steps=full_steps,
        )
        sequences = stream.take(chosen.steps * per_step)
        chosen = _fit_budget(chosen, sequences, per_step, per_token, eval_flops, budget, full_flops)
        sequences = sequences[: chosen.steps * per_step]
    notes.append(f"probe length: {chosen.reason}")
    if stream.epochs_started > 1:
        notes.append(
            f"the training pool holds {len(pool)} examples: the probe sees some of them more than once "
            f"({stream.epochs_started} passes started)"
        )
    return ProbePlan(
        steps=chosen.steps,
        step_choice=chosen.reason,
        sequences=sequences,
        eval_sequences=eval_sequences,
        eval_at=eval_schedule(chosen.steps, eval_points) if eval_sequences else [],
        # Independent of the probe's length, so a long probe's first k steps are a k-step probe.
        measure_at={k for k in range(1, chosen.steps + 1) if (k - 1) % measure_every == 0},
        full_steps=full_steps,
        full_tokens=full_tokens,
        n_params=n_params,
        eval_tokens=eval_tokens,
        pool_size=len(pool),
        eval_source=eval_source,
        notes=notes,
    )


def _fit_budget(
    chosen: costs.StepChoice,
    sequences: list[TrainSequence],
    per_step: int,
    per_token: float,
    eval_flops: float,
    budget: float,
    full_flops: float,
) -> costs.StepChoice:
    """Trim the budget-chosen length on the actual token counts (the estimate used a mean length)."""
    if chosen.steps <= costs.MIN_PROBE_STEPS:
        return chosen
    allowed = budget * full_flops
    tokens = np.array([s.length for s in sequences], dtype=float)
    per_step_tokens = tokens[: chosen.steps * per_step].reshape(chosen.steps, per_step).sum(axis=1)
    flops = np.cumsum(per_step_tokens) * per_token + eval_flops
    fits = int(np.searchsorted(flops, allowed, side="right"))
    steps = max(costs.MIN_PROBE_STEPS, min(chosen.steps, fits))
    if steps == chosen.steps:
        return chosen
    return costs.StepChoice(
        steps,
        chosen.budget_steps,
        f"{steps} steps = {budget:.1%} of the full run's FLOPs (on the sampled batches)",
    )


def _lora_params(model, recipe: Recipe) -> int:
    """Adapter parameters LoRA would add, counted on the model's linear layers (before attaching it)."""
    import torch

    targets = recipe.adapter.target_modules
    head = model.get_output_embeddings()
    total = 0
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or module is head:
            continue
        leaf = name.rsplit(".", 1)[-1]
        if targets == "all-linear" or leaf in targets:
            total += recipe.adapter.rank * (module.in_features + module.out_features)
    return total


def _check_vocab(tokenized, model) -> None:
    embed = model.get_input_embeddings()
    if embed is None or not tokenized:
        return
    top = max(int(t.input_ids.max()) for t in tokenized if t.length)
    if top >= embed.weight.shape[0]:
        raise ModelError(
            f"the tokenizer produces token id {top} but the model's embedding has "
            f"{embed.weight.shape[0]} rows",
            hint="the tokenizer does not belong to this model: set `tokenizer` in the recipe or use the "
            "model's own",
        )
