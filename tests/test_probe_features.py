"""Dynamic features as pure functions of synthetic traces (no model needed)."""

from __future__ import annotations

import math

import pytest

from tuneahead.features.catalogue import spec, specs
from tuneahead.probe.features import features_from_trace
from tuneahead.probe.findings import probe_findings
from tuneahead.probe.trace import EvalPoint, StepRecord, read_trace, write_trace
from tuneahead.recipe.model import Recipe

NAN = float("nan")


def step(k: int, loss: float, grad: float = 1.0, **kw) -> StepRecord:
    base = dict(
        step=k,
        lr=1e-3,
        loss=loss,
        grad_norm=grad,
        clipped=grad > 1.0,
        tokens=100,
        loss_tokens=40,
        seconds=0.1,
        micro_batches=1,
        completion_tokens=40,
        correct_tokens=20,
        grad_norm_first=grad / 2,
        grad_norm_last=grad,
    )
    base.update(kw)
    return StepRecord(**base)


def evals(start: float, end: float, steps: int) -> list[EvalPoint]:
    return [EvalPoint(0, start, 0.1, 50, 50, 0.01), EvalPoint(steps, end, 0.6, 50, 50, 0.01)]


def power_trace(n: int = 40, alpha: float = 0.5) -> list[StepRecord]:
    return [step(k, 5.0 * k ** (-alpha)) for k in range(1, n + 1)]


def test_at_least_twenty_dynamic_features_all_prefixed():
    dynamic = specs("dynamic")
    assert len(dynamic) >= 20
    assert all(s.name.startswith("probe_") for s in dynamic)
    assert all(s.meaning and s.unit for s in dynamic)


def test_loss_features_of_a_power_law():
    f = features_from_trace(power_trace(), evals(5.0, 1.0, 40))
    assert f["probe_initial_loss"] == pytest.approx(5.0)
    assert f["probe_loss_powerlaw_exponent"] == pytest.approx(0.5, abs=1e-6)
    assert f["probe_loss_powerlaw_r2"] == pytest.approx(1.0)
    assert 0.7 < f["probe_loss_drop_rel"] < 0.9
    assert f["probe_loss_late_slope_rel"] < 0
    assert f["probe_loss_spikes"] == 0
    assert f["probe_diverged"] == 0.0 and f["probe_nonfinite"] == 0.0
    assert math.isnan(f["probe_nonfinite_step"])
    assert f["probe_eval_loss_change"] == pytest.approx(-4.0)
    assert f["probe_eval_loss_change_rel"] == pytest.approx(-0.8)
    assert f["probe_eval_token_accuracy"] == pytest.approx(0.6)
    assert f["probe_eval_token_accuracy_gain"] == pytest.approx(0.5)
    assert f["probe_train_token_accuracy"] == pytest.approx(0.5)
    assert f["probe_train_eval_gap"] == pytest.approx(f["probe_final_loss"] - 1.0)
    assert f["probe_grad_layer_ratio"] == pytest.approx(0.5)
    assert f["probe_steps"] == 40
    assert f["probe_tokens_per_second"] == pytest.approx(1000.0)


def test_spikes_and_noise():
    trace = [step(k, 2.0 + 0.01 * (k % 3)) for k in range(1, 41)]
    trace[20].loss = 4.0
    trace[30].loss = 3.5
    f = features_from_trace(trace, [])
    assert f["probe_loss_spikes"] == 2
    assert 0 < f["probe_loss_noise"] < 0.02
    trace[10].loss = 5.0
    f = features_from_trace(trace, [])
    assert f["probe_loss_spikes"] == 3
    assert "probe_loss_spikes" in {x.code for x in probe_findings(f, Recipe(base_model="m"))}


def test_nonfinite_and_divergence():
    trace = [step(k, 3.0 + 0.2 * k) for k in range(1, 15)]
    trace.append(step(15, NAN, grad=NAN, nonfinite=True))
    f = features_from_trace(trace, [])
    assert f["probe_nonfinite"] == 1.0 and f["probe_nonfinite_step"] == 15.0
    assert f["probe_diverged"] == 1.0
    assert f["probe_loss_powerlaw_exponent"] < 0  # rising loss
    codes = [x.code for x in probe_findings(f, Recipe(base_model="m"))]
    assert codes[0] == "probe_diverged"


def test_rising_loss_without_nan_is_divergence():
    f = features_from_trace([step(k, 2.0 * 1.05**k) for k in range(1, 21)], [])
    assert f["probe_nonfinite"] == 0.0 and f["probe_diverged"] == 1.0


def test_loss_that_jumps_on_the_first_update_and_stays_is_divergence():
    # 4.8 before any update, then at 7.6 for good: the start window (4.8, 7.6) hides most of the rise.
    trace = [step(1, 4.8)] + [step(k, 7.6 + 0.01 * (k % 2)) for k in range(2, 13)]
    f = features_from_trace(trace, [])
    assert f["probe_nonfinite"] == 0.0 and f["probe_diverged"] == 1.0
    assert "probe_diverged" in {x.code for x in probe_findings(f, Recipe(base_model="m"))}


def test_loss_climbing_to_the_no_information_level_is_divergence():
    # ln(2048) = 7.62: a uniform guess over the vocabulary. A climb from 6.5 to 7.5 is under the relative
    # bar; it counts only when the vocabulary is known.
    trace = [step(k, 6.5 + 1.0 * min(k, 10) / 10) for k in range(1, 31)]
    assert features_from_trace(trace, [])["probe_diverged"] == 0.0
    assert features_from_trace(trace, [], vocab_size=2048)["probe_diverged"] == 1.0
    # A loss that falls from near that level is learning, not diverging.
    falling = [step(k, 7.5 - 0.05 * k) for k in range(1, 31)]
    assert features_from_trace(falling, [], vocab_size=2048)["probe_diverged"] == 0.0


def test_gradient_statistics():
    trace = [step(k, 3.0, grad=float(k)) for k in range(1, 21)]
    f = features_from_trace(trace, [])
    assert f["probe_grad_norm_max"] == 20.0
    assert f["probe_grad_norm_mean"] == pytest.approx(10.5)
    assert f["probe_grad_norm_trend"] == pytest.approx(math.log(19.5 / 1.5))
    assert f["probe_clipped_share"] == pytest.approx(19 / 20)


def test_gradient_noise_scale_recovers_known_value():
    # |g_B|² = |G|² + tr(Σ)/B with |G|² = 1 and tr(Σ) = 500 tokens.
    def sq(b):
        return 1.0 + 500.0 / b

    trace = [
        step(
            k,
            3.0,
            grad_sq_small=sq(50),
            grad_sq_big=sq(200),
            batch_small=50.0,
            batch_big=200.0,
            grad_cosine=0.3,
        )
        for k in range(1, 11)
    ]
    f = features_from_trace(trace, [])
    assert f["probe_grad_noise_scale"] == pytest.approx(500.0)
    assert f["probe_grad_cosine"] == pytest.approx(0.3)
    # Noise-free gradients (the small batch's |g|² is no larger than the big one's): scale 0.
    for r in trace:
        r.grad_sq_small = r.grad_sq_big = 1.0
    assert features_from_trace(trace, [])["probe_grad_noise_scale"] == 0.0


def test_update_ratio_and_weight_norm_change():
    trace = [step(k, 3.0) for k in range(1, 11)]
    trace[0].param_norm_before, trace[0].param_norm, trace[0].update_norm = 10.0, 10.5, 0.1
    trace[5].param_norm_before, trace[5].param_norm, trace[5].update_norm = 11.0, 11.0, 0.33
    f = features_from_trace(trace, [])
    assert f["probe_update_ratio"] == pytest.approx((0.01 + 0.03) / 2)
    assert f["probe_weight_norm_change"] == pytest.approx(0.1)
    full = Recipe(base_model="m", adapter={"type": "full"})
    assert "probe_large_updates" in {x.code for x in probe_findings(f, full)}
    assert "probe_large_updates" not in {x.code for x in probe_findings(f, Recipe(base_model="m"))}  # LoRA


def test_prefix_ignores_later_steps_and_evals():
    trace = power_trace(40)
    points = [
        EvalPoint(0, 5.0, 0.1, 50, 50, 0.0),
        EvalPoint(20, 2.0, 0.4, 50, 50, 0.0),
        EvalPoint(40, 9.0, 0.9, 50, 50, 0.0),
    ]
    prefix = features_from_trace(trace, points, upto_step=20)
    cut = features_from_trace(trace[:20], points[:2])
    assert prefix["probe_steps"] == 20
    assert prefix["probe_eval_loss_end"] == 2.0
    assert all((math.isnan(prefix[k]) and math.isnan(cut[k])) or prefix[k] == cut[k] for k in prefix)


def test_empty_trace_gives_nan_not_errors():
    f = features_from_trace([], [])
    assert f["probe_steps"] == 0
    assert math.isnan(f["probe_initial_loss"]) and math.isnan(f["probe_grad_norm_mean"])


def test_flat_loss_and_rising_eval_findings():
    f = features_from_trace([step(k, 3.0) for k in range(1, 21)], evals(3.0, 3.3, 20))
    codes = {x.code for x in probe_findings(f, Recipe(base_model="m"))}
    assert {"probe_loss_flat", "probe_eval_loss_rising"} <= codes


def test_trace_round_trip(tmp_path):
    trace = power_trace(12)
    trace[-1].nonfinite, trace[-1].loss = True, NAN
    points = evals(5.0, 2.0, 12)
    points[-1].extra = {"exact_match": 0.5, "unscored": NAN}
    path = tmp_path / "probe.jsonl"
    write_trace(path, trace, points, {"model": "tiny-0.2m"})
    back, back_evals, meta = read_trace(path)
    assert meta["model"] == "tiny-0.2m"
    assert [r.step for r in back] == list(range(1, 13)) and math.isnan(back[-1].loss)
    assert back_evals[-1].extra["exact_match"] == 0.5 and math.isnan(back_evals[-1].extra["unscored"])
    assert "NaN" not in path.read_text()  # strict JSON
    a, b = features_from_trace(trace, points), features_from_trace(back, back_evals)
    assert all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def test_bad_trace_line_names_file_and_line(tmp_path):
    from tuneahead.errors import DataError

    path = tmp_path / "bad.jsonl"
    path.write_text('{"type": "probe_trace", "version": 1}\n{"type": "what"}\n')
    with pytest.raises(DataError) as err:
        read_trace(path)
    assert err.value.location.line == 2


def test_units_are_registered():
    assert spec("probe_grad_noise_scale").unit == "tokens"
    assert spec("probe_tokens_per_second").group == "speed"
