"""Recipes: the `Recipe` model and readers for native, Axolotl, LLaMA-Factory and TRL configs."""

from tuneahead.recipe.model import AdapterConfig, DatasetRef, LossOn, Recipe, RecipeSource

__all__ = [
    "AdapterConfig", "DatasetRef", "LossOn", "Recipe", "RecipeSource",
    "dump_recipe", "load_recipe", "recipe_to_dict", "recipe_warnings",
]

_LAZY = {
    "load_recipe": "tuneahead.recipe.load",
    "recipe_warnings": "tuneahead.recipe.diagnostics",
    "dump_recipe": "tuneahead.recipe.dump",
    "recipe_to_dict": "tuneahead.recipe.dump",
}


def __getattr__(name: str):  # lazy: readers pull yaml/toml only when used
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
