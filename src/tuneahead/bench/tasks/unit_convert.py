"""Unit conversion: "Convert 5 km to m." -> "5000"."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import Family, knob_table, normalize_number

_METRIC = (
    ("km", "m", 1000),
    ("m", "cm", 100),
    ("cm", "mm", 10),
    ("kg", "g", 1000),
    ("l", "ml", 1000),
    ("m", "mm", 1000),
    ("g", "mg", 1000),
)
_TIME = (
    ("h", "min", 60),
    ("min", "s", 60),
    ("day", "h", 24),
    ("week", "day", 7),
    ("h", "s", 3600),
    ("day", "min", 1440),
)
_IMPERIAL = (("ft", "in", 12), ("yd", "ft", 3), ("lb", "oz", 16), ("gal", "qt", 4))


class UnitConvert(Family):
    name = "unit_convert"
    description = "convert a quantity between units: metric up, metric down, time, all (imperial included)"
    knobs = knob_table(units=("metric", "metric_down", "time", "mixed"), decimals=(0, 1))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        units = d["units"]
        table = {"metric": _METRIC, "metric_down": _METRIC, "time": _TIME}.get(
            units, _METRIC + _TIME + _IMPERIAL
        )
        big, small, factor = rng.choice(table)
        # Tenths: "2.5 km" -> 2500 m; value held as an integer count of tenths to stay exact.
        tenths = rng.randint(1, 9999) if d["decimals"] else 10 * rng.randint(1, 2999)
        value = _fmt(tenths, 10)
        converted = _fmt(tenths * factor, 10)
        if units == "metric_down":
            return f"Convert {converted} {small} to {big}.", value
        return f"Convert {value} {big} to {small}.", converted

    def normalize_answer(self, text: str) -> str:
        return normalize_number(text)


def _fmt(numerator: int, denominator: int) -> str:
    whole, rest = divmod(numerator, denominator)
    return str(whole) if rest == 0 else f"{whole}.{rest}"
