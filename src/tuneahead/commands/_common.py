"""Helpers shared by CLI commands: JSON output, error handling, consoles."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from tuneahead.errors import ExitCode, TuneAheadError

# Human output goes to stderr when --json is set so stdout stays machine-readable.
console = Console()
err_console = Console(stderr=True)


ALLOW_PICKLE_HELP = "load pickle weights (.bin/.pt) from a model folder; unpickling can run arbitrary code"
TRUST_REMOTE_CODE_HELP = "run the Python code a model folder ships (auto_map in config.json)"


def config_option(config: type[BaseModel], field: str, *flags: str, **kwargs: Any) -> Any:
    """A typer option whose default and help come from a config model's field (`ProbeConfig`,
    `CheckConfig`), so the command line says what the library does."""
    spec = config.model_fields[field]
    return typer.Option(kwargs.pop("default", spec.default), *flags, help=spec.description, **kwargs)


def model_trust(allow_pickle: bool, trust_remote_code: bool):
    """The block in which a command loads models, with the user's opt-ins (both off by default)."""
    from tuneahead.models.loading import ModelTrust, model_trust as trust_block

    return trust_block(ModelTrust(allow_pickle=allow_pickle, trust_remote_code=trust_remote_code))


def live_progress(*columns: Any, quiet: bool):
    """A transient progress display on stderr (stdout stays clean for --json): spinner, description,
    bar, the caller's `columns`, elapsed time. Off when `quiet` or when stderr is not a terminal."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(bar_width=None),
        *columns,
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet or not err_console.is_terminal,
    )


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    return str(obj)


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_nan_to_none(v) for v in obj]
    return obj


def to_json(payload: Any) -> str:
    """Strict JSON (NaN/inf become null) for machine consumers."""
    return json.dumps(_nan_to_none(json.loads(json.dumps(payload, default=_json_default))), indent=2)


def emit_json(payload: Any) -> None:
    sys.stdout.write(to_json(payload) + "\n")


def guarded(fn: Callable[[], int | None], *, as_json: bool) -> None:
    """Run a command body; turn TuneAheadError into a clear message and its exit code."""
    try:
        code = fn() or ExitCode.OK
    except TuneAheadError as exc:
        if as_json:
            emit_json({"ok": False, **exc.to_dict()})
        else:
            # User text (paths, row values, model names) reaches messages: never read it as markup.
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt as exc:
        detail = f": {escape(str(exc))}" if str(exc) else ""
        err_console.print(f"[yellow]interrupted[/]{detail}")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except Exception as exc:  # a bug, not a user error: say so, keep the traceback one variable away
        if os.environ.get("TUNEAHEAD_DEBUG"):
            raise
        if as_json:
            emit_json({"ok": False, "error": type(exc).__name__, "message": str(exc), "internal": True})
        err_console.print(
            f"[bold red]internal error[/] ({type(exc).__name__}): {escape(str(exc))}\n"
            "  rerun with TUNEAHEAD_DEBUG=1 for the traceback, and please report it",
            highlight=False,
        )
        raise typer.Exit(ExitCode.INTERNAL) from None
    raise typer.Exit(code)


def run_app(app: typer.Typer) -> int:
    """Invoke the typer app, mapping click's usage-error code 2 (which means UNCERTAIN for us) to 3."""
    try:
        # In non-standalone mode click returns the code of a raised `Exit` instead of exiting.
        result = app(standalone_mode=False)
    except SystemExit as exc:  # pragma: no cover - defensive
        return int(exc.code or 0)
    except Exception as exc:
        # Usage errors come from the click that typer bundles; match them by shape, not by class,
        # so this works whichever click implementation typer ships.
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
            return ExitCode.USAGE
        if type(exc).__name__ == "Abort":
            err_console.print("[yellow]aborted[/]")
            return ExitCode.INTERRUPTED
        raise
    return result if isinstance(result, int) else ExitCode.OK
