"""Caesar cipher: "Shift each letter forward by 3: abc" -> "def" (z wraps to a)."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import LETTERS, Family, knob_table, random_letters


def shift_letters(text: str, shift: int) -> str:
    return "".join(LETTERS[(LETTERS.index(c) + shift) % 26] for c in text)


class Caesar(Family):
    name = "caesar"
    description = "shift each letter forward in the alphabet; harder with longer words and larger shifts"
    knobs = knob_table(length=(3, 4, 5, 6), shift=(1, 2, 3, 13))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        shift = d["shift"]
        text = random_letters(rng, d["length"])
        return f"Shift each letter forward by {shift}: {text}", shift_letters(text, shift)
