"""LightGBM training: conservative parameters for small corpora, cross-fitting, final models.

`lightgbm` is imported inside functions so that importing the package (and `tuneahead --help`) stays fast.
Features are passed to LightGBM as f0, f1, … because it rejects some characters in names; the predictor
keeps the real names.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    import lightgbm as lgb

Objective = Literal["regression", "binary"]
SMALL_TABLE = 5000
PREDICT_PARAMS: dict[str, Any] = {"num_threads": 1}  # one run at a time: threads only add overhead


@dataclass(frozen=True)
class BoostingParams:
    """Defaults suit hundreds to a few thousand runs: shallow trees, big leaves, slow learning."""

    num_leaves: int = 15
    min_data_in_leaf: int = 10
    learning_rate: float = 0.05
    feature_fraction: float = 0.8
    lambda_l2: float = 1.0
    # Histogram bins per feature. 63 rather than LightGBM's 255: a few thousand runs do not resolve finer
    # split points, and histogram building is most of a fit's time (the stacked success table: -38 %).
    max_bin: int = 63
    n_estimators: int | None = None  # None: chosen by early stopping on the inner (group) folds
    max_rounds: int = 1000
    early_stopping_rounds: int = 50
    num_threads: int | None = None  # None: 1 thread below SMALL_TABLE runs, else 2
    seed: int = 0

    def lgb_params(self, objective: Objective, n_rows: int, monotone: Sequence[int] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": objective,
            "metric": "l2" if objective == "regression" else "binary_logloss",
            "num_leaves": self.num_leaves,
            # On tiny tables a leaf of 10 runs would forbid every split; scale it down.
            "min_data_in_leaf": max(2, min(self.min_data_in_leaf, n_rows // 10)),
            "learning_rate": self.learning_rate,
            "feature_fraction": self.feature_fraction,
            "lambda_l2": self.lambda_l2,
            "max_bin": self.max_bin,
            "num_threads": self.threads(n_rows),
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "feature_pre_filter": False,
            "verbose": -1,
        }
        if monotone is not None and any(monotone):
            # Per column: +1 the output may only rise with it, -1 only fall, 0 free.
            params["monotone_constraints"] = list(monotone)
            params["monotone_constraints_method"] = "intermediate"
        return params

    def threads(self, n_rows: int) -> int:
        if self.num_threads is not None:
            return self.num_threads
        # On small tables thread start-up costs more than it saves, and OpenMP threads that spin-wait
        # slow down twenty-fold when the cores are shared with other jobs (measured: 0.6 s vs 13 s).
        return 1 if n_rows < SMALL_TABLE else 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_workers(jobs: int) -> int:
    """Threads for independent fits run side by side: LightGBM releases the GIL while it trains, so fits of
    one thread each use the cores a fit is allowed, at most 2 (the threads rule above, for the same reason)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(jobs, cores, 2))


def lgb_names(n: int) -> list[str]:
    return [f"f{j}" for j in range(n)]


def _dataset(X: np.ndarray, y: np.ndarray, params: dict[str, Any]) -> lgb.Dataset:
    import lightgbm as lgb

    return lgb.Dataset(X, label=y, feature_name=lgb_names(X.shape[1]), params=params, free_raw_data=False)


def cross_fit(
    X: np.ndarray, y: np.ndarray, folds: np.ndarray, bp: BoostingParams, objective: Objective,
    monotone: Sequence[int] | None = None,
) -> tuple[np.ndarray, int]:
    """Out-of-fold predictions (one model per fold, none sees its own fold) and the number of rounds.

    With `n_estimators=None` the number of rounds minimises the mean validation loss across folds, found
    by early stopping on that mean, as LightGBM's `cv` does; the final model then trains on all runs with
    that many rounds. The folds' models are trained in lockstep like `cv`'s, but each round's updates run
    in threads side by side (`cv` runs them one after another; LightGBM releases the GIL while it trains):
    the same models, in less time where a fit may use two cores.
    """
    oof, best, _ = _cross_fit(X, y, folds, bp, objective, monotone, final=False)
    return oof, best


def cross_fit_and_train(
    X: np.ndarray, y: np.ndarray, folds: np.ndarray, bp: BoostingParams, objective: Objective,
    monotone: Sequence[int] | None = None,
) -> tuple[np.ndarray, int, lgb.Booster]:
    """`cross_fit`, plus the final model on all rows: boosted in the same lockstep as the folds' (a tree
    never depends on later rounds, so its first `rounds` trees are what `train` would grow), then cut to
    the chosen number of rounds. Saves a second pass when one setting is cross-fitted."""
    oof, best, final = _cross_fit(X, y, folds, bp, objective, monotone, final=True)
    assert final is not None
    return oof, best, final


def _cross_fit(
    X: np.ndarray, y: np.ndarray, folds: np.ndarray, bp: BoostingParams, objective: Objective,
    monotone: Sequence[int] | None, *, final: bool,
) -> tuple[np.ndarray, int, lgb.Booster | None]:
    import lightgbm as lgb

    params = bp.lgb_params(objective, len(y), monotone)
    fold_ids = np.unique(folds)
    splits = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in fold_ids]
    rounds = bp.n_estimators or bp.max_rounds
    patience = bp.early_stopping_rounds if bp.n_estimators is None else None
    boosters, curve, whole = _lockstep_cv(params, X, y, splits, rounds, patience, final=final)
    best = int(np.argmin(curve)) + 1 if bp.n_estimators is None else rounds
    oof = np.full(len(y), np.nan)
    for booster, (_, test) in zip(boosters, splits, strict=True):
        oof[test] = booster.predict(X[test], num_iteration=best, **PREDICT_PARAMS)
    if whole is None:
        return oof, best, None
    return oof, best, lgb.Booster(model_str=whole.model_to_string(num_iteration=best))


def _quiet_thread() -> None:
    """LightGBM keeps its log level per thread, set by whatever the thread parsed last: a worker thread that
    only updates boosters made elsewhere would log at info level. Parsing `verbose=-1` once quiets it."""
    import lightgbm as lgb

    lgb.Dataset(np.zeros((2, 1)), params={"verbose": -1}).construct()


def _lockstep_cv(
    params: dict[str, Any], X: np.ndarray, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
    rounds: int, patience: int | None, *, final: bool = False,
) -> tuple[list[lgb.Booster], list[float], lgb.Booster | None]:
    """One booster per (train, test) split, all boosted round by round; returns them, the mean validation
    loss after each round and (with `final`) a booster on all rows boosted alongside. With `patience`, stops
    once the mean has not improved for that many rounds (as `lightgbm.early_stopping` does in `cv`: the
    boosters keep those rounds, predictions pick the best)."""
    import lightgbm as lgb

    full = _dataset(X, y, params).construct()  # bins found once on all rows, shared by the folds (as in cv)
    boosters = []
    for train, test in splits:
        booster = lgb.Booster(params, full.subset(sorted(train), params=params))
        booster.add_valid(full.subset(sorted(test), params=params), "valid")
        boosters.append(booster)
    whole = lgb.Booster(params, full) if final else None
    updated = [*boosters, *([whole] if whole is not None else [])]
    curve: list[float] = []
    best_round, best_loss = 0, math.inf
    with ThreadPoolExecutor(max_workers=fit_workers(len(updated)), initializer=_quiet_thread) as pool:
        for i in range(rounds):
            list(pool.map(lambda b: b.update(), updated))
            loss = float(np.mean([b.eval_valid()[0][2] for b in boosters]))
            curve.append(loss)
            if loss < best_loss:
                best_round, best_loss = i, loss
            elif patience is not None and i - best_round >= patience:
                break
    return boosters, curve, whole


def stronger_regularisation(bp: BoostingParams) -> list[BoostingParams]:
    """`bp` and two more conservative variants (fewer leaves, bigger leaves, fewer features per tree).

    On a few hundred runs, trees that fit the training tasks' quirks generalise badly to a new task;
    which setting is right depends on the corpus, so `select_and_cross_fit` lets the inner folds decide.
    """
    return [
        bp,
        replace(bp, num_leaves=min(bp.num_leaves, 7), min_data_in_leaf=max(bp.min_data_in_leaf, 15),
                feature_fraction=min(bp.feature_fraction, 0.6)),
        replace(bp, num_leaves=min(bp.num_leaves, 4), min_data_in_leaf=max(bp.min_data_in_leaf, 20),
                feature_fraction=min(bp.feature_fraction, 0.5)),
    ]


def regularisation_report(bp: BoostingParams) -> dict[str, Any]:
    """The settings a fit's regularisation report lists for a candidate."""
    return {"num_leaves": bp.num_leaves, "min_data_in_leaf": bp.min_data_in_leaf,
            "feature_fraction": bp.feature_fraction}


def oof_loss(y: np.ndarray, oof: np.ndarray, objective: Objective) -> float:
    """Mean squared error (regression) or log loss (binary) of out-of-fold predictions."""
    from sklearn.metrics import log_loss, mean_squared_error

    if objective == "regression":
        return float(mean_squared_error(y, oof))
    return float(log_loss(y, np.clip(oof, 1e-6, 1 - 1e-6), labels=[0, 1]))


def select_and_cross_fit(
    X: np.ndarray, y: np.ndarray, folds: np.ndarray, candidates: Sequence[BoostingParams], objective: Objective,
    monotone: Sequence[int] | None = None,
) -> tuple[np.ndarray, int, BoostingParams, list[dict[str, Any]]]:
    """`cross_fit` with each candidate; keeps the one whose out-of-fold loss is lowest (the first on ties).

    The inner folds are the caller's (grouped by task when a group column is given), so the choice only
    ever sees training runs. Returns (out-of-fold predictions, rounds, chosen params, per-candidate report).
    """
    best: tuple[float, np.ndarray, int, BoostingParams] | None = None
    report = []
    with ThreadPoolExecutor(max_workers=fit_workers(len(candidates))) as pool:
        fitted = list(pool.map(lambda bp: cross_fit(X, y, folds, bp, objective, monotone), candidates))
    for bp, (oof, rounds) in zip(candidates, fitted, strict=True):
        loss = oof_loss(y, oof, objective)
        report.append({**regularisation_report(bp), "rounds": rounds, "oof_loss": loss})
        if best is None or loss < best[0]:
            best = (loss, oof, rounds, bp)
    assert best is not None
    return best[1], best[2], best[3], report


def train(
    X: np.ndarray, y: np.ndarray, bp: BoostingParams, objective: Objective, rounds: int,
    monotone: Sequence[int] | None = None,
) -> lgb.Booster:
    """Train on all rows; the booster is reloaded from its text form so it predicts exactly as a saved one."""
    import lightgbm as lgb

    params = bp.lgb_params(objective, len(y), monotone)
    booster = lgb.train(params, _dataset(X, y, params), num_boost_round=rounds)
    return lgb.Booster(model_str=booster.model_to_string())
