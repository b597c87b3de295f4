"""Multi-step string edits: "Reverse, then uppercase: kqtm" -> "MTQK"."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from tuneahead.bench.tasks.base import Family, knob_table, random_letters

# name in the prompt -> the edit; each is cheap to describe and keeps the answer short.
OPERATIONS: dict[str, Callable[[str], str]] = {
    "reverse": lambda s: s[::-1],
    "uppercase": str.upper,
    "sort the letters": lambda s: "".join(sorted(s, key=str.lower)),
    "drop the first letter": lambda s: s[1:],
    "swap the first and last letters": lambda s: s if len(s) < 2 else s[-1] + s[1:-1] + s[0],
}


class Compose(Family):
    name = "compose"
    description = "apply one or two string edits in order (reverse, uppercase, sort, drop, swap)"
    knobs = knob_table(steps=(1, 2), length=(3, 4, 5, 6))
    case_sensitive = True

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        names = rng.sample(sorted(OPERATIONS), d["steps"])
        text = random_letters(rng, d["length"])
        out = text
        for name in names:
            out = OPERATIONS[name](out)
        steps = ", then ".join(names)
        return f"{steps[0].upper()}{steps[1:]}: {text}", out
