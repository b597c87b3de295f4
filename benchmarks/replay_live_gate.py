"""Replay stored TuneBench runs through the live gate's stop rule, as if the callback were watching.

    python benchmarks/replay_live_gate.py [--runs bench/pooled/runs.parquet] [--patience 2]

Each run's eval exact-match curve (logged at ~10 % steps) is watched after the callback's default probe
window; the rule (`baselines.live_rule`) projects the curve to the end of the run and stops it once the
projection has stayed under the run's own target for `patience` evaluations in a row. Printed: failures
caught and at what share of the run, successes stopped, compute saved against the oracle's; the same
rule allowed to act only up to 10 / 20 / 30 % of the run (early stop alone at that point), with patience 1.
The rule has no parameters fitted on these runs (its curve families and patience are fixed).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

from tuneahead.baselines.live_rule import replay_run, summarise
from tuneahead.probe.live import probe_window


def replay(table: pd.DataFrame, *, patience: int, until: float = 1.0) -> dict[str, float]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="bench/pooled/runs.parquet")
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    table = pd.read_parquet(opts.runs)
    table = table[table["curve_eval_metric"].map(lambda v: v is not None and np.isfinite(np.asarray(v, float)).sum() >= 3)]
    rows = {f"live rule, patience {opts.patience}": replay(table, patience=opts.patience)}
    for until in (0.1, 0.2, 0.3):
        rows[f"stop by {until:.0%} only, patience 1"] = replay(table, patience=1, until=until)
    if opts.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{len(table)} runs with an eval-metric curve ({opts.runs})")
    print(f"{'policy':34s} {'failures caught':>16s} {'at share (median)':>18s} {'successes stopped':>18s} "
          f"{'saved':>7s} {'of oracle':>10s}")
    for name, s in rows.items():
        print(f"{name:34s} {s['failures_caught']:>7d}/{s['failures']:<4d} ({s['failure_recall']:4.0%}) "
              f"{s['median_share_at_catch']:>18.2f} {s['successes_stopped']:>7d}/{s['successes']:<4d} "
              f"({s['successes_stopped_share']:4.0%}) {s['savings']:>6.1%} {s['savings_of_oracle']:>10.1%}")


if __name__ == "__main__":
    main()
