"""Terminal view of a `describe` result."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from tuneahead.catalogue import spec
from tuneahead.formatting import format_value

# Shown by default; `--all` shows the full catalogue.
KEY_DESCRIPTORS: tuple[str, ...] = (
    "n_examples", "n_tokens", "eval_n_examples",
    "prompt_tokens_p50", "completion_tokens_p50", "completion_tokens_p95", "sequence_tokens_p95",
    "truncated_example_share", "answer_cut_share", "loss_token_share", "prompt_loss_share", "eos_target_share",
    "exact_duplicate_share", "near_duplicate_share", "conflicting_answer_share",
    "eval_exact_leak_share", "eval_near_leak_share", "eval_ngram_leak_share",
    "distinct_answers", "majority_answer_share",
    "effective_batch_size", "optimizer_steps", "epochs", "trainable_param_share",
)

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def render_describe(console: Console, result, *, show_all: bool = False) -> None:
    rep = result.train_report
    lines = [
        f"[bold]data[/]: {escape(', '.join(rep.files))}  ({rep.examples:,} examples, format {rep.format})",
    ]
    if rep.invalid:
        lines.append(f"[yellow]skipped {rep.invalid:,} invalid rows[/] (see --json for samples)")
    if rep.skipped_files:
        lines.append(f"[yellow]{escape(rep.skipped_note())}[/]")
    if result.eval_report is not None:
        ev = result.eval_report
        lines.append(f"[bold]eval[/]: {escape(', '.join(ev.files))}  ({ev.examples:,} examples)")
    tok = result.tokenizer
    lines.append(f"[bold]tokenizer[/]: {escape(str(tok['name']))}")
    if result.tokenizer_note:
        lines.append(f"  [dim]{escape(result.tokenizer_note)}[/]")
    if result.recipe is not None:
        src = result.recipe.source
        lines.append(f"[bold]recipe[/]: {escape(src.path or '(in memory)')} ({src.framework})")
        lines.extend(f"  [yellow]{escape(w)}[/]" for w in result.recipe_warnings)
    source = "from the recipe" if result.max_seq_length_source == "recipe" else "default; pass --recipe to use yours"
    lines.append(f"[bold]max_seq_length[/]: {result.max_seq_length} ({source});  [bold]loss on[/]: {result.loss_on}")
    console.print(Panel("\n".join(lines), title="tuneahead describe", expand=False))

    table = Table(title="Descriptors", show_lines=False, header_style="bold")
    table.add_column("descriptor")
    table.add_column("value", justify="right")
    table.add_column("meaning", style="dim")
    names = list(result.descriptors) if show_all else [n for n in KEY_DESCRIPTORS if n in result.descriptors]
    for name in names:
        s = spec(name)
        table.add_row(name, format_value(result.descriptors[name], s.unit), s.meaning)
    console.print(table)

    if not result.findings:
        console.print("[green]No pitfall found.[/]")
        return
    console.print(f"[bold]Findings[/] ({len(result.findings)})")
    for f in result.findings:
        style = SEVERITY_STYLE[f.severity]
        body = f"{escape(f.evidence)}\n[bold]fix[/]: {escape(f.fix)}"
        if f.example_ids:
            body += f"\n[dim]examples: {escape(', '.join(f.example_ids))}[/]"
        title = f"[{style}]{f.severity.upper()}[/] {escape(f.title)}"
        console.print(Panel(body, title=title, title_align="left", expand=True))
