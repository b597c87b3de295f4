"""Count up: "Count from 37 in steps of 2, 6 numbers." -> "37 39 41 43 45 47": a long numeric answer.

A long answer built from one simple rule (add the step, carry the digits), so the probe's early
per-token gains come from the easy digits long before whole answers are right.
"""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import Family, knob_table, normalize_number


class CountUp(Family):
    name = "count_up"
    description = "count on from a number in fixed steps; harder with more numbers and larger steps"
    knobs = knob_table(count=(4, 6, 8, 12, 16), step=(1, 2, 5, 3))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        start, step, count = rng.randint(1, 9999), d["step"], d["count"]  # 9,999 prompts per setting
        prompt = f"Count from {start} in steps of {step}, {count} numbers."
        return prompt, " ".join(str(start + step * k) for k in range(count))

    def normalize_answer(self, text: str) -> str:
        return " ".join(normalize_number(t) for t in text.replace(",", " ").split())
