"""`tuneahead demo`: the embedded default job on bundled data, no network, no GPU."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from tuneahead.commands._common import console, emit_json, guarded


def bundled_examples_dir() -> Path:
    """Folder of the bundled example dataset and recipe (inside the installed package)."""
    return Path(str(resources.files("tuneahead") / "assets" / "examples"))


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout")) -> None:
        """Run TuneAhead on the bundled example (support-ticket routing, SmolLM2-135M LoRA recipe)."""

        def run() -> int:
            from tuneahead.data.describe import describe
            from tuneahead.recipe.load import load_recipe
            from tuneahead.report.describe_view import render_describe

            folder = bundled_examples_dir()
            recipe = load_recipe(folder / "demo_recipe.yaml")
            if not as_json:
                console.print(f"[bold]Demo[/]: bundled recipe {folder / 'demo_recipe.yaml'}\n")
            result = describe(recipe=recipe)
            if as_json:
                emit_json({"ok": True, **result.to_dict()})
            else:
                render_describe(console, result)
                console.print(f"\nDone in {result.seconds:.1f} s. Next: [bold]tuneahead describe --data YOUR.jsonl "
                              "--recipe YOUR_RECIPE.yaml[/]")
            return 0

        guarded(run, as_json=as_json)
