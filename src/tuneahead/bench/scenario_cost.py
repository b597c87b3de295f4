"""What a scenario's full run costs: steps, padded tokens and CPU seconds on this machine's 2 threads."""

from __future__ import annotations

from tuneahead.bench.scenario_model import RunCost, Scenario
from tuneahead.bench.scenario_params import REFERENCE_STEP_TOKENS, SECONDS_PER_REFERENCE_STEP


def _seq_tokens(max_len: int, p95: int, long_share: float) -> int:
    # Micro-batches pad to their longest row: with distractor contexts about, that is max_len.
    return max_len if long_share > 0.05 else min(max_len, p95)


def estimated_cost(scenario: Scenario) -> RunCost:
    """Training cost of the full run: steps x effective batch x padded sequence tokens, and CPU seconds.

    Seconds scale the measured time of one 16 x 64-token step on 2 threads by the tokens per step;
    LoRA is costed as full fine-tuning (the backward pass still runs through every layer).
    """
    recipe, plan = scenario.recipe, scenario.data
    seq = _seq_tokens(recipe.max_seq_length, plan.token_p95 or recipe.max_seq_length, plan.long_context_share)
    steps = recipe.total_steps(scenario.data.n_train_rows)
    eff = recipe.effective_batch_size
    tokens = steps * eff * seq
    seconds = SECONDS_PER_REFERENCE_STEP[scenario.model] * tokens / REFERENCE_STEP_TOKENS
    return RunCost(
        steps=steps, effective_batch=eff, seq_tokens=seq, train_tokens=tokens, seconds=round(seconds, 2)
    )
