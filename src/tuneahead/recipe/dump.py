"""Write a `Recipe` back out as a native TuneAhead recipe (YAML or JSON) that `load_recipe` reads back."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from tuneahead.errors import Location, RecipeError
from tuneahead.recipe.model import Recipe
from tuneahead.recipe.native import FORMAT_VERSION, MARKER


def recipe_to_dict(recipe: Recipe, relative_to: str | Path | None = None) -> dict[str, Any]:
    """The native form: marker first, every field but `source`; local paths relative to `relative_to`."""
    body = recipe.model_dump(mode="json", exclude={"source"})
    if relative_to is not None:
        base = Path(relative_to)
        for key in ("datasets", "eval_datasets"):
            for ref in body[key]:
                ref["path"] = _relative(ref["path"], base)
        for key in ("base_model", "tokenizer"):
            if body[key]:
                body[key] = _relative(body[key], base)
    return {MARKER: FORMAT_VERSION, **body}


def _relative(path: str, base: Path) -> str:
    if not os.path.isabs(path):
        return path  # a hub id or built-in name
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return path
    return rel if rel.startswith("..") else f"./{rel}"  # "./" keeps it a path when read back


def recipe_to_yaml(recipe: Recipe, relative_to: str | Path | None = None) -> str:
    return yaml.safe_dump(recipe_to_dict(recipe, relative_to), sort_keys=False, allow_unicode=True)


def dump_recipe(recipe: Recipe, path: str | Path) -> Path:
    """Write `recipe` to `path` (.yaml/.yml or .json) with paths relative to its folder; returns the path."""
    out = Path(path)
    suffix = out.suffix.lower()
    base = out.expanduser().absolute().parent
    if suffix in (".yaml", ".yml"):
        text = recipe_to_yaml(recipe, base)
    elif suffix == ".json":
        text = json.dumps(recipe_to_dict(recipe, base), indent=2) + "\n"
    else:
        raise RecipeError(
            f"cannot write a recipe as {suffix or 'a file without suffix'}", Location(file=str(path)),
            hint="use .yaml, .yml or .json",
        )
    out.write_text(text, encoding="utf-8")
    return out
