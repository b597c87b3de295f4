"""Cross-fitting trains the folds side by side and still finds what LightGBM's own cv finds."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from tuneahead.predict.lgbm import BoostingParams, _dataset, cross_fit


@pytest.mark.parametrize("objective", ["regression", "binary"])
def test_cross_fit_equals_lightgbm_cv(objective):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    signal = X[:, 0] - 0.5 * X[:, 1] + 0.3 * rng.normal(size=400)
    y = (signal > 0).astype(float) if objective == "binary" else signal
    folds = rng.integers(0, 4, 400)
    bp = BoostingParams(max_rounds=300, early_stopping_rounds=20)
    monotone = [0, -1, 0, 0, 0, 0]
    oof, rounds = cross_fit(X, y, folds, bp, objective, monotone)

    params = bp.lgb_params(objective, len(y), monotone)
    splits = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(4)]
    res = lgb.cv(params, _dataset(X, y, params), num_boost_round=300, folds=splits, return_cvbooster=True,
                 callbacks=[lgb.early_stopping(20, first_metric_only=True, verbose=False)])
    curve = res[next(k for k in res if k.endswith("-mean"))]
    assert rounds == int(np.argmin(curve)) + 1 < 300  # early stopping came
    expected = np.full(len(y), np.nan)
    for booster, (_, test) in zip(res["cvbooster"].boosters, splits):
        expected[test] = booster.predict(X[test], num_iteration=rounds)
    np.testing.assert_allclose(oof, expected, rtol=1e-12, atol=1e-12)
