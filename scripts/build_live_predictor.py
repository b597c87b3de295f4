"""Fit the live predictor `TuneAheadCallback` re-forecasts with, from a TuneBench export.

One stage per fraction of the run (10 / 20 / 30 %): the TuneAhead predictor on the pre-flight features
(the bundled predictor's short-stage columns) plus the run's own eval-metric curve up to that fraction
(`baselines.live_gate.live_values`). Forecasts the hidden test exact match, with P(success) for any bar
and the NO-GO cut-off for the stakes set on its own out-of-fold runs, as the pre-flight predictor.
Held-out figures: `python benchmarks/replay_live_gate.py`.

    python scripts/build_live_predictor.py --runs bench/pooled/runs.parquet --out src/tuneahead/assets/live_predictor
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()

    import pandas as pd

    from tuneahead.baselines.live_gate import LIVE_FRACTIONS, add_live_columns, live_columns
    from tuneahead.gate.bundle import load_bundle, write_bundle
    from tuneahead.predict.predictor import Predictor

    runs = pd.read_parquet(args.runs)
    table = add_live_columns(runs)
    pre_flight = list(load_bundle().stages[0].predictor.feature_names)  # the check's own columns
    stages = []
    for f in LIVE_FRACTIONS:
        features = pre_flight + list(live_columns(f))
        predictor = Predictor(num_threads=2).fit(table, target="final_metric", threshold="target",
                                                 feature_cols=features, group_col="family")
        ps = predictor.diagnostics.get("p_success", {})
        chosen = ps.get("methods", {}).get(ps.get("chosen"), {})
        print(f"live-{round(f * 100)}: {len(table)} runs, {len(features)} features; held-out-family folds: "
              f"P(success) AUROC {chosen.get('auroc', float('nan')):.3f}")
        stages.append((f"live-{round(f * 100)}", 1.0, predictor))  # stage i is fraction i of "fractions"
    families = sorted(runs["family"].dropna().unique())
    trained_on = f"TuneBench {args.runs.parent.name}: {len(runs)} runs, {len(families)} task families"
    write_bundle(args.out, stages, metric="exact_match", trained_on=trained_on,
                 extra={"kind": "live", "fractions": list(LIVE_FRACTIONS), "families": families})
    print(f"wrote {args.out} ({trained_on})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
