"""The whole feature catalogue: the registry (`tuneahead.features.catalogue`) with every plugin loaded.

Features register themselves where they are computed (`data.descriptors`, `data.findings`,
`probe.features`, `features.row`); the registry imports none of them. This module, on the floor above
data/ and probe/, imports them all, so code that needs every feature's unit and meaning (the predictor's
schema, the evaluation's feature roles, the reports, the CLI) imports it. A plugin that fails to import
fails here, loudly, instead of leaving a silent gap in the catalogue.

    from tuneahead.catalogue import specs
    for s in specs("static"):
        print(s.name, s.unit, s.meaning)
"""

from __future__ import annotations

import importlib

from tuneahead.features.catalogue import FeatureSpec, compute_all, describe_table, schema_version, spec, specs

FEATURE_MODULES: tuple[str, ...] = (
    "tuneahead.data.descriptors",
    "tuneahead.data.findings",
    "tuneahead.probe.features",
    "tuneahead.features.row",
)

for _module in FEATURE_MODULES:
    importlib.import_module(_module)

__all__ = ["FEATURE_MODULES", "FeatureSpec", "compute_all", "describe_table", "schema_version", "spec", "specs"]
