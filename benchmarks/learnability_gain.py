"""Does a feature group help on runs it was not designed on? Issue 16's learnability features, measured.

The features (`tuneahead.features.row.learnability_features`) were chosen from first principles and tried
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

from tuneahead.features.row import learnability_features

GROUP = ["probe_eval_answer_nats", "probe_eval_loss_projected", "probe_answer_exact_projected"]


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--design", default="bench/pooled/runs.parquet")
    ap.add_argument("--unseen", action="append", default=[], help="run table of runs not used to design")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    design = with_learnability(pd.read_parquet(args.design))
    print(f"design set {args.design}: {len(design)} runs, {design['family'].nunique()} families")
    for arm, s in design_cv(design, args.seeds).items():
        print(f"  held out by family, {arm:7s} learnability: " + ", ".join(f"{k} {v:.3f}" for k, v in s.items()))
    models = {arm: _fit(design, without, 0) for arm, without in (("without", GROUP), ("with", []))}
    for path in args.unseen:
        table = with_learnability(pd.read_parquet(path))
        table = table[~table["run_id"].isin(design["run_id"])].reset_index(drop=True)
        success = (table["final_metric"] >= table["target"]).to_numpy(float)
        p = {arm: _p(m, table) for arm, m in models.items()}
        print(f"unseen {Path(path)}: {len(table)} runs not in the design set, {int(success.sum())} successes")
        for arm in ("without", "with"):
            print(f"  {arm:7s} learnability: " + ", ".join(f"{k} {v:.3f}" for k, v in _scores(p[arm], success).items()))
        ci = paired_bootstrap(p["without"], p["with"], success)
        print(f"  gain (with - without), 95 % paired bootstrap: AUROC [{ci['auroc'][0]:+.3f}, {ci['auroc'][1]:+.3f}], "
              f"Brier [{ci['brier'][0]:+.4f}, {ci['brier'][1]:+.4f}]")


if __name__ == "__main__":
    main()
