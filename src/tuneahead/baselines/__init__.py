"""Baselines compared with the predictor on the same runs and the same cost accounting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tuneahead.baselines.base import Method


def default_methods(
    *, fractions: Sequence[float] = (0.1, 0.2, 0.3), predictor_kwargs: dict[str, Any] | None = None
) -> list[Method]:
    """TuneAhead and its ablations, ProxyLM, early-stop extrapolation at each fraction, linear early stop, majority:
    what `tuneahead evaluate` compares by default (the harness takes any list)."""
    from tuneahead.baselines.early_stop import EarlyStopExtrapolation, LinearEarlyStop
    from tuneahead.baselines.ours import Majority, ProxyLM, tuneahead_methods

    methods: list[Method] = [*tuneahead_methods(predictor_kwargs), ProxyLM(predictor_kwargs)]
    methods += [EarlyStopExtrapolation(f) for f in fractions]
    methods += [LinearEarlyStop(0.1), Majority()]
    return methods
