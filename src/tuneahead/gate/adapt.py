"""Adapt a predictor fitted elsewhere (the bundled TuneBench one) to a team's own runs, and say whether it helps.

Candidates, each judged by cross-validation on the team's runs (folds by task where the runs name one):

- bundled: the base predictor as it is;
- recalibrated: its P(success) Platt-recalibrated on the team's runs, shrunk towards the identity
  (`predict.calibration.fit_recalibration`): repairs calibration from about ten runs, never the ranking;
- team-only: a predictor fitted on the team's runs alone (from 20 runs);
- union: refitted on the base's own training runs plus the team's (only when those runs are given: the
  installed package does not ship the corpus).

The one with the lowest cross-validated Brier score is written. A recalibrated predictor keeps the base's
trees and composes the recalibration into its calibrators; its GO / NO-GO cut-offs are read off the team's
own cross-fitted P(success), so the stakes are kept on the team's runs, not on the corpus's. Measured on
TuneBench (docs/evaluation.md, "Your team's history"): recalibration helps calibration from ten runs; the
ranking gains only from refits, from about 80 runs of a new model size, from 10 to 40 of new tasks.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneahead.errors import InputError, Location, TuneAheadError

if TYPE_CHECKING:
    import pandas as pd

    from tuneahead.predict.predictor import Predictor

N_FOLDS = 5


@dataclass
class Adaptation:
    predictor: Any  # the chosen predict.predictor.Predictor
    chosen: str
    n_runs: int
    scores: dict[str, dict[str, float]]  # candidate -> cross-validated AUROC and Brier on the team's runs
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "n_runs": self.n_runs, "scores": self.scores, "notes": self.notes}


def adapt(
    base: Predictor,
    team: pd.DataFrame,
    *,
    target: str = "final_metric",
    threshold: float | str = "target",
    group_col: str | None = None,
    base_runs: pd.DataFrame | None = None,
    seed: int = 0,
    fit_options: dict[str, Any] | None = None,
) -> Adaptation:
    """Cross-validate the candidates on `team` and return the best, fitted on every team run."""
    from tuneahead.evaluate.metrics import auroc
    from tuneahead.predict.calibration import brier, compose, fit_recalibration
    from tuneahead.predict.splits import group_folds

    team = team.reset_index(drop=True)
    bars = _bars(team, threshold)
    y = team[target].to_numpy(dtype=float)
    keep = np.isfinite(y) & np.isfinite(bars)
    if keep.sum() < 10:
        raise InputError(f"need at least 10 team runs with an outcome and a bar to adapt to, got {int(keep.sum())}",
                         Location(field=target))
    team, bars, success = team.loc[keep].reset_index(drop=True), bars[keep], (y[keep] >= bars[keep])
    groups = team[group_col].to_numpy() if group_col and group_col in team.columns else None
    folds = group_folds(len(team), groups, N_FOLDS, seed)
    p_base = np.asarray(base.predict_arrays(team, threshold=bars, strict=False)["p_success"], float)
    notes: list[str] = []
    out: dict[str, np.ndarray] = {"bundled": p_base, "recalibrated": np.full(len(team), np.nan)}
    for f in np.unique(folds):
        test = folds == f
        out["recalibrated"][test] = fit_recalibration(p_base[~test], success[~test])(p_base[test])

    def refit(name: str, extra: pd.DataFrame | None) -> None:
        import pandas as pd

        p = np.full(len(team), np.nan)
        try:
            for f in np.unique(folds):
                test = folds == f
                train = team.loc[~test] if extra is None else pd.concat([extra, team.loc[~test]], ignore_index=True)
                model = _fit(train, target, threshold, group_col, seed, fit_options)
                p[test] = model.predict_arrays(team.loc[test], threshold=bars[test], strict=False)["p_success"]
        except TuneAheadError as exc:
            notes.append(f"{name}: not fitted ({exc.message})")
            return
        out[name] = p

    refit("team-only", None)
    if base_runs is not None:
        refit("union", base_runs)
    scores = {name: {"auroc": float(auroc(p, success)), "brier": brier(p, success)}
              for name, p in out.items() if np.isfinite(p).all()}
    chosen = min(scores, key=lambda name: (scores[name]["brier"], list(scores).index(name)))
    if chosen == "bundled":
        predictor = copy.deepcopy(base)
    elif chosen == "recalibrated":
        predictor = copy.deepcopy(base)
        recal = fit_recalibration(p_base, success)
        predictor.calibrators = {k: compose(recal, c) for k, c in base.calibrators.items()}
        for key in ("conformal", str(base.p_method)):
            predictor.calibrators.setdefault(key, recal)
        # The stakes' cut-offs come from the team's own cross-fitted P(success), at their own bars.
        p_success = dict(predictor.diagnostics.get("p_success") or {})
        p_success["oof_own_bar"] = {"p": out["recalibrated"].tolist(), "success": success.tolist()}
        predictor.diagnostics = {**predictor.diagnostics, "p_success": p_success}
    else:
        import pandas as pd

        table = team if chosen == "team-only" else pd.concat([base_runs, team], ignore_index=True)
        predictor = _fit(table, target, threshold, group_col, seed, fit_options)
    if not math.isfinite(scores[chosen]["auroc"]):
        notes.append("the team's runs hold one outcome only: AUROC cannot be measured")
    return Adaptation(predictor, chosen, len(team), scores, notes)


def _bars(team: pd.DataFrame, threshold: float | str) -> np.ndarray:
    if isinstance(threshold, str):
        if threshold not in team.columns:
            raise InputError(f"no threshold column {threshold!r} in the team's runs", Location(field="threshold"))
        return team[threshold].to_numpy(dtype=float)
    return np.full(len(team), float(threshold))


def _fit(table: pd.DataFrame, target: str, threshold: float | str, group_col: str | None, seed: int,
         options: dict[str, Any] | None) -> Predictor:
    from tuneahead.predict.predictor import Predictor

    group = group_col if group_col and group_col in table.columns else None
    return Predictor(seed=seed, **(options or {})).fit(table, target, threshold=threshold, group_col=group)
