"""Fit the predictor bundle `tuneahead check` ships with, from a TuneBench export.

Two stages, for adaptive probing: `short` on the features of each run's default probe (the
`probe_*` columns of the run table) and `long` on the features of its longer recorded probe
(`<runs stem>.probe_long.parquet`, written by `tuneahead campaign export`). Both forecast the hidden
test exact match, with P(success) for any threshold (each run's own target is the training threshold).

    python scripts/build_predictor_bundle.py --runs bench/pilot/runs.parquet \
        --out src/tuneahead/assets/predictor
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--name", default=None, help="corpus name for the bundle's description")
    parser.add_argument("--store", type=Path, action="append", default=None,
                        help="the run store behind the export, for the recipe space (default: runs.db next to "
                             "it); repeat it for a pooled export (scripts/pool_exports.py)")
    args = parser.parse_args()

    import pandas as pd

    from tuneahead.gate.bundle import write_bundle
    from tuneahead.gate.recipe_space import recipe_space
    from tuneahead.predict.predictor import Predictor
    from tuneahead.store.sqlite import RunStore

    runs = pd.read_parquet(args.runs)
    long_path = args.runs.with_name(args.runs.stem + ".probe_long.parquet")
    long = pd.read_parquet(long_path)
    probe_cols = [c for c in runs.columns if c.startswith("probe_")]
    missing = sorted(set(probe_cols) - set(long.columns))
    if missing:
        sys.exit(f"{long_path}: missing probe features {missing[:5]}")
    runs_long = runs.drop(columns=probe_cols).merge(long[["run_id", *probe_cols]], on="run_id", how="inner")
    factor = float(long["long_probe_steps"].median() / runs["probe_steps"].median())

    store_paths = args.store or [args.runs.with_name("runs.db")]
    space = None
    wanted = set(runs["run_id"])
    recipes = []
    for store_path in store_paths:
        if not store_path.is_file():
            if args.store:  # named by the user: say so; the default one may simply not be there
                sys.exit(f"{store_path}: run store not found")
            continue
        with RunStore(store_path) as store:
            recipes += [r.recipe for r in store.iter_runs() if r.run_id in wanted]
    if recipes:
        if len(recipes) < len(wanted):
            sys.exit(f"the stores hold the recipes of {len(recipes)} of the {len(wanted)} runs: pass every --store")
        space = recipe_space(recipes)

    stages = []
    for name, table in (("short", runs), ("long", runs_long)):
        predictor = Predictor(num_threads=2).fit(table, target="final_metric", threshold="target", group_col="family")
        d = predictor.diagnostics
        oof, ps = d.get("oof", {}), d.get("p_success", {})
        chosen = ps.get("methods", {}).get(ps.get("chosen"), {})
        print(f"{name}: {len(table)} runs, {len(predictor.feature_names)} features; held-out-family folds: "
              f"RMSE {oof.get('rmse', float('nan')):.3f}, interval coverage {oof.get('interval_coverage', float('nan')):.2f}, "
              f"P(success) by {ps.get('chosen')}: AUROC {chosen.get('auroc', float('nan')):.3f}, "
              f"Brier {chosen.get('brier_calibrated', float('nan')):.3f}")
        stages.append((name, 1.0 if name == "short" else round(factor, 2), predictor))

    families = sorted(runs["family"].dropna().unique())
    models = sorted(runs["model"].dropna().unique())
    corpus = args.name or args.runs.parent.name
    trained_on = (f"TuneBench {corpus}: {len(runs)} runs, {len(families)} task families, models "
                  f"{', '.join(models)}")
    write_bundle(args.out, stages, metric="exact_match", trained_on=trained_on,
                 extra={"families": families, "models": models, "success_share": float(runs["success"].mean()),
                        "recipe_space": space})
    print(f"wrote {args.out} ({trained_on}; long stage = {factor:g}x the default probe)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
