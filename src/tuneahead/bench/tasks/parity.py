"""Parity: "Is 4821 even or odd?" -> "odd"; the hard variant asks for the parity of the digit sum."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import Family, knob_table


class Parity(Family):
    name = "parity"
    description = "even / odd of a number (easy: read the last digit) or of its digit sum (hard: all digits)"
    knobs = knob_table(rule=("number", "digit_sum"), digits=(4, 5, 6, 8, 10))

    def _labels(self, d: dict[str, Any]) -> tuple[str, ...]:
        return ("even", "odd")

    def _sample_label(self, rng: random.Random, d: dict[str, Any], label: str) -> tuple[str, str]:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(d["digits"] - 1)]
        value = digits[-1] if d["rule"] == "number" else sum(digits)
        if (value % 2 == 0) != (label == "even"):
            digits[-1] = digits[-1] + 1 if digits[-1] < 9 else 8  # flips the parity of both rules
        number = "".join(map(str, digits))
        if d["rule"] == "number":
            return f"Is {number} even or odd?", label
        return f"Is the digit sum of {number} even or odd?", label
