"""Case conversion: "Convert to camelCase: red_apple_tree" -> "redAppleTree"."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import WORDS, Family, knob_table


class CaseConvert(Family):
    name = "case_convert"
    description = "upper case, title case, snake_case <-> camelCase of a few words"
    knobs = knob_table(words=(2, 3, 4), style=("upper", "title", "snake_to_camel", "camel_to_snake"))
    case_sensitive = True

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        words = [rng.choice(WORDS) for _ in range(d["words"])]
        camel = words[0] + "".join(w.capitalize() for w in words[1:])
        snake = "_".join(words)
        style = d["style"]
        if style == "upper":
            return f"Write in upper case: {' '.join(words)}", " ".join(words).upper()
        if style == "title":
            return f"Capitalise each word: {' '.join(words)}", " ".join(w.capitalize() for w in words)
        if style == "snake_to_camel":
            return f"Convert to camelCase: {snake}", camel
        return f"Convert to snake_case: {camel}", snake
