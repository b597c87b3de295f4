"""Number formatting shared by terminal and HTML reports."""

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
