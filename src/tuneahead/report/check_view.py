"""Terminal view of a `check` verdict."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from tuneahead.formatting import gpu_time, pct
from tuneahead.report.describe_view import SEVERITY_STYLE

if TYPE_CHECKING:
    from tuneahead.gate.run import Verdict

DECISION_STYLE = {"GO": "bold white on green", "NO-GO": "bold white on red", "UNCERTAIN": "bold black on yellow"}


def cut_offs_text(cut_offs: dict) -> str:
    """The cut-offs a verdict used, in words: 'GO at P >= 62 %, NO-GO at P <= 31 % (cost ratio 1; set on ...)'."""
    go, no_go = cut_offs.get("go_at"), cut_offs.get("no_go_at")
    parts = [f"GO at P \u2265 {pct(go)}" if go is not None else "no GO (no cut-off kept its promise)",
             f"NO-GO at P \u2264 {pct(no_go)}" if no_go is not None else "no NO-GO (no cut-off kept its promise)"]
    ratio = cut_offs.get("cost_ratio")
    how = (f"cost ratio {ratio:g}; " if ratio is not None else "") + str(cut_offs.get("basis", ""))
    return f"{', '.join(parts)} ({how})"


def render_check(console: Console, v: Verdict, *, html_path: str | None = None, top: int = 5) -> None:
    lo, hi = v.interval
    head = [
        f"[{DECISION_STYLE.get(v.decision.value, 'bold')}] {v.decision.value} [/]  "
        f"P(success) [bold]{pct(v.p_success)}[/] for {escape(str(v.target))}",
        f"forecast {v.forecast:.2f}  ({v.coverage:.0%} interval {lo:.2f}–{hi:.2f})   [dim]{escape(v.why)}[/]",
        f"[dim]cut-offs: {escape(cut_offs_text(v.cut_offs))}[/]",
        f"[dim]predictability: {escape(v.regime.name)} ({escape(v.regime.why)})[/]",
        f"[dim]model {escape(v.recipe.base_model)} · predictor {escape(str(v.predictor.get('source')))}[/]",
    ]
    console.print(Panel("\n".join(head), title="tuneahead check", expand=False))
    for note in v.notes:
        console.print(f"[yellow]![/] {escape(note)}")
    for reason in v.ood_reasons[:3]:
        console.print(f"  [dim]outside training data: {escape(reason)}[/]")

    if v.reasons:
        of_p = v.explains == "p_success"
        title = "Why: what moves P(success) (SHAP, strongest first)" if of_p else "Why (SHAP, strongest first)"
        if v.rule:
            title = f"The rule above decided; the predictor alone said P(success) {pct(v.p_model)}. {title}"
        table = Table(title=title, header_style="bold")
        table.add_column("reason")
        table.add_column("log-odds" if of_p else "push", justify="right")
        for r in v.reasons[:top]:
            style = "green" if r.contribution > 0 else "red"
            table.add_row(escape(r.text), f"[{style}]{r.contribution:+.3f}[/]")
        console.print(table)

    if v.findings:
        table = Table(title="Pitfalls", header_style="bold", show_lines=True)
        table.add_column("severity")
        table.add_column("finding")
        table.add_column("fix")
        for f in v.findings:
            table.add_row(
                f"[{SEVERITY_STYLE.get(f.severity, '')}]{f.severity}[/]",
                f"[bold]{escape(f.title)}[/]\n[dim]{escape(f.evidence)}[/]",
                escape(f.fix),
            )
        console.print(table)
    else:
        console.print("[green]No pitfall found.[/]")

    c = v.cost
    money = f", US${c.full_usd:,.2f}" if c.full_usd is not None else ""
    stages = " → ".join(f"{s.name} {s.steps} steps" for s in v.stages)
    console.print(
        f"[bold]cost[/]: full run {c.full_flops:.3g} FLOPs = {gpu_time(c.full_gpu_hours)} on {c.accelerator}"
        f"{money};  this check {v.check_seconds:.1f} s, {v.check_flops:.3g} FLOPs "
        f"({pct(v.check_flops / c.full_flops if c.full_flops else math.nan)} of the run; probe: {stages})"
    )
    if html_path:
        console.print(f"[bold]report[/]: {escape(html_path)}")
