"""Campaign throughput on Ray against local worker processes, on this machine, as a ratio.

    python benchmarks/bench_executors.py [--runs 6] [--workers 2] [--repeats 2] [--models tiny-0.2m]

Each arm runs the same small TuneBench campaign (same seed, so the same scenarios) from an empty store:
the local executor (spawned worker processes) and the Ray executor on a local Ray it starts itself (so
Ray's start-up, its workers' first imports and its shutdown are counted, as a one-machine user pays them).
Arms alternate; the figure is the median wall time per arm, as runs per hour, and Ray's throughput as a
share of local's. Say what else was running: Ray's workers run at low priority (nice 15), so a busy
machine slows that arm more than the other.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml


def one_campaign(kind: str, runs: int, workers: int, models: list[str], seed: int) -> float:
    from tuneahead.bench.campaign import load_spec, run_campaign
    from tuneahead.compute.executors import make_executor

    with tempfile.TemporaryDirectory() as folder:
        spec_path = Path(folder) / "spec.yaml"
        spec = {"name": "throughput", "runs": runs, "seed": seed, "models": models,
                "options": {"curve_points": 10, "eval_metric_examples": 100, "probe_max_steps": 60}}
        spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        started = time.perf_counter()
        counts = run_campaign(load_spec(spec_path), executor=make_executor(kind, workers))
        seconds = time.perf_counter() - started
    if counts["done"] != runs:
        raise SystemExit(f"{kind}: only {counts['done']} of {runs} runs finished ({counts})")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--models", default="tiny-0.2m")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    models = args.models.split(",")
    times: dict[str, list[float]] = {"local": [], "ray": []}
    for repeat in range(args.repeats):
        for kind in ("local", "ray") if repeat % 2 == 0 else ("ray", "local"):
            seconds = one_campaign(kind, args.runs, args.workers, models, args.seed)
            times[kind].append(seconds)
            print(f"  {kind:5s} repeat {repeat + 1}: {args.runs} runs in {seconds:.1f} s", flush=True)
    median = {kind: statistics.median(values) for kind, values in times.items()}
    per_hour = {kind: args.runs * 3600 / seconds for kind, seconds in median.items()}
    print(f"{args.runs} TuneBench runs ({', '.join(models)}), {args.workers} workers, median of {args.repeats}:")
    for kind in ("local", "ray"):
        print(f"  {kind:5s} {median[kind]:7.1f} s   {per_hour[kind]:6.1f} runs/hour")
    print(f"  Ray throughput / local: {per_hour['ray'] / per_hour['local']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
