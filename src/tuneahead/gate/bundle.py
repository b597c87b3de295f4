"""Predictor bundles: one predictor per probe stage, so the gate can extend an uncertain probe.

A bundle directory holds `bundle.json` and one predictor directory per stage:

    bundle.json   {"format": "tuneahead-predictor-bundle", "format_version": 1,
                   "metric": "exact_match", "trained_on": "...",
                   "stages": [{"name": "short", "dir": "short", "probe_steps_factor": 1},
                              {"name": "long",  "dir": "long",  "probe_steps_factor": 3}]}
    short/        a predictor (see `tuneahead.predict.artifact`) fitted on features of the default probe
    long/         one fitted on features of a probe `probe_steps_factor` times as long

A plain predictor directory (what `tuneahead fit` writes) is a one-stage bundle. The bundled
predictor ships inside the package under `assets/predictor`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneahead.errors import InputError, Location

if TYPE_CHECKING:
    from tuneahead.predict.predictor import Predictor

FORMAT = "tuneahead-predictor-bundle"
FORMAT_VERSION = 1
BUNDLE_FILE = "bundle.json"


@dataclass
class Stage:
    name: str
    probe_steps_factor: float  # probe length relative to the first stage's default probe
    predictor: Predictor


@dataclass
class PredictorBundle:
    stages: list[Stage]
    source: str  # where it was loaded from, in words
    metric: str | None = None  # the metric the predictor forecasts (None: not stated)
    trained_on: str = ""
    info: dict[str, Any] = field(default_factory=dict)


def bundled_predictor_dir() -> Path:
    return Path(str(resources.files("tuneahead") / "assets" / "predictor"))


def bundled_live_predictor_dir() -> Path:
    """The live gate's predictor (`TuneAheadCallback`): one stage per fraction of the run it re-forecasts at."""
    return Path(str(resources.files("tuneahead") / "assets" / "live_predictor"))


def load_bundle(path: str | os.PathLike[str] | None = None) -> PredictorBundle:
    """A bundle or a single predictor directory; `None` loads the predictor shipped with TuneAhead."""
    from tuneahead.predict.predictor import Predictor

    root = bundled_predictor_dir() if path is None else Path(path)
    source = "bundled (TuneBench)" if path is None else str(root)
    if not root.exists():
        if path is None:
            raise InputError(
                "the bundled predictor is missing from this installation",
                hint="reinstall TuneAhead, or pass --predictor DIR (a directory written by `tuneahead fit`)",
            )
        raise InputError("predictor directory not found", Location(file=str(root)))
    meta_path = root / BUNDLE_FILE
    if not meta_path.is_file():
        return PredictorBundle([Stage("single", 1.0, Predictor.load(root))], source)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"bundle metadata is not valid JSON: {exc}", Location(file=str(meta_path))) from None
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise InputError(
            "not a supported TuneAhead predictor bundle", Location(file=str(meta_path), field="format"),
            hint=f"expected format {FORMAT!r} version {FORMAT_VERSION}",
        )
    stages = []
    for i, s in enumerate(meta.get("stages") or []):
        try:
            name, sub, factor = str(s["name"]), str(s["dir"]), float(s.get("probe_steps_factor", 1.0))
        except (KeyError, TypeError, ValueError):
            raise InputError("malformed stage entry", Location(file=str(meta_path), field=f"stages[{i}]")) from None
        if Path(sub).is_absolute() or ".." in Path(sub).parts:
            raise InputError("a stage directory must lie inside the bundle", Location(file=str(meta_path), field=f"stages[{i}].dir"))
        stages.append(Stage(name, factor, Predictor.load(root / sub)))
    if not stages:
        raise InputError("the bundle lists no stages", Location(file=str(meta_path), field="stages"))
    if [s.probe_steps_factor for s in stages] != sorted(s.probe_steps_factor for s in stages):
        raise InputError("stages must be ordered by probe length", Location(file=str(meta_path), field="stages"))
    return PredictorBundle(
        stages, source, metric=meta.get("metric"), trained_on=str(meta.get("trained_on", "")),
        info={k: v for k, v in meta.items() if k not in {"stages", "format", "format_version"}},
    )


def write_bundle(root: str | Path, stages: list[tuple[str, float, Predictor]], *, metric: str, trained_on: str,
                 extra: dict[str, Any] | None = None) -> Path:
    """Save each stage's predictor under `root/<name>` and write `bundle.json`."""
    out = Path(root)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, factor, predictor in stages:
        predictor.save(out / name)
        entries.append({"name": name, "dir": name, "probe_steps_factor": factor})
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "metric": metric, "trained_on": trained_on,
            **(extra or {}), "stages": entries}
    (out / BUNDLE_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return out
