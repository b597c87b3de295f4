"""Extract a word by position: "What is word 3 in: sun tree lake boat?" -> "lake"."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import WORDS, Family, knob_table


class KthWord(Family):
    name = "kth_word"
    description = "copy the first / last / k-th / k-th-from-the-end word of a list; harder when longer"
    knobs = knob_table(words=(3, 4, 6, 8, 12, 16), position=("first", "last", "kth", "kth_from_end"))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        words = [rng.choice(WORDS) for _ in range(d["words"])]
        text = " ".join(words)
        position = d["position"]
        if position == "first":
            return f"What is the first word in: {text}?", words[0]
        if position == "last":
            return f"What is the last word in: {text}?", words[-1]
        k = rng.randint(1, len(words))
        if position == "kth":
            return f"What is word {k} in: {text}?", words[k - 1]
        return f"What is word {k} counting from the end in: {text}?", words[-k]
