"""A short datasheet of a run corpus: what is in it, how runs ended, why they failed, what they cost.

It also answers the realism question: can the outcome be read from the recipe's hyperparameters
alone? A LightGBM predictor restricted to `recipe_*` columns is evaluated held out by task family;
a balanced accuracy well above chance there would mean the corpus teaches "look at the learning
rate", not "look at the data and the dynamics".
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def _problems(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    text = str(value).strip("[]")
    return [p.strip().strip("'\"") for p in text.split(",") if p.strip()]


def recipe_only_balanced_accuracy(runs: pd.DataFrame, *, seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, Any]:
    """Balanced accuracy of a predictor that sees only the recipe's hyperparameters, held out by family."""
    from tuneahead.baselines.ours import tuneahead_methods
    from tuneahead.evaluate.harness import EvalConfig, evaluate
    from tuneahead.store.table import Task

    cols = tuple(c for c in runs.columns if c.startswith("recipe_"))
    task = Task(feature_cols=cols)
    method = tuneahead_methods()[0]  # the full predictor; the restriction comes from the column list
    result = evaluate(runs, task, [method], EvalConfig(split_by="family", n_folds=5, seeds=seeds, n_boot=200))
    m = result.method(method.name)
    return {"features": list(cols), "balanced_accuracy": m.metrics.get("balanced_accuracy"),
            "ci": m.ci.get("balanced_accuracy"), "auroc": m.metrics.get("auroc"), "status": m.status, "note": m.note}


def seed_repeat_noise(runs: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any] | None:
    """How much a run's outcome moves when only its training seed changes: over scenarios trained more than
    once (seed repeats share `truth_scenario_seed`), the spread of the final metric and the labels that flip.
    None when no scenario was repeated."""
    import numpy as np

    if "truth_scenario_seed" not in truth:
        return None
    merged = runs[["run_id", "final_metric", "target"]].merge(truth[["run_id", "truth_scenario_seed"]], on="run_id")
    groups = [g for _, g in merged.groupby("truth_scenario_seed") if len(g) >= 2]
    if not groups:
        return None
    spreads = np.array([float(g["final_metric"].std(ddof=1)) for g in groups])
    ranges = np.array([float(g["final_metric"].max() - g["final_metric"].min()) for g in groups])
    flips = np.array([(g["final_metric"] >= g["target"]).nunique() > 1 for g in groups])
    return {
        "scenarios": len(groups),
        "runs": int(sum(len(g) for g in groups)),
        "sd_mean": float(spreads.mean()),
        "sd_median": float(np.median(spreads)),
        "range_mean": float(ranges.mean()),
        "range_max": float(ranges.max()),
        "label_flip_share": float(flips.mean()),
        "label_flips": int(flips.sum()),
    }


def build_datasheet(runs: pd.DataFrame, truth: pd.DataFrame | None = None, *, recipe_only: bool = True) -> dict:
    import numpy as np

    n = len(runs)
    success = runs["final_metric"] >= runs["target"]
    hist_counts, edges = np.histogram(runs["final_metric"].astype(float).clip(0, 1), bins=10, range=(0, 1))
    sheet: dict[str, Any] = {
        "runs": n,
        "families": dict(Counter(runs["family"])),
        "models": dict(Counter(runs["model"])) if "model" in runs else {},
        "success_share": float(success.mean()) if n else math.nan,
        "final_metric_histogram": [
            {"from": float(edges[i]), "to": float(edges[i + 1]), "runs": int(hist_counts[i])} for i in range(10)
        ],
        "success_share_by_family": {f: float(s.mean()) for f, s in success.groupby(runs["family"])},
        "success_share_by_model": (
            {m: float(s.mean()) for m, s in success.groupby(runs["model"])} if "model" in runs else {}
        ),
        "success_share_by_adapter": (
            {("full" if f else "LoRA"): float(s.mean()) for f, s in success.groupby(runs["recipe_full_finetune"] > 0)}
            if "recipe_full_finetune" in runs else {}
        ),
        "costs": {
            "flops_full_total": float(runs["cost_full"].sum()),
            "flops_probe_total": float(runs["cost_probe"].sum()),
            "flops_proxy_total": float(runs["cost_proxy"].fillna(0).sum()),
            "probe_share_of_full_median": float((runs["cost_probe"] / runs["cost_full"]).median()),
            "seconds_full_total": float(runs.get("cost_seconds_full", runs["cost_full"] * math.nan).sum()),
            "seconds_probe_total": float(runs.get("cost_seconds_probe", runs["cost_full"] * math.nan).sum()),
            "seconds_proxy_total": float(runs.get("cost_seconds_proxy", runs["cost_full"] * math.nan).sum()),
        },
    }
    if truth is not None and "truth_target_target" in truth:
        prior = runs[["run_id", "final_metric"]].merge(truth[["run_id", "truth_target_target"]], on="run_id")
        prior_success = prior["final_metric"] >= prior["truth_target_target"]
        sheet["success_share_prior_targets"] = float(prior_success.mean()) if len(prior) else math.nan
        sheet["targets_recalibrated"] = bool((prior["truth_target_target"] != runs["target"].values).any())
    if truth is not None and "truth_problems" in truth:
        merged = runs[["run_id"]].assign(success=success.values).merge(truth, on="run_id", how="left")
        causes: Counter = Counter()
        planted: Counter = Counter()
        for _, row in merged.iterrows():
            probs = _problems(row.get("truth_problems"))
            for p in probs or ["none planted"]:
                planted[p] += 1
                if not row["success"]:
                    causes[p] += 1
        clean = merged["truth_problems"].map(_problems).map(len) == 0
        sheet["success_share_no_problem_planted"] = float(merged.loc[clean, "success"].mean()) if clean.any() else math.nan
        sheet["success_share_problem_planted"] = float(merged.loc[~clean, "success"].mean()) if (~clean).any() else math.nan
        sheet["failures_by_planted_problem"] = {
            p: {"failed": causes[p], "runs": planted[p], "failure_share": causes[p] / planted[p]}
            for p in sorted(planted, key=lambda k: -planted[k])
        }
    if truth is not None:
        noise = seed_repeat_noise(runs, truth)
        if noise is not None:
            sheet["seed_repeats"] = noise
    if recipe_only and n >= 20 and runs["family"].nunique() >= 3:
        sheet["recipe_hyperparameters_only"] = recipe_only_balanced_accuracy(runs)
    return sheet


def to_markdown(sheet: dict) -> str:
    lines = [f"# TuneBench datasheet ({sheet['runs']} runs)", ""]
    lines.append(f"- success share: {sheet['success_share']:.1%}")
    if "success_share_prior_targets" in sheet:
        how = ("targets re-drawn from ceilings measured on the corpus's clean runs (leave-one-out)"
               if sheet["targets_recalibrated"] else "targets as drawn by the generator")
        lines.append(f"  ({how}; with the generator's prior targets: {sheet['success_share_prior_targets']:.1%})")
    if "success_share_no_problem_planted" in sheet:
        lines.append(f"  (runs with no planted problem: {sheet['success_share_no_problem_planted']:.1%}; "
                     f"with one or two: {sheet['success_share_problem_planted']:.1%})")
    if sheet.get("success_share_by_model"):
        lines.append("- success share by model: " + ", ".join(
            f"{m} {s:.1%}" for m, s in sorted(sheet["success_share_by_model"].items())))
    if sheet.get("success_share_by_adapter"):
        lines.append("- success share by adapter: " + ", ".join(
            f"{m} {s:.1%}" for m, s in sorted(sheet["success_share_by_adapter"].items())))
    lines.append(f"- families: {len(sheet['families'])} ({', '.join(f'{k} {v}' for k, v in sorted(sheet['families'].items()))})")
    lines.append(f"- models: {', '.join(f'{k} {v}' for k, v in sorted(sheet['models'].items()))}")
    c = sheet["costs"]
    lines.append(f"- FLOPs: full runs {c['flops_full_total']:.3g}, probes {c['flops_probe_total']:.3g}, "
                 f"proxy runs {c['flops_proxy_total']:.3g}; median probe cost = {c['probe_share_of_full_median']:.1%} "
                 "of its full run")
    lines.append(f"- wall seconds: full {c['seconds_full_total']:.0f}, probe {c['seconds_probe_total']:.0f}, "
                 f"proxy {c['seconds_proxy_total']:.0f}")
    lines += ["", "## Final hidden-test metric", "", "| range | runs |", "| --- | --- |"]
    for b in sheet["final_metric_histogram"]:
        lines.append(f"| {b['from']:.1f}–{b['to']:.1f} | {'#' * b['runs']} {b['runs']} |")
    lines += ["", "## Success share by family", "", "| family | runs | success |", "| --- | --- | --- |"]
    lines += [f"| {f} | {sheet['families'][f]} | {s:.0%} |" for f, s in sorted(sheet["success_share_by_family"].items())]
    if "failures_by_planted_problem" in sheet:
        lines += ["", "## Failures by planted problem", "", "| problem | runs | failed | failure share |",
                  "| --- | --- | --- | --- |"]
        for p, v in sheet["failures_by_planted_problem"].items():
            lines.append(f"| {p} | {v['runs']} | {v['failed']} | {v['failure_share']:.0%} |")
    if "seed_repeats" in sheet:
        r = sheet["seed_repeats"]
        lines += ["", "## Seed repeats: the corpus's own noise", "",
                  f"{r['scenarios']} scenarios trained more than once ({r['runs']} runs; same data, recipe and "
                  "target, another training seed):",
                  f"- spread of the final metric within a scenario: sd {r['sd_mean']:.3f} on average "
                  f"(median {r['sd_median']:.3f}); range {r['range_mean']:.3f} on average, {r['range_max']:.3f} at most",
                  f"- success labels that differ between a scenario's seeds: {r['label_flips']} of {r['scenarios']} "
                  f"scenarios ({r['label_flip_share']:.0%})"]
    if "recipe_hyperparameters_only" in sheet:
        r = sheet["recipe_hyperparameters_only"]
        ci = r.get("ci")
        ci_text = f" (95 % CI {ci[0]:.2f}–{ci[1]:.2f})" if ci else ""
        lines += ["", "## Can the recipe alone predict the outcome?", ""]
        if r.get("balanced_accuracy") is None:  # e.g. training folds too small to fit on
            lines.append(f"Not measured: the predictor on recipe hyperparameters only {r.get('status', 'failed')} "
                         f"({r.get('note') or 'no figure'}).")
        else:
            lines.append(f"Balanced accuracy of a predictor on recipe hyperparameters only, held out by task family: "
                         f"**{r['balanced_accuracy']:.3f}**{ci_text} (aim ≤ 0.75).")
    return "\n".join(lines) + "\n"
