"""One feature row -> forecast, cut-offs and judgement: the step `check` takes at each probe stage, and the
live callback at the end of its probe window, so the two give the same verdict for the same features."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tuneahead.gate.config import CheckConfig
from tuneahead.gate.policy import Judgement, Policy, judge
from tuneahead.gate.target import Target

NOTHING_TO_LEARN = 0.99  # share of probe steps without a loss-bearing token that means "no signal at all"
WHOLE_ANSWER_MIN = 0.01  # below this share of training answers kept whole, no answer's end is learnt
WHOLE_ANSWER_METRICS = frozenset({"exact_match", "em"})  # metrics that score an answer only when all of it is right


@dataclass
class Assessment:
    forecast: Any  # predict.predictor.Forecast
    judgement: Judgement
    policy: Policy


def no_whole_answer(descriptors: Mapping[str, float], metric: str | None) -> bool:
    """True when the target scores whole answers and (nearly) every training answer is cut by max_seq_length."""
    cut = descriptors.get("answer_cut_share", math.nan)
    return (metric or "").lower() in WHOLE_ANSWER_METRICS and math.isfinite(cut) and 1.0 - cut < WHOLE_ANSWER_MIN


def assess(
    predictor: Any,
    features: Mapping[str, float],
    *,
    goal: Target,
    config: CheckConfig,
    recipe_reasons: Sequence[str] = (),
    diverged: bool,
    probe_features: Mapping[str, float],
    no_whole_answer: bool,
    findings: Iterable[Any] = (),
) -> Assessment:
    """Forecast and judge one feature row with a stage's predictor at the user's target and stakes.

    `recipe_reasons`: why the recipe lies outside the predictor's recipe space (makes the run
    out-of-distribution); `findings`: static and probe findings (an error finding rules out a GO).
    """
    forecast = predictor.predict([dict(features)], threshold=goal.value, strict=False)[0]
    if recipe_reasons:
        forecast = replace(forecast, ood=True, ood_reasons=(*recipe_reasons, *forecast.ood_reasons))
    empty = probe_features.get("probe_empty_step_share", 0.0)
    errors = [f.code for f in findings if f.severity == "error"]
    policy = config.policy(predictor.cut_offs(config.cost_ratio))  # each stage's own training runs
    judgement = judge(forecast.p_success, ood=forecast.ood, diverged=diverged,
                      nothing_to_learn=empty >= NOTHING_TO_LEARN, no_whole_answer=no_whole_answer,
                      error_findings=errors, policy=policy)
    return Assessment(forecast, judgement, policy)
