"""Benchmark: adaptive vs fixed probing on a TuneBench export, held out by task family.

Three policies, each judged with the gate's thresholds (GO at P >= 0.7, NO-GO at P <= 0.3):
- fixed short: the default probe only (the run table's `probe_*` features);
- fixed long: the longer recorded probe only (`<runs>.probe_long.parquet`);
- adaptive: the short probe, and the long one only when the short one is UNCERTAIN. The long probe
  is a fresh run (the check re-runs with the longer schedule), so an escalated run pays both;
- adaptive (capped): as the gate runs by default: it extends only when both probes together stay within
  `--max-probe-share` (default the gate's 10 %) of the full run's compute.
Predictors are fitted on the training families of each fold only (5 folds by family, 3 seeds).
Probe compute of the long probe = the run's short-probe FLOPs x (long steps / short steps).

    python benchmarks/bench_adaptive.py --runs bench/pilot/runs.parquet [--seeds 0,1,2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tuneahead.gate.policy import Policy

NO_GO_AT, GO_AT = Policy().no_go_at, Policy().go_at  # the gate's defaults


def oof_p_success(table, folds: np.ndarray, seed: int) -> np.ndarray:
    from tuneahead.predict.predictor import Predictor

    p = np.full(len(table), np.nan)
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        model = Predictor(num_threads=2, seed=seed).fit(
            table.loc[train].reset_index(drop=True), target="final_metric", threshold="target", group_col="family"
        )
        out = model.predict_arrays(table.loc[test].reset_index(drop=True), strict=False)
        p[test] = out["p_success"]
    return p


def score(p: np.ndarray, cost: np.ndarray, success: np.ndarray, cost_full: np.ndarray) -> dict[str, float]:
    from tuneahead.evaluate.metrics import auroc, savings

    go = p >= 0.5  # forced binary decision: let through when more likely than not to succeed
    decided = (p >= GO_AT) | (p <= NO_GO_AT)
    correct_decided = ((p >= GO_AT) & success) | ((p <= NO_GO_AT) & ~success)
    rec_s = float(np.mean(go[success])) if success.any() else float("nan")
    rec_f = float(np.mean(~go[~success])) if (~success).any() else float("nan")
    s = savings(cost_full, cost, go, success)
    return {
        "probe_compute_share": float(np.sum(cost) / np.sum(cost_full)),
        "success_recall": rec_s,
        "failure_recall": rec_f,
        "balanced_accuracy": (rec_s + rec_f) / 2,
        "auroc": auroc(p, success),
        "uncertain_share": float(np.mean(~decided)),
        "accuracy_when_decided": float(np.mean(correct_decided[decided])) if decided.any() else float("nan"),
        "savings": s["savings"],
        "savings_of_oracle": s["savings_of_oracle"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", required=True, type=Path)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--max-probe-share", type=float, default=None,
                        help="cap of the capped adaptive policy (default: the gate's default)")
    args = parser.parse_args()

    from tuneahead.gate.config import DEFAULT_MAX_PROBE_SHARE

    cap = args.max_probe_share if args.max_probe_share is not None else DEFAULT_MAX_PROBE_SHARE

    import pandas as pd

    from tuneahead.predict.splits import group_folds

    short = pd.read_parquet(args.runs)
    long_probe = pd.read_parquet(args.runs.with_name(args.runs.stem + ".probe_long.parquet"))
    short = short[np.isfinite(short["final_metric"]) & np.isfinite(short["target"])].reset_index(drop=True)
    probe_cols = [c for c in short.columns if c.startswith("probe_")]
    long = short.drop(columns=probe_cols).merge(long_probe[["run_id", "long_probe_steps", *probe_cols]],
                                                on="run_id", how="left")
    assert list(long["run_id"]) == list(short["run_id"])
    success = (short["final_metric"] >= short["target"]).to_numpy()
    cost_full = short["cost_full"].to_numpy(dtype=float)
    cost_short = short["cost_probe"].to_numpy(dtype=float)
    cost_long = cost_short * long["long_probe_steps"].to_numpy(dtype=float) / short["probe_steps"].to_numpy(dtype=float)
    long = long.drop(columns=["long_probe_steps"])

    fits = cost_short + cost_long <= cap * cost_full  # the extension stays within the gate's compute cap
    per_seed: dict[str, list[dict[str, float]]] = {
        "fixed short": [], "fixed long": [], "adaptive": [], "adaptive (capped)": []}
    for seed in (int(s) for s in args.seeds.split(",")):
        folds = group_folds(len(short), short["family"].to_numpy(), args.folds, seed)
        p_short = oof_p_success(short, folds, seed)
        p_long = oof_p_success(long, folds, seed)
        escalate = (p_short > NO_GO_AT) & (p_short < GO_AT)
        p_adaptive = np.where(escalate, p_long, p_short)
        cost_adaptive = cost_short + np.where(escalate, cost_long, 0.0)
        per_seed["fixed short"].append(score(p_short, cost_short, success, cost_full))
        per_seed["fixed long"].append(score(p_long, cost_long, success, cost_full))
        per_seed["adaptive"].append(score(p_adaptive, cost_adaptive, success, cost_full) | {
            "escalated_share": float(np.mean(escalate))})
        capped = escalate & fits
        per_seed["adaptive (capped)"].append(score(
            np.where(capped, p_long, p_short), cost_short + np.where(capped, cost_long, 0.0), success, cost_full
        ) | {"escalated_share": float(np.mean(capped))})

    summary = {name: {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]} for name, rows in per_seed.items()}
    print(f"{len(short)} runs, {short['family'].nunique()} families, success share {success.mean():.1%}; "
          f"held out by family, {args.folds} folds x seeds {args.seeds}; an extension fits the {cap:.0%} cap "
          f"for {np.mean(fits):.1%} of runs")
    keys = ["probe_compute_share", "balanced_accuracy", "success_recall", "failure_recall", "auroc",
            "uncertain_share", "accuracy_when_decided", "savings_of_oracle"]
    print(f"{'policy':<17} " + " ".join(f"{k[:18]:>18}" for k in keys) + "  escalated")
    for name, m in summary.items():
        print(f"{name:<17} " + " ".join(f"{m[k]:>18.3f}" for k in keys) + f"  {m.get('escalated_share', float('nan')):.3f}")
    if args.json:
        args.json.write_text(json.dumps({"n_runs": len(short), "max_probe_share": cap,
                                         "extension_fits_share": float(np.mean(fits)), "summary": summary,
                                         "per_seed": per_seed}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
