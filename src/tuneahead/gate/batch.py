"""Check many candidate recipes at once: one check per recipe, side by side, ranked by P(success).

Each check is the same `check` a single recipe gets (its own probe, its own verdict); the checks run
on local worker processes or as Ray tasks (`backend="ray"`, for candidates spread over a cluster). A
recipe that cannot be checked (a bad file, a field out of range) gets its error in its row, and the
others still run. Workers hand back each verdict's `to_dict()` document, the `--json` form, so
nothing heavier than plain data crosses a process or a machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneahead.compute.executors import TaskOutcome, make_executor
from tuneahead.errors import ExitCode, InputError, Location
from tuneahead.gate.config import CheckConfig
from tuneahead.paths import PathLike

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class BatchEntry:
    """One candidate recipe's result: its verdict document, or why it could not be checked."""

    recipe: str
    verdict: dict[str, Any] | None = None  # Verdict.to_dict()
    error: dict[str, Any] | None = None  # TuneAheadError.to_dict(), or an internal error's message
    exit_code: int = 0

    @property
    def decision(self) -> str | None:
        return None if self.verdict is None else self.verdict["decision"]

    @property
    def p_success(self) -> float | None:
        return None if self.verdict is None else float(self.verdict["p_success"])

    def to_dict(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "ok": self.verdict is not None, "exit_code": self.exit_code,
                **({"verdict": self.verdict} if self.verdict is not None else {"error": self.error})}


def check_batch(
    recipes: Sequence[PathLike],
    *,
    target: str,
    data: Sequence[PathLike] | None = None,
    eval_data: Sequence[PathLike] | None = None,
    predictor: PathLike | None = None,
    model: str | None = None,
    config: CheckConfig | None = None,
    backend: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    on_entry: Callable[[BatchEntry], None] | None = None,
) -> list[BatchEntry]:
    """Check every recipe against one target; entries ranked by P(success), unchecked ones last.

    `data` / `eval_data` apply to every recipe (default: each recipe's own datasets). `workers` checks
    run at once (default: as many as the cores allow at `config.threads` each); `on_entry` is called as
    each check finishes (progress).
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r} (expected one of: {', '.join(BACKENDS)})",
                         Location(field="backend"))
    if not recipes:
        raise InputError("a batch check needs at least one recipe", Location(field="recipes"))
    config = config or CheckConfig()
    threads = config.threads or 1
    if workers is None:
        workers = max(1, min(len(recipes), (os.cpu_count() or 1) // threads))
    common = {
        "target": target,
        "data": [str(p) for p in data or []],
        "eval_data": [str(p) for p in eval_data or []],
        "predictor": None if predictor is None else str(predictor),
        "model": model,
        # Each worker checks on `threads` threads: the executor reserves that many cores per check.
        "config": config.model_copy(update={"threads": threads}).model_dump(),
        "trust": {"allow_pickle": allow_pickle, "trust_remote_code": trust_remote_code},
    }
    tasks = [(str(i), {"recipe": str(path), **common}) for i, path in enumerate(recipes)]
    names = {str(i): str(path) for i, path in enumerate(recipes)}
    entries: list[BatchEntry] = []
    executor = make_executor(backend, workers, threads, ray_address)
    try:
        for outcome in executor.map_unordered(check_one, tasks):
            entry = _entry(outcome, names[outcome.run_id])
            entries.append(entry)
            if on_entry is not None:
                on_entry(entry)
    finally:
        executor.shutdown()
    return rank(entries)


def rank(entries: Sequence[BatchEntry]) -> list[BatchEntry]:
    """Most likely to succeed first; recipes that could not be checked last, in their given order."""
    checked = sorted((e for e in entries if e.verdict is not None), key=lambda e: -(e.p_success or 0.0))
    return checked + [e for e in entries if e.verdict is None]


def batch_exit_code(entries: Sequence[BatchEntry]) -> int:
    """0 when some recipe is GO, else 2 when some is UNCERTAIN, else 1 when some is NO-GO; when no recipe
    could be checked, the first error's code."""
    decisions = {e.decision for e in entries}
    for decision, code in (("GO", 0), ("UNCERTAIN", 2), ("NO-GO", 1)):
        if decision in decisions:
            return code
    return entries[0].exit_code if entries else int(ExitCode.INPUT)


def check_one(task_id: str, payload: dict[str, Any]) -> BatchEntry:
    """Runs in the worker: one recipe's check, its user errors kept as data in the entry."""
    from tuneahead.errors import TuneAheadError
    from tuneahead.gate.run import check
    from tuneahead.models.loading import ModelTrust, model_trust

    recipe = payload["recipe"]
    try:
        with model_trust(ModelTrust(**payload["trust"])):
            verdict = check(
                Path(recipe), payload["data"] or None, payload["eval_data"] or None, target=payload["target"],
                predictor=payload["predictor"], model=payload["model"], config=CheckConfig(**payload["config"]),
            )
    except TuneAheadError as exc:
        return BatchEntry(recipe, error=exc.to_dict() | {"text": str(exc)}, exit_code=exc.exit_code)
    return BatchEntry(recipe, verdict=verdict.to_dict(), exit_code=verdict.exit_code)


def _entry(outcome: TaskOutcome, recipe: str) -> BatchEntry:
    if outcome.error is None:
        return outcome.result
    # The check itself crashed, or its worker died (killed, out of memory): the others carry on.
    last_line = outcome.error.strip().splitlines()[-1] if outcome.error.strip() else "unknown error"
    return BatchEntry(recipe, error={"error": "InternalError", "message": last_line, "text": f"internal error: {last_line}",
                                     "traceback": outcome.error}, exit_code=int(ExitCode.INTERNAL))
