"""Cost model: FLOPs formulas, accelerator table, money, and the probe-length budget."""

from __future__ import annotations

import pytest

from tuneahead.probe.cost import (
    MAX_PROBE_STEPS,
    MIN_PROBE_STEPS,
    accelerator,
    choose_probe_steps,
    estimate_cost,
    flops_per_train_token,
)


def test_flops_per_token_full_and_lora():
    assert flops_per_train_token(1_000, 1_000, full=True) == 6_000
    assert flops_per_train_token(1_000, 10, full=False) == 4_000 + 60


def test_accelerator_table_and_aliases():
    assert accelerator("h100").peak_flops == pytest.approx(989e12)
    assert accelerator("RTX 4090").name == "RTX4090"
    assert accelerator("4090").name == "RTX4090"
    for name in ("H200", "A100", "L4", "A10G", "CPU"):
        assert accelerator(name).peak_flops > 0
    with pytest.raises(ValueError, match="known: H100"):
        accelerator("TPU")


def test_estimate_cost_hours_and_money():
    est = estimate_cost(
        n_params=100_000_000,
        n_trainable=100_000_000,
        full=True,
        full_tokens=1e9,
        full_steps=1000,
        probe_train_tokens=1_000_000,
        probe_eval_tokens=0,
        probe_train_seconds=100.0,
        probe_seconds=110.0,
        accelerator_name="A100",
        mfu=0.5,
        num_devices=4,
        usd_per_gpu_hour=2.0,
    )
    full_flops = 6e8 * 1e9
    assert est.full_flops == pytest.approx(full_flops)
    assert est.full_gpu_hours == pytest.approx(full_flops / (312e12 * 0.5) / 3600)
    assert est.full_wall_hours == pytest.approx(est.full_gpu_hours / 4)
    assert est.full_usd == pytest.approx(est.full_gpu_hours * 2.0)
    assert est.probe_share == pytest.approx(1e-3)
    assert est.local_flops_per_second == pytest.approx(6e8 * 1e6 / 100)
    assert est.full_seconds_local == pytest.approx(1e9 / 1e6 * 100)  # same per-token speed as the probe


def test_default_mfu_and_validation():
    kw = dict(
        n_params=10,
        n_trainable=1,
        full=False,
        full_tokens=10,
        full_steps=1,
        probe_train_tokens=1,
        probe_eval_tokens=1,
        probe_train_seconds=1.0,
        probe_seconds=1.0,
    )
    assert estimate_cost(**kw).mfu == accelerator("H100").default_mfu
    assert estimate_cost(**kw).full_usd is None
    with pytest.raises(ValueError):
        estimate_cost(**kw, mfu=1.5)


def test_choose_steps_within_budget():
    choice = choose_probe_steps(
        budget=0.02, full_flops=1e6, flops_per_step=100, eval_flops=1000, full_steps=10_000
    )
    assert choice.steps == 190  # (20,000 - 1,000) / 100
    assert choice.steps * 100 + 1000 <= 0.02 * 1e6


def test_choose_steps_floor_cap_and_short_runs():
    floor = choose_probe_steps(budget=0.02, full_flops=5e4, flops_per_step=100, eval_flops=0, full_steps=1000)
    assert floor.steps == MIN_PROBE_STEPS and "minimum" in floor.reason
    cap = choose_probe_steps(budget=0.02, full_flops=1e9, flops_per_step=100, eval_flops=0, full_steps=10**6)
    assert cap.steps == MAX_PROBE_STEPS and cap.budget_steps > MAX_PROBE_STEPS
    short = choose_probe_steps(budget=0.02, full_flops=1e5, flops_per_step=100, eval_flops=0, full_steps=8)
    assert short.steps == 8
    with pytest.raises(ValueError):
        choose_probe_steps(budget=0, full_flops=1, flops_per_step=1, eval_flops=0, full_steps=1)
