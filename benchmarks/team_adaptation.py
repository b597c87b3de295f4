"""How many of a team's own runs before they help: the recalibration curve (issue 18).

    python benchmarks/team_adaptation.py --team model=tiny-1m          # a new model size as "the team"
    python benchmarks/team_adaptation.py --team families=4             # 4 task families nobody else ran

The pooled TuneBench corpus is split into "the others" (what the bundled predictor would be fitted on)
and "the team". For each n, n of the team's runs are its history and the rest of its runs the test;
on the test, held-out quality of:

- bundled:     the predictor fitted on the others only;
- recalibrated: its P(success) recalibrated on the n runs (Platt scaling shrunk towards the identity,
               `predict.calibration.fit_recalibration`; no new trees);
- union:       refitted on the others plus the n runs;
- team-only:   fitted on the n runs alone (where n is enough to fit at all).

Printed: AUROC and Brier per method and n (mean over repeats, each a fresh draw of the n runs).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pandas as pd


def split_team(table: pd.DataFrame, team: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    kind, _, value = team.partition("=")
    if kind == "model":
        mask = table["model"] == value
    elif kind == "families":
        families = sorted(table["family"].unique())
        rng = np.random.default_rng(seed)
        chosen = set(rng.choice(families, size=int(value), replace=False))
        mask = table["family"].isin(chosen)
    else:
        raise SystemExit("--team model=NAME or families=K")
    return table[~mask].reset_index(drop=True), table[mask].reset_index(drop=True)


def scores(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from tuneahead.evaluate.metrics import auroc

    ok = np.isfinite(p)
    if ok.sum() < 5 or len(set(y[ok].tolist())) < 2:
        return {"auroc": math.nan, "brier": math.nan}
    return {"auroc": float(auroc(p[ok], y[ok])), "brier": float(np.mean((p[ok] - y[ok]) ** 2))}


def fit(table: pd.DataFrame):
    from tuneahead.predict.predictor import Predictor

    return Predictor(num_threads=2).fit(table, target="final_metric", threshold="target", group_col="family")


def p_success(predictor, table: pd.DataFrame) -> np.ndarray:
    return np.asarray(predictor.predict_arrays(table, strict=False)["p_success"], float)


def main() -> None:
    from tuneahead.errors import TuneAheadError
    from tuneahead.predict.calibration import fit_recalibration

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="bench/pooled/runs.parquet")
    parser.add_argument("--team", default="model=tiny-1m")
    parser.add_argument("--sizes", default="10,20,40,80,160")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    started = time.perf_counter()
    table = pd.read_parquet(opts.runs)
    others, team = split_team(table, opts.team, opts.seed)
    base = fit(others)
    base_p = p_success(base, team)
    y = team["success"].to_numpy(dtype=float)
    rows: list[dict[str, float | int | str]] = []
    for n in [int(k) for k in opts.sizes.split(",")]:
        if n >= len(team) - 10:
            continue
        for r in range(opts.repeats):
            rng = np.random.default_rng(opts.seed * 1000 + n * 10 + r)
            history = np.zeros(len(team), dtype=bool)
            history[rng.choice(len(team), size=n, replace=False)] = True
            test = ~history
            results = {"bundled": base_p[test],
                       "recalibrated": fit_recalibration(base_p[history], y[history])(base_p[test])}
            try:
                union = fit(pd.concat([others, team[history]], ignore_index=True))
                results["union"] = p_success(union, team[test])
            except TuneAheadError as exc:
                print(f"  union, n={n}: {exc}")
            try:
                results["team-only"] = p_success(fit(team[history].reset_index(drop=True)), team[test])
            except (TuneAheadError, ValueError) as exc:
                print(f"  team-only, n={n}: not fitted ({str(exc)[:80]})")
            for method, p in results.items():
                rows.append({"n": n, "repeat": r, "method": method, **scores(p, y[test])})
            print(f"  n={n} repeat {r}: " + ", ".join(f"{m} {scores(p, y[test])['auroc']:.3f}" for m, p in results.items()),
                  flush=True)
    frame = pd.DataFrame(rows)
    summary = frame.groupby(["n", "method"])[["auroc", "brier"]].mean().reset_index()
    if opts.json:
        print(json.dumps(summary.to_dict(orient="records"), indent=2))
        return
    families = ", ".join(sorted(map(str, team["family"].unique())))
    print(f"team {opts.team} ({families}): {len(team)} runs ({team['success'].mean():.0%} success); others {len(others)} runs; "
          f"{opts.repeats} draws per n; {time.perf_counter() - started:.0f} s")
    wide = summary.pivot(index="n", columns="method", values=["auroc", "brier"])
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 200, "display.max_columns", None):
        print(wide)


if __name__ == "__main__":
    main()
