"""Parametric learning-curve families and their extrapolation (after Domhan et al., 2015).

x is training progress in percent of the run (0 < x ≤ 100); a curve observed up to x = k is
projected to x = 100. Every family here is linear in two parameters once its one or two shape
parameters are fixed (y = A + B·g(x; θ), or y = A·g(x; θ) for log-power). So each family is fitted by
*variable projection*: for every θ on a dense grid the linear parameters have a closed-form least-
squares solution, and the θ with the smallest squared error wins. That is a global least-squares fit
(no local optimum, no failed convergence) and fast enough for thousands of runs.

The ensemble weights families by their error on the last quarter of the observed prefix (fitted on
the rest), then refits each on the whole prefix. Families whose projection is absurd get no weight;
when none survive, the mean of the last observed points answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CurveFamily:
    """y = A + B·g(x; θ) (or A·g when `intercept` is False) with θ searched on `grid`."""

    name: str
    formula: str
    basis: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (x[n], θ[m, d]) -> g[m, n]
    grid: np.ndarray  # candidate θ, shape (m, d)
    intercept: bool = True

    @property
    def n_params(self) -> int:
        return self.grid.shape[1] + (2 if self.intercept else 1)


def _grid2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([(u, v) for u in a for v in b])


def _col(v: np.ndarray) -> np.ndarray:
    return v.reshape(-1, 1)


def _safe(fn: Callable[[], np.ndarray]) -> np.ndarray:
    with np.errstate(all="ignore"):
        return fn()


_SHAPES = np.linspace(0.1, 4.0, 25)
FAMILIES: tuple[CurveFamily, ...] = (
    CurveFamily(
        "pow3", "c − a·x^(−α)",
        lambda x, t: _safe(lambda: x[None, :] ** (-t[:, :1])),
        _col(np.geomspace(0.01, 3.0, 200)),
    ),
    CurveFamily(
        "exp3", "c − a·exp(−b·x)",
        lambda x, t: _safe(lambda: np.exp(-t[:, :1] * x[None, :])),
        _col(np.geomspace(1e-4, 5.0, 200)),
    ),
    CurveFamily(
        "log_power", "a / (1 + (x / e^b)^c)",
        lambda x, t: _safe(lambda: 1.0 / (1.0 + (x[None, :] / np.exp(t[:, :1])) ** t[:, 1:2])),
        _grid2(np.linspace(-3.0, 8.0, 34), np.concatenate([np.linspace(-4.0, -0.1, 14), np.linspace(0.1, 4.0, 14)])),
        intercept=False,
    ),
    CurveFamily(
        "janoschek", "α − (α − β)·exp(−κ·x^δ)",
        lambda x, t: _safe(lambda: np.exp(-t[:, :1] * x[None, :] ** t[:, 1:2])),
        _grid2(np.geomspace(1e-6, 10.0, 36), _SHAPES),
    ),
    CurveFamily(
        "weibull", "α − (α − β)·exp(−(κ·x)^δ)",
        lambda x, t: _safe(lambda: np.exp(-((t[:, :1] * x[None, :]) ** t[:, 1:2]))),
        _grid2(np.geomspace(1e-4, 10.0, 30), _SHAPES),
    ),
    CurveFamily(
        "mmf", "α − (α − β) / (1 + (κ·x)^δ)",
        lambda x, t: _safe(lambda: 1.0 / (1.0 + (t[:, :1] * x[None, :]) ** t[:, 1:2])),
        _grid2(np.geomspace(1e-4, 10.0, 30), _SHAPES),
    ),
    CurveFamily(
        "ilog2", "c − a / log(x + 1)",
        lambda x, t: _safe(lambda: np.broadcast_to(1.0 / np.log(x[None, :] + 1.0), (len(t), len(x))).copy()),
        np.zeros((1, 1)),
    ),
)
FAMILY_NAMES: tuple[str, ...] = tuple(f.name for f in FAMILIES)


@dataclass(frozen=True)
class CurveFit:
    family: CurveFamily
    theta: np.ndarray
    a: float  # intercept (0 without one)
    b: float  # slope on the basis
    sse: float

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        xx = np.atleast_1d(np.asarray(x, dtype=float))
        g = self.family.basis(xx, self.theta[None, :])[0]
        return self.a + self.b * g


def _solve(family: CurveFamily, x: np.ndarray, y: np.ndarray, thetas: np.ndarray) -> tuple[np.ndarray, ...]:
    """Closed-form linear parameters and squared error for every θ in `thetas`."""
    g = family.basis(x, thetas)  # (m, n)
    with np.errstate(all="ignore"):
        if family.intercept:
            gm = g.mean(axis=1, keepdims=True)
            gc = g - gm
            var = (gc**2).sum(axis=1)
            b = (gc * (y - y.mean())[None, :]).sum(axis=1) / var
            a = y.mean() - b * gm[:, 0]
        else:
            var = (g**2).sum(axis=1)
            b = (g * y[None, :]).sum(axis=1) / var
            a = np.zeros_like(b)
        sse = ((y[None, :] - (a[:, None] + b[:, None] * g)) ** 2).sum(axis=1)
    ok = (var > 1e-18 * len(x)) & np.isfinite(sse) & np.isfinite(a) & np.isfinite(b) & np.all(np.isfinite(g), axis=1)
    return a, b, np.where(ok, sse, np.inf)


def _refine(family: CurveFamily, x: np.ndarray, y: np.ndarray, theta: np.ndarray, rounds: int = 4) -> np.ndarray:
    """Zoom in around the best grid point: a finer local grid per round (log scale for decade-spanning θ)."""
    lo, hi = family.grid.min(axis=0), family.grid.max(axis=0)
    log = (lo > 0) & (hi > 100 * np.where(lo > 0, lo, np.inf))

    def to(t: np.ndarray) -> np.ndarray:
        return np.where(log, np.log(np.maximum(t, 1e-300)), t)

    def back(u: np.ndarray) -> np.ndarray:
        return np.where(log, np.exp(u), u)

    steps = np.zeros(family.grid.shape[1])
    for d in range(len(steps)):
        values = np.unique(to(family.grid)[:, d])
        steps[d] = float(np.median(np.diff(values))) if len(values) > 1 else 0.0
    best = theta
    for _ in range(rounds):
        center = to(best)
        axes = [np.linspace(c - s, c + s, 7) if s > 0 else np.array([c]) for c, s in zip(center, steps, strict=True)]
        local = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(best))
        local = np.clip(back(local), lo, hi)
        _, _, sse = _solve(family, x, y, local)
        best = local[int(np.argmin(sse))]
        steps = steps / 3.0
    return best


def fit_family(family: CurveFamily, x: np.ndarray, y: np.ndarray) -> CurveFit | None:
    """Least-squares fit: θ grid search, then local zooming; linear parameters in closed form."""
    if len(x) < family.n_params:
        return None
    a, b, sse = _solve(family, x, y, family.grid)
    if not np.isfinite(sse).any():
        return None
    theta = family.grid[int(np.argmin(sse))]
    if family.grid.shape[0] > 1:
        theta = _refine(family, x, y, theta)
    a, b, sse = _solve(family, x, y, theta[None, :])
    if not np.isfinite(sse[0]):
        return None
    return CurveFit(family, theta, float(a[0]), float(b[0]), float(sse[0]))


@dataclass(frozen=True)
class Extrapolation:
    value: float  # projected value at x_end
    weights: dict[str, float]  # ensemble weight per family (empty: fell back to the last points)


def extrapolate(
    x: np.ndarray,
    y: np.ndarray,
    *,
    x_end: float = 100.0,
    families: tuple[CurveFamily, ...] = FAMILIES,
    holdout: float = 0.25,
) -> Extrapolation:
    """Project the curve (x, y) to `x_end` with a held-out-error-weighted ensemble of families."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0)
    x, y = x[ok], y[ok]
    if len(x) == 0:
        return Extrapolation(float("nan"), {})
    fallback = Extrapolation(float(np.mean(y[-min(3, len(y)) :])), {})
    if len(x) < 3:
        return fallback
    span = float(np.ptp(y)) or (abs(float(y[-1])) * 0.1 + 1e-6)
    plausible = (float(y.min()) - 3 * span, float(y.max()) + 3 * span)
    n_hold = max(1, round(holdout * len(x)))
    errors: dict[str, float] = {}
    values: dict[str, float] = {}
    for fam in families:
        full = fit_family(fam, x, y)
        if full is None:
            continue
        value = float(full(x_end)[0])
        if not np.isfinite(value) or not plausible[0] <= value <= plausible[1]:
            continue
        early = fit_family(fam, x[:-n_hold], y[:-n_hold]) if len(x) - n_hold >= fam.n_params + 1 else None
        if early is not None:
            err = float(np.mean((early(x[-n_hold:]) - y[-n_hold:]) ** 2))
        else:  # too few points to hold any out: in-sample error, penalised for the parameters used
            err = full.sse / max(len(x) - fam.n_params, 1)
        if np.isfinite(err):
            errors[fam.name] = err
            values[fam.name] = value
    if not errors:
        return fallback
    eps = 1e-6 * span**2 + 1e-12
    raw = {k: 1.0 / (e + eps) for k, e in errors.items()}
    total = sum(raw.values())
    weights = {k: w / total for k, w in raw.items()}
    return Extrapolation(float(sum(weights[k] * values[k] for k in weights)), weights)


def prefix(steps: np.ndarray, values: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """The part of a curve logged within the first `fraction` of the run, with x in percent of the run.

    The run's length is its last logged step (the corpus keeps complete curves; a live run knows its
    planned number of steps from the recipe).
    """
    steps = np.asarray(steps, float)
    values = np.asarray(values, float)
    if len(steps) == 0 or len(steps) != len(values):
        return np.empty(0), np.empty(0)
    total = float(np.nanmax(steps))
    if not total > 0:
        return np.empty(0), np.empty(0)
    x = 100.0 * steps / total
    keep = x <= 100.0 * fraction + 1e-9
    return x[keep], values[keep]
