"""`load_recipe`: one entry point for every recipe format TuneAhead reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tuneahead.recipe._files import RawConfig, read_config_file
from tuneahead.recipe.detect import detect_framework, normalize_framework
from tuneahead.recipe.model import Recipe


def _reader(framework: str) -> Callable[[RawConfig], Recipe]:
    if framework == "native":
        from tuneahead.recipe.native import read_native

        return read_native
    if framework == "axolotl":
        from tuneahead.recipe.axolotl import read_axolotl

        return read_axolotl
    if framework == "llamafactory":
        from tuneahead.recipe.llamafactory import read_llamafactory

        return read_llamafactory
    from tuneahead.recipe.trl import read_trl

    return read_trl


def load_recipe(path: str | Path, framework: str | None = None) -> Recipe:
    """Read a native, Axolotl, LLaMA-Factory or TRL config file into a `Recipe`.

    `framework` ("native", "axolotl", "llamafactory", "trl") skips auto-detection; use it when the
    keys alone are ambiguous. Relative dataset paths resolve against the file's folder. Keys the
    framework defines but TuneAhead does not model land in `recipe.source.unsupported_keys`, keys it
    does not define in `recipe.source.unknown_keys` (see `recipe_warnings`), and fields filled from the
    framework's defaults in `recipe.source.defaults_applied`.

    Raises `RecipeError` (with file, line where known, and the framework's own key name) for an
    unreadable file, a wrong type, an invalid value or an ambiguous format.
    """
    raw = read_config_file(path)
    chosen = normalize_framework(framework) if framework else detect_framework(raw.data, raw.display)
    return _reader(chosen)(raw)
