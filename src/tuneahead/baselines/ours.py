"""Methods built on the TuneAhead predictor: the full model, its ablations, and ProxyLM.

They differ only in which columns they may read and what reading them costs:

| method        | features                                        | cost to decide |
| ------------- | ----------------------------------------------- | -------------- |
| tuneahead     | every feature                                   | the probe      |
| static-only   | data descriptors + recipe hyperparameters       | nothing        |
| dynamic-only  | probe features                                  | the probe      |
| recipe-only   | recipe hyperparameters                          | nothing        |
| proxylm       | proxy fine-tuned (+ zero-shot) score + data descriptors | the proxy run |

ProxyLM (Anugraha et al., 2024) regresses the target model's score on the proxy model's scores and
dataset features with a gradient-boosted regressor; here it is the same LightGBM predictor as
TuneAhead's, with the same choice of P(success) head (conformal from the regressor, or a calibrated
classifier, whichever scores the lower held-out Brier), so the comparison isolates what the features
are worth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneahead.baselines.base import cost_column
from tuneahead.evaluate.metrics import MethodOutput
from tuneahead.store.table import COST_PROBE, COST_PROXY, PROXY_METRIC, PROXY_ZERO_SHOT_METRIC, Role, Task

if TYPE_CHECKING:
    import pandas as pd

    from tuneahead.predict.cutoffs import CutOffs
    from tuneahead.predict.predictor import Predictor


class PredictorMethod:
    """The predictor restricted to features of some roles (plus `extra_cols`)."""

    def __init__(
        self,
        name: str,
        roles: Sequence[Role],
        *,
        extra_cols: Sequence[str] = (),
        description: str = "",
        predictor_kwargs: dict[str, Any] | None = None,
        cost_col: str | None = None,
    ) -> None:
        self.name = name
        self.roles = tuple(roles)
        self.extra_cols = tuple(extra_cols)
        self.description = description or f"TuneAhead predictor on {', '.join(self.roles)} features"
        self.predictor_kwargs = dict(predictor_kwargs or {})
        self.cost_col = cost_col
        self.predictor: Predictor | None = None
        self.features: list[str] = []

    def columns(self, task: Task) -> list[str]:
        return [c for c in self.extra_cols] + task.columns_with_role(*self.roles)

    def unavailable(self, table: pd.DataFrame, task: Task) -> str | None:
        missing = [c for c in self.extra_cols if c not in table.columns]
        if missing:
            return f"column {missing[0]} is missing"
        if not task.columns_with_role(*self.roles) and not self.extra_cols:
            return f"no {'/'.join(self.roles)} feature columns"
        return None

    def decide_cost(self, table: pd.DataFrame, task: Task) -> np.ndarray:
        if self.cost_col is not None:
            return cost_column(table, self.cost_col)
        if any(task.info(c).role == "dynamic" for c in self.features):
            return cost_column(table, COST_PROBE)
        return np.zeros(len(table))  # data descriptors and recipe values cost nothing worth counting

    def fit(self, train: pd.DataFrame, task: Task, seed: int) -> None:
        from tuneahead.predict.predictor import Predictor

        self.features = self.columns(task)
        kwargs = {"seed": seed, "dynamic_prefixes": task.dynamic_prefixes, "recipe_prefixes": task.recipe_prefixes}
        self.predictor = Predictor(**{**kwargs, **self.predictor_kwargs}).fit(
            train,
            task.target,
            threshold=task.threshold,
            feature_cols=self.features,
            group_col=task.group_col if task.group_col in train.columns else None,
        )

    def cut_offs(self, cost_ratio: float) -> CutOffs:
        """GO / NO-GO cut-offs for the stakes, set on this fit's training runs (the gate's own rule)."""
        assert self.predictor is not None
        return self.predictor.cut_offs(cost_ratio)

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput:
        assert self.predictor is not None
        out = self.predictor.predict_arrays(test, strict=True)
        return MethodOutput(out["metric"], out["lo"], out["hi"], out["p_success"], self.decide_cost(test, task))


def tuneahead_methods(predictor_kwargs: dict[str, Any] | None = None) -> list[PredictorMethod]:
    """The full predictor and its static / dynamic / recipe-only ablations."""
    kw = predictor_kwargs or {}
    return [
        PredictorMethod("tuneahead", ("static", "recipe", "dynamic"), description="all features (static + probe)",
                        predictor_kwargs=kw),
        PredictorMethod("static-only", ("static", "recipe"), description="data descriptors + recipe, no probe",
                        predictor_kwargs=kw),
        PredictorMethod("dynamic-only", ("dynamic",), description="probe features only", predictor_kwargs=kw),
        PredictorMethod("recipe-only", ("recipe",), description="recipe hyperparameters only", predictor_kwargs=kw),
    ]


class ProxyLM(PredictorMethod):
    def __init__(self, predictor_kwargs: dict[str, Any] | None = None) -> None:
        super().__init__(
            "proxylm",
            ("static",),
            extra_cols=(PROXY_METRIC,),
            description="proxy model's fine-tuned and zero-shot scores + data descriptors → LightGBM "
                        "(TuneBench runs up to generator v3 score the proxy on the hidden test set, which no "
                        "user has: there, an upper bound on this baseline)",
            predictor_kwargs=dict(predictor_kwargs or {}),
            cost_col=COST_PROXY,
        )

    def fit(self, train: pd.DataFrame, task: Task, seed: int) -> None:
        # The zero-shot score joins when the table has it.
        self.extra_cols = (PROXY_METRIC,) + ((PROXY_ZERO_SHOT_METRIC,) if PROXY_ZERO_SHOT_METRIC in train.columns else ())
        super().fit(train, task, seed)

    def unavailable(self, table: pd.DataFrame, task: Task) -> str | None:
        if PROXY_METRIC not in table.columns or table[PROXY_METRIC].isna().all():
            return f"no proxy scores (needs {PROXY_METRIC})"
        return None

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput:
        """A run without a proxy (its model is the smallest there is) cannot be judged by ProxyLM: it is
        left undecided (let through) and costs nothing to decide."""
        out = super().predict(test, task)
        no_proxy = test[PROXY_METRIC].isna().to_numpy()
        return replace(
            out,
            p_success=np.where(no_proxy, np.nan, out.p_success),
            decide_cost=np.where(no_proxy, 0.0, out.decide_cost),
        )


class Majority:
    """Predict the majority outcome of the training runs for every run; costs nothing."""

    name = "majority"
    description = "the training runs' majority outcome for every run"
    ranks_runs = False  # one P for every run of a fold: nothing to compare in a paired AUROC

    def __init__(self) -> None:
        self.p = float("nan")
        self.mean = float("nan")
        self.lo = self.hi = float("nan")

    def unavailable(self, table: pd.DataFrame, task: Task) -> str | None:
        return None if task.threshold is not None else "needs a success threshold"

    def fit(self, train: pd.DataFrame, task: Task, seed: int) -> None:
        success = task.success(train)
        rate = float(np.mean(success))
        # A majority guess is all-or-nothing; its probability is the base rate for Brier / AUROC.
        self.p = rate
        y = train[task.target].to_numpy(dtype=float)
        self.mean = float(np.nanmean(y))
        self.lo, self.hi = (float(v) for v in np.nanquantile(y, [0.05, 0.95]))

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput:
        n = len(test)
        return MethodOutput(
            np.full(n, self.mean), np.full(n, self.lo), np.full(n, self.hi), np.full(n, self.p), np.zeros(n)
        )
