"""TuneBench task families: short instruction tasks with exact-match answers and difficulty knobs.

    from tuneahead.bench.tasks import FAMILIES, get_family, make_split
    family = get_family("arithmetic")
    rows = make_split(family, {"digits": 3}, n=200, seed=1)   # chat rows with unique prompts

Every family is synthetic and deterministic given a seed; see `docs/tunebench.md` for the list.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from typing import Any

from tuneahead.bench.tasks.arithmetic import Arithmetic
from tuneahead.bench.tasks.base import (
    Difficulty,
    LabelledFamily,
    TaskFamily,
    difficulty_at,
    difficulty_score,
    is_labelled,
)
from tuneahead.bench.tasks.caesar import Caesar
from tuneahead.bench.tasks.case_convert import CaseConvert
from tuneahead.bench.tasks.compare import Compare
from tuneahead.bench.tasks.compose import Compose
from tuneahead.bench.tasks.count_up import CountUp
from tuneahead.bench.tasks.counting import Counting
from tuneahead.bench.tasks.date_format import DateFormat
from tuneahead.bench.tasks.kth_word import KthWord
from tuneahead.bench.tasks.kv_lookup import KeyValueLookup
from tuneahead.bench.tasks.lexicon import Lexicon
from tuneahead.bench.tasks.modular_sum import ModularSum
from tuneahead.bench.tasks.next_in_sequence import NextInSequence
from tuneahead.bench.tasks.parity import Parity
from tuneahead.bench.tasks.reverse import Reverse
from tuneahead.bench.tasks.sentiment import Sentiment
from tuneahead.bench.tasks.sort_words import SortWords
from tuneahead.bench.tasks.spell_words import SpellWords
from tuneahead.bench.tasks.topic import Topic
from tuneahead.bench.tasks.unit_convert import UnitConvert

__all__ = [
    "FAMILIES",
    "Difficulty",
    "LabelledFamily",
    "TaskFamily",
    "chat_row",
    "difficulty_at",
    "difficulty_score",
    "exact_match",
    "get_family",
    "is_labelled",
    "make_split",
    "row_answer",
    "row_prompt",
    "sample_unique",
]

FAMILIES: dict[str, TaskFamily] = {
    f.name: f
    for f in (
        Arithmetic(),
        Reverse(),
        SortWords(),
        KeyValueLookup(),
        Sentiment(),
        Topic(),
        Compare(),
        Parity(),
        DateFormat(),
        CaseConvert(),
        Counting(),
        Caesar(),
        Compose(),
        KthWord(),
        NextInSequence(),
        UnitConvert(),
        # Generator v6: new task shapes (a late-learnt rule, difficulty in the data, long answers).
        ModularSum(),
        Lexicon(),
        SpellWords(),
        CountUp(),
    )
}

# How many draws per wanted row before a split gives up: a knob setting whose prompt space is too
# small for the request fails loudly instead of looping.
_MAX_DRAWS_PER_ROW = 40


def get_family(name: str) -> TaskFamily:
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown task family {name!r}; known: {', '.join(FAMILIES)}") from None


def chat_row(prompt: str, answer: str, system: str | None = None) -> dict[str, Any]:
    """A `{"messages": [...]}` row: optional system prompt, the user prompt, the assistant answer."""
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
    return {"messages": messages}


def sample_unique(
    family: TaskFamily,
    difficulty: Difficulty,
    n: int,
    rng: random.Random,
    exclude: Collection[str] = (),
    *,
    label_weights: Mapping[str, float] | None = None,
) -> list[tuple[str, str]]:
    """`n` (prompt, answer) pairs with distinct prompts, none in `exclude`.

    With `label_weights` (labelled families only), each pair's label is drawn with those weights,
    which is how a class skew is planted.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    labels: list[str] = []
    weights: list[float] = []
    if label_weights is not None:
        if not is_labelled(family):
            raise ValueError(f"task family '{family.name}' has no label set to weight")
        known = family.labels(difficulty)  # type: ignore[attr-defined]
        bad = set(label_weights) - set(known)
        if bad:
            raise ValueError(
                f"task family '{family.name}': unknown label(s) {sorted(bad)}; labels: {list(known)}"
            )
        labels = list(label_weights)
        weights = [float(label_weights[k]) for k in labels]
    seen = set(exclude)
    out: list[tuple[str, str]] = []
    for _ in range(max(1, n) * _MAX_DRAWS_PER_ROW):
        if len(out) >= n:
            break
        if labels:
            label = rng.choices(labels, weights)[0]
            prompt, answer = family.sample_label(rng, difficulty, label)  # type: ignore[attr-defined]
        else:
            prompt, answer = family.sample(rng, difficulty)
        if prompt in seen:
            continue
        seen.add(prompt)
        out.append((prompt, answer))
    if len(out) < n:
        raise ValueError(
            f"task family '{family.name}' at {dict(difficulty)} gave only {len(out)} distinct prompts of {n} "
            f"asked (excluding {len(exclude)}); the setting's prompt space is too small"
        )
    return out


def make_split(
    family: TaskFamily | str,
    difficulty: Difficulty,
    n: int,
    seed: int,
    exclude: Collection[str] = (),
    *,
    system: str | None = None,
    label_weights: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """`n` chat rows of one family with distinct prompts, none of them in `exclude` (user prompts).

    Deterministic for (family, difficulty, n, seed, exclude). Build disjoint splits by passing the
    prompts of the earlier splits as `exclude`.
    """
    fam = get_family(family) if isinstance(family, str) else family
    pairs = sample_unique(fam, difficulty, n, random.Random(seed), exclude, label_weights=label_weights)
    return [chat_row(p, a, system) for p, a in pairs]


def exact_match(family: TaskFamily | str, prediction: str, reference: str) -> bool:
    """Whether a generated answer counts as correct: equal after the family's normalisation."""
    fam = get_family(family) if isinstance(family, str) else family
    return fam.normalize_answer(prediction) == fam.normalize_answer(reference)


def row_prompt(row: Mapping[str, Any]) -> str:
    """The user prompt of a chat row made by `chat_row`."""
    return next(m["content"] for m in row["messages"] if m["role"] == "user")


def row_answer(row: Mapping[str, Any]) -> str:
    return row["messages"][-1]["content"]
