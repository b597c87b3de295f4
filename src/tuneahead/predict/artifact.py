"""Saving and loading predictors: LightGBM text models + one JSON metadata file. Never pickle.

Layout of a predictor directory:

    predictor.json    format version, feature schema, target, threshold, calibration, conformal
                      residuals, training-set summary (out-of-distribution check), importance,
                      fit diagnostics, library versions, and the SHA-256 of each model file
    regressor.txt     LightGBM model of the final metric
    classifier.txt    LightGBM model of success (only when one was trained)
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneahead.errors import InputError, Location
from tuneahead.predict.calibration import Calibrator
from tuneahead.predict.conformal import ResidualModel
from tuneahead.predict.lgbm import BoostingParams
from tuneahead.predict.linear import LinearClassifier
from tuneahead.predict.model_file import validate_model_text
from tuneahead.predict.ood import TrainingSummary
from tuneahead.predict.schema import FeatureSchema, SchemaMismatchError

if TYPE_CHECKING:
    import lightgbm

FORMAT = "tuneahead-predictor"
FORMAT_VERSION = 1
META_FILE = "predictor.json"

# Every field a fitted predictor persists: what `Predictor.to_state()` hands over and `Predictor.from_state()`
# takes back. The artifact knows the state, not the predictor class.
STATE_FIELDS: tuple[str, ...] = (
    "schema", "target", "bounds", "threshold_value", "threshold_col", "group_col", "coverage", "dynamic_prefixes",
    "recipe_prefixes", "boosting", "inner_folds", "rounds", "regressor", "classifier", "p_method",
    "p_method_requested", "calibration_requested", "classifier_uses_threshold", "classifier_threshold",
    "calibrators", "linear", "residuals", "summary", "importance", "diagnostics",
)


@dataclass
class PredictorState:
    """A fitted predictor's persisted state, as plain fields (see `STATE_FIELDS`)."""

    schema: FeatureSchema
    target: str
    bounds: tuple[float, float] | None
    threshold_value: float | None
    threshold_col: str | None
    group_col: str | None
    coverage: float
    dynamic_prefixes: tuple[str, ...]
    recipe_prefixes: tuple[str, ...]
    boosting: BoostingParams
    inner_folds: int
    rounds: dict[str, int]
    regressor: lightgbm.Booster
    classifier: lightgbm.Booster | None
    p_method: str | None
    p_method_requested: str
    calibration_requested: str
    classifier_uses_threshold: bool
    classifier_threshold: float | None
    calibrators: dict[str, Calibrator]
    linear: LinearClassifier | None
    residuals: ResidualModel
    summary: TrainingSummary
    importance: list[tuple[str, float]]
    diagnostics: dict[str, Any]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    import lightgbm
    import numpy

    from tuneahead._version import __version__

    return {
        "tuneahead": __version__,
        "lightgbm": lightgbm.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def save(predictor: PredictorState, directory: str | Path) -> Path:
    """Write a fitted predictor's state (`Predictor.to_state()`) to `directory`."""
    schema = predictor.schema
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    models: dict[str, dict[str, str]] = {}
    for name, booster in (("regressor", predictor.regressor), ("classifier", predictor.classifier)):
        path = out / f"{name}.txt"
        if booster is None:
            path.unlink(missing_ok=True)  # a stale model from an earlier save must not linger
            continue
        path.write_text(booster.model_to_string(), encoding="utf-8")
        models[name] = {"file": path.name, "sha256": _sha256(path)}
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "library_versions": _versions(),
        "schema": schema.to_dict(),
        "target": {"column": predictor.target, "bounds": list(predictor.bounds) if predictor.bounds else None},
        "threshold": {"value": predictor.threshold_value, "column": predictor.threshold_col},
        "group_col": predictor.group_col,
        "coverage": predictor.coverage,
        "feature_prefixes": {"dynamic": list(predictor.dynamic_prefixes), "recipe": list(predictor.recipe_prefixes)},
        "boosting": predictor.boosting.to_dict(),
        "inner_folds": predictor.inner_folds,
        "rounds": predictor.rounds,
        "models": models,
        "p_success": {
            "method": predictor.p_method,
            "requested": predictor.p_method_requested,
            "calibration_requested": predictor.calibration_requested,
            "classifier_uses_threshold": predictor.classifier_uses_threshold,
            "classifier_threshold": predictor.classifier_threshold,
            "calibrators": {k: c.to_dict() for k, c in predictor.calibrators.items()},
            "linear": predictor.linear.to_dict() if predictor.linear is not None else None,
        },
        "conformal": {
            "coverage": predictor.coverage,
            "quantiles": list(predictor.residuals.quantiles(predictor.coverage)),
            **predictor.residuals.to_dict(),
        },
        "training_summary": predictor.summary.to_dict() if predictor.summary else None,
        "global_importance": [[n, v] for n, v in predictor.importance],
        "diagnostics": predictor.diagnostics,
    }
    tmp = out / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(_finite(meta), indent=2, allow_nan=False), encoding="utf-8")
    tmp.replace(out / META_FILE)
    return out


def _finite(obj: Any) -> Any:
    """JSON has no NaN: store it as null (readers turn it back into NaN where a number is expected)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def load(directory: str | Path, *, expect_features: Sequence[str] | None = None) -> PredictorState:
    """Read a saved predictor's state (`Predictor.load` builds the predictor); with `expect_features`, fail
    clearly unless they cover its schema."""

    root = Path(directory)
    meta_path = root / META_FILE
    if not meta_path.is_file():
        raise InputError("not a TuneAhead predictor directory (no predictor.json)", Location(file=str(root)))
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"predictor metadata is not valid JSON: {exc}", Location(file=str(meta_path))) from None
    if meta.get("format") != FORMAT:
        raise InputError("not a TuneAhead predictor file", Location(file=str(meta_path), field="format"))
    if meta.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"predictor format version {meta.get('format_version')} is not supported (expected {FORMAT_VERSION})",
            Location(file=str(meta_path), field="format_version"),
            hint="refit the predictor with this version of TuneAhead",
        )
    try:
        schema = FeatureSchema.from_dict(meta["schema"])
        schema.check_catalogue_units()
        if expect_features is not None:
            schema.check_names(list(expect_features), source="the available features")

        prefixes = meta.get("feature_prefixes", {})
        f: dict[str, Any] = {"schema": schema, "classifier": None,
                             "dynamic_prefixes": _strings(prefixes.get("dynamic", ())),
                             "recipe_prefixes": _strings(prefixes.get("recipe", ()))}
        # Predictors saved before `max_bin` was a setting were trained with LightGBM's default, 255.
        f["boosting"] = BoostingParams(**{"max_bin": 255, **meta["boosting"]})
        f["inner_folds"] = int(meta["inner_folds"])
        f["target"] = meta["target"]["column"]
        b = meta["target"]["bounds"]
        f["bounds"] = (float(b[0]), float(b[1])) if b else None
        f["threshold_value"] = meta["threshold"]["value"]
        f["threshold_col"] = meta["threshold"]["column"]
        f["group_col"] = meta["group_col"]
        f["coverage"] = float(meta["coverage"])
        f["rounds"] = {k: int(v) for k, v in meta["rounds"].items()}
        ps = meta["p_success"]
        f["p_method"] = ps["method"]
        f["p_method_requested"] = ps["requested"]
        f["calibration_requested"] = ps["calibration_requested"]
        f["classifier_uses_threshold"] = bool(ps["classifier_uses_threshold"])
        ct = ps.get("classifier_threshold")
        f["classifier_threshold"] = None if ct is None else float(ct)
        f["calibrators"] = {k: Calibrator.from_dict(v) for k, v in ps["calibrators"].items()}
        f["linear"] = LinearClassifier.from_dict(ps["linear"]) if ps.get("linear") else None
        f["residuals"] = ResidualModel.from_dict(meta["conformal"])
        if not isinstance(meta.get("training_summary"), dict):
            # Without it the out-of-distribution check would be silently off.
            raise InputError(
                "the predictor metadata has no training summary, which the out-of-distribution check needs",
                Location(file=str(meta_path), field="training_summary"),
                hint="save the predictor again (`tuneahead fit` writes it)",
            )
        f["summary"] = TrainingSummary.from_dict(meta["training_summary"])
        f["importance"] = [(str(n), float(v)) for n, v in meta["global_importance"]]
        f["diagnostics"] = meta.get("diagnostics", {})
        for name, info in meta["models"].items():
            path = root / info["file"]
            if not path.is_file():
                raise InputError(f"model file {info['file']} is missing", Location(file=str(path)))
            if _sha256(path) != info["sha256"]:
                raise InputError(
                    "model file does not match the one this metadata was saved with",
                    Location(file=str(path)),
                    hint="save the predictor again; do not mix files from different predictors",
                )
            # The classifier may read the success bar as one more input after the features.
            extra = int(name == "classifier" and f["classifier_uses_threshold"])
            f[name] = _booster(path, len(schema.names) + extra)
    except InputError as exc:  # already says what is wrong; say where when it does not
        if exc.location is None:
            exc.location = Location(file=str(meta_path))
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # Every lookup of the metadata is in this block: a missing or mistyped entry lands here.
        raise InputError(f"predictor metadata is incomplete or malformed: {exc!r}", Location(file=str(meta_path))) from None
    if f.get("regressor") is None:
        raise InputError("predictor has no regressor model", Location(file=str(meta_path), field="models"))
    state = PredictorState(**f)
    n_success_inputs = len(schema.names) + int(state.classifier_uses_threshold)
    n_linear = None if state.linear is None or state.linear.coef is None else len(state.linear.coef)
    if n_linear is not None and n_linear != n_success_inputs:
        raise InputError(
            f"the linear success model has {n_linear} inputs, the schema implies {n_success_inputs}",
            Location(file=str(meta_path), field="p_success.linear"),
        )
    if state.regressor.num_feature() != len(schema.names):
        raise SchemaMismatchError(
            f"regressor expects {state.regressor.num_feature()} features but the schema lists {len(schema.names)}",
            Location(file=str(root / 'regressor.txt')),
        )
    return state


def _booster(path: Path, n_features: int):
    """A LightGBM booster from a model file checked first, so a damaged file is an input error, not an abort."""
    import lightgbm as lgb

    try:
        text = path.read_text(encoding="utf-8")
        validate_model_text(text, n_features)
        return lgb.Booster(model_str=text)
    except (UnicodeDecodeError, ValueError, lgb.basic.LightGBMError) as exc:
        raise InputError(f"not a valid LightGBM model: {exc}", Location(file=str(path))) from None


def _strings(values: Any) -> tuple[str, ...]:
    """A list of strings from the metadata (a TypeError, reported as malformed metadata, for anything else)."""
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise TypeError(f"expected a list of strings, got {values!r}")
    return tuple(values)
