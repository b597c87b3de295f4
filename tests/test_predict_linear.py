"""The linear success model: scikit-learn's answer without bounds, and its sign bounds hold."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tuneahead.predict.linear import WINSOR_SD, LinearClassifier, cross_fit_linear


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] - 0.5 * X[:, 1] + 0.8 * X[:, 2] + rng.normal(size=300) > 0).astype(float)
    return X, y


def test_without_bounds_it_is_penalised_logistic_regression(data) -> None:
    X, y = data
    ours = LinearClassifier(C=0.1).fit(X, y)
    # On the winsorised inputs (a few values beyond 3 sd are clipped), it is scikit-learn's answer.
    clipped = np.clip(X, X.mean(axis=0) - WINSOR_SD * X.std(axis=0), X.mean(axis=0) + WINSOR_SD * X.std(axis=0))
    assert (clipped != X).any()
    scaled = (clipped - clipped.mean(axis=0)) / X.std(axis=0)  # the spread before clipping
    ref = LogisticRegression(C=0.1, max_iter=5000).fit(scaled, y)
    np.testing.assert_allclose(ours.coef, ref.coef_[0], atol=1e-4)
    assert ours.intercept == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_sign_bounds_hold_and_missing_values_are_imputed(data) -> None:
    X, y = data
    bounded = LinearClassifier(C=1.0, signs={0: -1, 1: +1}).fit(X, y)  # both against the data's direction
    assert bounded.coef[0] <= 0 and bounded.coef[1] >= 0
    assert bounded.coef[2] > 0  # the free ones still learn
    holes = X.copy()
    holes[:5, 2] = np.nan
    p = bounded.predict_p(holes)
    assert np.all(np.isfinite(p)) and np.all((p > 0) & (p < 1))
    restored = LinearClassifier.from_dict(bounded.to_dict())
    np.testing.assert_array_equal(restored.predict_p(holes), p)


def test_the_penalty_is_chosen_on_the_given_folds(data) -> None:
    X, y = data
    folds = np.arange(len(y)) % 5
    oof, c, report = cross_fit_linear(X, y, folds, {})
    assert c in {r["C"] for r in report} and c == min(report, key=lambda r: r["oof_loss"])["C"]
    assert np.all(np.isfinite(oof)) and np.mean((oof > 0.5) == y) > 0.7


def test_contributions_sum_to_the_log_odds(data) -> None:
    X, y = data
    model = LinearClassifier(C=0.3).fit(X, y)
    holes = X[:20].copy()
    holes[:3, 1] = np.nan  # an imputed value contributes as the median would
    c = model.contributions(holes)
    p = model.predict_p(holes)
    np.testing.assert_allclose(c.sum(axis=1), np.log(p / (1 - p)), atol=1e-9)
    # At the training mean every contribution is zero and the log-odds are the intercept.
    assert np.allclose(model.contributions(model.means[None, :])[0, :-1], 0.0)


def test_values_beyond_the_training_range_are_clipped(data) -> None:
    X, y = data
    model = LinearClassifier(C=0.3).fit(X, y)
    far = X[:1].copy()
    far[0, 0] = 1e14  # a diverging probe's gradient norm, say
    edge = far.copy()
    edge[0, 0] = min(X[:, 0].max(), X[:, 0].mean() + WINSOR_SD * X[:, 0].std())
    np.testing.assert_allclose(model.contributions(far), model.contributions(edge))
    assert np.all(np.isfinite(model.contributions(far)))


def test_a_feature_almost_always_zero_cannot_swing_p_alone() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    X[:, 1] = 0.0
    X[:2, 1] = 0.001  # two runs out of 300, say with a few near-duplicates
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(float)
    y[:2] = 1.0
    model = LinearClassifier(C=0.3).fit(X, y)
    new_run = np.array([[0.0, 0.0074]])  # seven times the largest value seen
    # Both such runs succeeded, so the feature does push P up, but by less than a factor 4 on the odds
    # (unclipped: log-odds 3.1, a factor 21).
    assert 0 < model.contributions(new_run)[0, 1] < np.log(4.0)


def test_a_fit_told_which_rows_repeat_equals_the_plain_fit():
    from tuneahead.predict.bars import stack

    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 6))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = np.clip(0.5 + 0.2 * np.nan_to_num(X[:, 0]) + rng.normal(0, 0.1, 120), 0, 1)
    st = stack(X, y, np.full(120, 0.5), (0.0, 1.0))
    Xc = np.column_stack([st.X, st.bar])
    plain = LinearClassifier(0.1, {6: -1}).fit(Xc, st.success)
    told = LinearClassifier(0.1, {6: -1}).fit(Xc, st.success, st.run)
    np.testing.assert_allclose(told.coef, plain.coef, rtol=1e-6, atol=1e-8)
    assert told.intercept == pytest.approx(plain.intercept, abs=1e-8)
    assert told.coef[-1] < 0  # the bar's bound holds
    together = LinearClassifier.fit_penalties(Xc, st.success, [0.3, 0.1], {6: -1}, st.run)
    np.testing.assert_allclose(together[1].coef, told.coef, rtol=1e-12)
    assert together[0].C == 0.3 and not np.allclose(together[0].coef, told.coef)


def test_rows_said_to_repeat_must_repeat():
    X = np.array([[1.0, 0.1], [2.0, 0.2], [3.0, 0.3], [4.0, 0.4]])
    with pytest.raises(ValueError, match="differ outside the last column"):
        LinearClassifier(0.1).fit(X, np.array([0.0, 1.0, 0.0, 1.0]), np.array([0, 0, 1, 1]))
