"""Command-line entry point.

Each command lives in its own module under `tuneahead.commands` and registers itself on the typer
app; heavy libraries (torch, transformers, lightgbm) are imported inside command bodies only, so
`tuneahead --help` stays instant.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from tuneahead._version import __version__

# Modules under tuneahead.commands that define `register(app: typer.Typer) -> None`.
COMMAND_MODULES: tuple[str, ...] = ("check", "describe", "demo", "probe", "fit", "evaluate", "campaign", "runs")

app = typer.Typer(
    name="tuneahead",
    help="Predict whether an LLM fine-tune will reach its target before you pay for it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"tuneahead {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Show version."),
) -> None:
    """TuneAhead — pre-flight checks for LLM fine-tunes."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"tuneahead.commands.{_name}").register(app)


def main() -> None:
    # OpenMP threads that spin while waiting make torch 4-20x slower when another process holds a
    # core (measured); passive waiting costs nothing when the cores are free. Must precede torch import.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from tuneahead.commands._common import run_app

    sys.exit(run_app(app))


if __name__ == "__main__":
    main()
