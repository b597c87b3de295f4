"""Does a feature group help on runs it was not designed on? Issue 16's learnability features, measured.

The features (`learnability_features` below) were chosen from first principles and tried
on the pooled corpus (v4 + v5, 540 runs, held out by family: the design set). Their gain is then measured
on runs that played no part in designing them: predictors fitted on the whole pooled corpus, with and
without the features, score runs of other corpora (each given as a run table), and the difference in
AUROC and Brier at each run's own bar is bootstrapped over runs (paired).

    python benchmarks/learnability_gain.py --unseen bench/tiny4m-v5/runs.parquet [--unseen other.parquet ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import math
from collections.abc import Mapping

# The candidates, from what a run already stores (no probe rerun): what is left to learn of a whole answer
# after the probe, and what the probe's own progress says will be left at the end of the full run. Exact
# match needs every answer token right, so the held-out loss matters per answer, not per token.
ANSWER_NATS = "probe_eval_answer_nats"  # held-out loss after the probe x mean answer length (nats)
LOSS_PROJECTED = "probe_eval_loss_projected"  # that loss carried to the full run's end along the probe's power law
EXACT_PROJECTED = "probe_answer_exact_projected"  # exp(-projected loss x answer length)
GROUP = [ANSWER_NATS, LOSS_PROJECTED, EXACT_PROJECTED]


def _finite(values: Mapping[str, float], name: str) -> float:
    value = values.get(name)
    return float(value) if value is not None and math.isfinite(value) else math.nan


def learnability_features(static: Mapping[str, float], dynamic: Mapping[str, float]) -> dict[str, float]:
    """The learnability features (see above); left out when a run never measured their inputs."""
    if "probe_eval_loss_end" not in dynamic or "completion_tokens_mean" not in static:
        return {}
    loss, answer = _finite(dynamic, "probe_eval_loss_end"), _finite(static, "completion_tokens_mean")
    steps_full, steps_probe = _finite(static, "optimizer_steps"), _finite(dynamic, "probe_steps")
    exponent = _finite(dynamic, "probe_loss_powerlaw_exponent")
    # A probe whose loss rose, or whose fit failed, projects no further progress; a steep early drop is not
    # carried on at full strength (an exponent above 1 would promise a loss near zero on any long run).
    exponent = min(max(exponent, 0.0), 1.0) if math.isfinite(exponent) else 0.0
    ratio = steps_full / steps_probe if steps_probe > 0 and steps_full >= steps_probe else 1.0
    projected = loss * ratio ** -exponent if math.isfinite(ratio) else math.nan
    return {
        ANSWER_NATS: loss * answer,
        LOSS_PROJECTED: projected,
        EXACT_PROJECTED: math.exp(-projected * answer) if math.isfinite(projected * answer) else math.nan,
    }


def with_learnability(table: pd.DataFrame) -> pd.DataFrame:
    """The table with the learnability columns computed from its own columns."""
    rows = table.to_dict(orient="records")
    extra = pd.DataFrame([learnability_features(r, r) for r in rows], index=table.index)
    return table.drop(columns=[c for c in GROUP if c in table.columns]).join(extra[GROUP])


def _fit(table: pd.DataFrame, without: list[str], seed: int):
    from tuneahead.predict import Predictor

    return Predictor(seed=seed).fit(table, "final_metric", threshold="target", group_col="family",
                                    exclude_cols=without)


def _scores(p: np.ndarray, success: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    cut = p >= 0.5
    return {"auroc": float(roc_auc_score(success, p)), "brier": float(np.mean((p - success) ** 2)),
            "success_recall": float(cut[success == 1].mean()), "failure_recall": float((~cut)[success == 0].mean())}


def _p(predictor, table: pd.DataFrame) -> np.ndarray:
    return np.asarray(predictor.predict_arrays(table, strict=False)["p_success"], dtype=float)


def design_cv(table: pd.DataFrame, seeds: int) -> dict[str, dict[str, float]]:
    """Held out by family on the design set: mean over seeds of the pooled out-of-fold scores."""
    from tuneahead.predict.splits import group_folds

    success = (table["final_metric"] >= table["target"]).to_numpy(float)
    out: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
    for seed in range(seeds):
        folds = group_folds(len(table), table["family"].to_numpy(), 5, seed=seed)
        for arm, without in (("without", GROUP), ("with", [])):
            p = np.full(len(table), np.nan)
            for f in np.unique(folds):
                test = folds == f
                model = _fit(table.loc[~test].reset_index(drop=True), without, seed)
                p[test] = _p(model, table.loc[test].reset_index(drop=True))
            out[arm].append(_scores(p, success))
    return {arm: {k: float(np.mean([s[k] for s in runs])) for k in runs[0]} for arm, runs in out.items()}


def paired_bootstrap(p_a: np.ndarray, p_b: np.ndarray, success: np.ndarray, n: int = 2000) -> dict[str, tuple]:
    """95 % intervals of (b - a) in AUROC and Brier over runs resampled with replacement."""
    rng = np.random.default_rng(0)
    d_auc, d_brier = [], []
    for _ in range(n):
        i = rng.integers(0, len(success), len(success))
        if success[i].min() == success[i].max():
            continue
        a, b = _scores(p_a[i], success[i]), _scores(p_b[i], success[i])
        d_auc.append(b["auroc"] - a["auroc"])
        d_brier.append(b["brier"] - a["brier"])
    return {"auroc": tuple(np.percentile(d_auc, [2.5, 97.5])), "brier": tuple(np.percentile(d_brier, [2.5, 97.5]))}


def by_family_unseen(design: pd.DataFrame, unseen: pd.DataFrame, folds: int = 5) -> None:
    """Held out by family *and* unseen: fitted on the design runs of the other families, scored on the
    unseen runs of the held-out families (every unseen run scored once)."""
    from tuneahead.predict.splits import group_folds

    families = np.array(sorted(set(design["family"]) | set(unseen["family"])))
    fold_of = dict(zip(families, group_folds(len(families), families, folds, seed=0)))
    success = (unseen["final_metric"] >= unseen["target"]).to_numpy(float)
    p = {arm: np.full(len(unseen), np.nan) for arm in ("without", "with")}
    for f in sorted(set(fold_of.values())):
        train = design[design["family"].map(fold_of) != f].reset_index(drop=True)
        test = (unseen["family"].map(fold_of) == f).to_numpy()
        if not test.any():
            continue
        for arm, without in (("without", GROUP), ("with", [])):
            p[arm][test] = _p(_fit(train, without, 0), unseen.loc[test].reset_index(drop=True))
    _report(f"unseen runs of held-out families ({len(unseen)} runs, {int(success.sum())} successes):", p, success)


def _report(title: str, p: dict[str, np.ndarray], success: np.ndarray) -> None:
    """Both arms' scores and the paired bootstrap interval of their difference."""
    print(title)
    for arm in ("without", "with"):
        print(f"  {arm:7s} learnability: " + ", ".join(f"{k} {v:.3f}" for k, v in _scores(p[arm], success).items()))
    ci = paired_bootstrap(p["without"], p["with"], success)
    print(f"  gain (with - without), 95 % paired bootstrap: AUROC [{ci['auroc'][0]:+.3f}, {ci['auroc'][1]:+.3f}], "
          f"Brier [{ci['brier'][0]:+.4f}, {ci['brier'][1]:+.4f}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--design", default="bench/pooled/runs.parquet")
    ap.add_argument("--unseen", action="append", default=[], help="run table of runs not used to design")
    ap.add_argument("--seeds", type=int, default=3, help="seeds of the design set's own by-family folds (0: skip)")
    args = ap.parse_args()
    design = with_learnability(pd.read_parquet(args.design))
    print(f"design set {args.design}: {len(design)} runs, {design['family'].nunique()} families")
    for arm, s in (design_cv(design, args.seeds) if args.seeds else {}).items():
        print(f"  held out by family, {arm:7s} learnability: " + ", ".join(f"{k} {v:.3f}" for k, v in s.items()))
    unseen = [with_learnability(pd.read_parquet(path)) for path in args.unseen]
    unseen_all = pd.concat(unseen, ignore_index=True)
    unseen_all = unseen_all[~unseen_all["run_id"].isin(design["run_id"])].reset_index(drop=True)
    by_family_unseen(design, unseen_all)
    models = {arm: _fit(design, without, 0) for arm, without in (("without", GROUP), ("with", []))}
    for path in args.unseen:
        table = with_learnability(pd.read_parquet(path))
        table = table[~table["run_id"].isin(design["run_id"])].reset_index(drop=True)
        success = (table["final_metric"] >= table["target"]).to_numpy(float)
        _report(f"unseen {Path(path)} (families shared with the design set): {len(table)} runs not in the "
                f"design set, {int(success.sum())} successes", {arm: _p(m, table) for arm, m in models.items()},
                success)


if __name__ == "__main__":
    main()
