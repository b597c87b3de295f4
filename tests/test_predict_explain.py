"""Plain-language reasons, value formatting, SHAP plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tuneahead.predict.explain import format_contribution, format_value, global_importance, reasons
from tuneahead.store.table import FeatureInfo


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.32, "share", "32 %"),
        (256.0, "tokens", "256 tokens"),
        (1200.0, "count", "1,200"),
        (1.0, "bool", "yes"),
        (0.0, "bool", "no"),
        (-3.52, "log10", "-3.52"),
        (float("nan"), "share", "missing"),
        (1.234, "", "1.23"),
    ],
)
def test_format_value(value: float, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


def test_format_contribution_uses_a_real_minus() -> None:
    assert format_contribution(-0.21) == "\u22120.21"
    assert format_contribution(0.004) == "+0.004"


def test_reasons_group_features_and_sum_their_contributions() -> None:
    infos = [
        FeatureInfo("answer_cut_share", "static", "truncation", "share", "examples whose answer is cut"),
        FeatureInfo("truncated_example_share", "static", "truncation", "share", "examples longer than max length"),
        FeatureInfo("log10_learning_rate", "recipe", "recipe", "log10", "log10 of the peak learning rate"),
        FeatureInfo("noise", "static", "noise", "", "noise"),
    ]
    values = np.array([0.32, 0.4, -3.0, 0.1])
    contrib = np.array([-0.15, -0.06, 0.05, 0.0001])
    out = reasons(infos, values, contrib)
    assert [r.group for r in out] == ["truncation", "recipe"]  # the tiny 'noise' group is dropped
    assert out[0].contribution == pytest.approx(-0.21)
    # The lead feature by its short name, the others of the group in words; the JSON keeps the names.
    assert out[0].text == "answers cut by the context window: 32 % (with examples longer than the context window) \u2192 \u22120.21"
    assert out[0].features == ("answer_cut_share", "truncated_example_share")
    assert reasons(infos[3:], values[3:], contrib[3:])[0].text.startswith("noise: ")  # no short name: its meaning
    assert out[0].features == ("answer_cut_share", "truncated_example_share")
    assert reasons(infos, values, contrib, top=1) == out[:1]


def test_global_importance_orders_by_mean_absolute_shap() -> None:
    imp = global_importance(["a", "b"], np.array([[0.1, -1.0], [-0.3, 0.5]]))
    assert [n for n, _ in imp] == ["b", "a"]
    assert imp[0][1] == pytest.approx(0.75)


def test_shap_plots_write_png_and_svg(tmp_path: Path) -> None:
    from tuneahead.evaluate.synthetic import make_synthetic_runs
    from tuneahead.predict import Predictor
    from tuneahead.predict.plots import summary_plots, waterfall

    df = make_synthetic_runs(120, seed=3, with_curves=False)
    p = Predictor(n_estimators=40).fit(df, threshold="target")
    written = waterfall(p, df.iloc[[0]], tmp_path / "one") + summary_plots(p, df, tmp_path)
    names = sorted(f.name for f in written)
    assert names == sorted(["one.png", "one.svg", "shap_beeswarm.png", "shap_beeswarm.svg", "shap_bar.png", "shap_bar.svg"])
    for f in written:
        head = f.read_bytes()[:200]
        assert head.startswith(b"\x89PNG") if f.suffix == ".png" else b"<svg" in head or b"<?xml" in head
    assert "probe_loss_drop" in (tmp_path / "shap_bar.svg").read_text()
    with pytest.raises(ValueError, match="exactly one run"):
        waterfall(p, df.head(2), tmp_path / "two")
    expl = p.explanation(df.head(3))
    np.testing.assert_allclose(expl.values.sum(axis=1) + expl.base_values, p.predict_arrays(df.head(3))["metric"],
                               atol=1e-9)


def test_a_value_is_compared_with_what_runs_that_succeeded_had() -> None:
    infos = [FeatureInfo("probe_eval_sequence_accuracy", "dynamic", "accuracy", "share", "held-out exact match")]
    typical = {"probe_eval_sequence_accuracy": 0.12}
    (high,) = reasons(infos, np.array([0.2]), np.array([0.8]), unit="log-odds", typical=typical)
    assert high.text == ("held-out answers already right after the probe: 20 %, more than most runs that succeeded "
                         "(12 %) \u2192 raises the odds \u00d72.2")
    (low,) = reasons(infos, np.array([0.05]), np.array([-0.7]), unit="log-odds", typical=typical)
    assert "less than most runs that succeeded (12 %)" in low.text and "lowers the odds \u00d70.5" in low.text
    (same,) = reasons(infos, np.array([0.121]), np.array([0.1]), unit="log-odds", typical=typical)
    assert "about what runs that succeeded had" in same.text
