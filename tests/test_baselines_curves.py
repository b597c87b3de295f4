"""Learning-curve families: each recovers its own curve; the ensemble picks the right family."""

from __future__ import annotations

import numpy as np
import pytest

from tuneahead.baselines.curves import FAMILIES, FAMILY_NAMES, extrapolate, fit_family, prefix

X = np.linspace(1.0, 30.0, 20)  # the first 30 % of a run, in percent
CURVES = {
    "pow3": lambda x: 0.9 - 0.5 * x**-0.6,
    "exp3": lambda x: 0.8 - 0.6 * np.exp(-0.08 * x),
    "log_power": lambda x: 0.85 / (1 + (x / np.exp(1.5)) ** -1.2),
    "janoschek": lambda x: 0.75 - (0.75 - 0.1) * np.exp(-0.02 * x**1.3),
    "weibull": lambda x: 0.7 - (0.7 - 0.05) * np.exp(-((0.05 * x) ** 1.4)),
    "mmf": lambda x: 0.8 - (0.8 - 0.1) / (1 + (0.1 * x) ** 1.5),
    "ilog2": lambda x: 0.9 - 0.4 / np.log(x + 1),
}


def test_required_families_are_there() -> None:
    assert {"pow3", "exp3", "log_power", "janoschek", "weibull"} <= set(FAMILY_NAMES)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_NAMES)
def test_each_family_fits_its_own_curve_and_extrapolates(family) -> None:  # type: ignore[no-untyped-def]
    truth = CURVES[family.name]
    fit = fit_family(family, X, truth(X))
    assert fit is not None
    assert np.max(np.abs(fit(X) - truth(X))) < 5e-3
    assert fit(100.0)[0] == pytest.approx(truth(100.0), abs=0.03)


def test_ensemble_projects_a_noisy_curve_better_than_the_last_value() -> None:
    rng = np.random.default_rng(0)
    truth = CURVES["exp3"]
    errors, naive = [], []
    for _ in range(20):
        y = truth(X) + rng.normal(0, 0.005, len(X))
        errors.append(abs(extrapolate(X, y).value - truth(100.0)))
        naive.append(abs(y[-1] - truth(100.0)))
    assert np.mean(errors) < 0.7 * np.mean(naive)


def test_ensemble_weights_favour_the_generating_family() -> None:
    e = extrapolate(X, CURVES["pow3"](X))
    assert sum(e.weights.values()) == pytest.approx(1.0)
    assert max(e.weights, key=e.weights.get) in {"pow3", "janoschek", "weibull", "mmf"}
    assert e.value == pytest.approx(CURVES["pow3"](100.0), abs=0.02)


def test_short_or_broken_curves_fall_back() -> None:
    assert extrapolate(np.array([1.0, 2.0]), np.array([0.1, 0.2])).value == pytest.approx(0.15)
    assert np.isnan(extrapolate(np.array([]), np.array([])).value)
    flat = extrapolate(X, np.full(len(X), 0.4))
    assert flat.value == pytest.approx(0.4, abs=1e-6)
    with_nan = CURVES["exp3"](X)
    with_nan[3] = np.nan
    assert np.isfinite(extrapolate(X, with_nan).value)


def test_prefix_takes_the_first_fraction_of_the_run() -> None:
    steps = np.arange(10, 101, 10, dtype=float)
    x, y = prefix(steps, steps / 100, 0.3)
    assert list(x) == [10.0, 20.0, 30.0] and list(y) == [0.1, 0.2, 0.3]
    assert prefix(np.array([]), np.array([]), 0.3)[0].size == 0
