"""Markdown comparison tables for an evaluation (the JSON form is `EvaluationResult.to_dict()`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from tuneahead.evaluate.harness import EvaluationResult, MethodResult

# (metric key, column title, format: "pct" | "num" | "int")
GATE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("decide_cost_share", "cost to decide", "pct"),
    ("success_recall", "success recall", "pct"),
    ("failure_recall", "failure recall", "pct"),
    ("balanced_accuracy", "balanced acc.", "pct"),
    ("auroc", "AUROC", "num"),
    ("auroc_common", "AUROC on common runs", "num"),
    ("brier", "Brier", "num"),
    ("savings", "compute saved", "pct"),
    ("savings_of_oracle", "of oracle", "pct"),
    ("successes_lost", "successes lost", "int"),
)
VERDICT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("go_at", "GO at P ≥", "num"),
    ("no_go_at", "NO-GO at P ≤", "num"),
    ("go_share", "GO", "pct"),
    ("go_precision", "GO then success", "pct"),
    ("no_go_share", "NO-GO", "pct"),
    ("no_go_precision", "NO-GO then failure", "pct"),
    ("uncertain_share", "UNCERTAIN", "pct"),
    ("decided_share", "decided", "pct"),
    ("verdict_successes_lost", "successes stopped", "int"),
    ("verdict_savings_of_oracle", "saved, of oracle", "pct"),
)
FORECAST_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("rmse", "RMSE", "num"),
    ("within_tol", "within ±tol", "pct"),
    ("interval_coverage", "interval coverage", "pct"),
    ("interval_width", "interval width", "num"),
)

DECILE_COLUMNS: tuple[tuple[str, str, str], ...] = tuple(
    (f"coverage_decile_{k}", str(k), "pct") for k in range(1, 11)
)


def _fmt(v: float, kind: str) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    if kind == "pct":
        return f"{100 * v:.1f} %"
    if kind == "int":
        return f"{v:.1f}" if not float(v).is_integer() else f"{int(v)}"
    return f"{v:.3f}"


def _cell(m: MethodResult, key: str, kind: str) -> str:
    text = _fmt(m.metrics.get(key, float("nan")), kind)
    lo, hi = m.ci.get(key, (float("nan"), float("nan")))
    if text != "–" and math.isfinite(lo) and math.isfinite(hi):
        text += f" [{_fmt(lo, kind)}, {_fmt(hi, kind)}]"
    return text


def _table(
    result: EvaluationResult, columns: tuple[tuple[str, str, str], ...], only_with: str | None = None
) -> list[str]:
    """One row per method that ran (and, with `only_with`, has a finite value of that metric)."""
    lines = ["| method | " + " | ".join(title for _, title, _ in columns) + " |"]
    lines.append("|" + "---|" * (len(columns) + 1))
    for m in result.methods:
        if m.status != "ok" or (only_with and not math.isfinite(m.metrics.get(only_with, float("nan")))):
            continue
        lines.append(f"| {m.name} | " + " | ".join(_cell(m, k, kind) for k, _, kind in columns) + " |")
    return lines


def to_markdown(result: EvaluationResult) -> str:
    cfg = result.config
    split = f"held out by `{cfg.split_by}` ({result.n_groups} groups)" if cfg.split_by else "random folds"
    split += f", {cfg.n_folds} folds"
    if cfg.test_group is not None:  # one fixed split, no folds
        split = f"trained on the other `{cfg.split_by}` groups, tested on `{cfg.split_by}` = {cfg.test_group}"
    thr = result.task.threshold
    thr_text = f"`{result.task.target}` ≥ `{thr}`" if isinstance(thr, str) else f"`{result.task.target}` ≥ {thr}"
    level = round(cfg.ci_level * 100)
    lines = [
        "# TuneAhead evaluation",
        "",
        (
            f"{result.n_runs} runs ({result.n_success} successes: {thr_text}), {split}, "
            f"seeds {', '.join(map(str, cfg.seeds))}. A run is let through when P(success) ≥ {cfg.decision_threshold}. "
            f"Cells: mean over seeds [{level} % bootstrap CI over runs]."
        ),
        "",
        f"Oracle savings (full cost of the failed runs): {_fmt(result.oracle_savings, 'pct')}.",
        "",
        "## Gate",
        "",
        *_table(result, GATE_COLUMNS),
        "",
        f"## Verdicts at cost ratio {result.config.cost_ratio:g}",
        "",
        f"The cost ratio is what stopping a run that would have succeeded costs, in failed full runs. A method "
        f"that sets its own cut-offs for these stakes (TuneAhead's, as `tuneahead check` does) sets them on each "
        f"fold's training runs (the cut-off columns: mean over folds; – where that verdict was never given); the "
        f"others are judged at GO ≥ {result.config.verdict_thresholds[1]:g}, NO-GO ≤ "
        f"{result.config.verdict_thresholds[0]:g}. The three-way gate stops only its NO-GO runs: successes "
        "stopped and savings count those.",
        "",
        "From P(success) alone. `tuneahead check` adds rules on top: a diverged probe (or, for exact match, "
        "no training answer kept whole) is a NO-GO, and a GO with an error finding or outside the training "
        "data becomes UNCERTAIN.",
        "",
        *_table(result, VERDICT_COLUMNS),
        "",
        f"## Forecast of the final metric (tolerance ±{result.tolerance:g})",
        "",
        *_table(result, FORECAST_COLUMNS),
        "",
        "Interval coverage by tenth of the runs ranked by their forecast (1: the lowest forecasts):",
        "",
        *_table(result, DECILE_COLUMNS, only_with="interval_coverage"),
        "",
        "## Methods",
        "",
    ]
    for m in result.methods:
        status = "" if m.status == "ok" else f" — **{m.status}**"
        note = f" ({m.note})" if m.note else ""
        lines.append(f"- **{m.name}**: {m.description}{status}{note}")
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in result.notes]
    return "\n".join(lines) + "\n"
