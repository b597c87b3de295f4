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
from dataclasses import dataclass, field, replace
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

    def fit(self, X: np.ndarray, y: np.ndarray, repeats: np.ndarray | None = None) -> LinearClassifier:
        """Fit on rows X with outcomes y. `repeats` (optional, one id per row) says which rows are copies of
        one another in every column but the last (the predictor's runs stacked at several bars): the same
        fit, with each optimiser step costing one pass over the distinct rows instead of all."""
        self._solve(_Design(self._standardise(X), repeats), y)
        return self

    @classmethod
    def fit_penalties(
        cls, X: np.ndarray, y: np.ndarray, cs: Sequence[float], signs: Mapping[int, int],
        repeats: np.ndarray | None = None,
    ) -> list[LinearClassifier]:
        """One model per penalty in `cs`, each equal to `cls(c, signs).fit(X, y, repeats)`; the inputs are
        imputed, clipped and standardised once for all of them."""
        first = cls(cs[0], signs)
        design = _Design(first._standardise(X), repeats)
        models = [replace(first, C=c) for c in cs]
        for model in models:
            model._solve(design, y)
        return models

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        """Learn the imputation, clipping and scaling from X; return X imputed, clipped and standardised."""
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
        return (Z - self.means) / self.scales

    def _solve(self, design: _Design, y: np.ndarray) -> None:
        """Minimise the penalised log loss over the standardised inputs, within the sign bounds."""
        from scipy.optimize import minimize
        from scipy.special import expit

        n, d = design.shape
        lam = 1.0 / (self.C * n)  # scikit-learn's C per run

        def loss_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = design.matvec(w[:-1]) + w[-1]
            p = expit(z)
            loss = float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * np.sum(w[:-1] ** 2))
            grad = np.append(design.rmatvec(p - y) / n + lam * w[:-1], np.mean(p - y))
            return loss, grad

        bounds: list[tuple[float | None, float | None]] = [(None, None)] * (d + 1)
        for j, sign in self.signs.items():
            bounds[j] = (None, 0.0) if sign < 0 else (0.0, None)
        w = minimize(loss_and_grad, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
        self.coef, self.intercept = w[:-1], float(w[-1])

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


class _Design:
    """The standardised design matrix Z as the optimiser reads it: Z @ w and Z.T @ r.

    With `repeats`, rows sharing an id are equal in every column but the last, so Z = [B[ids], last column]
    with B the distinct rows: both products then take one pass over B (11 times fewer rows for runs
    stacked at 11 bars) and one over the last column."""

    def __init__(self, Z: np.ndarray, repeats: np.ndarray | None) -> None:
        self.Z = Z
        self.shape = Z.shape
        self.base: np.ndarray | None = None
        if repeats is not None and Z.shape[1] > 1:
            ids, first, self.ids = np.unique(repeats, return_index=True, return_inverse=True)
            base = Z[first, :-1]
            if not np.array_equal(base[self.ids], Z[:, :-1]):
                raise ValueError("rows said to repeat one another differ outside the last column")
            self.base, self.last, self.n_base = base, Z[:, -1], len(ids)

    def matvec(self, w: np.ndarray) -> np.ndarray:
        if self.base is None:
            return self.Z @ w
        return (self.base @ w[:-1])[self.ids] + self.last * w[-1]

    def rmatvec(self, r: np.ndarray) -> np.ndarray:
        if self.base is None:
            return self.Z.T @ r
        summed = np.bincount(self.ids, weights=r, minlength=self.n_base)
        return np.append(self.base.T @ summed, self.last @ r)


def cross_fit_linear(
    X: np.ndarray, y: np.ndarray, folds: np.ndarray, signs: Mapping[int, int], cs: Sequence[float] = C_CANDIDATES,
    repeats: np.ndarray | None = None,
) -> tuple[np.ndarray, float, list[dict[str, float]]]:
    """Out-of-fold P for each penalty in `cs`; keeps the one with the lowest out-of-fold log loss.

    Returns (out-of-fold P, chosen C, per-candidate report). Only the caller's (inner) folds are used.
    `repeats` as in `LinearClassifier.fit`.
    """
    from tuneahead.predict.lgbm import oof_loss

    oofs = {c: np.full(len(y), np.nan) for c in cs}
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        if len(np.unique(y[train])) < 2:  # a fold without both outcomes: predict the training rate
            for oof in oofs.values():
                oof[test] = float(np.mean(y[train]))
            continue
        ids = None if repeats is None else repeats[train]
        for c, model in zip(cs, LinearClassifier.fit_penalties(X[train], y[train], cs, signs, ids)):
            oofs[c][test] = model.predict_p(X[test])
    best: tuple[float, np.ndarray, float] | None = None
    report = []
    for c, oof in oofs.items():
        loss = oof_loss(y, oof, "binary")
        report.append({"C": c, "oof_loss": loss})
        if best is None or loss < best[0]:
            best = (loss, oof, c)
    assert best is not None
    return best[1], best[2], report
