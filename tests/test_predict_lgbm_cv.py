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


def test_the_final_model_boosted_alongside_the_folds_equals_one_trained_after():
    from tuneahead.predict.lgbm import cross_fit_and_train, train

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] + 0.4 * rng.normal(size=300) > 0).astype(float)
    folds = rng.integers(0, 3, 300)
    bp = BoostingParams(max_rounds=200, early_stopping_rounds=15)
    oof, rounds, final = cross_fit_and_train(X, y, folds, bp, "binary", [1, 0, 0, 0, 0])
    oof_alone, rounds_alone = cross_fit(X, y, folds, bp, "binary", [1, 0, 0, 0, 0])
    assert rounds == rounds_alone
    np.testing.assert_allclose(oof, oof_alone, rtol=1e-12, atol=1e-12)
    after = train(X, y, bp, "binary", rounds, [1, 0, 0, 0, 0])
    assert final.num_trees() == after.num_trees() == rounds
    np.testing.assert_allclose(final.predict(X), after.predict(X), rtol=1e-12, atol=1e-12)
