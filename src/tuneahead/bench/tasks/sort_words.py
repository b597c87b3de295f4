"""Sort words alphabetically: "Sort alphabetically: pear, dog, sky" -> "dog, pear, sky"."""

from __future__ import annotations

import random
import re
from typing import Any

from tuneahead.bench.tasks.base import WORDS, Family, knob_table

_PROMPT = "Sort alphabetically: {items}"


class SortWords(Family):
    name = "sort_words"
    description = "sort distinct words alphabetically (or in reverse); harder with more words"
    knobs = knob_table(items=(2, 3, 4, 5), order=("ascending", "descending"))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        words = rng.sample(WORDS, d["items"])
        descending = d["order"] == "descending"
        prompt = _PROMPT.format(items=", ".join(words))
        if descending:
            prompt += " (from z to a)"
        return prompt, ", ".join(sorted(words, reverse=descending))

    def normalize_answer(self, text: str) -> str:
        return ", ".join(w for w in re.split(r"[,\s]+", text.strip().lower().rstrip(".")) if w)
