"""`tuneahead describe`: descriptors and pitfall findings for a dataset (no model run)."""

from __future__ import annotations

from pathlib import Path

import typer

from tuneahead.commands._common import console, emit_json, guarded, live_progress
from tuneahead.errors import ExitCode

# Exit code when findings of severity "error" are present and --fail-on-error is set.
EXIT_FINDINGS = 6


def register(app: typer.Typer) -> None:
    @app.command("describe")
    def describe_cmd(
        data: list[Path] = typer.Option(None, "--data", "-d", help="training data: file(s) or folder(s)"),
        eval_data: list[Path] = typer.Option(None, "--eval", "-e", help="eval set: file(s) or folder(s)"),
        recipe: Path = typer.Option(None, "--recipe", "-r", help="recipe (native, Axolotl, LLaMA-Factory, TRL)"),
        framework: str = typer.Option(None, "--framework", help="force the recipe reader"),
        tokenizer: str = typer.Option(None, "--tokenizer", help="local tokenizer folder or .gguf"),
        model: str = typer.Option(None, "--model", help="local model folder / .gguf / built-in name"),
        data_format: str = typer.Option(
            "auto", "--format", help="auto|messages|prompt_completion|conversational_prompt_completion|text|alpaca|sharegpt"
        ),
        skip_invalid: bool = typer.Option(False, "--skip-invalid", help="count and skip invalid rows"),
        perplexity: bool = typer.Option(False, "--perplexity", help="measure the base model's perplexity on answers"),
        all_descriptors: bool = typer.Option(False, "--all", help="show every descriptor, not only the key ones"),
        fail_on_error: bool = typer.Option(False, "--fail-on-error", help=f"exit {EXIT_FINDINGS} on error findings"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
    ) -> None:
        """Describe a dataset: sizes, lengths, truncation, duplicates, leakage, skew, template facts, findings."""

        def run() -> int:
            from tuneahead.data.describe import describe
            from tuneahead.probe.perplexity import completion_perplexity

            loaded = None
            if recipe is not None:
                from tuneahead.recipe.load import load_recipe

                loaded = load_recipe(recipe, framework=framework)
            result = _run_with_progress(
                describe,
                dict(
                    data=list(data) if data else None,
                    eval_data=list(eval_data) if eval_data else None,
                    recipe=loaded,
                    tokenizer=tokenizer,
                    model=model,
                    data_format=data_format,
                    skip_invalid=skip_invalid,
                    base_perplexity=completion_perplexity if perplexity else None,
                ),
                quiet=as_json,
            )
            if as_json:
                emit_json({"ok": True, **result.to_dict()})
            else:
                from tuneahead.report.describe_view import render_describe

                render_describe(console, result, show_all=all_descriptors)
            has_error = any(f.severity == "error" for f in result.findings)
            return EXIT_FINDINGS if (fail_on_error and has_error) else ExitCode.OK

        guarded(run, as_json=as_json)


def _run_with_progress(fn, kwargs: dict, *, quiet: bool):
    """Run `describe` with a live examples counter (on stderr, so --json output stays clean)."""
    from rich.progress import TextColumn

    with live_progress(TextColumn("{task.completed:,} examples"), quiet=quiet) as progress:
        task = progress.add_task("describing", total=None)
        return fn(**kwargs, progress=lambda n: progress.update(task, completed=n))
