"""`tuneahead demo`: the embedded default job — a full check of the bundled example, no network, no GPU."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from tuneahead.commands._common import console, err_console, guarded

DEMO_TARGET = "exact_match>=0.8"
DEMO_RECIPES = {"tiny-1m": "demo_recipe_tiny.yaml", "smollm2-135m": "demo_recipe.yaml"}


def bundled_examples_dir() -> Path:
    """Folder of the bundled example dataset and recipes (inside the installed package)."""
    return Path(str(resources.files("tuneahead") / "assets" / "examples"))


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        model: str = typer.Option(
            "tiny-1m", "--model", help="tiny-1m (about a minute on a laptop CPU) or smollm2-135m (a few minutes)"
        ),
        html: Path = typer.Option(Path("tuneahead-demo-report.html"), "--html", help="where to write the report"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
    ) -> None:
        """Check the bundled example (support-ticket routing) with the bundled predictor: a complete `check`."""

        def run() -> int:
            from tuneahead.commands.check import report_verdict, run_with_progress
            from tuneahead.errors import InputError, Location
            from tuneahead.gate import check

            if model not in DEMO_RECIPES:
                raise InputError(f"no demo for model {model!r}", Location(field="model"),
                                 hint=f"choose one of: {', '.join(DEMO_RECIPES)}")
            recipe = bundled_examples_dir() / DEMO_RECIPES[model]
            (err_console if as_json else console).print(
                f"[bold]Demo[/]: bundled recipe {recipe.name} ({model}) on the bundled ticket-routing data, "
                f"target {DEMO_TARGET}\n"
            )
            verdict = run_with_progress(dict(recipe=recipe, target=DEMO_TARGET), check, quiet=as_json)
            report_verdict(verdict, html=html, as_json=as_json)
            if not as_json:
                console.print(
                    f"\nDone in {verdict.check_seconds:.0f} s. Next: [bold]tuneahead check YOUR_RECIPE.yaml "
                    "--target 'exact_match>=0.8' --html report.html[/]"
                )
            return 0  # the demo succeeded whatever its verdict; `check` is the command that gates

        guarded(run, as_json=as_json)
