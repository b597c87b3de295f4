"""Where TuneAhead keeps caches (converted GGUF models, tokenizers). Override with TUNEAHEAD_CACHE."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Union

# A path as users pass it: a string or any os.PathLike (one definition for every floor).
PathLike = Union[str, "os.PathLike[str]"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_hub_id(text: str) -> bool:
    """Shaped like a Hugging Face hub id (`org/name`): models, tokenizers and datasets alike."""
    return bool(_HUB_ID.match(text))


def cache_dir() -> Path:
    root = os.environ.get("TUNEAHEAD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tuneahead"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path
