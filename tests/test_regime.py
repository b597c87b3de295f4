"""The predictability regime a verdict reports."""

from __future__ import annotations

import math

from tuneahead.gate.regime import read_regime, static_share

FEATURES = {"exact_duplicate_share": 0.0, "recipe_log10_learning_rate": -3.0, "probe_final_loss": 1.2}


def test_the_bar_is_not_a_feature_of_the_run():
    share = static_share({"exact_duplicate_share": -1.0, "probe_final_loss": 3.0, "target": 10.0}, FEATURES)
    assert share == 0.25
    assert math.isnan(static_share({}, FEATURES))


def test_regimes_follow_the_stages_and_the_evidence():
    data_led = {"exact_duplicate_share": -2.0, "recipe_log10_learning_rate": 1.0, "probe_final_loss": 0.5}
    probe_led = {"exact_duplicate_share": -0.2, "probe_final_loss": 2.0}
    assert read_regime(["NO-GO"], data_led, FEATURES).name == "static-sufficient"
    assert read_regime(["GO"], probe_led, FEATURES).name == "dynamic-critical"
    assert read_regime(["UNCERTAIN", "GO"], data_led, FEATURES).name == "dynamic-critical"
    assert read_regime(["UNCERTAIN", "UNCERTAIN"], data_led, FEATURES).name == "noise-dominant"
    undetermined = read_regime(["UNCERTAIN"], probe_led, FEATURES)
    assert undetermined.name == "undetermined" and "longer probe" in undetermined.why
    assert read_regime(["NO-GO"], data_led, FEATURES).to_dict()["static_share"] == 3.0 / 3.5
