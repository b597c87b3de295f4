"""`tuneahead campaign`: run many real fine-tunes into the run store (resumable), inspect, export."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from tuneahead.commands._common import console, emit_json, err_console, guarded

campaign_app = typer.Typer(help="Build a corpus of real fine-tuning runs (TuneBench).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")


@campaign_app.command("run")
def run_cmd(
    spec: Path = typer.Argument(..., help="campaign spec (YAML)"),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="long-lived worker processes"),
    limit: int = typer.Option(None, "--limit", help="stop after this many runs finish (smoke tests)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable summary on stdout"),
) -> None:
    """Run every planned run that is not done yet. Safe to interrupt and restart at any time."""

    def run() -> int:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from tuneahead.bench.campaign import load_spec, run_campaign

        _stop_like_ctrl_c()
        s = load_spec(spec)
        started = time.time()
        failures: list[str] = []
        with Progress(
            TextColumn(f"[bold]{s.name}[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(), console=err_console, disable=as_json,
        ) as progress:
            bar = progress.add_task("runs", total=s.planned_runs, info="", completed=0)

            def on_outcome(outcome, counts) -> None:
                if outcome.error and not outcome.innocent:
                    failures.append(outcome.run_id)
                progress.update(bar, completed=counts["done"], info=f"failed {counts['failed']}")

            counts = run_campaign(s, workers=workers, on_outcome=on_outcome, limit=limit)
        summary = {"campaign": s.name, "counts": counts, "seconds": round(time.time() - started, 1),
                   "failed_this_session": failures}
        if as_json:
            emit_json(summary)
        else:
            console.print(f"{s.name}: {counts['done']} done, {counts['pending']} pending, {counts['failed']} failed "
                          f"({summary['seconds']} s this session)")
        return 0

    guarded(run, as_json=as_json)


def _stop_like_ctrl_c() -> None:
    """SIGTERM (`kill`, a scheduler stopping a job) ends a campaign the way Ctrl-C does: finished runs are
    kept and the workers are stopped. SIGINT is re-armed too: a campaign started in the background
    (`nohup ... &`) inherits an ignored SIGINT, and `pkill -INT` would do nothing."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


@campaign_app.command("status")
def status_cmd(
    spec: Path = typer.Argument(..., help="campaign spec (YAML)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show how far a campaign is, its throughput and its latest errors."""

    def run() -> int:
        from tuneahead.bench.campaign import load_spec
        from tuneahead.store.sqlite import RunStore

        s = load_spec(spec)
        with RunStore(s.resolve(s.store)) as store:
            store.enqueue(s.name, s.plan())
            counts = store.task_counts(s.name)
            times = store.finish_times(s.name)
            errors = store.task_errors(s.name, limit=5)
        per_hour = None
        if len(times) >= 2 and times[-1] > times[0]:
            per_hour = (len(times) - 1) / (times[-1] - times[0]) * 3600
        payload: dict[str, Any] = {"campaign": s.name, "planned": s.planned_runs, "counts": counts, "runs_per_hour": per_hour,
                   "recent_errors": [{"run_id": r, "error": e.strip().splitlines()[-1]} for r, e in errors]}
        if as_json:
            emit_json(payload)
        else:
            console.print(f"[bold]{s.name}[/]: {counts['done']}/{s.planned_runs} done, {counts['pending']} pending, "
                          f"{counts['failed']} failed" + (f", {per_hour:.0f} runs/hour" if per_hour else ""))
            for item in payload["recent_errors"]:
                console.print(f"  [red]{item['run_id']}[/]: {item['error']}", highlight=False)
        return 0

    guarded(run, as_json=as_json)


@campaign_app.command("export")
def export_cmd(
    spec: Path = typer.Argument(..., help="campaign spec (YAML)"),
    out: Path = typer.Option(..., "--out", "-o", help="Parquet file for the run table"),
    recalibrate: bool = typer.Option(
        False, "--recalibrate-targets", help="re-draw each run's target from ceilings measured on the corpus's "
        "clean runs (leave-one-out; see docs/tunebench.md)"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Export finished runs to Parquet (run table) plus a separate ground-truth file."""

    def run() -> int:
        from tuneahead.bench.campaign import load_spec
        from tuneahead.store.export import export_parquet
        from tuneahead.store.sqlite import RunStore

        s = load_spec(spec)
        with RunStore(s.resolve(s.store)) as store:
            runs_path, truth_path = export_parquet(store, out, campaign=s.name)
            n = store.count_runs(s.name)
        payload = {"runs": str(runs_path), "ground_truth": str(truth_path), "rows": n}
        if recalibrate:
            import pandas as pd

            from tuneahead.bench.targets import recalibrate_table

            table, measured = recalibrate_table(pd.read_parquet(runs_path), pd.read_parquet(truth_path))
            table.to_parquet(runs_path, index=False)
            payload["recalibrated_targets"] = measured
        if as_json:
            emit_json(payload)
        else:
            console.print(f"wrote {n} runs to {runs_path} (ground truth: {truth_path})")
            if recalibrate:
                console.print(f"targets re-drawn from measured ceilings for {payload['recalibrated_targets']} runs")
        return 0

    guarded(run, as_json=as_json)


@campaign_app.command("datasheet")
def datasheet_cmd(
    runs: Path = typer.Argument(..., help="run-table Parquet written by `campaign export`"),
    out: Path = typer.Option(None, "--out", "-o", help="write the Markdown datasheet here"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Summarise a corpus: success share, outcome histogram, failures by cause, costs, recipe-only accuracy."""

    def run() -> int:
        import pandas as pd

        from tuneahead.bench.datasheet import build_datasheet, to_markdown

        table = pd.read_parquet(runs)
        truth_path = runs.with_name(runs.stem + ".truth.parquet")
        truth = pd.read_parquet(truth_path) if truth_path.is_file() else None
        sheet = build_datasheet(table, truth)
        text = to_markdown(sheet)
        if out is not None:
            out.write_text(text, encoding="utf-8")
        if as_json:
            emit_json(sheet)
        else:
            console.print(text, markup=False, highlight=False)
        return 0

    guarded(run, as_json=as_json)
