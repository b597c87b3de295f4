"""The feature registry: every named number TuneAhead computes, with its unit and meaning.

The registry imports nothing of the project: features register themselves where they are computed, and
`tuneahead.catalogue` (a floor above data/ and probe/) loads them all.

Static descriptors (data + recipe) and dynamic probe features register here, so the predictor,
the reports and the run store all read one schema. A feature is a small pure function of a
*context* object (for static features, `DatasetStats`; for dynamic ones, the probe trace) that
returns a float (NaN when it cannot be computed, e.g. leakage without an eval set).

A *derived* feature (`derived_feature`) has no compute function: it summarises other results (e.g. the
pitfall findings, which need the descriptors first) and the code that owns those results fills it in.
It is registered so that its unit and meaning are known everywhere.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

FeatureKind = Literal["static", "dynamic"]
NAN = math.nan  # what a feature that cannot be computed is (one definition for every feature module)


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: FeatureKind
    group: str  # e.g. "size", "length", "truncation", "duplication", "leakage", "skew", "template", "recipe"
    unit: str  # "count", "tokens", "share", "ratio", "nats", "bool", "steps", ...
    meaning: str
    compute: Callable[[Any], float] | None  # None: a derived feature, filled in by its owner

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "group": self.group, "unit": self.unit, "meaning": self.meaning}


_REGISTRY: dict[str, FeatureSpec] = {}


def feature(name: str, *, kind: FeatureKind, group: str, unit: str, meaning: str):
    """Decorator that registers a feature function under `name`."""

    def register(fn: Callable[[Any], float]) -> Callable[[Any], float]:
        if name in _REGISTRY:
            raise ValueError(f"feature {name!r} registered twice")
        _REGISTRY[name] = FeatureSpec(name, kind, group, unit, meaning, fn)
        return fn

    return register


def derived_feature(name: str, *, kind: FeatureKind, group: str, unit: str, meaning: str) -> None:
    """Register a feature that `compute_all` does not compute (see the module docstring)."""
    if name in _REGISTRY:
        raise ValueError(f"feature {name!r} registered twice")
    _REGISTRY[name] = FeatureSpec(name, kind, group, unit, meaning, None)


def specs(kind: FeatureKind | None = None) -> list[FeatureSpec]:
    """The features registered so far (`tuneahead.catalogue` loads every plugin)."""
    return [s for s in _REGISTRY.values() if kind is None or s.kind == kind]


def spec(name: str) -> FeatureSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown feature {name!r}") from None


def compute_all(kind: FeatureKind, context: Any) -> dict[str, float]:
    """Evaluate every registered feature of `kind` on `context`; failures become NaN, never crash.

    Derived features are left out: their owners add them.
    """
    out: dict[str, float] = {}
    for s in specs(kind):
        if s.compute is None:
            continue
        try:
            value = float(s.compute(context))
        except (ZeroDivisionError, ValueError, TypeError, OverflowError):
            value = math.nan
        out[s.name] = value
    return out


def schema_version(names: Iterable[str] | None = None) -> str:
    """A short hash of feature names + units: predictors record it to detect schema mismatches."""
    chosen = sorted(names) if names is not None else sorted(_all_names())
    text = "\n".join(f"{n}:{spec(n).unit}" for n in chosen)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _all_names() -> list[str]:
    return list(_REGISTRY)


def describe_table(values: Mapping[str, float]) -> list[dict[str, object]]:
    """Rows of {name, value, unit, meaning, group} for reports."""
    rows: list[dict[str, object]] = []
    for name, value in values.items():
        s = spec(name)
        rows.append({"name": name, "value": value, "unit": s.unit, "group": s.group, "meaning": s.meaning})
    return rows
