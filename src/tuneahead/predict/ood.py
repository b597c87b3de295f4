"""Out-of-distribution check: is a run's feature vector like the runs the predictor learned from?

Trees extrapolate flat: outside the training range a forecast silently repeats the edge of what it
saw. So we keep, per feature, the training range and missing share, and flag a run that leaves the
range (beyond a small tolerance) or lacks a feature that was never missing in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# A value this share of the training range beyond the min/max counts as outside.
RANGE_TOLERANCE = 0.05


@dataclass(frozen=True)
class FeatureSummary:
    min: float
    max: float
    q01: float
    q50: float
    q99: float
    missing_share: float
    q50_success: float = np.nan  # the median among training runs that reached their target (for reasons)

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TrainingSummary:
    n_runs: int
    features: dict[str, FeatureSummary]
    threshold_range: tuple[float, float] | None = None

    @classmethod
    def from_matrix(
        cls, X: np.ndarray, names: Sequence[str], thresholds: np.ndarray | None = None,
        success: np.ndarray | None = None,
    ) -> TrainingSummary:
        """`thresholds`: the bars the success model knows; `success`: which runs reached their target."""
        feats: dict[str, FeatureSummary] = {}
        for j, name in enumerate(names):
            col = X[:, j]
            ok = col[np.isfinite(col)]
            miss = float(1 - len(ok) / max(len(col), 1))
            if len(ok) == 0:
                feats[name] = FeatureSummary(np.nan, np.nan, np.nan, np.nan, np.nan, miss)
                continue
            q01, q50, q99 = np.quantile(ok, [0.01, 0.5, 0.99])
            won = col[np.isfinite(col) & success] if success is not None else np.array([])
            q50_success = float(np.median(won)) if len(won) else np.nan
            feats[name] = FeatureSummary(float(ok.min()), float(ok.max()), float(q01), float(q50), float(q99), miss,
                                         q50_success)
        tr = None
        if thresholds is not None and np.isfinite(thresholds).any():
            t = thresholds[np.isfinite(thresholds)]
            tr = (float(t.min()), float(t.max()))
        return cls(len(X), feats, tr)

    def check(self, names: Sequence[str], row: np.ndarray, threshold: float | None = None) -> list[str]:
        """Plain-language reasons why this run lies outside the training data (empty when it does not)."""
        reasons: list[str] = []
        for name, v in zip(names, row, strict=True):
            s = self.features.get(name)
            if s is None:
                continue
            if not np.isfinite(v):
                if s.missing_share == 0.0:
                    reasons.append(f"{name} is missing, but it was present in every training run")
                continue
            if not np.isfinite(s.min):
                reasons.append(f"{name} = {_fmt(v)}, but it was missing in every training run")
                continue
            tol = RANGE_TOLERANCE * (s.max - s.min)
            if v < s.min - tol:
                reasons.append(f"{name} = {_fmt(v)} is below anything seen in training (min {_fmt(s.min)})")
            elif v > s.max + tol:
                reasons.append(f"{name} = {_fmt(v)} is above anything seen in training (max {_fmt(s.max)})")
        if threshold is not None and np.isfinite(threshold) and self.threshold_range is not None:
            lo, hi = self.threshold_range
            tol = RANGE_TOLERANCE * (hi - lo)
            if threshold < lo - tol or threshold > hi + tol:
                reasons.append(
                    f"target threshold {_fmt(threshold)} is outside the thresholds seen in training "
                    f"({_fmt(lo)}–{_fmt(hi)})"
                )
        return reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_runs": self.n_runs,
            "features": {k: v.to_dict() for k, v in self.features.items()},
            "threshold_range": list(self.threshold_range) if self.threshold_range else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingSummary:
        feats = {
            k: FeatureSummary(**{f: (np.nan if x is None else float(x)) for f, x in v.items()})
            for k, v in d["features"].items()
        }
        tr = d.get("threshold_range")
        return cls(int(d["n_runs"]), feats, (float(tr[0]), float(tr[1])) if tr else None)


def _fmt(v: float) -> str:
    return f"{v:.4g}"
