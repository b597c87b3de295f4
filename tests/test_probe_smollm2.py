"""The probe on the real SmolLM2-135M-Instruct: LoRA r=8, 20 steps at 4 × 128 tokens (slow: minutes)."""

from __future__ import annotations

import math
import time
from importlib import resources
from pathlib import Path

import pytest

# Loading converts the GGUF once (~30 s); each LoRA step takes ~4 s on 2 quiet cores.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_smollm2_lora_probe_completes():
    pytest.importorskip("torch")
    from tuneahead.data.load import load_examples
    from tuneahead.errors import ModelError
    from tuneahead.models.zoo import smollm2_gguf_path
    from tuneahead.probe.engine import run_probe
    from tuneahead.recipe.model import AdapterConfig, Recipe

    try:
        smollm2_gguf_path()
    except ModelError as exc:
        pytest.skip(str(exc))
    folder = Path(str(resources.files("tuneahead") / "assets" / "examples"))
    train, _ = load_examples(folder / "example_train.jsonl")
    evals, _ = load_examples(folder / "example_eval.jsonl")
    recipe = Recipe(
        base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
        adapter=AdapterConfig(
            type="lora", rank=8, alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]
        ),
        learning_rate=2e-4,
        lr_scheduler="cosine",
        warmup_ratio=0.03,
        micro_batch_size=4,
        gradient_accumulation_steps=1,
        max_seq_length=128,
        seed=0,
    )
    started = time.perf_counter()
    result = run_probe(recipe, train, evals, steps=20, eval_size=16)
    print(
        f"smollm2 LoRA probe: {time.perf_counter() - started:.1f} s, load {result.load_seconds:.1f} s, "
        f"{result.features['probe_seconds_per_step']:.2f} s/step"
    )
    assert result.steps_done == 20 and not result.diverged and not result.interrupted
    assert result.setup.model == "smollm2-135m"
    f = result.features
    # The raw one-word answers are far from what the instruct model says unprompted (the initial loss
    # is high); 20 LoRA steps at 2e-4 must learn the format and lower the held-out loss clearly.
    assert math.isfinite(f["probe_initial_loss"]) and f["probe_initial_loss"] > 0
    assert f["probe_eval_loss_end"] < 0.8 * f["probe_eval_loss_start"]
    assert f["probe_eval_token_accuracy_gain"] > 0
    assert all(
        math.isfinite(f[k]) for k in ("probe_grad_norm_mean", "probe_update_ratio", "probe_grad_cosine")
    )
    trainable = result.cost.trainable_params
    assert trainable == 30 * 4 * 8 * (576 + 576) - 30 * 2 * 8 * (576 - 192)  # k/v project to 3 KV heads of 64
