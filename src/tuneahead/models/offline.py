"""Keep Hugging Face libraries off the network while TuneAhead loads a model or tokenizer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


@contextmanager
def hub_offline() -> Iterator[None]:
    """Offline mode for huggingface_hub/transformers inside the block, restored afterwards.

    huggingface_hub reads HF_HUB_OFFLINE once, at import, so the imported constant is set too.
    Every call inside also passes `local_files_only=True`; this is the second lock.
    """
    saved_env = {key: os.environ.get(key) for key in _ENV}
    for key in _ENV:
        os.environ[key] = "1"
    from huggingface_hub import constants

    saved_flag = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved_flag
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
