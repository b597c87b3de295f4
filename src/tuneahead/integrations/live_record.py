"""A watched run as a run-store record: what the callback measured, the trainer's curves, the outcome.

Every real run becomes training data for `tuneahead fit`: its recipe, descriptors, the probe window's
features and trace, the trainer's training and eval curves, its FLOPs, the gate's verdict, and the
outcome (the last logged value of the target metric), unless the gate stopped the run (a stopped run has
no outcome to learn from).
"""

from __future__ import annotations

from typing import Any

from tuneahead.store.sqlite import RunRecord


def live_run_record(
    *,
    recipe: Any,
    state: Any,
    probe: Any,  # probe.live.LiveProbe
    descriptors: dict[str, float],
    metric: str | None,
    target: float,
    task: str | None,
    seconds: float,
    stopped: str | None,
    extra: dict[str, Any],
) -> RunRecord:
    from tuneahead.gate.history import new_run_id
    from tuneahead.store.curves import trace_curves
    from tuneahead.store.trainer_output import curves_from_log_history

    history = [e for e in state.log_history if isinstance(e, dict)]
    logged = [e[metric] for e in history if metric and isinstance(e.get(metric), int | float)]
    final = float(logged[-1]) if logged and stopped is None else None
    recipe_json = recipe.model_dump(mode="json")
    curves = {**curves_from_log_history(history), **trace_curves(probe.trace, probe.evals)}
    return RunRecord(
        run_id=new_run_id(recipe_json, "live"),
        recipe=recipe_json,
        static_features=dict(descriptors),
        dynamic_features=probe.features() if probe.trace else {},
        curves=curves,
        final_metric=final if final is None or 0.0 <= final <= 1.0 else None,
        target=target,
        costs={"flops_full": float(state.total_flos or 0.0), "seconds_full": seconds},
        family=task,
        model=recipe.base_model,
        campaign="live",
        extra={"stopped": stopped, "outcome_metric": metric, "global_step": state.global_step,
               "max_steps": state.max_steps, **extra},
    )
