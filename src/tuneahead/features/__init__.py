"""The feature registry and the feature row. The whole catalogue, every plugin loaded, is `tuneahead.catalogue`."""

from tuneahead.features.catalogue import FeatureSpec, derived_feature, feature

__all__ = ["FeatureSpec", "derived_feature", "feature"]
