"""The predictor: a run's feature vector → final-metric forecast with an interval, P(success), reasons.

How it is built (`Predictor.fit`):

1. Inner folds: by `group_col` when given (so out-of-fold errors look like errors on a *new* task
   family), otherwise random.
2. A LightGBM regressor is cross-fitted on those folds; its out-of-fold residuals give split-conformal
   intervals and a predictive distribution, P(y ≥ t) for any threshold t. With
   `regularisation="auto"` (the default) the given tree settings and two more conservative ones are
   each cross-fitted and the one with the lowest out-of-fold loss is kept (the same for the classifier
   in step 3): on a few hundred runs, held out by task, simpler trees often generalise better, and the
   inner folds, never the evaluation's test runs, decide.
3. With a threshold (one number, or a column of per-run thresholds, which then becomes a classifier
   input), a LightGBM classifier and a penalised logistic regression (`predict.linear`) are cross-fitted
   as well. Both keep P(success) from rising with the bar (a monotone constraint, a sign bound).
4. The probability sources (conformal, LightGBM, linear) are calibrated (isotonic and Platt are tried)
   and judged by their Brier score on out-of-fold runs with cross-fitted calibrators: nothing is scored
   on data it was fitted on. The best one answers (`p_method="auto"`); the conformal one remains as
   fallback, e.g. for a threshold a fixed-threshold classifier never trained on.
5. Final models are trained on all runs with the number of rounds found in step 2 (the one number
   chosen on the same inner folds, a negligible optimism in the out-of-fold diagnostics).

Missing feature values (NaN) are fine: LightGBM routes them down a learned branch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tuneahead.errors import InputError, Location
from tuneahead.predict.artifact import STATE_FIELDS, PredictorState
from tuneahead.predict.artifact import load as load_state
from tuneahead.predict.artifact import save as save_state
from tuneahead.features.row import (
    DEFAULT_DYNAMIC_PREFIXES,
    DEFAULT_RECIPE_PREFIXES,
    FeatureInfo,
    feature_info,
    known_direction,
)
from tuneahead.predict.calibration import (
    P_MAX,
    CalibrationKind,
    Calibrator,
    brier,
    cross_fit,
    expected_calibration_error,
    fit_calibrator,
)
from tuneahead.predict.bars import grid_bars, stack
from tuneahead.predict.conformal import ResidualModel, cross_fitted_p, new_group_residuals
from tuneahead.predict.cutoffs import DEFAULT_COST_RATIO, CutOffs, cut_offs_for_stakes, fixed_cut_offs
from tuneahead.predict.explain import Reason, global_importance, reasons
from tuneahead.predict.lgbm import (
    PREDICT_PARAMS,
    BoostingParams,
    cross_fit_and_train,
    fit_workers,
    oof_loss,
    regularisation_report,
    select_and_cross_fit,
    stronger_regularisation,
)
from tuneahead.predict.lgbm import train as lgb_train
from tuneahead.predict.linear import LinearClassifier, cross_fit_linear
from tuneahead.predict.ood import TrainingSummary
from tuneahead.predict.schema import FeatureSchema, feature_matrix, to_frame
from tuneahead.predict.splits import group_folds
from tuneahead.store.table import (
    require_columns,
    require_numeric,
    require_varying,
    select_feature_columns,
)

if TYPE_CHECKING:
    import lightgbm as lgb
    import pandas as pd
    import shap

PMethod = Literal["auto", "classifier", "linear", "conformal"]
MIN_RUNS = 20
MIN_PER_CLASS = 5


@dataclass(frozen=True)
class Forecast:
    """One run's forecast.

    `base_value + sum(contributions.values())` equals `metric` (before clipping to the metric's bounds,
    which only matters when the model overshoots them). Contributions are in units of the target metric.

    When a trained success model (LightGBM or linear) gave P(success), `p_contributions` explain it:
    exact SHAP values in log-odds, with `p_base_value + sum(p_contributions.values()) == logit(p_raw)`,
    where `p_raw` is the model's probability before calibration (calibration is monotone, so it keeps
    every reason's direction). They include the bar itself when the model takes it as an input.
    """

    metric: float
    interval: tuple[float, float]
    coverage: float
    threshold: float | None
    p_success: float | None
    p_method: str | None
    ood: bool
    ood_reasons: tuple[str, ...]
    base_value: float
    contributions: dict[str, float] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()
    p_raw: float | None = None
    p_base_value: float = math.nan
    p_contributions: dict[str, float] = field(default_factory=dict)
    p_reasons: tuple[Reason, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "interval": list(self.interval),
            "coverage": self.coverage,
            "threshold": self.threshold,
            "p_success": self.p_success,
            "p_method": self.p_method,
            "ood": self.ood,
            "ood_reasons": list(self.ood_reasons),
            "base_value": self.base_value,
            "contributions": self.contributions,
            "reasons": [r.to_dict() for r in self.reasons],
            "p_success_explanation": None if not self.p_contributions else {
                "unit": "log-odds", "p_raw": self.p_raw, "base_value": self.p_base_value,
                "contributions": self.p_contributions, "reasons": [r.to_dict() for r in self.p_reasons],
            },
        }


class NotFittedError(InputError):
    """The predictor was used before `fit` or `load`."""


class Predictor:
    """Learn `target` from numeric feature columns of a run table; see the module docstring."""

    def __init__(
        self,
        *,
        num_leaves: int = 15,
        min_data_in_leaf: int = 10,
        learning_rate: float = 0.05,
        feature_fraction: float = 0.8,
        n_estimators: int | None = None,
        inner_folds: int = 5,
        regularisation: Literal["auto", "fixed"] = "auto",
        p_method: PMethod = "auto",
        calibration: CalibrationKind | Literal["auto"] = "auto",
        num_threads: int | None = None,
        seed: int = 0,
        dynamic_prefixes: Sequence[str] = DEFAULT_DYNAMIC_PREFIXES,
        recipe_prefixes: Sequence[str] = DEFAULT_RECIPE_PREFIXES,
    ) -> None:
        if p_method not in ("auto", "classifier", "linear", "conformal"):
            raise InputError(f"p_method must be 'auto', 'classifier', 'linear' or 'conformal', not {p_method!r}",
                             Location(field="p_method"))
        if calibration not in ("auto", "isotonic", "platt", "identity"):
            raise InputError(f"calibration must be 'auto', 'isotonic', 'platt' or 'identity', not {calibration!r}",
                             Location(field="calibration"))
        self.boosting = BoostingParams(
            num_leaves=num_leaves,
            min_data_in_leaf=min_data_in_leaf,
            learning_rate=learning_rate,
            feature_fraction=feature_fraction,
            n_estimators=n_estimators,
            num_threads=num_threads,
            seed=seed,
        )
        if regularisation not in ("auto", "fixed"):
            raise InputError(f"regularisation must be 'auto' or 'fixed', not {regularisation!r}",
                             Location(field="regularisation"))
        self.inner_folds = inner_folds
        self.regularisation = regularisation
        self.p_method_requested: PMethod = p_method
        self.calibration_requested = calibration
        self.dynamic_prefixes = tuple(dynamic_prefixes)
        self.recipe_prefixes = tuple(recipe_prefixes)
        # Set by fit / load:
        self.schema: FeatureSchema | None = None
        self.target: str = ""
        self.threshold_value: float | None = None
        self.threshold_col: str | None = None
        self.group_col: str | None = None
        self.coverage: float = 0.9
        self.bounds: tuple[float, float] | None = None
        self.regressor: lgb.Booster | None = None
        self.classifier: lgb.Booster | None = None
        self.linear: LinearClassifier | None = None
        self.classifier_uses_threshold = False
        self.classifier_threshold: float | None = None  # the one threshold a fixed-threshold classifier knows
        self.residuals: ResidualModel | None = None
        self.calibrators: dict[str, Calibrator] = {}
        self.p_method: str | None = None  # "classifier", "linear" or "conformal" once fitted with a threshold
        self.rounds: dict[str, int] = {}
        self.summary: TrainingSummary | None = None
        self.importance: list[tuple[str, float]] = []
        self.diagnostics: dict[str, Any] = {}
        self._infos: list[FeatureInfo] = []
        self._chosen_boosting: BoostingParams | None = None  # fit-time only: the regressor's chosen settings

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        table: pd.DataFrame,
        target: str = "final_metric",
        threshold: float | str | None = None,
        feature_cols: Sequence[str] | None = None,
        group_col: str | None = None,
        coverage: float = 0.9,
        *,
        exclude_cols: Sequence[str] = (),
        target_bounds: tuple[float, float] | Literal["auto"] | None = "auto",
    ) -> Predictor:
        """Fit on `table` (one row per run).

        threshold: a number, the name of a column with each run's threshold, or None (then P(success)
        needs a threshold at predict time and is taken from the conformal predictive distribution).
        """
        table = to_frame(table)
        if not 0.0 < coverage < 1.0:
            raise InputError(f"coverage must lie strictly between 0 and 1, got {coverage}", Location(field="coverage"))
        require_columns(table, [target], what="target")
        threshold_col = threshold if isinstance(threshold, str) else None
        if threshold_col is not None:
            require_columns(table, [threshold_col], what="threshold")
        excluded = [*exclude_cols, *([group_col] if group_col else []), *([threshold_col] if threshold_col else [])]
        names = select_feature_columns(table, target=target, feature_cols=feature_cols, exclude=excluded)
        if group_col is not None:
            require_columns(table, [group_col], what="group")
        require_numeric(table, [target, *([threshold_col] if threshold_col else [])])
        require_varying(table, target)

        y_all = feature_matrix(table, [target])[:, 0]
        keep = np.isfinite(y_all)
        if keep.sum() < MIN_RUNS:
            raise InputError(
                f"need at least {MIN_RUNS} runs with a numeric {target!r}; got {int(keep.sum())}",
                Location(field=target),
            )
        table = table.loc[keep].reset_index(drop=True)
        y = y_all[keep]
        X = feature_matrix(table, names)
        t = self._fit_thresholds(table, threshold, threshold_col)

        self._set_schema(names)
        self.target = target
        self.threshold_col = threshold_col
        self.threshold_value = float(threshold) if threshold is not None and threshold_col is None else None
        self.group_col = group_col
        self.coverage = coverage
        self.bounds = _bounds(y) if target_bounds == "auto" else target_bounds

        groups = table[group_col].to_numpy() if group_col else None
        folds = group_folds(len(y), groups, self.inner_folds, seed=self.boosting.seed)
        n_folds = len(np.unique(folds))

        # Regressor + conformal residuals.
        oof, rounds, bp, tried = select_and_cross_fit(X, y, folds, self._candidates(), "regression")
        self._chosen_boosting = bp  # the stacked classifier reuses this choice (see _fit_probability)
        self.rounds = {"regressor": rounds}
        # Held out by group, a new run is most likely of a new family: its residuals carry a new family offset.
        self.residuals = ResidualModel.from_residuals(new_group_residuals(y - oof, groups, coverage))
        self.regressor = lgb_train(X, y, bp, "regression", rounds)
        self.diagnostics = {
            "n_runs": len(y),
            "n_dropped_without_target": int((~keep).sum()),
            "inner_folds": n_folds,
            "inner_split": f"by {group_col}" if groups is not None and len(set(map(str, groups))) > 1 else "random",
            "oof": _regression_diagnostics(y, oof, folds, coverage, groups),
            "regularisation": {"regressor": tried},
        }

        # P(success) sources, calibrated and compared on out-of-fold runs.
        self.classifier = None
        self.calibrators = {}
        self.p_method = None
        labelled = np.isfinite(t)
        if labelled.sum() >= MIN_RUNS:
            self._fit_probability(X[labelled], y[labelled], t[labelled], oof[labelled], folds[labelled],
                                  None if groups is None else groups[labelled])

        # The bars P(success) was trained at: each run's own and the stacked grid's (`predict.bars`).
        known_bars = np.concatenate([t, grid_bars(y, self.bounds)]) if labelled.any() else None
        self.summary = TrainingSummary.from_matrix(X, names, known_bars, success=labelled & (y >= t))
        contrib = np.asarray(self.regressor.predict(X, pred_contrib=True, **PREDICT_PARAMS))
        self.importance = global_importance(names, contrib[:, :-1])
        return self

    def _candidates(self) -> list[BoostingParams]:
        """The boosting settings the inner folds choose among (`regularisation="auto"`), or just the given one."""
        return stronger_regularisation(self.boosting) if self.regularisation == "auto" else [self.boosting]

    def _fit_thresholds(self, table: pd.DataFrame, threshold: float | str | None, col: str | None) -> np.ndarray:
        if threshold is None:
            return np.full(len(table), np.nan)
        if col is not None:
            return feature_matrix(table, [col])[:, 0]
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
            raise InputError(f"threshold must be a finite number or a column name, got {threshold!r}")
        return np.full(len(table), float(threshold))

    def _fit_probability(
        self, X: np.ndarray, y: np.ndarray, t: np.ndarray, oof: np.ndarray, folds: np.ndarray,
        groups: np.ndarray | None = None,
    ) -> None:
        """P(success) sources for any bar, trained on the runs stacked at a grid of bars (`predict.bars`).

        Every source is cross-fitted, calibrated and scored on the stacked rows (the Brier score over all
        bars is a proper score of the whole predictive distribution P(y >= b)); scores at the runs' own bars
        are reported beside it. Data-problem features and the bar keep their known directions.
        """
        assert self.schema is not None
        st = stack(X, y, t, self.bounds)
        success, fold_s = st.success, folds[st.run]
        own_success = success[st.own]
        kinds: list[CalibrationKind] = (
            ["isotonic", "platt"] if self.calibration_requested == "auto" else [self.calibration_requested]
        )
        run_groups = None if groups is None else groups[st.run]
        raw: dict[str, np.ndarray] = {
            "conformal": cross_fitted_p(oof[st.run], y[st.run], st.bar, fold_s, run_groups, self.coverage)}

        n_pos, n_neg = int(own_success.sum()), int(len(own_success) - own_success.sum())
        self.classifier_uses_threshold = True  # the bar is always an input: P answers at any bar
        self.classifier_threshold = None
        Xc = _with_threshold(st.X, st.bar)
        directions = [known_direction(name) for name in self.schema.names] + [-1]  # the bar: higher, never likelier
        enough = min(n_pos, n_neg) >= MIN_PER_CLASS
        with ThreadPoolExecutor(max_workers=fit_workers(2)) as pool:
            # The boosted classifier trains in a thread (LightGBM releases the GIL) while the linear model fits.
            classifier_job = (pool.submit(self._fit_classifier, Xc, success, fold_s, st.rows_per_run, len(y),
                                          directions)
                              if enough and self.p_method_requested in ("auto", "classifier") else None)
            if enough and self.p_method_requested in ("auto", "linear"):
                signs = {j: d for j, d in enumerate(directions) if d}
                # The stacked rows of a run differ in the bar only (the last column): the fit reads each run once.
                p_oof, c, tried = cross_fit_linear(Xc, success, fold_s, signs, repeats=st.run)
                raw["linear"] = p_oof
                self.linear = LinearClassifier(c, signs).fit(Xc, success, st.run)
                self.diagnostics.setdefault("regularisation", {})["linear"] = tried
            if classifier_job is not None:
                p_oof, rounds, self.classifier, tried = classifier_job.result()
                raw["classifier"] = p_oof
                self.rounds["classifier"] = rounds
                self.diagnostics.setdefault("regularisation", {})["classifier"] = tried
        raw = {m: raw[m] for m in ("conformal", "classifier", "linear") if m in raw}  # a fixed order for ties

        report: dict[str, Any] = {"n_labelled": len(own_success), "n_success": n_pos, "n_failure": n_neg,
                                  "bars_per_run": st.rows_per_run, "methods": {}}
        calibrated_oof: dict[str, np.ndarray] = {}
        for method, p in raw.items():
            # "identity" competes too: a well-behaved source may need no calibration at all.
            method_kinds = [*kinds, "identity"] if self.calibration_requested == "auto" else kinds
            scores = {kind: brier(cross_fit(p, success, fold_s, kind), success) for kind in method_kinds}
            best_kind = min(scores, key=lambda k: scores[k])
            self.calibrators[method] = fit_calibrator(p, success, best_kind)  # type: ignore[arg-type]
            p_best = cross_fit(p, success, fold_s, best_kind)  # type: ignore[arg-type]
            calibrated_oof[method] = p_best
            report["methods"][method] = {
                "calibration": best_kind,
                "brier_raw": brier(p, success),
                "brier_calibrated": scores[best_kind],
                "ece_calibrated": expected_calibration_error(p_best, success),
                "own_bar_brier": brier(p_best[st.own], own_success),
                "own_bar_ece": expected_calibration_error(p_best[st.own], own_success),
                "auroc": _auroc(p_best[st.own], own_success),
            }
        if self.p_method_requested in ("classifier", "linear") and self.p_method_requested not in raw:
            raise InputError(
                f"cannot train a success classifier: {n_pos} successes and {n_neg} failures "
                f"(need at least {MIN_PER_CLASS} of each)",
                hint="use p_method='conformal' or 'auto'",
            )
        allowed = [m for m in raw if self.p_method_requested in ("auto", m)]
        self.p_method = min(allowed, key=lambda m: report["methods"][m]["brier_calibrated"])
        report["chosen"] = self.p_method
        # What the chosen source said, out of fold, about each training run at its own bar: the gate sets its
        # cut-offs for a user's stakes from these (`Predictor.cut_offs`), never from test runs.
        report["oof_own_bar"] = {"p": [round(float(v), 6) for v in calibrated_oof[self.p_method][st.own]],
                                 "success": [int(v) for v in own_success]}
        self.diagnostics["p_success"] = report

    def _fit_classifier(
        self, Xc: np.ndarray, success: np.ndarray, folds: np.ndarray, rows_per_run: int, n_runs: int,
        directions: list[int],
    ) -> tuple[np.ndarray, int, Any, list[dict[str, Any]]]:
        """The boosted success classifier on the stacked table: (out-of-fold P, rounds, booster, report).

        It takes the regularisation the regressor's inner folds chose, on the same runs: cross-fitting three
        settings on the stacked table (11 rows a run) took most of a fit's time. Leaves are sized in runs (a
        run's stacked rows share every feature but the bar), and threads too: the stacked table is no bigger
        a job per split than its runs' (see BoostingParams.threads). Twice the learning rate: at the
        regressor's, early stopping rarely came before the 1,000-round cap (2,000 runs: 999 rounds), at twice
        the cost of the fit's other parts together; held out by family on the pooled corpus, AUROC and Brier
        stayed the same (0.743 / 0.202 before, 0.749 / 0.200 after, one seed). Trees on a gradient-based
        sample of the stacked rows (LightGBM's GOSS) were tried and left out: as good on 2,000 synthetic runs
        (out-of-fold Brier at own bars 0.0869 against 0.0871) in two thirds of the time, but worse on the
        pooled corpus held out by family (3 seeds: AUROC 0.726 against 0.737, Brier 0.215 against 0.207).
        """
        chosen = self._chosen_boosting or self.boosting
        bp = replace(chosen, min_data_in_leaf=chosen.min_data_in_leaf * rows_per_run,
                     num_threads=chosen.threads(n_runs), learning_rate=2 * chosen.learning_rate)
        p_oof, rounds, booster = cross_fit_and_train(Xc, success, folds, bp, "binary", directions)
        tried = [{**regularisation_report(bp), "rounds": rounds, "oof_loss": oof_loss(success, p_oof, "binary")}]
        return p_oof, rounds, booster, tried

    def _set_schema(self, names: Sequence[str], stored: FeatureSchema | None = None) -> None:
        """Feature roles/units come from the catalogue at fit time; a loaded predictor keeps the stored ones."""
        infos = [feature_info(n, dynamic_prefixes=self.dynamic_prefixes, recipe_prefixes=self.recipe_prefixes) for n in names]
        if stored is not None:
            infos = [
                FeatureInfo(i.name, role, i.group, unit or i.unit, i.meaning)  # type: ignore[arg-type]
                for i, role, unit in zip(infos, stored.roles, stored.units, strict=True)
            ]
        self._infos = infos
        self.schema = stored or FeatureSchema(tuple(names), tuple(i.role for i in infos), tuple(i.unit for i in infos))

    # -------------------------------------------------------------- predict

    @property
    def feature_names(self) -> list[str]:
        return list(self._require_fitted().names)

    def _require_fitted(self) -> FeatureSchema:
        if self.schema is None or self.regressor is None or self.residuals is None:
            raise NotFittedError("this predictor is not fitted yet", hint="call fit(...) or Predictor.load(dir)")
        return self.schema

    def predict(
        self,
        rows: Any,
        threshold: float | Sequence[float] | None = None,
        *,
        coverage: float | None = None,
        explain: bool = True,
        strict: bool = True,
        top_reasons: int = 5,
    ) -> list[Forecast]:
        """Forecast each row (a DataFrame, a mapping, or a list of mappings of feature values).

        threshold: overrides the fit-time threshold (one number, or one per row). Rows that carry the
        fit-time threshold column use their own value. strict: a feature column absent from `rows` is an
        error (likely a schema mismatch); pass NaN for a feature you could not compute.
        """
        out = self.predict_arrays(rows, threshold, coverage=coverage, strict=strict, contributions=explain)
        schema = self._require_fitted()
        X, cov = out["X"], out["coverage"]
        # What runs that succeeded typically had, for the reasons' comparisons.
        typical = {n: f.q50_success for n, f in self.summary.features.items()} if self.summary else {}
        forecasts = []
        for i in range(len(X)):
            t = out["threshold"][i]
            ood_reasons = tuple(self.summary.check(schema.names, X[i], t)) if self.summary else ()
            p = out["p_success"][i]
            contrib: dict[str, float] = {}
            why: tuple[Reason, ...] = ()
            base = math.nan
            p_contrib: dict[str, float] = {}
            p_why: tuple[Reason, ...] = ()
            p_base = math.nan
            if explain:
                row_c = out["contributions"][i]
                contrib = {n: float(c) for n, c in zip(schema.names, row_c[:-1], strict=True)}
                base = float(row_c[-1])
                why = tuple(reasons(self._infos, X[i], row_c[:-1], top=top_reasons, typical=typical))
                row_p = out["p_contributions"][i]
                if np.isfinite(row_p[-1]):
                    infos, values = self._success_inputs(X[i], t)
                    p_contrib = {info.name: float(c) for info, c in zip(infos, row_p[:-1], strict=True)}
                    p_base = float(row_p[-1])
                    p_why = tuple(reasons(infos, values, row_p[:-1], top=top_reasons, unit="log-odds",
                                          typical=typical))
            p_raw = out["p_raw"][i]
            forecasts.append(
                Forecast(
                    metric=float(out["metric"][i]),
                    interval=(float(out["lo"][i]), float(out["hi"][i])),
                    coverage=cov,
                    threshold=None if not np.isfinite(t) else float(t),
                    p_success=None if not np.isfinite(p) else float(p),
                    p_method=out["p_method"][i],
                    ood=bool(ood_reasons),
                    ood_reasons=ood_reasons,
                    base_value=base,
                    contributions=contrib,
                    reasons=why,
                    p_raw=float(p_raw) if np.isfinite(p_raw) else None,
                    p_base_value=p_base,
                    p_contributions=p_contrib,
                    p_reasons=p_why,
                )
            )
        return forecasts

    def predict_arrays(
        self,
        rows: Any,
        threshold: float | Sequence[float] | None = None,
        *,
        coverage: float | None = None,
        strict: bool = True,
        contributions: bool = False,
    ) -> dict[str, Any]:
        """Vectorised forecasts: metric, lo, hi, p_success (NaN without a threshold), threshold, p_method, p_raw.

        contributions=True adds the metric's SHAP values ("contributions") and those of the success model's
        log-odds ("p_contributions", NaN rows where no trained success model answered).
        """
        schema = self._require_fitted()
        assert self.regressor is not None and self.residuals is not None
        table = to_frame(rows)
        X = feature_matrix(table, schema.names, strict=strict)
        cov = self.coverage if coverage is None else coverage
        raw = np.asarray(self.regressor.predict(X, **PREDICT_PARAMS))
        lo, hi = self.residuals.interval(raw, cov)
        metric = raw
        if self.bounds is not None:
            metric, lo, hi = (np.clip(a, *self.bounds) for a in (raw, lo, hi))
        t = self._predict_thresholds(table, threshold)
        p, p_raw, methods = self._p_success(X, raw, t)
        result: dict[str, Any] = {
            "X": X, "metric": metric, "lo": lo, "hi": hi, "p_success": p, "p_raw": p_raw, "threshold": t,
            "p_method": methods, "coverage": cov,
        }
        if contributions:
            result["contributions"] = np.asarray(self.regressor.predict(X, pred_contrib=True, **PREDICT_PARAMS))
            result["p_contributions"] = self._success_contributions(X, t)
        return result

    def _predict_thresholds(self, table: pd.DataFrame, threshold: float | Sequence[float] | None) -> np.ndarray:
        n = len(table)
        if threshold is not None:
            t = np.broadcast_to(np.asarray(threshold, dtype=float), (n,)).copy()
        elif self.threshold_col is not None and self.threshold_col in table.columns:
            t = feature_matrix(table, [self.threshold_col])[:, 0]
        elif self.threshold_value is not None:
            t = np.full(n, self.threshold_value)
        else:
            t = np.full(n, np.nan)
        return t

    def _p_success(
        self, X: np.ndarray, raw: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
        """(calibrated P, the source's P before calibration, method) per row; NaN without a threshold."""
        assert self.residuals is not None
        n = len(raw)
        p, p_raw = np.full(n, np.nan), np.full(n, np.nan)
        methods: list[str | None] = [None] * n
        use_clf = self._model_answers(t)
        model = self._success_model()
        if use_clf.any() and model is not None:
            Xc = self._success_matrix(X[use_clf], t[use_clf])
            cal = self.calibrators.get(str(self.p_method), Calibrator())
            p_raw[use_clf] = model(Xc)
            p[use_clf] = cal(p_raw[use_clf])
            for i in np.flatnonzero(use_clf):
                methods[i] = f"{self.p_method}+{cal.kind}"
        conf = np.isfinite(t) & ~use_clf
        if conf.any():
            cal = self.calibrators.get("conformal", Calibrator())
            p_raw[conf] = self.residuals.p_at_least(raw[conf], t[conf])
            p[conf] = cal(p_raw[conf])
            for i in np.flatnonzero(conf):
                methods[i] = f"conformal+{cal.kind}"
        if self.bounds is not None:
            # A bar at or below the metric's floor is reached by every run: no model is asked about it (the
            # bar grid starts above the floor, so a model would answer as for the lowest bar it knows).
            floor = np.isfinite(t) & (t <= self.bounds[0])
            p[floor] = P_MAX
            for i in np.flatnonzero(floor):
                methods[i] = "certain: the bar is the metric's floor"
        return p, p_raw, methods

    def _model_answers(self, t: np.ndarray) -> np.ndarray:
        """Rows whose P(success) comes from the trained success model (not the conformal fallback)."""
        has_t = np.isfinite(t)
        if self._success_model() is None:
            return np.zeros(len(t), dtype=bool)
        if self.classifier_uses_threshold:
            return has_t
        if self.classifier_threshold is not None:
            return has_t & np.isclose(t, self.classifier_threshold)  # a fixed-threshold model knows one bar
        return np.zeros(len(t), dtype=bool)

    def _success_contributions(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        """SHAP values of the success model's log-odds: (n, inputs + 1), last column the base; NaN rows where
        P(success) came from the conformal fallback. Linear: w_j times the winsorised, standardised x_j (exact
        for a linear model); LightGBM: TreeSHAP of the raw score."""
        n_inputs = X.shape[1] + (1 if self.classifier_uses_threshold else 0)
        out = np.full((len(X), n_inputs + 1), np.nan)
        rows = self._model_answers(t)
        if not rows.any():
            return out
        Xc = self._success_matrix(X[rows], t[rows])
        if self.p_method == "linear" and self.linear is not None:
            out[rows] = self.linear.contributions(Xc)
        elif self.p_method == "classifier" and self.classifier is not None:
            out[rows] = np.asarray(self.classifier.predict(Xc, pred_contrib=True, **PREDICT_PARAMS))
        return out

    def _success_matrix(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The success models' input: the features, and the bar as a last column when it is an input."""
        return _with_threshold(X, t) if self.classifier_uses_threshold else X

    def _success_inputs(self, x: np.ndarray, t: float) -> tuple[list[FeatureInfo], np.ndarray]:
        """The success model's inputs for one row: the features, and the bar when it is an input."""
        if not self.classifier_uses_threshold:
            return self._infos, x
        bar = FeatureInfo(self.threshold_col or "target", "recipe", "target", "", "your target (the bar the final metric must reach)")
        return [*self._infos, bar], np.append(x, t)

    def _success_model(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """The chosen trained model of success (LightGBM or linear) as X -> raw P, or None (conformal)."""
        classifier, linear = self.classifier, self.linear
        if self.p_method == "classifier" and classifier is not None:
            return lambda Xc: np.asarray(classifier.predict(Xc, **PREDICT_PARAMS))
        if self.p_method == "linear" and linear is not None:
            return linear.predict_p
        return None

    def cut_offs(self, cost_ratio: float = DEFAULT_COST_RATIO) -> CutOffs:
        """GO / NO-GO cut-offs for a user's stakes, from this predictor's training runs (`predict.cutoffs`)."""
        self._require_fitted()
        record = (self.diagnostics.get("p_success") or {}).get("oof_own_bar")
        if not record:
            return fixed_cut_offs(cost_ratio)
        return cut_offs_for_stakes(cost_ratio, np.asarray(record["p"], float), np.asarray(record["success"], bool))

    # ------------------------------------------------------------- explain

    def contributions(self, rows: Any, *, strict: bool = True) -> np.ndarray:
        """Exact TreeSHAP contributions of the metric forecast: shape (n, n_features + 1), last column = base."""
        schema = self._require_fitted()
        assert self.regressor is not None
        X = feature_matrix(to_frame(rows), schema.names, strict=strict)
        return np.asarray(self.regressor.predict(X, pred_contrib=True, **PREDICT_PARAMS))

    def explanation(self, rows: Any, *, strict: bool = True) -> shap.Explanation:
        """A `shap.Explanation` of the metric forecast, for shap's plots."""
        import shap

        schema = self._require_fitted()
        X = feature_matrix(to_frame(rows), schema.names, strict=strict)
        c = self.contributions(rows, strict=strict)
        return shap.Explanation(
            values=c[:, :-1], base_values=c[:, -1], data=X, feature_names=list(schema.names)
        )

    def global_importance(self) -> list[tuple[str, float]]:
        """Mean |SHAP| of each feature over the training runs, largest first."""
        self._require_fitted()
        return list(self.importance)

    # ------------------------------------------------------------ persist

    def to_state(self) -> PredictorState:
        """The fitted state, as the artifact persists it (NotFittedError before `fit`)."""
        self._require_fitted()
        return PredictorState(**{name: getattr(self, name) for name in STATE_FIELDS})

    @classmethod
    def from_state(cls, state: PredictorState) -> Predictor:
        """A predictor from a persisted state; the feature roles and units are the stored ones."""
        p = cls(dynamic_prefixes=state.dynamic_prefixes, recipe_prefixes=state.recipe_prefixes)
        for name in STATE_FIELDS:
            if name != "schema":
                setattr(p, name, getattr(state, name))
        p._set_schema(state.schema.names, stored=state.schema)
        return p

    def save(self, directory: str | Path) -> Path:
        return save_state(self.to_state(), directory)

    @classmethod
    def load(cls, directory: str | Path, *, expect_features: Sequence[str] | None = None) -> Predictor:
        return cls.from_state(load_state(directory, expect_features=expect_features))


def _with_threshold(X: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.column_stack([X, t])


def _bounds(y: np.ndarray) -> tuple[float, float] | None:
    """Scores in [0, 1] or [0, 100] are clipped to that range; anything else is left alone."""
    lo, hi = float(np.min(y)), float(np.max(y))
    if lo >= 0.0 and hi <= 1.0:
        return (0.0, 1.0)
    if lo >= 0.0 and hi <= 100.0 and hi > 1.0:
        return (0.0, 100.0)
    return None


def _auroc(p: np.ndarray, y: np.ndarray) -> float | None:
    if len(np.unique(y)) < 2:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def _regression_diagnostics(
    y: np.ndarray, oof: np.ndarray, folds: np.ndarray, coverage: float, groups: np.ndarray | None = None
) -> dict[str, Any]:
    """Out-of-fold error and the coverage the conformal interval actually reaches on unseen folds (built from
    the other folds' residuals as the predictor builds its own from all of them)."""
    covered = np.zeros(len(y), dtype=bool)
    for f in np.unique(folds):
        test = folds == f
        if (~test).sum() == 0:
            continue
        others = new_group_residuals(y[~test] - oof[~test], None if groups is None else groups[~test], coverage)
        lo, hi = ResidualModel.from_residuals(others).interval(oof[test], coverage)
        covered[test] = (y[test] >= lo) & (y[test] <= hi)
    err = oof - y
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": float(1 - np.sum(err**2) / max(np.sum((y - y.mean()) ** 2), 1e-12)),
        "interval_coverage": float(covered.mean()),
        "interval_coverage_by_decile": coverage_by_decile(oof, covered),
        "target_coverage": coverage,
    }


def coverage_by_decile(forecast: np.ndarray, covered: np.ndarray) -> list[dict[str, float]]:
    """Interval coverage within each tenth of the runs ranked by their forecast (marginal coverage can hide
    intervals too narrow where the forecast is high and too wide where it is low)."""
    order = np.argsort(forecast, kind="stable")
    return [{"forecast_from": float(forecast[part[0]]), "forecast_to": float(forecast[part[-1]]),
             "runs": len(part), "coverage": float(covered[part].mean())}
            for part in np.array_split(order, 10) if len(part)]
