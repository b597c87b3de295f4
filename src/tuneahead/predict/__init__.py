"""Predictor: run features → final-metric forecast, interval, P(success), SHAP reasons, OOD check.

Heavy libraries (lightgbm, shap, matplotlib) load only when a predictor is fitted, loaded or plotted.
"""

from tuneahead.predict.explain import Reason
from tuneahead.predict.predictor import Forecast, NotFittedError, Predictor
from tuneahead.predict.schema import FeatureSchema, SchemaMismatchError

__all__ = ["FeatureSchema", "Forecast", "NotFittedError", "Predictor", "Reason", "SchemaMismatchError"]
