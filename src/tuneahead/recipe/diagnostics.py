"""Human-readable warnings about what a recipe reader could not map."""

from __future__ import annotations

from tuneahead.recipe._reader import did_you_mean
from tuneahead.recipe.model import Recipe

_NAMES = {"native": "TuneAhead", "axolotl": "Axolotl", "llamafactory": "LLaMA-Factory", "trl": "TRL"}


def _known_keys(framework: str) -> tuple[frozenset[str], frozenset[str]]:
    """(top-level keys, dataset-entry keys) the framework defines."""
    if framework == "axolotl":
        from tuneahead.recipe import axolotl

        return axolotl.KNOWN_KEYS, axolotl.DATASET_KEYS
    if framework == "llamafactory":
        from tuneahead.recipe import llamafactory

        return llamafactory.KNOWN_KEYS, frozenset()
    if framework == "trl":
        from tuneahead.recipe import trl

        return trl.KNOWN_KEYS, trl.DATASET_KEYS
    if framework == "native":
        from tuneahead.recipe import native

        return native.NATIVE_KEYS, frozenset()
    return frozenset(), frozenset()


def recipe_warnings(recipe: Recipe) -> list[str]:
    """One line per unknown key (with a "did you mean"), one for ignored settings, one per reader note."""
    source = recipe.source
    name = _NAMES.get(source.framework, source.framework)
    top, dataset_keys = _known_keys(source.framework)
    lines: list[str] = []
    for key in source.unknown_keys:
        guess = did_you_mean(key, dataset_keys if "[" in key else top)
        hint = f" (did you mean '{guess}'?)" if guess else ""
        lines.append(f"unknown key '{key}': {name} does not define it, so it has no effect{hint}")
    if source.unsupported_keys:
        keys = ", ".join(source.unsupported_keys)
        lines.append(f"ignored {name} settings TuneAhead does not model: {keys}")
    lines.extend(source.notes)
    return lines
