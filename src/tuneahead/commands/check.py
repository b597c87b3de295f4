"""`tuneahead check`: the gate. GO (exit 0), NO-GO (exit 1) or UNCERTAIN (exit 2) before a fine-tune runs."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from tuneahead.gate.config import CheckConfig

from tuneahead.commands._common import (
    ALLOW_PICKLE_HELP,
    TRUST_REMOTE_CODE_HELP,
    config_option,
    console,
    emit_json,
    err_console,
    guarded,
    live_progress,
    model_trust,
)


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check_cmd(
        recipes: list[Path] = typer.Argument(
            ..., help="recipe (native, Axolotl, LLaMA-Factory, TRL); several with --batch", metavar="RECIPE..."
        ),
        data: list[Path] = typer.Option(None, "--data", "-d", help="training data (default: the recipe's datasets)"),
        eval_data: list[Path] = typer.Option(None, "--eval", "-e", help="eval set (default: the recipe's)"),
        target: str = typer.Option(..., "--target", "-t", help="what the run must reach, e.g. 'exact_match>=0.8' (quote it: the shell reads >= as a redirect)"),
        predictor: Path = typer.Option(
            None, "--predictor", help="predictor or bundle directory (default: the bundled TuneBench predictor)"
        ),
        model: str = typer.Option(None, "--model", help="override the recipe's base model"),
        adaptive: bool = config_option(CheckConfig, "adaptive", "--adaptive/--fixed"),
        max_probe_share: float = config_option(CheckConfig, "max_probe_share", "--max-probe-share"),
        cost_ratio: float = config_option(CheckConfig, "cost_ratio", "--cost-ratio"),
        go_at: float = config_option(CheckConfig, "go_at", "--go-at"),
        no_go_at: float = config_option(CheckConfig, "no_go_at", "--no-go-at"),
        data_format: str = config_option(CheckConfig, "data_format", "--format"),
        skip_invalid: bool = config_option(CheckConfig, "skip_invalid", "--skip-invalid"),
        threads: int = config_option(CheckConfig, "threads", "--threads"),
        device: str = config_option(CheckConfig, "device", "--device"),
        accelerator: str = config_option(CheckConfig, "accelerator", "--accelerator"),
        mfu: float = config_option(CheckConfig, "mfu", "--mfu"),
        price: float = config_option(CheckConfig, "usd_per_gpu_hour", "--price"),
        html: Path = typer.Option(None, "--html", help="write a self-contained HTML report here"),
        record: Path = typer.Option(
            None, "--record", help="add this check to a SQLite run store (your run history; see `tuneahead outcome`)"
        ),
        task: str = typer.Option(None, "--task", help="task name stored with --record (groups runs for evaluation)"),
        allow_pickle: bool = typer.Option(False, "--allow-pickle", help=ALLOW_PICKLE_HELP),
        trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help=TRUST_REMOTE_CODE_HELP),
        batch: bool = typer.Option(
            False, "--batch", help="check several candidate recipes (one probe each) and rank them by P(success)"
        ),
        backend: str = typer.Option(
            "local", "--backend", help="with --batch: where the checks run: local worker processes, or ray"
        ),
        workers: int = typer.Option(
            None, "--workers", min=1, help="with --batch: checks at once (default: as many as the cores allow)"
        ),
        ray_address: str = typer.Option(
            None, "--ray-address", help="with --backend ray: the cluster to join (default: a local Ray)"
        ),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
    ) -> None:
        """Judge a fine-tune before it runs: GO / NO-GO / UNCERTAIN with P(success), reasons, pitfalls and cost.

        Exit code 0 = GO, 1 = NO-GO, 2 = UNCERTAIN; 3 and above are errors (see README). With --batch, the
        best verdict among the recipes decides it (0 when any is GO).
        """

        def run() -> int:
            from tuneahead.errors import TuneAheadError, UsageError
            from tuneahead.gate import check

            config = CheckConfig.build(
                adaptive=adaptive, max_probe_share=max_probe_share, cost_ratio=cost_ratio, go_at=go_at, no_go_at=no_go_at,
                data_format=data_format, skip_invalid=skip_invalid, threads=threads, device=device,
                accelerator=accelerator, mfu=mfu, usd_per_gpu_hour=price,
            )
            if batch:
                if html is not None or record is not None:
                    raise UsageError("--html and --record take one recipe: check it alone (without --batch)")
                return run_batch(
                    recipes, target=target, data=data, eval_data=eval_data, predictor=predictor, model=model,
                    config=config, backend=backend, workers=workers, ray_address=ray_address,
                    allow_pickle=allow_pickle, trust_remote_code=trust_remote_code, as_json=as_json,
                )
            if len(recipes) > 1 or backend != "local" or workers is not None or ray_address is not None:
                raise UsageError(
                    "several recipes, --backend, --workers and --ray-address go with --batch "
                    f"(got {len(recipes)} recipe(s)): tuneahead check --batch RECIPE... --target ..."
                )
            recipe = recipes[0]
            if record is not None:
                from tuneahead.store.sqlite import RunStore

                RunStore(record).close()  # a store that cannot take the record fails now, not after the probe
            with model_trust(allow_pickle, trust_remote_code):
                verdict = run_with_progress(
                    dict(
                        recipe=recipe, data=data or None, eval_data=eval_data or None, target=target,
                        predictor=predictor, model=model, config=config,
                    ),
                    check,
                    quiet=as_json,
                )
            recorded = record_error = None
            if record is not None:
                from tuneahead.gate.history import record_check

                try:
                    recorded = (str(record), record_check(record, verdict, task=task))
                except TuneAheadError as exc:  # the verdict was computed: print it, then say what failed
                    record_error = exc
            report_verdict(verdict, html=html, as_json=as_json, recorded=recorded)
            if record_error is not None:
                err_console.print(f"[bold red]error:[/] the verdict was not recorded: {escape(str(record_error))}")
                return record_error.exit_code
            return verdict.exit_code

        guarded(run, as_json=as_json)

    @app.command("outcome")
    def outcome_cmd(
        store: Path = typer.Argument(..., help="run store the check was recorded in (--record)"),
        run_id: str = typer.Argument(..., help="the run id `check --record` printed"),
        metric: float = typer.Argument(..., help="the final metric the fine-tune reached (a score in [0, 1])"),
        cost_full: float = typer.Option(None, "--cost-full", help="what the full run really cost (FLOPs)"),
        replace: bool = typer.Option(False, "--replace", help="overwrite an outcome already recorded for this run"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
    ) -> None:
        """Record how a checked fine-tune ended, so `tuneahead fit --runs STORE` can learn from it."""

        def run() -> int:
            from tuneahead.store.sqlite import RunStore

            with RunStore(store, must_exist=True) as s:
                rec = s.set_outcome(run_id, metric, cost_full=cost_full, replace=replace)
                done = sum(1 for r in s.iter_runs() if r.final_metric is not None)
            if as_json:
                emit_json({"ok": True, "run_id": run_id, "final_metric": metric, "success": rec.success,
                           "runs_with_outcome": done})
            else:
                verdict = rec.extra.get("decision")
                ending = "no target recorded" if rec.success is None else ("success" if rec.success else "failure")
                target_text = "" if rec.target is None else f" vs target {rec.target:g}"
                console.print(
                    f"{run_id}: final metric {metric:g}{target_text} -> {ending} (the check said {verdict}). "
                    f"{done} run(s) with an outcome in {store}; `tuneahead fit --runs {store}` learns from them.",
                    markup=False, highlight=False,
                )
            return 0

        guarded(run, as_json=as_json)


def run_batch(recipes: list[Path], *, as_json: bool, target: str, backend: str, **kwargs: Any) -> int:
    """Check every recipe (side by side), print the ranking or the JSON list, return the batch's exit code."""
    from tuneahead.gate.batch import batch_exit_code, check_batch

    with live_progress(quiet=as_json) as progress:
        task = progress.add_task(f"checking {len(recipes)} recipes ({backend})", total=len(recipes))
        entries = check_batch(
            recipes, target=target, backend=backend, on_entry=lambda entry: progress.advance(task), **kwargs
        )
    if as_json:
        emit_json({"ok": True, "target": target, "backend": backend, "entries": [e.to_dict() for e in entries]})
    else:
        from tuneahead.report.batch_view import render_batch

        render_batch(console, entries, target=target, backend=backend)
    return batch_exit_code(entries)


def report_verdict(
    verdict: Any, *, html: Path | None, as_json: bool, recorded: tuple[str, str] | None = None
) -> None:
    """Write the HTML report if asked, then the JSON document or the terminal summary."""
    html_path = None
    if html is not None:
        from tuneahead.report.check_html import write_check_html

        html_path = str(write_check_html(verdict, html))
    if as_json:
        extra = {"recorded": {"store": recorded[0], "run_id": recorded[1]}} if recorded else {}
        emit_json({"ok": True, "html": html_path, **extra, **verdict.to_dict()})
    else:
        from tuneahead.report.check_view import render_check

        render_check(console, verdict, html_path=html_path)
        if recorded:
            store, run_id = (escape(shlex.quote(x)) for x in recorded)
            console.print(f"[bold]recorded[/] as run {run_id} in {store}; when the fine-tune is done: "
                          f"[bold]tuneahead outcome {store} {run_id} METRIC[/]")


def run_with_progress(kwargs: dict, check_fn, *, quiet: bool):
    """Run the check with a live bar per probe stage on stderr (stdout stays clean for --json)."""
    from rich.progress import TextColumn

    columns = (TextColumn("{task.completed}/{task.total}"), TextColumn("{task.fields[status]}"))
    with live_progress(*columns, quiet=quiet) as progress:
        task = progress.add_task("starting", total=None, status="")

        def on_progress(kind: str, payload: Any) -> None:
            if kind == "step":
                progress.update(task, description=str(payload), total=None, completed=0, status="")
            elif kind == "stage":
                progress.update(task, description=f"probe ({payload})", total=None, completed=0, status="")
            elif kind == "probe":
                event = payload
                if event.kind == "start":
                    progress.update(task, total=event.total_steps, completed=0)
                elif event.kind == "step":
                    r = event.record
                    progress.update(task, completed=r.step, status=f"loss {r.loss:.4g}  grad-norm {r.grad_norm:.3g}")
                elif event.kind == "retry":
                    progress.console.print(f"[yellow]{event.message}[/]")

        return check_fn(**kwargs, progress=on_progress)
