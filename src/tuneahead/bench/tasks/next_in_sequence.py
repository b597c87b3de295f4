"""Continue a number sequence: "Next number: 3, 7, 11, 15," -> "19"."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import Family, knob_table, normalize_number


class NextInSequence(Family):
    name = "next_in_sequence"
    description = "next term of an arithmetic (or alternating-step) sequence; harder with fewer terms shown"
    knobs = knob_table(kind=("up", "down", "big_step", "alternating"), shown=(5, 4, 3))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        kind, shown = d["kind"], d["shown"]
        if kind == "alternating":
            steps = [rng.randint(2, 9), -rng.randint(1, 9)]
        elif kind == "up":
            steps = [rng.randint(1, 9)]
        elif kind == "down":
            steps = [-rng.randint(1, 9)]
        else:
            steps = [rng.choice((-1, 1)) * rng.randint(11, 99)]
        # Start high enough that a falling sequence stays positive.
        start = rng.randint(100 * shown + 100 if steps[0] < 0 or len(steps) > 1 else 0, 999 + 100 * shown)
        terms = [start]
        for i in range(shown):
            terms.append(terms[-1] + steps[i % len(steps)])
        return f"Next number: {', '.join(map(str, terms[:-1]))},", str(terms[-1])

    def normalize_answer(self, text: str) -> str:
        return normalize_number(text)
