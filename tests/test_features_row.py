"""Probe features measured against the data: held-out exact match beyond the commonest-answer guess."""

from __future__ import annotations

import math

import pytest

from tuneahead.catalogue import spec
from tuneahead.features.row import OVER_MAJORITY, relative_features


def test_accuracy_over_the_majority_guess() -> None:
    # A two-answer task at 50 %: no better than always answering the commonest answer.
    assert relative_features({"majority_answer_share": 0.5}, {"probe_eval_sequence_accuracy": 0.5})[OVER_MAJORITY] == 0
    # Answers all different: the guess gets nothing, so the probe's accuracy counts in full.
    got = relative_features({"majority_answer_share": 0.001}, {"probe_eval_sequence_accuracy": 0.5})[OVER_MAJORITY]
    assert got == pytest.approx(0.499)
    assert relative_features({}, {"probe_eval_sequence_accuracy": 0.5}) == {}  # never measured: no column
    assert math.isnan(relative_features({"majority_answer_share": 0.5}, {"probe_eval_sequence_accuracy": math.nan})[OVER_MAJORITY])


def test_it_is_a_catalogued_probe_feature() -> None:
    s = spec(OVER_MAJORITY)
    assert s.kind == "dynamic" and s.unit == "share" and OVER_MAJORITY.startswith("probe_")

