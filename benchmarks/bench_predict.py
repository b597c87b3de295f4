"""Speed of the predictor: fit on 2,000 runs (budget 10 s) and predict + explain one run (budget 50 ms), and
how well its 90 % interval covers runs of families its inner folds held out (overall and by forecast decile).

    python benchmarks/bench_predict.py [--runs 2000] [--features 80] [--repeats 50]

The synthetic table gets extra numeric columns so the feature count resembles the real catalogue.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

FIT_BUDGET_S = 10.0  # issue 20
PREDICT_BUDGET_MS = 50.0  # issue 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--features", type=int, default=80, help="total feature columns (padded with noise columns)")
    ap.add_argument("--repeats", type=int, default=50, help="single-run predictions to time")
    args = ap.parse_args()

    from tuneahead.evaluate.synthetic import make_synthetic_runs
    from tuneahead.predict import Predictor

    table = make_synthetic_runs(args.runs, seed=0, missing_probe_share=0.1, with_curves=False)
    rng = np.random.default_rng(0)
    n_base = 8
    for j in range(max(0, args.features - n_base)):
        table[f"data_extra_{j:03d}"] = rng.normal(size=len(table))

    start = time.perf_counter()
    predictor = Predictor().fit(table, "final_metric", threshold="target", group_col="family")
    fit_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        predictor.save(tmp)
        start = time.perf_counter()
        loaded = Predictor.load(tmp)
        load_ms = 1000 * (time.perf_counter() - start)

    rows = table.sample(args.repeats, random_state=0)
    records = rows.to_dict(orient="records")
    loaded.predict(records[0])  # warm-up (first call builds LightGBM's predictor)
    timings = []
    for rec in records:
        start = time.perf_counter()
        (forecast,) = loaded.predict(rec)
        timings.append(1000 * (time.perf_counter() - start))
    assert forecast.reasons and forecast.contributions

    p50, p95 = statistics.median(timings), float(np.percentile(timings, 95))
    print(f"runs {len(table)}, features {len(predictor.feature_names)}, trees {predictor.rounds}")
    print(f"fit:                 {fit_s:7.2f} s   (budget {FIT_BUDGET_S:.0f} s)  {'ok' if fit_s <= FIT_BUDGET_S else 'OVER'}")
    print(f"load:                {load_ms:7.1f} ms")
    print(f"predict + explain:   {p50:7.1f} ms median, {p95:.1f} ms p95   (budget {PREDICT_BUDGET_MS:.0f} ms)  "
          f"{'ok' if p95 <= PREDICT_BUDGET_MS else 'OVER'}")
    oof = predictor.diagnostics["oof"]
    print(f"out-of-fold RMSE {oof['rmse']:.4f}, interval coverage {oof['interval_coverage']:.3f} "
          f"(target {oof['target_coverage']})")
    print("coverage by decile of the out-of-fold forecast: " + ", ".join(
        f"{d['forecast_from']:.2f}–{d['forecast_to']:.2f}: {d['coverage']:.2f}" for d in oof["interval_coverage_by_decile"]))


if __name__ == "__main__":
    main()
