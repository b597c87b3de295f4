"""Recipe choices a predictor has seen: a run whose recipe makes a choice it never saw is out of its league.

Numeric features are range-checked by the predictor itself (`predict.ood`); categorical recipe choices
(adapter type, optimizer, schedule, packing, loss masking) are not features, so a bundle records the
values its training runs used and the gate names any the recipe departs from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Recipe fields whose values change the training dynamics but are not numeric features.
FIELDS: tuple[str, ...] = ("adapter.type", "optimizer", "lr_scheduler", "packing", "loss_on")


def _get(recipe: Mapping[str, Any], dotted: str) -> Any:
    value: Any = recipe
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def recipe_space(recipes: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Every value each field takes across `recipes` (recipe dicts as `Recipe.model_dump(mode="json")`)."""
    seen: dict[str, set[str]] = {f: set() for f in FIELDS}
    for r in recipes:
        for f in FIELDS:
            seen[f].add(str(_get(r, f)))
    return {f: sorted(v) for f, v in seen.items()}


def outside_space(recipe: Mapping[str, Any], space: Mapping[str, Iterable[str]] | None) -> list[str]:
    """Plain-language reasons why the recipe makes choices the predictor never saw (empty when none)."""
    if not space:
        return []
    reasons = []
    for f, values in space.items():
        known = set(values)
        value = str(_get(recipe, f))
        if known and value not in known:
            reasons.append(f"recipe {f} = {value}, but the predictor's training runs only used {', '.join(sorted(known))}")
    return reasons
