"""Spell words: "Spell out: river apple" -> "r i v e r / a p p l e": a long, exactly checked answer.

The earlier families answer in 1-15 tokens; this one answers in up to ~90 (one token per letter), and
one wrong letter fails the whole answer, so per-token progress in the probe overstates whole-answer
progress.
"""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import WORDS, Family, knob_table


class SpellWords(Family):
    name = "spell_words"
    description = "spell words letter by letter, words apart with a slash; harder with more words"
    knobs = knob_table(words=(2, 3, 4, 6, 8))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        words = [rng.choice(WORDS) for _ in range(d["words"])]
        return f"Spell out: {' '.join(words)}", " / ".join(" ".join(w) for w in words)
