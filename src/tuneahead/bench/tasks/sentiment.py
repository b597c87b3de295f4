"""Sentiment by a hidden lexicon: "Review: the soup was awful and cold" -> "negative".

The label is a fixed rule over cue words (which polarity has more cues; no cue at all is
"neutral" in the three-class variant). The model must learn the lexicon from examples; larger
lexicons, longer reviews and conflicting cues make it harder.
"""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import FILLER, WORDS, Family, knob_table

POSITIVE: tuple[str, ...] = (
    "good",
    "great",
    "happy",
    "lovely",
    "nice",
    "excellent",
    "wonderful",
    "pleasant",
    "perfect",
    "kind",
    "calm",
    "warm",
    "sweet",
    "fresh",
    "clean",
    "cheerful",
    "brilliant",
    "superb",
    "friendly",
    "tasty",
    "charming",
    "gentle",
    "delightful",
    "splendid",
)
NEGATIVE: tuple[str, ...] = (
    "bad",
    "awful",
    "sad",
    "terrible",
    "poor",
    "ugly",
    "rude",
    "dirty",
    "broken",
    "boring",
    "noisy",
    "angry",
    "weak",
    "stale",
    "bitter",
    "nasty",
    "horrible",
    "dull",
    "greasy",
    "gloomy",
    "harsh",
    "smelly",
    "clumsy",
    "dreadful",
)


class Sentiment(Family):
    name = "sentiment"
    description = "positive / negative (/ neutral) by a hidden cue-word lexicon"
    knobs = knob_table(
        classes=(2, 3),
        length=(4, 6, 8, 12),  # words in the review
        lexicon=(6, 12, 24),  # cue words per polarity
        conflict=(0, 1, 2),  # cue words of the other polarity mixed in (the label still wins by one)
    )

    def _labels(self, d: dict[str, Any]) -> tuple[str, ...]:
        return ("positive", "negative") if d["classes"] == 2 else ("positive", "negative", "neutral")

    def _sample_label(self, rng: random.Random, d: dict[str, Any], label: str) -> tuple[str, str]:
        pos, neg = POSITIVE[: d["lexicon"]], NEGATIVE[: d["lexicon"]]
        if label == "neutral":
            cues: list[str] = []
        else:
            mine, other = (pos, neg) if label == "positive" else (neg, pos)
            conflict = min(d["conflict"], (d["length"] - 1) // 2)
            cues = [rng.choice(mine) for _ in range(conflict + 1)] + [
                rng.choice(other) for _ in range(conflict)
            ]
        rest = [
            rng.choice(WORDS) if rng.random() < 0.6 else rng.choice(FILLER)
            for _ in range(d["length"] - len(cues))
        ]
        words = cues + rest
        rng.shuffle(words)
        labels = self._labels(d)
        choices = ", ".join(labels[:-1]) + " or " + labels[-1]
        return f"Review: {' '.join(words)}\nIs it {choices}?", label
