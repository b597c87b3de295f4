"""Replay stored TuneBench runs through the live gate, as if the callback were watching.

    python benchmarks/replay_live_gate.py [--runs bench/pooled/runs.parquet] [--seed 0] [--json]
    python benchmarks/replay_live_gate.py --rule --patience 2     # the raw projection rule alone

Default: held out by task family (5 folds), the pre-flight check (the TuneAhead predictor, NO-GO at its
own cut-off) and then the live gate (the predictor given the pre-flight features plus the run's own
eval-metric curve at 10 / 20 / 30 % of the run, NO-GO at its own cut-off: `baselines.live_gate`).
Printed per policy: failures the pre-flight check let through and the live gate caught, at what share
of the run; successes stopped; compute saved against the oracle's. Early-stop extrapolation at one
point (10 / 20 / 30 %) after the same pre-flight check is the comparison.

`--rule`: the callback's projection stop rule (`baselines.live_rule`, no fitted parameters) on every run.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from tuneahead.baselines.live_rule import replay_run, summarise
from tuneahead.probe.live import probe_window


def rule_replay(table: pd.DataFrame, *, patience: int, until: float = 1.0) -> dict[str, float]:
    replayed, costs = [], []
    for row in table.itertuples(index=False):
        steps = np.asarray(row.curve_steps, float)
        values = np.asarray(row.curve_eval_metric, float)
        total = int(np.nanmax(steps))
        window = probe_window(total) / total
        replayed.append(replay_run(steps, values, target=float(row.target), success=bool(row.success),
                                   watch_from=window, patience=patience, until=until))
        costs.append(float(row.cost_full))
    summary = summarise(replayed, costs).to_dict()
    summary["failure_recall"] = summary["failures_caught"] / max(summary["failures"], 1)
    summary["successes_stopped_share"] = summary["successes_stopped"] / max(summary["successes"], 1)
    summary["savings_of_oracle"] = summary["savings"] / summary["oracle_savings"]
    return summary


def print_rule(table: pd.DataFrame, patience: int, runs: str) -> None:
    rows = {f"projection rule, patience {patience}": rule_replay(table, patience=patience)}
    print(f"{len(table)} runs with an eval-metric curve ({runs})")
    print(f"{'policy':34s} {'failures caught':>16s} {'at share (median)':>18s} {'successes stopped':>18s} "
          f"{'saved':>7s} {'of oracle':>10s}")
    for name, s in rows.items():
        print(f"{name:34s} {s['failures_caught']:>7d}/{s['failures']:<4d} ({s['failure_recall']:4.0%}) "
              f"{s['median_share_at_catch']:>18.2f} {s['successes_stopped']:>7d}/{s['successes']:<4d} "
              f"({s['successes_stopped_share']:4.0%}) {s['savings']:>6.1%} {s['savings_of_oracle']:>10.1%}")


def print_gate(summary: dict[str, dict[str, float]]) -> None:
    print(f"{'policy':42s} {'pre-flight NO-GO':>17s} {'failures passed':>15s} {'caught live':>12s} "
          f"{'at share':>9s} {'successes stopped':>18s} {'saved':>7s} {'of oracle':>10s}")
    for name, s in summary.items():
        pre = f"{s['failures_stopped_pre_flight']}F/{s['successes_stopped_pre_flight']}S"
        stopped = s["successes_stopped_pre_flight"] + s["successes_stopped_live"]
        print(f"{name:42s} {pre:>17s} {s['failures_passed']:>15d} "
              f"{s['failures_caught_live']:>4d} ({s['caught_live_share']:4.0%}) {s['median_share_at_catch']:>9.2f} "
              f"{stopped:>5d}/{s['successes']:<4d} ({s['successes_stopped_share']:4.0%}) "
              f"{s['savings']:>6.1%} {s['savings_of_oracle']:>10.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="bench/pooled/runs.parquet")
    parser.add_argument("--rule", action="store_true", help="replay the projection stop rule alone")
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cost-ratio", type=float, default=1.0)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    table = pd.read_parquet(opts.runs)
    has_curve = table["curve_eval_metric"].map(lambda v: v is not None and np.isfinite(np.asarray(v, float)).sum() >= 3)
    table = table[has_curve].reset_index(drop=True)
    if opts.rule:
        print_rule(table, opts.patience, opts.runs)
        return
    from tuneahead.baselines.live_gate import replay
    from tuneahead.store.table import Task

    started = time.perf_counter()
    summary, _ = replay(table, Task(), seed=opts.seed, cost_ratio=opts.cost_ratio,
                        progress=lambda m: print(f"  {m} ...", flush=True))
    if opts.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{len(table)} runs ({opts.runs}), held out by family, 5 folds, seed {opts.seed}, cost ratio "
          f"{opts.cost_ratio:g} ({time.perf_counter() - started:.0f} s)")
    print_gate(summary)


if __name__ == "__main__":
    main()
