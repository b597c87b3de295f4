"""Measure the probe features a campaign's runs lack (features added after the runs were recorded).

Each run's default probe is run again from its task payload (the spec's deterministic plan;
`tuneahead.bench.runner.probe_again`). A probe is deterministic in the run's seed, so before storing
anything the script checks that every feature the run already has comes out the same (machine-speed
features aside); a run whose probe does not reproduce is reported and left untouched. Recorded values are never replaced. Resumable: runs
that already have every feature are skipped.

    python scripts/backfill_probe_features.py bench/pilot/campaign.yaml [--limit N]

About 3-6 s per run on one core for the tiny zoo. Only the default probe is redone: the longer
recorded probe (adaptive probing's second stage) keeps its trace as recorded.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

TOLERANCE = 1e-6  # relative: the same computation, on the same machine, in the same order


def _same(a: float | None, b: float | None) -> bool:
    a = math.nan if a is None else a
    b = math.nan if b is None else b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", type=Path, help="the campaign spec (its store is updated)")
    parser.add_argument("--limit", type=int, default=None, help="stop after this many runs")
    args = parser.parse_args()

    from tuneahead.bench.campaign import load_spec
    from tuneahead.bench.runner import probe_again
    from tuneahead.store.table import is_machine_dependent
    from tuneahead.catalogue import specs
    from tuneahead.store.sqlite import RunStore

    spec = load_spec(args.spec)
    wanted = {s.name for s in specs("dynamic")}
    done = added = mismatched = 0
    with RunStore(spec.resolve(spec.store)) as store:
        payloads = spec.plan()  # deterministic: the payload each run was executed with
        for record in store.iter_runs(campaign=spec.name):
            missing = wanted - set(record.dynamic_features)
            if not missing or record.run_id not in payloads:
                continue
            if args.limit is not None and done >= args.limit:
                break
            started = time.perf_counter()
            fresh = probe_again(record.run_id, payloads[record.run_id])
            differs = [
                name for name, value in record.dynamic_features.items()
                if not is_machine_dependent(name) and not _same(value, fresh.get(name))
            ]
            done += 1
            if differs:
                mismatched += 1
                print(f"{record.run_id}: probe did not reproduce ({', '.join(differs[:4])}); left as recorded")
                continue
            n = store.add_missing_features(record.run_id, "dynamic", {k: fresh.get(k, math.nan) for k in missing})
            added += n
            print(f"{record.run_id}: +{n} features ({time.perf_counter() - started:.1f} s)", flush=True)
    print(f"runs probed again: {done}, features added: {added}, runs that did not reproduce: {mismatched}")
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
