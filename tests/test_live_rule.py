"""The live gate's stop rule and its replay over stored curves."""

from __future__ import annotations

import math

import pytest

from tuneahead.baselines.live_rule import LiveStopRule, ReplayedRun, project_final, replay_run, summarise


def test_a_flat_curve_under_the_target_is_stopped_after_patience():
    rule = LiveStopRule(target=0.8, total_steps=100, patience=2)
    rule.remember(10, 0.0)
    rule.observe(20, 0.05)
    assert not rule.should_stop  # two points are not a curve yet
    assert rule.observe(30, 0.05) < 0.8 and not rule.should_stop
    rule.observe(40, 0.05)
    assert rule.should_stop


def test_patience_zero_never_stops():
    rule = LiveStopRule(target=0.8, total_steps=100, patience=0)
    for step in range(10, 100, 10):
        rule.observe(step, 0.0)
    assert not rule.should_stop


def test_a_rising_curve_headed_over_the_target_runs_on():
    rule = LiveStopRule(target=0.6, total_steps=100, patience=1)
    for step, value in ((10, 0.2), (20, 0.4), (30, 0.55), (40, 0.65)):
        rule.observe(step, value)
        assert not rule.should_stop, step


def test_a_projection_is_a_score_and_needs_points():
    assert math.isnan(project_final([], [], 100))
    assert 0.0 <= project_final([10, 20, 30], [0.5, 0.9, 1.0], 100) <= 1.0


def test_replay_watches_only_after_the_window_and_before_the_end():
    steps = [0, 10, 20, 30, 40, 100]
    flat = [0.0] * len(steps)
    late = replay_run(steps, flat, target=0.5, success=False, watch_from=0.25, patience=1)
    assert late.stopped_at == pytest.approx(0.3)  # the first evaluation after the window (three points by then)
    never = replay_run(steps, flat, target=0.5, success=False, watch_from=0.25, patience=1, until=0.2)
    assert never.stopped_at is None


def test_summary_counts_catches_false_stops_and_savings():
    runs = [ReplayedRun(False, 0.2), ReplayedRun(False, None), ReplayedRun(True, 0.5), ReplayedRun(True, None)]
    s = summarise(runs, [1.0, 1.0, 1.0, 1.0])
    assert (s.failures, s.failures_caught, s.successes_stopped) == (2, 1, 1)
    assert s.savings == pytest.approx(1 - (0.2 + 1 + 0.5 + 1) / 4)
    assert s.oracle_savings == pytest.approx(0.5)
    assert s.median_share_at_catch == pytest.approx(0.2)
