"""Learning curves: held-out quality against the number of training runs and of training task families.

    python benchmarks/learning_curves.py --runs bench/pooled/runs.parquet [--seeds 2] [--out DIR]

The protocol is `tuneahead evaluate`'s, held out by task family (5 folds): each fold's predictor is fitted
on a random share of its training runs (25 / 50 / 75 / 100 %), or on the runs of a random subset of its
training families (k families), and scores the held-out families' runs at their own bars. A point is the
mean over seeds of AUROC and Brier score on every run, so the curves say whether more runs or more kinds of
task would help most. Writes learning_curves.json and learning_curves.md under --out when given.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tuneahead.baselines.ours import tuneahead_methods
from tuneahead.evaluate.harness import EvalConfig, evaluate
from tuneahead.evaluate.metrics import MethodOutput
from tuneahead.store.table import Task

RUN_SHARES = (0.25, 0.5, 0.75, 1.0)


class Subsampled:
    """The TuneAhead predictor, fitted on part of each fold's training runs: a share of the runs, or the
    runs of `families` randomly chosen training families (chosen anew per fold and seed)."""

    def __init__(self, *, share: float = 1.0, families: int | None = None) -> None:
        self.inner = tuneahead_methods()[0]
        self.share, self.families = share, families
        self.name = "tuneahead"
        self.description = "the predictor on part of the training runs"

    def unavailable(self, table: pd.DataFrame, task: Task) -> str | None:
        return self.inner.unavailable(table, task)

    def fit(self, train: pd.DataFrame, task: Task, seed: int) -> None:
        rng = np.random.default_rng([seed, len(train), int(self.share * 100), self.families or 0])
        if self.families is not None:
            names = sorted(set(train["family"]))
            keep = set(rng.choice(names, size=min(self.families, len(names)), replace=False))
            train = train[train["family"].isin(keep)]
        if self.share < 1.0:
            train = train.iloc[np.sort(rng.choice(len(train), size=round(self.share * len(train)), replace=False))]
        self.inner.fit(train.reset_index(drop=True), task, seed)

    def cut_offs(self, cost_ratio: float):
        return self.inner.cut_offs(cost_ratio)

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput:
        return self.inner.predict(test, task)


def point(table: pd.DataFrame, method: Subsampled, seeds: int) -> dict[str, float]:
    config = EvalConfig(split_by="family", seeds=tuple(range(seeds)), n_boot=0)
    result = evaluate(table, Task(), [method], config).method("tuneahead")
    if result.status != "ok":
        return {"status": result.status, "note": result.note}  # type: ignore[dict-item]
    return {k: float(result.metrics[k]) for k in ("auroc", "brier")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", required=True, type=Path)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    table = pd.read_parquet(args.runs)
    n_families = table["family"].nunique()
    train_families = n_families - round(n_families / 5)  # about what a 5-fold training side holds
    family_counts = sorted({k for k in (3, 6, 9, 12, 15, train_families) if k <= train_families})
    curves: dict[str, list[dict]] = {"runs": [], "families": []}
    started = time.perf_counter()
    for share in RUN_SHARES:
        row = {"share": share, "train_runs": round(share * len(table) * 4 / 5), **point(table, Subsampled(share=share), args.seeds)}
        curves["runs"].append(row)
        print(f"share {share:4.0%} (~{row['train_runs']} training runs): {row}", flush=True)
    for k in family_counts:
        row = {"families": k, **point(table, Subsampled(families=k), args.seeds)}
        curves["families"].append(row)
        print(f"{k:3d} training families: {row}", flush=True)
    report = {"runs_file": str(args.runs), "n_runs": len(table), "n_families": n_families, "seeds": args.seeds,
              "protocol": "held out by family, 5 folds", "seconds": round(time.perf_counter() - started), **curves}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "learning_curves.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        (args.out / "learning_curves.md").write_text(to_markdown(report), encoding="utf-8")
    return 0


def to_markdown(report: dict) -> str:
    lines = [f"# Learning curves ({report['n_runs']} runs, {report['n_families']} families, "
             f"{report['protocol']}, mean of {report['seeds']} seeds)", "",
             "## Against the number of training runs", "", "| share of each fold's training runs | ~runs | AUROC | Brier |",
             "| --- | --- | --- | --- |"]
    lines += [f"| {r['share']:.0%} | {r['train_runs']} | {r.get('auroc', float('nan')):.3f} | {r.get('brier', float('nan')):.3f} |"
              for r in report["runs"]]
    lines += ["", "## Against the number of training families", "", "| training families | AUROC | Brier |",
              "| --- | --- | --- |"]
    lines += [f"| {r['families']} | {r.get('auroc', float('nan')):.3f} | {r.get('brier', float('nan')):.3f} |"
              for r in report["families"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
