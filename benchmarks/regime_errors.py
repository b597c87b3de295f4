"""Does a run's predictability regime say where the predictor errs? (issue 16, after the Risk-Decomposition
framing: static-sufficient, dynamic-critical, noise-dominant.)

Held out by task family on the pooled corpus, each run gets:
- P from the default probe's predictor (`short`) and from one fitted on the longer probe (`long`, the
  adaptive stage, from `runs.probe_long.parquet`), both out of fold;
- the share of the success model's log-odds (its SHAP values, the bar left out) that static and recipe
  features carry;
and a regime:
- static-sufficient: the short P is decided (beyond the cut-offs for cost ratio 1) and static / recipe
  features carry at least half of its log-odds;
- dynamic-critical: decided by the short probe with dynamic features carrying most, or undecided by the
  short probe and decided by the long one (what adaptive probing is for);
- noise-dominant: undecided by both.
Per regime it prints the runs, how often the short P is on the wrong side of 0.5, its Brier score, and how
often a decided verdict was wrong.

    python benchmarks/regime_errors.py [--runs bench/pooled/runs.parquet] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

REGIMES = ("static-sufficient", "dynamic-critical", "noise-dominant")


def _fit(table: pd.DataFrame, seed: int):
    from tuneahead.predict import Predictor

    return Predictor(seed=seed).fit(table, "final_metric", threshold="target", group_col="family")


def _static_share(predictor, p_contrib: np.ndarray) -> np.ndarray:
    """Per run: |log-odds| carried by static and recipe features over that of every feature (bar excluded)."""
    roles = list(predictor.schema.roles)
    parts = np.abs(p_contrib[:, : len(roles)])
    static = np.array([r in ("static", "recipe") for r in roles])
    total = parts.sum(axis=1)
    return np.where(total > 0, parts[:, static].sum(axis=1) / np.where(total > 0, total, 1), np.nan)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="bench/pooled/runs.parquet")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from tuneahead.predict.splits import group_folds

    short = pd.read_parquet(args.runs)
    long_features = pd.read_parquet(Path(args.runs).with_suffix(".probe_long.parquet")).drop(columns=["long_probe_steps"])
    long = short.drop(columns=[c for c in long_features.columns if c != "run_id"]).merge(long_features, on="run_id")
    long = long.set_index("run_id").loc[short["run_id"]].reset_index()
    success = (short["final_metric"] >= short["target"]).to_numpy()
    folds = group_folds(len(short), short["family"].to_numpy(), 5, seed=args.seed)
    p_short, p_long, share = (np.full(len(short), np.nan) for _ in range(3))
    go, no_go = np.full(len(short), np.nan), np.full(len(short), np.nan)
    for f in np.unique(folds):
        test = folds == f
        model = _fit(short.loc[~test].reset_index(drop=True), args.seed)
        out = model.predict_arrays(short.loc[test].reset_index(drop=True), strict=False, contributions=True)
        p_short[test], share[test] = out["p_success"], _static_share(model, out["p_contributions"])
        cut = model.cut_offs(1.0)
        go[test], no_go[test] = cut.go_at, cut.no_go_at
        long_model = _fit(long.loc[~test].reset_index(drop=True), args.seed)
        p_long[test] = long_model.predict_arrays(long.loc[test].reset_index(drop=True), strict=False)["p_success"]
    decided_short = (p_short >= go) | (p_short <= no_go)
    decided_long = (p_long >= go) | (p_long <= no_go)
    regime = np.where(decided_short, np.where(share >= 0.5, REGIMES[0], REGIMES[1]),
                      np.where(decided_long, REGIMES[1], REGIMES[2]))
    wrong = (p_short >= 0.5) != success
    verdict_wrong = ((p_short >= go) & ~success) | ((p_short <= no_go) & success)
    print(f"{args.runs}: {len(short)} runs, held out by family (5 folds, seed {args.seed}); "
          f"cut-offs for cost ratio 1: GO at P >= {np.mean(go):.2f}, NO-GO at P <= {np.mean(no_go):.2f} (mean of folds)")
    print(f"{'regime':20s} {'runs':>5s} {'share':>6s} {'wrong side of 0.5':>18s} {'Brier':>6s} "
          f"{'decided verdicts wrong':>23s} {'long P wrong side':>18s}")
    for name in REGIMES:
        m = regime == name
        if not m.any():
            continue
        decided = m & decided_short
        long_wrong = ((p_long[m] >= 0.5) != success[m]).mean()
        print(f"{name:20s} {m.sum():5d} {m.mean():6.1%} {wrong[m].mean():18.1%} "
              f"{np.mean((p_short[m] - success[m]) ** 2):6.3f} "
              f"{(verdict_wrong[decided].mean() if decided.any() else float('nan')):23.1%} {long_wrong:18.1%}")
    print(f"{'all':20s} {len(short):5d} {1:6.1%} {wrong.mean():18.1%} {np.mean((p_short - success) ** 2):6.3f} "
          f"{verdict_wrong[decided_short].mean():23.1%} {((p_long >= 0.5) != success).mean():18.1%}")


if __name__ == "__main__":
    main()
