"""Reverse a string of letters: "Reverse the letters: kqtm" -> "mtqk"."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import Family, knob_table, random_letters

_PROMPT = "Reverse the letters: {s}"


class Reverse(Family):
    name = "reverse"
    description = "reverse a random string of lowercase letters; harder when longer"
    knobs = knob_table(length=(3, 4, 5, 6, 8))
    case_sensitive = True

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        s = random_letters(rng, d["length"])
        return _PROMPT.format(s=s), s[::-1]
