"""Framework integrations. `TuneAheadCallback` (transformers `Trainer` / TRL `SFTTrainer`) imports
transformers, so it is loaded on first use: `from tuneahead.integrations import TuneAheadCallback`."""

from typing import Any

__all__ = ["LiveVerdict", "TuneAheadCallback"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tuneahead.integrations import callback

        return getattr(callback, name)
    raise AttributeError(f"module 'tuneahead.integrations' has no attribute {name!r}")
