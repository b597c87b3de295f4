"""TuneBench: the project's own corpus of real fine-tuning runs of small models.

Layout: `tasks` (instruction task families with difficulty knobs), `scenarios` (a task + a dataset
with known problems + a recipe, sampled from a seed, and written to files), `scenario_data` (the rows
of a scenario), `targets` (the accuracy bar each run must clear). See `docs/tunebench.md`.

    from tuneahead.bench import sample_scenario, materialise
    files = materialise(sample_scenario(7), "runs/7")

Names are imported lazily so `import tuneahead.bench` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "FAMILIES": "tuneahead.bench.tasks",
    "get_family": "tuneahead.bench.tasks",
    "make_split": "tuneahead.bench.tasks",
    "TaskFamily": "tuneahead.bench.tasks",
    "Scenario": "tuneahead.bench.scenario_model",
    "ScenarioFiles": "tuneahead.bench.scenario_model",
    "sample_scenario": "tuneahead.bench.scenarios",
    "materialise": "tuneahead.bench.scenarios",
    "load_scenario": "tuneahead.bench.scenario_model",
    "estimated_cost": "tuneahead.bench.scenario_cost",
    "PROBLEMS": "tuneahead.bench.scenario_params",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tuneahead.bench' has no attribute {name!r}")
    return getattr(import_module(module), name)
