"""Group-aware fold assignment: runs of one group (task family, model size, …) never straddle folds."""

from __future__ import annotations

import numpy as np


def group_folds(n_rows: int, groups: np.ndarray | None, n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold id (0..k−1) per row.

    With groups: leave-one-group-out when there are at most `n_folds` groups, otherwise groups are
    shuffled by `seed` and packed largest-first into the currently smallest fold, so folds are balanced
    in runs. Without groups (or with a single one): a seeded random k-fold over rows.
    """
    if n_folds < 2:
        raise ValueError("need at least 2 folds")
    rng = np.random.default_rng(seed)
    if groups is not None:
        keys = np.asarray([str(g) for g in groups], dtype=object)
        uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        if len(uniq) >= 2:
            if len(uniq) <= n_folds:
                # Leave-one-group-out; the seed only permutes fold labels.
                return rng.permutation(len(uniq))[inverse]
            order = rng.permutation(len(uniq))
            order = order[np.argsort(-counts[order], kind="stable")]  # largest first, random among ties
            sizes = np.zeros(n_folds, dtype=int)
            fold_of_group = np.empty(len(uniq), dtype=int)
            for g in order:
                f = int(np.argmin(sizes))
                fold_of_group[g] = f
                sizes[f] += counts[g]
            return fold_of_group[inverse]
    k = min(n_folds, n_rows)
    return rng.permutation(np.arange(n_rows) % k)
