"""Split-conformal prediction intervals and success probabilities from out-of-fold residuals.

Residuals r = y − ŷ come from models that did not train on the run (cross-fitting), so their spread
is what a new run will see. An interval at coverage 1−α takes the lower α/2 and upper α/2 conformal
quantiles of the signed residuals (asymmetric when errors are); P(y ≥ t) is the share of residuals at
least t − ŷ, with a +1/+2 correction so it never claims certainty from a finite sample.

Runs held out by group (task family) are not exchangeable one by one: each family has its own offset, and
a new family's offset is one more draw from a handful. Split conformal's guarantee then holds for families,
not runs, and the pooled residuals of K families under-cover a new one (issue 20: 6 synthetic families, a
90 % interval covered 80-86 % of held-out families' runs; 90.0 % on random folds of the same runs).
`new_group_residuals` widens the family offsets as a random-effects prediction for a new group does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuneahead.errors import InputError, Location


@dataclass(frozen=True)
class ResidualModel:
    residuals: np.ndarray  # sorted signed out-of-fold residuals y − ŷ

    @classmethod
    def from_residuals(cls, residuals: np.ndarray) -> ResidualModel:
        r = np.asarray(residuals, dtype=float)
        r = np.sort(r[np.isfinite(r)])
        if len(r) == 0:
            raise ValueError("no finite residuals to build intervals from")
        return cls(r)

    @property
    def n(self) -> int:
        return len(self.residuals)

    def quantiles(self, coverage: float) -> tuple[float, float]:
        """(q_lo, q_hi) so that [ŷ + q_lo, ŷ + q_hi] covers `coverage` of new runs (finite-sample corrected)."""
        if not 0.0 < coverage < 1.0:
            raise InputError(f"coverage must lie strictly between 0 and 1, got {coverage}", Location(field="coverage"))
        alpha = 1.0 - coverage
        n = self.n
        k_hi = math.ceil((n + 1) * (1 - alpha / 2))  # 1-based rank
        k_lo = math.floor((n + 1) * (alpha / 2))
        q_hi = self.residuals[k_hi - 1] if k_hi <= n else math.inf
        q_lo = self.residuals[k_lo - 1] if k_lo >= 1 else -math.inf
        return float(q_lo), float(q_hi)

    def interval(self, pred: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray]:
        q_lo, q_hi = self.quantiles(coverage)
        pred = np.asarray(pred, dtype=float)
        return pred + q_lo, pred + q_hi

    def p_at_least(self, pred: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        """P(y ≥ threshold) for runs predicted at `pred`."""
        d = np.asarray(threshold, float) - np.asarray(pred, float)
        count = self.n - np.searchsorted(self.residuals, d, side="left")
        return (count + 1.0) / (self.n + 2.0)

    def to_dict(self) -> dict[str, Any]:
        return {"residuals": [float(v) for v in self.residuals]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResidualModel:
        return cls.from_residuals(np.asarray(d["residuals"], dtype=float))


def new_group_residuals(residuals: np.ndarray, groups: np.ndarray | None, coverage: float) -> np.ndarray:
    """Residuals as a run of a *new* group would see them: each group's mean offset from the mean of the
    group means is stretched by sqrt(1 + 1/K) * t(K-1) / z at the interval's tail (K groups), what a
    random-effects predictive interval for a new group adds for an offset estimated from K groups; the
    spread within each group is kept as it is. Without groups (or with one) the residuals are returned."""
    r = np.asarray(residuals, dtype=float)
    if groups is None:
        return r
    from scipy import stats

    keys = np.asarray(groups).astype(str)
    finite = np.isfinite(r)
    names, index = np.unique(keys[finite], return_inverse=True)
    k = len(names)
    if k < 2:
        return r
    means = np.bincount(index, weights=r[finite]) / np.bincount(index)
    tail = 1.0 - (1.0 - coverage) / 2.0
    stretch = math.sqrt(1.0 + 1.0 / k) * float(stats.t.ppf(tail, k - 1) / stats.norm.ppf(tail))
    out = r.copy()
    out[finite] = r[finite] + (stretch - 1.0) * (means[index] - means.mean())
    return out


def cross_fitted_p(
    pred: np.ndarray, y: np.ndarray, threshold: np.ndarray, folds: np.ndarray, groups: np.ndarray | None = None,
    coverage: float = 0.9,
) -> np.ndarray:
    """P(success) for out-of-fold runs, each from the residuals of the *other* folds (no self-leakage); with
    `groups`, those residuals as a new group would see them (`new_group_residuals`)."""
    resid = y - pred
    out = np.full(len(pred), np.nan)
    for f in np.unique(folds):
        test = folds == f
        if (~test).sum() == 0:
            continue
        others = new_group_residuals(resid[~test], None if groups is None else groups[~test], coverage)
        out[test] = ResidualModel.from_residuals(others).p_at_least(pred[test], threshold[test])
    return out
