"""Topic by hidden keywords: "Text: river goal castle team\nTopic: sport, food?" -> "sport".

Each topic owns a keyword list; the label is the topic with the most keywords in the text.
More topics, longer texts and keywords of other topics mixed in make it harder.
"""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import FILLER, Family, knob_table

TOPICS: dict[str, tuple[str, ...]] = {
    "sport": (
        "goal",
        "team",
        "match",
        "coach",
        "score",
        "ball",
        "race",
        "player",
        "league",
        "stadium",
        "tennis",
        "runner",
    ),
    "food": (
        "bread",
        "soup",
        "cheese",
        "rice",
        "cake",
        "sauce",
        "salad",
        "pasta",
        "butter",
        "pepper",
        "dinner",
        "lunch",
    ),
    "music": (
        "song",
        "guitar",
        "piano",
        "drum",
        "band",
        "singer",
        "concert",
        "melody",
        "violin",
        "album",
        "choir",
        "rhythm",
    ),
    "travel": (
        "hotel",
        "flight",
        "airport",
        "beach",
        "ticket",
        "passport",
        "train",
        "tour",
        "luggage",
        "island",
        "map",
        "cruise",
    ),
    "science": (
        "atom",
        "cell",
        "energy",
        "planet",
        "theory",
        "experiment",
        "molecule",
        "laser",
        "gene",
        "physics",
        "data",
        "lab",
    ),
    "money": (
        "bank",
        "loan",
        "price",
        "coin",
        "budget",
        "salary",
        "tax",
        "market",
        "profit",
        "cash",
        "debt",
        "invest",
    ),
}
_NEUTRAL = (
    "river",
    "stone",
    "cloud",
    "window",
    "letter",
    "yellow",
    "quiet",
    "bright",
    "morning",
    "evening",
    "friend",
    "house",
    "door",
    "chair",
    "table",
    "garden",
    "street",
    "paper",
    "story",
    "family",
)


class Topic(Family):
    name = "topic"
    description = "pick the topic whose hidden keywords dominate a short text"
    knobs = knob_table(
        classes=(2, 3, 4, 6),
        length=(4, 6, 8, 12),  # words in the text
        distractors=(0, 1, 2),  # keywords of other topics mixed in (the label has one more)
    )

    def _labels(self, d: dict[str, Any]) -> tuple[str, ...]:
        return tuple(TOPICS)[: d["classes"]]

    def _sample_label(self, rng: random.Random, d: dict[str, Any], label: str) -> tuple[str, str]:
        others = [t for t in self._labels(d) if t != label]
        n_other = min(d["distractors"], len(others))
        # The label gets one keyword more than any single distractor topic.
        words = [rng.choice(TOPICS[label]) for _ in range(2 if n_other else 1)]
        words += [rng.choice(TOPICS[t]) for t in rng.sample(others, n_other)]
        fill = max(0, d["length"] - len(words))
        words += [rng.choice(_NEUTRAL) if rng.random() < 0.7 else rng.choice(FILLER) for _ in range(fill)]
        rng.shuffle(words)
        return f"Text: {' '.join(words)}\nTopic ({', '.join(self._labels(d))})?", label
