"""Compare two numbers: "Is 347 greater than 374?" -> "no"."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import Family, knob_table


class Compare(Family):
    name = "compare"
    description = "yes / no: is one k-digit number greater (or less) than another; harder when close or mixed"
    knobs = knob_table(
        digits=(2, 3, 4, 5, 6),
        closeness=("far", "close"),  # close: the numbers share all but the last two digits
        relation=("greater", "mixed"),  # mixed: "greater than" or "less than"
    )

    def _labels(self, d: dict[str, Any]) -> tuple[str, ...]:
        return ("yes", "no")

    def _sample_label(self, rng: random.Random, d: dict[str, Any], label: str) -> tuple[str, str]:
        low, high = 10 ** (d["digits"] - 1), 10 ** d["digits"] - 1
        a = rng.randint(low, high)
        if d["closeness"] == "close" and d["digits"] > 2:
            base = a - a % 100
            b = base + rng.randrange(100)
        else:
            b = rng.randint(low, high)
        while b == a:
            b = rng.randint(low, high)
        small, big = min(a, b), max(a, b)
        relation = "greater" if d["relation"] == "greater" or rng.random() < 0.5 else "less"
        # "Is x greater than y?" is yes when x is the bigger one; "less" flips it.
        first_is_big = (label == "yes") == (relation == "greater")
        x, y = (big, small) if first_is_big else (small, big)
        return f"Is {x} {relation} than {y}?", label
