"""`tuneahead probe`: a short simulated fine-tune of the real model -> dynamic features, findings, cost."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from tuneahead.commands._common import (
    ALLOW_PICKLE_HELP,
    TRUST_REMOTE_CODE_HELP,
    config_option,
    console,
    emit_json,
    guarded,
    live_progress,
    model_trust,
)
from tuneahead.errors import ExitCode, InputError
from tuneahead.probe.config import ProbeConfig


# Shown by default; `--all` shows every dynamic feature.
KEY_FEATURES: tuple[str, ...] = (
    "probe_initial_loss",
    "probe_final_loss",
    "probe_loss_drop_rel",
    "probe_loss_powerlaw_exponent",
    "probe_loss_noise",
    "probe_loss_spikes",
    "probe_diverged",
    "probe_nonfinite_step",
    "probe_grad_norm_mean",
    "probe_grad_norm_max",
    "probe_clipped_share",
    "probe_grad_layer_ratio",
    "probe_update_ratio",
    "probe_grad_noise_scale",
    "probe_grad_cosine",
    "probe_eval_loss_start",
    "probe_eval_loss_end",
    "probe_train_eval_gap",
    "probe_eval_token_accuracy",
    "probe_tokens_per_second",
    "probe_seconds_per_step",
)


def register(app: typer.Typer) -> None:
    @app.command("probe")
    def probe_cmd(
        recipe: Path = typer.Option(
            ..., "--recipe", "-r", help="recipe (native, Axolotl, LLaMA-Factory, TRL)"
        ),
        data: list[Path] = typer.Option(
            None, "--data", "-d", help="training data (default: the recipe's datasets)"
        ),
        eval_data: list[Path] = typer.Option(
            None, "--eval", "-e", help="eval set (default: the recipe's, else split off)"
        ),
        framework: str = typer.Option(None, "--framework", help="force the recipe reader"),
        model: str = typer.Option(
            None, "--model", help="override the recipe's base model (folder, .gguf, built-in name)"
        ),
        steps: int = config_option(ProbeConfig, "steps", "--steps"),
        budget: float = config_option(ProbeConfig, "budget", "--budget", default=None),
        data_format: str = typer.Option("auto", "--format", help="data format (see `describe --help`)"),
        skip_invalid: bool = typer.Option(False, "--skip-invalid", help="count and skip invalid rows"),
        threads: int = config_option(ProbeConfig, "threads", "--threads"),
        device: str = config_option(ProbeConfig, "device", "--device"),
        seed: int = config_option(ProbeConfig, "seed", "--seed"),
        accelerator: str = config_option(ProbeConfig, "accelerator", "--accelerator"),
        mfu: float = config_option(ProbeConfig, "mfu", "--mfu"),
        price: float = config_option(ProbeConfig, "usd_per_gpu_hour", "--price"),
        trace: Path = typer.Option(None, "--trace", help="write the per-step trace as JSONL"),
        allow_pickle: bool = typer.Option(False, "--allow-pickle", help=ALLOW_PICKLE_HELP),
        trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help=TRUST_REMOTE_CODE_HELP),
        all_features: bool = typer.Option(False, "--all", help="show every dynamic feature"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
    ) -> None:
        """Run a short fine-tune of the recipe's model and report its dynamic features, findings and cost."""

        def run() -> int:
            # On shared CPUs, OpenMP threads that spin while waiting slow torch down many-fold as soon
            # as another process holds a core; passive waiting costs little. Read when torch loads.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            if steps is not None and budget is not None:
                raise InputError("give either --steps or --budget, not both")
            from tuneahead.recipe.load import load_recipe

            loaded = load_recipe(recipe, framework=framework)
            from tuneahead.data.load import load_recipe_data

            train, evals = load_recipe_data(
                loaded, data, eval_data, data_format=data_format, skip_invalid=skip_invalid
            )
            with model_trust(allow_pickle, trust_remote_code):
                result = _run_with_progress(
                    dict(
                        recipe=loaded,
                        train_examples=train,
                        eval_examples=evals,
                        model=model,
                        config=ProbeConfig.build(
                            steps=steps, threads=threads, device=device, seed=seed, accelerator=accelerator,
                            mfu=mfu, usd_per_gpu_hour=price, **({} if budget is None else {"budget": budget}),
                        ),
                    ),
                    quiet=as_json,
                )
            if trace is not None:
                from tuneahead.probe.trace import write_trace

                write_trace(trace, result.trace, result.eval_points, {"setup": result.setup.to_dict()})
            if as_json:
                emit_json({"ok": True, **result.to_dict()})
            else:
                _render(result, show_all=all_features, trace_path=trace)
            return ExitCode.INTERRUPTED if result.interrupted else ExitCode.OK

        guarded(run, as_json=as_json)


def _run_with_progress(kwargs: dict, *, quiet: bool):
    """Run the probe with a live bar (step, loss, grad-norm) on stderr, so --json output stays clean."""
    from rich.progress import TextColumn

    from tuneahead.probe.engine import run_probe

    with live_progress(TextColumn("step {task.completed}/{task.total}"),
                       TextColumn("loss {task.fields[loss]}  grad-norm {task.fields[grad]}"), quiet=quiet) as progress:
        task = progress.add_task("loading model", total=None, loss="—", grad="—")

        def on_event(event) -> None:
            if event.kind == "start":
                progress.update(task, description="probing", total=event.total_steps, completed=0)
            elif event.kind == "step":
                r = event.record
                progress.update(task, completed=r.step, loss=f"{r.loss:.4g}", grad=f"{r.grad_norm:.3g}")
            elif event.kind == "eval":
                progress.update(task, description=f"probing (held-out loss {event.eval_point.loss:.4g})")
            elif event.kind == "retry":
                progress.console.print(f"[yellow]{event.message}[/]")

        return run_probe(**kwargs, progress=on_event)


def _render(result, *, show_all: bool, trace_path: Path | None) -> None:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    from tuneahead.catalogue import spec
    from tuneahead.report.describe_view import SEVERITY_STYLE
    from tuneahead.formatting import format_value, gpu_time

    s = result.setup
    status = (
        "[bold red]diverged[/]"
        if result.diverged
        else "[yellow]interrupted[/]"
        if result.interrupted
        else "[green]ok[/]"
    )
    lines = [
        f"[bold]model[/]: {escape(s.model)} ({s.adapter}; {escape(s.model_source)})",
        f"[bold]steps[/]: {result.steps_done} of {s.steps_planned} ({escape(s.step_choice)})",
        f"[bold]status[/]: {status}",
        (
            f"[bold]batch[/]: {s.sequences_per_step} sequences/step = micro-batch {s.micro_batch_size} × "
            f"{s.gradient_accumulation_steps} accumulation; max_seq_length {s.max_seq_length}"
            f"{', packed' if s.packing else ''}; loss on {s.loss_on}"
        ),
        f"[bold]optimizer[/]: {s.optimizer}, lr {s.learning_rate:g}, {s.lr_scheduler} "
        f"(warm-up {s.warmup_steps} steps)",
        f"[bold]held-out[/]: {s.eval_examples} sequences ({s.eval_source}) at steps {s.eval_steps}",
        f"[bold]time[/]: {result.seconds:.1f} s (model load {result.load_seconds:.1f} s)",
    ]
    if trace_path is not None:
        lines.append(f"[bold]trace[/]: {escape(str(trace_path))}")
    console.print(Panel("\n".join(lines), title="tuneahead probe", expand=False))

    table = Table(title="Dynamic features", header_style="bold")
    table.add_column("feature")
    table.add_column("value", justify="right")
    table.add_column("meaning", style="dim")
    names = list(result.features) if show_all else [n for n in KEY_FEATURES if n in result.features]
    for name in names:
        table.add_row(name, format_value(result.features[name], spec(name).unit), spec(name).meaning)
    console.print(table)

    c = result.cost
    cost = Table(title=f"Cost (on {c.accelerator} at {c.mfu:.0%} MFU)", header_style="bold")
    cost.add_column("")
    cost.add_column("probe", justify="right")
    cost.add_column("full run", justify="right")
    cost.add_row("FLOPs", f"{c.probe_flops:.3g}", f"{c.full_flops:.3g}")
    cost.add_row("share of full run", f"{c.probe_share:.2%}", "100 %")
    cost.add_row("accelerator time", gpu_time(c.probe_gpu_hours), gpu_time(c.full_gpu_hours))
    if c.full_usd is not None:
        cost.add_row("US$", f"{c.probe_usd:.3g}", f"{c.full_usd:.3g}")
    cost.add_row("here (measured)", f"{c.probe_seconds:.1f} s", f"{c.full_seconds_local / 3600:.3g} h")
    console.print(cost)

    for f in result.findings:
        style = SEVERITY_STYLE[f.severity]
        body = f"{escape(f.evidence)}\n[bold]fix[/]: {escape(f.fix)}"
        console.print(
            Panel(body, title=f"[{style}]{f.severity.upper()}[/] {escape(f.title)}", title_align="left")
        )
    if not result.findings:
        console.print("[green]No probe finding.[/]")
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
