"""`tuneahead runs`: bring the history a team already has into the run store, and look at what is there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tuneahead.commands._common import console, emit_json, guarded

runs_app = typer.Typer(help="Your run history: import past runs into a run store, backfill, list, show and export them.",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")


@runs_app.command("import")
def import_cmd(
    folders: list[Path] = typer.Argument(None, help="Trainer output folders (or folders holding several)"),
    store: Path = typer.Option(..., "--store", help="SQLite run store to add the runs to (created if missing)"),
    metric: str = typer.Option(None, "--metric", help="the logged metric that is each run's outcome, e.g. eval_accuracy"),
    target: float = typer.Option(None, "--target", help="the bar that outcome had to reach (a score in [0, 1])"),
    task: str = typer.Option(None, "--task", help="task name stored with each run (groups runs for evaluation)"),
    mlflow: str = typer.Option(None, "--mlflow", help="an MLflow tracking URI (http://..., or a local mlruns folder)"),
    experiment: list[str] = typer.Option(None, "--experiment", help="MLflow experiment name (repeat for several)"),
    filter_string: str = typer.Option("", "--filter", help="MLflow search filter, e.g. \"params.optim = 'adamw_torch'\""),
    param: list[str] = typer.Option(None, "--param", help="FIELD=PARAM: read a recipe field from another MLflow param "
                                    "name (default: the TrainingArguments names transformers logs)"),
    target_param: str = typer.Option(None, "--target-param", help="MLflow param holding each run's own bar"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Import past runs: Hugging Face Trainer output folders (trainer_state.json, config.json,
    adapter_config.json, the results files), or the runs of MLflow experiments (params, metric histories).
    Importing a run twice changes nothing; what could not be mapped is listed."""

    def run() -> int:
        from rich.markup import escape

        from tuneahead.errors import InputError, Location
        from tuneahead.store.sqlite import RunStore
        from tuneahead.store.trainer_output import find_trainer_outputs, read_trainer_output

        if not folders and not mlflow:
            raise InputError("nothing to import", hint="name Trainer output folders, or --mlflow URI --experiment NAME")
        runs = [read_trainer_output(f, metric=metric, target=target, task=task)
                for root in folders or [] for f in find_trainer_outputs(root)]
        if mlflow:
            from tuneahead.store.mlflow_runs import read_mlflow_runs

            if not experiment:
                raise InputError("--mlflow needs --experiment NAME", Location(field="experiment"))
            runs += read_mlflow_runs(mlflow, experiment, filter_string=filter_string, metric=metric, target=target,
                                     target_param=target_param, task=task, param_map=_param_map(param or []))
        added = []
        with RunStore(store) as db:
            for imported in runs:
                if not db.has_run(imported.record.run_id):
                    db.add_run(imported.record)
                    added.append(imported.record.run_id)
        report: list[dict[str, Any]] = [
            {"run_id": r.record.run_id, "source": r.source, "added": r.record.run_id in added,
             "final_metric": r.record.final_metric, "unmapped": r.unmapped} for r in runs
        ]
        if as_json:
            emit_json({"ok": True, "store": str(store), "runs": report})
            return 0
        for item in report:
            state = "added" if item["added"] else "already in the store"
            console.print(f"[bold]{item['run_id']}[/] {escape(item['source'])}: {state}", highlight=False)
            for note in item["unmapped"]:
                console.print(f"  [dim]not mapped: {escape(note)}[/]", highlight=False)
        console.print(f"{len(added)} of {len(runs)} runs added to {escape(str(store))}", highlight=False)
        return 0

    guarded(run, as_json=as_json)


def _param_map(pairs: list[str]) -> dict[str, str]:
    from tuneahead.errors import InputError, Location

    out = {}
    for pair in pairs:
        field_name, sep, name = pair.partition("=")
        if not sep or not field_name.strip() or not name.strip():
            raise InputError(f"expected FIELD=PARAM, got {pair!r}", Location(field="param"))
        out[field_name.strip()] = name.strip()
    return out


@runs_app.command("list")
def list_cmd(
    store: Path = typer.Argument(..., help="SQLite run store"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """The runs in a store: id, task, model, target, final metric and where each came from."""

    def run() -> int:
        from rich.markup import escape
        from rich.table import Table

        from tuneahead.store.sqlite import RunStore

        with RunStore(store, must_exist=True) as db:
            rows = db.summaries()
        if as_json:
            emit_json({"ok": True, "store": str(store), "runs": rows})
            return 0
        table = Table(title=f"{len(rows)} runs in {escape(str(store))}", header_style="bold")
        for column in ("run", "source", "task", "model", "target", "final", "success"):
            table.add_column(column, justify="right" if column in ("target", "final") else "left")
        for r in rows:
            table.add_row(*(escape("" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v)))
                            for v in (r["run_id"], r["campaign"], r["task"], r["model"], r["target"],
                                      r["final_metric"], r["success"])))
        console.print(table)
        return 0

    guarded(run, as_json=as_json)


@runs_app.command("show")
def show_cmd(
    store: Path = typer.Argument(..., help="SQLite run store"),
    run_id: str = typer.Argument(..., help="the run's id (`tuneahead runs list`)"),
    as_json: bool = typer.Option(False, "--json", help="the whole record on stdout"),
) -> None:
    """One run: where it came from, its recipe, outcome, costs, features and curves, and what was not mapped."""

    def run() -> int:
        from dataclasses import asdict

        from rich.markup import escape
        from rich.table import Table

        from tuneahead.errors import InputError, Location
        from tuneahead.store.sqlite import RunStore

        with RunStore(store, must_exist=True) as db:
            if not db.has_run(run_id):
                raise InputError(f"no run {run_id!r} in this store", Location(file=str(store)),
                                 hint="`tuneahead runs list STORE` shows the ids")
            record = db.get_run(run_id)
        if as_json:
            emit_json({"ok": True, "store": str(store), "run": asdict(record)})
            return 0
        console.print(f"[bold]{escape(record.run_id)}[/] ({escape(str(record.campaign))}, task "
                      f"{escape(str(record.family))}, model {escape(str(record.model))})", highlight=False)
        outcome = Table(show_header=False, box=None)
        for name, value in (("final metric", record.final_metric), ("target", record.target),
                            ("success", record.success), *sorted(record.costs.items())):
            outcome.add_row(escape(name), escape("" if value is None else str(value)))
        console.print(outcome)
        recipe = Table(title="recipe", show_header=False, box=None)
        for key, value in record.recipe.items():
            if key not in ("datasets", "eval_datasets", "source"):
                recipe.add_row(escape(key), escape(str(value)))
        console.print(recipe)
        curves = ", ".join(f"{k} ({len(next(iter(v.values()), []))} points)" for k, v in sorted(record.curves.items()) if v)
        console.print(f"{len(record.static_features)} static and {len(record.dynamic_features)} probe features; "
                      f"curves: {escape(curves or 'none')}", highlight=False)
        for note in record.extra.get("unmapped") or []:
            console.print(f"[dim]not mapped: {escape(str(note))}[/]", highlight=False)
        return 0

    guarded(run, as_json=as_json)


@runs_app.command("export")
def export_cmd(
    store: Path = typer.Argument(..., help="SQLite run store"),
    out: Path = typer.Option(..., "--out", help="the run table to write: .parquet or .csv"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Write the store as the run table `fit` and `evaluate` read (one row per run: recipe columns,
    descriptors, probe features, outcome, costs, curves)."""

    def run() -> int:
        from rich.markup import escape

        from tuneahead.errors import InputError, Location
        from tuneahead.store.export import to_frame
        from tuneahead.store.sqlite import RunStore

        if out.suffix not in (".parquet", ".csv"):
            raise InputError("the run table is written as .parquet or .csv", Location(field="out"))
        with RunStore(store, must_exist=True) as db:
            table = to_frame(db)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".parquet":
            table.to_parquet(out, index=False)
        else:  # curves are lists: a CSV keeps them as JSON text
            import json

            for column in [c for c in table.columns if c.startswith("curve_")]:
                table[column] = table[column].map(lambda v: json.dumps(list(v)) if v is not None else None)
            table.to_csv(out, index=False)
        if as_json:
            emit_json({"ok": True, "store": str(store), "out": str(out), "runs": len(table)})
            return 0
        console.print(f"{len(table)} runs written to {escape(str(out))}", highlight=False)
        return 0

    guarded(run, as_json=as_json)


@runs_app.command("backfill")
def backfill_cmd(
    store: Path = typer.Argument(..., help="SQLite run store"),
    run_ids: list[str] = typer.Argument(None, help="runs to backfill (default: every run without features)"),
    data: list[Path] = typer.Option(None, "--data", "-d", help="the runs' training data (default: the recipe's)"),
    eval_data: list[Path] = typer.Option(None, "--eval", help="the runs' eval data"),
    task: str = typer.Option(None, "--task", help="only the runs of this task"),
    model: str = typer.Option(None, "--model", help="a local copy of the base model, if the recipe names a hub id"),
    steps: int = typer.Option(None, "--steps", help="probe length (default: as `check` sizes it)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Measure what imported runs lack: static descriptors of their data and the probe's features on their
    base model, with each run's own recipe, where the data and the model are on disk. Runs that cannot be
    measured are listed with the reason and left as they are (`fit` uses the features they have)."""

    def run() -> int:
        from rich.markup import escape

        from tuneahead.gate.backfill import backfill_run
        from tuneahead.probe.config import ProbeConfig
        from tuneahead.store.sqlite import RunStore

        with RunStore(store, must_exist=True) as db:
            wanted = list(run_ids or [r.run_id for r in db.iter_runs()
                                      if (task is None or r.family == task)
                                      and not (r.static_features and r.dynamic_features)])
        config = ProbeConfig.build(steps=steps)
        results = [backfill_run(store, rid, data=data or None, eval_data=eval_data or None, model=model,
                                probe_config=config) for rid in wanted]
        if as_json:
            emit_json({"ok": True, "store": str(store), "runs": [r.to_dict() for r in results]})
            return 0
        for r in results:
            detail = ", ".join(f"{n} {kind}" for kind, n in r.added.items()) if r.added else r.reason
            console.print(f"[bold]{escape(r.run_id)}[/]: {r.status}" + (f" ({escape(detail)})" if detail else ""),
                          highlight=False)
        done = sum(r.status == "backfilled" for r in results)
        console.print(f"{done} of {len(results)} runs backfilled", highlight=False)
        return 0

    guarded(run, as_json=as_json)
