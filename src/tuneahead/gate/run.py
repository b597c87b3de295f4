"""`check`: descriptors -> probe -> predictor -> GO / NO-GO / UNCERTAIN, with reasons, findings and costs.

Adaptive probing: the first stage runs the default probe (its length set by the probe budget). When
the verdict is UNCERTAIN and the predictor bundle has a longer stage, the probe is run again
`probe_steps_factor` times as long (never past `max_probe_share` of the full run's FLOPs) and the
longer stage's predictor, fitted on features of such probes, decides. Out-of-distribution runs are
not extended: a longer probe does not bring a run into the training data.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneahead.errors import InputError, Location
from tuneahead.gate.bundle import PredictorBundle, load_bundle
from tuneahead.gate.config import CheckConfig
from tuneahead.gate.assess import assess, no_whole_answer
from tuneahead.gate.policy import Decision, Judgement, Policy
from tuneahead.gate.recipe_space import outside_space
from tuneahead.gate.regime import Regime, read_regime
from tuneahead.gate.target import Target, parse_target
from tuneahead.paths import PathLike

if TYPE_CHECKING:
    from tuneahead.probe.config import ProbeConfig



@dataclass
class StageResult:
    """One probe stage: how long it ran, what it cost, and what the predictor made of it."""

    name: str
    steps: int
    seconds: float
    flops: float
    probe_share: float
    metric: float
    interval: tuple[float, float]
    p_success: float | None
    decision: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, interval=list(self.interval))


@dataclass
class Verdict:
    """Everything `tuneahead check` reports; `to_dict()` is the `--json` document."""

    decision: Decision
    p_success: float  # calibrated, after the out-of-distribution adjustment
    p_model: float  # the predictor's own P(success)
    p_raw: float | None  # the success model's P before calibration (what `contributions` explain, in log-odds)
    target: Target
    forecast: float  # forecast of the final metric
    interval: tuple[float, float]
    coverage: float
    why: str  # the rule that decided, in words
    rule: str | None  # a rule that decided NO-GO whatever P(success) said ("diverged", ...), else None
    cut_offs: dict[str, Any]  # the GO / NO-GO cut-offs used and how they were set (`Policy.describe`)
    # What decides the verdict is explained: P(success) when a trained success model gave it (SHAP
    # values in log-odds), else the metric forecast (SHAP values in units of the metric).
    explains: str  # "p_success" or "forecast"
    reasons: list[Any]  # predict.explain.Reason, strongest first
    contributions: dict[str, float]
    base_value: float
    forecast_reasons: list[Any]  # the metric forecast's own reasons (the same as `reasons` when it is explained)
    ood: bool
    ood_reasons: list[str]
    findings: list[Any]  # data.findings.Finding: static and probe findings, most severe first
    cost: Any  # probe.cost.CostEstimate of the last stage (full run: FLOPs, GPU-hours, money)
    check_seconds: float
    check_flops: float  # every probe stage together
    stages: list[StageResult]
    regime: Regime
    predictor: dict[str, Any]
    recipe: Any  # recipe.model.Recipe
    features: dict[str, float]
    probe: Any = field(repr=False)  # probe.result.ProbeResult of the last stage
    described: Any = field(repr=False)  # data.describe.DescribeResult
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.decision.exit_code

    def top_reasons(self, n: int = 5) -> list[Any]:
        return list(self.reasons[:n])

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "p_success": self.p_success,
            "p_success_model": self.p_model,
            "p_success_raw": self.p_raw,
            "target": {"metric": self.target.metric, "value": self.target.value},
            "forecast": {"metric": self.forecast, "interval": list(self.interval), "coverage": self.coverage},
            "why": self.why,
            "rule": self.rule,
            "cut_offs": self.cut_offs,
            "explains": {"p_success": "P(success), in log-odds before calibration",
                         "forecast": "the metric forecast"}[self.explains],
            "reasons": [r.to_dict() for r in self.reasons],
            "contributions": self.contributions,
            "base_value": self.base_value,
            "forecast_reasons": [r.to_dict() for r in self.forecast_reasons],
            "out_of_distribution": {"flag": self.ood, "reasons": self.ood_reasons},
            "findings": [f.to_dict() for f in self.findings],
            "cost": {
                "full_run": self.cost.to_dict(),
                "check": {"seconds": self.check_seconds, "flops": self.check_flops,
                          "share_of_full_run": self.check_flops / self.cost.full_flops if self.cost.full_flops else None},
            },
            "stages": [s.to_dict() for s in self.stages],
            "regime": self.regime.to_dict(),
            "predictor": self.predictor,
            "recipe": self.recipe.model_dump(mode="json"),
            "features": self.features,
            "probe": self.probe.to_dict(include_trace=True),
            "notes": self.notes,
        }


ProgressHook = Callable[[str, Any], None]  # ("stage", name) / ("probe", ProbeEvent) / ("step", text)


def check(
    recipe: Any,
    data: Sequence[PathLike] | PathLike | None = None,
    eval_data: Sequence[PathLike] | PathLike | None = None,
    *,
    target: Target | str | float | None = None,
    predictor: PathLike | PredictorBundle | None = None,
    model: str | None = None,
    config: CheckConfig | None = None,
    policy: Policy | None = None,
    progress: ProgressHook | None = None,
    **settings: Any,
) -> Verdict:
    """Judge a fine-tune before it runs. `recipe` is a Recipe or a recipe file path.

    `target`: "exact_match>=0.8", 0.8 or a Target (required: the verdict is about reaching it).
    `predictor`: a bundle or predictor directory (default: the bundled TuneBench predictor).
    `config` says how the check decides and probes (`CheckConfig`); `settings` are keyword shortcuts for
    its fields (`adaptive=False`, `threads=2`), and `policy` one for its GO / NO-GO thresholds.
    """
    from tuneahead.data.describe import describe
    from tuneahead.data.load import load_recipe_data
    from tuneahead.features.row import feature_row
    from tuneahead.models.loading import load_model
    from tuneahead.recipe.load import load_recipe

    started = time.perf_counter()
    say = progress or (lambda kind, payload: None)
    if policy is not None:  # fixed cut-offs (a policy from stakes is made per stage, below)
        settings = {"go_at": policy.go_at, "no_go_at": policy.no_go_at, **settings}
    cfg = CheckConfig.build(config, **settings)
    adaptive, max_probe_share = cfg.adaptive, cfg.max_probe_share
    data_format, skip_invalid = cfg.data_format, cfg.skip_invalid
    if not isinstance(recipe, (str, Path)):
        rec = recipe
    else:
        rec = load_recipe(recipe)
    stand_in_note = None
    if model and model != rec.base_model:
        stand_in_note = (
            f"The probe ran on {model}, a stand-in for the recipe's model {rec.base_model}: the probe's figures "
            "(loss, gradients, held-out accuracy, speed, cost) and the verdict built on them are the stand-in's."
        )
    if model:
        rec = rec.model_copy(update={"base_model": model})
    goal = parse_goal(target)
    bundle = predictor if isinstance(predictor, PredictorBundle) else load_bundle(predictor)
    check_metric(goal, bundle)

    say("step", "reading the data")
    described = describe(data, eval_data=eval_data, recipe=rec, data_format=data_format, skip_invalid=skip_invalid)
    train, evals = load_recipe_data(
        rec, _as_list(data), _as_list(eval_data), data_format=data_format, skip_invalid=skip_invalid
    )

    say("step", f"loading {rec.base_model}")
    loaded = load_model(rec.base_model)
    recipe_json = rec.model_dump(mode="json")
    recipe_reasons = outside_space(recipe_json, bundle.info.get("recipe_space"))
    whole_answer_rule = no_whole_answer(described.descriptors, goal.metric or bundle.metric)

    stages: list[StageResult] = []
    check_flops = 0.0
    first_steps: int | None = None
    skipped: str | None = None
    result = forecast = judgement = None
    stage_policy: Policy | None = None
    features: dict[str, float] = {}
    for i, stage in enumerate(bundle.stages):
        steps = None
        if i > 0:
            assert first_steps is not None and result is not None
            steps = max(first_steps + 1, round(first_steps * stage.probe_steps_factor))
            # The longer stage's predictor learned from probes of exactly this length, so a shorter
            # extension would be judged out of its league: extend fully within the budget, or not at all.
            per_step = result.cost.probe_flops / max(1, result.steps_done)
            if check_flops + steps * per_step > max_probe_share * result.cost.full_flops:
                skipped = (
                    f"Extending the probe to {steps} steps would take the check past "
                    f"{max_probe_share:.0%} of the full run's compute (--max-probe-share), so it stopped here."
                )
                break
        say("stage", stage.name)
        result = _probe(rec, train, evals, loaded, cfg.probe(steps), say)
        if result.interrupted:
            # A verdict from a partial probe would look like a finished one (and be recorded as one).
            raise KeyboardInterrupt(f"the probe was interrupted after {result.steps_done} steps: no verdict")
        if first_steps is None:
            first_steps = result.steps_done
        check_flops += result.cost.probe_flops
        features = feature_row(recipe=recipe_json, descriptors=described.descriptors, probe=result.features)
        assessed = assess(stage.predictor, features, goal=goal, config=cfg, recipe_reasons=recipe_reasons,
                          diverged=result.diverged, probe_features=result.features, no_whole_answer=whole_answer_rule,
                          findings=(*described.findings, *result.findings))
        forecast, judgement, stage_policy = assessed.forecast, assessed.judgement, assessed.policy
        stages.append(StageResult(
            stage.name, result.steps_done, result.seconds, result.cost.probe_flops, result.cost.probe_share,
            # The P the stage's verdict used (after the out-of-distribution adjustment): the headline's figure.
            forecast.metric, forecast.interval,
            judgement.p_success if math.isfinite(judgement.p_success) else None, judgement.decision.value,
        ))
        if judgement.decision is not Decision.UNCERTAIN or not adaptive or forecast.ood or judgement.blocked_by:
            break  # a longer probe cannot clear a finding or the predictor's unfamiliarity
    assert result is not None and forecast is not None and judgement is not None and stage_policy is not None
    verdict = _verdict(rec, goal, bundle, described, result, forecast, judgement, stage_policy, stages, check_flops,
                       features, time.perf_counter() - started)
    if skipped and verdict.decision is Decision.UNCERTAIN and adaptive:
        verdict.notes.append(skipped)
    if stand_in_note:
        verdict.notes.insert(0, stand_in_note)
    return verdict


def _probe(rec, train, evals, loaded, probe_config: ProbeConfig, say):
    from tuneahead.probe.engine import run_probe

    return run_probe(rec, train, evals, config=probe_config, model=loaded, progress=lambda event: say("probe", event))


def _verdict(rec, goal: Target, bundle: PredictorBundle, described, result, forecast, judgement: Judgement,
             policy: Policy, stages: list[StageResult], check_flops: float, features: dict[str, float],
             seconds: float) -> Verdict:
    from tuneahead.data.findings import SEVERITY_ORDER

    findings = sorted([*described.findings, *result.findings], key=lambda f: SEVERITY_ORDER.get(f.severity, 9))
    notes = [n for n in (described.train_report.skipped_note(),) if n] + list(result.notes)
    if forecast.ood:
        notes.append(
            "This run lies outside the runs the predictor was trained on, so its confidence is lowered. "
            "Fit a predictor on your own runs (`tuneahead fit --runs YOUR_RUNS`) for verdicts you can lean on."
        )
    if len(stages) > 1:
        notes.append(f"The first probe was inconclusive; it was extended to {stages[-1].steps} steps.")
    if result.cost.full_flops and check_flops >= 0.5 * result.cost.full_flops:
        notes.append(
            f"The full run is short: this check cost {check_flops / result.cost.full_flops:.0%} of it. "
            "For runs this small, running the fine-tune itself is about as cheap as checking it."
        )
    explain_p = bool(forecast.p_contributions)  # explain what decides: P(success), when a trained model gave it
    contributions = forecast.p_contributions if explain_p else forecast.contributions
    return Verdict(
        decision=judgement.decision,
        p_success=judgement.p_success,
        p_model=judgement.p_model,
        p_raw=forecast.p_raw,
        target=goal,
        forecast=forecast.metric,
        interval=forecast.interval,
        coverage=forecast.coverage,
        why=judgement.why,
        rule=judgement.rule,
        cut_offs=policy.describe(),
        explains="p_success" if explain_p else "forecast",
        reasons=_name_findings(forecast.p_reasons if explain_p else forecast.reasons, described.findings),
        contributions=contributions,
        base_value=forecast.p_base_value if explain_p else forecast.base_value,
        forecast_reasons=_name_findings(forecast.reasons, described.findings),
        ood=forecast.ood,
        ood_reasons=list(forecast.ood_reasons),
        findings=findings,
        cost=result.cost,
        check_seconds=seconds,
        check_flops=check_flops,
        stages=stages,
        regime=read_regime([s.decision for s in stages], contributions, features),
        predictor={"source": bundle.source, "metric": bundle.metric, "trained_on": bundle.trained_on,
                   "stage": stages[-1].name},
        recipe=rec,
        features=features,
        probe=result,
        described=described,
        notes=notes,
    )


def _name_findings(reasons: Sequence[Any], findings: Sequence[Any]) -> list[Any]:
    """A reason led by a finding count also names the findings it counts (the predictor sees only the number)."""
    from tuneahead.data.findings import FINDING_COUNT_FEATURES

    out = []
    for r in reasons:
        severity = FINDING_COUNT_FEATURES.get(r.features[0]) if r.features else None
        codes = sorted({f.code for f in findings if f.severity == severity})
        if codes:
            r = replace(r, phrase=f"{r.phrase} ({', '.join(codes)})")
        out.append(r)
    return out


def parse_goal(target: Target | str | float | None) -> Target:
    if target is None:
        raise InputError(
            "no target given", Location(field="target"),
            hint="say what the fine-tune must reach, e.g. --target 'exact_match>=0.8' (quoted: the shell reads >= as a redirect)",
        )
    if isinstance(target, Target):
        return target
    if isinstance(target, int | float):
        return parse_target(str(target))
    return parse_target(target)


def check_metric(goal: Target, bundle: PredictorBundle) -> None:
    if goal.metric and bundle.metric and goal.metric != bundle.metric:
        raise InputError(
            f"the target names {goal.metric!r}, but this predictor forecasts {bundle.metric!r}",
            Location(field="target"),
            hint=f"write the target as {bundle.metric}>=VALUE, or pass --predictor fitted on {goal.metric}",
        )


def _as_list(value: Sequence[PathLike] | PathLike | None) -> list[PathLike]:
    if value is None:
        return []
    if isinstance(value, str | os.PathLike):
        return [value]
    return list(value)

