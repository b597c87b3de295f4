"""Find a model's architecture config without loading weights (for descriptors and cost estimates)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from tuneahead.models.zoo import BUILTIN_HUB_ALIASES
from tuneahead.models.params import read_config


def builtin_config(name: str) -> dict | None:
    alias = BUILTIN_HUB_ALIASES.get(name)
    if alias is None:
        return None
    text = (resources.files("tuneahead") / "assets" / "models" / f"{alias}.config.json").read_text("utf-8")
    return json.loads(text)


def model_config(model: str | None) -> dict | None:
    """Architecture config of a built-in name or local folder; None when it is not known locally."""
    if not model:
        return None
    known = builtin_config(model)
    if known is not None:
        return known
    path = Path(model).expanduser()
    if path.is_dir():
        return read_config(path)
    try:  # built-in tiny models, provided by the model zoo when installed
        from tuneahead.models.zoo import builtin_model_config
    except ImportError:
        return None
    return builtin_model_config(model)
