"""Pool TuneBench exports (several campaigns, e.g. generator versions) into one corpus.

Each export is a `runs.parquet` with its siblings `runs.probe_long.parquet` and `runs.truth.parquet`
(written by `tuneahead campaign export`). The pooled files get the same names under the output folder,
so every tool that reads an export (evaluate, datasheet, bench_adaptive, build_predictor_bundle) reads
the pool. Run ids must be unique across exports; a feature column one export lacks is left empty (NaN)
for its runs, and said so, since the predictor then learns it from the other runs only.

    python scripts/pool_exports.py --out bench/pooled/runs.parquet \
        bench/pilot/runs.parquet bench/pilot-v5/runs.parquet
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SIBLINGS = ("", ".probe_long", ".truth")  # runs.parquet, runs.probe_long.parquet, runs.truth.parquet


def sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.stem + suffix + ".parquet")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exports", nargs="+", type=Path, help="runs.parquet of each export")
    parser.add_argument("--out", required=True, type=Path, help="the pooled runs.parquet (siblings go next to it)")
    args = parser.parse_args()

    import pandas as pd

    for export in args.exports:
        for suffix in SIBLINGS:
            if not sibling(export, suffix).is_file():
                sys.exit(f"{sibling(export, suffix)}: not found (export the campaign with `tuneahead campaign export`)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for suffix in SIBLINGS:
        tables = [pd.read_parquet(sibling(export, suffix)) for export in args.exports]
        columns = set().union(*(t.columns for t in tables))
        for export, table in zip(args.exports, tables, strict=True):
            lacking = sorted(columns - set(table.columns))
            if lacking:
                print(f"{sibling(export, suffix)}: no {', '.join(lacking[:8])}{' ...' if len(lacking) > 8 else ''} "
                      "(left empty for its runs)")
        pooled = pd.concat(tables, ignore_index=True)
        repeated = pooled["run_id"][pooled["run_id"].duplicated()].unique()
        if len(repeated):
            sys.exit(f"run ids repeat across exports, e.g. {list(repeated[:3])}: pool different campaigns only")
        target = sibling(args.out, suffix)
        pooled.to_parquet(target, index=False)
        print(f"wrote {target}: {len(pooled)} runs from {len(tables)} exports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
