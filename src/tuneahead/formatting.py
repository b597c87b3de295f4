"""Number formatting shared by findings, terminal and HTML reports (the lowest floor: anyone may use it)."""

from __future__ import annotations

import math


def format_value(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "share":
        return f"{100 * value:.1f} %"
    if unit == "bool":
        return "yes" if value else "no"
    if unit in ("count", "tokens", "steps", "sequences", "rank") or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def pct(x: float | None, digits: int = 0) -> str:
    """A share as a percentage ("73%"), or "–" when there is none."""
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}%}"


def gpu_time(hours: float | None) -> str:
    """Accelerator time in the unit a person reads: "0.4 s", "12 min", "3.5 GPU-hours" (not "2.19e-06 GPU-hours")."""
    if hours is None or not math.isfinite(hours):
        return "–"
    seconds = hours * 3600
    if seconds < 60:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{hours:,.1f} GPU-hours" if hours < 100 else f"{hours:,.0f} GPU-hours"
