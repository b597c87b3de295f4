"""The verdict answers the user's question: P(success) follows the target, and data problems never help.

Properties checked on the bundled predictor over the real TuneBench runs it was trained on (the committed
pooled export), and on the demo recipe end to end.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tuneahead.catalogue  # noqa: F401 -- every feature's unit and meaning
from tuneahead.features.row import KNOWN_DIRECTIONS, known_direction
from tuneahead.features.catalogue import spec
from tuneahead.gate.bundle import load_bundle

RUNS = Path(__file__).parents[1] / "bench" / "pooled" / "runs.parquet"
BARS = np.round(np.arange(0.05, 1.0, 0.1), 2)


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return pd.read_parquet(RUNS)


@pytest.fixture(scope="module", params=["short", "long"])
def predictor(request):
    stages = {s.name: s.predictor for s in load_bundle().stages}
    return stages[request.param]


def test_every_known_direction_names_a_registered_feature() -> None:
    for name, direction in KNOWN_DIRECTIONS.items():
        if not name.startswith("recipe_"):
            spec(name)  # raises for a name the catalogue does not know
        assert direction in (-1, 1)


def test_p_never_rises_with_the_bar_on_real_runs(runs, predictor) -> None:
    p = np.array([predictor.predict_arrays(runs, threshold=float(b), strict=False)["p_success"] for b in BARS])
    assert np.isfinite(p).all()
    assert (np.diff(p, axis=0) <= 1e-9).all()
    # ... and the bar matters: a run asked to reach 0.25 is far likelier to than one asked to reach 0.95.
    assert float(np.mean(p[2] - p[-1])) > 0.2


def _worse(values: pd.Series, direction: int, name: str) -> pd.Series:
    """The same runs with more of the problem: shares towards 1, counts and flags up by a step."""
    unit = spec(name).unit if not name.startswith("recipe_") else "bool"
    if unit in ("share", "bool"):
        return values + (1.0 - values) * 0.8 if direction < 0 else values * 0.2
    step = max(float(values.std() or 0.0), 1.0)
    return values + step if direction < 0 else values - step


def test_a_data_problem_never_raises_p(runs, predictor) -> None:
    base = predictor.predict_arrays(runs, threshold=runs["target"].to_numpy(), strict=False)["p_success"]
    checked = 0
    for name in predictor.feature_names:
        direction = known_direction(name)
        if not direction:
            continue
        worse = runs.copy()
        worse[name] = _worse(runs[name].astype(float).fillna(0.0), direction, name)
        p = predictor.predict_arrays(worse, threshold=runs["target"].to_numpy(), strict=False)["p_success"]
        assert (p <= base + 1e-9).all(), f"more {name} raised P for {int((p > base + 1e-9).sum())} runs"
        checked += 1
    assert checked >= 15  # leakage, duplicates, conflicts, truncation, skew, masking, findings, divergence


def test_no_data_problem_appears_as_a_reason_raising_p(runs, predictor) -> None:
    """A data-problem feature may raise P only where the run has less of the problem than most that
    succeeded (the reason then says so); where the run has more, it never reads as a reason for success."""
    sample = runs.sample(150, random_state=0)
    typical = {n: f.q50_success for n, f in predictor.summary.features.items()}
    for f in predictor.predict(sample, strict=False, top_reasons=10):
        for r in f.p_reasons:
            harmful = [n for n in r.features if known_direction(n) < 0]
            if r.contribution <= 0 or not harmful or r.features[0] not in harmful:
                continue
            lead = r.features[0]
            assert "more than most runs that succeeded" not in r.phrase, (lead, r.text, typical.get(lead))


@pytest.mark.parametrize("targets", [(0.3, 0.95)])
def test_the_demo_is_likelier_to_reach_a_lower_target(targets) -> None:
    from tuneahead.commands.demo import bundled_examples_dir
    from tuneahead.gate import check

    recipe = bundled_examples_dir() / "demo_recipe_tiny.yaml"
    low, high = (check(recipe, target=f"exact_match>={t}", threads=2) for t in targets)
    assert low.p_model > high.p_model + 0.15
    assert low.forecast == pytest.approx(high.forecast)  # the forecast of the metric does not depend on the bar
    assert low.cut_offs["basis"].startswith("set on")


def test_a_bar_at_the_metrics_floor_is_certain_to_be_reached():
    """Every run reaches exact_match >= 0: P is the highest the predictor gives, not what it says at 0.05."""
    import numpy as np
    import pandas as pd

    from tuneahead.gate.bundle import load_bundle
    from tuneahead.predict.calibration import P_MAX

    runs = pd.read_parquet(Path(__file__).resolve().parents[1] / "bench" / "pooled" / "runs.parquet").iloc[:20]
    predictor = load_bundle().stages[0].predictor
    at_floor = np.asarray(predictor.predict_arrays(runs, threshold=0.0, strict=False)["p_success"])
    above = np.asarray(predictor.predict_arrays(runs, threshold=0.05, strict=False)["p_success"])
    assert np.all(at_floor == P_MAX) and np.all(above <= at_floor)
