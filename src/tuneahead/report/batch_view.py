"""Terminal view of a batch check: one row per candidate recipe, most likely to succeed first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tuneahead.formatting import pct
from tuneahead.report.check_view import DECISION_STYLE

if TYPE_CHECKING:
    from tuneahead.gate.batch import BatchEntry


def render_batch(console: Console, entries: Sequence[BatchEntry], *, target: str, backend: str) -> None:
    table = Table(title=f"tuneahead check --batch: {len(entries)} recipe(s) for {escape(target)} ({backend})",
                  title_justify="left")
    for column in ("#", "recipe", "verdict", "P(success)", "forecast (interval)", "main finding", "check"):
        table.add_column(column, overflow="fold", ratio=3 if column == "main finding" else None)
    errors = []
    for rank, entry in enumerate(entries, 1):
        name = escape(entry.recipe)
        if entry.verdict is None:
            table.add_row(str(rank), name, "[bold red]error[/]", "", "", "see below", "")
            errors.append((rank, entry))
            continue
        v = entry.verdict
        lo, hi = v["forecast"]["interval"]
        style = DECISION_STYLE.get(v["decision"], "bold")
        table.add_row(
            str(rank), name, f"[{style}] {v['decision']} [/]", pct(v["p_success"]),
            f"{v['forecast']['metric']:.2f} ({lo:.2f}–{hi:.2f})", escape(_main_finding(v)),
            f"{v['cost']['check']['seconds']:.0f} s",
        )
    console.print(table)
    for rank, entry in errors:
        error = entry.error or {}
        console.print(f"[bold red]{rank}.[/] {escape(str(error.get('text') or error.get('message') or error))}",
                      highlight=False)
    console.print("[dim]Each row is a full `tuneahead check` of that recipe (its own probe); "
                  "`tuneahead check RECIPE` shows one in detail, --json gives every verdict.[/]")


def _main_finding(verdict: dict) -> str:
    """The most severe finding's title (findings come most severe first), or the rule that decided."""
    if verdict.get("rule"):
        return verdict["why"]
    findings = verdict.get("findings") or []
    return findings[0]["title"] if findings else "none"
