"""A stand-in run function for campaign tests: fast, deterministic, logs each completed execution."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tuneahead.store.sqlite import RunRecord


def sleepy_run(run_id: str, payload: dict) -> RunRecord:
    options = payload["options"]
    time.sleep(options.get("sleep", 0.0))
    if run_id in options.get("die_once", []):
        marker = Path(options["marker_dir"]) / f"{run_id}.killed"
        if not marker.exists():  # the first execution of this run: its worker process dies mid-run, no clean-up
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
    if run_id in options.get("fail", []):
        raise RuntimeError(f"planned failure of {run_id}")
    log = options.get("log")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(run_id + "\n")
    seed = payload["seed"]
    return RunRecord(
        run_id=run_id, recipe={"seed": seed}, static_features={"n_examples": float(seed % 97)},
        dynamic_features={"probe_loss_initial": 1.0 + (seed % 7) / 10}, final_metric=(seed % 10) / 10, target=0.5,
        costs={"flops_full": 100.0, "flops_probe": 2.0}, family=f"fam{seed % 3}", model="fake",
        curves={"full_eval": {"step": [10, 20], "metric": [0.1, 0.2], "loss": [2.0, 1.5]},
                "full_train": {"step": [5, 10, 15, 20], "loss": [3.0, 2.5, 2.0, 1.8]}},
        ground_truth={"knob": seed % 5},
    )


def echo(run_id: str, payload: dict) -> str:
    """A task that does nothing: for executor bookkeeping tests."""
    return run_id
