"""Model resolution, configs and parameter counting (weights are loaded by the probe layer)."""
