"""The run-history store: SQLite, one transaction per finished run, versioned schema.

A run record holds what a user would have had before the run (recipe, static descriptors, probe
features and trace) and what the run produced (curves, final metric, costs). Generator ground truth
lives in its own table so features can never read it by accident.

The same database doubles as the campaign queue: `tasks` rows are planned idempotently and move
pending -> done (or -> failed after too many attempts). Only the campaign driver writes, and a run
is inserted together with its task's "done" status in one transaction, so an interrupted campaign
resumes without losing or duplicating a finished run.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneahead.errors import DataError, InputError, Location

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    campaign TEXT,
    created_at REAL NOT NULL,
    family TEXT,
    model TEXT,
    model_params REAL,
    target REAL,
    final_metric REAL,
    success INTEGER,
    recipe_json TEXT NOT NULL,
    costs_json TEXT NOT NULL,
    extra_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS features (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS curves (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    data_json TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS ground_truth (
    run_id TEXT PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
    truth_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    campaign TEXT NOT NULL,
    run_id TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    finished_at REAL,
    error TEXT,
    PRIMARY KEY (campaign, run_id)
);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (campaign, status);
"""


@dataclass
class RunRecord:
    """One finished run. Curves are dicts of equal-length lists (e.g. {"step": [...], "loss": [...]})."""

    run_id: str
    recipe: dict[str, Any]
    static_features: dict[str, float] = field(default_factory=dict)
    dynamic_features: dict[str, float] = field(default_factory=dict)
    curves: dict[str, dict[str, list]] = field(default_factory=dict)  # "probe_trace", "full_train", "full_eval"
    final_metric: float | None = None
    target: float | None = None
    costs: dict[str, float] = field(default_factory=dict)  # flops_full, flops_probe, flops_proxy, seconds_*
    family: str | None = None
    model: str | None = None
    model_params: float | None = None
    campaign: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # proxy_metric, zero-shot metrics, notes, ...
    ground_truth: dict[str, Any] | None = None

    @property
    def success(self) -> bool | None:
        if self.final_metric is None or self.target is None:
            return None
        return self.final_metric >= self.target


def check_outcome(final_metric: float, cost_full: float | None = None) -> None:
    """A final metric is a finite score in [0, 1] (as targets are); a cost is finite and positive."""
    where = Location(field="metric")
    if not math.isfinite(final_metric):
        raise InputError(f"the final metric must be a number, got {final_metric}", where)
    if not 0.0 <= final_metric <= 1.0:
        hint = f"{final_metric:g} looks like a percentage: pass {final_metric / 100:g}" if 1 < final_metric <= 100 else None
        raise InputError(f"the final metric must be a score between 0 and 1, got {final_metric:g}", where, hint=hint)
    if cost_full is not None and not (math.isfinite(cost_full) and cost_full > 0):
        raise InputError(f"--cost-full must be a positive number of FLOPs, got {cost_full}", Location(field="cost-full"))


def _num(value: Any) -> float | None:
    """SQLite has no NaN: store it as NULL."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _dumps(obj: Any) -> str:
    return json.dumps(obj, allow_nan=False, default=_json_default, separators=(",", ":"))


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, float):
        return None
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(obj: Any) -> Any:
    """NaN/inf -> None recursively so JSON stays strict."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _clean(obj.tolist())
    return obj


class RunStore:
    """SQLite run history (WAL mode; readers never block the writer)."""

    def __init__(self, path: str | Path, *, must_exist: bool = False) -> None:
        """Open (or create) the store at `path`. A file that is not a TuneAhead run store is an
        InputError naming it, raised here, before any work whose record would need the store."""
        self.path = Path(path)
        where = Location(file=str(self.path))
        if must_exist and not self.path.is_file():
            raise InputError("run store not found", where)
        if self.path.is_dir():
            raise InputError("a run store is a SQLite file, and this is a folder", where)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot open the run store: {exc}", where) from None
        try:
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=60000")
            self._migrate()
        except sqlite3.DatabaseError as exc:  # "file is not a database", a read-only or corrupt file
            self._conn.close()
            raise DataError(
                f"not a usable TuneAhead run store ({exc})", where,
                hint="pass a new file name (it is created) or a store written by `check --record` / `campaign run`",
            ) from None

    # ------------------------------------------------------------ schema

    def _migrate(self) -> None:
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "meta" not in tables:
            # Someone else's SQLite database: adding our tables to it would be a surprise.
            raise DataError(
                "this SQLite database is not a TuneAhead run store (it has other tables)",
                Location(file=str(self.path)),
                hint="pass a new file name (it is created) or a store written by `check --record`",
            )
        if "meta" in tables:
            found = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if found is not None and int(found["value"]) > SCHEMA_VERSION:
                raise InputError(
                    f"run store has schema version {found['value']}, newer than this TuneAhead ({SCHEMA_VERSION})",
                    Location(file=str(self.path)),
                    hint="upgrade tuneahead",
                )
        # CREATE ... IF NOT EXISTS is idempotent; future versions add ALTERs keyed on the stored version.
        self._conn.executescript(_SCHEMA)
        self._conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ runs

    def add_run(self, record: RunRecord, *, task_campaign: str | None = None) -> None:
        """Insert a finished run (and mark its campaign task done) in one transaction."""
        with self.transaction() as cur:
            self._insert_run(cur, record)
            if task_campaign is not None:
                cur.execute(
                    "UPDATE tasks SET status='done', finished_at=?, error=NULL WHERE campaign=? AND run_id=?",
                    (time.time(), task_campaign, record.run_id),
                )

    def _insert_run(self, cur: sqlite3.Cursor, r: RunRecord) -> None:
        success = r.success
        cur.execute(
            "INSERT INTO runs (run_id, campaign, created_at, family, model, model_params, target, final_metric,"
            " success, recipe_json, costs_json, extra_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                r.run_id, r.campaign, time.time(), r.family, r.model, _num(r.model_params), _num(r.target),
                _num(r.final_metric), None if success is None else int(success), _dumps(_clean(r.recipe)),
                _dumps(_clean(r.costs)), _dumps(_clean(r.extra)),
            ),
        )
        rows = [(r.run_id, "static", k, _num(v)) for k, v in r.static_features.items()]
        rows += [(r.run_id, "dynamic", k, _num(v)) for k, v in r.dynamic_features.items()]
        cur.executemany("INSERT INTO features (run_id, kind, name, value) VALUES (?,?,?,?)", rows)
        cur.executemany(
            "INSERT INTO curves (run_id, name, data_json) VALUES (?,?,?)",
            [(r.run_id, name, _dumps(_clean(data))) for name, data in r.curves.items()],
        )
        if r.ground_truth is not None:
            cur.execute(
                "INSERT INTO ground_truth (run_id, truth_json) VALUES (?,?)", (r.run_id, _dumps(_clean(r.ground_truth)))
            )

    def add_missing_features(self, run_id: str, kind: str, values: Mapping[str, float]) -> int:
        """Store features a run lacks (measured after it was recorded); recorded values are never replaced.

        Returns how many were added.
        """
        with self.transaction() as cur:
            before = cur.execute("SELECT COUNT(*) FROM features WHERE run_id=?", (run_id,)).fetchone()[0]
            cur.executemany(
                "INSERT OR IGNORE INTO features (run_id, kind, name, value) VALUES (?,?,?,?)",
                [(run_id, kind, k, _num(v)) for k, v in values.items()],
            )
            return cur.execute("SELECT COUNT(*) FROM features WHERE run_id=?", (run_id,)).fetchone()[0] - before

    def add_missing_curves(self, run_id: str, curves: Mapping[str, Any]) -> int:
        """Store curves a run lacks (e.g. a backfilled probe's trace); recorded curves are never replaced."""
        with self.transaction() as cur:
            before = cur.execute("SELECT COUNT(*) FROM curves WHERE run_id=?", (run_id,)).fetchone()[0]
            cur.executemany(
                "INSERT OR IGNORE INTO curves (run_id, name, data_json) VALUES (?,?,?)",
                [(run_id, name, _dumps(_clean(data))) for name, data in curves.items()],
            )
            return cur.execute("SELECT COUNT(*) FROM curves WHERE run_id=?", (run_id,)).fetchone()[0] - before

    def set_outcome(
        self, run_id: str, final_metric: float, *, cost_full: float | None = None, replace: bool = False
    ) -> RunRecord:
        """Record how a run ended (e.g. a checked fine-tune, once it has run); returns the updated run.

        The metric is a score in [0, 1] like the targets; a recorded outcome is replaced only with
        `replace=True`, so a typo cannot silently overwrite what a run really reached."""
        check_outcome(final_metric, cost_full)
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT target, final_metric, costs_json FROM runs WHERE run_id=?", (run_id,)
            ).fetchone()
            if row is None:
                raise InputError(f"no run {run_id!r} in this store", Location(file=str(self.path), field="run_id"))
            if row["final_metric"] is not None and not replace:
                raise InputError(
                    f"run {run_id!r} already has an outcome ({row['final_metric']:g})",
                    Location(file=str(self.path), field="run_id"),
                    hint="pass --replace to overwrite it",
                )
            target = row["target"]
            success = None if target is None else int(final_metric >= target)
            costs = json.loads(row["costs_json"])
            if cost_full is not None:
                costs["flops_full"] = cost_full
            cur.execute(
                "UPDATE runs SET final_metric=?, success=?, costs_json=? WHERE run_id=?",
                (_num(final_metric), success, _dumps(_clean(costs)), run_id),
            )
        return self.get_run(run_id)

    def has_run(self, run_id: str) -> bool:
        return self._conn.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone() is not None

    def count_runs(self, campaign: str | None = None) -> int:
        if campaign is None:
            return int(self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
        return int(self._conn.execute("SELECT COUNT(*) FROM runs WHERE campaign=?", (campaign,)).fetchone()[0])

    def run_ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT run_id FROM runs ORDER BY run_id")]

    def get_run(self, run_id: str, *, with_truth: bool = False) -> RunRecord:
        row = self._conn.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        static: dict[str, float] = {}
        dynamic: dict[str, float] = {}
        for f in self._conn.execute("SELECT kind, name, value FROM features WHERE run_id=?", (run_id,)):
            (static if f["kind"] == "static" else dynamic)[f["name"]] = (
                math.nan if f["value"] is None else float(f["value"])
            )
        curves = {
            c["name"]: json.loads(c["data_json"])
            for c in self._conn.execute("SELECT name, data_json FROM curves WHERE run_id=?", (run_id,))
        }
        truth = None
        if with_truth:
            t = self._conn.execute("SELECT truth_json FROM ground_truth WHERE run_id=?", (run_id,)).fetchone()
            truth = json.loads(t[0]) if t else None
        return RunRecord(
            run_id=run_id, recipe=json.loads(row["recipe_json"]), static_features=static, dynamic_features=dynamic,
            curves=curves, final_metric=row["final_metric"], target=row["target"],
            costs=json.loads(row["costs_json"]), family=row["family"], model=row["model"],
            model_params=row["model_params"], campaign=row["campaign"], extra=json.loads(row["extra_json"]),
            ground_truth=truth,
        )

    def summaries(self) -> list[dict[str, Any]]:
        """One row per run with what a listing shows (no features or curves are read)."""
        rows = self._conn.execute(
            "SELECT run_id, campaign, family, model, target, final_metric, success FROM runs ORDER BY run_id"
        ).fetchall()
        return [{"run_id": r["run_id"], "campaign": r["campaign"], "task": r["family"], "model": r["model"],
                 "target": r["target"], "final_metric": r["final_metric"],
                 "success": None if r["success"] is None else bool(r["success"])} for r in rows]

    def iter_runs(self, *, campaign: str | None = None, with_truth: bool = False) -> Iterator[RunRecord]:
        query = "SELECT run_id FROM runs" + (" WHERE campaign=?" if campaign else "") + " ORDER BY run_id"
        ids = [r[0] for r in self._conn.execute(query, (campaign,) if campaign else ())]
        for run_id in ids:
            yield self.get_run(run_id, with_truth=with_truth)

    # ------------------------------------------------------------ campaign queue

    def enqueue(self, campaign: str, tasks: Mapping[str, Mapping[str, Any]]) -> int:
        """Add tasks that are not yet known (idempotent). Returns how many were new."""
        with self.transaction() as cur:
            before = cur.execute("SELECT COUNT(*) FROM tasks WHERE campaign=?", (campaign,)).fetchone()[0]
            cur.executemany(
                "INSERT OR IGNORE INTO tasks (campaign, run_id, spec_json) VALUES (?,?,?)",
                [(campaign, run_id, _dumps(_clean(spec))) for run_id, spec in tasks.items()],
            )
            # A run already in the store (e.g. imported) is done whatever its task row says.
            cur.execute(
                "UPDATE tasks SET status='done' WHERE campaign=? AND run_id IN (SELECT run_id FROM runs)",
                (campaign,),
            )
            after = cur.execute("SELECT COUNT(*) FROM tasks WHERE campaign=?", (campaign,)).fetchone()[0]
        return int(after - before)

    def pending_tasks(self, campaign: str, max_attempts: int) -> set[str]:
        """Run ids still to do: not finished, not given up after `max_attempts` failures."""
        rows = self._conn.execute(
            "SELECT run_id FROM tasks WHERE campaign=? AND status='pending' AND attempts<? "
            "AND run_id NOT IN (SELECT run_id FROM runs)",
            (campaign, max_attempts),
        )
        return {r[0] for r in rows}

    def charge_attempt(self, campaign: str, run_id: str) -> None:
        with self.transaction() as cur:
            cur.execute("UPDATE tasks SET attempts=attempts+1 WHERE campaign=? AND run_id=?", (campaign, run_id))

    def fail_task(self, campaign: str, run_id: str, error: str, max_attempts: int = 2) -> None:
        """Record a failure; the task is retried until it has used `max_attempts`."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE tasks SET status=CASE WHEN attempts>=? THEN 'failed' ELSE 'pending' END, error=?, "
                "finished_at=? WHERE campaign=? AND run_id=?",
                (max_attempts, error[-4000:], time.time(), campaign, run_id),
            )

    def task_counts(self, campaign: str) -> dict[str, int]:
        rows = self._conn.execute(
            "SELECT status, COUNT(*) AS n FROM tasks WHERE campaign=? GROUP BY status", (campaign,)
        )
        counts = {"pending": 0, "done": 0, "failed": 0}
        counts.update({r["status"]: int(r["n"]) for r in rows})
        return counts

    def task_attempts(self, campaign: str) -> dict[str, int]:
        """Run id -> failed attempts charged so far (a run that finished first time has 0)."""
        rows = self._conn.execute("SELECT run_id, attempts FROM tasks WHERE campaign=?", (campaign,))
        return {r["run_id"]: int(r["attempts"]) for r in rows}

    def task_errors(self, campaign: str, limit: int = 20) -> list[tuple[str, str]]:
        rows = self._conn.execute(
            "SELECT run_id, error FROM tasks WHERE campaign=? AND error IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
            (campaign, limit),
        )
        return [(r["run_id"], r["error"]) for r in rows]

    def finish_times(self, campaign: str) -> list[float]:
        """Unix times at which the campaign's runs were recorded (for throughput figures)."""
        rows = self._conn.execute("SELECT created_at FROM runs WHERE campaign=? ORDER BY created_at", (campaign,))
        return [float(r[0]) for r in rows]
