"""Your own run history: record each check in the SQLite run store, add the outcome when the run is done.

    tuneahead check recipe.yaml --target 0.8 --record runs.db --task ticket-routing   # prints the run id
    tuneahead outcome runs.db RUN_ID 0.83                                             # after the fine-tune
    tuneahead fit --runs runs.db --out my-predictor                                   # once enough are in

A recorded check is a run in the same format as the TuneBench corpus: its descriptors, recipe, probe
features and trace, the target, and the cost estimate of the full run; its final metric is empty until
`outcome` fills it in. `fit` skips runs without an outcome.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tuneahead.store.curves import probe_curves
from tuneahead.store.sqlite import RunRecord, RunStore

if TYPE_CHECKING:
    from tuneahead.gate.run import Verdict


def run_id_for(verdict: Verdict) -> str:
    """A short id from the recipe and the time of the check (two checks of one recipe are two runs)."""
    return new_run_id(verdict.recipe.model_dump(mode="json"), "chk")


def new_run_id(recipe_json: dict, prefix: str) -> str:
    """`prefix-` + a digest of the recipe and the time: two runs of one recipe are two runs."""
    digest = hashlib.sha256((json.dumps(recipe_json, sort_keys=True) + repr(time.time())).encode()).hexdigest()
    return f"{prefix}-{digest[:12]}"


def record_check(
    store_path: str | Path, verdict: Verdict, *, run_id: str | None = None, task: str | None = None
) -> str:
    """Store the check as a run without an outcome; returns its run id."""
    probe = verdict.probe
    run_id = run_id or run_id_for(verdict)
    record = RunRecord(
        run_id=run_id,
        recipe=verdict.recipe.model_dump(mode="json"),
        static_features=dict(verdict.described.descriptors),
        dynamic_features=dict(probe.features),
        curves=probe_curves(probe),
        target=verdict.target.value,
        costs={"flops_full": verdict.cost.full_flops, "flops_probe": verdict.check_flops,
               "seconds_probe": verdict.check_seconds},
        family=task,
        model=verdict.recipe.base_model,
        model_params=float(verdict.cost.params),
        campaign="checks",
        extra={"decision": verdict.decision.value, "p_success": verdict.p_success, "forecast": verdict.forecast,
               "predictor": verdict.predictor, "probe_steps": probe.steps_done},
    )
    with RunStore(store_path) as store:
        store.add_run(record)
    return run_id

