"""Counting: "How many times does 'cat' appear in: cat dog cat?" -> "2"."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import LETTERS, WORDS, Family, knob_table, normalize_number


class Counting(Family):
    name = "counting"
    description = (
        "count the items of a list, one word in a list, or one letter in a string; harder when longer"
    )
    knobs = knob_table(length=(4, 6, 8, 12, 16, 24), what=("items", "word", "letter"))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        length, what = d["length"], d["what"]
        if what == "items":
            n = rng.randint(max(1, length // 2), length)  # the knob is the longest list
            items = [rng.choice(WORDS) for _ in range(n)]
            return f"How many words are in this list: {' '.join(items)}?", str(n)
        if what == "word":
            pool = rng.sample(WORDS, 3)
            items = [rng.choice(pool) for _ in range(length)]
            target = rng.choice(pool)
            return f"How many times does '{target}' appear in: {' '.join(items)}?", str(items.count(target))
        pool_letters = "".join(rng.sample(LETTERS, 4))
        text = "".join(rng.choice(pool_letters) for _ in range(length))
        target = rng.choice(pool_letters)
        return f"How many times does '{target}' appear in {text}?", str(text.count(target))

    def normalize_answer(self, text: str) -> str:
        return normalize_number(text)
