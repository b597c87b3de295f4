"""An L2-penalised logistic regression of success, with sign constraints: the predictor's linear P(success).

On a few hundred runs, held out by task family, a linear model of the standardised features ranks runs
better than boosted trees (TuneBench pilots v3 and v4: AUROC about 0.75 against 0.65-0.70), because a
new family moves every feature a little rather than crossing the trees' split points. The predictor
offers it as one more source of P(success) and its inner folds decide (see `Predictor._fit_probability`).

Sign constraints keep known directions: with the bar as an input, its coefficient is held at or below
zero, so a higher bar never raises P(success). scikit-learn's LogisticRegression has no bounds on
coefficients, so the penalised log loss is minimised with SciPy's L-BFGS-B, which has.

Missing values are imputed with the training median, and values are winsorised: clipped to the
training range and to `WINSOR_SD` standard deviations around the training mean, in fitting and in
predicting. A line fitted on runs whose gradient norms stayed below 100 says nothing about a run at 1e14
(a diverging probe), and a feature that is zero in all runs but two would otherwise swing P(success)
by itself whenever a new run has it (the predictor's out-of-distribution check reports such values).
On TuneBench pilot v4, leave-one-family-out AUROC was 0.783 without clipping and 0.784 with it
(Brier 0.175 and 0.176): the same ranking, with reasons no single rare value can take over.

All parameters are plain numbers and are saved as JSON (no pickle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

C_CANDIDATES: tuple[float, ...] = (0.03, 0.1, 0.3)  # inverse penalty strength, as scikit-learn's C
WINSOR_SD = 3.0  # inputs are clipped to the training mean +- this many standard deviations


@dataclass
class LinearClassifier:
    """P(success) = sigmoid(w . standardised(x) + b); `signs` maps column -> -1 / +1 (coefficient bound)."""

    C: float = 0.1
    signs: Mapping[int, int] = field(default_factory=dict)
    medians: np.ndarray | None = None
    lows: np.ndarray | None = None  # winsorising bounds per column (None: a model saved before clipping)
    highs: np.ndarray | None = None
    means: np.ndarray | None = None
    scales: np.ndarray | None = None
    coef: np.ndarray | None = None
    intercept: float = 0.0

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearClassifier:
        from scipy.optimize import minimize
        from scipy.special import expit

        finite = np.where(np.isfinite(X), X, np.nan)
        observed = ~np.all(np.isnan(finite), axis=0)
        self.medians = np.zeros(X.shape[1])  # a column never observed imputes to 0
        if observed.any():
            self.medians[observed] = np.nanmedian(finite[:, observed], axis=0)
        Z = self._fill(X)
        centre, spread = Z.mean(axis=0), Z.std(axis=0)
        self.lows = np.maximum(Z.min(axis=0), centre - WINSOR_SD * spread)
        self.highs = np.minimum(Z.max(axis=0), centre + WINSOR_SD * spread)
        Z = np.clip(Z, self.lows, self.highs)
        # Scaled by the spread before clipping, so no standardised input exceeds about WINSOR_SD (scaled by
        # the clipped spread, a feature nonzero in 2 runs of 300 would reach 12); centred after clipping,
        # so the contributions are exact SHAP values around the average training run.
        self.means = Z.mean(axis=0)
        self.scales = np.where(spread > 0, spread, 1.0)
        Z = (Z - self.means) / self.scales
        n, d = Z.shape
        lam = 1.0 / (self.C * n)  # scikit-learn's C per run

        def loss_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = Z @ w[:-1] + w[-1]
            p = expit(z)
            loss = float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * np.sum(w[:-1] ** 2))
            grad = np.append(Z.T @ (p - y) / n + lam * w[:-1], np.mean(p - y))
            return loss, grad

        bounds: list[tuple[float | None, float | None]] = [(None, None)] * (d + 1)
        for j, sign in self.signs.items():
            bounds[j] = (None, 0.0) if sign < 0 else (0.0, None)
        w = minimize(loss_and_grad, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
        self.coef, self.intercept = w[:-1], float(w[-1])
        return self

    def _fill(self, X: np.ndarray) -> np.ndarray:
        """Missing (and non-finite) values -> the training median."""
        assert self.medians is not None
        return np.where(np.isfinite(X), X, self.medians)

    def _impute(self, X: np.ndarray) -> np.ndarray:
        """`_fill`, then clipped to `lows`..`highs` (a model saved before clipping has none)."""
        Z = self._fill(X)
        return Z if self.lows is None or self.highs is None else np.clip(Z, self.lows, self.highs)

    def predict_p(self, X: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        if self.coef is None or self.means is None or self.scales is None:
            raise RuntimeError("LinearClassifier used before fit")
        return expit(((self._impute(X) - self.means) / self.scales) @ self.coef + self.intercept)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Exact SHAP values of the log-odds: w_j * standardised x_j, and the intercept (the log-odds at the
        training mean) as the last column. Each row sums to logit(predict_p)."""
        if self.coef is None or self.means is None or self.scales is None:
            raise RuntimeError("LinearClassifier used before fit")
        parts = (self._impute(X) - self.means) / self.scales * self.coef
        return np.column_stack([parts, np.full(len(X), self.intercept)])

    def to_dict(self) -> dict[str, Any]:
        assert self.coef is not None and self.medians is not None and self.means is not None
        assert self.scales is not None
        return {
            "C": self.C,
            "signs": {str(j): s for j, s in self.signs.items()},
            "medians": self.medians.tolist(),
            "lows": None if self.lows is None else self.lows.tolist(),
            "highs": None if self.highs is None else self.highs.tolist(),
            "means": self.means.tolist(),
            "scales": self.scales.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LinearClassifier:
        """Raises ValueError unless every vector has one entry per input and the coefficients are finite."""
        coef = np.asarray(d["coef"], dtype=float)
        vectors = {name: np.asarray(d[name], dtype=float) for name in ("medians", "means", "scales")}
        bounds = {name: None if d.get(name) is None else np.asarray(d[name], dtype=float) for name in ("lows", "highs")}
        n = len(coef)
        for name, v in {"coef": coef, **vectors, **{k: b for k, b in bounds.items() if b is not None}}.items():
            if v.ndim != 1 or len(v) != n:
                raise ValueError(f"linear model: {name} has {v.size} entries for {n} inputs")
        if n == 0 or not np.isfinite(coef).all():
            raise ValueError("linear model: the coefficients must be finite numbers")
        signs = {int(j): int(s) for j, s in d.get("signs", {}).items()}
        if any(not 0 <= j < n for j in signs):
            raise ValueError("linear model: a sign bound names an input it does not have")
        return cls(C=float(d["C"]), signs=signs, medians=vectors["medians"], lows=bounds["lows"],
                   highs=bounds["highs"], means=vectors["means"], scales=vectors["scales"], coef=coef,
                   intercept=float(d["intercept"]))


def cross_fit_linear(
    X: np.ndarray, y: np.ndarray, folds: np.ndarray, signs: Mapping[int, int], cs: Sequence[float] = C_CANDIDATES
) -> tuple[np.ndarray, float, list[dict[str, float]]]:
    """Out-of-fold P for each penalty in `cs`; keeps the one with the lowest out-of-fold log loss.

    Returns (out-of-fold P, chosen C, per-candidate report). Only the caller's (inner) folds are used.
    """
    from tuneahead.predict.lgbm import oof_loss

    best: tuple[float, np.ndarray, float] | None = None
    report = []
    for c in cs:
        oof = np.full(len(y), np.nan)
        for f in np.unique(folds):
            train, test = folds != f, folds == f
            if len(np.unique(y[train])) < 2:  # a fold without both outcomes: predict the training rate
                oof[test] = float(np.mean(y[train]))
                continue
            oof[test] = LinearClassifier(c, signs).fit(X[train], y[train]).predict_p(X[test])
        loss = oof_loss(y, oof, "binary")
        report.append({"C": c, "oof_loss": loss})
        if best is None or loss < best[0]:
            best = (loss, oof, c)
    assert best is not None
    return best[1], best[2], report
