"""Feature catalogue shared by static descriptors and probe features."""

from tuneahead.features.catalogue import FeatureSpec, compute_all, feature, schema_version, spec, specs

__all__ = ["FeatureSpec", "compute_all", "feature", "schema_version", "spec", "specs"]
