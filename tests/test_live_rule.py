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


def test_live_columns_read_only_the_curve_up_to_each_fraction():
    import numpy as np
    import pandas as pd

    from tuneahead.baselines.live_gate import add_live_columns, live_columns

    steps = np.arange(0, 101, 10)
    table = pd.DataFrame({"curve_steps": [steps], "curve_eval_metric": [steps / 100.0]})
    out = add_live_columns(table)
    assert out["live_eval_metric_10"][0] == pytest.approx(0.1)
    assert out["live_eval_metric_30"][0] == pytest.approx(0.3) and out["live_eval_metric_max_20"][0] == pytest.approx(0.2)
    assert 0.0 <= out["live_projection_30"][0] <= 1.0
    assert set(live_columns(0.1)) < set(live_columns(0.3)) and all(c in out.columns for c in live_columns(0.3))
    # Nothing the curve shows after 30 % reaches the columns.
    later = pd.DataFrame({"curve_steps": [steps], "curve_eval_metric": [np.where(steps > 30, 1.0, 0.0)]})
    assert add_live_columns(later)[list(live_columns(0.3))].iloc[0].max() == 0.0


def test_stop_points_take_the_first_no_go_and_replays_are_accounted():
    import numpy as np

    from tuneahead.baselines.live_gate import GateReplay, stop_points, summarise_replay
    from tuneahead.evaluate.metrics import MethodOutput

    def out(p):
        p = np.asarray(p, float)
        return MethodOutput(p, p, p, p, np.zeros(len(p)), True, go_at=np.full(len(p), 0.7), no_go_at=np.full(len(p), 0.3))

    stops = stop_points([(0.1, out([0.2, 0.5, 0.5])), (0.2, out([0.1, 0.25, 0.9]))])
    assert stops[0] == 0.1 and stops[1] == 0.2 and np.isnan(stops[2])
    success = np.array([False, True, True])
    replayed = GateReplay("p", np.array([False, False, False]), stops)
    s = summarise_replay(replayed, success, np.ones(3), np.zeros(3))
    assert s["failures_caught_live"] == 1 and s["successes_stopped_live"] == 1
    assert s["savings"] == pytest.approx(1 - (0.1 + 0.2 + 1.0) / 3)
    pre = summarise_replay(GateReplay("p", np.array([True, False, False]), np.full(3, np.nan)), success, np.ones(3),
                           np.full(3, 0.01))
    assert pre["failures_stopped_pre_flight"] == 1 and pre["savings"] == pytest.approx(1 - (2 + 0.03) / 3)


def test_stop_points_wait_for_patience_no_gos_in_a_row():
    import numpy as np

    from tuneahead.baselines.live_gate import stop_points
    from tuneahead.evaluate.metrics import MethodOutput

    def out(p):
        p = np.asarray(p, float)
        return MethodOutput(p, p, p, p, np.zeros(len(p)), True, go_at=np.full(len(p), 0.7), no_go_at=np.full(len(p), 0.3))

    outputs = [(0.1, out([0.2, 0.2, 0.9])), (0.2, out([0.2, 0.5, 0.2])), (0.3, out([0.9, 0.2, 0.2]))]
    stops = stop_points(outputs, patience=2)
    assert stops[0] == 0.2 and np.isnan(stops[1]) and stops[2] == 0.3  # run 1's NO-GOs are not in a row
