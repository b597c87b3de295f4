"""The predictor recovers a known function, explains itself exactly, and handles thresholds and missing data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuneahead.errors import InputError
from tuneahead.evaluate.synthetic import INFORMATIVE, make_synthetic_runs, true_metric
from tuneahead.predict import Predictor, SchemaMismatchError


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return make_synthetic_runs(500, seed=11, with_curves=False)


@pytest.fixture(scope="module")
def fresh() -> pd.DataFrame:
    # Same generator, other seed: new runs from the same families.
    return make_synthetic_runs(300, seed=12, with_curves=False)


@pytest.fixture(scope="module")
def fitted(train: pd.DataFrame) -> Predictor:
    return Predictor().fit(train, "final_metric", threshold="target", group_col="family")


def _truth(df: pd.DataFrame) -> np.ndarray:
    return true_metric(*(df[c].to_numpy() for c in INFORMATIVE))


def test_recovers_the_known_function(fitted: Predictor, fresh: pd.DataFrame) -> None:
    out = fitted.predict_arrays(fresh)
    truth = _truth(fresh)
    rmse_truth = float(np.sqrt(np.mean((out["metric"] - truth) ** 2)))
    # Noise (0.02) and family offsets (sd 0.02) are not learnable from features; the function is.
    assert rmse_truth < 0.05, rmse_truth
    assert np.corrcoef(out["metric"], truth)[0, 1] > 0.95
    top = {name for name, _ in fitted.global_importance()[:4]}
    assert top == set(INFORMATIVE)


def test_shap_contributions_sum_to_the_prediction(train: pd.DataFrame, fresh: pd.DataFrame) -> None:
    # Without bounds the forecast is never clipped, so the sum must match exactly.
    p = Predictor(n_estimators=100).fit(train, "final_metric", target_bounds=None)
    forecasts = p.predict(fresh.head(25))
    for f in forecasts:
        assert f.base_value + sum(f.contributions.values()) == pytest.approx(f.metric, abs=1e-9)
        assert set(f.contributions) == set(p.feature_names)
    contrib = p.contributions(fresh)
    raw = p.predict_arrays(fresh)["metric"]
    np.testing.assert_allclose(contrib.sum(axis=1), raw, atol=1e-9)


def test_intervals_cover_what_they_claim(fitted: Predictor, fresh: pd.DataFrame) -> None:
    y = fresh["final_metric"].to_numpy()
    for coverage in (0.8, 0.9):
        out = fitted.predict_arrays(fresh, coverage=coverage)
        covered = np.mean((y >= out["lo"]) & (y <= out["hi"]))
        assert covered >= coverage - 0.07, (coverage, covered)
        assert np.all(out["lo"] <= out["metric"]) and np.all(out["metric"] <= out["hi"])
    assert fitted.diagnostics["oof"]["interval_coverage"] > 0.8


def test_p_success_is_calibrated_and_discriminates(fitted: Predictor, fresh: pd.DataFrame) -> None:
    from sklearn.metrics import roc_auc_score

    out = fitted.predict_arrays(fresh)
    success = fresh["final_metric"].to_numpy() >= fresh["target"].to_numpy()
    p = out["p_success"]
    assert np.all((p > 0) & (p < 1))
    assert roc_auc_score(success, p) > 0.93
    assert np.mean((p - success) ** 2) < 0.1
    report = fitted.diagnostics["p_success"]
    assert report["chosen"] in ("classifier", "conformal")
    assert report["chosen"] in fitted.p_method  # type: ignore[operator]
    # The choice was made on held-out (cross-fitted) Brier scores.
    briers = {m: r["brier_calibrated"] for m, r in report["methods"].items()}
    assert briers[report["chosen"]] == min(briers.values())


def test_threshold_at_predict_time(train: pd.DataFrame, fresh: pd.DataFrame) -> None:
    p = Predictor(n_estimators=150).fit(train, "final_metric")  # no threshold at fit time
    rows = fresh.head(5)
    assert all(f.p_success is None for f in p.predict(rows, explain=False))
    lo = np.array([f.p_success for f in p.predict(rows, threshold=0.2, explain=False)])
    hi = np.array([f.p_success for f in p.predict(rows, threshold=0.6, explain=False)])
    assert np.all(lo >= hi) and np.any(lo > hi)
    per_row = p.predict(rows, threshold=[0.2, 0.6, 0.2, 0.6, 0.2], explain=False)
    assert per_row[0].p_success == pytest.approx(lo[0]) and per_row[1].p_success == pytest.approx(hi[1])
    assert per_row[0].p_method.startswith("conformal")


def test_a_classifier_fitted_at_one_threshold_answers_any_bar(train: pd.DataFrame, fresh: pd.DataFrame) -> None:
    # Trained on the runs stacked at a grid of bars, the success model is a predictive distribution: it
    # answers at bars it was not fitted for, and a higher bar never gives a higher P.
    p = Predictor(n_estimators=150, p_method="classifier").fit(train, "final_metric", threshold=0.45)
    assert p.p_method == "classifier"
    rows = fresh.head(20)
    ps = np.array([[f.p_success for f in p.predict(rows, threshold=bar, explain=False)]
                   for bar in (0.1, 0.3, 0.45, 0.6, 0.9)])
    assert np.all(np.diff(ps, axis=0) <= 1e-12)
    assert np.all(ps[0] - ps[-1] > 0.2)  # the bar matters, for every run
    assert all(f.p_method.startswith("classifier") for f in p.predict(rows.head(3), threshold=0.3, explain=False))


def test_per_run_threshold_column_is_used_per_row(fitted: Predictor, fresh: pd.DataFrame) -> None:
    rows = fresh.head(2).copy()
    rows["target"] = [0.1, 0.9]
    f_low, f_high = fitted.predict(rows, explain=False)
    assert f_low.threshold == pytest.approx(0.1) and f_high.threshold == pytest.approx(0.9)
    assert f_low.p_success > 0.9 and f_high.p_success < 0.1


def test_missing_features_are_allowed_but_absent_columns_are_named(
    fitted: Predictor, fresh: pd.DataFrame
) -> None:
    row = fresh.iloc[0].to_dict()
    row["probe_loss_drop"] = float("nan")
    row["probe_grad_norm"] = None
    (f,) = fitted.predict(row)
    assert np.isfinite(f.metric) and f.p_success is not None
    del row["probe_grad_norm"]
    with pytest.raises(SchemaMismatchError, match="probe_grad_norm"):
        fitted.predict(row)
    (g,) = fitted.predict(row, strict=False)
    assert np.isfinite(g.metric)


def test_trained_with_missing_probe_features() -> None:
    df = make_synthetic_runs(200, seed=5, missing_probe_share=0.3, with_curves=False)
    p = Predictor(n_estimators=100).fit(df, threshold="target", group_col="family")
    out = p.predict_arrays(df)
    assert np.all(np.isfinite(out["metric"]))
    assert p.summary.features["probe_loss_drop"].missing_share == pytest.approx(
        df["probe_loss_drop"].isna().mean()
    )


def test_out_of_distribution_flag(fitted: Predictor, fresh: pd.DataFrame) -> None:
    inside = fitted.predict(fresh.head(1), explain=False)[0]
    assert not inside.ood and inside.ood_reasons == ()
    row = fresh.iloc[0].to_dict()
    row["data_trunc_share"] = 5.0
    row["recipe_lr_log10"] = -9.0
    (f,) = fitted.predict(row, explain=False)
    assert f.ood
    text = " ".join(f.ood_reasons)
    assert "data_trunc_share" in text and "above" in text and "recipe_lr_log10" in text and "below" in text
    row = fresh.iloc[0].to_dict()
    row["data_dup_share"] = float("nan")  # never missing in training
    assert any("data_dup_share is missing" in r for r in fitted.predict(row, explain=False)[0].ood_reasons)
    row = fresh.iloc[0].to_dict()
    row["target"] = 3.0  # a threshold no training run had
    assert any("threshold" in r for r in fitted.predict(row, explain=False)[0].ood_reasons)


def test_reasons_are_grouped_and_plain(fitted: Predictor, fresh: pd.DataFrame) -> None:
    (f,) = fitted.predict(fresh.head(1))
    assert 0 < len(f.reasons) <= 5
    strengths = [abs(r.contribution) for r in f.reasons]
    assert strengths == sorted(strengths, reverse=True)
    assert all("\u2192" in r.text for r in f.reasons)
    d = f.to_dict()
    assert d["reasons"][0]["text"] == f.reasons[0].text and isinstance(d["interval"], list)


def test_catalogue_features_give_unit_aware_reasons() -> None:
    from tuneahead.store.table import feature_info

    info = feature_info("answer_cut_share")
    if info.unit != "share":
        pytest.skip("the feature catalogue does not register answer_cut_share in this build")
    rng = np.random.default_rng(0)
    n = 120
    cut = rng.uniform(0, 0.6, n)
    df = pd.DataFrame({"answer_cut_share": cut, "noise": rng.normal(size=n)})
    df["final_metric"] = 0.8 - 0.8 * cut + rng.normal(0, 0.01, n)
    p = Predictor(n_estimators=100).fit(df, "final_metric")
    (f,) = p.predict({"answer_cut_share": 0.55, "noise": 0.0})
    top = f.reasons[0]
    assert top.group == info.group and top.contribution < 0
    assert top.text.startswith("answers cut by the context window: 55 %")  # its short name, in the unit


def test_input_validation_names_the_column(train: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="'nope'"):
        Predictor().fit(train, "nope")
    bad = train.assign(model_name="llama")
    with pytest.raises(InputError, match="model_name") as exc:
        Predictor().fit(bad, "final_metric")
    assert exc.value.location.field == "model_name"
    # Leaving it out works.
    Predictor(n_estimators=20).fit(bad, "final_metric", exclude_cols=["model_name"])
    with pytest.raises(InputError, match="at least 20 runs"):
        Predictor().fit(train.head(10), "final_metric")
    with pytest.raises(InputError, match="threshold"):
        Predictor().fit(train, "final_metric", threshold="no_such_column")
    with pytest.raises(InputError, match="coverage"):
        Predictor().fit(train, "final_metric", coverage=1.5)
    row = train.iloc[0].to_dict()
    p = Predictor(n_estimators=20).fit(train, "final_metric")
    row["data_dup_share"] = "lots"
    with pytest.raises(InputError, match="data_dup_share"):
        p.predict(row)


def test_unfitted_predictor_says_so() -> None:
    from tuneahead.predict import NotFittedError

    with pytest.raises(NotFittedError):
        Predictor().predict({"a": 1.0})


def test_fit_is_deterministic(train: pd.DataFrame, fresh: pd.DataFrame) -> None:
    a = Predictor(n_estimators=80, seed=3).fit(train, threshold="target", group_col="family")
    b = Predictor(n_estimators=80, seed=3).fit(train, threshold="target", group_col="family")
    np.testing.assert_array_equal(a.predict_arrays(fresh)["metric"], b.predict_arrays(fresh)["metric"])
    np.testing.assert_array_equal(a.predict_arrays(fresh)["p_success"], b.predict_arrays(fresh)["p_success"])


def test_regularisation_is_chosen_on_inner_folds() -> None:
    """On a small noisy table with many noise columns the inner folds pick among three tree settings for the
    regressor, which the success classifier then uses; "fixed" keeps the given one. The choice and every candidate's out-of-fold loss are reported."""
    rng = np.random.default_rng(3)
    df = make_synthetic_runs(120, seed=21, with_curves=False)
    for j in range(30):
        df[f"noise_{j}"] = rng.normal(size=len(df))
    auto = Predictor(seed=0).fit(df, threshold="target", group_col="family")
    report = auto.diagnostics["regularisation"]
    assert set(report) == {"regressor", "classifier", "linear"}
    assert [c["num_leaves"] for c in report["regressor"]] == [15, 7, 4]
    assert all(np.isfinite(c["oof_loss"]) for c in report["regressor"] + report["classifier"])
    # The stacked success classifier reuses the regressor's choice (one cross-fit on 11 rows a run).
    chosen_leaves = min(report["regressor"], key=lambda c: c["oof_loss"])["num_leaves"]
    assert [c["num_leaves"] for c in report["classifier"]] == [chosen_leaves]
    assert [c["C"] for c in report["linear"]] == [0.03, 0.1, 0.3]  # the linear model's penalty, likewise
    fixed = Predictor(seed=0, regularisation="fixed").fit(df, threshold="target", group_col="family")
    assert [c["num_leaves"] for c in fixed.diagnostics["regularisation"]["regressor"]] == [15]
    chosen = min(report["regressor"], key=lambda c: c["oof_loss"])
    assert auto.rounds["regressor"] == chosen["rounds"]
    with pytest.raises(ValueError, match="regularisation"):
        Predictor(regularisation="strong")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["classifier", "linear"])
def test_a_higher_bar_never_makes_success_likelier(method: str) -> None:
    # Bars follow the task's ceiling, as users set them: easy tasks get high bars and still succeed more
    # often, so across runs success rises with the bar. For one run it must not.
    rng = np.random.default_rng(5)
    n = 400
    ease = rng.uniform(0, 1, n)
    table = pd.DataFrame({
        "run_id": [f"r{i}" for i in range(n)],
        "family": [f"f{i % 8}" for i in range(n)],
        "ease": ease,
        "noise": rng.normal(size=n),
        "final_metric": np.clip(ease + rng.normal(0, 0.15, n), 0, 1),
        "target": np.round(rng.choice([0.5, 0.7, 0.9], n) * ease / 0.05) * 0.05 + 0.1,
    })
    p = Predictor(p_method=method).fit(table, "final_metric", threshold="target", group_col="family")  # type: ignore[arg-type]
    assert p.p_method == method
    rows = table.head(60).drop(columns="target")
    grid = np.linspace(0.1, 0.9, 9)
    P = np.array([[f.p_success for f in p.predict(rows, threshold=float(t), explain=False)] for t in grid]).T
    assert np.all(np.diff(P, axis=1) <= 1e-12)
    assert np.all(P[:, 0] > P[:, -1])


@pytest.mark.parametrize("method", ["classifier", "linear"])
def test_p_success_is_explained_in_log_odds(train: pd.DataFrame, fresh: pd.DataFrame, method: str) -> None:
    # The verdict follows P(success), so its reasons must explain P(success), not the metric forecast.
    p = Predictor(p_method=method, n_estimators=60).fit(train, "final_metric", threshold="target", group_col="family")  # type: ignore[arg-type]
    for f in p.predict(fresh.head(20)):
        assert f.p_raw is not None and 0 < f.p_raw < 1
        logit = np.log(f.p_raw / (1 - f.p_raw))
        assert f.p_base_value + sum(f.p_contributions.values()) == pytest.approx(logit, abs=1e-6)
        assert set(f.p_contributions) == {*p.feature_names, "target"}  # the bar is an input, so it is explained
        assert f.p_reasons and all("odds \u00d7" in r.text for r in f.p_reasons)
    # The informative features lead the explanation, as they do for the forecast.
    mean_abs: dict[str, float] = {}
    for f in p.predict(fresh):
        for name, c in f.p_contributions.items():
            mean_abs[name] = mean_abs.get(name, 0.0) + abs(c)
    assert set(INFORMATIVE) & set(sorted(mean_abs, key=lambda k: -mean_abs[k])[:5])


def test_conformal_p_success_falls_back_to_the_forecast_explanation(train: pd.DataFrame, fresh: pd.DataFrame) -> None:
    p = Predictor(p_method="conformal", n_estimators=60).fit(train, "final_metric", threshold="target")
    f = p.predict(fresh.head(1))[0]
    assert f.p_success is not None and not f.p_contributions and f.reasons


def test_coverage_is_reported_by_decile_of_the_forecast() -> None:
    from tuneahead.predict.predictor import coverage_by_decile

    forecast = np.arange(100, dtype=float)
    covered = forecast >= 50  # the upper half covered, the lower half not
    deciles = coverage_by_decile(forecast, covered)
    assert [d["runs"] for d in deciles] == [10] * 10
    assert [d["coverage"] for d in deciles] == [0.0] * 5 + [1.0] * 5
    assert deciles[0]["forecast_from"] == 0 and deciles[-1]["forecast_to"] == 99


def test_recalibration_on_few_runs_stays_near_the_identity_and_learns_from_many():
    import numpy as np

    from tuneahead.predict.calibration import fit_recalibration

    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 2000)
    truth = 1 / (1 + np.exp(-(0.5 * np.log(p / (1 - p)) - 1.0)))  # the base is overconfident and too optimistic
    y = (rng.uniform(size=p.size) < truth).astype(float)
    few, many = fit_recalibration(p[:5], y[:5]), fit_recalibration(p, y)
    assert abs(few.a - 1) < 0.5 and abs(few.b) < 0.5
    assert many.a == pytest.approx(0.5, abs=0.1) and many.b == pytest.approx(-1.0, abs=0.15)
    assert fit_recalibration(np.array([]), np.array([])).kind == "identity"
