"""Key-value lookup in a context of N pairs: "k=red, q=blue. What is q?" -> "blue"."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import LETTERS, WORDS, Family, knob_table


class KeyValueLookup(Family):
    name = "kv_lookup"
    description = "find the value of one key among N key=value pairs; harder with more pairs and longer keys"
    knobs = knob_table(pairs=(2, 3, 4, 6, 8), key_length=(1, 2))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        keys: list[str] = []
        while len(keys) < d["pairs"]:
            key = "".join(rng.choice(LETTERS) for _ in range(d["key_length"]))
            if key not in keys:
                keys.append(key)
        values = [rng.choice(WORDS) for _ in keys]
        i = rng.randrange(len(keys))
        context = ", ".join(f"{k}={v}" for k, v in zip(keys, values))
        return f"{context}. What is {keys[i]}?", values[i]
