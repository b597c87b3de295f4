"""The accuracy bar each TuneBench run must clear: success = hidden-test exact match >= target.

A target plays the part of the bar a user sets before paying for a fine-tune. It is drawn per run as

    target = chance + fraction * (ceiling - chance),   fraction in FRACTIONS

where `chance` is the accuracy of guessing (1 / #labels for classification-like families, 0 for
generative ones) and `ceiling` is what a sensible recipe reaches on that family, difficulty and
model. Users ask for "most of what is achievable" (0.9), "a good share" (0.7) or "clearly better
than guessing" (0.5); clean runs mostly clear the low bars and about half clear the high one, runs
with a planted problem mostly fail, which puts the success share near 30-60 %.

Ceilings start as a prior (`prior_ceiling`, measured by a separate learnability scan before the
corpus is built) and may be replaced by ceilings measured on the corpus (`recalibrate_targets`):
the target is not an input to training, so
it may be re-drawn after the runs, with the same fraction, as long as a run's own outcome never
moves its own bar (leave-one-out).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tuneahead.bench.tasks import (
    Difficulty,
    TaskFamily,
    difficulty_at,
    difficulty_score,
    get_family,
    is_labelled,
)

FRACTIONS: tuple[float, ...] = (0.5, 0.7, 0.9)
FRACTION_WEIGHTS: tuple[float, ...] = (0.35, 0.35, 0.30)  # v2: 0.25, 0.35, 0.40
STEP = 0.05  # users state round bars

# Prior ceiling: exact match of a plain sensible run (full fine-tune, lr 1e-3, cosine, 16 x 1, 350 steps,
# 600 clean rows) at difficulty levels 0, 0.5 and 1, scored on 100 clean test rows, measured per zoo model
# before the corpus by `scripts/task_learnability.py --model M --levels 0,0.5,1 --steps 350 --n-train 600`
# (bench/learnability*.json). One run per cell, so a ceiling is good to about +-0.05;
# `recalibrate_targets` can replace it with corpus measurements.
SCANNED_CEILING: dict[str, dict[str, tuple[float, float, float]]] = {
    "tiny-0.2m": {
        "arithmetic": (0.04, 0.00, 0.00),
        "caesar": (0.24, 0.00, 0.00),
        "case_convert": (0.12, 0.11, 0.51),
        "compare": (0.98, 0.94, 0.61),
        "compose": (0.06, 0.00, 0.00),
        "counting": (0.86, 0.33, 0.18),
        "date_format": (1.00, 0.62, 0.10),
        "kth_word": (0.81, 0.06, 0.01),
        "kv_lookup": (0.31, 0.09, 0.02),
        "next_in_sequence": (0.03, 0.00, 0.05),
        "parity": (1.00, 1.00, 0.52),
        "reverse": (0.24, 0.00, 0.00),
        "sentiment": (0.99, 0.90, 0.77),
        "sort_words": (0.49, 0.02, 0.00),
        "topic": (1.00, 0.92, 0.56),
        "unit_convert": (0.01, 0.00, 0.00),
        # v6 shapes (bench/learnability_v6_tiny-0.2m.json, same scan)
        "modular_sum": (0.55, 0.19, 0.06),  # chance: 0.50 / 0.20 / 0.09
        "lexicon": (1.00, 0.04, 0.00),
        "spell_words": (0.00, 0.00, 0.00),
        "count_up": (0.01, 0.00, 0.00),
    },
    "tiny-1m": {
        "arithmetic": (0.04, 0.00, 0.00),
        "caesar": (0.51, 0.23, 0.08),
        "case_convert": (0.53, 0.77, 0.74),  # upper case is the hard style for this tokenizer
        "compare": (0.94, 0.97, 0.92),
        "compose": (0.44, 0.12, 0.00),
        "counting": (0.95, 0.25, 0.11),
        "date_format": (1.00, 0.90, 0.12),
        "kth_word": (0.94, 0.12, 0.04),
        "kv_lookup": (0.44, 0.15, 0.05),
        "next_in_sequence": (0.19, 0.00, 0.10),
        "parity": (1.00, 1.00, 0.55),
        "reverse": (0.63, 0.26, 0.00),
        "sentiment": (0.99, 0.92, 0.78),
        "sort_words": (0.68, 0.29, 0.09),
        "topic": (1.00, 0.90, 0.63),
        "unit_convert": (1.00, 0.00, 0.34),  # the middle setting is time units, harder than mixed
        # v6 shapes (bench/learnability_v6_tiny-1m.json, same scan)
        "modular_sum": (0.50, 0.21, 0.05),  # chance at 350 steps: 0.50 / 0.20 / 0.09
        "lexicon": (1.00, 0.40, 0.00),
        "spell_words": (0.42, 0.34, 0.00),
        "count_up": (0.89, 0.89, 0.87),
    },
}
# A zoo model without a scan borrows the nearest scanned one's ceilings, times a factor.
UNSCANNED_MODEL: dict[str, tuple[str, float]] = {"tiny-4m": ("tiny-1m", 1.1)}
_DEFAULT_PRIOR = (0.85, 0.5, 0.10)
SCAN_LEVELS: tuple[float, float, float] = (0.0, 0.5, 1.0)
# Difficulty a run is drawn at: up to where a sensible run of that model still reaches LEARNABLE_HEADROOM,
# and a little beyond (LEARNABLE_OVERSHOOT), so that "too hard for this model" stays one failure among many
# rather than most of the corpus.
# v5: a share of the headroom above chance. v4 asked for a raw ceiling >= 0.4, which counted a coin flip on
# a two-label family (parity at its hardest: 0.52) as learnable; v3 asked for >= 0.3.
LEARNABLE_HEADROOM = 0.4
LEARNABLE_OVERSHOOT = 0.1
MIN_LEVEL_SPAN = 0.2
# The scans are full fine-tunes. A LoRA adapter on these tiny models gets much less of the way: in the
# v3 pilot, clean LoRA runs reached a median 0.28 of the scanned headroom above chance and clean full
# fine-tunes 0.70, so a LoRA run's ceiling is chance + LORA_HEADROOM x (full ceiling - chance).
# (v3 set LoRA runs the full fine-tune's bar; 18 % of its clean LoRA runs cleared it.)
LORA_HEADROOM = 0.4


@dataclass(frozen=True)
class TargetDraw:
    target: float
    fraction: float
    ceiling: float
    chance: float
    source: str  # "prior" or "measured"


def chance_accuracy(family: TaskFamily, difficulty: Difficulty) -> float:
    """Accuracy of guessing uniformly among the labels on the balanced hidden test (0 when open-ended)."""
    if is_labelled(family):
        return 1.0 / len(family.labels(difficulty))  # type: ignore[attr-defined]
    return 0.0


def scanned_ceiling(family_name: str, model: str, level: float) -> float:
    """Piecewise-linear ceiling between the scanned levels 0, 0.5 and 1 (before chance is applied)."""
    base_model, factor = UNSCANNED_MODEL.get(model, (model, 1.0))
    points = SCANNED_CEILING.get(base_model, SCANNED_CEILING["tiny-1m"]).get(family_name, _DEFAULT_PRIOR)
    value = float(np.interp(level, SCAN_LEVELS, points))  # held flat outside [0, 1]
    return min(0.99, value * factor)


def prior_ceiling(family: TaskFamily, difficulty: Difficulty, model: str, *, lora: bool = False) -> float:
    """What a sensible run reaches on this setting: the scanned full fine-tune, scaled for LoRA."""
    chance = chance_accuracy(family, difficulty)
    base = max(chance, scanned_ceiling(family.name, model, difficulty_score(family, difficulty)))
    if lora:
        base = chance + LORA_HEADROOM * (base - chance)
    return min(0.99, base)


def headroom_share(family_name: str, model: str, level: float) -> float:
    """How much of the way from chance to perfect the scanned ceiling gets at `level` (0 = chance)."""
    family = get_family(family_name)
    chance = chance_accuracy(family, difficulty_at(family, level))
    return (scanned_ceiling(family_name, model, level) - chance) / (1.0 - chance)


def learnable_level(family_name: str, model: str) -> float:
    """Highest difficulty level a run of `model` on `family_name` is drawn at (see LEARNABLE_HEADROOM)."""
    grid = [i / 20 for i in range(21)]
    reachable = [lv for lv in grid if headroom_share(family_name, model, lv) >= LEARNABLE_HEADROOM]
    top = max(reachable, default=0.0) + LEARNABLE_OVERSHOOT
    return round(min(1.0, max(MIN_LEVEL_SPAN, top)), 4)


def target_from(fraction: float, ceiling: float, chance: float) -> float:
    """The bar for one run: `fraction` of the headroom above chance, rounded to STEP.

    Never below chance + 10 % of the headroom to 1 (no one asks for a guess) and never above 0.95.
    """
    raw = chance + fraction * (ceiling - chance)
    floor = chance + 0.1 * (1.0 - chance)
    bar = round(max(raw, floor) / STEP) * STEP
    return round(min(0.95, bar), 4)


def draw_target(
    rng: random.Random, family: TaskFamily, difficulty: Difficulty, model: str, *, lora: bool = False
) -> TargetDraw:
    fraction = rng.choices(FRACTIONS, FRACTION_WEIGHTS)[0]
    ceiling = round(prior_ceiling(family, difficulty, model, lora=lora), 4)  # stored as drawn: the bar follows from it
    chance = chance_accuracy(family, difficulty)
    return TargetDraw(target_from(fraction, ceiling, chance), fraction, ceiling, chance, "prior")


# ---------------------------------------------------------------- after the runs


@dataclass(frozen=True)
class RunOutcome:
    """What recalibration needs from one finished run (from its ground truth and its result)."""

    run_id: str
    family: str
    model: str
    difficulty_score: float
    clean: bool  # no planted problem at all: these define what is achievable
    fraction: float
    chance: float
    accuracy: float  # hidden-test exact match


def difficulty_bucket(score: float) -> int:
    """Easy (0), medium (1) or hard (2) thirds of the difficulty score."""
    return min(2, int(score * 3))


def recalibrate_targets(
    runs: Sequence[RunOutcome],
    *,
    quantile: float = 0.9,
    min_runs: int = 4,
    prior: Mapping[str, float] | None = None,
) -> dict[str, TargetDraw]:
    """New targets from measured ceilings: the `quantile` of clean runs' accuracy in the same cell.

    Cells are (family, model, difficulty third), falling back to (family, difficulty third), then
    (family, model), then the family alone, and finally to `prior[run_id]` when no cell has `min_runs`
    other clean runs. The run itself is always left out of its own cell, so its outcome never sets its bar.
    """
    cells: dict[tuple, list[tuple[str, float]]] = defaultdict(list)
    for r in runs:
        if r.clean and math.isfinite(r.accuracy):
            bucket = difficulty_bucket(r.difficulty_score)
            for key in _cells(r.family, r.model, bucket):
                cells[key].append((r.run_id, r.accuracy))
    out: dict[str, TargetDraw] = {}
    for r in runs:
        bucket = difficulty_bucket(r.difficulty_score)
        ceiling = None
        for key in _cells(r.family, r.model, bucket):
            others = [acc for run_id, acc in cells.get(key, ()) if run_id != r.run_id]
            if len(others) >= min_runs:
                ceiling = _quantile(others, quantile)
                break
        if ceiling is None:
            fallback = (prior or {}).get(r.run_id)
            if fallback is None:
                continue
            out[r.run_id] = TargetDraw(
                target_from(r.fraction, fallback, r.chance), r.fraction, fallback, r.chance, "prior"
            )
            continue
        ceiling = max(ceiling, r.chance)
        out[r.run_id] = TargetDraw(
            target_from(r.fraction, ceiling, r.chance), r.fraction, round(ceiling, 4), r.chance, "measured"
        )
    return out


def _cells(family: str, model: str, bucket: int) -> tuple[tuple, ...]:
    """A run's cells, most specific first (None = pooled over that axis)."""
    return ((family, model, bucket), (family, None, bucket), (family, model, None), (family, None, None))


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def recalibrate_table(runs, truth, *, quantile: float = 0.9, min_runs: int = 4):
    """The run table with `target` and `success` re-drawn from measured ceilings (`recalibrate_targets`).

    `truth` is the ground-truth table of the same runs (`truth_*` columns). Runs without a measured
    cell keep their prior target. Returns (table, number of runs whose target came from measurements).
    """
    import pandas as pd

    t = truth.set_index("run_id")
    outcomes = []
    prior: dict[str, float] = {}
    for row in runs.itertuples(index=False):
        g = t.loc[row.run_id]
        problems = str(g.get("truth_problems", "[]")).strip("[] ")
        outcomes.append(RunOutcome(
            run_id=row.run_id, family=row.family, model=row.model,
            difficulty_score=float(g["truth_difficulty_score"]), clean=problems == "",
            fraction=float(g["truth_target_fraction"]), chance=float(g["truth_target_chance"]),
            accuracy=float(row.final_metric) if pd.notna(row.final_metric) else math.nan,
        ))
        prior[row.run_id] = float(g["truth_target_ceiling"])
    draws = recalibrate_targets(outcomes, quantile=quantile, min_runs=min_runs, prior=prior)
    out = runs.copy()
    out["target"] = [draws[r].target if r in draws else old for r, old in zip(out["run_id"], out["target"])]
    out["success"] = out["final_metric"] >= out["target"]
    measured = sum(1 for r in out["run_id"] if r in draws and draws[r].source == "measured")
    return out, measured
