"""A synthetic run table with a known answer, for tests, benchmarks and demos.

Nothing here pretends to be real fine-tuning. The final metric is a *known* function of a few feature
columns (`true_metric`) plus a small per-family offset and Gaussian noise, so a test can check that a
predictor recovers it. Learning curves follow known parametric families (a saturating exponential
for the eval metric, a power law for the losses), so the early-stop baselines have something
honest to extrapolate. A hidden knob (`truth_label_noise`) drives one probe feature, like a real
corpus generator's ground truth, and is kept out of the features by the `truth_` prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: Columns the synthetic target depends on; the others are distractors.
INFORMATIVE = ("data_n_examples_log10", "data_trunc_share", "recipe_lr_log10", "probe_loss_drop")


def true_metric(
    data_n_examples_log10: np.ndarray,
    data_trunc_share: np.ndarray,
    recipe_lr_log10: np.ndarray,
    probe_loss_drop: np.ndarray,
) -> np.ndarray:
    """The noiseless final metric: more data helps, truncation hurts, lr has a sweet spot at 1e-4."""
    return (
        0.45
        + 0.10 * (data_n_examples_log10 - 3.25)
        - 0.40 * data_trunc_share
        - 0.10 * (recipe_lr_log10 + 4.0) ** 2
        + 0.25 * probe_loss_drop
    )


def make_synthetic_runs(
    n_runs: int = 400,
    *,
    n_families: int = 6,
    noise: float = 0.02,
    family_sd: float = 0.02,
    missing_probe_share: float = 0.0,
    curve_points: int = 50,
    with_curves: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per run in the run-table convention of `tuneahead.store.table`."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    fam_idx = rng.integers(0, n_families, n_runs)
    fam_offset = rng.normal(0.0, family_sd, n_families)
    fam_target = 0.35 + 0.05 * (np.arange(n_families) % 3)
    model_size = rng.choice([1.0, 4.0, 16.0], n_runs)  # millions of parameters

    n_log = rng.uniform(2.0, 4.5, n_runs)
    trunc = rng.beta(1.2, 4.0, n_runs)
    dup = rng.beta(1.0, 8.0, n_runs)
    lr = rng.uniform(-5.5, -2.5, n_runs)
    epochs = rng.integers(1, 6, n_runs).astype(float)
    rank = rng.choice([4.0, 8.0, 16.0, 64.0], n_runs)
    label_noise = rng.uniform(0.0, 0.35, n_runs)  # hidden knob
    loss_drop = np.clip(0.9 - 2.0 * label_noise + rng.normal(0.0, 0.08, n_runs), 0.0, 1.0)
    grad_norm = np.exp(lr + 4.0 + rng.normal(0.0, 0.3, n_runs))

    final = true_metric(n_log, trunc, lr, loss_drop) + fam_offset[fam_idx] + rng.normal(0.0, noise, n_runs)
    final = np.clip(final, 0.0, 1.0)

    probe_missing = rng.random(n_runs) < missing_probe_share
    loss_drop_obs = np.where(probe_missing, np.nan, loss_drop)
    grad_norm_obs = np.where(probe_missing, np.nan, grad_norm)

    tokens = 10**n_log * epochs * 256.0
    cost_full = 6.0 * model_size * 1e6 * tokens
    cost_probe = cost_full * rng.uniform(0.01, 0.02, n_runs)
    cost_proxy = cost_full * 0.25

    table = pd.DataFrame(
        {
            "run_id": [f"run{i:05d}" for i in range(n_runs)],
            "family": [f"fam{k}" for k in fam_idx],
            "model_size": model_size,
            "data_n_examples_log10": n_log,
            "data_trunc_share": trunc,
            "data_dup_share": dup,
            "recipe_lr_log10": lr,
            "recipe_epochs": epochs,
            "recipe_lora_rank": rank,
            "probe_loss_drop": loss_drop_obs,
            "probe_grad_norm": grad_norm_obs,
            "truth_label_noise": label_noise,
            "final_metric": final,
            "target": fam_target[fam_idx],
            "cost_full": cost_full,
            "cost_probe": cost_probe,
            "cost_proxy": cost_proxy,
            "proxy_metric": np.clip(0.8 * final + rng.normal(0.0, 0.04, n_runs), 0.0, 1.0),
            "proxy_zero_shot_metric": np.clip(0.05 + 0.1 * final + rng.normal(0.0, 0.03, n_runs), 0.0, 1.0),
        }
    )
    if with_curves:
        _add_curves(table, epochs * 10**n_log / 16.0, final, rng, curve_points)
    return table


def _add_curves(
    table: pd.DataFrame, total_steps: np.ndarray, final: np.ndarray, rng: np.random.Generator, points: int
) -> None:
    steps_col, metric_col, eval_loss_col, train_loss_col = [], [], [], []
    for total, m_final in zip(total_steps, final, strict=True):
        total = max(int(total), points)
        steps = np.unique(np.linspace(total / points, total, points).astype(int))
        x = steps / total
        b = rng.uniform(2.0, 6.0)
        m0 = 0.05
        m_end = m_final + rng.normal(0.0, 0.01)  # the eval set is not the hidden test set
        metric = m0 + (m_end - m0) * (1 - np.exp(-b * x)) / (1 - np.exp(-b)) + rng.normal(0.0, 0.005, len(x))
        # Losses: power laws whose floor tracks the final score.
        floor = 0.3 + 1.5 * (1.0 - m_final)
        alpha = rng.uniform(0.3, 0.8)
        eval_loss = floor + 0.8 * (x + 0.02) ** (-alpha) * 0.1 + rng.normal(0.0, 0.01, len(x))
        train_loss = floor - 0.1 + 0.8 * (x + 0.02) ** (-alpha) * 0.1 + rng.normal(0.0, 0.03, len(x))
        steps_col.append(steps.astype(float).tolist())
        metric_col.append(np.clip(metric, 0.0, 1.0).tolist())
        eval_loss_col.append(eval_loss.tolist())
        train_loss_col.append(train_loss.tolist())
    table["curve_steps"] = steps_col
    table["curve_eval_metric"] = metric_col
    table["curve_eval_loss"] = eval_loss_col
    table["curve_train_loss"] = train_loss_col
