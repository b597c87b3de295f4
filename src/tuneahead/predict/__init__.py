"""Predictor: run features → final-metric forecast, interval, P(success), SHAP reasons, OOD check.

Heavy libraries (lightgbm, shap, matplotlib) load only when a predictor is fitted, loaded or plotted, and
the package's names load on first use: the CLI's lighter modules (e.g. `predict.cutoffs`, which the check's
options read) import without the predictor.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuneahead.predict.explain import Reason
    from tuneahead.predict.predictor import Forecast, NotFittedError, Predictor
    from tuneahead.predict.schema import FeatureSchema, SchemaMismatchError

_HOMES = {
    "Reason": "tuneahead.predict.explain",
    "Forecast": "tuneahead.predict.predictor",
    "NotFittedError": "tuneahead.predict.predictor",
    "Predictor": "tuneahead.predict.predictor",
    "FeatureSchema": "tuneahead.predict.schema",
    "SchemaMismatchError": "tuneahead.predict.schema",
}
__all__ = ["FeatureSchema", "Forecast", "NotFittedError", "Predictor", "Reason", "SchemaMismatchError"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'tuneahead.predict' has no attribute {name!r}")
