"""Curves as the run store keeps them: a dict of equal-length columns (compact JSON), and back."""

from __future__ import annotations

import dataclasses
import math
from typing import Any


def to_columns(rows: list[dict[str, Any]]) -> dict[str, list]:
    """List of records -> dict of columns; numbers only, NaN/inf as None (JSON has no NaN)."""
    if not rows:
        return {}
    keys = [k for k, v in rows[0].items() if isinstance(v, int | float | bool) or v is None]
    return {k: [finite_or_none(r.get(k)) for r in rows] for k in keys}


def from_columns(columns: dict[str, list]) -> list[dict[str, Any]]:
    """Dict of columns -> list of records, None back to NaN."""
    keys = list(columns)
    return [
        {k: (math.nan if v is None else v) for k, v in zip(keys, values)}
        for values in zip(*(columns[k] for k in keys))
    ]


def probe_curves(result: Any) -> dict[str, dict[str, list]]:
    """A probe's per-step trace and eval points, as stored curves (`probe_trace`, `probe_eval`)."""
    return trace_curves(result.trace, result.eval_points)


def trace_curves(trace: list[Any], eval_points: list[Any]) -> dict[str, dict[str, list]]:
    """Step records and eval points (a probe's, or a live run's probe window) as stored curves."""
    return {
        "probe_trace": to_columns([dataclasses.asdict(r) for r in trace]),
        "probe_eval": to_columns([dataclasses.asdict(p) for p in eval_points]),
    }


def finite_or_none(v: Any) -> Any:
    """NaN/inf -> None; anything else unchanged."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
