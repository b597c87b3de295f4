"""Runs from an MLflow tracking store: the history a team already keeps, as run-store records.

What becomes of an MLflow run (read through MLflow's own client; `pip install "tuneahead[mlflow]"`):

- params: the recipe, read with the `TrainingArguments` names that transformers' `MLflowCallback` logs
  (learning_rate, per_device_train_batch_size, gradient_accumulation_steps, num_train_epochs, max_steps,
  lr_scheduler_type, warmup_ratio / warmup_steps, weight_decay, optim, seed, max_grad_norm; max_seq_length /
  max_length; the model's `_name_or_path`), through the same mapping as recipe files (`recipe._hf`).
  Other names are mapped with `param_map` ({recipe field: param name}); every param is kept as logged;
- metric histories: the training curve (`loss`, `grad_norm`, `learning_rate`) and the eval curve (`eval_loss`
  and every `eval_<metric>`) as the Trainer importer keeps them, and every metric's full history besides
  (curves `mlflow/<name>`); `total_flos` and `train_runtime` are the run's cost;
- the outcome: the last value of `metric`; the bar: `target`, or each run's own `target_param`.

The run id is "mlflow-" + MLflow's run id, so importing the same run twice changes nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from tuneahead.errors import InputError, Location
from tuneahead.store.imported import ImportedRun
from tuneahead.store.sqlite import RunRecord, check_outcome
from tuneahead.store.trainer_output import curves_from_log_history

MODEL_PARAMS = ("model_name_or_path", "_name_or_path", "base_model", "name_or_path")
COST_METRICS = {"total_flos": "flops_full", "train_runtime": "seconds_full"}


@lru_cache(maxsize=1)
def _recipe_fields() -> frozenset[str]:
    from tuneahead.recipe.model import Recipe

    return frozenset(Recipe.model_fields)


def parse_param(value: str) -> Any:
    """An MLflow param (always a string) as the value it was: None, a bool, an int, a float, or the string."""
    text = value.strip()
    if text in ("", "None", "null"):
        return None
    if text in ("True", "true", "False", "false"):
        return text.lower() == "true"
    for cast in (int, float):
        try:
            number = cast(text)
        except ValueError:
            continue
        return number if not isinstance(number, float) or math.isfinite(number) else text
    return text


def _client(tracking_uri: str):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise InputError(
            "reading MLflow needs the mlflow client", hint='pip install "tuneahead[mlflow]" (mlflow-skinny)'
        ) from None
    if tracking_uri.startswith("file:") or "://" not in tracking_uri:
        # A local mlruns folder: MLflow 3 keeps reading it behind this switch (its file store is in
        # maintenance mode); importing a team's old history is exactly that store's remaining use.
        path = Path(tracking_uri.removeprefix("file://").removeprefix("file:"))
        if not path.is_dir():
            raise InputError("MLflow tracking folder not found", Location(file=str(path)))
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        tracking_uri = path.resolve().as_uri()
    return MlflowClient(tracking_uri=tracking_uri)


def read_mlflow_runs(
    tracking_uri: str,
    experiments: Sequence[str],
    *,
    filter_string: str = "",
    metric: str | None = None,
    target: float | None = None,
    target_param: str | None = None,
    task: str | None = None,
    param_map: Mapping[str, str] | None = None,
    max_runs: int = 10_000,
) -> list[ImportedRun]:
    """The runs of `experiments` (names) that match `filter_string` (MLflow's search syntax)."""
    param_map = dict(param_map or {})
    unknown = sorted(set(param_map) - _recipe_fields())
    if unknown:
        raise InputError(f"not a recipe field: {unknown[0]!r}", Location(field="param"),
                         hint="map recipe fields (learning_rate, micro_batch_size, max_seq_length, ...) to param names")
    client = _client(tracking_uri)
    ids = []
    for name in experiments:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise InputError(f"no MLflow experiment named {name!r} in {tracking_uri}", Location(field="experiment"))
        ids.append(experiment.experiment_id)
    try:
        runs = client.search_runs(ids, filter_string=filter_string, max_results=max_runs)
    except Exception as exc:  # MLflow raises its own exception types for a malformed filter
        raise InputError(f"MLflow rejected the filter: {exc}", Location(field="filter")) from None
    return [_imported(client, run, tracking_uri, metric=metric, target=target, target_param=target_param, task=task,
                      param_map=param_map) for run in runs]


def _imported(client, run, tracking_uri: str, *, metric: str | None, target: float | None, target_param: str | None,
              task: str | None, param_map: dict[str, str]) -> ImportedRun:
    from tuneahead.recipe._hf import training_argument_fields
    from tuneahead.recipe.model import Recipe

    info, data = run.info, run.data
    where = f"{tracking_uri} run {info.run_id}"
    params = {k: parse_param(v) for k, v in data.params.items()}
    arguments = {k: v for k, v in params.items() if v is not None}
    unmapped: list[str] = []
    fields = training_argument_fields(arguments, Path(where), where)
    for field_name, param in param_map.items():
        if arguments.get(param) is not None:
            fields[field_name] = arguments[param]
    base = next((arguments[k] for k in (param_map.get("base_model"), *MODEL_PARAMS) if k and arguments.get(k)), None)
    if base is None:
        unmapped.append("the base model is not named (no model_name_or_path or _name_or_path param)")
    fields["base_model"] = str(base or "unknown")
    fields["adapter"] = _adapter(arguments, unmapped)
    fields["source"] = {"framework": "python", "notes": [f"imported from MLflow ({where})"]}
    try:
        recipe = Recipe(**fields).model_dump(mode="json")
    except ValueError as exc:  # pydantic: a value out of range
        raise InputError(f"the run's params do not form a recipe: {exc}", Location(file=where)) from None

    history, curves = _histories(client, info.run_id, list(data.metrics))
    curves.update(curves_from_log_history(history))
    final = None
    if metric is None:
        unmapped.append("no outcome metric named (--metric): the run is imported without a final metric")
    elif metric in data.metrics:
        final = float(data.metrics[metric])
        check_outcome(final)
    else:
        unmapped.append(f"metric {metric!r} was never logged")
    bar = target
    if target_param is not None:
        own = arguments.get(target_param)
        bar = float(own) if isinstance(own, int | float) else bar
        if not isinstance(own, int | float):
            unmapped.append(f"param {target_param!r} (the run's target) is missing or not a number")
    costs = {name: float(data.metrics[key]) for key, name in COST_METRICS.items() if key in data.metrics}
    if "flops_full" not in costs:
        unmapped.append("no total_flos metric: the run's compute is unknown")
    if info.status != "FINISHED":
        unmapped.append(f"the run's status is {info.status}")
    return ImportedRun(
        RunRecord(
            run_id=f"mlflow-{info.run_id}",
            recipe=recipe,
            curves=curves,
            final_metric=final,
            target=bar,
            costs=costs,
            family=task,
            model=str(recipe.get("base_model")),
            campaign="imported",
            extra={"imported_from": "mlflow", "tracking_uri": tracking_uri, "mlflow_run_id": info.run_id,
                   "experiment_id": info.experiment_id, "run_name": getattr(info, "run_name", None),
                   "status": info.status, "outcome_metric": metric, "params": dict(data.params),
                   "unmapped": unmapped},
        ),
        where,
        unmapped,
    )


def _adapter(arguments: Mapping[str, Any], unmapped: list[str]) -> dict[str, Any]:
    """LoRA when the run logged its PEFT settings (peft_type, r, lora_alpha, lora_dropout), else full."""
    if str(arguments.get("peft_type", "")).upper() == "LORA" or isinstance(arguments.get("lora_alpha"), int | float):
        adapter: dict[str, Any] = {"type": "lora"}
        for key, name in (("rank", "r"), ("alpha", "lora_alpha"), ("dropout", "lora_dropout")):
            if isinstance(arguments.get(name), int | float):
                adapter[key] = arguments[name]
        return adapter
    unmapped.append("no PEFT params (peft_type, r, lora_alpha): recorded as a full fine-tune")
    return {"type": "full"}


def _histories(client, run_id: str, names: list[str]) -> tuple[list[dict[str, Any]], dict[str, dict[str, list]]]:
    """Every metric's history as stored curves (`mlflow/<name>`), and as a Trainer-style log history."""
    by_step: dict[int, dict[str, Any]] = {}
    curves: dict[str, dict[str, list]] = {}
    for name in sorted(names):
        points = sorted(client.get_metric_history(run_id, name), key=lambda m: (m.step, m.timestamp))
        curves[f"mlflow/{name}"] = {"step": [int(m.step) for m in points],
                                    "value": [float(m.value) if math.isfinite(m.value) else None for m in points],
                                    "timestamp": [int(m.timestamp) for m in points]}
        for m in points:
            by_step.setdefault(int(m.step), {"step": int(m.step)})[name] = float(m.value)
    return [by_step[s] for s in sorted(by_step)], curves
