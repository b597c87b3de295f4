"""Backfill imported runs: the static descriptors and the probe's features a run from a team's history lacks.

An imported run (a Trainer output folder, an MLflow run) has its recipe, curves and outcome, but not what
`check` measures before a run: the descriptors of its data and the features of a short probe of its base
model. Where the data and the model are on disk, `backfill_run` measures them with the run's own recipe,
through the same `describe` and `run_probe` as `check`, and adds them to the stored run (recorded values are
never replaced). Where they are not, it says what is missing and leaves the run as it is: `fit` learns from
such runs with the feature groups they have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneahead.errors import TuneAheadError
from tuneahead.paths import PathLike


@dataclass
class BackfillResult:
    run_id: str
    status: str  # "backfilled", "complete" (had both groups), "skipped"
    added: dict[str, int] = field(default_factory=dict)  # features (and curves) added per kind
    reason: str = ""  # why it was skipped, in words

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def backfill_run(
    store_path: PathLike,
    run_id: str,
    *,
    data: Sequence[PathLike] | None = None,
    eval_data: Sequence[PathLike] | None = None,
    model: str | None = None,
    probe_config: Any = None,
) -> BackfillResult:
    """Measure what `run_id` lacks; `data` / `eval_data` / `model` override the recipe's own references."""
    from tuneahead.data.describe import describe
    from tuneahead.data.load import load_recipe_data
    from tuneahead.models.loading import load_model
    from tuneahead.probe.engine import run_probe
    from tuneahead.recipe.model import Recipe
    from tuneahead.store.curves import probe_curves
    from tuneahead.store.sqlite import RunStore

    with RunStore(Path(store_path), must_exist=True) as store:
        record = store.get_run(run_id)
    has_static, has_dynamic = bool(record.static_features), bool(record.dynamic_features)
    if has_static and has_dynamic:
        return BackfillResult(run_id, "complete")
    recipe = Recipe(**record.recipe)
    if model:
        recipe = recipe.model_copy(update={"base_model": model})
    if not data and not recipe.datasets:
        return BackfillResult(run_id, "skipped", reason="no training data: pass --data (the run's record names none)")
    try:
        described = None if has_static else describe(data, eval_data=eval_data, recipe=recipe)
        probe = None
        if not has_dynamic:
            train, evals = load_recipe_data(recipe, list(data or []), list(eval_data or []))
            probe = run_probe(recipe, train, evals, config=probe_config, model=load_model(recipe.base_model))
    except TuneAheadError as exc:  # a model or data that is not on disk: say so, leave the run as it is
        return BackfillResult(run_id, "skipped", reason=f"{exc.message}" + (f" ({exc.location})" if exc.location else ""))
    added: dict[str, int] = {}
    with RunStore(Path(store_path), must_exist=True) as store:
        if described is not None:
            added["static"] = store.add_missing_features(run_id, "static", described.descriptors)
        if probe is not None:
            added["dynamic"] = store.add_missing_features(run_id, "dynamic", probe.features)
            added["curves"] = store.add_missing_curves(run_id, probe_curves(probe))
    return BackfillResult(run_id, "backfilled", added)
