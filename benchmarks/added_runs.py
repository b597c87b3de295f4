"""Why does adding runs to a corpus move its held-out AUROC? A harder slice, or worse training?

    python benchmarks/added_runs.py --base bench/pooled/runs.parquet --added NEW.parquet [--seeds 3]

Held out by task family (5 folds, the `evaluate` protocol, the same family folds for both), the predictor
is cross-fitted twice: on the base corpus alone, and on the base with the added runs (only the added runs
of families the base has). Each run's out-of-fold P(success) is scored at its own bar:

- base runs, base training vs base runs, pooled training: did the added runs make the predictor worse
  on the runs it already judged (they would then be inconsistent with the base: drift)?
- added runs vs base runs, both in the pool: are the added runs simply harder to judge (a harder slice)?

Also prints the families and the success share of each part, since a shift there moves AUROC by itself.
AUROC within the same folds is paired, so its difference is bootstrapped over runs (95 % interval).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tuneahead.baselines.ours import tuneahead_methods
from tuneahead.evaluate.harness import cross_predict
from tuneahead.evaluate.metrics import auroc
from tuneahead.predict.splits import group_folds
from tuneahead.store.table import Task


def family_folds(base: pd.DataFrame, seed: int) -> dict[str, int]:
    """The base corpus's fold of each family; the pool reuses it, so that both fits hold out the same
    families together and differ only in the added training runs (fold assignment alone moves AUROC)."""
    folds = group_folds(len(base), base["family"].to_numpy(), 5, seed)
    return dict(zip(base["family"], folds.tolist()))


def out_of_fold(table: pd.DataFrame, folds_of: list[dict[str, int]]) -> np.ndarray:
    """Mean over seeds of each run's P(success) when its family was held out."""
    task = Task(group_col="family").resolve(table)
    method = tuneahead_methods()[0]
    p = [cross_predict(method, table, task, table["family"].map(fold_of).to_numpy(), seed, 1.0).p_success
         for seed, fold_of in enumerate(folds_of)]
    return np.mean(p, axis=0)


def paired_difference(p_a: np.ndarray, p_b: np.ndarray, y: np.ndarray, n_boot: int = 1000) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        if len(set(y[i])) == 2:
            diffs.append(auroc(p_b[i], y[i]) - auroc(p_a[i], y[i]))
    return float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, type=Path)
    parser.add_argument("--added", required=True, type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    base = pd.read_parquet(args.base)
    added = pd.read_parquet(args.added)
    added = added[~added["run_id"].isin(base["run_id"]) & added["family"].isin(set(base["family"]))]
    pool = pd.concat([base, added], ignore_index=True)
    is_added = np.r_[np.zeros(len(base), bool), np.ones(len(added), bool)]
    success = (pool["final_metric"] >= pool["target"]).to_numpy()

    print(f"base {len(base)} runs, success {success[~is_added].mean():.1%}; "
          f"added {len(added)} runs, success {success[is_added].mean():.1%}")
    shares = pd.DataFrame({"base": base["family"].value_counts(normalize=True),
                           "added": added["family"].value_counts(normalize=True)}).fillna(0).round(3)
    print(shares.sort_values("added", ascending=False).to_string())
    folds_of = [family_folds(base, seed) for seed in range(args.seeds)]
    p_base = out_of_fold(base.reset_index(drop=True), folds_of)
    p_pool = out_of_fold(pool, folds_of)
    y_base, y_added = success[~is_added], success[is_added]
    print(f"held out by family, mean of {args.seeds} seeds:")
    print(f"  base runs, trained on base:            AUROC {auroc(p_base, y_base):.3f}")
    print(f"  base runs, trained on base + added:    AUROC {auroc(p_pool[~is_added], y_base):.3f}  "
          f"(difference 95 % CI {paired_difference(p_base, p_pool[~is_added], y_base)})")
    print(f"  added runs, trained on base + added:   AUROC {auroc(p_pool[is_added], y_added):.3f}")
    print(f"  all runs, trained on base + added:     AUROC {auroc(p_pool, success):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
