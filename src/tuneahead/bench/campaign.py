"""Campaigns: plan many runs, execute them with an executor, record each finished run once.

Resumable by construction: tasks are planned deterministically from the spec (same spec -> same
run ids and seeds), enqueued idempotently, and a run is written together with its task's "done"
status in one transaction. Restarting after any interruption re-plans, skips what is done, and
re-runs only what had not finished.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tuneahead.safe_yaml import AliasBombError, safe_load
from tuneahead.compute.executors import Executor, TaskOutcome, make_executor
from tuneahead.errors import InputError, Location
from tuneahead.store.sqlite import RunRecord, RunStore

# A spec names its run function, never a code path: a spec file can come from anywhere, and importing
# and calling whatever "module:function" it says would run any code (`builtins:exec`). The project's own
# run functions are listed here; a package adds its own through the `tuneahead.run_functions` entry-point
# group of its installed metadata (name = "module:function"), which only what the user installed can do.
RUN_FUNCTIONS: dict[str, str] = {"tunebench": "tuneahead.bench.runner:execute_task"}
RUN_FUNCTION_GROUP = "tuneahead.run_functions"
DEFAULT_RUN_FN = "tunebench"


class CampaignSpec(BaseModel):
    """What a campaign runs. Paths are relative to the spec file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    runs: int = Field(gt=0)
    seed: int = 0
    store: str = "runs.db"
    work_dir: str = "campaign-work"
    models: list[str] = Field(default_factory=lambda: ["tiny-0.2m", "tiny-1m"])
    families: list[str] | None = None  # None: every registered family
    run_fn: str = DEFAULT_RUN_FN  # a registered run function's name (see RUN_FUNCTIONS)
    options: dict[str, Any] = Field(default_factory=dict)  # passed to run_fn (probe steps, eval cadence, ...)
    # Each scenario trained this many times with different training seeds (same data, same recipe
    # otherwise): the corpus then shows its own noise (seed-to-seed spread, labels that flip).
    seed_repeats: int = Field(1, ge=1)
    max_attempts: int = Field(2, ge=1)
    threads_per_worker: int = Field(1, ge=1)
    executor: Literal["local", "ray"] = "local"  # local worker processes, or tasks on a Ray cluster
    ray_address: str | None = None  # Ray cluster to join ("auto", "ray://host:10001"); None: a local Ray
    base_dir: str = "."  # set from the spec file's folder

    @field_validator("run_fn")
    @classmethod
    def _registered(cls, value: str) -> str:
        known = registered_run_functions()
        # Specs written before the registry named the default by its code path: the same function.
        value = next((n for n, target in known.items() if target == value), value)
        if value not in known:
            raise ValueError(
                f"unknown run function {value!r}: a spec names a registered run function, not code "
                f"(known: {', '.join(sorted(known))}; packages add theirs in the {RUN_FUNCTION_GROUP!r} "
                "entry-point group)"
            )
        return value

    @property
    def planned_runs(self) -> int:
        """Runs the campaign makes: scenarios times seed repeats."""
        return self.runs * self.seed_repeats

    def resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir) / p

    def plan(self) -> dict[str, dict[str, Any]]:
        """Deterministic task list: run id -> payload (the run function derives everything from it).

        `runs` counts scenarios; with seed repeats, a scenario's repeats follow each other (so a partly
        finished campaign has whole groups) and repeat k > 0 has the run id suffix `-r{k}`.
        """
        width = max(5, len(str(self.runs)))
        return {
            f"{self.name}-{i:0{width}d}" + (f"-r{k}" if k else ""): {
                "campaign": self.name,
                "index": i,
                "seed": self.seed * 1_000_003 + i,
                "seed_repeat": k,
                "models": self.models,
                "families": self.families,
                "work_dir": str(self.resolve(self.work_dir)),
                "options": self.options,
            }
            for i in range(self.runs)
            for k in range(self.seed_repeats)
        }


def load_spec(path: str | Path) -> CampaignSpec:
    path = Path(path)
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read campaign spec: {exc.strerror}", Location(file=str(path))) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"campaign spec is not UTF-8 text ({exc.reason})", Location(file=str(path))) from None
    except (AliasBombError, RecursionError) as exc:
        why = str(exc) if isinstance(exc, AliasBombError) else "nested too deeply"
        raise InputError(f"invalid YAML: {why}", Location(file=str(path))) from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError(
            f"invalid YAML: {exc}", Location(file=str(path), line=None if line is None else line + 1)
        ) from None
    if not isinstance(data, dict):
        raise InputError("a campaign spec is a mapping of keys", Location(file=str(path)))
    try:
        return CampaignSpec(**{"base_dir": str(path.parent), **data})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise InputError(err["msg"], Location(file=str(path), field=field)) from None


def registered_run_functions() -> dict[str, str]:
    """Name -> "module:function" of every run function a spec may name: the project's own, then those
    that installed packages declare in the `tuneahead.run_functions` entry-point group."""
    found = dict(RUN_FUNCTIONS)
    for ep in entry_points(group=RUN_FUNCTION_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def resolve_run_fn(name: str) -> Callable[[str, dict], RunRecord]:
    """The registered run function called `name`; anything else is an input error (never imported)."""
    known = registered_run_functions()
    if name not in known:
        raise InputError(
            f"unknown run function {name!r}; a campaign spec names a registered run function, not code",
            Location(field="run_fn"),
            hint=f"known: {', '.join(sorted(known))} (packages add theirs in the {RUN_FUNCTION_GROUP!r} "
            "entry-point group)",
        )
    module, _, attr = known[name].partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise InputError(
            f"run function {name!r} is registered as {known[name]!r}, which cannot be imported: {exc}",
            Location(field="run_fn"),
        ) from None


def run_campaign(
    spec: CampaignSpec,
    *,
    workers: int = 2,
    executor: Executor | None = None,
    on_outcome: Callable[[TaskOutcome, dict[str, int]], None] | None = None,
    limit: int | None = None,
) -> dict[str, int]:
    """Run every task not yet done. Returns the final task counts.

    `on_outcome(outcome, counts)` is called after each finished task (for progress bars);
    `limit` stops after that many tasks have finished in this invocation (tests, smoke runs).
    """
    store = RunStore(spec.resolve(spec.store))
    try:
        store.enqueue(spec.name, spec.plan())
        executor = executor or make_executor(spec.executor, workers, spec.threads_per_worker, spec.ray_address)
        fn = resolve_run_fn(spec.run_fn)
        finished = 0
        try:
            # Each pass retries what failed in the previous one. A task is given up after max_attempts
            # charged failures; a task lost through no fault of its own (`innocent`) is rerun uncharged.
            # Every pass finishes or charges something, so this ends; the guard is for a broken executor.
            while True:
                todo = _pending(store, spec)
                if limit is not None:
                    todo = todo[: max(0, limit - finished)]
                if not todo:
                    break
                progress = False
                for outcome in executor.map_unordered(fn, todo):
                    _record(store, spec, outcome)
                    finished += outcome.error is None
                    progress |= not outcome.innocent
                    if on_outcome is not None:
                        on_outcome(outcome, store.task_counts(spec.name))
                if not progress:
                    break
        finally:
            executor.shutdown()
        return store.task_counts(spec.name)
    finally:
        store.close()


def _pending(store: RunStore, spec: CampaignSpec) -> list[tuple[str, dict[str, Any]]]:
    eligible = store.pending_tasks(spec.name, spec.max_attempts)
    return [(run_id, payload) for run_id, payload in spec.plan().items() if run_id in eligible]


def _record(store: RunStore, spec: CampaignSpec, outcome: TaskOutcome) -> None:
    if outcome.error is not None:
        if not outcome.innocent:
            store.charge_attempt(spec.name, outcome.run_id)
            store.fail_task(spec.name, outcome.run_id, outcome.error, spec.max_attempts)
        return
    record: RunRecord = outcome.result
    record.campaign = spec.name
    store.add_run(record, task_campaign=spec.name)
